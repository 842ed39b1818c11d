//! Event-driven checks react to a dead service in milliseconds, not at the
//! next probe: an http check with `watch = true` (an idle connection to the
//! service that the kernel closes when the service dies) and a `process`
//! check (a pidfd of the service's pid) both withdraw their VIP at once.
//!
//! ```text
//!                                  +-- node1: HTTP service killed
//!   client ---- router (BIRD) -----+-- node2      198.18.0.10: http, watch = true
//!                                  +-- node3      198.18.0.11: process (pidfile)
//!   tcpdump: router eth2 (BGP from node1), node1 lo (the probes)
//!   ip monitor: the router's kernel routes
//! ```
//!
//! 1. Deploy `containerlab/anycast-ecmp-bird.clab.yml`; the router forwards both
//!    VIPs to all three nodes.
//! 2. Capture BGP on the router's interface toward node1, TCP port 80 on
//!    node1's `lo`, and the router's route changes.
//! 3. SIGKILL node1's service.
//! 4. The router stops forwarding either VIP to node1. The process check is
//!    polled only every 30 s, so its VIP leaving within seconds proves the
//!    pidfd; both re-probes were triggered by events (vipd's log says so).
//! 5. Printed, not asserted (timed targets are the benchmark's): the kill to
//!    the withdrawal UPDATE at the router and to the router's kernel route
//!    for each VIP, and the reaction time from the refused probe (its RST on
//!    node1's `lo`) to the UPDATE.

use std::time::{Duration, SystemTime};

use crate::anycast::{
    AnycastLab, CHANGE_DEADLINE, NODES, ROUTER, VIP_PROCESS, VIP4, ms_between, prefix,
};
use crate::harness::pcap::{self, FIN, RST, SYN};
use crate::harness::{Capture, RouteMonitor, RouterKind, interfaces};

/// Generous bound on kill -> withdrawal: far below the process check's 30 s
/// poll, far above the milliseconds it takes.
const EVENT_DEADLINE: Duration = Duration::from_secs(5);

#[test]
fn watch_and_process_checks_withdraw_within_milliseconds_of_a_kill() {
    let kind = RouterKind::Bird;
    let mut lab = AnycastLab::up(kind);
    lab.wait_forwarding(VIP_PROCESS, &NODES, CHANGE_DEADLINE)
        .unwrap_or_else(|e| panic!("{kind} before the kill: {e}"));
    let to_node1 = lab.interface_to("node1").to_string();
    let node1 = lab.deployment.vipd("node1").log_len();

    let routes = RouteMonitor::start(lab.ns(ROUTER), "router").unwrap_or_else(|e| panic!("{e}"));
    let bgp = Capture::start(lab.ns(ROUTER), &to_node1, "router-bgp-node1")
        .unwrap_or_else(|e| panic!("{e}"));
    let probes = Capture::start_matching(lab.ns("node1"), "lo", "node1-lo", &["tcp", "port", "80"])
        .unwrap_or_else(|e| panic!("{e}"));

    let killed = lab
        .service("node1")
        .kill()
        .unwrap_or_else(|e| panic!("{e}"));
    for vip in [VIP4, VIP_PROCESS] {
        lab.wait_forwarding(vip, &["node2", "node3"], EVENT_DEADLINE)
            .unwrap_or_else(|e| panic!("{kind} {vip} after node1's service died: {e}"));
    }

    let log = lab.deployment.vipd("node1").log();
    let since_kill = log.get(node1..).unwrap_or_default();
    for (check, event) in [
        ("web", "watched connection closed"),
        ("process", "exited: re-probing at once"),
    ] {
        let line = since_kill
            .lines()
            .find(|l| l.contains(event) && l.contains(&format!("check={check}")))
            .unwrap_or_else(|| {
                panic!("node1's vipd did not re-probe check {check} on an event ({event:?}):\n{since_kill}")
            });
        println!("node1's vipd: {line}");
    }

    let bgp = bgp.stop();
    let probes = probes.stop();
    let updates = pcap::updates(&bgp).unwrap_or_else(|e| panic!("{e}"));
    let segments = pcap::segments(&probes).unwrap_or_else(|e| panic!("{e}"));
    // The dying service's first FIN or RST: when its sockets were closed.
    let closed = segments
        .iter()
        .find(|s| s.at >= killed && s.src.port() == 80 && s.flags & (RST | FIN) != 0)
        .map(|s| s.at);
    for (vip, check) in [
        (VIP4, "http, watch = true"),
        (VIP_PROCESS, "process (pidfd)"),
    ] {
        let net = prefix(vip);
        let Some(update) = updates
            .iter()
            .find(|u| u.at >= killed && u.withdrawn.contains(&net))
        else {
            panic!(
                "{kind}: no UPDATE withdrawing {vip} reached the router after the kill: {updates:#?}"
            );
        };
        let fib = routes.first_change(net, killed, |hops| !interfaces(hops).contains(&to_node1));
        let fib = fib.map_or_else(
            || "(not seen)".to_string(),
            |c| format!("{:.2} ms", ms_between(killed, c.at)),
        );
        println!(
            "{vip} ({check}): service killed -> withdrawal at the router {:.2} ms \
             (after its sockets closed: {}), -> router's kernel route {fib}",
            ms_between(killed, update.at),
            closed.map_or_else(
                || "not seen".to_string(),
                |c| format!("{:.2} ms", ms_between(c, update.at))
            ),
        );
        if vip == VIP4 {
            println!("{vip}: reaction {}", reaction(&segments, killed, update.at));
        }
    }
}

/// From the RST that refused the first probe after the kill (a SYN to port
/// 80 answered by RST on node1's `lo`) to the withdrawal at the router.
fn reaction(segments: &[pcap::Segment], killed: SystemTime, update: SystemTime) -> String {
    let refused = segments.iter().filter(|s| s.at >= killed).find(|rst| {
        rst.has(RST)
            && rst.src.port() == 80
            && segments.iter().any(|syn| {
                syn.has(SYN) && syn.src == rst.dst && (killed..=rst.at).contains(&syn.at)
            })
    });
    match refused {
        Some(rst) => format!(
            "(refused probe -> withdrawal at the router): {:.3} ms",
            ms_between(rst.at, update)
        ),
        None => "not measured: no refused probe captured".to_string(),
    }
}
