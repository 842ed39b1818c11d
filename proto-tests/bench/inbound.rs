//! Inbound: an upstream (this benchmark, over raw TCP) sends a generated
//! full table (V4 IPv4 /24s and V6 IPv6 /48s, four prefixes per UPDATE
//! with varied AS paths, as a real table packs) to vipd, whose peer has
//! `max_prefixes = 0` (no limit), while vipd keeps a session to a BIRD
//! router with hold time 3 s (keepalive every second). Measured: how fast
//! vipd counts the routes (from the first byte sent until `vipd status`
//! reports them all), its RSS before and at the peak, and the largest gap
//! between its KEEPALIVEs to BIRD over the whole feed (from a capture on
//! the router's interface). The table takes a fraction of a second, less
//! than one keepalive interval, so after it the upstream re-sends it over
//! and over for a sustain time (every prefix re-announced), and the
//! KEEPALIVE gap covers that too.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use ipnet::IpNet;
use vipd::bgp::wire::{AsPath, DecodeOptions, Family, Origin, PathAttribute, pack_announce};

use crate::common::{
    self, Pair, ROUTER_ASN, ROUTER_IP, RouterSession, SPEAKER_ASN, SPEAKER_IP, SPEAKER_PROTOCOL,
};
use crate::harness::{Capture, pcap};

const UPSTREAM_ASN: u32 = 65002;
const UPSTREAM_IP: Ipv4Addr = Ipv4Addr::new(10, 255, 2, 1);
const VIPD_UPLINK_IP: Ipv4Addr = Ipv4Addr::new(10, 255, 2, 2);
const PER_UPDATE: usize = 4;
const DEADLINE: Duration = Duration::from_secs(300);
/// The re-sending stops early if vipd's RSS passes this.
const RSS_CAP_KB: u64 = 1 << 20;

#[derive(Debug)]
pub struct InboundResult {
    pub routes: u64,
    pub bytes: usize,
    pub secs: f64,
    pub routes_per_s: f64,
    pub mb_per_s: f64,
    pub rss_before_kb: u64,
    /// Peak RSS until the first pass was counted.
    pub rss_first_pass_kb: u64,
    /// Peak RSS over the whole feed.
    pub rss_peak_kb: u64,
    pub cpu: f64,
    /// Seconds of feeding in all (the table, then re-sent for the
    /// sustain time), and the bytes sent in that time.
    pub sustained_secs: f64,
    pub sustained_bytes: usize,
    /// The re-sending was stopped early because vipd's RSS passed 1 GiB.
    pub capped: bool,
    pub max_keepalive_gap_ms: f64,
    pub keepalives: usize,
    pub all_counted: bool,
    pub bird_session_stayed_up: bool,
}

/// The generated table: framed UPDATEs.
fn table(v4: u32, v6: u32) -> Vec<u8> {
    let opts = DecodeOptions {
        four_octet_as: true,
        ..DecodeOptions::default()
    };
    let mut out = Vec::new();
    let mut batch = Vec::with_capacity(PER_UPDATE);
    let mut group = 0u32;
    let mut flush = |batch: &mut Vec<IpNet>, family: Family, out: &mut Vec<u8>| {
        if batch.is_empty() {
            return;
        }
        group += 1;
        let path = AsPath::sequence(vec![
            UPSTREAM_ASN,
            3000 + group % 4000,
            64512 + group % 97,
            100_000 + group % 50_000,
        ]);
        let attrs = [
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(path),
        ];
        for msg in pack_announce(&attrs, family, IpAddr::V4(UPSTREAM_IP), batch, opts) {
            out.extend_from_slice(&msg);
        }
        batch.clear();
    };
    for i in 0..v4 {
        let addr = Ipv4Addr::from((1u32 << 24) + (i << 8));
        batch.push(IpNet::new(IpAddr::V4(addr), 24).unwrap_or_default());
        if batch.len() == PER_UPDATE {
            flush(&mut batch, Family::Ipv4Unicast, &mut out);
        }
    }
    flush(&mut batch, Family::Ipv4Unicast, &mut out);
    for i in 0..v6 {
        let addr = Ipv6Addr::from((0x2a00u128 << 112) | (u128::from(i) << 80));
        batch.push(IpNet::new(IpAddr::V6(addr), 48).unwrap_or_default());
        if batch.len() == PER_UPDATE {
            flush(&mut batch, Family::Ipv6Unicast, &mut out);
        }
    }
    flush(&mut batch, Family::Ipv6Unicast, &mut out);
    out
}

fn open_message() -> Vec<u8> {
    let caps: Vec<u8> = [
        vec![1, 4, 0, 1, 0, 1], // multiprotocol IPv4 unicast
        vec![1, 4, 0, 2, 0, 1], // multiprotocol IPv6 unicast
        {
            let mut c = vec![65, 4];
            c.extend_from_slice(&UPSTREAM_ASN.to_be_bytes());
            c
        },
    ]
    .concat();
    let mut body = vec![4];
    body.extend_from_slice(&(UPSTREAM_ASN as u16).to_be_bytes());
    body.extend_from_slice(&90u16.to_be_bytes());
    body.extend_from_slice(&UPSTREAM_IP.octets());
    body.push((caps.len() + 2) as u8);
    body.push(2);
    body.push(caps.len() as u8);
    body.extend_from_slice(&caps);
    frame(1, &body)
}

fn frame(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(ty);
    m.extend_from_slice(body);
    m
}

/// Reads one message; returns its type.
fn read_message(stream: &mut TcpStream) -> Result<u8, String> {
    let mut header = [0u8; 19];
    stream
        .read_exact(&mut header)
        .map_err(|e| format!("upstream read: {e}"))?;
    let len = usize::from(u16::from_be_bytes([header[16], header[17]]));
    let mut body = vec![0; len.saturating_sub(19)];
    stream
        .read_exact(&mut body)
        .map_err(|e| format!("upstream read: {e}"))?;
    Ok(header[18])
}

pub fn run(v4: u32, v6: u32, sustain: Duration) -> Result<InboundResult, String> {
    let pair = Pair::new()?;
    let up = pair.lab.add_netns("up");
    pair.lab.link(&up, "eth1", &pair.spk, "eth2");
    up.ip(&["addr", "add", &format!("{UPSTREAM_IP}/24"), "dev", "eth1"])?;
    pair.spk.ip(&[
        "addr",
        "add",
        &format!("{VIPD_UPLINK_IP}/24"),
        "dev",
        "eth2",
    ])?;
    let (_router, mut ctl) = pair.start_router(&common::router_config(&[RouterSession {
        name: SPEAKER_PROTOCOL,
        local: ROUTER_IP,
        neighbor: SPEAKER_IP,
        asn: SPEAKER_ASN,
        passive: true,
        disabled: false,
        hold: Some(3),
    }]))?;
    let config = format!(
        "[speaker]\nasn = {SPEAKER_ASN}\nrouter_id = \"{SPEAKER_IP}\"\nlisten = \"{VIPD_UPLINK_IP}:179\"\n\n[[peer]]\naddress = \"{ROUTER_IP}\"\nremote_asn = {ROUTER_ASN}\nhold_time = 3\n\n[[peer]]\nname = \"upstream\"\naddress = \"{UPSTREAM_IP}\"\nremote_asn = {UPSTREAM_ASN}\npassive = true\nmax_prefixes = 0\n\n{}",
        common::vip_tables(10, false, |_| String::new())
    );
    let path = pair.file("vipd.toml", config.as_bytes())?;
    let feed = table(v4, v6);
    let routes = u64::from(v4) + u64::from(v6);
    let vipd = common::spawn_vipd(&pair.spk, &pair.lab, "spk", &path, "info")?;

    // The router session first, with vipd's 10 VIPs.
    let start = Instant::now();
    loop {
        let (held, _) = ctl.imported(SPEAKER_PROTOCOL)?;
        if held == 10 {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err(format!("the router holds {held} of vipd's 10 VIPs"));
        }
        thread::sleep(Duration::from_millis(50));
    }
    let router_since = router_peer(&vipd.status()?, "since");

    // The upstream session.
    let target: SocketAddr = (VIPD_UPLINK_IP, 179).into();
    let mut stream = loop {
        match common::connect_in(&up, target) {
            Ok(s) => break s,
            Err(e) if start.elapsed() > Duration::from_secs(60) => {
                return Err(format!("cannot connect to vipd: {e}"));
            }
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(&open_message())
        .map_err(|e| format!("send OPEN: {e}"))?;
    match read_message(&mut stream)? {
        1 => {}
        t => return Err(format!("vipd answered our OPEN with message type {t}")),
    }
    stream
        .write_all(&frame(4, &[]))
        .map_err(|e| format!("send KEEPALIVE: {e}"))?;
    match read_message(&mut stream)? {
        4 => {}
        t => return Err(format!("vipd sent message type {t}, not KEEPALIVE")),
    }
    // From here on vipd's messages (its VIPs, KEEPALIVEs) are read and
    // dropped; a NOTIFICATION is remembered.
    let notified = Arc::new(AtomicBool::new(false));
    let mut reader = stream.try_clone().map_err(|e| e.to_string())?;
    reader.set_read_timeout(None).map_err(|e| e.to_string())?;
    let seen = notified.clone();
    thread::spawn(move || {
        while let Ok(t) = read_message(&mut reader) {
            if t == 3 {
                seen.store(true, Ordering::Relaxed);
            }
        }
    });

    let capture = Capture::start(&pair.rtr, "eth1", "inbound")?;
    thread::sleep(Duration::from_secs(2));
    let before = common::usage(vipd.pid).unwrap_or_default();
    let feed_start = SystemTime::now();
    let t0 = Instant::now();
    let bytes = feed.len();
    // The table once (the parse rate), then again and again for `sustain`
    // (every prefix re-announced, as a flapping upstream would), so the
    // KEEPALIVE check covers several hold times of full-speed parsing.
    let stop = Arc::new(AtomicBool::new(false));
    let stop_feed = stop.clone();
    let sender = thread::spawn(move || -> Result<usize, String> {
        let mut last_keepalive = Instant::now();
        let mut sent = 0;
        let mut sustain_end = None;
        loop {
            for chunk in message_chunks(&feed, 64 * 1024) {
                // The upstream's own KEEPALIVEs (hold time 90 s), between
                // whole messages: chunks end on message boundaries.
                if last_keepalive.elapsed() > Duration::from_secs(10) {
                    stream
                        .write_all(&frame(4, &[]))
                        .map_err(|e| e.to_string())?;
                    last_keepalive = Instant::now();
                }
                stream.write_all(chunk).map_err(|e| format!("feed: {e}"))?;
                sent += chunk.len();
            }
            let end = *sustain_end.get_or_insert_with(|| Instant::now() + sustain);
            if Instant::now() >= end || stop_feed.load(Ordering::Relaxed) {
                break;
            }
        }
        // Keep the session open until the process ends.
        std::mem::forget(stream);
        Ok(sent)
    });
    let mut peak_rss = before.rss_kb;
    let mut first_pass_rss = 0;
    let mut counted = 0;
    let mut secs = None;
    while t0.elapsed() < DEADLINE {
        if let Some(u) = common::usage(vipd.pid) {
            peak_rss = peak_rss.max(u.rss_kb).max(u.hwm_kb);
        }
        counted = upstream_received(&vipd.status()?);
        if counted >= routes {
            secs = Some(t0.elapsed().as_secs_f64());
            if let Some(u) = common::usage(vipd.pid) {
                peak_rss = peak_rss.max(u.rss_kb).max(u.hwm_kb);
            }
            first_pass_rss = peak_rss;
            break;
        }
        if notified.load(Ordering::Relaxed) {
            return Err(format!(
                "vipd closed the upstream session after {counted} routes"
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
    let mut capped = false;
    while !sender.is_finished() && t0.elapsed() < DEADLINE {
        if let Some(u) = common::usage(vipd.pid) {
            peak_rss = peak_rss.max(u.rss_kb).max(u.hwm_kb);
        }
        // This machine is shared: stop re-sending once vipd holds 1 GiB.
        if peak_rss > RSS_CAP_KB && !capped {
            capped = true;
            stop.store(true, Ordering::Relaxed);
        }
        thread::sleep(Duration::from_millis(50));
    }
    let sent = sender
        .join()
        .map_err(|_| "feed thread panicked".to_string())??;
    let sustained = t0.elapsed().as_secs_f64();
    let after = common::usage(vipd.pid).unwrap_or_default();
    peak_rss = peak_rss.max(after.hwm_kb);
    // Keep watching the router session a little past the feed.
    thread::sleep(Duration::from_secs(3));
    let feed_end = SystemTime::now();
    let status = vipd.status()?;
    let stayed_up = router_peer(&status, "state") == "Established"
        && router_peer(&status, "since") == router_since
        && ctl.imported(SPEAKER_PROTOCOL)?.1 == "Established";
    let file = capture.stop();
    let (gap, keepalives) = keepalive_gap(&file, feed_start, feed_end)?;
    let secs = secs.unwrap_or(f64::NAN);
    Ok(InboundResult {
        routes,
        bytes,
        secs,
        routes_per_s: routes as f64 / secs,
        mb_per_s: bytes as f64 / secs / 1e6,
        rss_before_kb: before.rss_kb,
        rss_first_pass_kb: first_pass_rss,
        rss_peak_kb: peak_rss,
        cpu: after.cpu - before.cpu,
        sustained_secs: sustained,
        sustained_bytes: sent,
        capped,
        max_keepalive_gap_ms: gap,
        keepalives,
        all_counted: counted >= routes,
        bird_session_stayed_up: stayed_up,
    })
}

/// The peers of `vipd status --json` (the status object itself).
fn peers(status: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    status["peers"].as_array().into_iter().flatten()
}

fn router_peer(status: &serde_json::Value, key: &str) -> String {
    peers(status)
        .find(|p| p["address"].as_str() == Some(&ROUTER_IP.to_string()))
        .map(|p| match &p[key] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

fn upstream_received(status: &serde_json::Value) -> u64 {
    peers(status)
        .find(|p| p["address"].as_str() == Some(&UPSTREAM_IP.to_string()))
        .and_then(|p| p["prefixes_received"].as_u64())
        .unwrap_or(0)
}

/// The largest gap between vipd's KEEPALIVEs to the router from `from` to
/// `to` (counting the edges of the window as well), and how many there were.
fn keepalive_gap(
    file: &std::path::Path,
    from: SystemTime,
    to: SystemTime,
) -> Result<(f64, usize), String> {
    let mut times = vec![from];
    for s in pcap::segments(file)? {
        if s.src.ip() != IpAddr::V4(SPEAKER_IP) || s.dst.port() != 179 {
            continue;
        }
        let p = &s.payload;
        let mut at = 0;
        while p.len() >= at + 19 && p[at..at + 16].iter().all(|b| *b == 0xff) {
            let len = usize::from(u16::from_be_bytes([p[at + 16], p[at + 17]]));
            if p[at + 18] == 4 && s.at > from && s.at < to {
                times.push(s.at);
            }
            at += len.max(19);
        }
    }
    let count = times.len() - 1;
    times.push(to);
    let gap = times
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).unwrap_or_default().as_secs_f64() * 1e3)
        .fold(0.0, f64::max);
    Ok((gap, count))
}

/// `feed` (whole BGP messages back to back) cut into pieces of about
/// `size` bytes, each ending where a message ends, so that something else
/// can be written between two pieces.
fn message_chunks(feed: &[u8], size: usize) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let (mut start, mut at) = (0, 0);
    while at + 19 <= feed.len() {
        let len = usize::from(u16::from_be_bytes([feed[at + 16], feed[at + 17]])).max(19);
        at = (at + len).min(feed.len());
        if at - start >= size {
            chunks.push(&feed[start..at]);
            start = at;
        }
    }
    if start < feed.len() {
        chunks.push(&feed[start..]);
    }
    chunks
}
