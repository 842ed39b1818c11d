//! `containerlab/ipv6-only.clab.yml` does what `containerlab/ipv6-only.md`
//! promises: the vipd nodes have no IPv4 address on their links and peer
//! with two routers (`router`, FRR; `bird`, BIRD) over IPv6 only, yet their
//! IPv4 VIP reaches both with IPv6 next hops (RFC 8950), both install it
//! through IPv6 gateways, and IPv4 clients reach the service through FRR.
//!
//! 1. Deploy; start the HTTP service on both nodes, then vipd.
//! 2. The links to the nodes carry no IPv4 address, and every BGP connection
//!    on either router is IPv6.
//! 3. Each router's RIB has 198.18.70.10/32 from each node with that node's
//!    IPv6 address as next hop; its kernel forwards it to both nodes through
//!    IPv6 gateways (`via inet6 fe80::...`, the nodes' link-local addresses),
//!    as it does the IPv6 VIP.
//! 4. An IPv4 client sends 100 requests/s to 198.18.70.10 for 3 s: none
//!    fails and both nodes serve some.

use std::net::IpAddr;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::clab::Deployment;
use crate::harness::{Load, describe_failures, require_root, served_by, wait_until};

const VIP4: &str = "198.18.70.10/32";
const VIP6: &str = "fd00:198:18:70::10/128";
const NODES: [&str; 2] = ["node1", "node2"];
/// Each router and the nodes' addresses on its links (node1's, node2's).
const ROUTERS: [(&str, [&str; 2]); 2] = [
    ("router", ["fd00:255:71::2", "fd00:255:72::2"]),
    ("bird", ["fd00:255:73::2", "fd00:255:74::2"]),
];
const DEADLINE: Duration = Duration::from_secs(40);

#[test]
fn ipv6_only_carries_ipv4_vips_over_ipv6_next_hops() {
    require_root();
    let mut lab = Deployment::create("ipv6-only");
    lab.start_routers();
    let _services = lab.start_http_services(&NODES, &["198.18.70.10", "fd00:198:18:70::10"]);
    lab.start_vipds();

    // 2. IPv6 transport only.
    for node in NODES {
        for link in ["eth1", "eth2"] {
            let out = lab
                .ns(node)
                .ip(&["-4", "-o", "addr", "show", "dev", link])
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                out.stdout.trim().is_empty(),
                "{node}'s {link} has an IPv4 address: {}",
                out.stdout
            );
        }
    }
    for (router, addresses) in ROUTERS {
        for address in addresses {
            wait_until(DEADLINE, || {
                match lab.router(router).session_established(crate::ip(address))? {
                    true => Ok(()),
                    false => Err(format!("{router}: no session with {address}")),
                }
            })
            .unwrap_or_else(|e| panic!("{e}"));
        }
        let connections = lab
            .ns(router)
            .bgp_connections()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            connections.len(),
            NODES.len(),
            "{router}'s BGP connections: {connections:?}"
        );
        assert!(
            connections.iter().all(|(l, r)| l.is_ipv6() && r.is_ipv6()),
            "{router}: a BGP connection is not IPv6: {connections:?}"
        );
        println!("{router}: BGP over IPv6 only: {connections:?}");
    }

    // 3. The IPv4 VIP with IPv6 next hops, in each RIB and kernel.
    let vip4 = crate::anycast::prefix(VIP4);
    for (router, addresses) in ROUTERS {
        wait_until(DEADLINE, || {
            let routes = lab.router(router).routes()?;
            let mut next_hops: Vec<(IpAddr, Option<IpAddr>)> = routes
                .iter()
                .filter(|r| r.prefix == vip4)
                .map(|r| (r.peer, r.next_hop))
                .collect();
            next_hops.sort();
            let want: Vec<(IpAddr, Option<IpAddr>)> = addresses
                .iter()
                .map(|a| (crate::ip(a), Some(crate::ip(a))))
                .collect();
            if next_hops == want {
                Ok(())
            } else {
                Err(format!(
                    "{router}'s paths for {VIP4} (peer, next hop): {next_hops:?}"
                ))
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
        println!("{router}: {VIP4} from both nodes, each with its IPv6 address as next hop");
        for vip in [VIP4, VIP6] {
            lab.wait_forwarding(router, crate::anycast::prefix(vip), &NODES, DEADLINE)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        // FRR's zebra installs each path through the neighbor's link-local
        // address (the global one is in the RIB, checked above); BIRD uses
        // the BGP next hop as it is.
        let gateways = kernel_gateways(&lab, router, VIP4);
        assert!(
            gateways.len() == NODES.len() && gateways.iter().all(|g| g.starts_with("inet6 ")),
            "{router}'s kernel gateways for {VIP4} must be one IPv6 address per node: \
             {gateways:?}"
        );
        println!("{router} kernel: {VIP4} via {gateways:?}");
    }

    // 4. IPv4 traffic through IPv6 gateways.
    thread::sleep(Duration::from_millis(500));
    let target = "198.18.70.10:80".parse().expect("socket address");
    let load = Load::start(lab.ns("client"), target, 100, Duration::from_secs(3));
    thread::sleep(Duration::from_secs(3));
    let requests = load.stop().unwrap_or_else(|e| panic!("{e}"));
    let served = served_by(&requests);
    println!(
        "client: {} IPv4 requests to {VIP4}, {} failed, served by {served:?}",
        requests.len(),
        requests.iter().filter(|r| r.failed()).count()
    );
    assert!(
        requests.len() > 100 && requests.iter().all(|r| !r.failed()),
        "{}",
        describe_failures(
            &requests,
            requests.first().map_or(std::time::UNIX_EPOCH, |r| r.at)
        )
    );
    assert_eq!(served.len(), 2, "both nodes should serve: {served:?}");
}

/// The gateways of `router`'s kernel route for `vip`, as `family address`
/// (`ip -j` shows an IPv6 gateway of an IPv4 route as `via`), sorted.
fn kernel_gateways(lab: &Deployment, router: &str, vip: &str) -> Vec<String> {
    let out = lab
        .ns(router)
        .ip(&["-j", "-4", "route", "show", "exact", vip])
        .unwrap_or_else(|e| panic!("{e}"));
    let routes: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("ip -j route: {e}: {}", out.stdout));
    let mut gateways = Vec::new();
    for route in routes.as_array().into_iter().flatten() {
        let hops = match route.get("nexthops").and_then(Value::as_array) {
            Some(list) => list.clone(),
            None => vec![route.clone()],
        };
        for hop in hops {
            if let Some(via) = hop.get("via") {
                gateways.push(format!(
                    "{} {}",
                    via.get("family").and_then(Value::as_str).unwrap_or("?"),
                    via.get("host").and_then(Value::as_str).unwrap_or("?")
                ));
            } else if let Some(gateway) = hop.get("gateway").and_then(Value::as_str) {
                gateways.push(format!("inet {gateway}"));
            }
        }
    }
    gateways.sort();
    gateways
}
