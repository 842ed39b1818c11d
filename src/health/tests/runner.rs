//! The runner's schedule and rise/fall, on tokio's paused clock with a
//! scripted probe and a scripted event source: no sockets, no real waiting.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::super::probe::ProbeResult;
use super::super::runner::{CheckEvent, CheckStatus, Probe, Schedule, StatusMap, Task, Watch};
use super::super::tracker::Tracker;
use super::check;
use crate::config::{CheckKind, FileCheck, FileState};

const MS: Duration = Duration::from_millis(1);

/// The scripted service: what the next probes return, and what happened.
#[derive(Default)]
struct State {
    /// Results to return first ('+' pass, '-' fail) ...
    script: VecDeque<bool>,
    /// ... then this.
    healthy: bool,
    /// When each probe ran, from the start.
    probes: Vec<Duration>,
    arms: usize,
    armed: bool,
}

#[derive(Clone)]
struct Service {
    state: Arc<Mutex<State>>,
    start: Instant,
}

impl Service {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

struct ScriptedProbe(Service);

impl Probe for ScriptedProbe {
    async fn probe(&mut self) -> ProbeResult {
        let mut s = self.0.state();
        let ok = s.script.pop_front().unwrap_or(s.healthy);
        s.probes.push(self.0.start.elapsed());
        let n = s.probes.len();
        ProbeResult {
            ok,
            detail: format!("probe {n} {}", if ok { "passed" } else { "failed" }),
            latency: Duration::ZERO,
        }
    }
}

struct ScriptedWatch {
    service: Service,
    kicks: mpsc::UnboundedReceiver<()>,
}

impl Watch for ScriptedWatch {
    async fn arm(&mut self) {
        let mut s = self.service.state();
        s.arms += 1;
        s.armed = true;
    }

    fn disarm(&mut self) {
        self.service.state().armed = false;
    }

    async fn fired(&mut self) -> String {
        if !self.service.state().armed {
            return std::future::pending().await;
        }
        if self.kicks.recv().await.is_none() {
            return std::future::pending().await;
        }
        self.service.state().armed = false;
        "kicked".into()
    }
}

struct Harness {
    service: Service,
    events: mpsc::UnboundedReceiver<CheckEvent>,
    status: watch::Receiver<StatusMap>,
    kick: mpsc::UnboundedSender<()>,
    stop: watch::Sender<Option<String>>,
    task: JoinHandle<()>,
    start: Instant,
}

impl Harness {
    /// A check "c" with `rise`/`fall`, `interval`, and `fast` as the pending
    /// interval; its probes return `script` ("+-") and then `then`.
    fn start(
        rise: u32,
        fall: u32,
        interval: Duration,
        fast: Duration,
        script: &str,
        then: bool,
    ) -> Self {
        let start = Instant::now();
        let service = Service {
            state: Arc::new(Mutex::new(State {
                script: script.chars().map(|c| c == '+').collect(),
                healthy: then,
                ..State::default()
            })),
            start,
        };
        let mut config = check(
            "c",
            CheckKind::File(FileCheck {
                path: "/unused".into(),
                healthy_when: FileState::Absent,
            }),
            interval.as_millis() as u64,
            1,
        );
        config.rise = rise;
        config.fall = fall;
        let (events_tx, events) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(StatusMap::from([(
            "c".to_string(),
            CheckStatus::new(&config, start.into_std()),
        )]));
        let (kick, kicks) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(None);
        let task = Task {
            schedule: Schedule {
                interval,
                pending_interval: fast,
            },
            name: "c".into(),
            tracker: Tracker::new(rise, fall),
            events: events_tx,
            status: status_tx,
        };
        let task = tokio::spawn(task.run(
            ScriptedProbe(service.clone()),
            ScriptedWatch {
                service: service.clone(),
                kicks,
            },
            stop_rx,
        ));
        Harness {
            service,
            events,
            status,
            kick,
            stop,
            task,
            start,
        }
    }

    /// The next event, and when it happened (from the start).
    async fn next_event(&mut self) -> (CheckEvent, Duration) {
        let event = self.events.recv().await.expect("the task ended");
        let at = event.at - self.start.into_std();
        (event, at)
    }

    fn probes(&self) -> Vec<Duration> {
        self.service.state().probes.clone()
    }

    fn set_healthy(&self, healthy: bool) {
        self.service.state().healthy = healthy;
    }

    /// Sleeps (virtually) until `at` from the start.
    async fn until(&self, at: Duration) {
        tokio::time::sleep_until(self.start + at).await;
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// `d` lies in `period ..= period + 10%`.
fn within_jitter(d: Duration, period: Duration) -> bool {
    d >= period && d <= period + period / 10
}

#[tokio::test(start_paused = true)]
async fn a_check_starts_down_and_rises_at_the_fast_interval() {
    let mut h = Harness::start(3, 2, secs(1.0), 250 * MS, "", true);
    assert!(!h.status.borrow()["c"].up, "starts down");
    let (event, at) = h.next_event().await;
    assert!(event.up);
    assert_eq!(event.check, "c");
    assert_eq!(event.cause, "probe 3 passed");
    let probes = h.probes();
    assert_eq!(probes.len(), 3, "{probes:?}");
    assert_eq!(probes[0], Duration::ZERO, "the first probe runs at once");
    for pair in probes.windows(2) {
        assert!(within_jitter(pair[1] - pair[0], 250 * MS), "{probes:?}");
    }
    assert_eq!(at, probes[2]);
}

#[tokio::test(start_paused = true)]
async fn steady_probes_run_at_the_interval_with_up_to_ten_percent_jitter() {
    let mut h = Harness::start(1, 1, secs(1.0), 250 * MS, "", true);
    h.next_event().await;
    h.until(secs(30.0)).await;
    let probes = h.probes();
    assert!(probes.len() >= 27, "{probes:?}");
    let gaps: Vec<Duration> = probes.windows(2).map(|p| p[1] - p[0]).collect();
    assert!(
        gaps.iter().all(|g| within_jitter(*g, secs(1.0))),
        "{gaps:?}"
    );
    assert!(
        gaps.iter().any(|g| *g != gaps[0]),
        "no jitter at all: {gaps:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn flapping_faster_than_rise_never_brings_a_check_up() {
    let mut h = Harness::start(2, 2, secs(1.0), 100 * MS, "+-+-+-+-", true);
    let (event, at) = h.next_event().await;
    // Probes 1..=8 flap; 9 and 10 pass.
    assert_eq!((event.up, event.cause.as_str()), (true, "probe 10 passed"));
    let probes = h.probes();
    // After a pass (pending) the next probe is fast; after a failure (agrees
    // with down, nothing pending) it waits a full interval.
    for (i, pair) in probes.windows(2).enumerate() {
        let period = if i % 2 == 0 { 100 * MS } else { secs(1.0) };
        assert!(
            within_jitter(pair[1] - pair[0], period),
            "gap {i}: {probes:?}"
        );
    }
    assert_eq!(at, probes[9]);
}

#[tokio::test(start_paused = true)]
async fn fall_failures_in_a_row_bring_it_down_with_the_last_probe_as_cause() {
    let mut h = Harness::start(1, 3, secs(1.0), 250 * MS, "+--+---", true);
    let (up, _) = h.next_event().await;
    assert_eq!((up.up, up.cause.as_str()), (true, "probe 1 passed"));
    let (down, at) = h.next_event().await;
    assert_eq!((down.up, down.cause.as_str()), (false, "probe 7 failed"));
    // 1s to the first failure, two fast probes, a pass (streak broken) one
    // interval later, then three failures: 1 + 2*0.25 + 1 + 2*0.25 = 3s plus jitter.
    assert!(at >= secs(3.0) && at <= secs(3.3), "{at:?}");
    let status = h.status.borrow()["c"].clone();
    assert!(!status.up);
    assert_eq!(status.since, down.at);
    assert_eq!(
        status.last.as_ref().map(|r| r.detail.as_str()),
        Some("probe 7 failed")
    );
    assert_eq!((status.streak, status.needed), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn the_status_shows_a_pending_change() {
    let mut h = Harness::start(1, 3, secs(1.0), 250 * MS, "+-", true);
    h.next_event().await;
    h.set_healthy(false);
    h.until(secs(1.1)).await;
    let status = h.status.borrow()["c"].clone();
    assert!(status.up);
    assert_eq!((status.streak, status.needed), (1, 3));
    assert_eq!(status.last.map(|r| r.ok), Some(false));
    assert_eq!(
        status.last_at.map(|t| t - h.start.into_std()),
        Some(h.probes()[1])
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_re_probes_at_once_and_with_fall_1_reports_at_once() {
    let mut h = Harness::start(1, 1, secs(10.0), secs(2.5), "", true);
    h.next_event().await;
    assert_eq!(h.service.state().arms, 1, "armed after the passing probe");
    h.until(secs(3.0)).await;
    h.set_healthy(false);
    h.kick.send(()).unwrap();
    let (down, at) = h.next_event().await;
    assert!(!down.up);
    assert_eq!(at, secs(3.0), "no wait for the next interval");
    assert_eq!(h.probes(), [Duration::ZERO, secs(3.0)]);
    assert!(!h.service.state().armed, "a failure disarms");
}

#[tokio::test(start_paused = true)]
async fn an_event_with_fall_2_goes_on_at_the_fast_interval() {
    let mut h = Harness::start(1, 2, secs(10.0), 100 * MS, "", true);
    h.next_event().await;
    h.until(secs(3.0)).await;
    h.set_healthy(false);
    h.kick.send(()).unwrap();
    let (down, at) = h.next_event().await;
    assert!(!down.up);
    assert!(within_jitter(at - secs(3.0), 100 * MS), "{at:?}");
    assert_eq!(h.probes().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn after_a_false_alarm_the_watch_is_re_armed_by_the_next_periodic_probe() {
    let mut h = Harness::start(1, 1, secs(10.0), secs(2.5), "", true);
    h.next_event().await;
    h.until(secs(3.0)).await;
    h.kick.send(()).unwrap();
    h.until(secs(12.9)).await;
    assert_eq!(
        h.probes(),
        [Duration::ZERO, secs(3.0)],
        "one re-probe, at once"
    );
    assert_eq!(
        h.service.state().arms,
        1,
        "not re-armed by the event's probe"
    );
    h.until(secs(14.1)).await;
    assert_eq!(h.probes().len(), 3);
    assert_eq!(h.service.state().arms, 2, "re-armed by the periodic probe");
    assert!(h.events.try_recv().is_err(), "no state change");
}

#[tokio::test(start_paused = true)]
async fn the_task_ends_when_shutdown_changes() {
    let mut h = Harness::start(1, 1, secs(1.0), 250 * MS, "", true);
    h.next_event().await;
    h.stop.send(Some("test over".into())).unwrap();
    h.task.await.unwrap();
    assert!(
        h.events.recv().await.is_none(),
        "the channel closes with the task"
    );
}

#[tokio::test(start_paused = true)]
async fn checks_spawned_after_shutdown_never_probe() {
    let config = check(
        "c",
        CheckKind::File(FileCheck {
            path: "/".into(),
            healthy_when: FileState::Present,
        }),
        1000,
        500,
    );
    let (_stop, stop_rx) = watch::channel(Some("stopping".to_string()));
    let (mut events, status) =
        super::super::spawn_with_status(&[("c".to_string(), config)].into(), stop_rx);
    assert!(events.recv().await.is_none(), "every task ended at once");
    assert_eq!(status.borrow()["c"].last, None);
}
