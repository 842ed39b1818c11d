//! The operator surface: the control socket and the `vipd` verbs that use
//! it, Prometheus metrics, and systemd integration.
//!
//! ```text
//!  vipd status|drain|undrain|reload --JSON lines--> [control socket] --+
//!  SIGHUP -------------------------------------------------------------+--> DaemonLink --ControlRequest--> app::run_with
//!  Prometheus --GET /metrics--> [metrics] --status snapshot-------------+
//!  systemd <--READY/RELOADING/STOPPING/WATCHDOG/STATUS-- Notifier
//! ```
//!
//! # Layout
//! - [`protocol`]: the JSON-lines protocol: requests, responses, the status document.
//! - [`server`]: the Unix socket (mode 0600) that serves it.
//! - [`link`]: [`DaemonLink`], the one way into the daemon; logs and counts operator actions.
//! - [`cli`] and [`render`]: the client side, `vipd status` tables.
//! - [`metrics`]: `/metrics`, built from status snapshots.
//! - [`notify`]: sd_notify(3) and the watchdog.
//!
//! [`run`] is what `vipd run` runs: it binds the sockets, starts these tasks
//! around [`app::run_with`], and tells systemd it is ready once the daemon
//! answers its first request, which it only does after loading the config,
//! binding the BGP listener and starting every task.

pub mod cli;
pub(crate) mod link;
pub(crate) mod metrics;
pub(crate) mod notify;
pub mod protocol;
pub(crate) mod render;
pub(crate) mod server;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::app::{self, RunOptions, StatusReport};
use crate::bgp::session::State;
use crate::config::Config;
use crate::vip::state::Phase;

pub(crate) use link::{DaemonLink, Source};
pub(crate) use notify::Notifier;
pub(crate) use server::ControlSocket;

/// Control requests that may wait for the daemon loop.
const CONTROL_QUEUE: usize = 16;
/// How often the daemon is asked for its state to refresh systemd's STATUS
/// line (and, more often if the watchdog asks, to feed the watchdog).
const STATUS_INTERVAL: Duration = Duration::from_secs(10);

/// How [`run`] is driven.
#[derive(Debug, Default)]
pub struct Options {
    /// The file the config came from; `reload` reads it again.
    pub config_path: Option<PathBuf>,
    /// SIGHUP reloads the config (the binary; off for in-process tests).
    pub reload_on_sighup: bool,
}

/// Why vipd could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "control socket: {0} (set [speaker] control_socket, or run with --control-socket PATH, \
         \"\" for none)"
    )]
    ControlSocket(#[from] server::BindError),
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot handle SIGHUP: {0}")]
    Signal(std::io::Error),
    #[error(transparent)]
    Run(#[from] app::RunError),
}

/// Runs the daemon with its operator surface until `shutdown` resolves.
pub async fn run(
    config: Config,
    options: Options,
    shutdown: impl Future<Output = impl Into<app::Shutdown>>,
) -> Result<(), Error> {
    let notifier = Notifier::from_env();
    let control = config
        .speaker
        .control_socket
        .as_deref()
        .map(ControlSocket::bind)
        .transpose()?;
    let metrics = match config.speaker.metrics {
        Some(addr) => Some(metrics::bind(addr).map_err(|source| Error::Metrics { addr, source })?),
        None => None,
    };
    // Before READY=1: from then on systemd may send SIGHUP, whose default
    // action would kill us.
    let hangups = if options.reload_on_sighup {
        Some(signal(SignalKind::hangup()).map_err(Error::Signal)?)
    } else {
        None
    };

    let (requests, control_rx) = mpsc::channel(CONTROL_QUEUE);
    let link = DaemonLink::new(
        requests,
        notifier.clone(),
        &config,
        options.config_path.clone(),
    );
    let mut tasks = JoinSet::new();
    if let Some(socket) = control {
        tasks.spawn(socket.serve(link.clone()));
    }
    if let Some(listener) = metrics {
        tasks.spawn(metrics::serve(listener, link.clone()));
    }
    if let Some(hangups) = hangups {
        tasks.spawn(reload_on_sighup(hangups, link.clone()));
    }
    tasks.spawn(supervise(link.clone()));

    let shutdown = async {
        let shutdown: app::Shutdown = shutdown.await.into();
        notifier.stopping(&shutdown.reason);
        shutdown
    };
    let options = RunOptions {
        config_path: options.config_path,
        control: Some(control_rx),
    };
    let result = app::run_with(config, options, shutdown).await;
    // Dropping the tasks closes the sockets and removes the socket file.
    tasks.shutdown().await;
    result.map_err(Error::from)
}

/// SIGHUP (`systemctl reload vipd`) does what `vipd reload` does.
async fn reload_on_sighup(mut hangups: Signal, link: DaemonLink) {
    while hangups.recv().await.is_some() {
        let _ = link.serve(protocol::Request::Reload, Source::Sighup).await;
    }
}

/// READY=1 once the daemon answers, then the watchdog and STATUS= line.
async fn supervise(link: DaemonLink) {
    // The daemon loop serves requests only after the config is loaded, the
    // BGP listener bound and every task started: its first answer is the
    // moment vipd is ready. Our own sockets were bound before it started.
    let report = loop {
        match link.status().await {
            Ok(report) => break report,
            Err(link::Unavailable::Stopped) => return,
            Err(e @ link::Unavailable::Timeout(_)) => debug!(error = %e, "not ready yet"),
        }
    };
    let notifier = link.notifier().clone();
    if !notifier.is_active() {
        return;
    }
    let mut shown = summary(&report);
    notifier.notify(&format!("READY=1\nSTATUS={shown}"));

    let watchdog = notify::watchdog_interval();
    let period = watchdog.map_or(STATUS_INTERVAL, |w| w.min(STATUS_INTERVAL));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        // Fed only when the daemon loop answers: a stuck loop gets vipd
        // restarted by systemd.
        match link.status().await {
            Ok(report) => {
                if watchdog.is_some() {
                    notifier.watchdog();
                }
                let now = summary(&report);
                if now != shown {
                    notifier.status(&now);
                    shown = now;
                }
            }
            Err(link::Unavailable::Stopped) => return,
            Err(e) => warn!(error = %e, "the daemon loop is not answering; watchdog not fed"),
        }
    }
}

/// `2/2 sessions Established, 3/4 VIPs up`.
fn summary(report: &StatusReport) -> String {
    let established = report
        .peers
        .iter()
        .filter(|p| p.state == State::Established)
        .count();
    let up = report.vips.iter().filter(|v| v.phase == Phase::Up).count();
    format!(
        "{established}/{} sessions Established, {up}/{} VIPs up",
        report.peers.len(),
        report.vips.len()
    )
}
