//! OSPFv2 cryptographic authentication: with the right keys (keyed MD5 with
//! FRR, HMAC-SHA-256 with BIRD) vipd-a's adjacencies form in every other
//! scenario; with a wrong key, or the right key under another key ID, no
//! OSPFv2 adjacency ever forms and both sides count the drops.
//!
//! 1. Deploy `containerlab/ospf.clab.yml`; give vipd-a the wrong key towards
//!    FRR (eth1) and the right key under the wrong key ID towards BIRD
//!    (eth2); start both vipd nodes.
//! 2. For 10 s (10 Hello intervals, 2.5 dead intervals): neither router
//!    lists vipd-a as an OSPFv2 neighbor in any state past Init; OSPFv3 on
//!    the same links (no authentication) does reach Full, and vipd-b (no
//!    authentication configured on either side) reaches Full in OSPFv2.
//! 3. vipd-a logged the refused packets.
#![cfg(feature = "ospf")]

use std::time::{Duration, Instant};

use crate::harness::ospf::Ospf;
use crate::harness::ospf::OspfLab;
use crate::harness::wait_until;
use crate::ospf_vips_reach_frr_and_bird::{CONVERGE, VIPD_A, VIPD_A_RID, VIPD_B, VIPD_B_RID};

const WATCH: Duration = Duration::from_secs(10);

#[test]
fn wrong_key_or_key_id_never_forms_an_ospfv2_adjacency() {
    let mut lab = OspfLab::up("ospf");
    {
        let a = lab.vipd(VIPD_A);
        for i in &mut a.config.interfaces {
            let auth = i.auth.as_mut().expect("vipd-a authenticates both links");
            match i.name.as_str() {
                "eth1" => auth.key = b"not-the-key".to_vec(),
                _ => auth.key_id = auth.key_id.wrapping_add(1),
            }
        }
        a.start();
    }
    lab.vipd(VIPD_B).start();
    // Sanity: the links work (OSPFv3, and vipd-b in OSPFv2).
    for router in ["frr", "bird"] {
        let r = lab.router(router);
        wait_until(CONVERGE, || {
            let v3 = r.full_neighbors(Ospf::V3)?;
            let v2 = r.full_neighbors(Ospf::V2)?;
            if !v3.iter().any(|(n, _)| n.to_string() == VIPD_A_RID) {
                return Err(format!("{router}: vipd-a not Full in OSPFv3: {v3:?}"));
            }
            if !v2.iter().any(|(n, _)| n.to_string() == VIPD_B_RID) {
                return Err(format!("{router}: vipd-b not Full in OSPFv2: {v2:?}"));
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}{}", r.describe("198.18.50.1/32".parse().unwrap())));
    }
    let start = Instant::now();
    while start.elapsed() < WATCH {
        for router in ["frr", "bird"] {
            let r = lab.router(router);
            let v2 = r.full_neighbors(Ospf::V2).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                !v2.iter().any(|(n, _)| n.to_string() == VIPD_A_RID),
                "{router} formed an OSPFv2 adjacency with vipd-a despite the wrong authentication: {v2:?}"
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = lab.vipd(VIPD_A).log();
    let refused = log
        .lines()
        .filter(|l| l.contains("reason=\"authentication\"") || l.contains("reason=authentication"))
        .count();
    println!(
        "vipd-a refused {refused} packets for authentication in {WATCH:?} (logs in {})",
        lab.dir().display()
    );
    assert!(
        refused > 0,
        "vipd-a logged no authentication drops:\n{}",
        log.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
}
