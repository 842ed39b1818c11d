//! The results as Markdown: the machine, one table per benchmark with
//! ratios against vipd from the same run, and the targets met or missed.

use std::fmt::Write as _;

use crate::announce::{Result_ as Announce, Speaker};
use crate::churn::ChurnResult;
use crate::common::mb;
use crate::fanout::FanoutResult;
use crate::idle::IdleResult;
use crate::inbound::InboundResult;

pub struct Report {
    machine: Vec<(String, String)>,
    smoke: bool,
    pub announce: Vec<Announce>,
    pub churn: Option<ChurnResult>,
    pub inbound: Option<InboundResult>,
    pub fanout: Option<FanoutResult>,
    pub idle: Option<IdleResult>,
}

/// Date, CPU, kernel and the version of every tool.
pub fn machine() -> Vec<(String, String)> {
    use super::machine::{build, cpu_model, first_line as run};
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or("unknown".to_string(), |kb| {
            format!("{:.0} GB", kb as f64 / 1048576.0)
        });
    vec![
        ("date".into(), run("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
        (
            "CPU".into(),
            format!("{}, nproc {}", cpu_model(), run("nproc", &[])),
        ),
        ("memory".into(), mem),
        ("kernel".into(), run("uname", &["-r"])),
        (
            "load average at start (shared machine)".into(),
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("BIRD".into(), run("bird", &["--version"])),
        ("GoBGP".into(), run("gobgpd", &["--version"])),
        ("ExaBGP".into(), run("/usr/sbin/exabgp", &["--version"])),
        ("vipd build".into(), build()),
    ]
}

fn ms(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

impl Report {
    pub fn new(machine: Vec<(String, String)>, smoke: bool) -> Report {
        Report {
            machine,
            smoke,
            announce: Vec::new(),
            churn: None,
            inbound: None,
            fanout: None,
            idle: None,
        }
    }

    pub fn markdown(&self, failures: &[String]) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "## Results\n");
        if self.smoke {
            let _ = writeln!(
                t,
                "**Smoke run (tiny sizes): correctness only, the figures mean nothing.**\n"
            );
        }
        for (k, v) in &self.machine {
            let _ = writeln!(t, "- {k}: {v}");
        }
        let _ = writeln!(t);
        self.announce_table(&mut t);
        if let Some(c) = &self.churn {
            let _ = writeln!(t, "### Churn\n");
            let _ = writeln!(
                t,
                "| VIPs | transitions | rate (/s) | UPDATEs | matched in order | lost | out of order | unexpected | p50 ms | p99 ms | max ms | vipd CPU (cores) |"
            );
            let _ = writeln!(
                t,
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            let _ = writeln!(
                t,
                "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3} |\n",
                c.vips,
                c.transitions,
                c.achieved_rate,
                c.updates,
                c.matched,
                c.lost,
                c.out_of_order,
                c.unexpected,
                ms(c.p50_ms),
                ms(c.p99_ms),
                ms(c.max_ms),
                c.cpu_per_s
            );
        }
        if let Some(i) = &self.inbound {
            let _ = writeln!(t, "### Inbound full table\n");
            let _ = writeln!(
                t,
                "| routes | MB | first pass s | routes/s | MB/s | whole feed s (table re-sent) | MB sent in all | vipd CPU s (whole feed) | RSS before MB | growth by first pass MB | growth over whole feed MB | max keepalive gap to BIRD ms (hold 3 s) | KEEPALIVEs | BIRD session stayed up |"
            );
            let _ = writeln!(
                t,
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
            );
            let _ = writeln!(
                t,
                "| {} | {:.1} | {:.2} | {:.0} | {:.1} | {} | {:.0} | {:.2} | {:.1} | {:.1} | {:.1} | {:.0} | {} | {} |\n",
                i.routes,
                i.bytes as f64 / 1e6,
                i.secs,
                i.routes_per_s,
                i.mb_per_s,
                if i.capped {
                    format!("{:.1} (stopped: vipd RSS > 1 GiB)", i.sustained_secs)
                } else {
                    format!("{:.1}", i.sustained_secs)
                },
                i.sustained_bytes as f64 / 1e6,
                i.cpu,
                mb(i.rss_before_kb),
                mb(i.rss_first_pass_kb.saturating_sub(i.rss_before_kb)),
                mb(i.rss_peak_kb.saturating_sub(i.rss_before_kb)),
                i.max_keepalive_gap_ms,
                i.keepalives,
                if i.bird_session_stayed_up {
                    "yes"
                } else {
                    "NO"
                }
            );
        }
        if let Some(f) = &self.fanout {
            let _ = writeln!(t, "### Health-check fan-out\n");
            let _ = writeln!(
                t,
                "| HTTP checks | window s | checks probed | probes | vipd CPU (cores) | RSS MB | gap−1s p50 ms | gap−1s p99 ms | gap−1s max ms | late beyond jitter p99 ms | HTTP server CPU (cores) | whole machine busy (cores) |"
            );
            let _ = writeln!(
                t,
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {:.3} | {:.1} | {} | {} | {} | {} | {:.2} | {:.2} |\n",
                f.checks,
                f.secs,
                f.checks_probed,
                f.probes,
                f.cpu_cores,
                mb(f.rss_kb),
                ms(f.gap_p50_ms),
                ms(f.gap_p99_ms),
                ms(f.gap_max_ms),
                ms(f.late_p99_ms),
                f.server_cores,
                f.machine_cores
            );
        }
        if let Some(i) = &self.idle {
            let _ = writeln!(t, "### Idle footprint\n");
            let _ = writeln!(
                t,
                "| window s | RSS MB | peak RSS MB | CPU % of a core | probes served |"
            );
            let _ = writeln!(t, "|---:|---:|---:|---:|---:|");
            let _ = writeln!(
                t,
                "| {} | {:.1} | {:.1} | {:.3} | {} |\n",
                i.secs,
                mb(i.rss_kb),
                mb(i.hwm_kb),
                i.cpu_percent,
                i.probes
            );
        }
        if !failures.is_empty() {
            let _ = writeln!(t, "### Failures\n");
            for f in failures {
                let _ = writeln!(t, "- {f}");
            }
        }
        t
    }

    fn announce_table(&self, t: &mut String) {
        if self.announce.is_empty() {
            return;
        }
        let _ = writeln!(t, "### Announce\n");
        let _ = writeln!(
            t,
            "| N | speaker | spawn → router holds N (s) | ÷ vipd's time | session up → N held (s) | CPU s | peak RSS MB | routes held |"
        );
        let _ = writeln!(t, "|---:|---|---:|---:|---:|---:|---:|---:|");
        let mut ns: Vec<u32> = self.announce.iter().map(|r| r.n).collect();
        ns.dedup();
        for n in ns {
            let vipd = self
                .announce
                .iter()
                .find(|r| r.n == n && r.speaker == Speaker::Vipd)
                .and_then(|r| r.secs);
            for r in self.announce.iter().filter(|r| r.n == n) {
                let ratio = match (r.secs, vipd) {
                    (Some(s), Some(v)) if v > 0.0 => format!("{:.2}", s / v),
                    _ => "-".into(),
                };
                let cpu = if r.helper_cpu > 0.0 {
                    format!("{:.2} (+{:.2} client)", r.cpu, r.helper_cpu)
                } else {
                    format!("{:.2}", r.cpu)
                };
                let transfer = match (r.secs, r.established) {
                    (Some(s), Some(e)) => format!("{:.3}", (s - e).max(0.0)),
                    _ => "-".into(),
                };
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | {} | {} | {} | {:.1} | {} |",
                    r.n,
                    r.speaker,
                    r.secs.map_or("timed out".into(), |s| format!("{s:.3}")),
                    ratio,
                    transfer,
                    cpu,
                    mb(r.peak_rss_kb),
                    r.held
                );
            }
        }
        let _ = writeln!(t);
    }
}
