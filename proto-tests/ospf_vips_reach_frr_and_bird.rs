//! vipd originates its VIPs into OSPF towards FRR and BIRD, over OSPFv2 and
//! OSPFv3, on point-to-point and broadcast links, as AS-external or as
//! stub/intra-area LSAs; two vipd nodes give the routers ECMP; neither
//! router ever routes transit traffic through vipd. Both vipd nodes run as
//! `vipd run` processes with their `[ospf]` configs.
//!
//! ```text
//!   frr ==eth1 p2p (MD5)== vipd-a ==eth2 p2p (HMAC-SHA-256)== bird
//!   frr ==eth2 broadcast== vipd-b ==eth2 broadcast========== bird
//!   frr ==eth3 cost 1000======================================= bird
//! ```
//!
//! 1. Deploy `containerlab/ospf.clab.yml`; start vipd-a and vipd-b (`vipd
//!    run`, every health check passing).
//! 2. Both routers reach Full with both vipd nodes, in OSPFv2 and OSPFv3.
//! 3. Each router has vipd-a's own VIP via vipd-a's address on its link,
//!    vipd-b's via vipd-b's (the matrix: router x version x p2p/broadcast),
//!    and the shared VIP via both (ECMP).
//! 4. FRR reaches BIRD's loopback over eth3 (cost 1000), not over a vipd
//!    node (10 + 10): vipd's Router-LSA carries MaxLinkMetric on its links
//!    to routers (RFC 6987), as each router stored it, and (OSPFv2) the
//!    H-bit (RFC 8770), as FRR stored it (BIRD's CLI does not show flags).
//! 5. `vipd status --json` on each node shows its neighbors Full in both
//!    versions, the LSAs it originated, and no packet dropped for
//!    authentication.
//!
//! Run with the configs' default (`vip_lsa` unset: AS-external LSAs in
//! OSPFv2, Intra-Area-Prefix-LSAs in OSPFv3), with `"external"` (OSPFv3 too)
//! and with the default `"stub"` (stub links in the OSPFv2 Router-LSA).
#![cfg(feature = "ospf")]

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde_json::Value;

use crate::harness::ospf::{Ospf, OspfLab, OspfRouter};
use crate::harness::wait_until;

/// Adjacencies come up in a few seconds (hello 1 s), the Router-LSA with
/// the adjacency may wait out MinLSInterval (5 s); generous for CI.
pub const CONVERGE: Duration = Duration::from_secs(60);

pub const VIPD_A: &str = "vipd-a";
pub const VIPD_B: &str = "vipd-b";
pub const VIPD_A_RID: &str = "10.255.36.1";
pub const VIPD_B_RID: &str = "10.255.36.2";

pub fn net(s: &str) -> IpNet {
    s.parse()
        .unwrap_or_else(|e| panic!("bad prefix {s:?} in test: {e}"))
}

pub fn ip(s: &str) -> IpAddr {
    crate::ip(s)
}

/// vipd's address as `router` sees it: on the link between them (OSPFv2),
/// or its link-local address on that link (OSPFv3, read from the node).
pub fn vipd_next_hop(lab: &OspfLab, router: &str, vipd: &str, v: Ospf) -> IpAddr {
    let iface = match (router, vipd) {
        ("frr", VIPD_A) | ("frr", VIPD_B) => "eth1",
        _ => "eth2",
    };
    match (v, router, vipd) {
        (Ospf::V2, "frr", VIPD_A) => ip("10.255.30.2"),
        (Ospf::V2, "bird", VIPD_A) => ip("10.255.32.2"),
        (Ospf::V2, "frr", VIPD_B) => ip("10.255.31.2"),
        (Ospf::V2, "bird", VIPD_B) => ip("10.255.33.2"),
        (Ospf::V3, _, _) => link_local(lab, vipd, iface),
        _ => panic!("no link between {router} and {vipd}"),
    }
}

fn link_local(lab: &OspfLab, node: &str, iface: &str) -> IpAddr {
    let out = lab.namespaces[node]
        .ip(&["-6", "-o", "addr", "show", "dev", iface, "scope", "link"])
        .unwrap_or_else(|e| panic!("{e}"));
    out.stdout
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no link-local address on {node} {iface}: {}", out.stdout))
}

/// `[ospf] vip_lsa` on both vipd nodes: the configs' default (unset),
/// `"external"` or `"stub"`.
pub fn with_vip_lsa(vip_lsa: Option<&str>) -> impl Fn(&str, &str) -> String {
    move |node, text| match vip_lsa {
        None => text.to_string(),
        Some(mode) => {
            let edited = text.replacen(
                "\n[ospf]\n",
                &format!("\n[ospf]\nvip_lsa = \"{mode}\"\n"),
                1,
            );
            assert_ne!(
                edited, text,
                "{node}'s vipd.toml has no `[ospf]` line to add vip_lsa to"
            );
            edited
        }
    }
}

/// Deploys the topology with `vip_lsa` on both vipd nodes and starts them.
pub fn deploy(vip_lsa: Option<&str>) -> OspfLab {
    let mut lab = OspfLab::up_with("ospf", with_vip_lsa(vip_lsa));
    lab.start_vipds();
    lab
}

/// Waits until both routers are Full with both vipd nodes in both versions.
pub fn wait_full(lab: &OspfLab) {
    for router in ["frr", "bird"] {
        for v in [Ospf::V2, Ospf::V3] {
            let r = lab.router(router);
            wait_until(CONVERGE, || {
                let full = r.full_neighbors(v)?;
                for rid in [VIPD_A_RID, VIPD_B_RID] {
                    if !full.iter().any(|(n, _)| n.to_string() == rid) {
                        return Err(format!("{router} {v}: {rid} not Full; Full: {full:?}"));
                    }
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}{}", r.describe(net("198.18.50.1/32"))));
        }
    }
}

/// Ok when `router`'s route for `prefix` has exactly `want` next hops.
pub fn has_route(r: &dyn OspfRouter, prefix: IpNet, want: &[IpAddr]) -> Result<(), String> {
    let mut got = r.next_hops(prefix)?;
    got.sort();
    got.dedup();
    let mut want = want.to_vec();
    want.sort();
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{} {prefix}: next hops {got:?}, want {want:?}",
            r.kind()
        ))
    }
}

pub fn has_no_route(r: &dyn OspfRouter, prefix: IpNet) -> Result<(), String> {
    match r.next_hops(prefix)?.as_slice() {
        [] => Ok(()),
        hops => Err(format!("{} {prefix}: still via {hops:?}", r.kind())),
    }
}

/// The default, `"stub"`: stub links in the OSPFv2 Router-LSA and
/// Intra-Area-Prefix-LSAs in OSPFv3.
#[test]
fn vips_reach_frr_and_bird_as_stub_links_and_intra_area_prefixes_by_default() {
    vips_reach_both_routers(None);
}

#[test]
fn vips_reach_frr_and_bird_as_external_lsas_in_both_versions() {
    vips_reach_both_routers(Some("external"));
}

fn vips_reach_both_routers(vip_lsa: Option<&str>) {
    let lab = deploy(vip_lsa);
    // What each version originates VIPs as (the default: stub).
    let mode = |_: Ospf| vip_lsa.unwrap_or("stub");
    wait_full(&lab);
    let mut matrix = Vec::new();
    for router in ["frr", "bird"] {
        let r = lab.router(router);
        for v in [Ospf::V2, Ospf::V3] {
            let (own_a, own_b, shared) = match v {
                Ospf::V2 => ("198.18.50.2/32", "198.18.50.3/32", "198.18.50.1/32"),
                Ospf::V3 => (
                    "fd00:198:18:50::2/128",
                    "fd00:198:18:50::3/128",
                    "fd00:198:18:50::1/128",
                ),
            };
            let via_a = vipd_next_hop(&lab, router, VIPD_A, v);
            let via_b = vipd_next_hop(&lab, router, VIPD_B, v);
            for (prefix, want, link) in [
                (own_a, vec![via_a], "point-to-point"),
                (own_b, vec![via_b], "broadcast"),
                (shared, vec![via_a, via_b], "ECMP"),
            ] {
                wait_until(CONVERGE, || has_route(r, net(prefix), &want))
                    .unwrap_or_else(|e| panic!("{vip_lsa:?}: {e}{}", r.describe(net(prefix))));
                matrix.push(format!(
                    "{:5} {v} {link:14} {:8}: {prefix} via {want:?}",
                    r.kind().to_string(),
                    mode(v)
                ));
            }
        }
    }
    println!("interop matrix, all held:\n  {}", matrix.join("\n  "));

    // No transit through vipd: each router reaches the other's loopback
    // over eth3 (cost 1000) although a vipd node is 10 + 10 away.
    for (router, other_lo, eth3_peer) in [
        ("frr", "10.255.35.2/32", "10.255.34.2"),
        ("bird", "10.255.35.1/32", "10.255.34.1"),
    ] {
        let r = lab.router(router);
        wait_until(CONVERGE, || has_route(r, net(other_lo), &[ip(eth3_peer)]))
            .unwrap_or_else(|e| panic!("transit through vipd? {e}{}", r.describe(net(other_lo))));
    }
    for router in ["frr", "bird"] {
        let r = lab.router(router);
        for v in [Ospf::V2, Ospf::V3] {
            for rid in [VIPD_A_RID, VIPD_B_RID] {
                let metrics = r
                    .router_lsa_metrics(v, rid.parse().unwrap())
                    .unwrap_or_else(|e| panic!("{e}"));
                println!(
                    "{} {v}: Router-LSA of {rid} link metrics {metrics:?}",
                    r.kind()
                );
                assert!(
                    metrics.contains(&65535),
                    "{} {v}: {rid}'s Router-LSA has no MaxLinkMetric link: {metrics:?}",
                    r.kind()
                );
            }
        }
        // RFC 8770: the host bit, as the router stored vipd's Router-LSA.
        for rid in [VIPD_A_RID, VIPD_B_RID] {
            let Some(flags) = r
                .router_lsa_flags(rid.parse().unwrap())
                .unwrap_or_else(|e| panic!("{e}"))
            else {
                continue;
            };
            println!(
                "{} OSPFv2: Router-LSA of {rid} flags {flags:02x?}",
                r.kind()
            );
            assert!(
                !flags.is_empty() && flags.iter().all(|f| f & 0x80 != 0),
                "{} OSPFv2: {rid}'s Router-LSA lacks the H-bit (RFC 8770): flags {flags:02x?}",
                r.kind()
            );
            if mode(Ospf::V2) == "external" {
                assert!(
                    flags.iter().all(|f| f & 0x02 != 0),
                    "{} OSPFv2: {rid} originates AS-external LSAs without the E-bit: {flags:02x?}",
                    r.kind()
                );
            }
        }
    }
    assert!(
        lab.router("frr")
            .router_lsa_flags(VIPD_A_RID.parse().unwrap())
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some(),
        "the H-bit must be checked on at least one router"
    );

    // vipd's own view, through its control socket.
    for node in [VIPD_A, VIPD_B] {
        let status = lab.ospf_status(node).unwrap_or_else(|e| panic!("{e}"));
        let versions: Vec<&str> = status
            .iter()
            .filter_map(|o| o.get("version").and_then(Value::as_str))
            .collect();
        assert_eq!(versions, ["OSPFv2", "OSPFv3"], "{node}: {status:?}");
        for o in &status {
            let full = o
                .get("neighbors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|n| n.get("state").and_then(Value::as_str) == Some("Full"))
                .count();
            let originated = o.get("originated").and_then(Value::as_u64).unwrap_or(0);
            let auth_drops = o
                .pointer("/dropped/authentication")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            println!(
                "{node} `vipd status`: {} {full} neighbors Full, {originated} LSAs originated, dropped {}",
                o["version"], o["dropped"]
            );
            assert_eq!(full, 2, "{node}: both routers Full in vipd's status: {o}");
            assert!(originated >= 1, "{node} originated nothing: {o}");
            assert_eq!(auth_drops, 0, "{node}: the right keys never fail: {o}");
        }
    }
}
