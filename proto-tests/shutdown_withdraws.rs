//! SIGTERM makes vipd withdraw its VIPs, say goodbye with a Cease, and exit 0
//! within about a second; the router drops exactly that node's routes.
//! Against each of BIRD, FRR and GoBGP.
//!
//! ```text
//!   vipd-ebgp (AS 65001) --eth1-- router (AS 65000) --eth2-- vipd-ibgp (AS 65000)
//!   gets SIGTERM                                        keeps running
//! ```
//!
//! 1. Deploy `containerlab/interop-<router>.clab.yml`; wait for all sessions
//!    and all eight matrix cells on the router.
//! 2. SIGTERM vipd-ebgp by pid; it exits with status 0 within a generous 3 s
//!    (the requirement is 1 s; the measured time is printed).
//! 3. On the wire (tcpdump in vipd-ebgp's namespace), each session carried
//!    UPDATEs withdrawing both VIPs before the NOTIFICATION Cease.
//! 4. The router no longer has vipd-ebgp's four cells, and still has
//!    vipd-ibgp's four (the withdrawal is targeted, not a router reset).
//! 5. The router recorded a Cease/Administrative Shutdown on both sessions
//!    (BIRD and FRR in the session state, GoBGP in its log).

use std::net::IpAddr;
use std::time::Duration;

use crate::clab::Deployment;
use crate::harness::{Capture, Router, RouterKind, decoded_from, wait_until};
use crate::interop::{
    Cell, ROUTE_DEADLINE, ROUTER, Role, VipdNode, topology, wait_cells, wait_cells_gone,
    wait_sessions,
};

/// Generous bound on the exit after SIGTERM (the requirement is 1 s; CI
/// machines are noisy, and the time is printed for a human to judge).
const EXIT_DEADLINE: Duration = Duration::from_secs(3);

#[test]
fn sigterm_withdraws_from_bird_and_exits_zero() {
    sigterm_withdraws_and_exits_zero(RouterKind::Bird);
}

#[test]
fn sigterm_withdraws_from_frr_and_exits_zero() {
    sigterm_withdraws_and_exits_zero(RouterKind::Frr);
}

#[test]
fn sigterm_withdraws_from_gobgp_and_exits_zero() {
    sigterm_withdraws_and_exits_zero(RouterKind::Gobgp);
}

fn sigterm_withdraws_and_exits_zero(kind: RouterKind) {
    let [ebgp, ibgp] = Role::ALL.map(|role| VipdNode::load(kind, role));
    let leaving: Vec<Cell> = ebgp.cells(kind);
    let staying: Vec<Cell> = ibgp.cells(kind);

    let mut lab = Deployment::up(topology(kind));
    wait_sessions(&lab, &[&ebgp, &ibgp]).unwrap_or_else(|e| panic!("{kind}: {e}"));
    wait_cells(&lab, &[leaving.clone(), staying.clone()].concat())
        .unwrap_or_else(|e| panic!("{kind} before SIGTERM: {e}"));

    let capture = Capture::start(lab.ns(Role::Ebgp.node()), "eth1", "vipd-ebgp")
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, took) = lab
        .vipd_mut(Role::Ebgp.node())
        .terminate()
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    println!("{kind}: vipd-ebgp exited with {status} {took:?} after SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "{kind}: vipd must exit 0 on SIGTERM, got {status}"
    );
    assert!(
        took <= EXIT_DEADLINE,
        "{kind}: vipd took {took:?} to exit after SIGTERM (bound {EXIT_DEADLINE:?})"
    );

    let wire = capture.finish().unwrap_or_else(|e| panic!("{e}"));
    for session in &ebgp.sessions {
        withdrawn_before_cease(&wire, session.vipd_address, &ebgp)
            .unwrap_or_else(|e| panic!("{kind}: on the wire from {}: {e}", session.vipd_address));
    }
    wait_cells_gone(&lab, &leaving)
        .unwrap_or_else(|e| panic!("{kind}: vipd-ebgp's routes did not leave: {e}"));
    wait_cells(&lab, &staying)
        .unwrap_or_else(|e| panic!("{kind}: vipd-ibgp's routes must stay: {e}"));
    for session in &ebgp.sessions {
        let neighbor = session.vipd_address;
        wait_until(ROUTE_DEADLINE, || {
            router_recorded_administrative_shutdown(lab.router(ROUTER), neighbor)
        })
        .unwrap_or_else(|e| panic!("{kind} on {neighbor}: {e}"));
    }
}

/// What vipd sent on one session, as tcpdump decodes it: an UPDATE
/// withdrawing every VIP (Withdrawn Routes or MP_UNREACH_NLRI), then the
/// NOTIFICATION Cease/Administrative Shutdown.
fn withdrawn_before_cease(wire: &str, from: IpAddr, node: &VipdNode) -> Result<(), String> {
    let sent = decoded_from(wire, from);
    let shown = || sent.join("\n");
    let cease = sent
        .iter()
        .position(|l| {
            l.starts_with("Notification Message") && l.contains("subcode Administrative Shutdown")
        })
        .ok_or_else(|| {
            format!(
                "no NOTIFICATION Cease/Administrative Shutdown:\n{}",
                shown()
            )
        })?;
    let mut withdrawn = Vec::new();
    let mut in_withdrawal = false;
    for line in &sent[..cease] {
        if line.starts_with("Update Message") {
            in_withdrawal = false;
        } else if line.starts_with("Withdrawn routes")
            || line.starts_with("Multi-Protocol Unreach NLRI")
        {
            in_withdrawal = true;
        } else if in_withdrawal {
            withdrawn.push(line.as_str());
        }
    }
    let missing: Vec<String> = node
        .vips
        .iter()
        .map(|v| v.prefix.to_string())
        .filter(|p| !withdrawn.contains(&p.as_str()))
        .collect();
    if missing.is_empty() {
        println!("wire from {from}: every VIP withdrawn, then Cease/Administrative Shutdown");
        Ok(())
    } else {
        Err(format!(
            "not withdrawn before the Cease: {missing:?}\n{}",
            shown()
        ))
    }
}

/// The Cease/Administrative Shutdown (RFC 4486 subcode 2) as the router
/// records it: BIRD and FRR in the session state, GoBGP in its log.
fn router_recorded_administrative_shutdown(
    router: &dyn Router,
    neighbor: IpAddr,
) -> Result<(), String> {
    let (seen, wanted) = match router.kind() {
        RouterKind::Bird => (
            router.describe_session(neighbor)?,
            "Received: Administrative shutdown",
        ),
        RouterKind::Frr => (
            router.describe_session(neighbor)?,
            "Cease/Administrative Shutdown",
        ),
        RouterKind::Gobgp => (
            router
                .log()
                .lines()
                .filter(|l| l.contains("Peer Down") && mentions_key(l, neighbor))
                .collect::<Vec<_>>()
                .join("\n"),
            "subcode 2(administrative shutdown)",
        ),
    };
    if seen.contains(wanted) {
        println!("{} recorded for {neighbor}: {wanted}", router.kind());
        Ok(())
    } else {
        Err(format!("no `{wanted}` recorded; router shows:\n{seen}"))
    }
}

/// GoBGP logs the neighbor as `Key=10.255.5.2` or `Key="fd00:255:5::2"`.
fn mentions_key(line: &str, neighbor: IpAddr) -> bool {
    line.contains(&format!("Key={neighbor} ")) || line.contains(&format!("Key=\"{neighbor}\""))
}
