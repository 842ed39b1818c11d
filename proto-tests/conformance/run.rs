//! Runs one case against a fresh vipd and judges what happened.
//!
//! 1. Start vipd in its own namespace; bring the sentinel session up and
//!    check that it received every VIP.
//! 2. Connect the case peer and drive it to the case's stage.
//! 3. Send the case's bytes (at once, or one octet per write).
//! 4. Observe: the NOTIFICATION and the close, or that the session stays up
//!    (a KEEPALIVE arrives and a ROUTE-REFRESH is answered with the VIPs)
//!    and what vipd logged about the UPDATE.
//! 5. The sentinel must have seen nothing: KEEPALIVEs on time, no
//!    withdrawal, VIPs still announced after its own ROUTE-REFRESH.
//! 6. vipd must still run, and exit 0 on SIGTERM.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::cases::{Case, Delivery, Expect, Logged, NotifSpec, Stage};
use super::node::{HOLD_TIME, KEEPALIVE_EVERY, Node, PeerKind, default_vips};
use super::peer::{Event, REPLY_DEADLINE, RawPeer, Reset, describe};
use super::report::Row;
use super::sentinel::Sentinel;
use super::wire::{self, Notif};
use crate::harness::wait_until;

/// Gap between octets when a case is dribbled: long enough for each octet
/// to leave as its own segment.
const DRIBBLE_GAP: Duration = Duration::from_millis(5);
/// How long an ignored message is watched for an unwanted reply.
const IGNORE_WATCH: Duration = Duration::from_millis(1500);
/// How long the log gets to show a line vipd wrote before answering.
const LOG_DEADLINE: Duration = Duration::from_secs(2);
/// Lines of vipd's log kept in a failing row.
const LOG_TAIL: usize = 30;

/// What the case peer saw, and whether that is what the RFC says.
struct Verdict {
    observed: String,
    pass: bool,
}

impl Verdict {
    fn pass(observed: String) -> Verdict {
        Verdict {
            observed,
            pass: true,
        }
    }

    fn fail(observed: String) -> Verdict {
        Verdict {
            observed,
            pass: false,
        }
    }
}

pub fn run(case: &Case) -> Row {
    let mut row = Row::new(
        case.name,
        case.rfc,
        &case.expect.to_string(),
        hex::encode(&case.bytes),
    );
    match panic::catch_unwind(AssertUnwindSafe(|| run_case(case, &mut row))) {
        Ok(()) => {}
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            row.fail(format!("test panicked: {msg}"));
        }
    }
    row
}

fn run_case(case: &Case, row: &mut Row) {
    let mut node = match Node::start(default_vips(), "") {
        Ok(n) => n,
        Err(e) => return row.fail(format!("setup: {e}")),
    };
    let sentinel = match Sentinel::start(&node) {
        Ok(s) => s,
        Err(e) => {
            row.details.push(node.log_tail(LOG_TAIL));
            return row.fail(format!("setup: {e}"));
        }
    };
    let mark = node.vipd.log_len();
    let mut transcript = Vec::new();
    let verdict = drive(&node, case, mark, &mut transcript);
    let seen = sentinel.finish();
    let stopped = node.stop();

    let mut observed = verdict.observed;
    let mut pass = verdict.pass;
    for problem in seen.problems() {
        observed.push_str(&format!("; {problem}"));
        pass = false;
    }
    if let Err(e) = stopped {
        observed.push_str(&format!("; vipd did not survive: {e}"));
        pass = false;
    }
    row.observed = observed;
    row.pass = pass;
    if !pass {
        row.details.push(format!("sentinel: {}", seen.summary()));
        row.details.push(format!(
            "case peer transcript:\n  {}",
            transcript.join("\n  ")
        ));
        row.details
            .push(format!("vipd log (tail):\n{}", node.log_tail(LOG_TAIL)));
    }
}

fn drive(node: &Node, case: &Case, mark: usize, transcript: &mut Vec<String>) -> Verdict {
    let mut peer = match node.connect(case.peer) {
        Ok(p) => p,
        Err(e) => return Verdict::fail(format!("setup: {e}")),
    };
    let verdict = match to_stage(&mut peer, case) {
        Ok(()) => match deliver(&mut peer, case) {
            Ok(()) => judge(node, &mut peer, case, mark),
            Err(e) => Verdict::fail(format!("could not send the case: {e}")),
        },
        Err(e) => Verdict::fail(format!("setup ({:?}): {e}", case.stage)),
    };
    transcript.append(&mut peer.transcript);
    verdict
}

/// Brings the case peer to the case's stage.
fn to_stage(peer: &mut RawPeer, case: &Case) -> Result<(), String> {
    let kind = case.peer;
    peer.expect(wire::OPEN, REPLY_DEADLINE)
        .map_err(|e| format!("waiting for vipd's OPEN: {e}"))?;
    if matches!(case.stage, Stage::OpenSent | Stage::Open) {
        return Ok(());
    }
    peer.send(&wire::open(kind.asn(), HOLD_TIME, kind.router_id()))
        .map_err(|e| e.to_string())?;
    peer.expect(wire::KEEPALIVE, REPLY_DEADLINE)
        .map_err(|e| format!("waiting for vipd's KEEPALIVE: {e}"))?;
    if case.stage == Stage::OpenConfirm {
        return Ok(());
    }
    peer.send(&wire::keepalive()).map_err(|e| e.to_string())?;
    peer.keep_alive(Some(KEEPALIVE_EVERY));
    peer.read_table(&[wire::AFI_IPV4, wire::AFI_IPV6], Duration::from_secs(10))
        .map(|_| ())
}

fn deliver(peer: &mut RawPeer, case: &Case) -> std::io::Result<()> {
    match case.delivery {
        Delivery::Whole => peer.send(&case.bytes),
        Delivery::Dribble => peer.dribble(&case.bytes, DRIBBLE_GAP),
    }
}

fn judge(node: &Node, peer: &mut RawPeer, case: &Case, mark: usize) -> Verdict {
    match &case.expect {
        Expect::Reset(specs) => judge_reset(peer.await_reset(), specs, case.stage),
        Expect::Survives(logged) => match stays_up(peer, case, false) {
            Ok(up) => judge_log(node, case.peer, mark, *logged, up),
            Err(down) => Verdict::fail(down),
        },
        Expect::Ignored => match stays_up(peer, case, true) {
            Ok(up) => judge_log(node, case.peer, mark, None, up),
            Err(down) => Verdict::fail(down),
        },
    }
}

fn judge_reset(reset: Reset, specs: &[NotifSpec], stage: Stage) -> Verdict {
    match reset {
        Reset::Notification {
            notif,
            closed,
            after,
        } => {
            let before = if after.is_empty() {
                String::new()
            } else {
                format!("{}, then ", after.join(", "))
            };
            let text = format!("{before}{}", down_text(&notif, closed));
            // A periodic KEEPALIVE may come first, except in answer to our
            // OPEN: there it means vipd accepted the OPEN.
            let only_keepalives = after.iter().all(|m| m == "KEEPALIVE");
            let in_time = only_keepalives && (stage != Stage::Open || after.is_empty());
            if closed && in_time && specs.iter().any(|s| matches(s, &notif)) {
                Verdict::pass(text)
            } else {
                Verdict::fail(text)
            }
        }
        Reset::ClosedSilently(how) => Verdict::fail(format!("closed without NOTIFICATION ({how})")),
        Reset::NoReaction(seen) => Verdict::fail(format!(
            "no NOTIFICATION within {REPLY_DEADLINE:?}, session not closed (vipd sent: {})",
            if seen.is_empty() {
                "nothing".to_string()
            } else {
                seen.join(", ")
            }
        )),
    }
}

fn matches(spec: &NotifSpec, n: &Notif) -> bool {
    spec.code == n.code
        && spec.subcode == n.subcode
        && spec.data.as_ref().is_none_or(|d| *d == n.data)
}

fn show_notif(n: &Notif) -> String {
    if n.data.len() > 12 {
        format!(
            "{}/{} data <{} octets: {}>",
            n.code,
            n.subcode,
            n.data.len(),
            hex::encode(&n.data)
        )
    } else {
        n.to_string()
    }
}

/// The session is still up after the case: completes the handshake first
/// when the case was our OPEN; with `no_reply`, vipd must not answer the
/// case with an UPDATE. Returns what was seen, or how the session ended.
fn stays_up(peer: &mut RawPeer, case: &Case, no_reply: bool) -> Result<String, String> {
    let mut hold = HOLD_TIME;
    if case.stage == Stage::Open {
        let ours = wire::split(&mut case.bytes.clone())
            .ok()
            .flatten()
            .and_then(|m| m.open_hold_time())
            .unwrap_or(HOLD_TIME);
        hold = hold.min(ours);
        match peer.expect(wire::KEEPALIVE, REPLY_DEADLINE) {
            Ok(_) => {}
            Err(e) => return Err(ended(peer, format!("OPEN not accepted: {e}"))),
        }
        peer.send(&wire::keepalive()).map_err(|e| e.to_string())?;
        peer.keep_alive(Some(KEEPALIVE_EVERY));
        peer.read_table(&[wire::AFI_IPV4, wire::AFI_IPV6], Duration::from_secs(10))
            .map_err(|e| ended(peer, format!("Established, then {e}")))?;
    }
    if no_reply {
        let deadline = Instant::now() + IGNORE_WATCH;
        while let Some(event) = peer.next(deadline) {
            match event {
                Event::Message(m) if m.ty == wire::KEEPALIVE => {}
                Event::Message(m) => {
                    let shown = describe(&m);
                    if let Some(n) = m.notification() {
                        let closed = peer.await_close(REPLY_DEADLINE);
                        return Err(down_text(&n, closed));
                    }
                    return Err(format!("answered with {shown} instead of ignoring it"));
                }
                Event::Closed => return Err("closed without NOTIFICATION".into()),
                Event::Broken(e) => return Err(format!("connection broken: {e}")),
            }
        }
    }
    probe(peer, hold > 0)
}

/// After a failed step: wait briefly for the NOTIFICATION that explains it.
fn ended(peer: &mut RawPeer, step: String) -> String {
    if step.contains("NOTIFICATION") {
        return step;
    }
    match peer.await_reset() {
        Reset::Notification { notif, closed, .. } => {
            format!("{step}; {}", down_text(&notif, closed))
        }
        _ => step,
    }
}

fn down_text(n: &Notif, closed: bool) -> String {
    format!(
        "NOTIFICATION {}, {}",
        show_notif(n),
        if closed { "closed" } else { "NOT closed" }
    )
}

/// KEEPALIVE from vipd (unless the hold time is zero) and a ROUTE-REFRESH
/// answered with a VIP: the session is up and vipd still reads it.
fn probe(peer: &mut RawPeer, want_keepalive: bool) -> Result<String, String> {
    let rr = wire::route_refresh(wire::AFI_IPV4, 0, wire::SAFI_UNICAST);
    peer.send(&wire::concat(&[&wire::keepalive(), &rr]))
        .map_err(|e| format!("sending KEEPALIVE + ROUTE-REFRESH: {e}"))?;
    let vips: Vec<ipnet::IpNet> = default_vips();
    let deadline = Instant::now() + Duration::from_secs(4);
    let (mut keepalive, mut refreshed) = (false, false);
    while !(refreshed && (keepalive || !want_keepalive)) {
        match peer.next(deadline) {
            Some(Event::Message(m)) => match m.ty {
                wire::KEEPALIVE => keepalive = true,
                wire::UPDATE => {
                    let s = wire::summarize_update(&m.body)?;
                    refreshed |= s.announced.iter().any(|p| vips.contains(p));
                }
                _ => {
                    if let Some(n) = m.notification() {
                        let closed = peer.await_close(REPLY_DEADLINE);
                        return Err(down_text(&n, closed));
                    }
                    return Err(format!("unexpected {}", describe(&m)));
                }
            },
            Some(Event::Closed) => return Err("closed without NOTIFICATION".into()),
            Some(Event::Broken(e)) => return Err(format!("connection broken: {e}")),
            None => {
                return Err(format!(
                    "session silent: KEEPALIVE {}, ROUTE-REFRESH answered {}",
                    if keepalive { "seen" } else { "missing" },
                    if refreshed { "yes" } else { "no" }
                ));
            }
        }
    }
    Ok(if want_keepalive {
        "stays up (KEEPALIVE + ROUTE-REFRESH answered)".into()
    } else {
        "stays up (ROUTE-REFRESH answered; hold time 0)".into()
    })
}

/// The RFC 7606 log lines for this peer since `mark`, against the case.
fn judge_log(
    node: &Node,
    kind: PeerKind,
    mark: usize,
    logged: Option<Logged>,
    up: String,
) -> Verdict {
    let peer = Node::peer_ip(kind);
    let lines = || node.vipd.peer_lines(mark, "RFC 7606", peer);
    let shown = |lines: &[String]| -> String {
        lines
            .iter()
            .map(|l| {
                l.find("attribute type")
                    .map_or(l.as_str(), |at| &l[at..])
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    match logged {
        None => {
            let found = lines();
            if found.is_empty() {
                Verdict::pass(up)
            } else {
                Verdict::fail(format!("{up}, but logged as malformed: {}", shown(&found)))
            }
        }
        Some(want) => {
            let wanted = |l: &String| {
                l.contains(&format!("({})", want.action.log_word()))
                    && want
                        .type_code
                        .is_none_or(|t| l.contains(&format!("attribute type {t}:")))
            };
            let found = wait_until(LOG_DEADLINE, || {
                if lines().iter().any(wanted) {
                    Ok(())
                } else {
                    Err(String::new())
                }
            });
            let all = lines();
            match (found, all.is_empty()) {
                (Ok(()), _) => Verdict::pass(format!("{up}, logged {}", shown(&all))),
                (Err(_), true) => Verdict::fail(format!("{up}, nothing logged as malformed")),
                (Err(_), false) => Verdict::fail(format!("{up}, logged {}", shown(&all))),
            }
        }
    }
}
