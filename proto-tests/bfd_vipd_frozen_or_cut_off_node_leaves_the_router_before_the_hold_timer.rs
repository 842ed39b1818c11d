//! vipd's own BFD (`bfd = true`, 50 ms x 3) against BIRD's BFD and FRR's
//! bfdd: a frozen vipd, or one whose link goes down, loses its routes at the
//! router in well under a second instead of at the 6 s hold timer; vipd
//! notices a frozen router as fast and closes the session with Cease/BFD
//! Down (RFC 9384); without BFD the router waits for its hold timer.
//!
//! ```text
//!   vipd (AS 65001)                    router (AS 65000)
//!   eth1 10.255.3x.2   ------------    eth1 10.255.3x.1     BGP + BFD over
//!        fd00:255:3x::2                     fd00:255:3x::1   IPv4 and IPv6
//! ```
//!
//! 1. Deploy `containerlab/bfd-vipd-<router>.clab.yml` (vipd with
//!    `configs/bfd-<router>/vipd/vipd.toml`): both BFD sessions Up at the
//!    router, both BGP sessions Established, both VIPs in its table.
//! 2. Freeze vipd (SIGSTOP): the router removes both VIPs; the time from the
//!    signal to removal is measured by polling its CLI. Thaw it: back.
//! 3. Cut vipd's link (`ip link set eth1 down` in its namespace): removed
//!    again, timed the same way. Mend it: back. Then cut the path silently
//!    both ways (packets to a MAC nobody has; carrier and routes stay, so
//!    only BFD can tell): removed again, and vipd logs BFD Down for both
//!    routers as fast. Mend it: back.
//! 4. Freeze the router (SIGSTOP to BIRD, or to FRR's bgpd and bfdd): vipd
//!    logs BFD Down and closes both sessions; the capture shows its
//!    NOTIFICATION Cease/BFD Down (6/10). Thaw the router.
//! 5. vipd's SIGTERM takes its BFD sessions AdminDown (the router shows it).
//!    Without BFD (`configs/bfd-<router>/vipd-nobfd/vipd.toml`): the same
//!    freeze removes the routes only when the router's hold timer (6 s)
//!    expires.
//! 6. BFD and Graceful Restart (`vipd-gr/vipd.toml`; BIRD reconfigured with
//!    `bfd graceful`, since `bfd on` resets the session on AdminDown): a stop
//!    for a restart (SIGUSR2) loses no route at the router.
//! 7. That node frozen: printed whether and when the router removes its
//!    routes (FRR: at once; BIRD with `bfd graceful`: kept as stale).
//!
//! Times are printed; only bounds that prove the mechanism are asserted
//! (BFD: under half the hold time; without BFD: not before most of it).

use std::net::IpAddr;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use ipnet::IpNet;

use crate::clab::Deployment;
use crate::harness::pcap::{self, Segment};
use crate::harness::{Capture, Netns, Router, RouterKind, Vipd, wait_until};
use crate::ip;

const VIPS: [&str; 2] = ["198.18.0.10/32", "fd00:198:18::10/128"];
/// vipd's and the router's hold time.
const HOLD: Duration = Duration::from_secs(6);
/// BFD detects in 150 ms; anything under this is far below the hold timer
/// and leaves room for a loaded machine and CLI round trips.
const BFD_BOUND: Duration = Duration::from_secs(3);
/// The hold timer runs from the last KEEPALIVE (every 2 s): without BFD the
/// routes cannot go before this.
const HOLD_FLOOR: Duration = Duration::from_secs(3);
/// Sessions, BFD and routes after a start or a repair.
const UP_DEADLINE: Duration = Duration::from_secs(40);
/// How long to look for a removal.
const GONE_DEADLINE: Duration = Duration::from_secs(30);

struct Topology {
    name: &'static str,
    config_dir: &'static str,
    vipd: [&'static str; 2],
    router: [&'static str; 2],
}

fn topology(kind: RouterKind) -> Topology {
    match kind {
        RouterKind::Bird => Topology {
            name: "bfd-vipd-bird",
            config_dir: "configs/bfd-bird",
            vipd: ["10.255.30.2", "fd00:255:30::2"],
            router: ["10.255.30.1", "fd00:255:30::1"],
        },
        RouterKind::Frr => Topology {
            name: "bfd-vipd-frr",
            config_dir: "configs/bfd-frr",
            vipd: ["10.255.31.2", "fd00:255:31::2"],
            router: ["10.255.31.1", "fd00:255:31::1"],
        },
        RouterKind::Gobgp => panic!("GoBGP has no BFD"),
    }
}

#[test]
fn bird_drops_a_frozen_or_cut_off_vipd_with_bfd_before_the_hold_timer() {
    frozen_or_cut_off(RouterKind::Bird);
}

#[test]
fn frr_drops_a_frozen_or_cut_off_vipd_with_bfd_before_the_hold_timer() {
    frozen_or_cut_off(RouterKind::Frr);
}

fn net(text: &str) -> IpNet {
    text.parse()
        .unwrap_or_else(|e| panic!("bad prefix {text:?} in test: {e}"))
}

/// Sends SIGCONT to every pid it holds when dropped, so a failing test
/// never leaves a frozen process behind.
struct Frozen<'a> {
    ns: &'a Netns,
    pids: Vec<u32>,
}

impl<'a> Frozen<'a> {
    fn freeze(ns: &'a Netns, pids: Vec<u32>) -> Frozen<'a> {
        assert!(!pids.is_empty(), "nothing to freeze");
        for pid in &pids {
            assert!(ns.lab().signal(*pid, libc::SIGSTOP), "cannot SIGSTOP {pid}");
        }
        Frozen { ns, pids }
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        for pid in &self.pids {
            self.ns.lab().signal(*pid, libc::SIGCONT);
        }
    }
}

fn frozen_or_cut_off(kind: RouterKind) {
    let t = topology(kind);
    let vipd_addrs = t.vipd.map(ip);
    let router_addrs = t.router.map(ip);
    let mut lab = Deployment::up(t.name);
    let vipd_ns = lab.ns("vipd").clone();
    let router_ns = lab.ns("router").clone();

    // 1. Up.
    let started = Instant::now();
    wait_up(lab.router("router"), &vipd_addrs, true).unwrap_or_else(|e| panic!("{kind}: {e}"));
    println!(
        "{kind}: BFD Up, sessions Established, VIPs in the table {:.2}s after the start",
        started.elapsed().as_secs_f64()
    );
    for addr in &vipd_addrs {
        let shown = lab.router("router").bfd_session(*addr).ok().flatten();
        println!(
            "{kind}:   router's BFD session with {addr}: {:?}",
            shown.map(|s| s.detail)
        );
    }

    // 2. vipd frozen.
    let pid = vipd_pid(lab.vipd("vipd"));
    let frozen = Instant::now();
    let guard = Frozen::freeze(&vipd_ns, vec![pid]);
    let took =
        time_until_gone(lab.router("router"), frozen).unwrap_or_else(|e| panic!("{kind}: {e}"));
    for (vip, took) in &took {
        eprintln!(
            "BFD {kind} sigstop: route {vip} removed after {} ms",
            took.as_millis()
        );
        assert!(
            *took < BFD_BOUND,
            "{kind}: a frozen vipd's {vip} left after {took:?} (bound {BFD_BOUND:?}, hold {HOLD:?})"
        );
    }
    drop(guard);
    wait_up(lab.router("router"), &vipd_addrs, true)
        .unwrap_or_else(|e| panic!("{kind} after thawing vipd: {e}"));

    // 3. vipd's link down.
    let cut = Instant::now();
    vipd_ns
        .ip(&["link", "set", "eth1", "down"])
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    let took = time_until_gone(lab.router("router"), cut);
    vipd_ns
        .ip(&["link", "set", "eth1", "up"])
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    // Linux drops IPv6 addresses with the link; put them back as the
    // topology's exec lines did.
    for addr in [t.vipd[0], t.vipd[1]] {
        let (len, extra): (&str, &[&str]) = if addr.contains(':') {
            ("64", &["nodad"])
        } else {
            ("24", &[])
        };
        let prefix = format!("{addr}/{len}");
        let mut args = vec!["addr", "replace", prefix.as_str(), "dev", "eth1"];
        args.extend_from_slice(extra);
        vipd_ns.ip(&args).unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    for (vip, took) in &took.unwrap_or_else(|e| panic!("{kind}: {e}")) {
        eprintln!(
            "BFD {kind} link down: route {vip} removed after {} ms",
            took.as_millis()
        );
        assert!(
            *took < BFD_BOUND,
            "{kind}: a cut-off vipd's {vip} left after {took:?} (bound {BFD_BOUND:?})"
        );
    }
    wait_up(lab.router("router"), &vipd_addrs, true)
        .unwrap_or_else(|e| panic!("{kind} after mending the link: {e}"));

    // 3b. A silent cut, both ways: carrier and routes stay, packets go to a
    // MAC nobody has, so only BFD (or the hold timer) can tell.
    let mark = lab.vipd("vipd").log_len();
    let cut_at = SystemTime::now();
    let cut = Instant::now();
    for (vipd_addr, router_addr) in vipd_addrs.iter().zip(&router_addrs) {
        router_ns
            .misdirect(*vipd_addr)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        vipd_ns
            .misdirect(*router_addr)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    let took = time_until_gone(lab.router("router"), cut);
    for (vipd_addr, router_addr) in vipd_addrs.iter().zip(&router_addrs) {
        router_ns
            .restore_neighbor(*vipd_addr)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        vipd_ns
            .restore_neighbor(*router_addr)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    for (vip, took) in &took.unwrap_or_else(|e| panic!("{kind}: {e}")) {
        eprintln!(
            "BFD {kind} silent cut: route {vip} removed after {} ms",
            took.as_millis()
        );
        assert!(
            *took < BFD_BOUND,
            "{kind}: a silently cut-off vipd's {vip} left after {took:?} (bound {BFD_BOUND:?})"
        );
    }
    // vipd noticed the cut as fast, on its side.
    for peer in router_addrs {
        let lines = lab
            .vipd("vipd")
            .peer_lines(mark, "BFD down: closing the BGP session", peer);
        let line = lines
            .first()
            .unwrap_or_else(|| panic!("{kind}: vipd logged no BFD Down for {peer} after the cut"));
        let took = log_time(line)
            .and_then(|at| at.duration_since(cut_at).ok())
            .unwrap_or_else(|| panic!("{kind}: no usable timestamp in {line:?}"));
        eprintln!(
            "BFD {kind} silent cut: vipd closed its session with {peer} {} ms after the cut, \
             by its log",
            took.as_millis()
        );
        assert!(
            took < BFD_BOUND,
            "{kind}: vipd took {took:?} to notice the cut toward {peer}"
        );
    }
    wait_up(lab.router("router"), &vipd_addrs, true)
        .unwrap_or_else(|e| panic!("{kind} after mending the silent cut: {e}"));

    // 4. The router frozen: vipd notices through BFD.
    let capture =
        Capture::start(&vipd_ns, "eth1", "bfd-bgp").unwrap_or_else(|e| panic!("{kind}: {e}"));
    let mark = lab.vipd("vipd").log_len();
    let frozen_at = SystemTime::now();
    let guard = Frozen::freeze(&router_ns, lab.router("router").daemon_pids());
    let mut noticed = Vec::new();
    wait_until(Duration::from_secs(20), || {
        for peer in router_addrs {
            if noticed.iter().any(|(p, _)| *p == peer) {
                continue;
            }
            let closed = lab.vipd("vipd").peer_lines(mark, "session closed", peer);
            if let Some(line) = closed.iter().find(|l| l.contains("BFD down")) {
                noticed.push((peer, line.clone()));
            }
        }
        if noticed.len() == router_addrs.len() {
            Ok(())
        } else {
            Err(format!("vipd has closed only {noticed:?} for BFD Down"))
        }
    })
    .unwrap_or_else(|e| panic!("{kind} with the router frozen: {e}"));
    // The NOTIFICATIONs are on the wire before vipd logs the close.
    let file = capture.stop();
    drop(guard);
    for (peer, closed) in &noticed {
        let logged = log_time(closed)
            .unwrap_or_else(|| panic!("{kind}: no timestamp in vipd's line {closed:?}"));
        let took = logged.duration_since(frozen_at).unwrap_or_default();
        let bfd_down = lab.vipd("vipd").peer_lines(mark, "BFD down", *peer);
        eprintln!(
            "BFD {kind} router frozen: vipd closed its session with {peer} (Cease/BFD Down) \
             {} ms after the freeze, by its log: {}",
            took.as_millis(),
            bfd_down
                .first()
                .map(String::as_str)
                .unwrap_or("(no BFD down line)")
        );
        assert!(
            took < BFD_BOUND,
            "{kind}: vipd took {took:?} to notice the frozen router {peer}"
        );
    }
    let sent = bfd_down_notifications(&file, &vipd_addrs, frozen_at);
    for addr in &vipd_addrs {
        let at = sent
            .iter()
            .find(|(from, _)| from == addr)
            .map(|(_, at)| at.duration_since(frozen_at).unwrap_or_default());
        let Some(at) = at else {
            panic!("{kind}: no NOTIFICATION Cease/BFD Down (6/10) from {addr} in the capture")
        };
        eprintln!(
            "BFD {kind} router frozen: NOTIFICATION Cease/BFD Down from {addr} on the wire {} ms \
             after the freeze",
            at.as_millis()
        );
    }
    wait_up(lab.router("router"), &vipd_addrs, true)
        .unwrap_or_else(|e| panic!("{kind} after thawing the router: {e}"));

    // 5. Without BFD: the hold timer. vipd's SIGTERM first takes its BFD
    // sessions AdminDown (RFC 5880 6.8.16), so the router knows they are
    // down on purpose and does not time them out later (which would take
    // the next session down).
    lab.vipd_mut("vipd")
        .terminate()
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    wait_until(UP_DEADLINE, || {
        for addr in &vipd_addrs {
            match lab.router("router").bfd_session(*addr)? {
                Some(s) if s.state == "Up" => {
                    return Err(format!("BFD with {addr} still Up: {}", s.detail));
                }
                _ => {}
            }
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{kind} after vipd's SIGTERM: {e}"));
    for addr in &vipd_addrs {
        let shown = lab.router("router").bfd_session(*addr).ok().flatten();
        println!("{kind}: after vipd's SIGTERM, BFD with {addr}: {shown:?}");
        if kind == RouterKind::Frr {
            let detail = shown.map(|s| s.detail).unwrap_or_default();
            assert!(
                detail.contains("administratively down"),
                "{kind}: the router should have heard vipd's AdminDown: {detail}"
            );
        }
    }
    let config = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(t.config_dir)
        .join("vipd-nobfd/vipd.toml");
    let mut plain = Vipd::new(vipd_ns.clone(), "vipd-nobfd", config);
    plain.start().unwrap_or_else(|e| panic!("{kind}: {e}"));
    wait_up(lab.router("router"), &vipd_addrs, false)
        .unwrap_or_else(|e| panic!("{kind} without BFD: {e}"));
    let frozen = Instant::now();
    let guard = Frozen::freeze(&vipd_ns, vec![vipd_pid(&plain)]);
    let took = time_until_gone(lab.router("router"), frozen);
    drop(guard);
    let _ = plain.terminate();
    let took = took.unwrap_or_else(|e| panic!("{kind} without BFD: {e}"));

    // 6. BFD with Graceful Restart: a stop for a restart (SIGUSR2) says
    // AdminDown, which is no failure (RFC 5882 3.2), and closes BGP without
    // a NOTIFICATION: the router keeps the routes while vipd is away.
    let config = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(t.config_dir)
        .join("vipd-gr/vipd.toml");
    if kind == RouterKind::Bird {
        // BIRD takes any BFD Down, AdminDown included, as a failure and
        // resets the session, flushing the routes it keeps for a graceful
        // restart; `bfd graceful` makes a BFD Down start a graceful restart
        // instead (docs/graceful-restart.md).
        let original =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/bfd-bird/router/bird.conf");
        let text = std::fs::read_to_string(&original)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", original.display()));
        assert!(
            text.contains("  bfd on;"),
            "{}: no `bfd on;`",
            original.display()
        );
        let graceful = router_ns.lab().dir().join("bird-bfd-graceful.conf");
        std::fs::write(&graceful, text.replace("  bfd on;", "  bfd graceful;"))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", graceful.display()));
        let said = lab
            .router("router")
            .reconfigure(&graceful)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        println!("{kind}: with `bfd graceful`: {said}");
    }
    let mut restarting = Vipd::new(vipd_ns.clone(), "vipd-gr", config);
    restarting.start().unwrap_or_else(|e| panic!("{kind}: {e}"));
    wait_up(lab.router("router"), &vipd_addrs, true)
        .unwrap_or_else(|e| panic!("{kind} with BFD and GR: {e}"));
    let (status, _) = restarting
        .stop_for_restart()
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert!(status.success(), "{kind}: SIGUSR2 exit {status}");
    let stopped = Instant::now();
    let mut lost = Vec::new();
    while stopped.elapsed() < Duration::from_secs(3) {
        for vip in VIPS {
            if lab
                .router("router")
                .bgp_path_stale(net(vip))
                .ok()
                .flatten()
                .is_none()
                && !lost.iter().any(|(v, _)| *v == vip)
            {
                lost.push((vip, stopped.elapsed()));
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    for addr in &vipd_addrs {
        let shown = lab.router("router").bfd_session(*addr).ok().flatten();
        println!("{kind}: BFD with {addr} while vipd restarts: {shown:?}");
    }
    eprintln!("BFD+GR {kind} sigusr2: routes lost while vipd was away: {lost:?}");
    assert!(
        lost.is_empty(),
        "{kind}: with BFD and graceful restart, a stop for a restart lost routes: {lost:?}"
    );
    restarting.start().unwrap_or_else(|e| panic!("{kind}: {e}"));
    wait_up(lab.router("router"), &vipd_addrs, true)
        .unwrap_or_else(|e| panic!("{kind} after the BFD+GR restart: {e}"));
    // 7. The same node frozen: what the router makes of a real failure when
    // the node also advertises Graceful Restart (printed: the router's
    // choice; see docs/graceful-restart.md).
    let frozen = Instant::now();
    let guard = Frozen::freeze(&vipd_ns, vec![vipd_pid(&restarting)]);
    let mut gone = Vec::new();
    while frozen.elapsed() < Duration::from_secs(5) && gone.len() < VIPS.len() {
        for vip in VIPS {
            if !gone.iter().any(|(v, _)| *v == vip)
                && lab
                    .router("router")
                    .bgp_path_stale(net(vip))
                    .ok()
                    .flatten()
                    .is_none()
            {
                gone.push((vip, frozen.elapsed()));
            }
        }
        thread::sleep(Duration::from_millis(5));
    }
    let shown: Vec<String> = VIPS
        .iter()
        .map(|vip| match gone.iter().find(|(v, _)| v == vip) {
            Some((_, took)) => format!("{vip} removed after {} ms", took.as_millis()),
            None => format!(
                "{vip} still there after 5 s: {:?}",
                lab.router("router").bgp_path_stale(net(vip)).ok().flatten()
            ),
        })
        .collect();
    drop(guard);
    eprintln!("BFD+GR {kind} sigstop: {}", shown.join("; "));
    let _ = restarting.terminate();
    for (vip, took) in &took {
        eprintln!(
            "no BFD {kind} sigstop: route {vip} removed after {} ms (hold time {} s)",
            took.as_millis(),
            HOLD.as_secs()
        );
        assert!(
            *took >= HOLD_FLOOR,
            "{kind}: without BFD {vip} left after {took:?}: not the hold timer"
        );
    }
}

/// The running vipd's pid, to freeze it.
fn vipd_pid(vipd: &Vipd) -> u32 {
    vipd.pid().unwrap_or_else(|| panic!("vipd is not running"))
}

/// `2026-01-31T12:00:00.123456Z` (vipd's log, UTC) as a `SystemTime`.
fn log_time(line: &str) -> Option<SystemTime> {
    let stamp = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let d: Vec<i64> = date
        .split('-')
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    let (hms, frac) = time.split_once('.')?;
    let t: Vec<i64> = hms
        .split(':')
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    let ([y, m, day], [hh, mm, ss]) =
        (<[i64; 3]>::try_from(d).ok()?, <[i64; 3]>::try_from(t).ok()?);
    // Days from the civil date (proleptic Gregorian), H. Hinnant's algorithm.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    let nanos: u32 = format!("{frac:0<9}").get(..9)?.parse().ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Waits until the router has BFD Up (if `bfd`) and an Established session
/// with every vipd address, and a path to every VIP.
fn wait_up(router: &dyn Router, vipd: &[IpAddr], bfd: bool) -> Result<(), String> {
    wait_until(UP_DEADLINE, || {
        for addr in vipd {
            if bfd {
                match router.bfd_session(*addr)? {
                    Some(s) if s.state == "Up" => {}
                    Some(s) => return Err(format!("BFD with {addr} is {}: {}", s.state, s.detail)),
                    None => return Err(format!("no BFD session with {addr}")),
                }
            }
            if !router.session_established(*addr)? {
                return Err(format!(
                    "no session with {addr}: {}",
                    router.describe_session(*addr)?
                ));
            }
        }
        for vip in VIPS {
            if router.bgp_path_stale(net(vip))?.is_none() {
                return Err(format!("no path to {vip}"));
            }
        }
        Ok(())
    })
}

/// Polls the router's table as fast as its CLI answers until no VIP is in
/// it; for each, how long after `start` it was first seen gone.
fn time_until_gone(
    router: &dyn Router,
    start: Instant,
) -> Result<Vec<(&'static str, Duration)>, String> {
    let mut gone: Vec<(&'static str, Duration)> = Vec::new();
    while gone.len() < VIPS.len() {
        if start.elapsed() > GONE_DEADLINE {
            return Err(format!(
                "after {GONE_DEADLINE:?} the router still has a VIP; gone: {gone:?}"
            ));
        }
        for vip in VIPS {
            if gone.iter().any(|(v, _)| *v == vip) {
                continue;
            }
            if router.bgp_path_stale(net(vip))?.is_none() {
                gone.push((vip, start.elapsed()));
            }
        }
        thread::sleep(Duration::from_millis(2));
    }
    Ok(gone)
}

/// NOTIFICATION Cease (6) / BFD Down (10) segments from any of `from` in a
/// capture, at or after `since`: who sent it and when.
fn bfd_down_notifications(
    file: &Path,
    from: &[IpAddr],
    since: SystemTime,
) -> Vec<(IpAddr, SystemTime)> {
    let segments = pcap::segments(file).unwrap_or_else(|e| panic!("{e}"));
    segments
        .iter()
        .filter(|s| from.contains(&s.src.ip()) && s.at >= since)
        .filter(|s| carries_cease_bfd_down(s))
        .map(|s| (s.src.ip(), s.at))
        .collect()
}

/// A BGP NOTIFICATION header (marker, length, type 3) followed by error
/// code 6 (Cease) and subcode 10 (BFD Down, RFC 9384).
fn carries_cease_bfd_down(segment: &Segment) -> bool {
    let p = &segment.payload;
    (0..p.len().saturating_sub(20)).any(|i| {
        p[i..i + 16].iter().all(|b| *b == 0xff)
            && p[i + 18] == 3
            && p[i + 19] == 6
            && p[i + 20] == 10
    })
}
