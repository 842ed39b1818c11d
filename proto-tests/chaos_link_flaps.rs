//! vipd's uplink flaps (`ip link set eth1 down`, then `up`), short and
//! long, several times. Against BIRD and FRR.
//!
//! Must never happen:
//! - a lost VIP: after every flap the session comes back and the router has
//!   the VIP again;
//! - a stale route: while the link is down for longer than the hold time
//!   (3 s), the router drops the VIP;
//! - a panic, or vipd exiting;
//! - unbounded memory: vipd's RSS after the flaps stays within a generous
//!   bound of its RSS after the first session (printed both ways).
//!
//! ```text
//!   node (vipd, hold 3) eth1 --- eth1 router (BIRD or FRR, hold 9)
//!        down/up: 1 s, 6 s, 1 s, 6 s, 1 s
//! ```
//!
//! A 1 s flap is shorter than the hold time, so the TCP connection may
//! survive it (the segments lost while the link is down are retransmitted);
//! whether the session reset is printed, not asserted. A 6 s flap outlasts
//! the negotiated hold time on both ends, so the session must drop and the
//! VIP must leave the router before the link comes back.

use std::thread;
use std::time::{Duration, Instant};

use crate::chaos_lab::{
    ChaosLab, GONE_DEADLINE, Link, ROUTER_ADDR, rss_kib, timed_peer_lines, vipd_config,
};
use crate::harness::{RouterKind, wait_until};

/// How long the link stays down, flap by flap.
const FLAPS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(6),
    Duration::from_secs(1),
    Duration::from_secs(6),
    Duration::from_secs(1),
];
/// vipd's hold time; the router offers 9, so 3 is negotiated.
const HOLD_TIME: u16 = 3;
/// RSS may grow by this much over all the flaps (a leak of one session's
/// buffers per flap would not reach it; a leak of unbounded queues would).
const RSS_SLACK_KIB: u64 = 32 * 1024;

#[test]
fn chaos_link_flaps_with_bird_lose_no_vip() {
    link_flaps(RouterKind::Bird);
}

#[test]
fn chaos_link_flaps_with_frr_lose_no_vip() {
    link_flaps(RouterKind::Frr);
}

fn link_flaps(kind: RouterKind) {
    let config = vipd_config("chaos_link_flaps", HOLD_TIME, 4, "");
    let lab = ChaosLab::up(kind, Link::Direct, |_| config, |_, _| {});
    lab.wait_vip("before the flaps");
    let pid = lab.vipd_pid();
    let rss_before = rss_kib(pid).unwrap_or_else(|e| panic!("{e}"));
    let router = crate::ip(ROUTER_ADDR);

    for (i, down_for) in FLAPS.into_iter().enumerate() {
        let mark = lab.vipd.vipd.log_len();
        lab.node
            .ip(&["link", "set", "eth1", "down"])
            .unwrap_or_else(|e| panic!("{e}"));
        let down = Instant::now();
        let long = down_for > Duration::from_secs(u64::from(HOLD_TIME));
        if long {
            // No stale route: the router's hold timer drops the VIP while
            // the link is still down.
            wait_until(GONE_DEADLINE, || lab.vip_gone()).unwrap_or_else(|e| {
                panic!("{kind} flap {i}: stale route while the link is down: {e}")
            });
            println!(
                "{kind} flap {i}: VIP gone from the router {:.1}s after the link went down",
                down.elapsed().as_secs_f64()
            );
        }
        if let Some(rest) = down_for.checked_sub(down.elapsed()) {
            thread::sleep(rest);
        }
        lab.node
            .ip(&["link", "set", "eth1", "up"])
            .unwrap_or_else(|e| panic!("{e}"));
        let up = Instant::now();
        lab.wait_vip(&format!("after flap {i} ({down_for:?} down)"));
        let closed = timed_peer_lines(&lab, mark, "session closed", router);
        let established = timed_peer_lines(&lab, mark, "session established", router);
        println!(
            "{kind} flap {i}: link down {down_for:?}; VIP back at the router {:.1}s after \
             the link came up; vipd sessions closed {}, established {}",
            up.elapsed().as_secs_f64(),
            closed.len(),
            established.len()
        );
        if long {
            assert!(
                !closed.is_empty() && !established.is_empty(),
                "{kind} flap {i}: a {down_for:?} outage outlasts the {HOLD_TIME} s hold time: \
                 vipd must have closed and re-established its session \
                 (closed {closed:?}, established {established:?})"
            );
        }
        lab.assert_vipd_healthy();
    }

    let rss_after = rss_kib(pid).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{kind}: vipd RSS {rss_before} KiB after the first session, {rss_after} KiB after {} \
         flaps",
        FLAPS.len()
    );
    assert!(
        rss_after <= rss_before + RSS_SLACK_KIB,
        "{kind}: vipd's RSS grew from {rss_before} KiB to {rss_after} KiB over {} flaps",
        FLAPS.len()
    );
    lab.assert_vipd_healthy();
}
