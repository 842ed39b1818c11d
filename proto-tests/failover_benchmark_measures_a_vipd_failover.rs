//! The failover benchmark's machinery (`proto-tests/failover_measure.rs`),
//! run once on every CI run so it keeps working although the benchmark
//! itself (`VIPD_BENCH=1 cargo test --release --test failover_bench`) is not
//! run there: one failover and one planned drain of event-driven vipd, each
//! measured from the captures exactly as the benchmark measures them.
//!
//! ```text
//!                                  +-- node1: service killed / maintenance file
//!   client ---- router (BIRD) -----+-- node2     vipd: http check, watch = true,
//!   200 req/s                      +-- node3     every 1 s, rise 1, fall 1
//! ```
//!
//! 1. Deploy `containerlab/anycast-ecmp-bird.clab.yml` with the benchmark's vipd
//!    config on every node.
//! 2. Kill node1's service, wait until the router drops node1, restart it,
//!    wait until node1 is back.
//! 3. Touch node1's maintenance file, wait for the drain and the withdrawal,
//!    remove it, wait until node1 is back.
//! 4. Every timing was found in the captures (printed; only generous bounds
//!    are asserted), the drain waited `drain_time` before withdrawing, and
//!    the drain lost no request.

use std::time::Duration;

use crate::anycast::AnycastLab;
use crate::failover_measure::{DRAIN_TIME, Run, start_vipds};
use crate::harness::RouterKind;

/// Far above the milliseconds an event-driven failover takes, far below a
/// hold-timer expiry: the failover came from the check, not from BGP.
const GENEROUS: Duration = Duration::from_secs(5);

#[test]
fn failover_benchmark_measures_an_event_driven_vipd_failover_and_drain() {
    let lab = AnycastLab::deploy(RouterKind::Bird);
    let _vipds = start_vipds(&lab, true, "bench-watch");
    let mut run = Run::start(lab).unwrap_or_else(|e| panic!("{e}"));
    run.failover(Duration::ZERO)
        .unwrap_or_else(|e| panic!("failover: {e}"));
    run.drain().unwrap_or_else(|e| panic!("drain: {e}"));
    let (failovers, drains) = run.finish().unwrap_or_else(|e| panic!("{e}"));
    println!("failover: {failovers:#?}\ndrain: {drains:#?}");

    let [failover] = failovers.as_slice() else {
        panic!("one failover was run, {} measured", failovers.len());
    };
    let bounded = |what: &str, ms: Option<f64>| {
        let ms = ms.unwrap_or_else(|| panic!("{what}: not found in the captures"));
        assert!(
            (0.0..GENEROUS.as_secs_f64() * 1e3).contains(&ms),
            "{what}: {ms:.1} ms, outside 0..{GENEROUS:?}"
        );
    };
    bounded("kill -> withdrawal at the router", failover.failover_ms);
    bounded("kill -> the service's sockets closed", failover.died_ms);
    bounded(
        "refused probe -> withdrawal at the router",
        failover.reaction_ms,
    );
    bounded(
        "service back -> announcement at the router",
        failover.recovery_ms,
    );
    println!(
        "failed requests: {} from the kill until the service was back ({} reset in flight by \
         the router's ECMP re-mapping), {} after it was back ({} re-mapped; others: {:?})",
        failover.failed,
        failover.remapped,
        failover.failed_after_recovery,
        failover.remapped_after_recovery,
        failover.unexplained_after_recovery
    );

    let [drain] = drains.as_slice() else {
        panic!("one drain was run, {} measured", drains.len());
    };
    let withdrawn = drain
        .withdrawn_ms
        .unwrap_or_else(|| panic!("drain: no withdrawal found in the capture"));
    assert!(
        withdrawn >= DRAIN_TIME.as_secs_f64() * 1e3,
        "drain: withdrawn {withdrawn:.0} ms after the touch, before drain_time {DRAIN_TIME:?}"
    );
    println!(
        "drain: {} failed request(s), {} reset in flight by the router's ECMP re-mapping",
        drain.failed, drain.remapped
    );
    assert!(
        drain.unexplained.is_empty(),
        "a planned drain must lose no request: {:?}",
        drain.unexplained
    );
}
