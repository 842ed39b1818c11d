//! End to end through [`spawn`]: event-driven detection against real
//! services and processes, with the measured detection latency printed
//! (`cargo test --lib health -- --nocapture`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::super::{CheckEvent, spawn, spawn_with_status};
use super::probes::{Reply, TestServer};
use super::{TempDir, check, is_dead};
use crate::config::{
    CheckConfig, CheckKind, Endpoint, ExecCheck, FileCheck, FileState, HttpCheck, ProcessCheck,
    TcpCheck,
};

/// Generous: real detection takes microseconds to a few milliseconds, and
/// the interval (10 s) is far above it, so passing means event-driven.
const PROMPT: Duration = Duration::from_secs(1);
const INTERVAL_MS: u64 = 10_000;

fn checks(list: Vec<CheckConfig>) -> BTreeMap<String, CheckConfig> {
    list.into_iter().map(|c| (c.name.clone(), c)).collect()
}

async fn next(events: &mut mpsc::UnboundedReceiver<CheckEvent>) -> CheckEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("no event within 5s")
        .expect("the check tasks ended")
}

/// Waits until `f` holds, for up to 2 s.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn a_watched_tcp_connection_sees_the_service_die_at_once() {
    let server = TestServer::http(Reply::Status(200, "")).await;
    let config = check(
        "db",
        CheckKind::Tcp(TcpCheck {
            address: Endpoint::Addr(server.addr),
            watch: true,
        }),
        INTERVAL_MS,
        1000,
    );
    let (_stop, stop_rx) = watch::channel(None);
    let mut events = spawn(&checks(vec![config]), stop_rx);
    assert!(next(&mut events).await.up);
    // The probe's connection and the idle watched one.
    eventually("the watch connection", || server.accepted() >= 2).await;

    let died = Instant::now();
    server.kill();
    let down = next(&mut events).await;
    let latency = down.at - died;
    eprintln!("tcp watch: service death seen after {latency:?}");
    assert!(!down.up);
    assert_eq!(down.cause, "connection refused");
    assert!(latency < PROMPT, "{latency:?}");
}

#[tokio::test]
async fn a_watched_http_check_sees_the_service_die_at_once() {
    let server = TestServer::http(Reply::Status(200, "ok")).await;
    let mut h = HttpCheck {
        url: format!("http://{}/healthz", server.addr).parse().unwrap(),
        expect_status: vec![],
        expect_body: None,
        host: None,
        tls_verify: true,
        watch: true,
    };
    h.expect_body = Some("ok".into());
    let config = check("web", CheckKind::Http(h), INTERVAL_MS, 1000);
    let (_stop, stop_rx) = watch::channel(None);
    let mut events = spawn(&checks(vec![config]), stop_rx);
    let up = next(&mut events).await;
    assert_eq!((up.up, up.cause.as_str()), (true, "HTTP 200, body matches"));
    eventually("the watch connection", || server.accepted() >= 2).await;

    let died = Instant::now();
    server.kill();
    let down = next(&mut events).await;
    let latency = down.at - died;
    eprintln!("http watch: service death seen after {latency:?}");
    assert_eq!(
        (down.up, down.cause.as_str()),
        (false, "connection refused")
    );
    assert!(latency < PROMPT, "{latency:?}");
}

#[tokio::test]
async fn without_watch_a_dead_service_waits_for_the_next_probe() {
    // The control for the two tests above: the same death, polled only.
    let server = TestServer::http(Reply::Status(200, "")).await;
    let config = check(
        "db",
        CheckKind::Tcp(TcpCheck {
            address: Endpoint::Addr(server.addr),
            watch: false,
        }),
        INTERVAL_MS,
        1000,
    );
    let (_stop, stop_rx) = watch::channel(None);
    let mut events = spawn(&checks(vec![config]), stop_rx);
    assert!(next(&mut events).await.up);
    server.kill();
    let nothing = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
    assert!(nothing.is_err(), "{nothing:?}");
    assert_eq!(server.accepted(), 1, "no watch connection");
}

#[tokio::test]
async fn a_process_check_fails_the_moment_the_process_exits() {
    let dir = TempDir::new("pidfd");
    let pidfile = dir.path("daemon.pid");
    let mut child = tokio::process::Command::new("sleep")
        .arg("30")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    std::fs::write(&pidfile, format!("{pid}\n")).unwrap();
    let config = check(
        "daemon",
        CheckKind::Process(ProcessCheck { pidfile }),
        INTERVAL_MS,
        1000,
    );
    let (_stop, stop_rx) = watch::channel(None);
    let mut events = spawn(&checks(vec![config]), stop_rx);
    let up = next(&mut events).await;
    assert_eq!((up.up, up.cause), (true, format!("process {pid} running")));
    // Let the watcher open its pidfd.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let killed = Instant::now();
    child.start_kill().unwrap();
    let down = next(&mut events).await;
    let latency = down.at - killed;
    eprintln!("process pidfd: exit seen after {latency:?}");
    assert_eq!(
        (down.up, down.cause),
        (false, format!("process {pid} not running"))
    );
    assert!(latency < PROMPT, "{latency:?}");
    child.wait().await.unwrap();
}

#[tokio::test]
async fn a_maintenance_flag_takes_the_check_down_after_fall_probes() {
    let dir = TempDir::new("flag");
    let flag = dir.path("maintenance");
    let mut config = check(
        "maintenance",
        CheckKind::File(FileCheck {
            path: flag.clone(),
            healthy_when: FileState::Absent,
        }),
        40,
        20,
    );
    config.rise = 2;
    config.fall = 3;
    let (_stop, stop_rx) = watch::channel(None);
    let (mut events, status) = spawn_with_status(&checks(vec![config]), stop_rx);
    let up = next(&mut events).await;
    assert_eq!(
        (up.up, up.cause),
        (true, format!("file {} absent", flag.display()))
    );

    std::fs::write(&flag, "").unwrap();
    let down = next(&mut events).await;
    assert_eq!(
        (down.up, down.cause),
        (false, format!("file {} present", flag.display()))
    );
    let s = status.borrow()["maintenance"].clone();
    assert!(!s.up);
    assert_eq!(s.since, down.at);
    assert_eq!(s.last.map(|r| r.ok), Some(false));
}

#[tokio::test]
async fn every_check_runs_once_in_its_own_task() {
    let dir = TempDir::new("two");
    let file = |name: &str, healthy_when| {
        check(
            name,
            CheckKind::File(FileCheck {
                path: dir.path("flag"),
                healthy_when,
            }),
            50,
            20,
        )
    };
    let list = vec![file("a", FileState::Absent), file("b", FileState::Present)];
    let (stop, stop_rx) = watch::channel(None);
    let (mut events, status) = spawn_with_status(&checks(list), stop_rx);
    let first = next(&mut events).await;
    assert_eq!((first.check.as_str(), first.up), ("a", true));
    std::fs::write(dir.path("flag"), "").unwrap();
    let mut seen: Vec<(String, bool)> = Vec::new();
    while seen.len() < 2 {
        let e = next(&mut events).await;
        seen.push((e.check, e.up));
    }
    seen.sort();
    assert_eq!(seen, [("a".to_string(), false), ("b".to_string(), true)]);
    assert_eq!(status.borrow().keys().collect::<Vec<_>>(), ["a", "b"]);

    stop.send(Some("test over".into())).unwrap();
    let end = tokio::time::timeout(Duration::from_secs(1), events.recv()).await;
    assert_eq!(end, Ok(None), "every task ended");
}

#[tokio::test]
async fn shutdown_during_an_exec_probe_kills_its_process_group() {
    let dir = TempDir::new("exec-shutdown");
    let pidfile = dir.path("child.pid");
    let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
    let config = check(
        "script",
        CheckKind::Exec(ExecCheck {
            argv: vec!["sh".into(), "-c".into(), script],
        }),
        INTERVAL_MS,
        5000,
    );
    let (stop, stop_rx) = watch::channel(None);
    let mut events = spawn(&checks(vec![config]), stop_rx);
    eventually("the pidfile", || {
        std::fs::read_to_string(&pidfile).is_ok_and(|t| t.ends_with('\n'))
    })
    .await;
    let child: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!is_dead(child));

    stop.send(Some("test over".into())).unwrap();
    let end = tokio::time::timeout(Duration::from_secs(1), events.recv()).await;
    assert_eq!(
        end,
        Ok(None),
        "the task ended without waiting for the probe"
    );
    eventually("the probe's processes to die", || is_dead(child)).await;
}
