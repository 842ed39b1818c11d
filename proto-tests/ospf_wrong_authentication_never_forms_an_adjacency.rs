//! OSPFv2 cryptographic authentication: with the right keys (keyed MD5 with
//! FRR, HMAC-SHA-256 with BIRD) vipd-a's adjacencies form in every other
//! scenario; with a wrong key, or the right key under another key ID, no
//! OSPFv2 adjacency ever forms and both sides count the drops.
//!
//! 1. Deploy `containerlab/ospf.clab.yml`; give vipd-a's config the wrong
//!    key towards FRR (eth1) and the right key under the wrong key ID
//!    towards BIRD (eth2); start both vipd nodes (`vipd run`).
//! 2. For 10 s (10 Hello intervals, 2.5 dead intervals): neither router
//!    lists vipd-a as an OSPFv2 neighbor in any state past Init; OSPFv3 on
//!    the same links (no authentication) does reach Full, and vipd-b (no
//!    authentication configured on either side) reaches Full in OSPFv2.
//! 3. vipd-a logged the refused packets and counts them: `vipd status`
//!    shows OSPFv2 drops for `authentication` and no OSPFv2 neighbor Full,
//!    and its metrics endpoint (added to its config) the same count.
#![cfg(feature = "ospf")]

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::ospf::Ospf;
use crate::harness::ospf::OspfLab;
use crate::harness::wait_until;
use crate::ospf_vips_reach_frr_and_bird::{CONVERGE, VIPD_A, VIPD_A_RID, VIPD_B_RID};

const WATCH: Duration = Duration::from_secs(10);
/// vipd-a's metrics endpoint, on its namespace's loopback.
const METRICS: &str = "127.0.0.1:9179";

#[test]
fn wrong_key_or_key_id_never_forms_an_ospfv2_adjacency() {
    let mut lab = OspfLab::up_with("ospf", |node, text| {
        if node != VIPD_A {
            return text.to_string();
        }
        let wrong = text
            .replacen(
                "[speaker]\n",
                &format!("[speaker]\nmetrics = \"{METRICS}\"\n"),
                1,
            )
            .replacen(
                r#"auth = { type = "md5", key_id = 1, key = "vipd-md5" }"#,
                r#"auth = { type = "md5", key_id = 1, key = "not-the-key" }"#,
                1,
            )
            .replacen(
                r#"auth = { type = "hmac-sha-256", key_id = 2, key = "vipd-sha" }"#,
                r#"auth = { type = "hmac-sha-256", key_id = 3, key = "vipd-sha" }"#,
                1,
            );
        assert_eq!(
            wrong.matches("not-the-key").count() + wrong.matches("key_id = 3").count(),
            2,
            "vipd-a's auth lines changed; update this test"
        );
        assert!(
            wrong.contains(METRICS),
            "vipd-a's config has no [speaker] line"
        );
        wrong
    });
    lab.start_vipds();
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
    let status = lab.ospf_status(VIPD_A).unwrap_or_else(|e| panic!("{e}"));
    let v2 = status
        .iter()
        .find(|o| o.get("version").and_then(Value::as_str) == Some("OSPFv2"))
        .unwrap_or_else(|| panic!("no OSPFv2 in vipd-a's status: {status:?}"));
    let counted = v2
        .pointer("/dropped/authentication")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    println!("vipd-a's `vipd status`: OSPFv2 dropped {}", v2["dropped"]);
    assert!(
        counted > 0,
        "vipd-a's status counts no authentication drops: {v2}"
    );
    let full: Vec<&Value> = v2
        .get("neighbors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|n| n.get("state").and_then(Value::as_str) == Some("Full"))
        .collect();
    assert!(
        full.is_empty(),
        "vipd-a has OSPFv2 neighbors Full: {full:?}"
    );

    // The same counter on the metrics endpoint (at least as many: it is
    // scraped after the status was taken).
    let url = format!("http://{METRICS}/metrics");
    let scrape = lab.namespaces[VIPD_A]
        .exec("curl", &["-sS", "--max-time", "5", &url])
        .unwrap_or_else(|e| panic!("scraping vipd-a: {e}"))
        .stdout;
    let metric = r#"vipd_ospf_dropped_total{version="OSPFv2",reason="authentication"} "#;
    let scraped: u64 = scrape
        .lines()
        .find_map(|l| l.strip_prefix(metric))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {metric:?} in vipd-a's metrics:\n{scrape}"));
    println!("vipd-a's metrics: {metric}{scraped}");
    assert!(scraped >= counted, "metrics {scraped} < status {counted}");
}
