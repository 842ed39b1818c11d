//! vipd's BFD (50 ms x 3) against BIRD's BFD and FRR's bfdd: the sessions
//! come Up, and the router declares a frozen vipd, or one cut off by a silent
//! link failure, down in about 150 ms instead of at the BGP hold timer;
//! vipd notices the cut as fast.
//!
//! ```text
//!   vipd (AS 65001)                    router (AS 65000)
//!   eth1 10.255.3x.2   ------------    eth1 10.255.3x.1     BGP + BFD over
//!        fd00:255:3x::2                     fd00:255:3x::1   IPv4 and IPv6
//! ```
//!
//! 1. Deploy `containerlab/bfd-<router>.clab.yml` and start vipd's BFD
//!    engine alone in the vipd node (the probe: the engine's own timings,
//!    with no BGP around it; `bfd_vipd_*` runs vipd itself with BFD).
//! 2. Both sessions come Up, on the router's CLI and in the probe.
//! 3. Freeze the probe (SIGSTOP): the router declares both sessions down;
//!    the time is measured by polling its CLI as fast as it answers.
//! 4. Thaw it: both sessions come back Up.
//! 5. Cut the link silently both ways (each side's packets to the other go
//!    to a MAC nobody has; carrier and routes stay): the router and the
//!    probe each declare the sessions down (probe: Control Detection Time
//!    Expired, with its own timestamps).
//! 6. Mend the link: both sessions come back Up.
//! 7. Stop the probe (SIGTERM): it sends AdminDown, the router's sessions
//!    go down at once.
//!
//! Timings are printed; only generous bounds are asserted (well below the
//! 9 s BGP hold time, which is what BFD is there to beat).

use std::net::IpAddr;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::clab::Deployment;
use crate::harness::{BfdProbe, Router, RouterKind, wait_until};
use crate::ip;

/// vipd's side: `bfd_min_interval = "50ms"`, `bfd_multiplier = 3`.
const INTERVAL: Duration = Duration::from_millis(50);
const MULTIPLIER: u8 = 3;
/// Handshake, and the way back up after a failure (slow rate is 1 s).
const UP_DEADLINE: Duration = Duration::from_secs(30);
/// Detection takes 150 ms; anything under this bound is far below the hold
/// timer, and leaves room for a loaded machine and CLI round trips.
const DETECT_BOUND: Duration = Duration::from_secs(2);
/// How long to keep looking for a detection before giving up.
const DETECT_DEADLINE: Duration = Duration::from_secs(10);

struct Topology {
    name: &'static str,
    vipd: [&'static str; 2],
    router: [&'static str; 2],
}

fn topology(kind: RouterKind) -> Topology {
    match kind {
        RouterKind::Bird => Topology {
            name: "bfd-bird",
            vipd: ["10.255.30.2", "fd00:255:30::2"],
            router: ["10.255.30.1", "fd00:255:30::1"],
        },
        RouterKind::Frr => Topology {
            name: "bfd-frr",
            vipd: ["10.255.31.2", "fd00:255:31::2"],
            router: ["10.255.31.1", "fd00:255:31::1"],
        },
        RouterKind::Gobgp => panic!("GoBGP has no BFD"),
    }
}

#[test]
fn bird_notices_a_frozen_or_cut_off_node_within_the_bfd_detection_time() {
    router_notices_a_frozen_or_cut_off_node(RouterKind::Bird);
}

#[test]
fn frr_notices_a_frozen_or_cut_off_node_within_the_bfd_detection_time() {
    router_notices_a_frozen_or_cut_off_node(RouterKind::Frr);
}

fn router_notices_a_frozen_or_cut_off_node(kind: RouterKind) {
    let t = topology(kind);
    let vipd_addrs = t.vipd.map(ip);
    let router_addrs = t.router.map(ip);
    let lab = Deployment::up(t.name);
    let vipd_ns = lab.ns("vipd");
    let router_ns = lab.ns("router");
    let router = lab.router("router");
    let sessions: Vec<(IpAddr, IpAddr)> = vipd_addrs.into_iter().zip(router_addrs).collect();

    // 1-2. Up on both sides.
    let started = Instant::now();
    let mut probe = BfdProbe::start(vipd_ns, "vipd", &sessions, INTERVAL, MULTIPLIER)
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    wait_up(router, &probe, &sessions).unwrap_or_else(|e| panic!("{kind}: {e}"));
    println!(
        "{kind}: BFD Up over IPv4 and IPv6 {:.2}s after the probe started",
        started.elapsed().as_secs_f64()
    );
    for (vipd, _) in &sessions {
        let shown = router.bfd_session(*vipd).ok().flatten();
        println!(
            "{kind}:   router shows {vipd}: {:?}",
            shown.map(|s| s.detail)
        );
    }

    // 3. A frozen vipd.
    let frozen_at = SystemTime::now();
    let frozen = Instant::now();
    probe.freeze().unwrap_or_else(|e| panic!("{kind}: {e}"));
    let detected =
        time_until_down(router, &vipd_addrs, frozen).unwrap_or_else(|e| panic!("{kind}: {e}"));
    for (vipd, took, detail) in &detected {
        println!(
            "{kind}: vipd frozen -> router declared {vipd} down after {} ms by its CLI, \
             {} by its log ({detail})",
            took.as_millis(),
            logged_down_after(kind, &router.log(), *vipd, frozen_at)
        );
        assert!(
            *took < DETECT_BOUND,
            "{kind}: a frozen vipd took {took:?} to be noticed (bound {DETECT_BOUND:?})"
        );
    }

    // 4. Thawed: back Up.
    probe.thaw().unwrap_or_else(|e| panic!("{kind}: {e}"));
    let thawed = Instant::now();
    wait_up(router, &probe, &sessions).unwrap_or_else(|e| panic!("{kind}: {e}"));
    println!(
        "{kind}: thawed -> Up again after {:.2}s",
        thawed.elapsed().as_secs_f64()
    );

    // 5. A silent cut, both ways.
    let cut_at = SystemTime::now();
    let cut = Instant::now();
    for (vipd, router_addr) in &sessions {
        router_ns
            .misdirect(*vipd)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        vipd_ns
            .misdirect(*router_addr)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    let detected =
        time_until_down(router, &vipd_addrs, cut).unwrap_or_else(|e| panic!("{kind}: {e}"));
    for (vipd, took, detail) in &detected {
        println!(
            "{kind}: link cut -> router declared {vipd} down after {} ms by its CLI, \
             {} by its log ({detail})",
            took.as_millis(),
            logged_down_after(kind, &router.log(), *vipd, cut_at)
        );
        assert!(
            *took < DETECT_BOUND,
            "{kind}: the cut took {took:?} to be noticed by the router"
        );
    }
    for (_, router_addr) in &sessions {
        let down = wait_for_probe(&probe, *router_addr, cut_at, |s| {
            s == "Down (Control Detection Time Expired)"
        })
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let took = down.duration_since(cut_at).unwrap_or_default();
        println!(
            "{kind}: link cut -> vipd declared {router_addr} down after {} ms (its own clock)",
            took.as_millis()
        );
        assert!(
            took < DETECT_BOUND,
            "{kind}: the cut took {took:?} to be noticed by vipd"
        );
    }

    // 6. Mended: back Up.
    for (vipd, router_addr) in &sessions {
        router_ns
            .restore_neighbor(*vipd)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        vipd_ns
            .restore_neighbor(*router_addr)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    let mended = Instant::now();
    wait_up(router, &probe, &sessions).unwrap_or_else(|e| panic!("{kind}: {e}"));
    println!(
        "{kind}: link mended -> Up again after {:.2}s",
        mended.elapsed().as_secs_f64()
    );

    // 7. Shut down: AdminDown reaches the router.
    let stopping = Instant::now();
    probe.terminate().unwrap_or_else(|e| panic!("{kind}: {e}"));
    let detected =
        time_until_down(router, &vipd_addrs, stopping).unwrap_or_else(|e| panic!("{kind}: {e}"));
    probe.wait().unwrap_or_else(|e| panic!("{kind}: {e}"));
    for (vipd, took, detail) in &detected {
        println!(
            "{kind}: probe stopped -> router shows {vipd} down after {} ms ({detail})",
            took.as_millis()
        );
    }
    if kind == RouterKind::Frr {
        for (_, _, detail) in &detected {
            assert!(
                detail.contains("administratively down"),
                "{kind}: the router should have heard AdminDown: {detail}"
            );
        }
    }
}

/// Waits until the router shows every session Up and the probe reports Up.
fn wait_up(
    router: &dyn Router,
    probe: &BfdProbe,
    sessions: &[(IpAddr, IpAddr)],
) -> Result<(), String> {
    wait_until(UP_DEADLINE, || {
        for (vipd, router_addr) in sessions {
            match router.bfd_session(*vipd)? {
                Some(s) if s.state == "Up" => {}
                Some(s) => return Err(format!("router: {vipd} is {}: {}", s.state, s.detail)),
                None => return Err(format!("router has no BFD session with {vipd}")),
            }
            let last = probe.states(*router_addr).pop();
            if last.as_ref().is_none_or(|(_, state)| state != "Up") {
                return Err(format!("probe: {router_addr} is {last:?}"));
            }
        }
        Ok(())
    })
}

/// Polls the router's BFD sessions with `peers` as fast as its CLI answers
/// until none is Up; for each, how long after `start` it was first seen so.
fn time_until_down(
    router: &dyn Router,
    peers: &[IpAddr],
    start: Instant,
) -> Result<Vec<(IpAddr, Duration, String)>, String> {
    let mut down = Vec::new();
    while down.len() < peers.len() {
        if start.elapsed() > DETECT_DEADLINE {
            return Err(format!(
                "after {DETECT_DEADLINE:?} the router still shows a session Up; down: {down:?}"
            ));
        }
        for peer in peers {
            if down.iter().any(|(p, _, _)| p == peer) {
                continue;
            }
            match router.bfd_session(*peer)? {
                Some(s) if s.state == "Up" => {}
                Some(s) => down.push((*peer, start.elapsed(), s.detail)),
                None => down.push((*peer, start.elapsed(), "session gone".to_string())),
            }
        }
        thread::sleep(Duration::from_millis(2));
    }
    Ok(down)
}

/// Waits for the probe to report a state for `peer` at or after `since`;
/// when (by the probe's clock).
fn wait_for_probe(
    probe: &BfdProbe,
    peer: IpAddr,
    since: SystemTime,
    want: impl Fn(&str) -> bool,
) -> Result<SystemTime, String> {
    let mut found = None;
    wait_until(DETECT_DEADLINE, || {
        match probe.first_state_since(peer, since, &want) {
            Some((at, _)) => {
                found = Some(at);
                Ok(())
            }
            None => Err(format!(
                "probe: no such state for {peer} yet; it reported {:?}",
                probe.states(peer)
            )),
        }
    })?;
    found.ok_or_else(|| "unreachable: wait_until returned Ok without a state".to_string())
}

/// How long after `since` the router's own log (millisecond timestamps, local
/// time) says its session with `peer` went from Up to Down, as text.
fn logged_down_after(kind: RouterKind, log: &str, peer: IpAddr, since: SystemTime) -> String {
    let bird = format!("Session to {peer} changed state from Up to Down");
    let frr = format!("peer:{peer} ");
    let found = log
        .lines()
        .filter(|line| match kind {
            RouterKind::Bird => line.contains(&bird),
            _ => line.contains(&frr) && line.contains("up -> down"),
        })
        .filter_map(log_time)
        // The log has whole milliseconds.
        .find(|at| *at + Duration::from_millis(1) >= since);
    match found.map(|at| at.duration_since(since).unwrap_or_default()) {
        Some(took) => format!("{} ms", took.as_millis()),
        None => "(not in the log)".to_string(),
    }
}

/// `2024-01-31 12:00:00.123 ...` (BIRD) or `2024/01/31 12:00:00.123 ...`
/// (FRR), local time, as a `SystemTime`.
fn log_time(line: &str) -> Option<SystemTime> {
    let mut words = line.split_whitespace();
    let date: Vec<i32> = words
        .next()?
        .split(['-', '/'])
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    let (time, millis) = words.next()?.split_once('.')?;
    let time: Vec<i32> = time
        .split(':')
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    let ([year, month, day], [hour, minute, second]) = (
        <[i32; 3]>::try_from(date).ok()?,
        <[i32; 3]>::try_from(time).ok()?,
    );
    // SAFETY: all-zero is a valid `tm`; mktime only reads and normalizes it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    tm.tm_isdst = -1;
    // SAFETY: `tm` is a valid, initialized struct tm.
    let secs = u64::try_from(unsafe { libc::mktime(&mut tm) }).ok()?;
    Some(
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(secs)
            + Duration::from_millis(millis.parse().ok()?),
    )
}
