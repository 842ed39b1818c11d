//! The interface check: the verdict on each link state, probes on the host,
//! and a veth pair in a network namespace made by the test (root only),
//! where links go down and up under a runner polling every 10s, so only
//! netlink notifications can explain a prompt event.

use std::collections::BTreeMap;
use std::future::Future;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rtnetlink::LinkUnspec;
use rtnetlink::packet_route::link::{LinkFlags, State};
use tokio::sync::{mpsc, watch};

use super::super::link::{LinkState, judge};
use super::super::probe::Prober;
use super::super::{CheckEvent, spawn_with_status};
use super::check;
use crate::config::{CheckConfig, CheckKind, InterfaceCheck, LinkRequirement};

fn interface(name: &str, require: LinkRequirement) -> InterfaceCheck {
    InterfaceCheck {
        name: name.into(),
        require,
    }
}

fn config(name: &str, require: LinkRequirement, interval_ms: u64) -> CheckConfig {
    let mut c = check(
        name,
        CheckKind::Interface(interface(name, require)),
        interval_ms,
        500,
    );
    (c.rise, c.fall) = (1, 1);
    c
}

// ---------------------------------------------------------------------------
// The verdict on a link state

#[test]
fn each_requirement_reads_the_state_it_names() {
    let up = LinkFlags::Up | LinkFlags::Running | LinkFlags::LowerUp;
    let cases = [
        // (require, flags, oper state, verdict)
        (LinkRequirement::Up, up, State::Up, (true, "eth1 up")),
        (
            LinkRequirement::Up,
            LinkFlags::empty(),
            State::Down,
            (false, "eth1 down"),
        ),
        // The operational state lags a moment behind `ip link set down`.
        (
            LinkRequirement::Up,
            LinkFlags::LowerUp,
            State::Up,
            (false, "eth1 down"),
        ),
        (
            LinkRequirement::Up,
            LinkFlags::Up,
            State::LowerLayerDown,
            (false, "eth1 down (lower layer down)"),
        ),
        (
            LinkRequirement::Up,
            up,
            State::Dormant,
            (false, "eth1 dormant"),
        ),
        (
            LinkRequirement::Up,
            up,
            State::Unknown,
            (true, "eth1 up (state unknown, running)"),
        ),
        (
            LinkRequirement::Up,
            LinkFlags::Up,
            State::Unknown,
            (false, "eth1 not running (state unknown)"),
        ),
        (
            LinkRequirement::Running,
            up,
            State::Down,
            (true, "eth1 running"),
        ),
        (
            LinkRequirement::Running,
            LinkFlags::Up,
            State::Up,
            (false, "eth1 not running"),
        ),
        (
            LinkRequirement::Running,
            LinkFlags::LowerUp,
            State::Down,
            (false, "eth1 down"),
        ),
        (
            LinkRequirement::LowerUp,
            LinkFlags::LowerUp,
            State::Down,
            (true, "eth1 lower up"),
        ),
        (
            LinkRequirement::LowerUp,
            LinkFlags::Up,
            State::Up,
            (false, "eth1 no carrier"),
        ),
    ];
    for (require, flags, oper, (ok, detail)) in cases {
        assert_eq!(
            judge(&interface("eth1", require), LinkState { flags, oper }),
            (ok, detail.to_string()),
            "{require:?} {flags:?} {oper:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// On the host

#[tokio::test]
async fn a_missing_interface_is_named_missing() {
    let result = Prober::new(&config("vipd-nope0", LinkRequirement::Up, 1000))
        .run()
        .await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (false, "vipd-nope0 missing")
    );
}

#[tokio::test]
async fn loopback_reports_no_operational_state_but_is_up_and_running() {
    let result = Prober::new(&config("lo", LinkRequirement::Up, 1000))
        .run()
        .await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (true, "lo up (state unknown, running)")
    );
    let result = Prober::new(&config("lo", LinkRequirement::LowerUp, 1000))
        .run()
        .await;
    assert_eq!((result.ok, result.detail.as_str()), (true, "lo lower up"));
}

// ---------------------------------------------------------------------------
// In a network namespace

/// A network namespace made for one test, deleted (with its links) on drop,
/// even when the test fails.
struct Netns(String);

impl Netns {
    /// Fails the test when not root (namespaces need CAP_SYS_ADMIN): a test
    /// that cannot run must not pass. Always `Some`.
    fn new(test: &str) -> Option<Self> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        assert!(
            unsafe { libc::geteuid() } == 0,
            "run the tests as root: the interface check tests make a network namespace"
        );
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("vipd-{}-{n}-{test}", std::process::id());
        let status = Command::new("ip").args(["netns", "add", &name]).status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "ip netns add {name}: {status:?}"
        );
        Some(Netns(name))
    }

    fn ip(&self, args: &str) {
        let status = Command::new("ip")
            .args(["-n", &self.0])
            .args(args.split_whitespace())
            .status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "ip -n {} {args}: {status:?}",
            self.0
        );
    }

    /// Runs `body` on a fresh thread that entered the namespace, with a
    /// runtime of its own: sockets opened there (netlink ones too) belong
    /// to the namespace.
    fn run<F, Fut>(&self, body: F) -> Fut::Output
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future,
        Fut::Output: Send + 'static,
    {
        let path = format!("/run/netns/{}", self.0);
        let thread = std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).unwrap();
            // SAFETY: a valid namespace fd; setns(2) changes only this
            // thread's namespace, and this thread is ours alone.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(body())
        });
        match thread.join() {
            Ok(output) => output,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// The next event, within `limit`.
async fn next(events: &mut mpsc::UnboundedReceiver<CheckEvent>, limit: Duration) -> CheckEvent {
    tokio::time::timeout(limit, events.recv())
        .await
        .expect("an event in time")
        .expect("the check is running")
}

/// Sets a link up or down over netlink and returns when the kernel took it.
async fn set_link(handle: &rtnetlink::Handle, name: &str, up: bool) -> Instant {
    let link = LinkUnspec::new_with_name(name);
    let link = if up { link.up() } else { link.down() };
    let started = Instant::now();
    handle.link().set(link.build()).execute().await.unwrap();
    started
}

#[test]
fn a_veth_going_down_and_up_is_seen_through_netlink_at_once() {
    let Some(ns) = Netns::new("veth") else {
        return;
    };
    ns.ip("link add vc-a type veth peer name vc-b");
    ns.ip("link set vc-a up");
    ns.ip("link set vc-b up");
    let latencies = ns.run(|| async {
        let (connection, handle, _) = rtnetlink::new_connection().unwrap();
        tokio::spawn(connection);
        // Polled every 10s: a prompt event can only come from netlink.
        let limit = Duration::from_secs(2);
        let checks: BTreeMap<_, _> = [(
            "vc-a".to_string(),
            config("vc-a", LinkRequirement::Up, 10_000),
        )]
        .into();
        let (stop, stop_rx) = watch::channel(None);
        let (mut events, _status) = spawn_with_status(&checks, stop_rx);

        let first = next(&mut events, limit).await;
        assert_eq!((first.up, first.cause.as_str()), (true, "vc-a up"));

        let mut latencies = Vec::new();
        for round in 0..5 {
            let at = set_link(&handle, "vc-a", false).await;
            let down = next(&mut events, limit).await;
            assert_eq!(
                (down.up, down.cause.as_str()),
                (false, "vc-a down"),
                "{round}"
            );
            latencies.push(("down", down.at - at));
            let at = set_link(&handle, "vc-a", true).await;
            let up = next(&mut events, limit).await;
            assert_eq!((up.up, up.cause.as_str()), (true, "vc-a up"), "{round}");
            latencies.push(("up", up.at - at));
        }

        // The peer going down takes the carrier away.
        let at = set_link(&handle, "vc-b", false).await;
        let down = next(&mut events, limit).await;
        assert_eq!(
            (down.up, down.cause.as_str()),
            (false, "vc-a down (lower layer down)")
        );
        latencies.push(("peer down", down.at - at));
        set_link(&handle, "vc-b", true).await;
        assert!(next(&mut events, limit).await.up);

        // Deleted (its peer goes with it).
        let index = {
            use futures_util::TryStreamExt;
            let mut links = handle.link().get().match_name("vc-a".to_string()).execute();
            links.try_next().await.unwrap().unwrap().header.index
        };
        let at = Instant::now();
        handle.link().del(index).execute().await.unwrap();
        let gone = next(&mut events, limit).await;
        assert_eq!((gone.up, gone.cause.as_str()), (false, "vc-a missing"));
        latencies.push(("deleted", gone.at - at));

        // Made again under the same name (a new index): followed too.
        let status = tokio::process::Command::new("ip")
            .args([
                "link", "add", "vc-a", "type", "veth", "peer", "name", "vc-b",
            ])
            .status()
            .await
            .unwrap();
        assert!(status.success());
        set_link(&handle, "vc-b", true).await;
        let at = set_link(&handle, "vc-a", true).await;
        let back = next(&mut events, limit).await;
        assert_eq!((back.up, back.cause.as_str()), (true, "vc-a up"));
        latencies.push(("made again, up", back.at - at));
        let _ = stop.send(Some("done".into()));
        latencies
    });
    for (what, latency) in &latencies {
        eprintln!("interface {what}: event {latency:?} after the netlink change");
    }
    let worst = latencies.iter().map(|(_, l)| *l).max().unwrap_or_default();
    assert!(
        worst < Duration::from_secs(1),
        "worst {worst:?}; polling is every 10s"
    );
}

#[test]
fn running_and_lower_up_follow_the_flags() {
    let Some(ns) = Netns::new("flags") else {
        return;
    };
    ns.ip("link add vc-a type veth peer name vc-b");
    ns.ip("link set vc-a up");
    let verdicts = ns.run(|| async {
        let probe = |require| async move {
            let r = Prober::new(&config("vc-a", require, 1000)).run().await;
            (r.ok, r.detail)
        };
        // vc-a up, its peer down: no carrier.
        let before = (
            probe(LinkRequirement::Up).await,
            probe(LinkRequirement::Running).await,
            probe(LinkRequirement::LowerUp).await,
        );
        let status = tokio::process::Command::new("ip")
            .args(["link", "set", "vc-b", "up"])
            .status()
            .await
            .unwrap();
        assert!(status.success());
        // veth carrier changes are urgent link events: applied at once.
        let after = (
            probe(LinkRequirement::Running).await,
            probe(LinkRequirement::LowerUp).await,
        );
        (before, after)
    });
    let s = |ok: bool, d: &str| (ok, d.to_string());
    assert_eq!(
        verdicts,
        (
            (
                s(false, "vc-a down (lower layer down)"),
                s(false, "vc-a not running"),
                s(false, "vc-a no carrier"),
            ),
            (s(true, "vc-a running"), s(true, "vc-a lower up")),
        )
    );
}
