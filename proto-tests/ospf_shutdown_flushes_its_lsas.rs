//! On shutdown vipd flushes every LSA it originated (premature aging) and
//! says goodbye, so both routers drop its routes and its adjacency at once,
//! not after the dead interval; the other vipd node is untouched.
//!
//! 1. Deploy `containerlab/ospf.clab.yml` with the default LSA types; wait
//!    for vipd-a's own VIPs on FRR and BIRD.
//! 2. SIGTERM vipd-a: the process exits cleanly within a generous bound
//!    (the daemon promises to exit within a second; the time is printed).
//! 3. Neither router has vipd-a's own VIPs; the shared VIP is reached only
//!    through vipd-b; neither router holds an LSA from vipd-a any more
//!    (flushed, not left to age out), and vipd-a is no longer a Full neighbor.
//!
//! The second test does the same right after a VIP change gave vipd-a's
//! Router-LSA a new instance: routers discard a flush that arrives within
//! MinLSArrival (1 s) of that instance, so vipd holds the flush until then,
//! and the routers must still end up with nothing from vipd-a.
#![cfg(feature = "ospf")]

use std::time::{Duration, Instant};

use crate::harness::ospf::{Ospf, OspfLab, measure_until};
use crate::harness::wait_until;
use crate::ospf_vips_reach_frr_and_bird::{
    CONVERGE, VIPD_A, VIPD_A_RID, VIPD_B, deploy, has_no_route, has_route, net, vipd_next_hop,
    wait_full,
};

/// Generous: the promise is one second; CI is noisy; the time is printed.
const STOP_BOUND: Duration = Duration::from_secs(3);
/// Well under the 4 s dead interval: the goodbye Hello, not the dead timer.
const GONE_BOUND: Duration = Duration::from_secs(3);

#[test]
fn shutdown_flushes_every_lsa_and_routers_drop_the_node_at_once() {
    let mut lab = deploy(None);
    wait_full(&lab);
    wait_routes(&lab);
    shut_down_and_check(&mut lab, STOP_BOUND);
}

#[test]
fn shutdown_right_after_a_vip_change_still_flushes_every_lsa() {
    let mut lab = deploy(None);
    wait_full(&lab);
    wait_routes(&lab);
    // MinLSInterval since the adjacencies came up, so the change below
    // re-originates the Router-LSA at once instead of being held.
    std::thread::sleep(Duration::from_secs(6));
    let originated = |lab: &OspfLab| {
        lab.vipd(VIPD_A)
            .log()
            .lines()
            .filter(|l| {
                l.contains("OSPF LSA originated")
                    && l.contains("version=OSPFv2")
                    && l.contains("lsa=type 0x1 ")
            })
            .count()
    };
    let before = originated(&lab);
    lab.fail(VIPD_A, "fail-own4");
    wait_until(Duration::from_secs(10), || {
        if originated(&lab) > before {
            Ok(())
        } else {
            Err("vipd-a has not re-originated its Router-LSA".to_string())
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    // At once: the flush of that new instance must wait out MinLSArrival.
    shut_down_and_check(&mut lab, STOP_BOUND + Duration::from_secs(1));
}

fn wait_routes(lab: &OspfLab) {
    for router in ["frr", "bird"] {
        let r = lab.router(router);
        for v in [Ospf::V2, Ospf::V3] {
            let own = if v == Ospf::V2 {
                "198.18.50.2/32"
            } else {
                "fd00:198:18:50::2/128"
            };
            let shared = if v == Ospf::V2 {
                "198.18.50.1/32"
            } else {
                "fd00:198:18:50::1/128"
            };
            let a = vipd_next_hop(lab, router, VIPD_A, v);
            let b = vipd_next_hop(lab, router, VIPD_B, v);
            wait_until(CONVERGE, || {
                has_route(r, net(own), &[a])?;
                // Both nodes fully up, so what follows is about vipd-a alone.
                has_route(r, net(shared), &[a, b])
            })
            .unwrap_or_else(|e| panic!("{e}{}", r.describe(net(own))));
        }
    }
}

/// Steps 2 and 3.
fn shut_down_and_check(lab: &mut OspfLab, stop_bound: Duration) {
    let stopped = Instant::now();
    let (status, took) = lab
        .vipd_mut(VIPD_A)
        .terminate()
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "vipd-a exited {:.0} ms after SIGTERM ({status})",
        took.as_secs_f64() * 1e3
    );
    assert!(status.success(), "vipd-a exited with {status}");
    assert!(
        took <= stop_bound,
        "shutdown took {took:?} (bound {stop_bound:?})"
    );
    let log = lab.vipd(VIPD_A).log();
    for version in ["OSPFv2", "OSPFv3"] {
        assert!(
            log.lines()
                .any(|l| l.contains("OSPF: flushing every LSA vipd originated")
                    && l.contains(version)),
            "vipd-a did not log its {version} flush at shutdown"
        );
    }

    let mut report = Vec::new();
    for router in ["frr", "bird"] {
        let r = lab.router(router);
        for v in [Ospf::V2, Ospf::V3] {
            let (own, shared) = match v {
                Ospf::V2 => ("198.18.50.2/32", "198.18.50.1/32"),
                Ospf::V3 => ("fd00:198:18:50::2/128", "fd00:198:18:50::1/128"),
            };
            let b = vipd_next_hop(lab, router, VIPD_B, v);
            measure_until(GONE_BOUND, || {
                has_no_route(r, net(own))?;
                has_route(r, net(shared), &[b])
            })
            .unwrap_or_else(|e| panic!("{v}: {e}{}", r.describe(net(own))));
            let routes_gone = stopped.elapsed();
            measure_until(GONE_BOUND, || {
                let full = r.full_neighbors(v)?;
                match full.iter().find(|(n, _)| n.to_string() == VIPD_A_RID) {
                    Some(n) => Err(format!("{} {v}: vipd-a still Full on {}", r.kind(), n.1)),
                    None => Ok(()),
                }
            })
            .unwrap_or_else(|e| panic!("{e}{}", r.describe(net(own))));
            let adjacency_gone = stopped.elapsed();
            // Flushed: every LSA vipd-a originated is gone or at MaxAge
            // (routers keep a flushed LSA a while before removing it), not
            // left to age out for an hour.
            let ages = r
                .lsa_ages(v, VIPD_A_RID.parse().unwrap())
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                ages.iter().all(|a| *a >= 3600),
                "{} {v} holds vipd-a's LSAs at ages {ages:?} (MaxAge is 3600)",
                r.kind()
            );
            report.push(format!(
                "{} {v}: vipd-a's routes gone after {:.0} ms, adjacency after {:.0} ms",
                r.kind(),
                routes_gone.as_secs_f64() * 1e3,
                adjacency_gone.as_secs_f64() * 1e3
            ));
        }
    }
    println!("after vipd-a's shutdown:\n  {}", report.join("\n  "));
}
