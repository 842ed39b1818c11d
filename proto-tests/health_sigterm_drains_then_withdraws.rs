//! SIGTERM with `shutdown_drain = true` stops a node without losing a
//! request: vipd announces its VIPs with GRACEFUL_SHUTDOWN, the router moves
//! traffic to the other nodes, and only after `drain_time` does vipd
//! withdraw them and exit 0. Against BIRD and FRR.
//!
//! ```text
//!                                  +-- node1: vipd gets SIGTERM (service keeps running)
//!   client ---- router (ECMP) -----+-- node2
//!   200 req/s                      +-- node3
//! ```
//!
//! 1. Deploy `containerlab/anycast-ecmp{-bird,}.clab.yml` (BIRD, FRR); the client's
//!    requests reach all three nodes.
//! 2. SIGTERM node1's vipd by pid. It exits 0, no sooner than `drain_time`
//!    (2 s) and within a generous bound after it.
//! 3. On the wire (the router's interface toward node1): the VIP announced
//!    with 65535:0, then withdrawn no sooner than `drain_time` later.
//! 4. The router forwards to node2 and node3 only; node1 served nothing
//!    after the router moved traffic away.
//! 5. No request was lost (one in flight at the instant the router changed
//!    its ECMP set may be reset by the re-mapping; those are printed).

use std::thread;
use std::time::{Duration, SystemTime};

use crate::anycast::{
    AnycastLab, CHANGE_DEADLINE, CLIENT, ROUTER, VIP4, lost, ms_between, prefix, service_address,
    session_address,
};
use crate::harness::pcap;
use crate::harness::{
    Capture, Load, Outcome, RouteMonitor, RouterKind, describe_failures, interfaces, served_by,
};

const RATE: u32 = 200;
const LOAD_LIMIT: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_secs(1);
/// `drain_time` of every VIP in configs/anycast-ecmp/node1/vipd.toml.
const DRAIN_TIME: Duration = Duration::from_secs(2);
/// Timers fire late, never early; this allows for timestamp granularity.
const EARLY_SLACK: Duration = Duration::from_millis(20);
/// Generous bound on the exit beyond the drain (the requirement is 1 s).
const EXIT_AFTER_DRAIN: Duration = Duration::from_secs(5);

#[test]
fn sigterm_drains_bird_router_then_withdraws_without_a_lost_request() {
    sigterm_drains_then_withdraws(RouterKind::Bird);
}

#[test]
fn sigterm_drains_frr_router_then_withdraws_without_a_lost_request() {
    sigterm_drains_then_withdraws(RouterKind::Frr);
}

fn sigterm_drains_then_withdraws(kind: RouterKind) {
    let mut lab = AnycastLab::up(kind);
    let vip = prefix(VIP4);
    let to_node1 = lab.interface_to("node1").to_string();
    let monitor = RouteMonitor::start(lab.ns(ROUTER), "router").unwrap_or_else(|e| panic!("{e}"));
    let bgp = Capture::start(lab.ns(ROUTER), &to_node1, "router-bgp-node1")
        .unwrap_or_else(|e| panic!("{e}"));
    let load = Load::start(lab.ns(CLIENT), service_address(VIP4), RATE, LOAD_LIMIT);
    let start = SystemTime::now();
    thread::sleep(SETTLE);
    let spread = served_by(&load.requests());
    assert_eq!(
        spread.len(),
        3,
        "{kind}: ECMP must reach all three nodes: {spread:?}"
    );

    let terminated = SystemTime::now();
    let (status, took) = lab
        .deployment
        .vipd_mut("node1")
        .terminate()
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    println!("{kind}: node1's vipd exited with {status} {took:?} after SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "{kind}: vipd must exit 0 on SIGTERM"
    );
    assert!(
        took + EARLY_SLACK >= DRAIN_TIME && took <= DRAIN_TIME + EXIT_AFTER_DRAIN,
        "{kind}: vipd exited {took:?} after SIGTERM; with shutdown_drain it must drain for \
         {DRAIN_TIME:?} first, then exit within {EXIT_AFTER_DRAIN:?}"
    );
    lab.wait_forwarding(VIP4, &["node2", "node3"], CHANGE_DEADLINE)
        .unwrap_or_else(|e| panic!("{kind} after node1's vipd stopped: {e}"));
    thread::sleep(SETTLE);
    let requests = load.stop().unwrap_or_else(|e| panic!("{e}"));

    let updates = pcap::updates(&bgp.stop()).unwrap_or_else(|e| panic!("{e}"));
    let node1 = session_address("node1");
    let from_node1 = |u: &&pcap::Update| u.from == node1 && u.at >= terminated;
    let drain = updates
        .iter()
        .filter(from_node1)
        .find(|u| u.announced.contains(&vip) && u.communities.iter().any(|c| c == "65535:0"))
        .unwrap_or_else(|| {
            panic!("{kind}: no drain (65535:0) of {VIP4} after SIGTERM: {updates:#?}")
        });
    let withdrawal = updates
        .iter()
        .filter(from_node1)
        .find(|u| u.at >= drain.at && u.withdrawn.contains(&vip))
        .unwrap_or_else(|| panic!("{kind}: no withdrawal of {VIP4} after the drain: {updates:#?}"));
    let drained_for = withdrawal.at.duration_since(drain.at).unwrap_or_default();
    println!(
        "{kind}: on the wire: GRACEFUL_SHUTDOWN {:.1} ms after SIGTERM, withdrawal {:.0} ms \
         after that",
        ms_between(terminated, drain.at),
        drained_for.as_secs_f64() * 1e3
    );
    assert!(
        drained_for + EARLY_SLACK >= DRAIN_TIME,
        "{kind}: withdrawn {drained_for:?} after the drain began, before drain_time"
    );

    let changes: Vec<SystemTime> = monitor
        .changes()
        .into_iter()
        .filter(|c| c.prefix == vip)
        .map(|c| c.at)
        .collect();
    let moved = monitor
        .first_change(vip, terminated, |hops| {
            !interfaces(hops).contains(&to_node1)
        })
        .unwrap_or_else(|| panic!("{kind}: the router's kernel never dropped node1 for {VIP4}"));
    println!(
        "{kind}: the router's kernel moved {VIP4} off node1 {:.1} ms after SIGTERM, {:.0} ms \
         before the withdrawal",
        ms_between(terminated, moved.at),
        ms_between(moved.at, withdrawal.at)
    );
    let served_after = requests
        .iter()
        .filter(|r| r.at > moved.at)
        .filter(|r| matches!(&r.outcome, Outcome::Served(n) if n == "node1"))
        .count();
    assert_eq!(
        served_after, 0,
        "{kind}: node1 served requests after the router moved traffic away"
    );
    let lost = lost(&requests, &changes);
    println!(
        "{kind}: {}; {} reset in flight by ECMP changes; served by {:?}",
        describe_failures(&requests, start),
        requests.iter().filter(|r| r.failed()).count() - lost.len(),
        served_by(&requests)
    );
    assert!(
        lost.is_empty(),
        "{kind}: a drained shutdown must lose no request: {}",
        describe_failures(&lost, terminated)
    );
}
