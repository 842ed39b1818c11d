//! Scheduling: one task per check, probing at `interval` (plus jitter), at
//! the pending interval while a change is pending, and at once when a
//! watched connection or process ends.
//!
//! The loop is generic over its [`Probe`] and [`Watch`] so that its timing
//! is tested on tokio's paused clock with scripted results; [`spawn`] plugs
//! in the real ones.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info};

use super::lease::{self, LeaseHandle};
use super::probe::{ProbeResult, Prober};
use super::tracker::{Tracker, Transition};
use super::watch::Watcher;
use crate::config::{CheckConfig, CheckKind};

/// A check changed state: `rise` passes in a row while down, or `fall`
/// failures in a row while up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckEvent {
    /// The NAME of `[check.NAME]`.
    pub check: String,
    pub up: bool,
    /// The detail of the probe that completed the change, e.g.
    /// "connection refused", "HTTP 503", "exit 1: disk full".
    pub cause: String,
    /// When that probe finished.
    pub at: std::time::Instant,
    /// How long that probe took.
    pub latency: Duration,
}

/// The latest known state of one check, for status queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckStatus {
    /// The state after rise/fall (starts down).
    pub up: bool,
    /// When `up` last changed, or when the check started.
    pub since: std::time::Instant,
    /// The latest probe; `None` before the first one finished.
    pub last: Option<ProbeResult>,
    /// When the latest probe finished.
    pub last_at: Option<std::time::Instant>,
    /// Consecutive results that disagree with `up`: a change is pending
    /// when this is above 0, and happens when it reaches `needed`.
    pub streak: u32,
    pub needed: u32,
}

/// The latest status of every check, by name.
pub type StatusMap = BTreeMap<String, CheckStatus>;

/// Spawns one task per check; every state change (after rise/fall) is sent on
/// the returned channel, in order. Tasks end when `shutdown` changes (or its
/// sender is dropped); the channel then closes.
///
/// Must be called from within a tokio runtime.
pub fn spawn(
    checks: &BTreeMap<String, CheckConfig>,
    shutdown: watch::Receiver<Option<String>>,
) -> mpsc::UnboundedReceiver<CheckEvent> {
    spawn_with_status(checks, shutdown).0
}

/// [`spawn`], also returning a receiver that always holds the latest
/// [`CheckStatus`] of every check (updated after every probe). Lease checks
/// started this way cannot be renewed: use [`super::Checks`] for them.
pub fn spawn_with_status(
    checks: &BTreeMap<String, CheckConfig>,
    shutdown: watch::Receiver<Option<String>>,
) -> (
    mpsc::UnboundedReceiver<CheckEvent>,
    watch::Receiver<StatusMap>,
) {
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let start = Instant::now().into_std();
    let initial = checks
        .iter()
        .map(|(name, c)| (name.clone(), CheckStatus::new(c, start)))
        .collect();
    let (status_tx, status_rx) = watch::channel(initial);
    let leases = LeaseHandle::default();
    for check in checks.values() {
        spawn_one(check, &events_tx, &status_tx, shutdown.clone(), &leases);
    }
    (events_rx, status_rx)
}

/// Start the task of one check; it reports on `events` and `status` and ends
/// when `shutdown` changes. A lease check is entered in `leases`, unheld.
pub(crate) fn spawn_one(
    check: &CheckConfig,
    events: &mpsc::UnboundedSender<CheckEvent>,
    status: &watch::Sender<StatusMap>,
    shutdown: watch::Receiver<Option<String>>,
    leases: &LeaseHandle,
) {
    let task = Task {
        schedule: Schedule::of(check),
        name: check.name.clone(),
        tracker: Tracker::new(check.rise, check.fall),
        events: events.clone(),
        status: status.clone(),
    };
    if let CheckKind::Lease(l) = &check.kind {
        let lease = leases.insert(&check.name, l.ttl);
        tokio::spawn(lease::run(task, lease, shutdown));
        return;
    }
    let probe = Prober::new(check);
    let watcher = Watcher::new(check);
    tokio::spawn(task.run(probe, watcher, shutdown));
}

impl CheckStatus {
    pub(crate) fn new(check: &CheckConfig, now: std::time::Instant) -> Self {
        CheckStatus {
            up: false,
            since: now,
            last: None,
            last_at: None,
            streak: 0,
            needed: check.rise.max(1),
        }
    }
}

/// One probe, with the check's timeout already applied.
pub(crate) trait Probe: Send + 'static {
    fn probe(&mut self) -> impl Future<Output = ProbeResult> + Send;
}

/// An event source that makes the runner re-probe at once.
///
/// Most watch for an end (a connection closing, a process exiting) and are
/// armed only while the check passes. A watch that follows a state in both
/// directions (an interface's link) ignores `arm` and `disarm` and fires on
/// every change, so that a link coming back is seen at once too.
pub(crate) trait Watch: Send + 'static {
    /// Start watching (if not already) after a probe that passed. Best
    /// effort: when it fails, periodic probing still runs.
    fn arm(&mut self) -> impl Future<Output = ()> + Send;
    /// Stop watching, after a probe that failed.
    fn disarm(&mut self);
    /// Resolves with what happened when the watched thing ends, which also
    /// disarms; never resolves while disarmed. Cancel-safe.
    fn fired(&mut self) -> impl Future<Output = String> + Send;
}

/// The periods of one check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    pub(crate) interval: Duration,
    pub(crate) pending_interval: Duration,
}

impl Schedule {
    pub(crate) fn of(check: &CheckConfig) -> Self {
        Schedule {
            interval: check.interval,
            pending_interval: check.pending_interval(),
        }
    }
}

pub(crate) struct Task {
    pub(crate) schedule: Schedule,
    pub(crate) name: String,
    pub(crate) tracker: Tracker,
    pub(crate) events: mpsc::UnboundedSender<CheckEvent>,
    pub(crate) status: watch::Sender<StatusMap>,
}

/// A probe that starts this much after its time is logged (debug).
const LATE: Duration = Duration::from_millis(20);

/// Why a probe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Timer,
    Event,
}

impl Task {
    pub(crate) async fn run(
        mut self,
        mut probe: impl Probe,
        mut watch: impl Watch,
        mut shutdown: watch::Receiver<Option<String>>,
    ) {
        if shutdown.borrow_and_update().is_some() {
            return;
        }
        // Seeded per task, so checks started together drift apart.
        let mut rng = SmallRng::from_entropy();
        // The first probe runs at once: everything starts down, and the
        // sooner it rises the sooner the VIP is announced.
        let mut next = Instant::now();
        loop {
            let trigger = tokio::select! {
                biased;
                _ = shutdown.changed() => return,
                what = watch.fired() => {
                    debug!(check = %self.name, "{what}: re-probing at once");
                    Trigger::Event
                }
                () = tokio::time::sleep_until(next) => Trigger::Timer,
            };
            let started = Instant::now();
            if trigger == Trigger::Timer {
                // How late this probe starts (a busy runtime, too many checks
                // for the cores): shown only past a bound, so 10k checks do
                // not log 10k lines a second.
                let late = started.saturating_duration_since(next);
                if late >= LATE {
                    debug!(check = %self.name, late_ms = late.as_secs_f64() * 1e3, "probe started late");
                }
            }
            let result = tokio::select! {
                biased;
                _ = shutdown.changed() => return,
                result = probe.probe() => result,
            };
            let ok = result.ok;
            self.record(result);

            if !ok {
                watch.disarm();
            } else if trigger == Trigger::Timer {
                // After an event whose re-probe passed (the service closed an
                // idle connection but is fine) the watch is re-armed only by
                // the next periodic probe, so a service that always closes
                // idle connections costs at most one extra probe per interval.
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => return,
                    () = watch.arm() => {}
                }
            }

            let period = if self.tracker.pending() {
                self.schedule.pending_interval
            } else {
                self.schedule.interval
            };
            next = (started + period + jitter(&mut rng, period)).max(Instant::now());
        }
    }

    /// Applies one result: the tracker, the status map, and an event on a change.
    pub(crate) fn record(&mut self, result: ProbeResult) {
        let now = Instant::now().into_std();
        let transition = self.tracker.record(result.ok);
        if let Some(t) = transition {
            let up = t == Transition::Up;
            info!(
                check = %self.name,
                cause = %result.detail,
                latency_ms = result.latency.as_secs_f64() * 1e3,
                "check {}",
                if up { "up" } else { "down" }
            );
            // The receiver is gone only while shutting down.
            let _ = self.events.send(CheckEvent {
                check: self.name.clone(),
                up,
                cause: result.detail.clone(),
                at: now,
                latency: result.latency,
            });
        } else if !result.ok {
            debug!(check = %self.name, detail = %result.detail, "probe failed");
        }
        let (up, streak, needed) = (
            self.tracker.is_up(),
            self.tracker.streak(),
            self.tracker.needed(),
        );
        let name = &self.name;
        self.status.send_modify(|map| {
            if let Some(s) = map.get_mut(name) {
                if transition.is_some() {
                    s.since = now;
                }
                s.up = up;
                s.last = Some(result);
                s.last_at = Some(now);
                s.streak = streak;
                s.needed = needed;
            }
        });
    }
}

/// Up to 10% of `period`, so nodes started together do not probe in lockstep.
fn jitter(rng: &mut SmallRng, period: Duration) -> Duration {
    let max = u64::try_from((period / 10).as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.gen_range(0..=max))
}
