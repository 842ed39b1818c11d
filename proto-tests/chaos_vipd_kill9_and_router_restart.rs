//! vipd killed with SIGKILL (no NOTIFICATION, no withdrawal, no graceful
//! restart configured), then the router restarted under a running vipd.
//! Against BIRD and FRR. (`router_restart_reconnects` covers the router
//! restart with all three routers and both session types; this adds the
//! kill and what the router must not keep.)
//!
//! Must never happen:
//! - a stale route: once vipd is killed, its session drops (the kernel
//!   closes the socket; at the latest the router's 9 s hold timer expires)
//!   and the router no longer has the VIP. Without graceful restart it must
//!   not keep it as stale either;
//! - a lost VIP: a restarted vipd announces it again, and after the router
//!   restarts the VIP is back there;
//! - a panic, or vipd exiting while the router is away.
//!
//! ```text
//!   node (vipd) eth1 --- eth1 router (BIRD or FRR)
//!   kill -9, start again;  then the router stops and starts
//! ```

use std::thread;
use std::time::{Duration, Instant};

use crate::chaos_lab::{ChaosLab, GONE_DEADLINE, Link, VIP, vipd_config};
use crate::harness::{RouterKind, wait_until};

const HOLD_TIME: u16 = 9;
/// How long the router stays down: several of vipd's connect retries.
const ROUTER_DOWN: Duration = Duration::from_secs(5);

#[test]
fn chaos_vipd_kill_9_leaves_no_stale_route_at_bird_and_it_returns() {
    kill_9_and_router_restart(RouterKind::Bird);
}

#[test]
fn chaos_vipd_kill_9_leaves_no_stale_route_at_frr_and_it_returns() {
    kill_9_and_router_restart(RouterKind::Frr);
}

fn kill_9_and_router_restart(kind: RouterKind) {
    let config = vipd_config("chaos_vipd_kill9_and_router_restart", HOLD_TIME, 4, "");
    let mut lab = ChaosLab::up(kind, Link::Direct, |_| config, |_, _| {});
    lab.wait_vip("before the kill");
    lab.assert_vipd_healthy();

    // 1. kill -9: no stale route.
    lab.vipd.vipd.kill();
    let killed = Instant::now();
    wait_until(GONE_DEADLINE, || lab.vip_gone())
        .unwrap_or_else(|e| panic!("{kind}: stale route after vipd was killed: {e}"));
    let gone = killed.elapsed();
    println!(
        "{kind}: {VIP} gone from the router {:.2}s after kill -9 (hold time {HOLD_TIME} s)",
        gone.as_secs_f64()
    );
    let vip = VIP.parse().unwrap_or_else(|e| panic!("{e}"));
    let stale = lab
        .router
        .router()
        .bgp_path_stale(vip)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        stale.is_none(),
        "{kind}: the router keeps a path for {VIP} after vipd died without graceful restart: \
         {stale:?}"
    );
    // And it stays gone: nothing brings it back while vipd is dead.
    thread::sleep(Duration::from_secs(2));
    lab.vip_gone()
        .unwrap_or_else(|e| panic!("{kind}: the VIP came back with vipd dead: {e}"));

    // 2. vipd starts again: the VIP returns.
    lab.vipd
        .vipd
        .start()
        .unwrap_or_else(|e| panic!("cannot start vipd again: {e}"));
    let started = Instant::now();
    lab.wait_vip("after vipd started again");
    println!(
        "{kind}: VIP back at the router {:.1}s after vipd started again",
        started.elapsed().as_secs_f64()
    );
    lab.assert_vipd_healthy();

    // 3. The router restarts: vipd keeps running and announces again.
    lab.router_mut()
        .stop()
        .unwrap_or_else(|e| panic!("cannot stop {kind}: {e}"));
    thread::sleep(ROUTER_DOWN);
    lab.assert_vipd_healthy();
    lab.router_mut()
        .start()
        .unwrap_or_else(|e| panic!("cannot start {kind} again: {e}"));
    let restarted = Instant::now();
    lab.wait_vip("after the router restarted");
    println!(
        "{kind}: VIP back at the restarted router {:.1}s after its start",
        restarted.elapsed().as_secs_f64()
    );
    lab.assert_vipd_healthy();
}
