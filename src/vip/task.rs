//! The tokio shell around the [`VipMachine`]: inputs in, desired set out.
//!
//! It applies every transition to the [`Originator`] the moment it happens
//! and logs it once, with its cause.

use std::time::Instant;

use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::Originator;
use std::collections::BTreeMap;

use super::state::{CheckSpec, Phase, Transition, VipInput, VipMachine, VipSpec, VipStatus};
use crate::health::CheckEvent;

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
pub async fn run(
    mut machine: VipMachine,
    originator: Originator,
    mut checks: mpsc::UnboundedReceiver<CheckEvent>,
    mut commands: mpsc::UnboundedReceiver<VipCommand>,
) {
    apply(&originator, machine.start(Instant::now()));
    let mut shutdown_done: Option<oneshot::Sender<()>> = None;
    loop {
        let deadline = machine.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            _ = sleep_until(deadline) => {
                apply(&originator, machine.handle_timeout(Instant::now()));
            }
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

fn apply(originator: &Originator, transitions: Vec<Transition>) {
    for t in transitions {
        log(&t.prefix, t.from, t.to, &t.cause);
        match t.route {
            Some(route) => originator.announce(route),
            None => originator.withdraw(t.prefix),
        }
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
