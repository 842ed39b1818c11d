//! Graceful restart (RFC 4724) with vipd as the restarting speaker and BIRD
//! or FRR as the helper: a client's requests through the router never fail
//! while vipd is killed (SIGKILL) or stopped for a restart (SIGUSR2) and
//! started again.
//!
//! ```text
//!   client -- router (AS 65000) -- node1 (AS 65001): vipd + HTTP service
//!   10.255.0.2                     10.255.1.2, VIPs 198.18.0.10 and .11 on lo
//! ```
//!
//! One node, no ECMP: a route the router drops is a request that fails.
//!
//! 1. Deploy `containerlab/graceful-restart[-frr].clab.yml`, start the HTTP
//!    service and vipd; both VIPs reach the router; a client starts sending
//!    200 requests per second to 198.18.0.10:80 through the router.
//! 2. SIGKILL vipd. The router keeps both routes, marked stale on its CLI,
//!    and in its kernel table. Meanwhile `/etc/vipd/retire` is created, so
//!    the restarted vipd will not announce 198.18.0.11 any more.
//! 3. Start vipd again: the session comes back, vipd announces 198.18.0.10
//!    (no longer stale), sends End-of-RIB (in the capture), and the router
//!    drops the stale 198.18.0.11 at once, long before the 60 s restart
//!    time could have.
//! 4. Remove `/etc/vipd/retire`: 198.18.0.11 is back.
//! 5. SIGUSR2 (stop for a restart): vipd exits 0 without a NOTIFICATION or
//!    a withdrawal (checked in the capture); the router keeps both routes as
//!    stale; vipd starts again and refreshes them.
//! 6. Not one request failed.
//!
//! The figures (how long the routes stayed stale, how long until the
//! End-of-RIB flushed the retired VIP) are printed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use ipnet::IpNet;

use crate::anycast::http_service_script;
use crate::clab::Deployment;
use crate::harness::pcap::{self, Segment};
use crate::harness::{
    Capture, HttpService, Load, RouterKind, describe_failures, served_by, wait_until,
};
use crate::ip;

const NODE: &str = "node1";
const ROUTER: &str = "router";
const CLIENT: &str = "client";
/// The served VIP, and the one the restarted vipd no longer announces.
const VIP: &str = "198.18.0.10/32";
const RETIRED: &str = "198.18.0.11/32";
/// vipd's session address, as the router knows it.
const NODE_ADDR: &str = "10.255.1.2";
/// The router's interface toward node1.
const ROUTER_TO_NODE: &str = "eth2";
const PIDFILE: &str = "/etc/vipd/http-service.pid";
/// The node config's graceful_restart_time.
const RESTART_TIME: Duration = Duration::from_secs(60);
/// Requests per second through the router.
const RATE: u32 = 200;
/// How long vipd stays down: several seconds, far more than a request takes.
const GAP: Duration = Duration::from_secs(3);
/// Sessions and routes after a start (connect retry 1-2 s, checks rising
/// in under a second; generous for a loaded machine).
const UP_DEADLINE: Duration = Duration::from_secs(40);

#[test]
fn bird_keeps_vipd_routes_across_a_kill_and_a_restart_without_a_failed_request() {
    keeps_routes_across_restarts(RouterKind::Bird);
}

#[test]
fn frr_keeps_vipd_routes_across_a_kill_and_a_restart_without_a_failed_request() {
    keeps_routes_across_restarts(RouterKind::Frr);
}

fn net(text: &str) -> IpNet {
    text.parse()
        .unwrap_or_else(|e| panic!("bad prefix {text:?} in test: {e}"))
}

struct GrLab {
    kind: RouterKind,
    // Before `deployment`: the service goes first, then the lab.
    _service: HttpService,
    etc: PathBuf,
    deployment: Deployment,
}

impl GrLab {
    fn deploy(kind: RouterKind) -> GrLab {
        let name = match kind {
            RouterKind::Bird => "graceful-restart",
            RouterKind::Frr => "graceful-restart-frr",
            RouterKind::Gobgp => panic!("the graceful-restart lab has no GoBGP variant"),
        };
        let mut deployment = Deployment::create(name);
        println!(
            "{name}: logs in {}",
            deployment.ns(ROUTER).lab().dir().display()
        );
        deployment.start_routers();
        let ns = deployment.ns(NODE).clone();
        let etc = ns.etc_dir("vipd").unwrap_or_else(|e| panic!("{e}"));
        let vip = net(VIP).addr().to_string();
        let mut service =
            HttpService::new(ns, NODE, &http_service_script(), &[vip.as_str()], PIDFILE);
        service.start().unwrap_or_else(|e| panic!("{kind}: {e}"));
        deployment.start_vipds();
        GrLab {
            kind,
            _service: service,
            etc,
            deployment,
        }
    }

    /// Whether the router has a path to `prefix`, and whether it is stale.
    fn path(&self, prefix: &str) -> Result<Option<(bool, String)>, String> {
        self.deployment.router(ROUTER).bgp_path_stale(net(prefix))
    }

    /// Waits until the router shows a fresh (not stale) path to `prefix`
    /// and forwards it in its kernel.
    fn wait_fresh(&self, prefix: &str) -> Result<(), String> {
        wait_until(UP_DEADLINE, || {
            match self.path(prefix)? {
                Some((false, _)) => {}
                Some((true, line)) => return Err(format!("{prefix} is still stale: {line}")),
                None => return Err(format!("the router has no path to {prefix}")),
            }
            self.forwarded(prefix)
        })
    }

    /// The router's kernel has a route to `prefix` toward node1.
    fn forwarded(&self, prefix: &str) -> Result<(), String> {
        let hops = self.deployment.ns(ROUTER).kernel_next_hops(net(prefix))?;
        if hops.iter().any(|h| h.interface == ROUTER_TO_NODE) {
            Ok(())
        } else {
            Err(format!(
                "the router's kernel forwards {prefix} via {hops:?}"
            ))
        }
    }

    /// Polls until the router shows `prefix` stale; how long after `since`.
    fn time_until_stale(&self, prefix: &str, since: Instant) -> Result<Duration, String> {
        let mut took = None;
        wait_until(UP_DEADLINE, || match self.path(prefix)? {
            Some((true, _)) => {
                took = Some(since.elapsed());
                Ok(())
            }
            other => Err(format!("{prefix} is not stale: {other:?}")),
        })?;
        took.ok_or_else(|| "unreachable".to_string())
    }

    /// While vipd is down: both routes stay, stale, and forwarded.
    fn check_kept(&self, what: &str) {
        for prefix in [VIP, RETIRED] {
            match self.path(prefix) {
                Ok(Some((true, line))) => {
                    println!("{}: {what}: {prefix} kept, stale: {line}", self.kind)
                }
                other => panic!(
                    "{}: {what}: {prefix} should be kept as stale: {other:?}",
                    self.kind
                ),
            }
            self.forwarded(prefix)
                .unwrap_or_else(|e| panic!("{}: {what}: {e}", self.kind));
        }
    }

    fn retire(&self, on: bool) {
        let path = self.etc.join("retire");
        if on {
            std::fs::write(&path, b"")
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        } else {
            std::fs::remove_file(&path)
                .unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
        }
    }

    fn established(&self) -> Result<(), String> {
        let router = self.deployment.router(ROUTER);
        if router.session_established(ip(NODE_ADDR))? {
            Ok(())
        } else {
            Err(format!(
                "no session: {}",
                router.describe_session(ip(NODE_ADDR))?
            ))
        }
    }
}

fn keeps_routes_across_restarts(kind: RouterKind) {
    let mut lab = GrLab::deploy(kind);
    let router_ns = lab.deployment.ns(ROUTER).clone();
    let capture = Capture::start(&router_ns, ROUTER_TO_NODE, "gr-bgp")
        .unwrap_or_else(|e| panic!("{kind}: {e}"));

    // 1. Up, and the client's stream.
    for prefix in [VIP, RETIRED] {
        lab.wait_fresh(prefix)
            .unwrap_or_else(|e| panic!("{kind} after start: {e}"));
    }
    let origin = SystemTime::now();
    let target = SocketAddr::new(net(VIP).addr(), 80);
    let load = Load::start(
        lab.deployment.ns(CLIENT),
        target,
        RATE,
        Duration::from_secs(300),
    );
    thread::sleep(Duration::from_secs(1));

    // 2. kill -9: no withdrawal, no NOTIFICATION; the router keeps the routes.
    let killed = Instant::now();
    lab.deployment.vipd_mut(NODE).kill();
    let stale_after = lab
        .time_until_stale(VIP, killed)
        .unwrap_or_else(|e| panic!("{kind} after SIGKILL: {e}"));
    eprintln!(
        "GR {kind} sigkill: route marked stale {} ms after the kill",
        stale_after.as_millis()
    );
    lab.retire(true);
    let down_until = killed + GAP;
    while Instant::now() < down_until {
        lab.check_kept("vipd killed");
        thread::sleep(Duration::from_millis(500));
    }

    // 3. Back: the session, a fresh route, End-of-RIB, the retired VIP gone.
    let log_mark = lab.deployment.vipd(NODE).log_len();
    let restarted = Instant::now();
    let restarted_at = SystemTime::now();
    lab.deployment
        .vipd_mut(NODE)
        .start()
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    wait_until(UP_DEADLINE, || lab.established())
        .unwrap_or_else(|e| panic!("{kind} after the restart: {e}"));
    let established_after = restarted.elapsed();
    lab.wait_fresh(VIP)
        .unwrap_or_else(|e| panic!("{kind} after the restart: {e}"));
    let fresh_after = restarted.elapsed();
    wait_until(UP_DEADLINE, || match lab.path(RETIRED)? {
        None => Ok(()),
        Some((stale, line)) => Err(format!("{RETIRED} still there (stale: {stale}): {line}")),
    })
    .unwrap_or_else(|e| panic!("{kind}: the End-of-RIB should flush {RETIRED}: {e}"));
    let flushed_after = restarted.elapsed();
    assert!(
        flushed_after < RESTART_TIME / 2,
        "{kind}: {RETIRED} went after {flushed_after:?}: that is the restart timer, not the End-of-RIB"
    );
    lab.forwarded(VIP)
        .unwrap_or_else(|e| panic!("{kind} after the restart: {e}"));
    let gone = router_ns.kernel_next_hops(net(RETIRED));
    assert!(
        gone.as_ref().is_ok_and(Vec::is_empty),
        "{kind}: the router's kernel still has {RETIRED}: {gone:?}"
    );
    let vipd_log = lab.deployment.vipd(NODE).log();
    let since_restart = vipd_log.get(log_mark..).unwrap_or_default();
    assert!(
        since_restart.contains("End-of-RIB sent"),
        "{kind}: the restarted vipd did not log its End-of-RIB"
    );
    eprintln!(
        "GR {kind} sigkill: vipd down {} ms; after its start: session up in {} ms, \
         route fresh in {} ms, retired VIP flushed by End-of-RIB in {} ms",
        restarted.duration_since(killed).as_millis(),
        established_after.as_millis(),
        fresh_after.as_millis(),
        flushed_after.as_millis()
    );

    // 4. The retired VIP comes back.
    lab.retire(false);
    lab.wait_fresh(RETIRED)
        .unwrap_or_else(|e| panic!("{kind} after un-retiring: {e}"));

    // 5. SIGUSR2: stop for a restart.
    let stopping_at = SystemTime::now();
    let stopping = Instant::now();
    let (status, took) = lab
        .deployment
        .vipd_mut(NODE)
        .stop_for_restart()
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert!(
        status.success(),
        "{kind}: vipd should exit 0 on SIGUSR2, got {status}"
    );
    let stale_after = lab
        .time_until_stale(VIP, stopping)
        .unwrap_or_else(|e| panic!("{kind} after SIGUSR2: {e}"));
    let down_until = stopping + GAP;
    while Instant::now() < down_until {
        lab.check_kept("vipd stopped for a restart");
        thread::sleep(Duration::from_millis(500));
    }
    let log_mark = lab.deployment.vipd(NODE).log_len();
    let restarted = Instant::now();
    lab.deployment
        .vipd_mut(NODE)
        .start()
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    for prefix in [VIP, RETIRED] {
        lab.wait_fresh(prefix)
            .unwrap_or_else(|e| panic!("{kind} after the SIGUSR2 restart: {e}"));
    }
    let fresh_after = restarted.elapsed();
    wait_until(UP_DEADLINE, || {
        let log = lab.deployment.vipd(NODE).log();
        if log
            .get(log_mark..)
            .unwrap_or_default()
            .contains("End-of-RIB sent")
        {
            Ok(())
        } else {
            Err("the restarted vipd has not sent End-of-RIB".to_string())
        }
    })
    .unwrap_or_else(|e| panic!("{kind}: {e}"));
    eprintln!(
        "GR {kind} sigusr2: vipd exited 0 in {} ms, route stale {} ms after the signal, \
         down {} ms, both routes fresh {} ms after its start",
        took.as_millis(),
        stale_after.as_millis(),
        restarted.duration_since(stopping).as_millis(),
        fresh_after.as_millis()
    );
    let log = lab.deployment.vipd(NODE).log();
    assert!(
        log.contains("closing the session without a NOTIFICATION"),
        "{kind}: vipd did not log its restart close"
    );
    // The router's own word that vipd's End-of-RIB ended each restart.
    let router_log = lab.deployment.router(ROUTER).log();
    let (said, times) = match kind {
        RouterKind::Bird => ("node1: Neighbor graceful restart done", 2),
        // bgpd logs the first session's End-of-RIB too.
        _ => ("rcvd End-of-RIB for IPv4 Unicast from 10.255.1.2", 3),
    };
    let seen = wait_until(UP_DEADLINE, || {
        let n = lab.deployment.router(ROUTER).log().matches(said).count();
        if n >= times {
            Ok(())
        } else {
            Err(format!("{kind} logged {said:?} {n} times, want {times}"))
        }
    });
    seen.unwrap_or_else(|e| panic!("{kind}: {e}\n{router_log}"));

    // 6. Not one request failed.
    thread::sleep(Duration::from_millis(500));
    let requests = load.stop().unwrap_or_else(|e| panic!("{kind}: {e}"));
    let failed: Vec<_> = requests.iter().filter(|r| r.failed()).cloned().collect();
    eprintln!(
        "GR {kind}: {} requests through two vipd restarts, {} failed, served by {:?}",
        requests.len(),
        failed.len(),
        served_by(&requests)
    );
    assert!(
        requests.len() > RATE as usize * 5,
        "{kind}: the client sent only {} requests",
        requests.len()
    );
    assert!(
        failed.is_empty(),
        "{kind}: requests failed across the restarts:\n{}",
        describe_failures(&failed, origin)
    );

    // The wire: End-of-RIB after each restart, and after SIGUSR2 no
    // NOTIFICATION and no withdrawal from vipd, only its FIN.
    let file = capture.stop();
    let node = ip(NODE_ADDR);
    let updates = pcap::updates(&file).unwrap_or_else(|e| panic!("{kind}: {e}"));
    let eors = updates
        .iter()
        .filter(|u| u.from == node && u.at >= restarted_at)
        .filter(|u| u.withdrawn.is_empty() && u.announced.is_empty())
        .count();
    assert!(
        eors >= 2,
        "{kind}: expected an End-of-RIB after each restart in the capture, found {eors}"
    );
    let withdrawals: Vec<_> = updates
        .iter()
        .filter(|u| u.from == node && u.at >= stopping_at && !u.withdrawn.is_empty())
        .collect();
    assert!(
        withdrawals.is_empty(),
        "{kind}: vipd withdrew on SIGUSR2: {withdrawals:?}"
    );
    let segments = pcap::segments(&file).unwrap_or_else(|e| panic!("{kind}: {e}"));
    let from_node: Vec<&Segment> = segments
        .iter()
        .filter(|s| s.src.ip() == node && s.at >= stopping_at)
        .collect();
    assert!(
        !from_node.iter().any(|s| carries_notification(s)),
        "{kind}: vipd sent a NOTIFICATION on SIGUSR2"
    );
    assert!(
        from_node
            .iter()
            .any(|s| s.has(pcap::FIN) || s.has(pcap::RST)),
        "{kind}: vipd's connection did not close on SIGUSR2"
    );
}

/// Whether a segment's payload holds a BGP NOTIFICATION header (marker,
/// length, type 3). Good enough for a capture where vipd sends nothing but
/// KEEPALIVEs and small UPDATEs after its table.
fn carries_notification(segment: &Segment) -> bool {
    let p = &segment.payload;
    (0..p.len().saturating_sub(18))
        .any(|i| p[i..i + 16].iter().all(|b| *b == 0xff) && p[i + 18] == 3)
}
