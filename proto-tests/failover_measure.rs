//! Measuring failovers on the anycast-ecmp topology (BIRD router), shared by
//! the failover benchmark (`proto-tests/bench/failover.rs`, run with
//! `VIPD_BENCH=1`) and its CI smoke test, so the benchmark's machinery is
//! exercised on every run even though the benchmark itself is not.
//!
//! Whatever speaks BGP on the nodes (vipd, or ExaBGP in the benchmark), a
//! [`Run`] does the same: a client sends 200 requests/s to the VIP, and each
//! episode kills node1's service and restarts it (a failover), or touches
//! and removes node1's maintenance file (a planned drain). Timings come from
//! the kernel's timestamps, never from polling:
//! - tcpdump on the router's interface toward node1: when each BGP UPDATE
//!   from node1 arrived at the router;
//! - tcpdump on node1's `lo`: the probes (SYN, and the RST refusing it once
//!   the service is dead) and the dying service's FIN or RST;
//! - `ip monitor` on the router: when its kernel changed the ECMP set (to
//!   tell requests reset by the re-mapping from requests lost);
//! - the test's own clock: when the kill signal was sent, and when the
//!   restarted service reported listening.
//!
//! The service "dies" for the network when the kernel closes its sockets,
//! a few milliseconds after SIGKILL (it tears down the process's memory
//! first). To see that instant whatever the speaker does, the run keeps an
//! idle connection of its own to the service (the sentinel) and takes the
//! service's FIN or RST on it from the capture on `lo`.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;

use crate::anycast::{
    AnycastLab, CHANGE_DEADLINE, CLIENT, NODES, ROUTER, UP_DEADLINE, VIP4, ms_between, prefix,
    reset_by_ecmp_change, service_address, session_address,
};
use crate::harness::pcap::{self, FIN, RST, SYN, Segment, Update};
use crate::harness::{
    Capture, Load, Outcome, Request, RouteMonitor, Vipd, check_absent, connect_in, wait_until,
};

/// Requests per second from the client.
pub const RATE: u32 = 200;
/// The node whose service dies.
pub const VICTIM: &str = "node1";
/// The maintenance file every speaker's config watches, in each node's
/// `/etc/vipd`.
pub const MAINTENANCE: &str = "maintenance";
/// How long the client keeps running after a change, so late failures count.
const SETTLE: Duration = Duration::from_secs(1);
/// Bound on one run's load: far above what any run takes.
const LOAD_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Every check probes this often, rises after this many passes and falls
/// after this many failures: the same for every speaker compared.
pub const INTERVAL: Duration = Duration::from_secs(1);
pub const RISE: u32 = 1;
pub const FALL: u32 = 1;
/// vipd's `drain_time` in a planned drain.
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// vipd's config for `node` in the comparison: one session to the router,
/// the VIP gated by an http check (event-driven with `watch`, else polled)
/// and by the maintenance file (drained for [`DRAIN_TIME`]).
pub fn vipd_config(node: &str, watch: bool) -> String {
    let n = node_number(node);
    let interval = humantime::format_duration(INTERVAL);
    format!(
        r#"# Failover benchmark: {node}, http check {kind}.
[speaker]
asn = 65001
router_id = "10.255.{n}.2"
hold_time = 9
connect_retry = 1
connect_retry_max = 2

[[peer]]
name = "router"
address = "10.255.{n}.1"
remote_asn = 65000
local_address = "10.255.{n}.2"

[[vip]]
prefix = "{VIP4}"
checks = ["web", "maintenance"]
drain_time = "{drain}"

[check.web]
kind = "http"
url = "http://{vip}/"
watch = {watch}
interval = "{interval}"
timeout = "500ms"
rise = {RISE}
fall = {FALL}

[check.maintenance]
kind = "file"
path = "/etc/vipd/{MAINTENANCE}"
interval = "{interval}"
rise = {RISE}
fall = {FALL}
"#,
        kind = if watch { "watch = true" } else { "polled" },
        drain = humantime::format_duration(DRAIN_TIME),
        vip = prefix(VIP4).addr(),
    )
}

/// `node1` -> 1.
pub fn node_number(node: &str) -> u32 {
    node.trim_start_matches("node")
        .parse()
        .unwrap_or_else(|_| panic!("{node:?} is not nodeN"))
}

/// Starts vipd on every node with [`vipd_config`]; returns the handles (the
/// lab stops the processes).
pub fn start_vipds(lab: &AnycastLab, watch: bool, label: &str) -> Vec<Vipd> {
    NODES
        .iter()
        .map(|node| {
            let path = lab.node_file(node, &format!("{label}.toml"));
            std::fs::write(&path, vipd_config(node, watch))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            let mut vipd = Vipd::new(lab.ns(node).clone(), &format!("{node}-{label}"), path);
            vipd.start()
                .unwrap_or_else(|e| panic!("cannot start vipd on {node}: {e}"));
            vipd
        })
        .collect()
}

/// One failover: node1's service killed, then started again.
struct Failover {
    killed: SystemTime,
    /// The sentinel's end of its connection to the service.
    sentinel: SocketAddr,
    back: SystemTime,
    end: SystemTime,
}

/// One planned drain: the maintenance file touched, then removed.
struct Drain {
    touched: SystemTime,
    end: SystemTime,
}

/// What one failover measured. Times in milliseconds; `None` when the
/// capture did not show the event.
#[derive(Clone, Debug)]
pub struct FailoverResult {
    /// Kill signal -> the withdrawal arriving at the router.
    pub failover_ms: Option<f64>,
    /// Kill signal -> the service's FIN or RST to the sentinel on node1's
    /// `lo`: when its sockets closed.
    pub died_ms: Option<f64>,
    /// Requests sent from the kill until the service was back that failed...
    pub failed: usize,
    /// ...of which were reset in flight by an ECMP change at the router.
    pub remapped: usize,
    /// The service listening again -> the announcement arriving at the
    /// router.
    pub recovery_ms: Option<f64>,
    /// Requests that failed from then until the next episode...
    pub failed_after_recovery: usize,
    /// ...of which were reset in flight by an ECMP change at the router.
    pub remapped_after_recovery: usize,
    /// The failures after recovery not explained by the re-mapping: when
    /// each was sent (ms after the service was back) and what it got.
    pub unexplained_after_recovery: Vec<String>,
    /// The RST refusing the first probe after the kill -> the withdrawal
    /// arriving at the router.
    pub reaction_ms: Option<f64>,
}

/// What one planned drain measured.
#[derive(Clone, Debug)]
pub struct DrainResult {
    /// Requests sent from the touch until node1 was back that failed...
    pub failed: usize,
    /// ...of which were reset in flight by an ECMP change at the router.
    pub remapped: usize,
    /// The touch -> node1's withdrawal arriving at the router.
    pub withdrawn_ms: Option<f64>,
    /// The failures not explained by the re-mapping: when each was sent
    /// (ms after the touch) and what it got.
    pub unexplained: Vec<String>,
}

/// A measuring run on a lab whose speakers are up.
pub struct Run {
    load: Load,
    bgp: Capture,
    probes: Capture,
    monitor: RouteMonitor,
    /// An idle connection to node1's service; see the module doc.
    sentinel: TcpStream,
    failovers: Vec<Failover>,
    drains: Vec<Drain>,
    // Last: the client and the captures stop before the lab goes.
    lab: AnycastLab,
}

impl Run {
    /// Waits until the router forwards the VIP to all three nodes, starts
    /// the captures and the client.
    pub fn start(lab: AnycastLab) -> Result<Run, String> {
        lab.wait_forwarding(VIP4, &NODES, UP_DEADLINE)?;
        let router = lab.ns(ROUTER);
        let monitor = RouteMonitor::start(router, "bench-router")?;
        let bgp = Capture::start(router, lab.interface_to(VICTIM), "bench-router-bgp")?;
        let probes = Capture::start_matching(
            lab.ns(VICTIM),
            "lo",
            "bench-node1-lo",
            &["tcp", "port", "80"],
        )?;
        let sentinel = connect_in(lab.ns(VICTIM), service_address(VIP4))?;
        let load = Load::start(lab.ns(CLIENT), service_address(VIP4), RATE, LOAD_LIMIT);
        thread::sleep(SETTLE);
        Ok(Run {
            load,
            bgp,
            probes,
            monitor,
            sentinel,
            failovers: Vec::new(),
            drains: Vec::new(),
            lab,
        })
    }

    /// Kills node1's service, waits until the router forwards to node2 and
    /// node3 only, restarts the service `pause` after that, and waits until
    /// node1 is back. (A random `pause` keeps the restart from falling at the
    /// same point of a polled check's cycle every time.)
    pub fn failover(&mut self, pause: Duration) -> Result<(), String> {
        let sentinel = self
            .sentinel
            .local_addr()
            .map_err(|e| format!("sentinel: {e}"))?;
        let killed = self.lab.service(VICTIM).kill()?;
        self.lab
            .wait_forwarding(VIP4, &["node2", "node3"], CHANGE_DEADLINE)?;
        thread::sleep(SETTLE + pause);
        let back = self.lab.service(VICTIM).start()?;
        self.sentinel = connect_in(self.lab.ns(VICTIM), service_address(VIP4))?;
        self.lab.wait_forwarding(VIP4, &NODES, CHANGE_DEADLINE)?;
        thread::sleep(SETTLE);
        self.failovers.push(Failover {
            killed,
            sentinel,
            back,
            end: SystemTime::now(),
        });
        Ok(())
    }

    /// Touches node1's maintenance file, waits until the router has moved
    /// traffic off node1 and node1's path is gone, removes the file and
    /// waits until node1 is back.
    pub fn drain(&mut self) -> Result<(), String> {
        let touched = self.lab.touch(VICTIM, MAINTENANCE);
        self.lab
            .wait_forwarding(VIP4, &["node2", "node3"], CHANGE_DEADLINE)?;
        let node1 = session_address(VICTIM);
        wait_until(CHANGE_DEADLINE, || {
            check_absent(&self.lab.router().routes()?, prefix(VIP4), node1)
        })?;
        thread::sleep(SETTLE / 2);
        self.lab.remove(VICTIM, MAINTENANCE);
        self.lab.wait_forwarding(VIP4, &NODES, CHANGE_DEADLINE)?;
        thread::sleep(SETTLE);
        self.drains.push(Drain {
            touched,
            end: SystemTime::now(),
        });
        Ok(())
    }

    /// Stops the client and the captures and works out every episode.
    pub fn finish(self) -> Result<(Vec<FailoverResult>, Vec<DrainResult>), String> {
        let Run {
            lab,
            load,
            bgp,
            probes,
            monitor,
            sentinel,
            failovers,
            drains,
        } = self;
        drop(sentinel);
        let requests = load.stop()?;
        let bgp: PathBuf = bgp.stop();
        let probes: PathBuf = probes.stop();
        let vip = prefix(VIP4);
        let node1 = session_address(VICTIM);
        let updates: Vec<Update> = pcap::updates(&bgp)?
            .into_iter()
            .filter(|u| u.from == node1)
            .collect();
        let segments = pcap::segments(&probes)?;
        let changes: Vec<SystemTime> = monitor
            .changes()
            .into_iter()
            .filter(|c| c.prefix == vip)
            .map(|c| c.at)
            .collect();
        drop(lab);

        let failures = |from: SystemTime, to: SystemTime| {
            let window: Vec<&Request> = requests
                .iter()
                .filter(|r| r.at >= from && r.at < to && r.failed())
                .collect();
            let remapped = window
                .iter()
                .filter(|r| reset_by_ecmp_change(r, &changes))
                .count();
            (window.len(), remapped)
        };
        let unexplained = |from: SystemTime, to: SystemTime| {
            requests
                .iter()
                .filter(|r| r.at >= from && r.at < to && r.failed())
                .filter(|r| !reset_by_ecmp_change(r, &changes))
                .map(|r| {
                    let what = match &r.outcome {
                        Outcome::Failed(what) => what.as_str(),
                        Outcome::Served(_) => "",
                    };
                    format!("+{:.1} ms: {what}", ms_between(from, r.at))
                })
                .collect::<Vec<_>>()
        };
        let failover_results = failovers
            .iter()
            .map(|f| {
                let withdrawal = first_withdrawal(&updates, vip, f.killed);
                let (failed, remapped) = failures(f.killed, f.back);
                FailoverResult {
                    failover_ms: withdrawal.map(|w| ms_between(f.killed, w)),
                    died_ms: segments
                        .iter()
                        .find(|s| {
                            s.at >= f.killed && s.dst == f.sentinel && s.flags & (FIN | RST) != 0
                        })
                        .map(|s| ms_between(f.killed, s.at)),
                    failed,
                    remapped,
                    recovery_ms: updates
                        .iter()
                        .find(|u| u.at >= f.back && u.announced.contains(&vip))
                        .map(|u| ms_between(f.back, u.at)),
                    failed_after_recovery: failures(f.back, f.end).0,
                    remapped_after_recovery: failures(f.back, f.end).1,
                    unexplained_after_recovery: unexplained(f.back, f.end),
                    reaction_ms: withdrawal.and_then(|w| {
                        refused_probe(&segments, f.killed, w).map(|rst| ms_between(rst, w))
                    }),
                }
            })
            .collect();
        let drain_results = drains
            .iter()
            .map(|d| {
                let (failed, remapped) = failures(d.touched, d.end);
                DrainResult {
                    failed,
                    remapped,
                    withdrawn_ms: first_withdrawal(&updates, vip, d.touched)
                        .map(|w| ms_between(d.touched, w)),
                    unexplained: unexplained(d.touched, d.end),
                }
            })
            .collect();
        Ok((failover_results, drain_results))
    }
}

fn first_withdrawal(updates: &[Update], vip: IpNet, since: SystemTime) -> Option<SystemTime> {
    updates
        .iter()
        .find(|u| u.at >= since && u.withdrawn.contains(&vip))
        .map(|u| u.at)
}

/// The RST that refused the first probe after `since` (a SYN to port 80
/// answered by RST, both on node1's `lo`), if it came before `until`.
fn refused_probe(segments: &[Segment], since: SystemTime, until: SystemTime) -> Option<SystemTime> {
    segments
        .iter()
        .filter(|s| s.at >= since && s.at <= until)
        .find(|rst| {
            rst.has(RST)
                && rst.src.port() == 80
                && segments.iter().any(|syn| {
                    syn.has(SYN) && syn.src == rst.dst && (since..=rst.at).contains(&syn.at)
                })
        })
        .map(|s| s.at)
}
