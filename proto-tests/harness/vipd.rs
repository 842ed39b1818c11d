//! The daemon under test, run as its own binary inside a lab namespace.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use super::lab::{Netns, describe_status};

/// Path of the vipd binary cargo built for this test run.
pub const VIPD: &str = env!("CARGO_BIN_EXE_vipd");

/// How long `terminate` waits for an exit before giving up (the requirement
/// is 1 s; tests assert a generous bound and print the measured time).
const TERMINATE_WAIT: Duration = Duration::from_secs(10);

pub struct Vipd {
    ns: Netns,
    name: String,
    config: PathBuf,
    log: PathBuf,
    pid: Option<u32>,
}

impl Vipd {
    /// A vipd for node `name` in `ns`, reading `config` as is.
    pub fn new(ns: Netns, name: &str, config: PathBuf) -> Vipd {
        let log = ns.lab().log_path(&format!("{name}-vipd"));
        Vipd {
            ns,
            name: name.to_string(),
            config,
            log,
            pid: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn config(&self) -> &Path {
        &self.config
    }

    /// `vipd run --config FILE --log-level debug`, stderr to this node's log.
    pub fn start(&mut self) -> Result<(), String> {
        let config = self
            .config
            .to_str()
            .ok_or_else(|| format!("non-UTF-8 path {}", self.config.display()))?;
        let pid = self.ns.spawn(
            &format!("{}-vipd", self.name),
            VIPD,
            &["run", "--config", config, "--log-level", "debug"],
        )?;
        self.pid = Some(pid);
        Ok(())
    }

    pub fn is_running(&self) -> bool {
        self.pid.is_some_and(|pid| self.ns.lab().is_running(pid))
    }

    /// SIGTERM by pid; returns the exit status and how long the exit took.
    pub fn terminate(&mut self) -> Result<(ExitStatus, Duration), String> {
        let pid = self
            .pid
            .take()
            .ok_or_else(|| format!("vipd {} is not running", self.name))?;
        let lab = self.ns.lab();
        let start = Instant::now();
        if !lab.signal(pid, libc::SIGTERM) {
            return match lab.try_wait(pid) {
                Some(status) => Err(format!(
                    "vipd {} had already exited ({})",
                    self.name,
                    describe_status(status)
                )),
                None => Err(format!("cannot signal vipd {} (pid {pid})", self.name)),
            };
        }
        match lab.wait_exit(pid, TERMINATE_WAIT) {
            Some(status) => Ok((status, start.elapsed())),
            None => {
                lab.stop(pid);
                Err(format!(
                    "vipd {} did not exit within {TERMINATE_WAIT:?} of SIGTERM; killed it",
                    self.name
                ))
            }
        }
    }

    /// SIGKILL by pid: no withdrawal, no NOTIFICATION.
    pub fn kill(&mut self) {
        if let Some(pid) = self.pid.take() {
            let lab = self.ns.lab();
            lab.signal(pid, libc::SIGKILL);
            lab.wait_exit(pid, TERMINATE_WAIT);
        }
    }

    /// Everything vipd has logged so far (all runs of this node).
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        self.log().contains(needle)
    }

    /// Log lines that contain every one of `needles`.
    pub fn log_lines_with(&self, needles: &[&str]) -> Vec<String> {
        self.log()
            .lines()
            .filter(|line| needles.iter().all(|n| line.contains(n)))
            .map(str::to_string)
            .collect()
    }
}

/// Output of `vipd check --config FILE`.
pub struct CheckOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `vipd check --config FILE` (no namespace needed: it only reads).
pub fn check(config: &Path) -> Result<CheckOutput, String> {
    let out = Command::new(VIPD)
        .arg("check")
        .arg("--config")
        .arg(config)
        .output()
        .map_err(|e| format!("cannot run {VIPD} check: {e}"))?;
    Ok(CheckOutput {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
