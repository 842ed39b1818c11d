//! Footprint: an idle vipd with two BGP sessions (to one BIRD router over
//! two links) and 10 VIPs, each with an HTTP check (every second, against
//! a local server), once everything is up: RSS and CPU over the window.

use std::net::{Ipv4Addr, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{
    self, Pair, ROUTER_ASN, ROUTER_IP, RouterSession, SPEAKER_ASN, SPEAKER_IP, SPEAKER_PROTOCOL,
};
use crate::httpd::Httpd;

const PORT: u16 = 8000;
const ROUTER_IP2: Ipv4Addr = Ipv4Addr::new(10, 255, 2, 1);
const SPEAKER_IP2: Ipv4Addr = Ipv4Addr::new(10, 255, 2, 2);
const VIPS: u32 = 10;

#[derive(Debug)]
pub struct IdleResult {
    pub secs: u32,
    pub rss_kb: u64,
    pub hwm_kb: u64,
    /// Percent of one core.
    pub cpu_percent: f64,
    pub probes: usize,
}

pub fn run(secs: u32) -> Result<IdleResult, String> {
    let pair = Pair::new()?;
    pair.lab.link(&pair.rtr, "eth2", &pair.spk, "eth2");
    pair.rtr
        .ip(&["addr", "add", &format!("{ROUTER_IP2}/24"), "dev", "eth2"])?;
    pair.spk
        .ip(&["addr", "add", &format!("{SPEAKER_IP2}/24"), "dev", "eth2"])?;
    let session = |name, local, neighbor| RouterSession {
        name,
        local,
        neighbor,
        asn: SPEAKER_ASN,
        passive: true,
        disabled: false,
        hold: None,
    };
    let (_router, mut ctl) = pair.start_router(&common::router_config(&[
        session(SPEAKER_PROTOCOL, ROUTER_IP, SPEAKER_IP),
        session("spk2", ROUTER_IP2, SPEAKER_IP2),
    ]))?;
    let httpd = Httpd::start(&pair.spk, SocketAddr::from((Ipv4Addr::LOCALHOST, PORT)))?;
    let mut config = format!(
        "[speaker]\nasn = {SPEAKER_ASN}\nrouter_id = \"{SPEAKER_IP}\"\n\n[[peer]]\naddress = \"{ROUTER_IP}\"\nremote_asn = {ROUTER_ASN}\n\n[[peer]]\naddress = \"{ROUTER_IP2}\"\nremote_asn = {ROUTER_ASN}\n\n"
    );
    config.push_str(&common::vip_tables(VIPS, false, |i| {
        format!("checks = [\"web{i}\"]\n")
    }));
    for i in 0..VIPS {
        config.push_str(&format!(
            "[check.web{i}]\nkind = \"http\"\nurl = \"http://127.0.0.1:{PORT}/h/{i}\"\n"
        ));
    }
    let path = pair.file("vipd.toml", config.as_bytes())?;
    let vipd = common::spawn_vipd(&pair.spk, &pair.lab, "spk", &path, "info")?;
    let start = Instant::now();
    loop {
        let a = ctl.imported(SPEAKER_PROTOCOL)?.0;
        let b = ctl.imported("spk2")?.0;
        if a == u64::from(VIPS) && b == u64::from(VIPS) {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err(format!("the router holds {a} and {b} of the {VIPS} VIPs"));
        }
        thread::sleep(Duration::from_millis(100));
    }
    thread::sleep(Duration::from_secs(2));
    let u0 = common::usage(vipd.pid).unwrap_or_default();
    let hits0 = httpd.take_hits().len();
    let t0 = Instant::now();
    thread::sleep(Duration::from_secs(u64::from(secs)));
    let u1 = common::usage(vipd.pid).unwrap_or_default();
    let elapsed = t0.elapsed().as_secs_f64();
    Ok(IdleResult {
        secs,
        rss_kb: u1.rss_kb,
        hwm_kb: u1.hwm_kb,
        cpu_percent: (u1.cpu - u0.cpu) / elapsed * 100.0,
        probes: httpd.take_hits().len() - hits0,
    })
}
