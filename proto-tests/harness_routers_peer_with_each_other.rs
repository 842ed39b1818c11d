//! The harness itself, checked with routers only: if this fails, no other
//! proto-test result means anything.
//!
//! ```text
//!   frr (AS 65020)  --eth1--  bird (AS 65010)  --eth2--  gobgp (AS 65010)
//!   originates      eBGP v4+v6  originates        iBGP v4   originates
//!   198.18.20.0/24  transport   198.18.10.0/24    transport nothing
//!   fd00:198:18:20::/64         fd00:198:18:10::/64
//! ```
//!
//! 1. Deploy `containerlab/harness-selftest.clab.yml` in namespaces.
//! 2. Wait until every session is Established, asking each router.
//! 3. BIRD shows FRR's routes over both transports (IPv4 over the IPv6
//!    session with an RFC 8950 IPv6 next hop) with FRR's attributes.
//! 4. FRR shows BIRD's IPv4 and IPv6 routes with BIRD's attributes.
//! 5. GoBGP shows BIRD's routes over iBGP: empty AS path, LOCAL_PREF 150.
//! 6. Restart all three routers (stop by pid, start again, FRR's config
//!    applied anew): every session comes back.

use std::time::Duration;

use crate::clab::Deployment;
use crate::harness::{ExpectedRoute, Origin, wait_until};
use crate::ip;

const SESSION_DEADLINE: Duration = Duration::from_secs(60);
const ROUTE_DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn harness_routers_peer_with_each_other() {
    let mut lab = Deployment::up("harness-selftest");

    let sessions = [
        ("bird", "10.255.10.2"),
        ("bird", "fd00:255:10::2"),
        ("bird", "10.255.11.3"),
        ("frr", "10.255.10.1"),
        ("frr", "fd00:255:10::1"),
        ("gobgp", "10.255.11.1"),
    ];
    let all_established = |lab: &Deployment| {
        wait_until(SESSION_DEADLINE, || {
            for (node, neighbor) in sessions {
                if !lab.router(node).session_established(ip(neighbor))? {
                    return Err(format!("{node} -> {neighbor} not Established"));
                }
            }
            Ok(())
        })
    };
    all_established(&lab).unwrap_or_else(|e| panic!("sessions: {e}"));

    let from_frr = |prefix: &str, peer: &str, next_hop: &str| ExpectedRoute {
        prefix: prefix.parse().expect("prefix"),
        peer: ip(peer),
        next_hop: ip(next_hop),
        as_path: vec![65020],
        origin: Origin::Igp,
        med: Some(20),
        local_pref: None,
        communities: vec!["65020:200".into()],
        large_communities: vec!["65020:2:2".into()],
    };
    let from_bird = |prefix: &str, peer: &str, next_hop: &str, ibgp: bool| ExpectedRoute {
        prefix: prefix.parse().expect("prefix"),
        peer: ip(peer),
        next_hop: ip(next_hop),
        as_path: if ibgp { vec![] } else { vec![65010] },
        origin: Origin::Igp,
        med: Some(10),
        local_pref: ibgp.then_some(150),
        communities: vec!["65010:100".into()],
        large_communities: vec!["65010:1:1".into()],
    };
    let expectations = [
        (
            "bird",
            from_frr("198.18.20.0/24", "10.255.10.2", "10.255.10.2"),
        ),
        (
            "bird",
            from_frr("198.18.20.0/24", "fd00:255:10::2", "fd00:255:10::2"),
        ),
        (
            "bird",
            from_frr("fd00:198:18:20::/64", "10.255.10.2", "fd00:255:10::2"),
        ),
        (
            "frr",
            from_bird("198.18.10.0/24", "10.255.10.1", "10.255.10.1", false),
        ),
        (
            "frr",
            from_bird(
                "fd00:198:18:10::/64",
                "10.255.10.1",
                "fd00:255:10::1",
                false,
            ),
        ),
        (
            "gobgp",
            from_bird("198.18.10.0/24", "10.255.11.1", "10.255.11.1", true),
        ),
        (
            "gobgp",
            from_bird("fd00:198:18:10::/64", "10.255.11.1", "fd00:255:11::1", true),
        ),
    ];
    wait_until(ROUTE_DEADLINE, || {
        for (node, expected) in &expectations {
            let routes = lab.router(node).routes()?;
            expected
                .check(&routes)
                .map_err(|e| format!("on {node}: {e}"))?;
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("routes: {e}"));
    for (node, expected) in &expectations {
        println!(
            "ok  {node:<6} has {} from {}",
            expected.prefix, expected.peer
        );
    }

    for node in ["bird", "frr", "gobgp"] {
        lab.router_mut(node)
            .restart()
            .unwrap_or_else(|e| panic!("cannot restart {node}: {e}"));
    }
    all_established(&lab).unwrap_or_else(|e| panic!("sessions after restarting: {e}"));
    println!("ok  every session is back after restarting all three routers");
}
