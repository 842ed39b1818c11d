//! The router refuses connections for a while: it is stopped, its namespace
//! stays, so every SYN vipd sends is answered with a RST (no iptables or nft
//! here to REJECT on a running router; stopping it gives the same refusal).
//! Against BIRD and FRR.
//!
//! Must never happen:
//! - a CPU spin: vipd's CPU time (utime + stime from /proc) over the 30 s
//!   refusal window stays far below what a retry loop would burn;
//! - a retry storm: the connect attempts (vipd's `connect failed` lines,
//!   with their timestamps) back off: the gaps between them grow from
//!   `connect_retry` (1 s) toward `connect_retry_max` (8 s, jittered below
//!   it), `retry_in` grows over the first three attempts and never exceeds
//!   twice the cap, and there are no more attempts than that schedule
//!   allows;
//! - never reconnecting: once the router is back, the session comes up and
//!   the VIP is at the router again;
//! - a panic, or vipd exiting.

use std::thread;
use std::time::{Duration, Instant};

use crate::chaos_lab::{ChaosLab, Link, ROUTER_ADDR, cpu_time, timed_peer_lines, vipd_config};
use crate::harness::{RouterKind, field, parse_debug_duration};

/// How long the router refuses.
const REFUSING: Duration = Duration::from_secs(30);
const CONNECT_RETRY_MAX: u16 = 8;
/// At most this much CPU over the whole window: 10%. A loop that retried
/// without waiting would take a core (30 s); an idle vipd takes a few ms.
const MAX_CPU: Duration = Duration::from_secs(3);
/// At most this many attempts in the window. The backoff (1, 2, 4, 8, 8...)
/// allows about 7 in 30 s; retries come at twice that rate at worst with
/// jitter and the accepting side racing, a spin would make thousands.
const MAX_ATTEMPTS: usize = 20;

#[test]
fn chaos_bird_refusing_connections_makes_vipd_back_off_without_spinning() {
    refusing_router(RouterKind::Bird);
}

#[test]
fn chaos_frr_refusing_connections_makes_vipd_back_off_without_spinning() {
    refusing_router(RouterKind::Frr);
}

fn refusing_router(kind: RouterKind) {
    let config = vipd_config("chaos_router_refuses_connections", 9, CONNECT_RETRY_MAX, "");
    let mut lab = ChaosLab::up(kind, Link::Direct, |_| config, |_, _| {});
    lab.wait_vip("before the router went away");
    let pid = lab.vipd_pid();
    let router = crate::ip(ROUTER_ADDR);

    let mark = lab.vipd.vipd.log_len();
    lab.router_mut()
        .stop()
        .unwrap_or_else(|e| panic!("cannot stop {kind}: {e}"));
    let cpu_before = cpu_time(pid).unwrap_or_else(|e| panic!("{e}"));
    let stopped = Instant::now();
    thread::sleep(REFUSING);
    let cpu = cpu_time(pid)
        .unwrap_or_else(|e| panic!("{e}"))
        .saturating_sub(cpu_before);
    let window = stopped.elapsed();
    lab.assert_vipd_healthy();

    let attempts = timed_peer_lines(&lab, mark, "connect failed", router);
    let times: Vec<f64> = attempts.iter().map(|(t, _)| *t).collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let retry_in: Vec<Duration> = attempts
        .iter()
        .filter_map(|(_, l)| field(l, "retry_in").and_then(parse_debug_duration))
        .collect();
    println!(
        "{kind}: router refused for {:.1}s: vipd used {:.0} ms of CPU (in 10 ms ticks); {} connect attempts \
         failed, gaps {:?} s, retry_in {:?}",
        window.as_secs_f64(),
        cpu.as_secs_f64() * 1e3,
        attempts.len(),
        gaps.iter()
            .map(|g| (g * 10.0).round() / 10.0)
            .collect::<Vec<_>>(),
        retry_in
    );
    assert!(
        cpu <= MAX_CPU,
        "{kind}: vipd used {cpu:?} of CPU in {window:?} while the router refused: a spin"
    );
    assert!(
        attempts.len() >= 3,
        "{kind}: only {} failed connects in {window:?}: vipd stopped trying\n{attempts:?}",
        attempts.len()
    );
    assert!(
        attempts.len() <= MAX_ATTEMPTS,
        "{kind}: {} connect attempts in {window:?}: no backoff\n{attempts:?}",
        attempts.len()
    );
    let first = gaps.first().copied().unwrap_or_default();
    let last = gaps.last().copied().unwrap_or_default();
    assert!(
        last > first * 1.5,
        "{kind}: the gaps between attempts do not grow: {gaps:?}"
    );
    // Doubling from 1 s reaches the 8 s cap by the fourth attempt; after
    // that the jitter moves it below and above its predecessor.
    assert!(
        retry_in.windows(2).take(2).all(|w| w[1] > w[0]),
        "{kind}: retry_in does not grow over the first three attempts: {retry_in:?}"
    );
    let cap = Duration::from_secs(u64::from(CONNECT_RETRY_MAX));
    assert!(
        retry_in.iter().all(|r| *r <= cap * 2),
        "{kind}: retry_in beyond twice connect_retry_max {cap:?}: {retry_in:?}"
    );

    lab.router_mut()
        .start()
        .unwrap_or_else(|e| panic!("cannot start {kind} again: {e}"));
    let back = Instant::now();
    lab.wait_vip("after the router accepted connections again");
    println!(
        "{kind}: reconnected, VIP at the router {:.1}s after it came back",
        back.elapsed().as_secs_f64()
    );
    lab.assert_vipd_healthy();
}
