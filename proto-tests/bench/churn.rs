//! Churn: V VIPs, each behind its own `lease` check, flipped at random at
//! R transitions per second for S seconds through the lease HTTP endpoint
//! (POST renews: the VIP comes up; DELETE releases: it goes down at once).
//! The state-change time is when the benchmark sent the request; tcpdump on
//! the router's interface gives when each UPDATE crossed the wire. Every
//! transition must appear, per prefix in the order made, none lost and none
//! extra; the latency is wire time minus request time (so it includes the
//! HTTP round trip into vipd).
//!
//! A VIP is not picked again within [`MIN_GAP`] of its last flip: a
//! withdraw and re-announce of one prefix within microseconds may
//! legitimately be merged on the wire, which would be counted as lost.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use ipnet::IpNet;
use rand::Rng;

use crate::common::{
    self, Pair, ROUTER_ASN, ROUTER_IP, RouterSession, SPEAKER_ASN, SPEAKER_IP, SPEAKER_PROTOCOL,
};
use crate::harness::{Capture, pcap};

const LEASE_PORT: u16 = 9900;
const MIN_GAP: Duration = Duration::from_secs(1);
const SETTLE: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct ChurnResult {
    pub vips: u32,
    pub transitions: usize,
    pub achieved_rate: f64,
    pub matched: usize,
    pub lost: usize,
    pub out_of_order: usize,
    pub unexpected: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub updates: usize,
    pub cpu_per_s: f64,
}

pub fn run(vips: u32, rate: u32, secs: u32) -> Result<ChurnResult, String> {
    let pair = Pair::new()?;
    let (_router, mut ctl) = pair.start_router(&common::router_config(&[RouterSession {
        name: SPEAKER_PROTOCOL,
        local: ROUTER_IP,
        neighbor: SPEAKER_IP,
        asn: SPEAKER_ASN,
        passive: true,
        disabled: false,
        hold: None,
    }]))?;
    let mut config = format!(
        "[speaker]\nasn = {SPEAKER_ASN}\nrouter_id = \"{SPEAKER_IP}\"\n\n[[peer]]\naddress = \"{ROUTER_IP}\"\nremote_asn = {ROUTER_ASN}\n\n"
    );
    config.push_str(&common::vip_tables(vips, false, |i| {
        format!("checks = [\"l{i}\"]\n")
    }));
    for i in 0..vips {
        config.push_str(&format!(
            "[check.l{i}]\nkind = \"lease\"\nttl = \"1h\"\nhttp = \"127.0.0.1:{LEASE_PORT}\"\n"
        ));
    }
    let path = pair.file("vipd.toml", config.as_bytes())?;
    let vipd = common::spawn_vipd(&pair.spk, &pair.lab, "spk", &path, "info")?;

    let lease: SocketAddr = (Ipv4Addr::LOCALHOST, LEASE_PORT).into();
    let start = Instant::now();
    let stream = loop {
        match common::connect_in(&pair.spk, lease) {
            Ok(s) => break s,
            Err(e) if start.elapsed() > SETTLE => {
                return Err(format!("the lease endpoint never opened: {e}"));
            }
            Err(_) => thread::sleep(Duration::from_millis(50)),
        }
    };
    let mut client = Client::new(stream)?;

    // Everything up first, and held at the router.
    for i in 0..vips {
        client.request("POST", &format!("/lease/l{i}"))?;
    }
    wait_held(&mut ctl, u64::from(vips))?;

    let capture = Capture::start(&pair.rtr, "eth1", "churn")?;
    let mut up = vec![true; vips as usize];
    let mut last: Vec<Option<Instant>> = vec![None; vips as usize];
    let mut made: Vec<(u32, bool, SystemTime)> = Vec::new();
    let mut rng = rand::thread_rng();
    let total = u64::from(rate) * u64::from(secs);
    let cpu0 = common::usage(vipd.pid).map(|u| u.cpu).unwrap_or(0.0);
    let t0 = Instant::now();
    for k in 0..total {
        common::sleep_until(t0 + Duration::from_secs_f64(k as f64 / f64::from(rate)));
        let now = Instant::now();
        // A VIP not flipped within MIN_GAP (a bounded number of tries).
        let Some(i) = (0..64)
            .map(|_| rng.gen_range(0..vips) as usize)
            .find(|&i| last[i].is_none_or(|t| now - t >= MIN_GAP))
        else {
            continue;
        };
        let to_up = !up[i];
        let at = SystemTime::now();
        client.request(
            if to_up { "POST" } else { "DELETE" },
            &format!("/lease/l{i}"),
        )?;
        up[i] = to_up;
        last[i] = Some(now);
        made.push((i as u32, to_up, at));
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let expected_up = up.iter().filter(|u| **u).count() as u64;
    let held = wait_held(&mut ctl, expected_up);
    let cpu1 = common::usage(vipd.pid).map(|u| u.cpu).unwrap_or(0.0);
    // Let the last segments reach the capture file.
    thread::sleep(Duration::from_millis(500));
    let file = capture.stop();
    held?;

    let updates = pcap::updates(&file)?;
    let speaker = IpAddr::V4(SPEAKER_IP);
    let mut wire: BTreeMap<IpNet, VecDeque<(bool, SystemTime)>> = BTreeMap::new();
    let mut count = 0;
    for u in updates.iter().filter(|u| u.from == speaker) {
        count += 1;
        for p in &u.withdrawn {
            wire.entry(*p).or_default().push_back((false, u.at));
        }
        for p in &u.announced {
            wire.entry(*p).or_default().push_back((true, u.at));
        }
    }
    let mut latencies = Vec::new();
    let (mut lost, mut out_of_order) = (0, 0);
    for (i, to_up, at) in &made {
        let prefix = IpNet::from(IpAddr::V4(common::host(*i, vips)));
        match wire.get_mut(&prefix).and_then(VecDeque::pop_front) {
            None => lost += 1,
            Some((kind, _)) if kind != *to_up => out_of_order += 1,
            Some((_, seen)) => latencies.push(
                seen.duration_since(*at)
                    .unwrap_or(Duration::ZERO)
                    .as_secs_f64()
                    * 1e3,
            ),
        }
    }
    let unexpected = wire.values().map(VecDeque::len).sum();
    latencies.sort_by(f64::total_cmp);
    Ok(ChurnResult {
        vips,
        transitions: made.len(),
        achieved_rate: made.len() as f64 / elapsed,
        matched: latencies.len(),
        lost,
        out_of_order,
        unexpected,
        p50_ms: common::quantile(&latencies, 0.5),
        p99_ms: common::quantile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        updates: count,
        cpu_per_s: (cpu1 - cpu0) / elapsed,
    })
}

fn wait_held(ctl: &mut common::BirdCtl, n: u64) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let (routes, state) = ctl.imported(SPEAKER_PROTOCOL)?;
        if routes == n {
            return Ok(());
        }
        if start.elapsed() > SETTLE {
            return Err(format!(
                "the router holds {routes} routes, not {n} (session {state})"
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A keep-alive HTTP/1.1 client on one connection.
struct Client {
    write: TcpStream,
    read: BufReader<TcpStream>,
}

impl Client {
    fn new(stream: TcpStream) -> Result<Client, String> {
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let read = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
        Ok(Client {
            write: stream,
            read,
        })
    }

    fn request(&mut self, method: &str, path: &str) -> Result<(), String> {
        let req =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
        self.write
            .write_all(req.as_bytes())
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let mut status = String::new();
        self.read
            .read_line(&mut status)
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            let n = self
                .read
                .read_line(&mut line)
                .map_err(|e| format!("{method} {path}: {e}"))?;
            if n == 0 {
                return Err(format!("{method} {path}: connection closed"));
            }
            if line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.read
            .read_exact(&mut body)
            .map_err(|e| format!("{method} {path}: {e}"))?;
        if status.split_whitespace().nth(1) != Some("200") {
            return Err(format!(
                "{method} {path}: {} {}",
                status.trim(),
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(())
    }
}
