//! A router that goes silent is dropped by vipd when the hold timer (3 s
//! here) expires, and the session comes back once the router speaks again.
//! Against each of BIRD, FRR and GoBGP.
//!
//! ```text
//!   vipd-ebgp (AS 65001) --eth1-- router (AS 65000) --eth2-- vipd-ibgp (AS 65000)
//!   hold 9, untouched             goes silent to vipd-ibgp   hold 3
//! ```
//!
//! 1. Deploy `containerlab/interop-<router>.clab.yml`; wait for all sessions.
//! 2. In the router's namespace, pin vipd-ibgp's two addresses to a MAC no
//!    interface has: everything the router sends to vipd-ibgp (KEEPALIVEs,
//!    ACKs) is dropped on the wire, while links, routes and the router's own
//!    view of the session stay as they were.
//! 3. vipd-ibgp logs `session closed` with `hold timer expired` for both its
//!    peers, about 3 s later (the deadline is generous; the time is printed).
//! 4. vipd-ebgp's sessions are still Established: only the silenced side
//!    expired.
//! 5. Restore the neighbor entries: vipd-ibgp's sessions come back.

use std::time::Instant;

use crate::clab::Deployment;
use crate::harness::{RouterKind, wait_until};
use crate::interop::{ROUTER, Role, SESSION_DEADLINE, VipdNode, topology, wait_sessions};

#[test]
fn vipd_drops_a_silent_bird_when_the_hold_timer_expires() {
    vipd_drops_a_silent_router_when_the_hold_timer_expires(RouterKind::Bird);
}

#[test]
fn vipd_drops_a_silent_frr_when_the_hold_timer_expires() {
    vipd_drops_a_silent_router_when_the_hold_timer_expires(RouterKind::Frr);
}

#[test]
fn vipd_drops_a_silent_gobgp_when_the_hold_timer_expires() {
    vipd_drops_a_silent_router_when_the_hold_timer_expires(RouterKind::Gobgp);
}

fn vipd_drops_a_silent_router_when_the_hold_timer_expires(kind: RouterKind) {
    let [ebgp, ibgp] = Role::ALL.map(|role| VipdNode::load(kind, role));
    let lab = Deployment::up(topology(kind));
    wait_sessions(&lab, &[&ebgp, &ibgp]).unwrap_or_else(|e| panic!("{kind}: {e}"));

    let vipd = lab.vipd(Role::Ibgp.node());
    let mark = vipd.log_len();
    let router_ns = lab.ns(ROUTER);
    let silenced = Instant::now();
    for session in &ibgp.sessions {
        router_ns
            .misdirect(session.vipd_address)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    for session in &ibgp.sessions {
        let peer = session.router_address;
        wait_until(SESSION_DEADLINE, || {
            let closed = vipd.peer_lines(mark, "session closed", peer);
            match closed.first() {
                Some(line) if line.contains("hold timer expired") => Ok(()),
                Some(line) => Err(format!("closed for another reason: {line}")),
                None => Err(format!("no `session closed` for peer={peer} yet")),
            }
        })
        .unwrap_or_else(|e| panic!("{kind}: vipd-ibgp -> {peer}: {e}"));
        println!(
            "{kind}: vipd-ibgp -> {peer}: hold timer expired (seen {:.1}s after the router went silent)",
            silenced.elapsed().as_secs_f64()
        );
    }
    assert!(
        !lab.vipd(Role::Ebgp.node())
            .log_contains("hold timer expired"),
        "{kind}: vipd-ebgp's hold timer must not expire: its link was not silenced"
    );
    for session in &ebgp.sessions {
        assert!(
            lab.router(ROUTER)
                .session_established(session.vipd_address)
                .unwrap_or_else(|e| panic!("{kind}: {e}")),
            "{kind}: the eBGP session with {} must not be touched",
            session.vipd_address
        );
    }

    for session in &ibgp.sessions {
        router_ns
            .restore_neighbor(session.vipd_address)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    wait_sessions(&lab, &[&ibgp]).unwrap_or_else(|e| panic!("{kind} after the silence: {e}"));
}
