//! Wires vipd together: the only place that knows every task and channel.
//!
//! VIP config -> [`Originator`] (desired set) -> one task per BGP peer, plus
//! the listening socket that hands accepted connections to their peer.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::bgp::peer;
use crate::config::{CheckPolicy, Config, OnFail, VipConfig};
use crate::health;
use crate::vip::state::{CheckSpec, Policy, VipMachine, VipSpec};
use crate::vip::task::{self as vip_task, VipCommand};
use crate::vip::{Originator, VipRoute};

/// How long shutdown may take before the remaining tasks are abandoned; the
/// CLI promises an exit within one second of SIGTERM.
const SHUTDOWN_BUDGET: Duration = Duration::from_millis(800);

/// Why vipd could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Run vipd with `config` until `shutdown` resolves with a reason; then
/// withdraw every VIP, close every session with Cease/Administrative
/// Shutdown, and return.
pub async fn run(config: Config, shutdown: impl Future<Output = String>) -> Result<(), RunError> {
    let originator = Originator::new();
    let (stop_tx, stop_rx) = watch::channel::<Option<String>>(None);

    let listener = match config.speaker.listen {
        Some(addr) => {
            Some(peer::bind_listener(addr).map_err(|source| RunError::Listen { addr, source })?)
        }
        None => None,
    };

    let mut inbound = HashMap::new();
    let mut tasks = Vec::new();
    let mut peer_status = Vec::new();
    for p in config.peers.iter().filter(|p| p.enabled) {
        let handle = peer::spawn(
            p.clone(),
            &config.speaker,
            originator.subscribe(),
            stop_rx.clone(),
        );
        inbound.insert(p.address, handle.inbound);
        peer_status.push(handle.status);
        tasks.push(handle.task);
    }
    if let Some(listener) = listener {
        if let Ok(addr) = listener.local_addr() {
            info!(%addr, "listening for BGP connections");
        }
        tasks.push(tokio::spawn(peer::listen(
            listener,
            inbound,
            stop_rx.clone(),
        )));
    }

    let machine = VipMachine::new(
        std::time::Instant::now(),
        config.vips.iter().map(vip_spec).collect(),
        config
            .checks
            .iter()
            .map(|(name, c)| {
                let spec = CheckSpec {
                    drain_on_fail: c.on_fail == OnFail::Drain,
                };
                (name.clone(), spec)
            })
            .collect(),
        config.speaker.startup_delay,
    );
    let check_events = health::spawn(&config.checks, stop_rx.clone());
    let (vip_tx, vip_rx) = tokio::sync::mpsc::unbounded_channel();
    let vips = tokio::spawn(vip_task::run(
        machine,
        originator.clone(),
        check_events,
        vip_rx,
    ));
    info!(
        peers = config.peers.len(),
        vips = config.vips.len(),
        "vipd running"
    );

    let reason = shutdown.await;
    let drain = config.speaker.shutdown_drain;
    if drain {
        info!(%reason, "shutting down: draining every VIP first");
    } else {
        info!(%reason, "shutting down: withdrawing every VIP");
    }
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let _ = vip_tx.send(VipCommand::Shutdown {
        drain,
        done: done_tx,
    });
    let _ = done_rx.await;
    let _ = vips.await;
    let _ = stop_tx.send(Some(reason));
    let all = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    if tokio::time::timeout(SHUTDOWN_BUDGET, all).await.is_err() {
        warn!("some sessions did not close in time");
    }
    info!("stopped");
    Ok(())
}

fn vip_spec(v: &VipConfig) -> VipSpec {
    VipSpec {
        route: VipRoute::from(v),
        checks: v.checks.clone(),
        policy: match v.check_policy {
            CheckPolicy::All => Policy::All,
            CheckPolicy::Any => Policy::Any,
        },
        hold_down: v.hold_down,
        drain_time: v.drain_time,
        drain_med: v.drain_med,
        drain_prepend: v.drain_prepend,
    }
}

#[cfg(test)]
mod tests;
