//! A node whose service dies leaves the router's ECMP set, so the client's
//! requests stop failing; once the service is back it rejoins after `rise`
//! passing probes. For the IPv4 and the IPv6 (/128) VIP, against BIRD and FRR.
//!
//! ```text
//!                                  +-- node1: HTTP service killed, then restarted
//!   client ---- router (ECMP) -----+-- node2
//!   200 req/s   BIRD or FRR        +-- node3
//!   to the VIP                     each: vipd, http check with watch = true
//! ```
//!
//! 1. Deploy `containerlab/anycast-ecmp{-bird,}.clab.yml` (BIRD, FRR); the router forwards
//!    the VIP to all three nodes (its CLI and its kernel agree).
//! 2. The client sends 200 requests/s, each on a new connection; all three
//!    nodes serve some.
//! 3. SIGKILL node1's service. vipd's watched connection closes, the re-probe
//!    is refused, the check (fall 1) goes down and the VIP is withdrawn: the
//!    router forwards to node2 and node3 only.
//! 4. From then on no request fails (the requests lost between the kill and
//!    the withdrawal are printed, not asserted: that is the benchmark's job).
//! 5. Restart the service: after `rise` (2) passing probes node1 is back in
//!    the ECMP set and serves requests again.

use std::thread;
use std::time::{Duration, SystemTime};

use crate::anycast::{AnycastLab, CHANGE_DEADLINE, VIP4, VIP6, ms_between, service_address};
use crate::harness::{Load, RouterKind, describe_failures, served_by};

const RATE: u32 = 200;
/// Bound on the load, far above what the test needs.
const LOAD_LIMIT: Duration = Duration::from_secs(60);
/// How long the client runs in each steady state that is checked.
const SETTLE: Duration = Duration::from_millis(1500);

#[test]
fn killed_service_leaves_bird_ecmp_and_rejoins_ipv4() {
    killed_service_leaves_ecmp_and_rejoins(RouterKind::Bird, VIP4);
}

#[test]
fn killed_service_leaves_bird_ecmp_and_rejoins_ipv6() {
    killed_service_leaves_ecmp_and_rejoins(RouterKind::Bird, VIP6);
}

#[test]
fn killed_service_leaves_frr_ecmp_and_rejoins_ipv4() {
    killed_service_leaves_ecmp_and_rejoins(RouterKind::Frr, VIP4);
}

#[test]
fn killed_service_leaves_frr_ecmp_and_rejoins_ipv6() {
    killed_service_leaves_ecmp_and_rejoins(RouterKind::Frr, VIP6);
}

fn killed_service_leaves_ecmp_and_rejoins(kind: RouterKind, vip: &str) {
    let mut lab = AnycastLab::up(kind);
    let load = Load::start(
        lab.ns(crate::anycast::CLIENT),
        service_address(vip),
        RATE,
        LOAD_LIMIT,
    );
    let start = SystemTime::now();
    thread::sleep(SETTLE);
    let before = load.between(start, SystemTime::now());
    let spread = served_by(&before);
    println!("{kind} {vip}: before the kill, served by {spread:?}");
    assert_eq!(
        spread.len(),
        3,
        "{kind} {vip}: ECMP must spread requests over all three nodes: {spread:?}; {}",
        describe_failures(&before, start)
    );

    let killed = lab
        .service("node1")
        .kill()
        .unwrap_or_else(|e| panic!("{e}"));
    lab.wait_forwarding(vip, &["node2", "node3"], CHANGE_DEADLINE)
        .unwrap_or_else(|e| panic!("{kind} {vip} after node1's service died: {e}"));
    let left = SystemTime::now();
    println!(
        "{kind} {vip}: the router dropped node1 within {:.0} ms of the kill (polled every 250 ms)",
        ms_between(killed, left)
    );
    let withdrawn = lab
        .deployment
        .vipd("node1")
        .log()
        .lines()
        .find(|l| l.contains("VIP down: withdrawn") && l.contains(&format!("prefix={vip}")))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{kind}: node1's vipd logged no withdrawal of {vip}"));
    println!("{kind} {vip}: node1's vipd: {withdrawn}");
    let during = load.between(killed, left);
    println!(
        "{kind} {vip}: between the kill and the withdrawal: {}",
        describe_failures(&during, killed)
    );

    thread::sleep(SETTLE);
    let after = load.between(left, SystemTime::now());
    assert!(
        after.iter().all(|r| !r.failed()),
        "{kind} {vip}: requests still fail after node1 left the ECMP set: {}",
        describe_failures(&after, left)
    );
    assert!(
        served_by(&after).iter().all(|(node, _)| node != "node1"),
        "{kind} {vip}: node1 still served requests after it left: {:?}",
        served_by(&after)
    );

    let back = lab
        .service("node1")
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    lab.wait_forwarding(vip, &crate::anycast::NODES, CHANGE_DEADLINE)
        .unwrap_or_else(|e| panic!("{kind} {vip} after node1's service came back: {e}"));
    let rejoined = SystemTime::now();
    println!(
        "{kind} {vip}: node1 rejoined within {:.0} ms of its service listening again \
         (rise 2; polled every 250 ms)",
        ms_between(back, rejoined)
    );
    thread::sleep(SETTLE);
    let rejoined_requests = load.between(rejoined, SystemTime::now());
    let requests = load.stop().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        served_by(&rejoined_requests)
            .iter()
            .any(|(node, _)| node == "node1"),
        "{kind} {vip}: node1 serves nothing after rejoining: {:?}; {}",
        served_by(&rejoined_requests),
        describe_failures(&rejoined_requests, rejoined)
    );
    println!(
        "{kind} {vip}: whole run: {}; served by {:?}",
        describe_failures(&requests, start),
        served_by(&requests)
    );
}
