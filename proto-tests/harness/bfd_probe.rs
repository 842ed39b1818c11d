//! vipd's BFD engine (`vipd::bfd`) run on its own inside a lab namespace,
//! to time the engine without BGP around it (vipd itself starts BFD for its
//! peers: `proto-tests/bfd_vipd_*.rs`).
//!
//! The probe is this test binary again, started in the namespace with
//! [`PROBE_ENV`] set and filtered down to [`bfd_probe_child`], which then runs
//! the sessions and prints one line per state change:
//! `BFDPROBE <unix ms> peer=<address> state=<state>`. Being its own process,
//! it can be frozen (SIGSTOP) like a hung vipd, and is stopped by pid.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::lab::Netns;

/// Names the sessions for the child: `LOCAL>PEER,LOCAL>PEER/INTERVAL_MS/MULT`.
const PROBE_ENV: &str = "VIPD_BFD_PROBE";
/// The test the child runs (its path in this binary).
const CHILD_TEST: &str = "harness::bfd_probe::bfd_probe_child";
/// Marks the child's state lines in its log.
const LINE_PREFIX: &str = "BFDPROBE";
/// How long `stop` waits for the child after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// The probe process as the test sees it.
pub struct BfdProbe {
    ns: Netns,
    log_name: String,
    pid: Option<u32>,
}

impl BfdProbe {
    /// Starts one BFD session per `(local, peer)` pair in `ns`, each with
    /// `interval` (desired TX and required RX) and `multiplier`.
    pub fn start(
        ns: &Netns,
        name: &str,
        sessions: &[(IpAddr, IpAddr)],
        interval: Duration,
        multiplier: u8,
    ) -> Result<BfdProbe, String> {
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot find the test binary: {e}"))?;
        let exe = exe
            .to_str()
            .ok_or_else(|| format!("non-UTF-8 path {}", exe.display()))?
            .to_string();
        let pairs: Vec<String> = sessions.iter().map(|(l, p)| format!("{l}>{p}")).collect();
        let spec = format!(
            "{PROBE_ENV}={}/{}/{multiplier}",
            pairs.join(","),
            interval.as_millis()
        );
        let log_name = format!("{name}-bfd-probe");
        let pid = ns.spawn(
            &log_name,
            "env",
            &[
                &spec,
                &exe,
                "--exact",
                CHILD_TEST,
                "--nocapture",
                "--test-threads=1",
            ],
        )?;
        Ok(BfdProbe {
            ns: ns.clone(),
            log_name,
            pid: Some(pid),
        })
    }

    fn pid(&self) -> Result<u32, String> {
        self.pid
            .ok_or_else(|| "the BFD probe is not running".to_string())
    }

    /// SIGSTOP: the process stays, but sends and answers nothing, like a
    /// vipd that hangs.
    pub fn freeze(&self) -> Result<(), String> {
        self.signal(libc::SIGSTOP)
    }

    /// SIGCONT after [`BfdProbe::freeze`].
    pub fn thaw(&self) -> Result<(), String> {
        self.signal(libc::SIGCONT)
    }

    fn signal(&self, sig: libc::c_int) -> Result<(), String> {
        let pid = self.pid()?;
        if self.ns.lab().signal(pid, sig) {
            Ok(())
        } else {
            Err(format!(
                "cannot signal the BFD probe (pid {pid}): it exited"
            ))
        }
    }

    /// SIGTERM: the probe shuts its sessions down (AdminDown) and exits;
    /// [`BfdProbe::wait`] for it.
    pub fn terminate(&self) -> Result<(), String> {
        self.signal(libc::SIGTERM)
    }

    /// Waits for the probe to exit after [`BfdProbe::terminate`].
    pub fn wait(&mut self) -> Result<(), String> {
        let pid = self.pid()?;
        self.pid = None;
        let lab = self.ns.lab();
        match lab.wait_exit(pid, STOP_WAIT) {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(format!("the BFD probe exited with {status}")),
            None => {
                lab.stop(pid);
                Err(format!("the BFD probe did not exit within {STOP_WAIT:?}"))
            }
        }
    }

    pub fn log(&self) -> String {
        self.ns.lab().read_log(&self.log_name)
    }

    /// Every state the probe reported for `peer`, with when, in order.
    pub fn states(&self, peer: IpAddr) -> Vec<(SystemTime, String)> {
        self.log()
            .lines()
            .filter_map(parse_line)
            .filter(|(_, p, _)| *p == peer)
            .map(|(at, _, state)| (at, state))
            .collect()
    }

    /// The first state reported for `peer` at or after `since` that
    /// satisfies `want`.
    pub fn first_state_since(
        &self,
        peer: IpAddr,
        since: SystemTime,
        want: impl Fn(&str) -> bool,
    ) -> Option<(SystemTime, String)> {
        self.states(peer)
            .into_iter()
            .find(|(at, state)| *at >= since && want(state))
    }
}

/// `BFDPROBE <ms> peer=<addr> state=<text>` -> (time, peer, state text).
fn parse_line(line: &str) -> Option<(SystemTime, IpAddr, String)> {
    let rest = line.strip_prefix(LINE_PREFIX)?.trim_start();
    let (ms, rest) = rest.split_once(' ')?;
    let (peer, state) = rest.strip_prefix("peer=")?.split_once(" state=")?;
    let at = UNIX_EPOCH + Duration::from_millis(ms.parse().ok()?);
    Some((at, peer.parse().ok()?, state.to_string()))
}

fn unix_ms(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

/// The child: runs only when [`BfdProbe::start`] started this binary with
/// [`PROBE_ENV`] set; in a normal test run it has nothing to do.
#[test]
fn bfd_probe_child() {
    let Ok(spec) = std::env::var(PROBE_ENV) else {
        return;
    };
    if let Err(e) = run_child(&spec) {
        eprintln!("BFD probe failed: {e}");
        std::process::exit(1);
    }
}

fn run_child(spec: &str) -> Result<(), String> {
    let (pairs, timers) = spec
        .split_once('/')
        .ok_or_else(|| format!("bad {PROBE_ENV} {spec:?}"))?;
    let (interval, multiplier) = timers
        .split_once('/')
        .ok_or_else(|| format!("bad {PROBE_ENV} timers {timers:?}"))?;
    let cfg = vipd::config::BfdConfig {
        min_interval: Duration::from_millis(
            interval
                .parse()
                .map_err(|e| format!("bad interval {interval:?}: {e}"))?,
        ),
        multiplier: multiplier
            .parse()
            .map_err(|e| format!("bad multiplier {multiplier:?}: {e}"))?,
    };
    let sessions: Vec<(IpAddr, IpAddr)> = pairs
        .split(',')
        .map(|pair| {
            let (local, peer) = pair
                .split_once('>')
                .ok_or_else(|| format!("bad session {pair:?}"))?;
            let parse = |a: &str| {
                a.parse::<IpAddr>()
                    .map_err(|e| format!("bad address {a:?}: {e}"))
            };
            Ok((parse(local)?, parse(peer)?))
        })
        .collect::<Result<_, String>>()?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter("vipd=debug")
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async move {
        let (stop, stop_rx) = tokio::sync::watch::channel(None);
        let mut handles = Vec::new();
        for (local, peer) in sessions {
            let session = vipd::bfd::BfdSession::start(local, peer, cfg, stop_rx.clone())
                .map_err(|e| format!("cannot start BFD {local} -> {peer}: {e}"))?;
            let mut state = session.state();
            tokio::spawn(async move {
                loop {
                    let now = *state.borrow_and_update();
                    println!(
                        "{LINE_PREFIX} {} peer={peer} state={now}",
                        unix_ms(SystemTime::now())
                    );
                    if state.changed().await.is_err() {
                        return;
                    }
                }
            });
            handles.push((peer, session));
        }
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| format!("SIGTERM handler: {e}"))?;
        terminate.recv().await;
        stop.send_replace(Some("probe stopped".to_string()));
        // Time for the AdminDown packets to leave and be reported.
        tokio::time::sleep(Duration::from_millis(300)).await;
        for (peer, session) in &handles {
            println!(
                "{LINE_PREFIX}-COUNTERS peer={peer} {:?}",
                session.counters()
            );
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_lines_parse() {
        let (at, peer, state) =
            parse_line("BFDPROBE 1700000000123 peer=fd00:255:30::1 state=Down (Control Detection Time Expired)")
                .expect("a probe line");
        assert_eq!(unix_ms(at), 1_700_000_000_123);
        assert_eq!(peer, "fd00:255:30::1".parse::<IpAddr>().expect("address"));
        assert_eq!(state, "Down (Control Detection Time Expired)");
        assert_eq!(parse_line("2024-01-01 something else"), None);
    }
}
