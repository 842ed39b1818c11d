//! Error-handling conformance: a scripted raw-bytes peer sends each case of
//! a table to a live vipd and checks vipd's reaction against the RFC, while
//! a second, well-behaved session of the same vipd must not notice.
//!
//! ```text
//!   namespace per case (lo only)
//!   sentinel 127.0.0.10 --\
//!                          >-- vipd 127.0.0.1:179 (AS 65001, 3 VIPs)
//!   case peer 127.0.0.2 --/     (127.0.0.3 for the iBGP-only rules)
//! ```
//!
//! For each row of `cases::all()` (see `run.rs` for the steps):
//! 1. a fresh vipd; the sentinel establishes and receives every VIP;
//! 2. the case peer reaches the row's stage (OpenSent, our OPEN,
//!    OpenConfirm or Established) and sends the row's bytes;
//! 3. the reaction is compared with the RFC: NOTIFICATION code, subcode and
//!    data byte for byte, then the close; or the session stays up (KEEPALIVE
//!    from vipd, ROUTE-REFRESH answered) with the RFC 7606 approach in vipd's
//!    log (the only place treat-as-withdraw and attribute discard show);
//! 4. the sentinel, watched for at least 1.5 hold times, saw no gap of a
//!    hold time in KEEPALIVEs, no withdrawal, no NOTIFICATION, and still
//!    gets every VIP after a ROUTE-REFRESH; vipd still runs and exits 0 on
//!    SIGTERM.
//!
//! Plus two scenario rows in `flood.rs`: a ROUTE-REFRESH burst that must not
//! starve the other session, and a peer that stops reading (RFC 9687), which
//! waits as long as the RFC's default Send Hold Time (8 minutes) unless vipd
//! lets the test configure a shorter one.
//!
//! At the end the table (case | expected | observed | result) is printed
//! and written to `<target>/tmp/conformance.md`, followed by the details of
//! every deviation. Run as root: `cargo test --test proto conformance`.
//! `VIPD_CONFORMANCE=a,b,-c` runs only the rows whose name contains `a` or
//! `b` and not `c` (e.g. `-stops_reading` skips the send-hold scenario).
//!
//! Every row's bytes are also a seed in `fuzz/regressions/`; the test
//! `conformance_cases_are_regression_seeds` keeps them in step
//! (`VIPD_UPDATE_REGRESSIONS=1` rewrites them).

mod cases;
mod flood;
mod node;
mod peer;
mod report;
mod run;
mod sentinel;
mod wire;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;

use report::Row;

/// At most this many vipds at once.
const MAX_PARALLEL: usize = 8;

enum Job {
    Case(cases::Case),
    /// `flood.rs`: a ROUTE-REFRESH burst from a peer that reads.
    Burst,
    /// `flood.rs`: a peer that stops reading (RFC 9687).
    Stall,
}

impl Job {
    fn name(&self) -> &str {
        match self {
            Job::Case(c) => c.name,
            Job::Burst => flood::BURST,
            Job::Stall => flood::STALL,
        }
    }

    fn run(&self) -> Row {
        match self {
            Job::Case(c) => run::run(c),
            Job::Burst => flood::burst(),
            Job::Stall => flood::stops_reading(),
        }
    }
}

#[test]
fn conformance_table() {
    crate::harness::require_root();
    let filter = std::env::var("VIPD_CONFORMANCE").unwrap_or_default();
    let (exclude, include): (Vec<&str>, Vec<&str>) = filter
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .partition(|t| t.starts_with('-'));
    let wanted = |name: &str| {
        (include.is_empty() || include.iter().any(|t| name.contains(t)))
            && !exclude.iter().any(|t| name.contains(&t[1..]))
    };
    // The long scenarios first, so the short rows run beside them.
    let jobs: Vec<Job> = [Job::Stall, Job::Burst]
        .into_iter()
        .chain(cases::all().into_iter().map(Job::Case))
        .filter(|j| wanted(j.name()))
        .collect();
    assert!(!jobs.is_empty(), "no conformance case matches {filter:?}");
    let total = jobs.len();
    let queue: Arc<Mutex<VecDeque<(usize, Job)>>> =
        Arc::new(Mutex::new(jobs.into_iter().enumerate().collect()));
    let results: Arc<Mutex<Vec<Option<Row>>>> =
        Arc::new(Mutex::new((0..total).map(|_| None).collect()));
    let workers = thread::available_parallelism()
        .map_or(4, |n| n.get())
        .clamp(2, MAX_PARALLEL);
    let handles: Vec<_> = (0..workers.min(total))
        .map(|_| {
            let queue = queue.clone();
            let results = results.clone();
            // Each worker starts (and so outlives) its own vipds: the harness
            // ties a vipd's lifetime to the thread that spawned it.
            thread::spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some((i, job)) = next else { return };
                    let row = job.run();
                    eprintln!(
                        "conformance: {:<55} {}",
                        row.name,
                        if row.pass { "pass" } else { "FAIL" }
                    );
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(row);
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    let rows: Vec<Row> = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()))
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(rows.len(), total, "a worker died; see the output above");

    let table = report::table(&rows);
    let deviations = report::deviations(&rows);
    println!("\n{table}");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance.md");
    match std::fs::write(&out, format!("{table}\n{deviations}")) {
        Ok(()) => println!("(table written to {})", out.display()),
        Err(e) => println!("(cannot write {}: {e})", out.display()),
    }
    let failed = rows.iter().filter(|r| !r.pass).count();
    assert!(
        failed == 0,
        "{failed} of {total} conformance cases deviate from the RFC:\n\n{deviations}"
    );
}

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions")
}

/// Every row's bytes are a seed of the regression corpus, so the codec unit
/// test (`src/bgp/wire/tests/regressions.rs`) and the fuzzers see them too.
#[test]
fn conformance_cases_are_regression_seeds() {
    let dir = regressions_dir();
    let update = std::env::var_os("VIPD_UPDATE_REGRESSIONS").is_some();
    let mut stale = Vec::new();
    for case in cases::all() {
        let path = dir.join(format!("conformance-{}.bin", case.name));
        if update {
            std::fs::write(&path, &case.bytes)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        } else if std::fs::read(&path).ok().as_deref() != Some(case.bytes.as_slice()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "regression seeds missing or different from the conformance table \
         (rerun with VIPD_UPDATE_REGRESSIONS=1): {stale:#?}"
    );
}
