//! A live reload changes exactly what the file changed: BIRD sees an added
//! VIP appear, a removed one go, a changed community change, while both
//! sessions stay up (BIRD's "Since" for them never moves); a broken file
//! changes nothing and `vipd reload` exits 2 naming the error; SIGHUP
//! reloads the same way.
//!
//! ```text
//!   vipd-ebgp (AS 65001) --eth1-- router: BIRD (AS 65000)
//!   config copy in the lab dir, edited between steps
//! ```
//!
//! 1. Deploy `containerlab/interop-bird.clab.yml` with only vipd-ebgp
//!    running, from a copy of its config; wait for its sessions and cells.
//!    Note BIRD's `show protocols` line of both sessions and vipd's OPEN
//!    counts.
//! 2. Add VIP 198.18.1.3/32 (community 65000:13); `vipd reload` prints
//!    "VIP 198.18.1.3/32 added"; BIRD has it over both sessions.
//! 3. Remove VIP fd00:198:18:1::1/128; `vipd reload`; BIRD drops it.
//! 4. Change 198.18.1.1/32's community to 65000:99; `vipd reload`; BIRD
//!    shows the new community.
//! 5. BIRD's protocol lines are unchanged (same state, same Since), and
//!    vipd sent no second OPEN: no session was reset.
//! 6. Break the file (a prefix that does not parse); `vipd reload` exits 2,
//!    prints the error with its line, and BIRD's routes stay as in step 4.
//! 7. Restore the original file and send SIGHUP: BIRD has exactly the
//!    original cells again, still over the same sessions.

use std::net::IpAddr;

use crate::control_node::{EditedNode, bird_protocol_line, deploy, peer};
use crate::harness::{RouterKind, wait_until};
use crate::interop::{
    Cell, ROUTE_DEADLINE, ROUTER, Role, VipdNode, wait_cells, wait_cells_gone, wait_sessions,
};

const ADDED: &str = "198.18.1.3/32";
const REMOVED: &str = "fd00:198:18:1::1/128";
const CHANGED: &str = "198.18.1.1/32";

#[test]
fn reload_adds_removes_and_changes_vips_on_bird_without_resetting_sessions() {
    let kind = RouterKind::Bird;
    let node = VipdNode::load(kind, Role::Ebgp);
    let original_cells = node.cells(kind);
    let (lab, vipd) = deploy(kind, Role::Ebgp, |text, _| text.to_string());
    wait_sessions(&lab, &[&node]).unwrap_or_else(|e| panic!("{e}"));
    wait_cells(&lab, &original_cells).unwrap_or_else(|e| panic!("{e}"));
    let neighbors: Vec<IpAddr> = node.sessions.iter().map(|s| s.vipd_address).collect();
    let sessions_before = protocol_lines(&lab, &neighbors);
    let opens_before = opens_sent(&vipd, &node);
    println!("BIRD before the reloads: {sessions_before:#?}");

    // 2. Add a VIP.
    let added = format!(
        "{}\n[[vip]]\nprefix = \"{ADDED}\"\ncommunities = [\"65000:13\"]\n",
        vipd.original
    );
    vipd.write(&added);
    let out = vipd.ctl_ok(&["reload"]);
    assert_eq!(out, format!("config reloaded:\n  VIP {ADDED} added\n"));
    let added_cells = cells_for(&original_cells, CHANGED, |cell| {
        cell.vip.prefix = ADDED.parse().unwrap_or(cell.vip.prefix);
        cell.expected.prefix = cell.vip.prefix;
        cell.expected.communities = vec!["65000:13".into()];
        cell.expected.large_communities = vec![];
        cell.expected.med = None;
        cell.expected.as_path = vec![node.asn];
    });
    wait_cells(&lab, &added_cells).unwrap_or_else(|e| panic!("added VIP: {e}"));
    println!("BIRD has the added VIP {ADDED}");

    // 3. Remove one.
    let removed = without_vip(&added, REMOVED);
    vipd.write(&removed);
    let out = vipd.ctl_ok(&["reload"]);
    assert_eq!(out, format!("config reloaded:\n  VIP {REMOVED} removed\n"));
    let removed_cells = cells_for(&original_cells, REMOVED, |_| {});
    wait_cells_gone(&lab, &removed_cells).unwrap_or_else(|e| panic!("removed VIP: {e}"));
    println!("BIRD no longer has the removed VIP {REMOVED}");

    // 4. Change a community.
    let changed = removed.replacen(
        "communities = [\"65000:11\"]",
        "communities = [\"65000:99\"]",
        1,
    );
    assert_ne!(changed, removed, "the config has no 65000:11 community");
    vipd.write(&changed);
    let out = vipd.ctl_ok(&["reload"]);
    assert_eq!(out, format!("config reloaded:\n  VIP {CHANGED} changed\n"));
    let changed_cells = cells_for(&original_cells, CHANGED, |cell| {
        cell.expected.communities = vec!["65000:99".into()];
    });
    wait_cells(&lab, &changed_cells).unwrap_or_else(|e| panic!("changed VIP: {e}"));
    println!("BIRD shows {CHANGED} with community 65000:99");

    // 5. Nothing of that reset a session.
    assert_eq!(
        protocol_lines(&lab, &neighbors),
        sessions_before,
        "a session was reset"
    );
    assert_eq!(
        opens_sent(&vipd, &node),
        opens_before,
        "vipd sent a new OPEN"
    );

    // 6. A broken file changes nothing.
    vipd.write(&changed.replacen(CHANGED, "198.18.1.300/32", 1));
    let out = vipd.vipd.ctl(&["reload"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("the new config has errors; the running config stays")
            && out.stderr.contains("\"198.18.1.300/32\" is not"),
        "stderr: {}",
        out.stderr
    );
    println!("vipd reload refused the broken file:\n{}", out.stderr);
    let still: Vec<Cell> = [added_cells.clone(), changed_cells.clone()].concat();
    wait_cells(&lab, &still).unwrap_or_else(|e| panic!("after the refused reload: {e}"));
    wait_cells_gone(&lab, &removed_cells)
        .unwrap_or_else(|e| panic!("after the refused reload: {e}"));

    // 7. SIGHUP, back to the original file.
    vipd.write(&vipd.original);
    let mark = vipd.vipd.log_len();
    assert!(vipd.vipd.signal(libc::SIGHUP), "vipd is not running");
    wait_cells(&lab, &original_cells).unwrap_or_else(|e| panic!("after SIGHUP: {e}"));
    wait_cells_gone(&lab, &added_cells).unwrap_or_else(|e| panic!("after SIGHUP: {e}"));
    wait_until(ROUTE_DEADLINE, || {
        let log = vipd.vipd.log();
        let since = log.get(mark..).unwrap_or_default();
        if since.contains("reloading the config") && since.contains("source=\"sighup\"") {
            Ok(())
        } else {
            Err(format!("no SIGHUP reload logged:\n{since}"))
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        protocol_lines(&lab, &neighbors),
        sessions_before,
        "a session was reset"
    );
    println!("SIGHUP restored the original VIPs; sessions untouched");
}

/// BIRD's `show protocols` line for each neighbor.
fn protocol_lines(lab: &crate::clab::Deployment, neighbors: &[IpAddr]) -> Vec<String> {
    neighbors
        .iter()
        .map(|n| bird_protocol_line(lab.router(ROUTER), *n).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// OPENs vipd sent on each session, from `vipd status --json`.
fn opens_sent(vipd: &EditedNode, node: &VipdNode) -> Vec<u64> {
    let status = vipd.status();
    node.sessions
        .iter()
        .map(|s| {
            peer(&status, s.router_address)["messages_sent"]["open"]
                .as_u64()
                .unwrap_or_default()
        })
        .collect()
}

/// The cells of `prefix`, changed by `edit`.
fn cells_for(cells: &[Cell], prefix: &str, edit: impl Fn(&mut Cell)) -> Vec<Cell> {
    let found: Vec<Cell> = cells
        .iter()
        .filter(|c| c.vip.prefix.to_string() == prefix)
        .cloned()
        .map(|mut c| {
            edit(&mut c);
            c
        })
        .collect();
    assert!(!found.is_empty(), "no cells for {prefix}");
    found
}

/// `text` without the `[[vip]]` table whose prefix is `prefix`.
fn without_vip(text: &str, prefix: &str) -> String {
    let mut parts = text.split("\n[[vip]]\n");
    let mut out = parts.next().unwrap_or_default().to_string();
    let mut dropped = false;
    for table in parts {
        if table.contains(&format!("prefix = \"{prefix}\"")) {
            dropped = true;
            continue;
        }
        out.push_str("\n[[vip]]\n");
        out.push_str(table);
    }
    assert!(dropped, "no [[vip]] with prefix {prefix}");
    out
}
