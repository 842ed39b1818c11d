//! The tokio shell around the [`VipMachine`]: inputs in, desired set out.
//!
//! It applies every transition to the [`Originator`] the moment it happens
//! and logs it once, with its cause.

use std::time::Instant;

use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use super::Originator;
use std::collections::BTreeMap;

use super::state::{CheckSpec, Phase, Transition, VipInput, VipMachine, VipSpec, VipStatus};
use crate::health::{CheckEvent, StatusMap};

/// Requests to the VIP task.
#[derive(Debug)]
pub enum VipCommand {
    /// Feed an input (a check transition, an operator drain).
    Input(VipInput),
    /// Snapshot of every VIP.
    Status(oneshot::Sender<Vec<VipStatus>>),
    /// Live reload (see [`VipMachine::reconfigure`]).
    Reconfigure {
        vips: Vec<VipSpec>,
        checks: BTreeMap<String, CheckSpec>,
        restarted: Vec<String>,
    },
    /// Stop: drain first if asked; `done` fires when every VIP is down.
    Shutdown {
        drain: bool,
        done: oneshot::Sender<()>,
    },
}

/// Run until the command channel closes or a shutdown completes.
/// When the desired set first reflects every check's first verdict, so a
/// restarted speaker may send End-of-RIB (RFC 4724) without making a
/// Graceful Restart helper flush VIPs whose checks have not risen yet.
pub struct Readiness {
    pub status: watch::Receiver<StatusMap>,
    pub ready: watch::Sender<bool>,
    /// Ready at this instant at the latest.
    pub deadline: Instant,
}

impl Readiness {
    fn settled(&self, machine: &VipMachine) -> bool {
        Instant::now() >= self.deadline
            || self.status.borrow().iter().all(|(name, s)| {
                // A first result, no change pending, and an up check taken in.
                s.last.is_some() && s.streak == 0 && (!s.up || machine.check_is_up(name))
            })
    }
}

/// Run until the command channel closes or a shutdown completes.
pub async fn run(
    mut machine: VipMachine,
    originator: Originator,
    mut checks: mpsc::UnboundedReceiver<CheckEvent>,
    mut commands: mpsc::UnboundedReceiver<VipCommand>,
    mut readiness: Readiness,
) {
    apply(&originator, machine.start(Instant::now()));
    let mut shutdown_done: Option<oneshot::Sender<()>> = None;
    loop {
        if !*readiness.ready.borrow() && readiness.settled(&machine) {
            let _ = readiness.ready.send(true);
        }
        let mut deadline = machine.poll_timeout();
        if !*readiness.ready.borrow() {
            deadline = Some(deadline.map_or(readiness.deadline, |d| d.min(readiness.deadline)));
        }
        let deadline = deadline.map(tokio::time::Instant::from_std);
        tokio::select! {
            _ = sleep_until(deadline) => {
                apply(&originator, machine.handle_timeout(Instant::now()));
            }
            Ok(()) = readiness.status.changed(), if !*readiness.ready.borrow() => {}
            Some(event) = checks.recv() => {
                let input = VipInput::Check { name: event.check, up: event.up, cause: event.cause };
                apply(&originator, machine.handle(Instant::now(), input));
            }
            cmd = commands.recv() => match cmd {
                Some(VipCommand::Input(input)) => {
                    apply(&originator, machine.handle(Instant::now(), input));
                }
                Some(VipCommand::Status(reply)) => {
                    let _ = reply.send(machine.status());
                }
                Some(VipCommand::Reconfigure { vips, checks, restarted }) => {
                    apply(&originator, machine.reconfigure(Instant::now(), vips, checks, &restarted));
                }
                Some(VipCommand::Shutdown { drain, done }) => {
                    apply(&originator, machine.handle(Instant::now(), VipInput::Shutdown { drain }));
                    shutdown_done = Some(done);
                }
                None => return,
            },
        }
        if shutdown_done.is_some() && machine.all_down() {
            if let Some(done) = shutdown_done.take() {
                let _ = done.send(());
            }
            return;
        }
    }
}

/// How many transitions of one batch are logged one by one; the rest of a
/// large batch (a block coming up at start) is summed up in one line.
const LOG_EACH: usize = 64;

fn apply(originator: &Originator, transitions: Vec<Transition>) {
    let total = transitions.len();
    for t in transitions.iter().take(LOG_EACH) {
        log(&t.prefix, t.from, t.to, &t.cause);
    }
    if total > LOG_EACH {
        let up = transitions.iter().filter(|t| t.to == Phase::Up).count();
        let down = transitions.iter().filter(|t| t.to == Phase::Down).count();
        info!(
            more = total - LOG_EACH,
            up,
            down,
            draining = total - up - down,
            "VIP transitions (only the first {LOG_EACH} logged one by one)"
        );
    }
    // One batch: every peer wakes once and packs the lot.
    originator.apply(transitions.into_iter().map(|t| (t.prefix, t.route)));
    if total >= TRIM_AFTER {
        release_freed_memory();
    }
}

/// A batch this large (a big block coming up or going down) leaves many
/// freed small allocations behind.
const TRIM_AFTER: usize = 64 * 1024;

/// Hand memory freed after a large batch back to the system, so that the
/// resident size reflects what vipd holds rather than its peak.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it takes no
    // pointers and is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The one place a VIP transition is logged.
fn log(prefix: &IpNet, from: Phase, to: Phase, cause: &str) {
    match to {
        Phase::Up => info!(%prefix, %from, cause, "VIP up: announcing"),
        Phase::Draining => {
            warn!(%prefix, %from, cause, "VIP draining: announced with GRACEFUL_SHUTDOWN")
        }
        Phase::Down => warn!(%prefix, %from, cause, "VIP down: withdrawn"),
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
