//! Two scenario rows with a vipd that has 1003 VIPs (about 5 KB of UPDATEs
//! per table), so that a peer asking for the table again and again gives
//! vipd a lot to do and a lot to send.
//!
//! `route_refresh_burst_other_session_untouched`:
//! 1. The case peer reads vipd's table, then sends 4000 ROUTE-REFRESH in one
//!    write and keeps reading (and sending a KEEPALIVE every second).
//! 2. RFC 4271 4.4 and 10: every session gets its KEEPALIVE every
//!    KeepaliveTime and its HoldTimer restarted by each KEEPALIVE received,
//!    so the sentinel (which sends its KEEPALIVEs every second throughout)
//!    must never see a gap of a hold time, nor be dropped; the case session
//!    must stay up too.
//!
//! `peer_stops_reading_send_hold_timer`:
//! 1. The case peer shrinks its receive buffer, reads vipd's table, then
//!    never reads again while it keeps sending KEEPALIVEs (so vipd's own
//!    hold timer never fires) and asks for the table 1000 times, paced
//!    (100 per second) so that vipd is busy but never for long.
//! 2. RFC 9687 4: once vipd could not send for SendHoldTime it closes the
//!    connection (NOTIFICATION 8/0 when possible) and logs the error. The
//!    default (section 6) is max(8 minutes, 2 x HoldTime), so the row waits
//!    that long plus a margin, unless vipd accepts a `send_hold_time` peer
//!    key, which it then sets to 9 s (above the 3 s hold time, as 4.4 says).
//! 3. The sentinel's KEEPALIVEs must keep coming and its VIPs stay.
//!
//! Both rows report vipd's resident memory: what an unread queue costs.

use std::io::Write;
use std::net::Ipv4Addr;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use ipnet::{IpNet, Ipv4Net};

use super::node::{HOLD_TIME, KEEPALIVE_EVERY, Node, PeerKind, default_vips};
use super::peer::{Event, RawPeer, describe};
use super::report::Row;
use super::sentinel::{Sentinel, SentinelReport};
use super::wire;
use crate::harness::vipd_check;

pub const BURST: &str = "route_refresh_burst_other_session_untouched";
pub const STALL: &str = "peer_stops_reading_send_hold_timer";

const BURST_RFC: &str = "RFC 4271 4.4 and 10: KEEPALIVE every KeepaliveTime (1 s here) and the HoldTimer \
                         restarted by every KEEPALIVE received, on every session, however busy another one is";
const STALL_RFC: &str = "RFC 9687 4 and 6: SendHoldTimer expiry (nothing sent for SendHoldTime, default \
                         max(8 min, 2 x HoldTime)) -> NOTIFICATION 8/0 if possible, log, close; other sessions unaffected";

const VIP_COUNT: u32 = 1000;
const BURST_REFRESHES: usize = 4000;
const STALL_REFRESHES: usize = 1000;
/// ROUTE-REFRESH per write, and the pause between writes, when pacing.
// One per write: ROUTE-REFRESHes that arrive together are answered once.
const STALL_CHUNK: usize = 1;
const STALL_PACE: Duration = Duration::from_millis(10);
/// Our receive buffer while stalling: vipd's data piles up in its own send
/// buffer and queue instead of ours.
const STALL_RCVBUF: usize = 4096;
/// RFC 9687 6: the floor of the default SendHoldTime.
const RFC_DEFAULT_SEND_HOLD: Duration = Duration::from_secs(8 * 60);
/// What the row configures when vipd has a knob for it.
const CONFIGURED_SEND_HOLD: u16 = 9;
const MARGIN: Duration = Duration::from_secs(30);
const BURST_DEADLINE: Duration = Duration::from_secs(180);
const LOG_TAIL: usize = 30;

fn vips() -> Vec<IpNet> {
    let mut v = default_vips();
    v.extend((0..VIP_COUNT).map(|i| {
        let [_, _, hi, lo] = i.to_be_bytes();
        IpNet::V4(Ipv4Net::new(Ipv4Addr::new(198, 18, hi, lo), 32).expect("valid /32"))
    }));
    v
}

fn refreshes(n: usize) -> Vec<u8> {
    wire::route_refresh(wire::AFI_IPV4, 0, wire::SAFI_UNICAST).repeat(n)
}

fn guarded(mut row: Row, f: impl FnOnce(&mut Row)) -> Row {
    if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| f(&mut row))) {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        row.fail(format!("test panicked: {msg}"));
    }
    row
}

fn mb(kib: Option<u64>) -> String {
    kib.map_or("?".to_string(), |k| format!("{:.1} MB", k as f64 / 1024.0))
}

/// Appends the sentinel's and vipd's fate to the row.
fn finish(
    row: &mut Row,
    node: &mut Node,
    seen: &SentinelReport,
    mut observed: String,
    mut pass: bool,
) {
    for problem in seen.problems() {
        observed.push_str(&format!("; {problem}"));
        pass = false;
    }
    if seen.problems().is_empty() {
        observed.push_str(&format!("; other session fine ({})", seen.summary()));
    }
    if let Err(e) = node.stop() {
        observed.push_str(&format!("; vipd did not survive: {e}"));
        pass = false;
    }
    row.observed = observed;
    row.pass = pass;
    if !pass {
        row.details.push(format!("sentinel: {}", seen.summary()));
        row.details
            .push(format!("vipd log (tail):\n{}", node.log_tail(LOG_TAIL)));
    }
}

// ------------------------------------------------------------------ burst

pub fn burst() -> Row {
    let row = Row::new(
        BURST,
        BURST_RFC,
        "other session: KEEPALIVEs on time, not dropped, VIPs kept; case session stays up",
        format!(
            "{BURST_REFRESHES} x ROUTE-REFRESH {} in one write, reading everything",
            hex::encode(wire::route_refresh(wire::AFI_IPV4, 0, wire::SAFI_UNICAST))
        ),
    );
    guarded(row, run_burst)
}

fn run_burst(row: &mut Row) {
    let mut node = match Node::start(vips(), "") {
        Ok(n) => n,
        Err(e) => return row.fail(format!("setup: {e}")),
    };
    let sentinel = match Sentinel::start(&node) {
        Ok(s) => s,
        Err(e) => return row.fail(format!("setup: {e}")),
    };
    let (mut peer, _) = match node.establish(PeerKind::Ebgp) {
        Ok(p) => p,
        Err(e) => return row.fail(format!("setup: {e}")),
    };
    let rss_before = node.rss_kib();
    let started = Instant::now();
    if let Err(e) = peer.send(&refreshes(BURST_REFRESHES)) {
        return row.fail(format!("sending the burst: {e}"));
    }
    // The burst is answered with the whole IPv4 table again: at least once
    // (RFC 2918 asks for the table, not one copy per request; vipd answers
    // requests that arrive together once).
    let v4 = node
        .vips
        .iter()
        .filter(|p| matches!(p, IpNet::V4(_)))
        .count();
    let wanted = v4;
    let (mut announced, mut rss_peak) = (0usize, rss_before);
    let mut last_update = started;
    let mut down = None;
    while announced < wanted && started.elapsed() < BURST_DEADLINE {
        match peer.next(Instant::now() + Duration::from_millis(500)) {
            Some(Event::Message(m)) if m.ty == wire::UPDATE => {
                announced += wire::count_nlri(&m.body);
                last_update = Instant::now();
            }
            Some(Event::Message(m)) if m.ty == wire::KEEPALIVE => {}
            Some(Event::Message(m)) => {
                down = Some(describe(&m));
                break;
            }
            Some(Event::Closed) => {
                down = Some("closed without NOTIFICATION".into());
                break;
            }
            Some(Event::Broken(e)) => {
                down = Some(format!("connection broken: {e}"));
                break;
            }
            None => {}
        }
        rss_peak = rss_peak.max(node.rss_kib());
    }
    if down.is_none() && announced < wanted {
        down = Some(format!(
            "only {announced} of {wanted} prefixes re-announced within {BURST_DEADLINE:?}"
        ));
    }
    let took = last_update.duration_since(started);
    let seen = sentinel.finish();
    let memory = format!("vipd RSS {} before, {} peak", mb(rss_before), mb(rss_peak));
    let (observed, pass) = match down {
        Some(how) => (
            format!("case session: {how} (after {announced} prefixes re-announced); {memory}"),
            false,
        ),
        None => (
            format!(
                "case session up, {BURST_REFRESHES} refreshes answered in {:.1}s; {memory}",
                took.as_secs_f64()
            ),
            true,
        ),
    };
    row.details.push(format!(
        "case peer transcript (last 10):\n  {}",
        tail(&peer.transcript, 10)
    ));
    finish(row, &mut node, &seen, observed, pass);
}

fn tail(lines: &[String], n: usize) -> String {
    lines[lines.len().saturating_sub(n)..].join("\n  ")
}

// ------------------------------------------------------------------ stall

pub fn stops_reading() -> Row {
    let row = Row::new(
        STALL,
        STALL_RFC,
        "closed after SendHoldTime (NOTIFICATION 8/0 if it fits), error logged; other session untouched",
        format!(
            "{STALL_REFRESHES} x ROUTE-REFRESH {} ({STALL_CHUNK} per {STALL_PACE:?}) + a KEEPALIVE every second, \
             never reading (receive buffer {STALL_RCVBUF} octets)",
            hex::encode(wire::route_refresh(wire::AFI_IPV4, 0, wire::SAFI_UNICAST))
        ),
    );
    guarded(row, run_stall)
}

/// A `send_hold_time` peer key if this vipd accepts one (as a duration
/// string or in seconds), with the wait it implies; else the RFC default.
fn send_hold_config() -> (String, Duration) {
    let probe =
        std::env::temp_dir().join(format!("vipd-send-hold-probe-{}.toml", std::process::id()));
    let accepts = |extra: &str| {
        let text = format!(
            "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\nlisten = \"127.0.0.1:179\"\n\
             hold_time = {HOLD_TIME}\n\n[[peer]]\naddress = \"127.0.0.2\"\nremote_asn = 65000\n\
             passive = true\n{extra}"
        );
        std::fs::write(&probe, text).is_ok()
            && vipd_check(&probe).is_ok_and(|out| out.status.success())
    };
    let found = [
        format!("send_hold_time = \"{CONFIGURED_SEND_HOLD}s\"\n"),
        format!("send_hold_time = {CONFIGURED_SEND_HOLD}\n"),
    ]
    .into_iter()
    .find(|extra| accepts(extra));
    let _ = std::fs::remove_file(&probe);
    match found {
        Some(extra) => (extra, Duration::from_secs(u64::from(CONFIGURED_SEND_HOLD))),
        None => {
            let hold = Duration::from_secs(u64::from(HOLD_TIME));
            (String::new(), RFC_DEFAULT_SEND_HOLD.max(2 * hold))
        }
    }
}

fn run_stall(row: &mut Row) {
    let (extra, send_hold) = send_hold_config();
    let mut node = match Node::start(vips(), &extra) {
        Ok(n) => n,
        Err(e) => return row.fail(format!("setup: {e}")),
    };
    let sentinel = match Sentinel::start(&node) {
        Ok(s) => s,
        Err(e) => return row.fail(format!("setup: {e}")),
    };
    let (mut peer, table) = match node.establish_with(PeerKind::Ebgp, Some(STALL_RCVBUF)) {
        Ok(p) => p,
        Err(e) => return row.fail(format!("setup: {e}")),
    };
    if table.len() != node.vips.len() {
        return row.fail(format!(
            "setup: {} of {} VIPs announced",
            table.len(),
            node.vips.len()
        ));
    }
    let peer_ip = Node::peer_ip(PeerKind::Ebgp);
    let rss_before = node.rss_kib();
    let mark = node.vipd.log_len();

    // From here on the case peer never reads; it writes on a clone of its
    // socket, with a bound so that a stuck write cannot hang the test.
    let mut stream = match peer.stream().try_clone() {
        Ok(s) => s,
        Err(e) => return row.fail(format!("setup: cannot clone the socket: {e}")),
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let stalled_at = Instant::now();
    let deadline = stalled_at + send_hold + MARGIN;
    let flood = refreshes(STALL_REFRESHES);
    let mut chunks = flood.chunks(STALL_CHUNK * 23);
    let mut last_keepalive = Instant::now();
    let mut rss_peak = rss_before;
    let mut closed: Option<(Duration, String)> = None;
    let mut write = |bytes: &[u8], what: &str| {
        stream.write_all(bytes).map_err(|e| {
            format!(
                "our {what} failed after {:.0}s: {e}",
                stalled_at.elapsed().as_secs_f64()
            )
        })
    };
    while Instant::now() < deadline && closed.is_none() {
        std::thread::sleep(STALL_PACE);
        rss_peak = rss_peak.max(node.rss_kib());
        if let Some(chunk) = chunks.next()
            && let Err(e) = write(chunk, "ROUTE-REFRESH")
        {
            closed = Some((stalled_at.elapsed(), e));
        }
        if last_keepalive.elapsed() >= KEEPALIVE_EVERY {
            last_keepalive = Instant::now();
            if let Err(e) = write(&wire::keepalive(), "KEEPALIVE") {
                closed = Some((stalled_at.elapsed(), e));
            }
        }
        if let Some(line) = node.vipd.peer_lines(mark, "closed", peer_ip).first() {
            closed = Some((stalled_at.elapsed(), short_line(line)));
        }
    }
    let rss_after = node.rss_kib();
    let backlog_note = if closed.is_some() {
        drain(&mut peer)
    } else {
        String::new()
    };
    let seen = sentinel.finish();
    let logged = node
        .vipd
        .log()
        .get(mark..)
        .unwrap_or_default()
        .to_lowercase()
        .contains("send hold");

    let memory = format!(
        "vipd RSS {} before, {} peak, {} after",
        mb(rss_before),
        mb(rss_peak),
        mb(rss_after)
    );
    let mut pass = true;
    let mut observed = match &closed {
        Some((after, how)) => format!(
            "closed {:.0}s after the stall (SendHoldTime {send_hold:?}): {how}; {backlog_note}",
            after.as_secs_f64()
        ),
        None => {
            pass = false;
            format!(
                "NOT closed {:.0}s after the stall (SendHoldTime {send_hold:?} + {MARGIN:?}); session kept",
                stalled_at.elapsed().as_secs_f64()
            )
        }
    };
    if closed.is_some() && !logged {
        pass = false;
        observed.push_str("; no \"send hold\" error in vipd's log");
    }
    observed.push_str(&format!("; {memory}"));
    finish(row, &mut node, &seen, observed, pass);
}

/// Reads what vipd had queued, now that we read again: says whether the
/// last thing was the NOTIFICATION 8/0.
fn drain(peer: &mut RawPeer) -> String {
    let until = Instant::now() + Duration::from_secs(15);
    let (mut count, mut last) = (0usize, None);
    while let Some(Event::Message(m)) = peer.next(until) {
        count += 1;
        last = Some(m);
    }
    match last {
        Some(m) => format!(
            "then read {count} queued messages, the last {}",
            describe(&m)
        ),
        None => "nothing queued was delivered".to_string(),
    }
}

/// A log line without its timestamp and counters.
fn short_line(line: &str) -> String {
    let from = line
        .find("session closed")
        .or_else(|| line.find("closed"))
        .unwrap_or(0);
    let text = &line[from..];
    let to = text.find(" updates_received").unwrap_or(text.len());
    format!("vipd logged \"{}\"", &text[..to])
}
