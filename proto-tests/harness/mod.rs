//! The pieces every scenario is built from: a [`Lab`] of network namespaces
//! that cleans up after itself, the three real routers behind one [`Router`]
//! trait, and the [`Vipd`] process under test.
//!
//! Everything is asserted on the routers' own CLI output, polled with
//! [`wait_until`] until it holds or a generous deadline passes.

mod bfd_probe;
mod bird;
mod capture;
mod expect;
mod fib;
mod frr;
mod gobgp;
mod http_service;
pub mod impair;
mod lab;
mod load;
mod node_state;
pub mod ospf;
pub mod pcap;
mod router;
mod vipd;

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

pub use bfd_probe::BfdProbe;
pub use bird::Bird;
pub use capture::{Capture, decoded_from};
pub use expect::{ExpectedRoute, check_absent};
pub use fib::{RouteMonitor, interfaces};
pub use frr::Frr;
pub use gobgp::Gobgp;
pub use http_service::HttpService;
pub use lab::{Lab, Netns};
pub use load::{Load, Outcome, Request, connect_in, describe_failures, served_by};
pub use router::{Origin, RouteEntry, Router, RouterKind};
pub use vipd::{Vipd, check as vipd_check, field, parse_debug_duration};

/// How often [`wait_until`] re-runs its check.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Runs `check` until it returns `Ok` or `deadline` has passed; on timeout the
/// error is the check's last failure text, so the panic says what was missing.
pub fn wait_until<F>(deadline: Duration, mut check: F) -> Result<(), String>
where
    F: FnMut() -> Result<(), String>,
{
    let start = Instant::now();
    loop {
        let failure = match check() {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if start.elapsed() >= deadline {
            return Err(format!(
                "still failing after {:.1}s: {failure}",
                deadline.as_secs_f64()
            ));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Fails the test unless it runs as root: namespaces, veths and port 179 need it.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "proto-tests need root (network namespaces, veth pairs, port 179); \
         run them as root: `sudo -E cargo test --test proto`"
    );
}

/// Fails the test with an install hint when a router binary is missing.
pub fn require_binary(path: &str, package: &str) {
    assert!(
        Path::new(path).exists() || which(path),
        "{path} not found: install the `{package}` package (apt-get install {package}); \
         proto-tests never skip a missing router"
    );
}

fn which(program: &str) -> bool {
    !program.contains('/')
        && std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| dir.join(program).is_file())
        })
}
