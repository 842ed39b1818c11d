//! `vipd reload` applies OSPF changes: a VIP leaving or joining OSPF, or a
//! new cost, changes only that VIP's origination (the adjacencies stay up);
//! a change to `[ospf]` itself restarts OSPF, which flushes everything and
//! forms the adjacencies again.
//!
//! ```text
//!   frr ==p2p== vipd-a ==p2p== bird        vipd-a: 198.18.50.1 (shared), .2 (own)
//!   frr ==bcast== vipd-b ==bcast== bird
//! ```
//!
//! 1. Deploy `containerlab/ospf.clab.yml` with the default LSA types, start
//!    both `vipd run`; wait for vipd-a's own VIP on both routers.
//! 2. vipd-a's config says `ospf = false` on 198.18.50.2; `vipd reload`
//!    reports the VIP leaving OSPF, and both routers lose it, while FRR
//!    keeps vipd-a Full the whole time (no restart).
//! 3. The config takes the VIP back and sets `external_type = 1` in
//!    `[ospf]`; `vipd reload` reports OSPF restarted, and both routers have
//!    the VIP via vipd-a again.
#![cfg(feature = "ospf")]

use std::time::{Duration, Instant};

use crate::harness::ospf::{Ospf, OspfLab};
use crate::harness::wait_until;
use crate::ospf_vips_reach_frr_and_bird::{
    CONVERGE, VIPD_A, VIPD_A_RID, deploy, has_no_route, has_route, net, vipd_next_hop, wait_full,
};

const OWN: &str = "198.18.50.2/32";
/// The VIP's table in vipd-a's config.
const IN_OSPF: &str = "prefix = \"198.18.50.2/32\"\nospf = true\n";
const OUT_OF_OSPF: &str = "prefix = \"198.18.50.2/32\"\nospf = false\n";
/// Generous: the change takes one packet and the router's SPF.
const CHANGE: Duration = Duration::from_secs(10);

fn reload(lab: &OspfLab) -> String {
    let out = lab
        .vipd(VIPD_A)
        .ctl(&["reload"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "vipd reload failed: {}{}",
        out.stdout,
        out.stderr
    );
    println!("vipd reload:\n{}", out.stdout.trim_end());
    out.stdout
}

fn own_via_a(lab: &OspfLab) -> Result<(), String> {
    for router in ["frr", "bird"] {
        has_route(
            lab.router(router),
            net(OWN),
            &[vipd_next_hop(lab, router, VIPD_A, Ospf::V2)],
        )?;
    }
    Ok(())
}

fn frr_has_a_full(lab: &OspfLab) -> Result<(), String> {
    let full = lab.router("frr").full_neighbors(Ospf::V2)?;
    if full.iter().any(|(n, _)| n.to_string() == VIPD_A_RID) {
        Ok(())
    } else {
        Err(format!("FRR: vipd-a not Full: {full:?}"))
    }
}

#[test]
fn reload_changes_one_vip_in_place_and_restarts_ospf_for_an_ospf_change() {
    let lab = deploy(None);
    wait_full(&lab);
    wait_until(CONVERGE, || own_via_a(&lab))
        .unwrap_or_else(|e| panic!("{e}{}", lab.router("frr").describe(net(OWN))));

    // Step 2: the VIP leaves OSPF; nothing else changes.
    lab.rewrite_config(VIPD_A, |t| t.replacen(IN_OSPF, OUT_OF_OSPF, 1));
    let start = Instant::now();
    let said = reload(&lab);
    assert!(
        said.contains("OSPF: VIP 198.18.50.2/32 removed"),
        "reload did not report the VIP leaving OSPF: {said}"
    );
    let mut gone = Vec::new();
    while gone.len() < 2 {
        frr_has_a_full(&lab).unwrap_or_else(|e| panic!("the adjacency went down: {e}"));
        for router in ["frr", "bird"] {
            if !gone.iter().any(|(r, _)| *r == router)
                && has_no_route(lab.router(router), net(OWN)).is_ok()
            {
                gone.push((router, start.elapsed()));
            }
        }
        assert!(
            start.elapsed() < CHANGE,
            "{OWN} still at a router {CHANGE:?} after the reload: {gone:?}{}",
            lab.router("frr").describe(net(OWN))
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("{OWN} left OSPF at reload: gone after {gone:?}, adjacencies kept");
    // The shared VIP is still originated by vipd-a.
    let shared = net("198.18.50.1/32");
    for router in ["frr", "bird"] {
        let r = lab.router(router);
        let a = vipd_next_hop(&lab, router, VIPD_A, Ospf::V2);
        let hops = r.next_hops(shared).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            hops.contains(&a),
            "{router}: {shared} lost vipd-a: {hops:?}"
        );
    }

    // Step 3: the VIP comes back, and [ospf] changes: a restart.
    lab.rewrite_config(VIPD_A, |t| {
        t.replacen(OUT_OF_OSPF, IN_OSPF, 1).replacen(
            "\n[ospf]\n",
            "\n[ospf]\nexternal_type = 1\n",
            1,
        )
    });
    let start = Instant::now();
    let said = reload(&lab);
    assert!(
        said.contains("OSPF restarted"),
        "reload did not restart OSPF: {said}"
    );
    wait_until(CONVERGE, || own_via_a(&lab)).unwrap_or_else(|e| {
        panic!(
            "after the restart: {e}{}",
            lab.router("frr").describe(net(OWN))
        )
    });
    println!(
        "{OWN} back via vipd-a {:.1} s after the restarting reload",
        start.elapsed().as_secs_f64()
    );
    let log = lab.vipd(VIPD_A).log();
    assert!(
        log.contains("[ospf] changed at reload"),
        "vipd-a did not log the OSPF restart"
    );
}
