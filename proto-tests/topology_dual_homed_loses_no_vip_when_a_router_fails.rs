//! `containerlab/dual-homed.clab.yml` does what `containerlab/dual-homed.md`
//! promises: each vipd node peers with both routers (r1 BIRD, r2 FRR), every
//! VIP is at both with both nodes as next hops, and when one router fails the
//! other keeps every VIP and the client's traffic through it never fails.
//!
//! 1. Deploy; start the HTTP service on both nodes, then vipd. Both routers
//!    have a session with each node and forward both VIPs to node1 and node2.
//! 2. For each router in turn (r1, then r2): send the client's traffic
//!    through the other one only (its VIP route pointed at that router, as an
//!    upstream would once the failed router's sessions drop), start 100
//!    requests/s, stop the router's daemons by pid, and watch the survivor for
//!    5 s: it must forward both VIPs to both nodes at every look, its sessions
//!    must not flap, and no request may fail. Then start the router again and
//!    wait until it forwards both VIPs to both nodes again.

use std::net::IpAddr;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::clab::Deployment;
use crate::harness::{Load, describe_failures, require_root, served_by, wait_until};

const VIP4: &str = "198.18.60.10/32";
const VIP6: &str = "fd00:198:18:60::10/128";
const NODES: [&str; 2] = ["node1", "node2"];
const UP_DEADLINE: Duration = Duration::from_secs(40);
/// How long the survivor is watched after the other router stops.
const WATCH: Duration = Duration::from_secs(5);

struct Router {
    name: &'static str,
    /// The nodes' session addresses on this router's links.
    neighbors: [&'static str; 2],
    /// This router's address toward the client (v4, v6).
    client_side: (&'static str, &'static str),
    /// The client's interface toward it.
    client_if: &'static str,
}

const R1: Router = Router {
    name: "r1",
    neighbors: ["10.255.62.2", "10.255.63.2"],
    client_side: ("10.255.60.1", "fd00:255:60::1"),
    client_if: "eth1",
};
const R2: Router = Router {
    name: "r2",
    neighbors: ["10.255.64.2", "10.255.65.2"],
    client_side: ("10.255.61.1", "fd00:255:61::1"),
    client_if: "eth2",
};

#[test]
fn dual_homed_loses_no_vip_when_a_router_fails() {
    require_root();
    let mut lab = Deployment::create("dual-homed");
    lab.start_routers();
    let _services = lab.start_http_services(&NODES, &["198.18.60.10", "fd00:198:18:60::10"]);
    lab.start_vipds();

    for router in [&R1, &R2] {
        wait_sessions(&lab, router);
        for vip in [VIP4, VIP6] {
            lab.wait_forwarding(router.name, prefix(vip), &NODES, UP_DEADLINE)
                .unwrap_or_else(|e| panic!("after start: {e}"));
        }
        println!(
            "{}: sessions with both nodes; forwards {VIP4} and {VIP6} to {NODES:?}",
            router.name
        );
    }

    for (failed, survivor) in [(&R1, &R2), (&R2, &R1)] {
        fail_one_router(&mut lab, failed, survivor);
    }
}

fn fail_one_router(lab: &mut Deployment, failed: &Router, survivor: &Router) {
    let client = lab.ns("client").clone();
    for (vip_net, via) in [
        ("198.18.60.0/24", survivor.client_side.0),
        ("fd00:198:18:60::/64", survivor.client_side.1),
    ] {
        client
            .ip(&[
                "route",
                "replace",
                vip_net,
                "via",
                via,
                "dev",
                survivor.client_if,
            ])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let flaps_before = frr_sessions_established(lab, survivor);
    let target = "198.18.60.10:80".parse().expect("socket address");
    let load = Load::start(&client, target, 100, Duration::from_secs(30));
    thread::sleep(Duration::from_secs(1));

    let stopped_at = SystemTime::now();
    lab.router_mut(failed.name)
        .stop()
        .unwrap_or_else(|e| panic!("cannot stop {}: {e}", failed.name));
    println!(
        "{} stopped; watching {} for {WATCH:?}",
        failed.name, survivor.name
    );
    let start = Instant::now();
    let mut looks = 0;
    while start.elapsed() < WATCH {
        for vip in [VIP4, VIP6] {
            let have = lab
                .forwarding_to(survivor.name, prefix(vip))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                have,
                NODES,
                "{} forwards {vip} to {have:?} {:.0} ms after {} stopped",
                survivor.name,
                start.elapsed().as_secs_f64() * 1e3,
                failed.name
            );
        }
        looks += 1;
        thread::sleep(Duration::from_millis(100));
    }
    for neighbor in survivor.neighbors {
        let up = lab
            .router(survivor.name)
            .session_established(ip(neighbor))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(up, "{}: session with {neighbor} went down", survivor.name);
    }
    assert_eq!(
        frr_sessions_established(lab, survivor),
        flaps_before,
        "{}'s sessions were re-established while {} was down",
        survivor.name,
        failed.name
    );
    let requests = load.stop().unwrap_or_else(|e| panic!("{e}"));
    let after: Vec<_> = requests
        .iter()
        .filter(|r| r.at >= stopped_at)
        .cloned()
        .collect();
    println!(
        "{} down: {} kept both VIPs at both nodes ({looks} looks); {} requests through it, \
         {} failed, served by {:?}",
        failed.name,
        survivor.name,
        requests.len(),
        requests.iter().filter(|r| r.failed()).count(),
        served_by(&requests)
    );
    assert!(
        !after.is_empty() && requests.iter().all(|r| !r.failed()),
        "traffic through {} failed while {} was down: {}",
        survivor.name,
        failed.name,
        describe_failures(&requests, stopped_at)
    );
    let served = served_by(&requests);
    assert_eq!(
        served.len(),
        NODES.len(),
        "{} should spread the client's connections over both nodes: {served:?}",
        survivor.name
    );

    let restarted = Instant::now();
    lab.router_mut(failed.name)
        .start()
        .unwrap_or_else(|e| panic!("cannot start {} again: {e}", failed.name));
    wait_sessions(lab, failed);
    for vip in [VIP4, VIP6] {
        lab.wait_forwarding(failed.name, prefix(vip), &NODES, UP_DEADLINE)
            .unwrap_or_else(|e| panic!("after restarting {}: {e}", failed.name));
    }
    println!(
        "{} back: forwards both VIPs to both nodes {:.0} ms after its start",
        failed.name,
        restarted.elapsed().as_secs_f64() * 1e3
    );
}

fn wait_sessions(lab: &Deployment, router: &Router) {
    for neighbor in router.neighbors {
        wait_until(UP_DEADLINE, || {
            match lab.router(router.name).session_established(ip(neighbor))? {
                true => Ok(()),
                false => Err(format!("{}: no session with {neighbor}", router.name)),
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// For an FRR router: how many times each of its sessions was established
/// (`connectionsEstablished`), to see a flap; empty for BIRD.
fn frr_sessions_established(lab: &Deployment, router: &Router) -> Vec<String> {
    if lab.router(router.name).kind() != crate::harness::RouterKind::Frr {
        return Vec::new();
    }
    router
        .neighbors
        .iter()
        .map(|n| {
            let text = lab
                .router(router.name)
                .describe_session(ip(n))
                .unwrap_or_else(|e| panic!("{e}"));
            text.split_whitespace()
                .skip_while(|w| *w != "connectionsEstablished")
                .nth(1)
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn prefix(text: &str) -> ipnet::IpNet {
    crate::anycast::prefix(text)
}

fn ip(text: &str) -> IpAddr {
    crate::ip(text)
}
