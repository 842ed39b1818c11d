//! Health-check fan-out: C HTTP checks (one VIP each, `interval = "1s"`,
//! `watch = false` so each is a real probe every interval) against a local
//! HTTP server in vipd's namespace that records when each check's request
//! arrives. vipd's CPU is read over the window; lateness is each probe's
//! gap since the previous probe of the same check minus the 1 s interval.
//! vipd adds up to 10% random jitter on purpose, so a gap of 1.0-1.1 s is
//! on time; `late_beyond_jitter` counts only what exceeds 1.1 s.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{self, Pair};
use crate::httpd::Httpd;

const PORT: u16 = 8000;
const WARMUP_DEADLINE: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct FanoutResult {
    pub checks: u32,
    pub secs: u32,
    pub checks_probed: u32,
    pub probes: usize,
    pub cpu_cores: f64,
    pub rss_kb: u64,
    /// Gap minus 1 s, ms.
    pub gap_p50_ms: f64,
    pub gap_p99_ms: f64,
    pub gap_max_ms: f64,
    /// Gap minus 1.1 s (the jitter's upper end), at least 0, ms.
    pub late_p99_ms: f64,
    /// CPU of the benchmark process (the HTTP server) over the window.
    pub server_cores: f64,
    /// Busy CPU of the whole (shared) machine over the window.
    pub machine_cores: f64,
}

pub fn run(checks: u32, secs: u32) -> Result<FanoutResult, String> {
    let pair = Pair::new()?;
    let httpd = Httpd::start(&pair.spk, SocketAddr::from((Ipv4Addr::LOCALHOST, PORT)))?;
    let mut config = format!(
        "[speaker]\nasn = {}\nrouter_id = \"{}\"\n\n",
        common::SPEAKER_ASN,
        common::SPEAKER_IP
    );
    config.push_str(&common::vip_tables(checks, false, |i| {
        format!("checks = [\"h{i}\"]\n")
    }));
    for i in 0..checks {
        config.push_str(&format!(
            "[check.h{i}]\nkind = \"http\"\nurl = \"http://127.0.0.1:{PORT}/h/{i}\"\ninterval = \"1s\"\nwatch = false\n"
        ));
    }
    let path = pair.file("vipd.toml", config.as_bytes())?;
    let vipd = common::spawn_vipd(&pair.spk, &pair.lab, "spk", &path, "info")?;

    // Warm-up: every check probed at least twice (so all are up and past
    // their start-up phase), then one more second.
    let start = Instant::now();
    loop {
        let mut seen: BTreeMap<u32, u32> = BTreeMap::new();
        for (id, _) in httpd.take_hits() {
            *seen.entry(id).or_default() += 1;
        }
        if seen.values().filter(|c| **c >= 2).count() as u32 >= checks {
            break;
        }
        if start.elapsed() > WARMUP_DEADLINE {
            return Err(format!(
                "after {WARMUP_DEADLINE:?} only {} of {checks} checks were probed twice",
                seen.values().filter(|c| **c >= 2).count()
            ));
        }
        thread::sleep(Duration::from_millis(200));
    }
    thread::sleep(Duration::from_secs(1));

    let cpu0 = common::usage(vipd.pid).unwrap_or_default();
    let own0 = common::usage(std::process::id()).unwrap_or_default();
    let busy0 = common::machine_busy();
    let w0 = Instant::now();
    thread::sleep(Duration::from_secs(u64::from(secs)));
    let w1 = Instant::now();
    let cpu1 = common::usage(vipd.pid).unwrap_or_default();
    let own1 = common::usage(std::process::id()).unwrap_or_default();
    let busy1 = common::machine_busy();
    let window = (w1 - w0).as_secs_f64();

    let mut per_check: BTreeMap<u32, Vec<Instant>> = BTreeMap::new();
    let mut probes = 0;
    for (id, at) in httpd.take_hits() {
        // The last probe before the window too, for the first gap in it.
        if at + Duration::from_millis(1500) >= w0 && at <= w1 {
            per_check.entry(id).or_default().push(at);
            if at >= w0 {
                probes += 1;
            }
        }
    }
    let mut gaps = Vec::new();
    let mut late = Vec::new();
    for times in per_check.values_mut() {
        times.sort();
        for w in times.windows(2) {
            if w[1] < w0 {
                continue;
            }
            let gap = (w[1] - w[0]).as_secs_f64() * 1e3;
            gaps.push(gap - 1000.0);
            late.push((gap - 1100.0).max(0.0));
        }
    }
    gaps.sort_by(f64::total_cmp);
    late.sort_by(f64::total_cmp);
    Ok(FanoutResult {
        checks,
        secs,
        checks_probed: per_check.len() as u32,
        probes,
        cpu_cores: (cpu1.cpu - cpu0.cpu) / window,
        rss_kb: cpu1.rss_kb,
        gap_p50_ms: common::quantile(&gaps, 0.5),
        gap_p99_ms: common::quantile(&gaps, 0.99),
        gap_max_ms: gaps.last().copied().unwrap_or(f64::NAN),
        late_p99_ms: common::quantile(&late, 0.99),
        server_cores: (own1.cpu - own0.cpu) / window,
        machine_cores: (busy1 - busy0) / window,
    })
}
