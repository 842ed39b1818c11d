//! When the router goes away and comes back, vipd retries with a growing
//! backoff and re-announces everything once the sessions are back. Against
//! each of BIRD, FRR and GoBGP.
//!
//! ```text
//!   vipd-ebgp (AS 65001) --eth1-- router (AS 65000) --eth2-- vipd-ibgp (AS 65000)
//!                                 stopped, then started
//! ```
//!
//! 1. Deploy `containerlab/interop-<router>.clab.yml`; wait for all sessions
//!    and all eight matrix cells.
//! 2. Stop the router (by pid). Its namespace stays, so vipd's connects are
//!    refused.
//! 3. Both vipds log `connect failed` for every peer, at least three times,
//!    with `retry_in` growing (connect_retry 1 s doubling to 8 s).
//! 4. Start the router again: all sessions come back and all eight cells
//!    are on the router again.

use std::net::IpAddr;
use std::time::Duration;

use crate::clab::Deployment;
use crate::harness::{RouterKind, Vipd, field, parse_debug_duration, wait_until};
use crate::interop::{
    Cell, ROUTER, Role, SESSION_DEADLINE, VipdNode, topology, wait_cells, wait_sessions,
};

/// How many refused connects to see before bringing the router back.
const FAILED_CONNECTS: usize = 3;

#[test]
fn vipd_reconnects_to_bird_after_it_restarts() {
    vipd_reconnects_after_router_restart(RouterKind::Bird);
}

#[test]
fn vipd_reconnects_to_frr_after_it_restarts() {
    vipd_reconnects_after_router_restart(RouterKind::Frr);
}

#[test]
fn vipd_reconnects_to_gobgp_after_it_restarts() {
    vipd_reconnects_after_router_restart(RouterKind::Gobgp);
}

fn vipd_reconnects_after_router_restart(kind: RouterKind) {
    let nodes = Role::ALL.map(|role| VipdNode::load(kind, role));
    let cells: Vec<Cell> = nodes.iter().flat_map(|n| n.cells(kind)).collect();
    let mut lab = Deployment::up(topology(kind));
    wait_sessions(&lab, &[&nodes[0], &nodes[1]]).unwrap_or_else(|e| panic!("{kind}: {e}"));
    wait_cells(&lab, &cells).unwrap_or_else(|e| panic!("{kind} before the restart: {e}"));

    let marks = nodes.each_ref().map(|n| lab.vipd(n.role.node()).log_len());
    lab.router_mut(ROUTER)
        .stop()
        .unwrap_or_else(|e| panic!("cannot stop {kind}: {e}"));
    for (node, mark) in nodes.iter().zip(marks) {
        let vipd = lab.vipd(node.role.node());
        for session in &node.sessions {
            let peer = session.router_address;
            wait_until(SESSION_DEADLINE, || {
                growing_retries(vipd, mark, peer).map(|_| ())
            })
            .unwrap_or_else(|e| panic!("{kind}: {} -> {peer}: {e}", node.role.node()));
            let delays = growing_retries(vipd, mark, peer).unwrap_or_default();
            println!(
                "{kind}: {} -> {peer} connect failed, retry_in {delays:?}",
                node.role.node()
            );
        }
    }

    lab.router_mut(ROUTER)
        .start()
        .unwrap_or_else(|e| panic!("cannot restart {kind}: {e}"));
    wait_sessions(&lab, &[&nodes[0], &nodes[1]])
        .unwrap_or_else(|e| panic!("{kind} after the restart: {e}"));
    wait_cells(&lab, &cells).unwrap_or_else(|e| panic!("{kind} after the restart: {e}"));
    println!(
        "{kind}: all sessions and all {} cells are back",
        cells.len()
    );
}

/// The `retry_in` of the first [`FAILED_CONNECTS`] `connect failed` lines
/// for `peer` since `mark`, if there are that many and they grow.
fn growing_retries(vipd: &Vipd, mark: usize, peer: IpAddr) -> Result<Vec<Duration>, String> {
    let lines = vipd.peer_lines(mark, "connect failed", peer);
    if lines.len() < FAILED_CONNECTS {
        return Err(format!(
            "{} `connect failed` lines for peer={peer} so far, want {FAILED_CONNECTS}",
            lines.len()
        ));
    }
    let delays = lines[..FAILED_CONNECTS]
        .iter()
        .map(|line| {
            field(line, "retry_in")
                .and_then(parse_debug_duration)
                .ok_or_else(|| format!("no retry_in=<duration> in {line:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if delays.windows(2).all(|w| w[1] > w[0]) {
        Ok(delays)
    } else {
        Err(format!(
            "retry_in does not grow: {delays:?}\n{}",
            lines.join("\n")
        ))
    }
}
