//! A planned drain loses no request: touching the maintenance file makes
//! vipd keep the VIP announced with GRACEFUL_SHUTDOWN (RFC 8326) for its
//! `drain_time`, the router prefers the other nodes at once (LOCAL_PREF 0 on
//! that community) while node1 still serves, and only then is the route
//! withdrawn. Against BIRD and FRR.
//!
//! ```text
//!                                  +-- node1: touch /etc/vipd/maintenance
//!   client ---- router (ECMP) -----+-- node2
//!   200 req/s   GSHUT -> LOCAL_PREF 0  +-- node3
//! ```
//!
//! 1. Deploy `containerlab/anycast-ecmp{-bird,}.clab.yml` (BIRD, FRR); the router forwards
//!    the VIP to all three nodes and the client's requests reach all three.
//! 2. Capture BGP on the router's interface toward node1.
//! 3. `touch /etc/vipd/maintenance` on node1 (a file check, `on_fail = "drain"`
//!    by default).
//! 4. The router still has node1's path, now with GRACEFUL_SHUTDOWN and
//!    LOCAL_PREF 0, and forwards to node2 and node3 only.
//! 5. Later node1's path is gone; on the wire the withdrawal came no sooner
//!    than `drain_time` (2 s) after the GRACEFUL_SHUTDOWN announcement.
//! 6. Not one of the client's requests failed, except any that was in flight
//!    at the instant the router changed its ECMP set and was re-mapped to
//!    another node (Linux's hash-threshold ECMP resets those whatever vipd
//!    does; they are printed, and told apart by the router's route-change
//!    timestamps from `ip monitor`).
//! 7. Remove the file: node1 is back in the ECMP set after `rise`.

use std::thread;
use std::time::{Duration, SystemTime};

use crate::anycast::{
    AnycastLab, CHANGE_DEADLINE, CLIENT, NODES, ROUTER, VIP4, lost, ms_between, prefix,
    service_address, session_address,
};
use crate::harness::pcap::{self, Update};
use crate::harness::{
    Capture, Load, RouteEntry, RouteMonitor, RouterKind, check_absent, describe_failures,
    served_by, wait_until,
};

const RATE: u32 = 200;
const LOAD_LIMIT: Duration = Duration::from_secs(60);
const SETTLE: Duration = Duration::from_secs(1);
/// `drain_time` of the VIP in configs/anycast-ecmp/node1/vipd.toml.
const DRAIN_TIME: Duration = Duration::from_secs(2);
/// Timers fire late, never early; this much allows for clock granularity
/// between vipd's timer and the capture's timestamps.
const EARLY_SLACK: Duration = Duration::from_millis(20);
const MAINTENANCE: &str = "maintenance";

#[test]
fn maintenance_file_drains_bird_router_without_a_failed_request() {
    maintenance_file_drains_without_a_failed_request(RouterKind::Bird);
}

#[test]
fn maintenance_file_drains_frr_router_without_a_failed_request() {
    maintenance_file_drains_without_a_failed_request(RouterKind::Frr);
}

fn maintenance_file_drains_without_a_failed_request(kind: RouterKind) {
    let lab = AnycastLab::up(kind);
    let vip = prefix(VIP4);
    let node1 = session_address("node1");
    let bgp = Capture::start(
        lab.ns(ROUTER),
        lab.interface_to("node1"),
        "router-bgp-node1",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let monitor = RouteMonitor::start(lab.ns(ROUTER), "router").unwrap_or_else(|e| panic!("{e}"));
    let load = Load::start(lab.ns(CLIENT), service_address(VIP4), RATE, LOAD_LIMIT);
    let start = SystemTime::now();
    thread::sleep(SETTLE);
    let spread = served_by(&load.requests());
    assert_eq!(
        spread.len(),
        3,
        "{kind}: ECMP must reach all three nodes: {spread:?}"
    );

    let touched = lab.touch("node1", MAINTENANCE);
    wait_until(CHANGE_DEADLINE, || {
        let routes = lab.router().routes()?;
        let path = routes
            .iter()
            .find(|r| r.prefix == vip && r.peer == node1)
            .ok_or_else(|| format!("node1's path for {VIP4} is gone already"))?;
        draining(path)?;
        let forwarding = lab.forwarding(VIP4)?;
        if forwarding == ["node2", "node3"] {
            Ok(())
        } else {
            Err(format!(
                "{kind} still forwards {VIP4} to {forwarding:?} ({path})"
            ))
        }
    })
    .unwrap_or_else(|e| panic!("{kind} while node1 drains: {e}"));
    let moved = SystemTime::now();
    println!(
        "{kind}: traffic moved off node1 within {:.0} ms of the touch, its path still there \
         (polled every 250 ms)",
        ms_between(touched, moved)
    );

    wait_until(CHANGE_DEADLINE, || {
        check_absent(&lab.router().routes()?, vip, node1)
    })
    .unwrap_or_else(|e| panic!("{kind}: node1's drained path was never withdrawn: {e}"));
    thread::sleep(SETTLE);
    let requests = load.stop().unwrap_or_else(|e| panic!("{e}"));

    let updates = pcap::updates(&bgp.stop()).unwrap_or_else(|e| panic!("{e}"));
    let (announced, withdrawn) = drain_on_the_wire(&updates, vip, touched)
        .unwrap_or_else(|e| panic!("{kind}: on the wire from node1: {e}"));
    let drained_for = withdrawn.duration_since(announced).unwrap_or_default();
    println!(
        "{kind}: on the wire: GRACEFUL_SHUTDOWN {:.1} ms after the touch, withdrawal {:.0} ms \
         after that (drain_time {DRAIN_TIME:?})",
        ms_between(touched, announced),
        drained_for.as_secs_f64() * 1e3
    );
    assert!(
        drained_for + EARLY_SLACK >= DRAIN_TIME,
        "{kind}: node1 withdrew {VIP4} {drained_for:?} after announcing the drain, \
         before its drain_time {DRAIN_TIME:?}"
    );

    let after_move = requests.iter().filter(|r| r.at >= moved);
    let node1_after = after_move
        .filter(|r| matches!(&r.outcome, crate::harness::Outcome::Served(n) if n == "node1"))
        .count();
    println!(
        "{kind}: {}; served by {:?}; node1 served {node1_after} after traffic moved",
        describe_failures(&requests, start),
        served_by(&requests)
    );
    let changes: Vec<SystemTime> = monitor
        .changes()
        .into_iter()
        .filter(|c| c.prefix == vip)
        .map(|c| c.at)
        .collect();
    let lost = lost(&requests, &changes);
    let remapped = requests.iter().filter(|r| r.failed()).count() - lost.len();
    println!(
        "{kind}: {remapped} request(s) reset in flight by the router's ECMP changes at {:?} ms",
        changes
            .iter()
            .map(|c| ms_between(touched, *c).round())
            .collect::<Vec<_>>()
    );
    assert!(
        lost.is_empty(),
        "{kind}: a planned drain must lose no request: {}",
        describe_failures(&lost, touched)
    );

    lab.remove("node1", MAINTENANCE);
    lab.wait_forwarding(VIP4, &NODES, CHANGE_DEADLINE)
        .unwrap_or_else(|e| panic!("{kind} after the maintenance file went away: {e}"));
}

/// Ok if the router shows `path` as draining: GRACEFUL_SHUTDOWN (BIRD
/// writes `65535:0`, FRR names it) and the LOCAL_PREF 0 its import policy
/// gives such paths.
fn draining(path: &RouteEntry) -> Result<(), String> {
    let gshut = path
        .communities
        .iter()
        .any(|c| c == "65535:0" || c.eq_ignore_ascii_case("gracefulShutdown"));
    if gshut && path.local_pref == Some(0) {
        Ok(())
    } else {
        Err(format!("node1's path is not draining yet: {path}"))
    }
}

/// When node1's UPDATE announcing `vip` with GRACEFUL_SHUTDOWN, and then
/// the one withdrawing it, reached the router.
fn drain_on_the_wire(
    updates: &[Update],
    vip: ipnet::IpNet,
    since: SystemTime,
) -> Result<(SystemTime, SystemTime), String> {
    let from_node1 = |u: &&Update| u.from == session_address("node1") && u.at >= since;
    let drain = updates
        .iter()
        .filter(from_node1)
        .find(|u| u.announced.contains(&vip) && u.communities.iter().any(|c| c == "65535:0"))
        .ok_or_else(|| format!("no announcement of {vip} with 65535:0: {updates:#?}"))?;
    let withdrawal = updates
        .iter()
        .filter(from_node1)
        .find(|u| u.at >= drain.at && u.withdrawn.contains(&vip))
        .ok_or_else(|| format!("no withdrawal of {vip} after the drain: {updates:#?}"))?;
    Ok((drain.at, withdrawal.at))
}
