//! Lease checks: a dead-man switch for applications that know their own
//! health. The application renews the lease (`vipd lease NAME`, or an HTTP
//! request to the check's `http` endpoint); the check is up from a renewal
//! until `ttl` after it, so an application that hangs or dies stops
//! renewing and loses its VIP at the expiry instant, not at a later poll.
//!
//! There is nothing to probe, so rise and fall do not apply: the first
//! renewal brings a lease up, its expiry (or a release) brings it down. The
//! tracker is fed with a rise and fall of 1 so that events and status have
//! the same shape as every other check's.
//!
//! Renewals write the lease's state on a watch channel, from any thread and
//! without waiting; one task per lease reads it, keeps one timer at the
//! expiry instant, and publishes the changes.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::probe::ProbeResult;
use super::runner::Task;
use crate::config::{MAX_LEASE_TTL, MIN_LEASE_TTL};

/// What renewals and releases have made of one lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lease {
    /// The check's `ttl`: what a renewal that names none is good for.
    ttl: Duration,
    /// When the latest renewal runs out; `None` before the first renewal
    /// and after a release.
    expires: Option<Instant>,
    /// The ttl of the latest renewal.
    granted: Duration,
    /// Renewals and releases so far, so that the task sees each one even
    /// when nothing else changed.
    changes: u64,
}

/// The state of a lease, as [`LeaseHandle::state`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    /// The check's `ttl`.
    pub ttl: Duration,
    /// Until the lease runs out; `None` when it is not held (never renewed,
    /// expired or released).
    pub remaining: Option<Duration>,
    /// Renewals and releases since the check started.
    pub changes: u64,
}

/// Why a renewal or release was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    #[error("no lease check named {0:?}")]
    Unknown(String),
    #[error(
        "ttl {} is out of range ({}..={})",
        humantime::format_duration(*.0),
        humantime::format_duration(MIN_LEASE_TTL),
        humantime::format_duration(MAX_LEASE_TTL)
    )]
    Ttl(Duration),
}

/// Renews and releases the lease checks by name; cheap to clone, usable
/// from any thread. Get one from [`super::Checks::leases`]; it follows
/// reloads (a lease check that is added can be renewed at once, one that
/// is removed is then unknown).
#[derive(Clone, Default)]
pub struct LeaseHandle {
    leases: Arc<RwLock<BTreeMap<String, watch::Sender<Lease>>>>,
}

impl std::fmt::Debug for LeaseHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseHandle")
            .field("leases", &self.names())
            .finish()
    }
}

impl LeaseHandle {
    /// Renews lease `name` for `ttl` (the check's own ttl if `None`) from
    /// now, replacing what was left of the previous renewal (a shorter ttl
    /// shortens it). Returns the ttl granted.
    pub fn renew(&self, name: &str, ttl: Option<Duration>) -> Result<Duration, LeaseError> {
        if let Some(ttl) = ttl
            && !(MIN_LEASE_TTL..=MAX_LEASE_TTL).contains(&ttl)
        {
            return Err(LeaseError::Ttl(ttl));
        }
        let now = Instant::now();
        self.with(name, |lease| {
            let mut granted = Duration::ZERO;
            lease.send_modify(|l| {
                granted = ttl.unwrap_or(l.ttl);
                l.expires = Some(now + granted);
                l.granted = granted;
                l.changes += 1;
            });
            granted
        })
    }

    /// Releases lease `name`: the check goes down at once, as at an expiry
    /// (an application shutting down cleanly).
    pub fn release(&self, name: &str) -> Result<(), LeaseError> {
        self.with(name, |lease| {
            lease.send_modify(|l| {
                l.expires = None;
                l.changes += 1;
            });
        })
    }

    /// The state of lease `name` now.
    pub fn state(&self, name: &str) -> Result<LeaseState, LeaseError> {
        let now = Instant::now();
        self.with(name, |lease| {
            let l = lease.borrow();
            LeaseState {
                ttl: l.ttl,
                remaining: l.expires.filter(|at| *at > now).map(|at| at - now),
                changes: l.changes,
            }
        })
    }

    /// The names of every lease check.
    pub fn names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    fn with<T>(
        &self,
        name: &str,
        f: impl FnOnce(&watch::Sender<Lease>) -> T,
    ) -> Result<T, LeaseError> {
        self.read()
            .get(name)
            .map(f)
            .ok_or_else(|| LeaseError::Unknown(name.to_string()))
    }

    /// A panic while holding the lock cannot leave the map half-changed
    /// (every change is one insert or remove), so a poisoned lock is used as is.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, watch::Sender<Lease>>> {
        self.leases.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A new, unheld lease `name` (replacing any of that name); its task
    /// reads the returned receiver.
    pub(crate) fn insert(&self, name: &str, ttl: Duration) -> watch::Receiver<Lease> {
        let (tx, rx) = watch::channel(Lease {
            ttl,
            expires: None,
            granted: ttl,
            changes: 0,
        });
        self.leases
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), tx);
        rx
    }

    pub(crate) fn remove(&self, name: &str) {
        self.leases
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }
}

/// The task of one lease check: publishes each renewal, release and expiry
/// until `shutdown` changes.
pub(crate) async fn run(
    mut task: Task,
    mut lease: watch::Receiver<Lease>,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    if shutdown.borrow_and_update().is_some() {
        return;
    }
    // Renewals may have come before this task first ran: the receiver
    // still marks them as changes, and nothing has been published yet.
    let mut seen = 0;
    // The expiry instant of the renewal in force, while up.
    let mut deadline: Option<(Instant, Duration)> = None;
    // Renewals can still come (the handle's map holds the sender).
    let mut open = true;
    loop {
        let expires = deadline.map(|(at, _)| at);
        let expiry = async move {
            match expires {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            changed = lease.changed(), if open => {
                if changed.is_err() {
                    open = false;
                    continue;
                }
                let l = lease.borrow_and_update().clone();
                if l.changes == seen {
                    continue;
                }
                seen = l.changes;
                match l.expires {
                    Some(at) => {
                        deadline = Some((at, l.granted));
                        task.record(result(true, format!("renewed for {}", show(l.granted))));
                    }
                    None => {
                        deadline = None;
                        task.record(result(false, "released".into()));
                    }
                }
            }
            () = expiry => {
                let granted = deadline.take().map_or(Duration::ZERO, |(_, ttl)| ttl);
                task.record(result(
                    false,
                    format!("expired: not renewed within {}", show(granted)),
                ));
            }
        }
    }
}

/// Nothing was probed: the latency of a renewal is nil.
fn result(ok: bool, detail: String) -> ProbeResult {
    ProbeResult {
        ok,
        detail,
        latency: Duration::ZERO,
    }
}

fn show(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}
