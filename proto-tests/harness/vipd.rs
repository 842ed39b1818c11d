//! The daemon under test, run as its own binary inside a lab namespace.

use std::net::IpAddr;
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
    /// The control socket, in the lab dir (one per node; the config's path
    /// would be shared by every vipd on the machine).
    socket: PathBuf,
    pid: Option<u32>,
}

/// Output of a `vipd` control command (`status`, `drain`, `reload`, ...).
pub struct CtlOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Vipd {
    /// A vipd for node `name` in `ns`, reading `config` as is.
    pub fn new(ns: Netns, name: &str, config: PathBuf) -> Vipd {
        let log = ns.lab().log_path(&format!("{name}-vipd"));
        let socket = ns.lab().dir().join(format!("{name}.vipd.sock"));
        Vipd {
            ns,
            name: name.to_string(),
            config,
            log,
            socket,
            pid: None,
        }
    }

    /// `vipd ARGS --socket <this node's socket>`. No namespace needed: the
    /// socket is a file.
    pub fn ctl(&self, args: &[&str]) -> Result<CtlOutput, String> {
        let out = Command::new(VIPD)
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .map_err(|e| format!("cannot run {VIPD} {args:?}: {e}"))?;
        Ok(CtlOutput {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// The running vipd's pid.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Sends `sig` to the running vipd; false if it is not running.
    pub fn signal(&self, sig: libc::c_int) -> bool {
        self.pid.is_some_and(|pid| self.ns.lab().signal(pid, sig))
    }

    /// `vipd run --config FILE --log-level debug`, stderr to this node's log.
    pub fn start(&mut self) -> Result<(), String> {
        let config = self
            .config
            .to_str()
            .ok_or_else(|| format!("non-UTF-8 path {}", self.config.display()))?;
        let socket = self
            .socket
            .to_str()
            .ok_or_else(|| format!("non-UTF-8 path {}", self.socket.display()))?;
        let pid = self.ns.spawn(
            &format!("{}-vipd", self.name),
            VIPD,
            &[
                "run",
                "--config",
                config,
                "--log-level",
                "debug",
                "--control-socket",
                socket,
            ],
        )?;
        self.pid = Some(pid);
        Ok(())
    }

    /// SIGTERM by pid; returns the exit status and how long the exit took.
    pub fn terminate(&mut self) -> Result<(ExitStatus, Duration), String> {
        self.stop_with(libc::SIGTERM)
    }

    /// SIGUSR2 by pid (stop for a restart: the routers keep the routes);
    /// returns the exit status and how long the exit took.
    pub fn stop_for_restart(&mut self) -> Result<(ExitStatus, Duration), String> {
        self.stop_with(libc::SIGUSR2)
    }

    /// Sends `sig` and waits for the exit.
    fn stop_with(&mut self, sig: libc::c_int) -> Result<(ExitStatus, Duration), String> {
        let pid = self
            .pid
            .take()
            .ok_or_else(|| format!("vipd {} is not running", self.name))?;
        let lab = self.ns.lab();
        let start = Instant::now();
        if !lab.signal(pid, sig) {
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
                    "vipd {} did not exit within {TERMINATE_WAIT:?} of signal {sig}; killed it",
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

    /// Lines logged from byte offset `since` on (see [`Vipd::log_len`]) that
    /// contain `message` and carry the field `peer=<peer>`.
    pub fn peer_lines(&self, since: usize, message: &str, peer: IpAddr) -> Vec<String> {
        let log = self.log();
        log.get(since..)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains(message) && mentions_peer(line, peer))
            .map(str::to_string)
            .collect()
    }

    /// Current size of the log, to look only at what comes after.
    pub fn log_len(&self) -> usize {
        std::fs::metadata(&self.log).map_or(0, |m| m.len() as usize)
    }
}

/// Whether a tracing line has `peer=<addr>` (as a field or in a span),
/// compared as addresses so 10.255.1.1 does not match 10.255.1.10.
pub fn mentions_peer(line: &str, peer: IpAddr) -> bool {
    line.match_indices("peer=").any(|(at, key)| {
        let value: String = line[at + key.len()..]
            .trim_start_matches('"')
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || *c == '.' || *c == ':')
            .collect();
        value.parse::<IpAddr>().is_ok_and(|a| a == peer)
    })
}

/// The value of `key=` in a tracing line, e.g. `retry_in=1.5s` -> `1.5s`.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    line[start..].split_whitespace().next()
}

/// Parses a `Duration`'s `Debug` text (`1s`, `1.5s`, `500ms`, `250µs`).
pub fn parse_debug_duration(text: &str) -> Option<Duration> {
    let text = text.trim_matches(|c: char| c == '"' || c == ',');
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => number,
        "ms" => number / 1e3,
        "µs" | "us" => number / 1e6,
        "ns" => number / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
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
