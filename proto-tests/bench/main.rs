//! vipd's performance benchmarks, each against the tools people would use
//! instead, in one run on one machine (BENCHMARKS.md has the method and the
//! latest results):
//!
//! - announce: N /32s to a BIRD router, vipd vs GoBGP vs ExaBGP vs BIRD;
//! - churn: VIPs flipping health, every transition on the wire in order;
//! - inbound: a full table sent to vipd while it keeps its other session;
//! - fanout: many HTTP checks at 1 s, CPU and scheduling lateness;
//! - idle: the footprint of a small, quiet vipd.
//!
//! Run everything, as root, with `sudo proto-tests/bench.sh` (which builds in
//! release and installs what is missing), or directly:
//!
//! ```sh
//! VIPD_BENCH=1 cargo test --release --test vipd_bench
//! ```
//!
//! Without `VIPD_BENCH=1` it prints `skipped: set VIPD_BENCH=1` and exits 0.
//! `VIPD_BENCH_SMOKE=1` runs every benchmark at a tiny size (CI does, so the
//! harness cannot rot); it asserts correctness (all routes held, no
//! transition lost) and never timing. Sizes and durations can be set one by
//! one (see [`Params::from_env`]); `VIPD_BENCH_ONLY=announce,churn` picks
//! benchmarks. The results table is printed and written to
//! `VIPD_BENCH_OUT` (default `target/vipd-bench-results.md`).

use std::process::ExitCode;

#[allow(dead_code, unused_imports)]
#[path = "../clab.rs"]
mod clab;
#[allow(dead_code, unused_imports)]
#[path = "../harness/mod.rs"]
mod harness;

mod announce;
mod churn;
mod common;
mod fanout;
mod httpd;
mod idle;
mod inbound;
mod machine;
mod mrt;
mod table;

use announce::Speaker;

const SWITCH: &str = "VIPD_BENCH";

/// What to run, at what size.
pub struct Params {
    pub smoke: bool,
    pub only: Vec<String>,
    pub announce_n: Vec<u32>,
    pub speakers: Vec<Speaker>,
    pub churn_vips: u32,
    pub churn_rate: u32,
    pub churn_secs: u32,
    pub inbound_v4: u32,
    pub inbound_v6: u32,
    pub inbound_sustain_secs: u32,
    pub fanout_checks: u32,
    pub fanout_secs: u32,
    pub idle_secs: u32,
}

impl Params {
    /// Defaults (the issue's sizes, or tiny ones with `VIPD_BENCH_SMOKE=1`),
    /// each overridable: `VIPD_BENCH_N` (comma list), `VIPD_BENCH_SPEAKERS`
    /// (`vipd,bird,gobgp,exabgp`), `VIPD_BENCH_CHURN_VIPS`, `_CHURN_RATE`
    /// (transitions/s), `_CHURN_SECS`, `_INBOUND_V4`, `_INBOUND_V6`,
    /// `_INBOUND_SUSTAIN_SECS` (re-sending the table after the first pass),
    /// `_FANOUT_CHECKS`, `_FANOUT_SECS`, `_IDLE_SECS`.
    fn from_env() -> Result<Params, String> {
        let smoke = std::env::var("VIPD_BENCH_SMOKE").as_deref() == Ok("1");
        let num = |key: &str, full: u32, tiny: u32| -> Result<u32, String> {
            match std::env::var(format!("VIPD_BENCH_{key}")) {
                Ok(text) => text
                    .trim()
                    .parse()
                    .map_err(|e| format!("VIPD_BENCH_{key}={text:?}: {e}")),
                Err(_) => Ok(if smoke { tiny } else { full }),
            }
        };
        let list = |key: &str, full: &str, tiny: &str| -> Vec<String> {
            std::env::var(format!("VIPD_BENCH_{key}"))
                .unwrap_or_else(|_| (if smoke { tiny } else { full }).to_string())
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let announce_n = list("N", "1000,10000,100000,1000000", "1000")
            .iter()
            .map(|s| s.parse().map_err(|e| format!("VIPD_BENCH_N {s:?}: {e}")))
            .collect::<Result<_, String>>()?;
        let speakers = list(
            "SPEAKERS",
            "vipd,bird,gobgp,exabgp",
            "vipd,bird,gobgp,exabgp",
        )
        .iter()
        .map(|s| Speaker::parse(s).ok_or_else(|| format!("VIPD_BENCH_SPEAKERS: unknown {s:?}")))
        .collect::<Result<_, String>>()?;
        Ok(Params {
            smoke,
            only: list(
                "ONLY",
                "announce,churn,inbound,fanout,idle",
                "announce,churn,inbound,fanout,idle",
            ),
            announce_n,
            speakers,
            churn_vips: num("CHURN_VIPS", 10_000, 200)?,
            churn_rate: num("CHURN_RATE", 1000, 100)?,
            churn_secs: num("CHURN_SECS", 30, 2)?,
            inbound_v4: num("INBOUND_V4", 1_000_000, 8000)?,
            inbound_v6: num("INBOUND_V6", 200_000, 2000)?,
            inbound_sustain_secs: num("INBOUND_SUSTAIN_SECS", 10, 0)?,
            fanout_checks: num("FANOUT_CHECKS", 10_000, 100)?,
            fanout_secs: num("FANOUT_SECS", 30, 5)?,
            idle_secs: num("IDLE_SECS", 60, 5)?,
        })
    }

    fn wants(&self, bench: &str) -> bool {
        self.only.iter().any(|b| b == bench)
    }
}

fn main() -> ExitCode {
    if std::env::var(SWITCH).as_deref() != Ok("1") {
        println!("skipped: set {SWITCH}=1");
        return ExitCode::SUCCESS;
    }
    let params = match Params::from_env() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    harness::require_root();
    let mut report = table::Report::new(table::machine(), params.smoke);
    let mut failures = Vec::new();

    if params.wants("announce") {
        for &n in &params.announce_n {
            for &speaker in &params.speakers {
                eprintln!("== announce: {speaker}, {n} prefixes");
                match announce::run(speaker, n) {
                    Ok(r) => {
                        eprintln!(
                            "   {} s, {:.2} CPU s (+{:.2} helper), {:.1} MB peak RSS, router holds {}",
                            r.secs.map_or("-".into(), |s| format!("{s:.3}")),
                            r.cpu,
                            r.helper_cpu,
                            common::mb(r.peak_rss_kb),
                            r.held
                        );
                        if r.secs.is_none() {
                            failures.push(format!(
                                "announce {speaker} {n}: the router held only {} routes",
                                r.held
                            ));
                        }
                        report.announce.push(r);
                    }
                    Err(e) => failures.push(format!("announce {speaker} {n}: {e}")),
                }
            }
        }
    }
    if params.wants("churn") {
        eprintln!(
            "== churn: {} VIPs, {} transitions/s for {} s",
            params.churn_vips, params.churn_rate, params.churn_secs
        );
        match churn::run(params.churn_vips, params.churn_rate, params.churn_secs) {
            Ok(r) => {
                eprintln!("   {r:?}");
                if r.lost > 0 || r.out_of_order > 0 || r.unexpected > 0 {
                    failures.push(format!(
                        "churn: {} lost, {} out of order, {} unexpected",
                        r.lost, r.out_of_order, r.unexpected
                    ));
                }
                report.churn = Some(r);
            }
            Err(e) => failures.push(format!("churn: {e}")),
        }
    }
    if params.wants("inbound") {
        eprintln!(
            "== inbound: {} IPv4 + {} IPv6 routes",
            params.inbound_v4, params.inbound_v6
        );
        match inbound::run(
            params.inbound_v4,
            params.inbound_v6,
            std::time::Duration::from_secs(params.inbound_sustain_secs.into()),
        ) {
            Ok(r) => {
                eprintln!("   {r:?}");
                if !r.all_counted || !r.bird_session_stayed_up {
                    failures.push(format!(
                        "inbound: all counted {}, router session stayed up {}",
                        r.all_counted, r.bird_session_stayed_up
                    ));
                }
                report.inbound = Some(r);
            }
            Err(e) => failures.push(format!("inbound: {e}")),
        }
    }
    if params.wants("fanout") {
        eprintln!(
            "== fanout: {} HTTP checks at 1 s for {} s",
            params.fanout_checks, params.fanout_secs
        );
        match fanout::run(params.fanout_checks, params.fanout_secs) {
            Ok(r) => {
                eprintln!("   {r:?}");
                if r.checks_probed < params.fanout_checks {
                    failures.push(format!(
                        "fanout: only {} of {} checks probed",
                        r.checks_probed, params.fanout_checks
                    ));
                }
                report.fanout = Some(r);
            }
            Err(e) => failures.push(format!("fanout: {e}")),
        }
    }
    if params.wants("idle") {
        eprintln!(
            "== idle: 2 peers, 10 VIPs with checks, {} s",
            params.idle_secs
        );
        match idle::run(params.idle_secs) {
            Ok(r) => {
                eprintln!("   {r:?}");
                report.idle = Some(r);
            }
            Err(e) => failures.push(format!("idle: {e}")),
        }
    }

    let text = report.markdown(&failures);
    println!("{text}");
    let out = std::env::var("VIPD_BENCH_OUT").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/vipd-bench-results.md").to_string()
    });
    if let Err(e) = std::fs::write(&out, &text) {
        eprintln!("cannot write {out}: {e}");
    } else {
        eprintln!("written to {out}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        for f in &failures {
            eprintln!("FAILED: {f}");
        }
        ExitCode::FAILURE
    }
}
