//! `vipd status` against a node peering with BIRD shows what BIRD shows:
//! both sessions Established, both VIPs up and announced; `vipd drain`
//! reaches the router as GRACEFUL_SHUTDOWN and `vipd undrain` takes it back.
//!
//! ```text
//!   vipd-ebgp (AS 65001) --eth1-- router: BIRD (AS 65000)
//!   status/drain over its control socket
//! ```
//!
//! 1. Deploy `containerlab/interop-bird.clab.yml` with only vipd-ebgp
//!    running; wait for its sessions and its four cells on BIRD.
//! 2. `vipd status --json`: each peer Established with both VIPs announced,
//!    one OPEN each way, UPDATEs sent; each VIP up, no checks.
//! 3. `vipd status`: the PEERS and VIPS tables list the same.
//! 4. `vipd drain 198.18.1.1`: status says draining, and BIRD sees the
//!    route with GRACEFUL_SHUTDOWN (65535:0, RFC 8326).
//! 5. `vipd undrain 198.18.1.1`: status says up, and BIRD has the route as
//!    configured again.

use crate::control_node::{EditedNode, deploy, peer, vip};
use crate::harness::{RouterKind, wait_until};
use crate::interop::{ROUTE_DEADLINE, ROUTER, Role, VipdNode, wait_cells, wait_sessions};

const DRAINED: &str = "198.18.1.1/32";

#[test]
fn vipd_status_shows_the_bird_sessions_established_and_drain_reaches_bird() {
    let kind = RouterKind::Bird;
    let node = VipdNode::load(kind, Role::Ebgp);
    let cells = node.cells(kind);
    let (lab, vipd) = deploy(kind, Role::Ebgp, |text, _| text.to_string());
    wait_sessions(&lab, &[&node]).unwrap_or_else(|e| panic!("{e}"));
    wait_cells(&lab, &cells).unwrap_or_else(|e| panic!("{e}"));

    // 2. JSON: vipd's view agrees with BIRD's.
    let status = wait_for_status(&vipd, "every session Established, every VIP up", |s| {
        let sessions = node
            .sessions
            .iter()
            .all(|n| peer(s, n.router_address)["state"] == "Established");
        let vips = node
            .vips
            .iter()
            .all(|v| vip(s, &v.prefix.to_string()).is_some_and(|v| v["state"] == "up"));
        sessions && vips
    });
    for session in &node.sessions {
        let p = peer(&status, session.router_address);
        assert_eq!(p["remote_asn"], 65000, "{p:#}");
        assert_eq!(p["local_asn"], 65001, "{p:#}");
        assert_eq!(p["prefixes_announced"], node.vips.len(), "{p:#}");
        assert_eq!(p["messages_received"]["open"], 1, "{p:#}");
        assert_eq!(p["messages_sent"]["open"], 1, "{p:#}");
        assert!(p["messages_sent"]["update"].as_u64() >= Some(1), "{p:#}");
        assert!(p["for_seconds"].as_f64().is_some(), "{p:#}");
        println!(
            "vipd status: {} {} since {}",
            p["address"], p["state"], p["since"]
        );
    }
    for v in &node.vips {
        let entry = vip(&status, &v.prefix.to_string()).unwrap_or_default();
        assert_eq!(entry["admin_drain"], false, "{entry:#}");
        assert_eq!(entry["checks"], serde_json::json!([]), "{entry:#}");
    }

    // 3. The tables.
    let text = vipd.ctl_ok(&["status"]);
    println!("{text}");
    assert!(text.contains("PEERS") && text.contains("VIPS"), "{text}");
    for session in &node.sessions {
        let row = row(&text, &session.router_address.to_string());
        assert!(
            row.contains("65000") && row.contains("Established"),
            "{row}"
        );
    }
    for v in &node.vips {
        let row = row(&text, &v.prefix.to_string());
        assert!(row.split_whitespace().nth(1) == Some("up"), "{row}");
    }

    // 4. Drain one VIP: the router sees GRACEFUL_SHUTDOWN on it.
    let out = vipd.ctl_ok(&["drain", "198.18.1.1"]);
    assert_eq!(out, format!("{DRAINED}: draining\n"));
    let status = vipd.status();
    let drained = vip(&status, DRAINED).unwrap_or_default();
    assert_eq!(drained["admin_drain"], true, "{drained:#}");
    assert_ne!(drained["state"], "up", "{drained:#}");
    let drained_cells: Vec<_> = cells
        .iter()
        .filter(|c| c.vip.prefix.to_string() == DRAINED)
        .collect();
    wait_until(ROUTE_DEADLINE, || {
        let routes = lab.router(ROUTER).routes()?;
        for cell in &drained_cells {
            let found = routes
                .iter()
                .find(|r| r.prefix == cell.expected.prefix && r.peer == cell.expected.peer);
            match found {
                Some(r) if r.communities.iter().any(|c| c == "65535:0") => {}
                // Withdrawn already: its drain_time (10 s) is over.
                None => {}
                Some(r) => return Err(format!("no GRACEFUL_SHUTDOWN yet: {r}")),
            }
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("drain: {e}"));
    println!("BIRD sees {DRAINED} draining");

    // 5. Undrain: back as configured.
    let out = vipd.ctl_ok(&["undrain", DRAINED]);
    assert_eq!(out, format!("{DRAINED}: undrained\n"));
    wait_cells(&lab, &cells).unwrap_or_else(|e| panic!("undrain: {e}"));
    let status = vipd.status();
    let undrained = vip(&status, DRAINED).unwrap_or_default();
    assert_eq!(undrained["state"], "up", "{undrained:#}");
    assert_eq!(undrained["admin_drain"], false, "{undrained:#}");
}

fn wait_for_status(
    vipd: &EditedNode,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    wait_until(ROUTE_DEADLINE, || {
        last = vipd.status();
        if check(&last) {
            Ok(())
        } else {
            Err(format!("not {what}: {last:#}"))
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    last
}

/// The table row whose first or second cell is `key`.
fn row<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find(|l| l.split_whitespace().take(2).any(|w| w == key))
        .unwrap_or_else(|| panic!("no row for {key} in\n{text}"))
}
