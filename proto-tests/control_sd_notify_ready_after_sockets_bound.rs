//! vipd speaks systemd's notify protocol: READY=1 only once its sockets are
//! bound (and never when binding fails), WATCHDOG=1 while it runs,
//! RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM.
//! A fake systemd: a datagram socket named by NOTIFY_SOCKET.
//!
//! ```text
//!   namespace "node": vipd listening on 127.0.0.1:179 --datagrams--> <lab>/notify.sock (the test)
//! ```
//!
//! 1. Start `vipd run` with NOTIFY_SOCKET and WATCHDOG_USEC=1 s.
//! 2. Its first notification is READY=1 (with a STATUS= line). At that
//!    moment port 179 is listening in the namespace and `vipd status`
//!    answers on the control socket.
//! 3. WATCHDOG=1 follows within the watchdog period.
//! 4. A second vipd in the same namespace, whose BGP port is taken, exits
//!    with status 1 and never says READY=1.
//! 5. SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1.
//! 6. SIGTERM: STOPPING=1; vipd exits 0 and removes its control socket.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Lab, Netns};

const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
/// How long to wait for any one notification.
const NOTIFY_DEADLINE: Duration = Duration::from_secs(15);

#[test]
fn vipd_says_ready_only_after_binding_and_reports_reload_and_stop() {
    let lab = Lab::new();
    let ns = lab.add_netns("node");
    let dir = lab.dir().to_path_buf();
    let config = dir.join("vipd.toml");
    std::fs::write(
        &config,
        "[speaker]\nasn = 65001\nrouter_id = \"10.255.1.2\"\nlisten = \"127.0.0.1:179\"\n\n\
         [[vip]]\nprefix = \"198.18.0.10/32\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let systemd = FakeSystemd::bind(&dir.join("notify.sock"));
    let socket = dir.join("vipd.sock");

    // 1-2. READY=1 once bound.
    let pid = spawn_vipd(&ns, "vipd", &systemd, &config, &socket, Some(1_000_000));
    let ready = systemd.next();
    assert!(
        ready.starts_with("READY=1\nSTATUS="),
        "the first notification must be READY=1, got {ready:?}"
    );
    println!("READY: {ready:?}");
    let listening = ns
        .exec("ss", &["-Hltn", "sport = :179"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        listening.stdout.contains("127.0.0.1:179"),
        "READY=1 before the BGP listener is bound: ss shows {:?}",
        listening.stdout
    );
    let status = Command::new(VIPD)
        .args(["status", "--socket"])
        .arg(&socket)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.status.success(),
        "READY=1 before the control socket answers: {}",
        String::from_utf8_lossy(&status.stderr)
    );

    // 3. The watchdog is fed.
    let start = Instant::now();
    systemd.wait_for("WATCHDOG=1");
    println!("WATCHDOG=1 after {:?}", start.elapsed());

    // 4. Binding fails: no READY, exit 1.
    let other = FakeSystemd::bind(&dir.join("notify-2.sock"));
    let second = spawn_vipd(
        &ns,
        "vipd-2",
        &other,
        &config,
        &dir.join("vipd-2.sock"),
        None,
    );
    let exit = ns
        .lab()
        .wait_exit(second, NOTIFY_DEADLINE)
        .unwrap_or_else(|| panic!("the second vipd must fail to bind port 179"));
    assert_eq!(exit.code(), Some(1), "{exit}");
    assert_eq!(
        other.try_next(),
        None,
        "READY=1 from a vipd that could not bind"
    );
    println!("a vipd whose port is taken exits {exit} without READY=1");

    // 5. SIGHUP.
    assert!(ns.lab().signal(pid, libc::SIGHUP));
    let reloading = systemd.wait_for("RELOADING=1");
    assert!(
        reloading.lines().any(|l| l
            .strip_prefix("MONOTONIC_USEC=")
            .is_some_and(|t| t.parse::<u64>().is_ok())),
        "{reloading:?}"
    );
    systemd.wait_for("READY=1");
    println!("SIGHUP: {reloading:?}, then READY=1");

    // 6. SIGTERM.
    assert!(ns.lab().signal(pid, libc::SIGTERM));
    let stopping = systemd.wait_for("STOPPING=1");
    assert!(
        stopping.contains("STATUS=vipd stopped (SIGTERM)"),
        "{stopping:?}"
    );
    let exit = ns
        .lab()
        .wait_exit(pid, NOTIFY_DEADLINE)
        .unwrap_or_else(|| panic!("vipd did not exit after SIGTERM"));
    assert_eq!(exit.code(), Some(0), "{exit}");
    assert!(
        !socket.exists(),
        "the control socket must be removed at exit"
    );
}

/// `env NOTIFY_SOCKET=... vipd run ...` in `ns` (env execs vipd: same pid).
fn spawn_vipd(
    ns: &Netns,
    name: &str,
    systemd: &FakeSystemd,
    config: &Path,
    socket: &Path,
    watchdog_usec: Option<u64>,
) -> u32 {
    let notify = format!("NOTIFY_SOCKET={}", systemd.path);
    let watchdog = watchdog_usec.map(|usec| format!("WATCHDOG_USEC={usec}"));
    let config = config.to_str().unwrap_or_else(|| panic!("non-UTF-8 path"));
    let socket = socket.to_str().unwrap_or_else(|| panic!("non-UTF-8 path"));
    let mut args = vec![notify.as_str()];
    args.extend(watchdog.as_deref());
    args.extend([
        VIPD,
        "run",
        "--config",
        config,
        "--control-socket",
        socket,
        "--log-level",
        "debug",
    ]);
    ns.spawn(name, "env", &args)
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"))
}

/// The receiving end of sd_notify.
struct FakeSystemd {
    path: String,
    socket: UnixDatagram,
}

impl FakeSystemd {
    fn bind(path: &Path) -> FakeSystemd {
        let socket = UnixDatagram::bind(path)
            .unwrap_or_else(|e| panic!("cannot bind {}: {e}", path.display()));
        FakeSystemd {
            path: path.display().to_string(),
            socket,
        }
    }

    /// The next notification, waiting up to `timeout`.
    fn receive(&self, timeout: Duration) -> Option<String> {
        self.socket
            .set_read_timeout(Some(timeout))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    fn next(&self) -> String {
        self.receive(NOTIFY_DEADLINE)
            .unwrap_or_else(|| panic!("no notification within {NOTIFY_DEADLINE:?}"))
    }

    /// Whatever arrived already (a short wait).
    fn try_next(&self) -> Option<String> {
        self.receive(Duration::from_millis(200))
    }

    /// The next notification with a line `line`, skipping others (watchdog pings).
    fn wait_for(&self, line: &str) -> String {
        let start = Instant::now();
        let mut seen = Vec::new();
        while start.elapsed() < NOTIFY_DEADLINE {
            let Some(message) = self.receive(NOTIFY_DEADLINE) else {
                break;
            };
            if message.lines().any(|l| l == line) {
                return message;
            }
            seen.push(message);
        }
        panic!("no {line} within {NOTIFY_DEADLINE:?}; got {seen:?}")
    }
}
