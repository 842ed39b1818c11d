//! When vipd and the router connect to each other at the same moment, the
//! collision is resolved to exactly one session, which carries the routes.
//! Against each of BIRD, FRR and GoBGP (all three connect actively).
//!
//! ```text
//!   vipd-ebgp (AS 65001)  <==eth1==>  router (AS 65000)
//!   listens on [::]:179, connects     connects
//! ```
//!
//! 1. Deploy `containerlab/interop-<router>.clab.yml`; wait for vipd-ebgp's
//!    sessions and cells.
//! 2. Round 1..=3: stop the router and kill vipd-ebgp; make each side's
//!    packets to the other vanish on the wire (a bogus neighbor MAC on both
//!    sides: no error, the SYNs are just lost); start both back to back; a
//!    few seconds later restore the wire. Both sides now have connects in
//!    flight, and their retransmitted SYNs complete both connections.
//! 3. After each round: the router has both sessions Established, vipd-ebgp's
//!    namespace holds exactly one established BGP connection per peer (also
//!    after a short settle), and vipd-ebgp's four cells are on the router.
//! 4. Print how many `connection collision resolved` lines vipd logged (a
//!    collision is likely, not guaranteed, so it is not asserted).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::thread;
use std::time::Duration;

use crate::clab::Deployment;
use crate::harness::{RouterKind, wait_until};
use crate::interop::{
    ROUTER, Role, SESSION_DEADLINE, VipdNode, topology, wait_cells, wait_sessions,
};

const ROUNDS: usize = 3;
/// How long both sides' connects stay in flight (SYNs lost) before the wire
/// is restored and retransmitted SYNs complete connections from both sides.
const IN_FLIGHT: Duration = Duration::from_secs(3);
/// Time for a losing connection to be closed before the count is re-checked.
const SETTLE: Duration = Duration::from_secs(2);

#[test]
fn collision_with_bird_leaves_one_session() {
    collision_leaves_one_session(RouterKind::Bird);
}

#[test]
fn collision_with_frr_leaves_one_session() {
    collision_leaves_one_session(RouterKind::Frr);
}

#[test]
fn collision_with_gobgp_leaves_one_session() {
    collision_leaves_one_session(RouterKind::Gobgp);
}

fn collision_leaves_one_session(kind: RouterKind) {
    let ebgp = VipdNode::load(kind, Role::Ebgp);
    let cells = ebgp.cells(kind);
    let mut lab = Deployment::up(topology(kind));
    wait_sessions(&lab, &[&ebgp]).unwrap_or_else(|e| panic!("{kind}: {e}"));
    wait_cells(&lab, &cells).unwrap_or_else(|e| panic!("{kind}: {e}"));

    for round in 1..=ROUNDS {
        let (router, vipd) = lab.router_and_vipd_mut(ROUTER, Role::Ebgp.node());
        router
            .stop()
            .unwrap_or_else(|e| panic!("round {round}: cannot stop {kind}: {e}"));
        vipd.kill();
        cut_wire(&lab, &ebgp, true);
        let (router, vipd) = lab.router_and_vipd_mut(ROUTER, Role::Ebgp.node());
        vipd.start()
            .unwrap_or_else(|e| panic!("round {round}: cannot start vipd: {e}"));
        router
            .start()
            .unwrap_or_else(|e| panic!("round {round}: cannot start {kind}: {e}"));
        thread::sleep(IN_FLIGHT);
        cut_wire(&lab, &ebgp, false);

        wait_sessions(&lab, &[&ebgp]).unwrap_or_else(|e| panic!("{kind} round {round}: {e}"));
        let peers: Vec<IpAddr> = ebgp.sessions.iter().map(|s| s.router_address).collect();
        wait_until(SESSION_DEADLINE, || one_connection_per_peer(&lab, &peers))
            .unwrap_or_else(|e| panic!("{kind} round {round}: {e}"));
        wait_cells(&lab, &cells).unwrap_or_else(|e| panic!("{kind} round {round}: {e}"));
        thread::sleep(SETTLE);
        one_connection_per_peer(&lab, &peers)
            .unwrap_or_else(|e| panic!("{kind} round {round}, after settling: {e}"));
        wait_sessions(&lab, &[&ebgp])
            .unwrap_or_else(|e| panic!("{kind} round {round}, after settling: {e}"));
        println!("{kind} round {round}: one session per peer, routes present");
    }
    let resolved = lab
        .vipd(Role::Ebgp.node())
        .log()
        .matches("connection collision resolved")
        .count();
    println!(
        "{kind}: vipd logged `connection collision resolved` {resolved} times in {ROUNDS} rounds"
    );
}

/// Makes vipd-ebgp and the router unable to reach each other on the wire
/// (or lifts that), without an error on either side: connects from both
/// sides stay in flight, retransmitting their SYNs, until it is lifted.
fn cut_wire(lab: &Deployment, node: &VipdNode, cut: bool) {
    for session in &node.sessions {
        for (ns, addr) in [
            (lab.ns(ROUTER), session.vipd_address),
            (lab.ns(Role::Ebgp.node()), session.router_address),
        ] {
            let done = if cut {
                ns.misdirect(addr)
            } else {
                ns.restore_neighbor(addr)
            };
            done.unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Exactly one established TCP connection on port 179 between vipd-ebgp and
/// each of `peers`, counted by `ss` in vipd-ebgp's namespace.
fn one_connection_per_peer(lab: &Deployment, peers: &[IpAddr]) -> Result<(), String> {
    let conns = lab.ns(Role::Ebgp.node()).bgp_connections()?;
    let mut per_peer: BTreeMap<IpAddr, usize> = BTreeMap::new();
    for (_, remote) in &conns {
        *per_peer.entry(remote.ip()).or_default() += 1;
    }
    let wrong: Vec<String> = peers
        .iter()
        .map(|p| (p, per_peer.get(p).copied().unwrap_or(0)))
        .filter(|(_, n)| *n != 1)
        .map(|(p, n)| format!("{n} connections with {p}"))
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "want exactly one per peer: {} (all: {conns:?})",
            wrong.join(", ")
        ))
    }
}
