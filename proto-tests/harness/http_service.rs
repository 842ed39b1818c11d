//! The service behind a VIP: a small HTTP server (a Python script from
//! `configs/`) that answers every GET with its node's name, started, killed
//! and started again by pid inside a lab namespace.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::lab::Netns;
use super::{require_binary, wait_until};

const PYTHON: &str = "python3";
/// Python starts in tens of milliseconds; a loaded CI machine may take longer.
const START_DEADLINE: Duration = Duration::from_secs(15);
const EXIT_DEADLINE: Duration = Duration::from_secs(5);

pub struct HttpService {
    ns: Netns,
    node: String,
    script: PathBuf,
    addresses: Vec<String>,
    /// The pidfile as the service (and vipd) see it inside the namespace.
    pidfile: String,
    pid: Option<u32>,
    /// Log lines already consumed by earlier starts.
    log_seen: usize,
}

impl HttpService {
    /// A service for `node` in `ns` that will listen on port 80 of every
    /// address in `addresses` and write its pid to `pidfile` (a path inside
    /// the namespace, e.g. under a [`Netns::etc_dir`]).
    pub fn new(
        ns: Netns,
        node: &str,
        script: &Path,
        addresses: &[&str],
        pidfile: &str,
    ) -> HttpService {
        require_binary(PYTHON, "python3");
        assert!(script.is_file(), "{} is missing", script.display());
        HttpService {
            ns,
            node: node.to_string(),
            script: script.to_path_buf(),
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            pidfile: pidfile.to_string(),
            pid: None,
            log_seen: 0,
        }
    }

    fn log_name(&self) -> String {
        format!("{}-http", self.node)
    }

    /// Starts the service and returns when it listens, with the time it
    /// reported listening from (its own clock reading, taken after every
    /// socket was bound and the pidfile written).
    pub fn start(&mut self) -> Result<SystemTime, String> {
        assert!(self.pid.is_none(), "{}: service already running", self.node);
        let script = self
            .script
            .to_str()
            .ok_or_else(|| format!("non-UTF-8 path {}", self.script.display()))?;
        let mut args = vec![
            "-u",
            script,
            "--name",
            &self.node,
            "--pidfile",
            &self.pidfile,
        ];
        args.extend(self.addresses.iter().map(String::as_str));
        let pid = self.ns.spawn(&self.log_name(), PYTHON, &args)?;
        self.pid = Some(pid);
        let lab = self.ns.lab().clone();
        let mut listening = None;
        wait_until(START_DEADLINE, || {
            if !lab.is_running(pid) {
                return Err("the HTTP service exited; see its log".to_string());
            }
            let log = lab.read_log(&self.log_name());
            listening = log
                .get(self.log_seen..)
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix("listening "))
                .and_then(|t| t.trim().parse::<f64>().ok());
            if listening.is_some() {
                self.log_seen = log.len();
                Ok(())
            } else {
                Err("not listening yet".to_string())
            }
        })
        .map_err(|e| format!("{}: HTTP service did not start: {e}", self.node))?;
        let seconds = listening.unwrap_or_default();
        Ok(UNIX_EPOCH + Duration::from_secs_f64(seconds))
    }

    /// SIGKILL by pid (the service dies without closing anything itself);
    /// returns the time just before the signal was sent.
    pub fn kill(&mut self) -> Result<SystemTime, String> {
        let pid = self
            .pid
            .take()
            .ok_or_else(|| format!("{}: service is not running", self.node))?;
        let lab = self.ns.lab();
        let at = SystemTime::now();
        if !lab.signal(pid, libc::SIGKILL) {
            return Err(format!(
                "{}: service (pid {pid}) had already exited",
                self.node
            ));
        }
        lab.wait_exit(pid, EXIT_DEADLINE)
            .ok_or_else(|| format!("{}: service (pid {pid}) survived SIGKILL", self.node))?;
        Ok(at)
    }
}
