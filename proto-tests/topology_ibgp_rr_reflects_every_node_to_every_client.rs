//! `containerlab/ibgp-rr.clab.yml` does what `containerlab/ibgp-rr.md`
//! promises: two vipd nodes peer over iBGP with the route reflector `rr`
//! (FRR) only, and `edge` (BIRD), which has no session with them, learns
//! every node's VIPs through rr, reflected as RFC 4456 says: ORIGINATOR_ID
//! is the node's BGP Identifier and CLUSTER_LIST holds rr's cluster id.
//!
//! 1. Deploy; wait until rr has its three sessions (node1, node2, edge).
//! 2. At edge: each node's own VIP arrives once, from rr, with that node's
//!    ORIGINATOR_ID, CLUSTER_LIST `10.255.40.254` and the node's LAN address
//!    as next hop (a reflector does not change it).
//! 3. The anycast VIPs (IPv4 and IPv6) arrive at edge twice, one path per
//!    node (rr sends every path: ADD-PATH), and edge's kernel forwards them to
//!    both nodes (ECMP). rr installs them with both next hops too
//!    (`maximum-paths ibgp`; for IPv6, zebra uses the nodes' link-local
//!    addresses as gateways).
//! 4. Stopping node2's vipd takes its paths away at edge: the anycast VIP is
//!    left with node1 alone, node2's own VIP is gone.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use crate::clab::Deployment;
use crate::harness::{require_root, wait_until};

const CLUSTER_ID: &str = "10.255.40.254";
const ANYCAST4: &str = "198.18.40.10/32";
const ANYCAST6: &str = "fd00:198:18:40::10/128";
const DEADLINE: Duration = Duration::from_secs(40);

/// (node, router id = LAN address, IPv6 LAN address, own VIP)
const NODES: [(&str, &str, &str, &str); 2] = [
    ("node1", "10.255.40.11", "fd00:255:40::11", "198.18.40.1/32"),
    ("node2", "10.255.40.12", "fd00:255:40::12", "198.18.40.2/32"),
];

/// One path of a prefix in BIRD's `show route for PREFIX all`.
#[derive(Debug, Default, Clone)]
struct Path {
    /// The BIRD protocol it came from.
    protocol: String,
    next_hop: Option<IpAddr>,
    originator_id: Option<String>,
    cluster_list: Option<String>,
}

#[test]
fn ibgp_rr_reflects_every_node_to_every_client() {
    require_root();
    let mut lab = Deployment::up("ibgp-rr");
    for neighbor in ["10.255.40.11", "10.255.40.12", "10.255.40.2"] {
        wait_until(DEADLINE, || {
            match lab.router("rr").session_established(crate::ip(neighbor))? {
                true => Ok(()),
                false => Err(format!("rr: no session with {neighbor}")),
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let edge = lab.bird_cli("edge");
    let paths_at_edge = |prefix: &str| -> Result<Vec<Path>, String> {
        // `where net = ...` rather than `for ...`: no route is an empty
        // answer then, not an error.
        let filter = format!("net = {prefix}");
        Ok(parse_paths(
            &edge.birdc(&["show", "route", "all", "where", &filter])?,
        ))
    };

    // 2. Each node's own VIP, reflected.
    for (node, router_id, _, own) in NODES {
        let mut paths = Vec::new();
        wait_until(DEADLINE, || {
            paths = paths_at_edge(own)?;
            if paths.len() == 1 {
                Ok(())
            } else {
                Err(format!(
                    "edge has {} paths for {own}: {paths:?}",
                    paths.len()
                ))
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let path = &paths[0];
        println!("edge: {own} {path:?}");
        assert_eq!(
            path.protocol, "reflector",
            "{own} not learned from rr: {path:?}"
        );
        assert_eq!(
            path.originator_id.as_deref(),
            Some(router_id),
            "{own} from {node}: ORIGINATOR_ID"
        );
        assert_eq!(
            path.cluster_list.as_deref(),
            Some(CLUSTER_ID),
            "{own} from {node}: CLUSTER_LIST"
        );
        assert_eq!(path.next_hop, Some(crate::ip(router_id)), "{own}: next hop");
    }

    // 3. The anycast VIPs: one path per node at edge, ECMP at edge and rr.
    for (vip, v6) in [(ANYCAST4, false), (ANYCAST6, true)] {
        let want_next_hops: BTreeSet<IpAddr> = NODES
            .iter()
            .map(|(_, v4, v6addr, _)| crate::ip(if v6 { v6addr } else { v4 }))
            .collect();
        let want_originators: BTreeSet<String> =
            NODES.iter().map(|(_, id, _, _)| id.to_string()).collect();
        let mut paths = Vec::new();
        wait_until(DEADLINE, || {
            paths = paths_at_edge(vip)?;
            let originators: BTreeSet<String> = paths
                .iter()
                .filter_map(|p| p.originator_id.clone())
                .collect();
            if paths.len() == 2 && originators == want_originators {
                Ok(())
            } else {
                Err(format!("edge's paths for {vip}: {paths:?}"))
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
        for path in &paths {
            println!("edge: {vip} {path:?}");
            assert_eq!(
                path.cluster_list.as_deref(),
                Some(CLUSTER_ID),
                "{vip}: {path:?}"
            );
        }
        let next_hops: BTreeSet<IpAddr> = paths.iter().filter_map(|p| p.next_hop).collect();
        assert_eq!(next_hops, want_next_hops, "{vip}: BGP next hops at edge");
        for router in ["edge", "rr"] {
            let net = crate::anycast::prefix(vip);
            wait_until(DEADLINE, || {
                let gateways: BTreeSet<IpAddr> = lab
                    .ns(router)
                    .kernel_next_hops(net)?
                    .iter()
                    .filter_map(|h| h.gateway)
                    .collect();
                // zebra installs an IPv6 path through the neighbor's
                // link-local address on the LAN, one per node all the same.
                let link_local =
                    |a: &IpAddr| matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local());
                if gateways == want_next_hops
                    || (v6
                        && gateways.len() == want_next_hops.len()
                        && gateways.iter().all(link_local))
                {
                    Ok(())
                } else {
                    Err(format!("{router}'s kernel forwards {vip} via {gateways:?}"))
                }
            })
            .unwrap_or_else(|e| panic!("{e}"));
            let gateways: Vec<IpAddr> = lab
                .ns(router)
                .kernel_next_hops(net)
                .unwrap_or_else(|e| panic!("{e}"))
                .iter()
                .filter_map(|h| h.gateway)
                .collect();
            println!("{router}: kernel forwards {vip} via {gateways:?} (ECMP)");
        }
    }

    // 4. node2 leaves: its paths go, at edge too.
    let (status, took) = lab
        .vipd_mut("node2")
        .terminate()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "vipd on node2 exited with {status:?}");
    println!("node2's vipd stopped in {took:?}");
    wait_until(DEADLINE, || {
        let anycast = paths_at_edge(ANYCAST4)?;
        let own = paths_at_edge(NODES[1].3)?;
        let only_node1 =
            anycast.len() == 1 && anycast[0].originator_id.as_deref() == Some(NODES[0].1);
        if only_node1 && own.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "edge after node2 stopped: {ANYCAST4} {anycast:?}, {} {own:?}",
                NODES[1].3
            ))
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "edge: {ANYCAST4} now from node1 only; {} withdrawn",
        NODES[1].3
    );
}

/// Splits BIRD's route listing into paths: each starts on a line that is
/// not tab-indented (`PREFIX unicast [proto ...]` or, for further paths,
/// spaces then `unicast [...]`), attributes follow on tab-indented lines.
fn parse_paths(text: &str) -> Vec<Path> {
    let mut paths = Vec::new();
    let mut current: Option<Path> = None;
    for line in text.lines() {
        if line.starts_with("Table ")
            || line.trim().is_empty()
            || line.contains("Network not found")
        {
            continue;
        }
        if !line.starts_with('\t') {
            paths.extend(current.take());
            let protocol = line
                .split_once('[')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or_default()
                .to_string();
            current = Some(Path {
                protocol,
                ..Path::default()
            });
            continue;
        }
        let Some(path) = current.as_mut() else {
            continue;
        };
        let Some((key, value)) = line.trim().split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "BGP.next_hop" => {
                path.next_hop = value.split_whitespace().next().and_then(|a| a.parse().ok())
            }
            "BGP.originator_id" => path.originator_id = Some(value.to_string()),
            "BGP.cluster_list" => path.cluster_list = Some(value.to_string()),
            _ => {}
        }
    }
    paths.extend(current);
    paths
}
