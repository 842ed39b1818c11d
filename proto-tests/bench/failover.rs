//! Failover benchmark: vipd with an event-driven check, vipd with a polled
//! check and ExaBGP with its healthcheck application, side by side on the
//! same topology with the same probe settings (HTTP every 1 s, rise 1,
//! fall 1), three nodes, a client at 200 requests/s.
//!
//! ```text
//!                                  +-- node1: service killed and restarted,
//!   client ---- router (BIRD) -----+-- node2   maintenance file touched/removed
//!   200 req/s   ECMP               +-- node3   (vipd or ExaBGP on each node)
//! ```
//!
//! Run as root, with ExaBGP installed (`apt-get install exabgp`):
//!
//! ```sh
//! VIPD_BENCH=1 cargo test --release --test failover_bench
//! ```
//!
//! Without `VIPD_BENCH=1` it prints `skipped: set VIPD_BENCH=1` and exits 0
//! at once: the switch keeps a plain `cargo test` fast, and CI does not run
//! the benchmark (its machinery runs there, in
//! `proto-tests/failover_benchmark_measures_a_vipd_failover.rs`).
//! `VIPD_BENCH_REPS` sets the episodes per system (default 10, at least 5).
//!
//! For each system: deploy the lab, start the speakers, run the failovers
//! and the drains ([`failover_measure::Run`]), tear the lab down. Then print
//! the table and write it to `proto-tests/bench/failover-results.md`.

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use rand::Rng;

// The proto-tests' own modules, shared as source; this binary uses part of
// each, so the rest is dead code here (and used in the proto-tests).
#[allow(dead_code, unused_imports)]
#[path = "../anycast.rs"]
mod anycast;
#[allow(dead_code, unused_imports)]
#[path = "../clab.rs"]
mod clab;
#[allow(dead_code, unused_imports)]
#[path = "../failover_measure.rs"]
mod failover_measure;
#[allow(dead_code, unused_imports)]
#[path = "../harness/mod.rs"]
mod harness;

mod exabgp;
mod machine;
mod report;

use anycast::AnycastLab;
use failover_measure::Run;
use harness::RouterKind;
use report::Row;

const SWITCH: &str = "VIPD_BENCH";
const REPS: &str = "VIPD_BENCH_REPS";
const DEFAULT_REPS: usize = 10;
const MIN_REPS: usize = 5;
/// Each kill, and each restart, comes after a random pause of up to one
/// probe interval, so neither falls at the same point of a polled check's
/// cycle every time.
const MAX_PAUSE_MS: u64 = 1000;

#[derive(Clone, Copy)]
enum System {
    VipdWatch,
    VipdPoll,
    Exabgp,
}

impl System {
    const ALL: [System; 3] = [System::VipdWatch, System::VipdPoll, System::Exabgp];

    fn name(self) -> &'static str {
        match self {
            System::VipdWatch => "vipd, event-driven (http check, watch = true)",
            System::VipdPoll => "vipd, polled (http check, watch = false)",
            System::Exabgp => "ExaBGP 4 healthcheck (curl, --withdraw-on-down)",
        }
    }
}

/// Starts `system` on every node of `lab`. vipd is stopped with the lab;
/// ExaBGP, whose healthcheck processes the lab does not know, by the
/// returned handle.
fn start(system: System, lab: &AnycastLab) -> Option<exabgp::Exabgp> {
    match system {
        System::VipdWatch => {
            failover_measure::start_vipds(lab, true, "bench-watch");
            None
        }
        System::VipdPoll => {
            failover_measure::start_vipds(lab, false, "bench-poll");
            None
        }
        System::Exabgp => Some(exabgp::Exabgp::start(lab)),
    }
}

fn main() -> ExitCode {
    if std::env::var(SWITCH).as_deref() != Ok("1") {
        println!("skipped: set {SWITCH}=1");
        return ExitCode::SUCCESS;
    }
    let reps = match std::env::var(REPS) {
        Ok(text) => match text.parse::<usize>() {
            Ok(n) if n >= MIN_REPS => n,
            _ => {
                eprintln!("{REPS}={text:?}: want a whole number, at least {MIN_REPS}");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => DEFAULT_REPS,
    };
    harness::require_root();
    let machine = report::machine();
    let mut rows = Vec::new();
    for system in System::ALL {
        eprintln!("== {}: {reps} failovers, {reps} drains", system.name());
        match measure(system, reps) {
            Ok(row) => rows.push(row),
            Err(e) => {
                eprintln!("{}: {e}", system.name());
                return ExitCode::FAILURE;
            }
        }
    }
    let mut text = report::markdown(&machine, &rows, reps);
    text.push_str(&report::targets(&rows));
    println!("{text}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("proto-tests/bench/failover-results.md");
    if let Err(e) = std::fs::write(&path, &text) {
        eprintln!("cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("written to {}", path.display());
    ExitCode::SUCCESS
}

fn measure(system: System, reps: usize) -> Result<Row, String> {
    let lab = AnycastLab::deploy(RouterKind::Bird);
    let mut speakers = start(system, &lab);
    let mut run = Run::start(lab)?;
    let mut rng = rand::thread_rng();
    for i in 1..=reps {
        thread::sleep(Duration::from_millis(rng.gen_range(0..=MAX_PAUSE_MS)));
        let pause = Duration::from_millis(rng.gen_range(0..=MAX_PAUSE_MS));
        run.failover(pause)
            .map_err(|e| format!("failover {i}: {e}"))?;
        eprintln!("   failover {i}/{reps} done");
    }
    for i in 1..=reps {
        thread::sleep(Duration::from_millis(rng.gen_range(0..=MAX_PAUSE_MS)));
        run.drain().map_err(|e| format!("drain {i}: {e}"))?;
        eprintln!("   drain {i}/{reps} done");
    }
    // ExaBGP's healthchecks end before the lab goes.
    if let Some(exabgp) = speakers.as_mut() {
        exabgp.stop();
    }
    let (failovers, drains) = run.finish()?;
    Ok(Row {
        name: system.name(),
        failovers,
        drains,
    })
}
