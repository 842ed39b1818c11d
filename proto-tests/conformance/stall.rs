//! A peer that stops reading (RFC 9687, the BGP Send Hold Timer).
//!
//! 1. vipd announces 1000 VIPs; the sentinel and the case peer establish.
//! 2. The case peer reads the initial table, then never reads again, while
//!    it keeps sending KEEPALIVEs (so vipd's own hold timer never fires) and
//!    asks for the table 4000 times (ROUTE-REFRESH): vipd has megabytes to
//!    send into a TCP window that stays closed.
//! 3. RFC 9687 4: once vipd could not send for SendHoldTime it must close the
//!    connection (NOTIFICATION 8/0 "if possible") and log the error. Its
//!    default (6) is max(8 minutes, 2 x HoldTime), so the test waits that long
//!    plus a margin, unless vipd accepts a `send_hold_time` peer key, which it
//!    then sets to 9 s (above the 3 s hold time, as 4.4 requires).
//! 4. Throughout, the sentinel's KEEPALIVEs must keep coming; at the end its
//!    VIPs must still be there, and vipd must still run.
//!
//! The row also reports vipd's resident memory before and after the flood:
//! what an unread queue costs while no send hold timer bounds it.

use std::io::Write;
use std::net::Ipv4Addr;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use ipnet::{IpNet, Ipv4Net};

use super::node::{HOLD_TIME, KEEPALIVE_EVERY, Node, PeerKind, default_vips};
use super::peer::Event;
use super::report::Row;
use super::sentinel::Sentinel;
use super::wire;
use crate::harness::vipd_check;

pub const NAME: &str = "peer_stops_reading_send_hold_timer";
const RFC: &str = "RFC 9687 4 and 6: SendHoldTimer expiry (no progress sending for SendHoldTime, default \
                   max(8 min, 2 x HoldTime)) -> NOTIFICATION 8/0 if possible, log, close; other sessions unaffected";
const VIP_COUNT: u32 = 1000;
const REFRESHES: usize = 4000;
/// RFC 9687 6: the default SendHoldTime floor.
const RFC_DEFAULT_SEND_HOLD: Duration = Duration::from_secs(8 * 60);
/// What the test configures when vipd has a knob for it.
const CONFIGURED_SEND_HOLD: u16 = 9;
const MARGIN: Duration = Duration::from_secs(30);
const LOG_TAIL: usize = 30;

pub fn run() -> Row {
    let mut row = Row::new(
        NAME,
        RFC,
        "closed after SendHoldTime (NOTIFICATION 8/0 if it fits), logged; other session untouched",
        format!(
            "{REFRESHES} x ROUTE-REFRESH {} + a KEEPALIVE every second, never reading",
            hex::encode(wire::route_refresh(wire::AFI_IPV4, 0, wire::SAFI_UNICAST))
        ),
    );
    if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| run_stall(&mut row))) {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        row.fail(format!("test panicked: {msg}"));
    }
    row
}

fn vips() -> Vec<IpNet> {
    let mut v = default_vips();
    v.extend((0..VIP_COUNT).map(|i| {
        let [_, _, hi, lo] = i.to_be_bytes();
        IpNet::V4(Ipv4Net::new(Ipv4Addr::new(198, 18, hi, lo), 32).expect("valid /32"))
    }));
    v
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
    let (mut peer, table) = match node.establish(PeerKind::Ebgp) {
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

    // From here on the case peer never reads.
    let flood: Vec<u8> =
        wire::route_refresh(wire::AFI_IPV4, 0, wire::SAFI_UNICAST).repeat(REFRESHES);
    let stalled_at = Instant::now();
    let mut stream = match peer.stream().try_clone() {
        Ok(s) => s,
        Err(e) => return row.fail(format!("setup: cannot clone the socket: {e}")),
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut notes = Vec::new();
    if let Err(e) = stream.write_all(&flood) {
        notes.push(format!(
            "flood write failed after {:?}: {e}",
            stalled_at.elapsed()
        ));
    }
    let deadline = stalled_at + send_hold + MARGIN;
    let mut rss_peak = rss_before;
    let mut closed: Option<(Duration, String)> = None;
    while Instant::now() < deadline && closed.is_none() {
        std::thread::sleep(KEEPALIVE_EVERY);
        rss_peak = rss_peak.max(node.rss_kib());
        if let Err(e) = stream.write_all(&wire::keepalive()) {
            closed = Some((stalled_at.elapsed(), format!("our KEEPALIVE failed: {e}")));
        }
        let lines = node.vipd.peer_lines(mark, "closed", peer_ip);
        if let Some(line) = lines.first() {
            closed = Some((stalled_at.elapsed(), line.clone()));
        }
    }
    let rss_after = node.rss_kib();

    // Whatever vipd managed to send last, now that we read again.
    let mut last = None;
    if closed.is_some() {
        let drain_until = Instant::now() + Duration::from_secs(15);
        while let Some(Event::Message(m)) = peer.next(drain_until) {
            last = Some(m);
        }
    }
    let seen = sentinel.finish();
    let stopped = node.stop();
    let log_since = node
        .vipd
        .log()
        .get(mark..)
        .unwrap_or_default()
        .to_lowercase();
    let logged = log_since.contains("send hold");

    let mb = |k: Option<u64>| k.map_or("?".to_string(), |k| format!("{:.1} MB", k as f64 / 1024.0));
    let memory = format!(
        "vipd RSS {} before, {} peak, {} after",
        mb(rss_before),
        mb(rss_peak),
        mb(rss_after)
    );
    let mut pass = true;
    let mut observed = match &closed {
        Some((after, how)) => {
            let last_msg = last
                .as_ref()
                .map_or("nothing".to_string(), super::peer::describe);
            format!(
                "closed {:.0}s after the stall (SendHoldTime {send_hold:?}): {how}; last message read: {last_msg}",
                after.as_secs_f64()
            )
        }
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
    for problem in seen.problems() {
        observed.push_str(&format!("; {problem}"));
        pass = false;
    }
    if seen.problems().is_empty() {
        observed.push_str(&format!("; other session fine ({})", seen.summary()));
    }
    if let Err(e) = stopped {
        observed.push_str(&format!("; vipd did not survive: {e}"));
        pass = false;
    }
    row.observed = observed;
    row.pass = pass;
    if !pass {
        row.details.extend(notes);
        row.details
            .push(format!("vipd log (tail):\n{}", node.log_tail(LOG_TAIL)));
    }
}
