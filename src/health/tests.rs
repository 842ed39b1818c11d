//! Tests that need more than one layer: the runner on tokio's paused clock
//! with scripted probes, and the real probes and watchers against loopback
//! services started by the tests (listeners, a small HTTP responder, a TLS
//! server with a self-signed certificate, child processes, temp files, a
//! scripted DNS responder, a gRPC health server, veth pairs in a network
//! namespace), and lease checks on paused and real clocks.

mod dns;
mod grpc;
mod interface;
mod lease;
mod probes;
mod runner;
mod watchers;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::config::{CheckConfig, CheckKind, OnFail};

/// A check of `kind` with the given periods; rise and fall 1 unless changed.
fn check(name: &str, kind: CheckKind, interval_ms: u64, timeout_ms: u64) -> CheckConfig {
    CheckConfig {
        name: name.into(),
        kind,
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        rise: 1,
        fall: 1,
        fast_interval: None,
        on_fail: OnFail::Withdraw,
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("vipd-health-{}-{n}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `pid` is gone or a zombie (dead, but not yet reaped by its parent).
fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")) {
        Err(_) => true,
        // "PID (COMM) STATE ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}
