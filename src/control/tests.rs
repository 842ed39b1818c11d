//! In-process tests of the operator surface: the whole daemon on loopback,
//! driven through its control socket and metrics endpoint.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use prometheus_parse::{Scrape, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::cli::{self, CliError};
use super::protocol::{MAX_LINE, Response, Status};
use super::server::{BindError, ControlSocket};
use super::{Error, Options};
use crate::config;

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

/// A directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "vipd-{name}-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls for up to this long for the daemon to reach a state.
const DEADLINE: Duration = Duration::from_secs(10);

/// A port on 127.0.0.1 with nothing listening (bound, then released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// vipd on loopback: a peer that never answers (its connects are refused),
/// one VIP that is always up, and one behind a maintenance-file check.
fn config_text(dir: &Path, peer_port: u16, extra_speaker: &str, extra: &str) -> String {
    format!(
        r#"
[speaker]
asn = 65001
router_id = "10.255.1.2"
connect_retry = 1
control_socket = "{socket}"
{extra_speaker}

[[peer]]
name = "tor1"
address = "127.0.0.1"
port = {peer_port}
remote_asn = 65000

[[vip]]
prefix = "198.18.0.10/32"

[[vip]]
prefix = "198.18.0.11/32"
checks = ["maintenance"]
drain_time = "100ms"

[check.maintenance]
kind = "file"
path = "{flag}"
interval = "100ms"
timeout = "50ms"
rise = 1
fall = 1
{extra}
"#,
        socket = dir.join("run/vipd.sock").display(),
        flag = dir.join("maintenance").display(),
    )
}

/// A daemon running in-process, stopped on drop.
struct Node {
    dir: TempDir,
    config_path: PathBuf,
    peer_port: u16,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

impl Node {
    async fn start(extra_speaker: &str) -> Node {
        Node::start_with(extra_speaker, "").await
    }

    /// With `extra` appended to the config (checks and VIPs that start down).
    async fn start_with(extra_speaker: &str, extra: &str) -> Node {
        let dir = TempDir::new("control");
        let peer_port = free_port();
        let config_path = dir.path().join("vipd.toml");
        std::fs::write(
            &config_path,
            config_text(dir.path(), peer_port, extra_speaker, extra),
        )
        .expect("write config");
        let config = config::load(&config_path).unwrap_or_else(|e| panic!("{e}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let options = Options {
            config_path: Some(config_path.clone()),
            reload_on_sighup: false,
        };
        let task = tokio::spawn(super::run(config, options, async {
            let _ = stopped.await;
            "test over".to_string()
        }));
        let node = Node {
            dir,
            config_path,
            peer_port,
            stop: Some(stop),
            task: Some(task),
        };
        node.wait_status("both VIPs up", |s| {
            s.vips.iter().filter(|v| v.state == "up").count() == 2
        })
        .await;
        node
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/vipd.sock")
    }

    /// Runs a blocking CLI function against this node.
    async fn cli<T: Send + 'static>(&self, f: impl FnOnce(&Path) -> T + Send + 'static) -> T {
        let socket = self.socket();
        tokio::task::spawn_blocking(move || f(&socket))
            .await
            .expect("cli thread")
    }

    async fn status(&self) -> Status {
        self.cli(cli::fetch_status)
            .await
            .unwrap_or_else(|e| panic!("status: {e}"))
    }

    async fn wait_status(&self, what: &str, check: impl Fn(&Status) -> bool) -> Status {
        let start = Instant::now();
        loop {
            let socket = self.socket();
            let status = tokio::task::spawn_blocking(move || cli::fetch_status(&socket))
                .await
                .ok();
            match status {
                Some(Ok(status)) if check(&status) => return status,
                Some(Ok(status)) if start.elapsed() > DEADLINE => {
                    panic!("not {what} after {DEADLINE:?}: {status:#?}")
                }
                Some(Err(e)) if start.elapsed() > DEADLINE => {
                    panic!("not {what} after {DEADLINE:?}: {e}")
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(DEADLINE, task)
                .await
                .expect("vipd stops")
                .expect("task");
            assert!(result.is_ok(), "{result:?}");
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn vip<'a>(status: &'a Status, prefix: &str) -> &'a super::protocol::VipView {
    status
        .vips
        .iter()
        .find(|v| v.prefix == prefix)
        .unwrap_or_else(|| panic!("no VIP {prefix} in {status:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_every_peer_vip_and_check() {
    let node = Node::start("").await;
    let status = node.status().await;
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(status.peers.len(), 1);
    let peer = &status.peers[0];
    assert_eq!(
        (
            peer.name.as_str(),
            peer.address.as_str(),
            peer.remote_asn,
            peer.local_asn
        ),
        ("tor1", "127.0.0.1", 65000, 65001)
    );
    assert_ne!(peer.state, "Established", "nobody listens on the peer port");
    let always = vip(&status, "198.18.0.10/32");
    assert!(always.checks.is_empty() && !always.admin_drain);
    let checked = vip(&status, "198.18.0.11/32");
    assert_eq!(checked.checks.len(), 1);
    assert_eq!(checked.checks[0].name, "maintenance");
    assert!(checked.checks[0].up);
    assert_eq!(checked.checks[0].last_ok, Some(true));
    assert!(checked.checks[0].latency_ms.is_some());
    assert_eq!(status.checks.len(), 1);
    assert!(status.checks[0].up);
    assert!(status.checks[0].last.as_ref().is_some_and(|l| l.ok));

    // The same through the CLI's two renderings.
    let json = node.cli(|s| cli::status(s, true)).await.expect("json");
    let parsed: Status = serde_json::from_str(&json).expect("the JSON parses back");
    assert_eq!(parsed.vips.len(), 2);
    let text = node.cli(|s| cli::status(s, false)).await.expect("text");
    for needle in [
        "PEERS",
        "tor1",
        "127.0.0.1",
        "VIPS",
        "198.18.0.10/32",
        "maintenance up",
    ] {
        assert!(text.contains(needle), "no {needle:?} in\n{text}");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_and_undrain_named_vips_or_all_of_them() {
    let node = Node::start("").await;
    let out = node
        .cli(|s| cli::drain(s, vec!["198.18.0.10".into()], false, true))
        .await
        .expect("drain");
    assert_eq!(out, "198.18.0.10/32: draining\n");
    node.wait_status("198.18.0.10/32 drained", |s| {
        let v = vip(s, "198.18.0.10/32");
        v.admin_drain && v.state != "up"
    })
    .await;
    assert_eq!(vip(&node.status().await, "198.18.0.11/32").state, "up");

    node.cli(|s| cli::drain(s, vec!["198.18.0.10/32".into()], false, false))
        .await
        .expect("undrain");
    node.wait_status("198.18.0.10/32 back up", |s| {
        let v = vip(s, "198.18.0.10/32");
        !v.admin_drain && v.state == "up"
    })
    .await;

    let out = node
        .cli(|s| cli::drain(s, vec![], true, true))
        .await
        .expect("drain --all");
    assert_eq!(out, "198.18.0.10/32: draining\n198.18.0.11/32: draining\n");
    node.wait_status("every VIP drained", |s| {
        s.vips.iter().all(|v| v.admin_drain && v.state != "up")
    })
    .await;
    node.cli(|s| cli::drain(s, vec![], true, false))
        .await
        .expect("undrain --all");
    node.wait_status("every VIP up again", |s| {
        s.vips.iter().all(|v| !v.admin_drain && v.state == "up")
    })
    .await;

    let refused = node
        .cli(|s| cli::drain(s, vec!["198.18.0.99/32".into()], false, true))
        .await
        .expect_err("not a VIP");
    assert_eq!(refused.to_string(), "not a configured VIP: 198.18.0.99/32");
    assert_eq!(refused.exit_code(), 1);
    let refused = node
        .cli(|s| cli::drain(s, vec!["198.18.0.300".into()], false, true))
        .await
        .expect_err("not a prefix");
    assert_eq!(
        refused.to_string(),
        "\"198.18.0.300\" is not an IP prefix or address"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vipd_lease_renews_and_releases_a_lease_check_through_the_socket() {
    let node = Node::start_with(
        "",
        r#"
[check.app]
kind = "lease"
ttl = "10s"

[[vip]]
prefix = "198.18.0.12/32"
checks = ["app"]
"#,
    )
    .await;
    let lease_vip = |s: &Status| vip(s, "198.18.0.12/32").state.clone();
    assert_eq!(lease_vip(&node.status().await), "down", "never renewed");

    // A short renewal: up, then down on its own when nobody renews it.
    let out = node
        .cli(|s| cli::lease(s, "app".into(), Some("700ms".into()), false))
        .await
        .expect("renew");
    assert_eq!(out, "lease app: held for 700ms\n");
    let renewed = Instant::now();
    node.wait_status("the lease VIP up", |s| lease_vip(s) == "up")
        .await;
    node.wait_status("the lease VIP down at expiry", |s| lease_vip(s) == "down")
        .await;
    assert!(
        renewed.elapsed() >= Duration::from_millis(700),
        "withdrawn before the ttl ran out: {:?}",
        renewed.elapsed()
    );

    // The check's own ttl, then a release takes it down at once.
    let out = node
        .cli(|s| cli::lease(s, "app".into(), None, false))
        .await
        .expect("renew with the check's ttl");
    assert_eq!(out, "lease app: held for 10s\n");
    node.wait_status("the lease VIP up again", |s| lease_vip(s) == "up")
        .await;
    let out = node
        .cli(|s| cli::lease(s, "app".into(), None, true))
        .await
        .expect("release");
    assert_eq!(out, "lease app: released\n");
    node.wait_status("the lease VIP down after the release", |s| {
        lease_vip(s) == "down"
    })
    .await;

    // Refusals name what is wrong, and change nothing.
    let refused = node
        .cli(|s| cli::lease(s, "nope".into(), None, false))
        .await
        .expect_err("unknown lease");
    assert_eq!(refused.to_string(), "no lease check named \"nope\"");
    assert_eq!(refused.exit_code(), 1);
    let refused = node
        .cli(|s| cli::lease(s, "app".into(), Some("soon".into()), false))
        .await
        .expect_err("bad ttl");
    assert!(
        refused.to_string().starts_with("bad ttl \"soon\""),
        "{refused}"
    );
    let refused = node
        .cli(|s| cli::lease(s, "app".into(), Some("1ms".into()), false))
        .await
        .expect_err("ttl out of range");
    assert!(refused.to_string().contains("out of range"), "{refused}");
    let refused = node
        .cli(|s| cli::lease(s, "maintenance".into(), None, false))
        .await
        .expect_err("not a lease");
    assert_eq!(refused.to_string(), "no lease check named \"maintenance\"");
    assert_eq!(lease_vip(&node.status().await), "down");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_a_changed_file_and_refuses_a_broken_one() {
    let node = Node::start("").await;
    let extra_vip = "\n[[vip]]\nprefix = \"198.18.0.12/32\"\n";
    let text = config_text(node.dir.path(), node.peer_port, "", extra_vip);
    std::fs::write(&node.config_path, text).expect("write");
    let out = node.cli(cli::reload).await.expect("reload");
    assert_eq!(out, "config reloaded:\n  VIP 198.18.0.12/32 added\n");
    node.wait_status("the new VIP up", |s| {
        s.vips
            .iter()
            .any(|v| v.prefix == "198.18.0.12/32" && v.state == "up")
    })
    .await;

    let out = node.cli(cli::reload).await.expect("reload again");
    assert_eq!(out, "config reloaded: nothing changed\n");

    std::fs::write(&node.config_path, "[speaker]\nasn = 0\n").expect("write");
    let before = node.status().await;
    let refused = node.cli(cli::reload).await.expect_err("a broken file");
    assert_eq!(refused.exit_code(), 2);
    let CliError::ReloadRefused(errors) = &refused else {
        panic!("{refused:?}")
    };
    assert!(
        errors.iter().any(|e| e.contains("speaker.asn")),
        "{errors:?}"
    );
    assert!(
        refused
            .to_string()
            .starts_with("the new config has errors; the running config stays:\n"),
        "{refused}"
    );
    let after = node.status().await;
    let prefixes = |s: &Status| s.vips.iter().map(|v| v.prefix.clone()).collect::<Vec<_>>();
    assert_eq!(prefixes(&before), prefixes(&after));
    node.stop().await;
}

/// One raw connection to the socket, to speak the protocol by hand.
struct Raw {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Raw {
    fn connect(socket: &Path) -> Raw {
        let stream = UnixStream::connect(socket).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
        Raw {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::new(stream),
        }
    }

    fn ask(&mut self, line: &[u8]) -> Response {
        self.writer.write_all(line).expect("write");
        self.answer()
    }

    fn answer(&mut self) -> Response {
        let mut answer = String::new();
        self.reader.read_line(&mut answer).expect("read");
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{answer:?}: {e}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_an_error_line_and_the_connection_goes_on() {
    let node = Node::start("").await;
    let answers = node
        .cli(|socket| {
            let mut raw = Raw::connect(socket);
            let mut answers = Vec::new();
            for line in [
                &b"not json\n"[..],
                b"{\"cmd\":\"explode\"}\n",
                b"{\"cmd\":\"drain\"}\n",
                b"{\"cmd\":\"drain\",\"prefixes\":[\"198.18.0.10/32\"],\"all\":true}\n",
                b"{\"cmd\":\"drain\",\"prefix\":\"198.18.0.10/32\"}\n",
                b"\xff\xfe\n",
                b"\n",
                b"{\"cmd\":\"status\"}\n",
            ] {
                if line == b"\n" {
                    raw.writer.write_all(line).expect("write");
                    continue;
                }
                answers.push(raw.ask(line));
            }
            answers
        })
        .await;
    let errors: Vec<Option<&str>> = answers.iter().map(|a| a.error.as_deref()).collect();
    assert!(answers[..6].iter().all(|a| !a.ok), "{answers:#?}");
    assert!(errors[0].is_some_and(|e| e.starts_with("bad request: expected")));
    assert!(errors[1].is_some_and(|e| e.starts_with("bad request: unknown variant `explode`")));
    assert_eq!(
        errors[2],
        Some("name the VIPs in \"prefixes\", or set \"all\": true")
    );
    assert_eq!(
        errors[3],
        Some("give either \"prefixes\" or \"all\": true, not both")
    );
    assert!(
        errors[4].is_some_and(|e| e.contains("unknown field `prefix`")),
        "{errors:?}"
    );
    assert!(errors[5].is_some_and(|e| e.starts_with("bad request:")));
    assert!(answers[6].ok && answers[6].status.is_some());

    // An over-long line cannot be skipped: an error, then the end.
    let (answer, rest) = node
        .cli(|socket| {
            let mut raw = Raw::connect(socket);
            let long = vec![b'x'; MAX_LINE + 10];
            let _ = raw.writer.write_all(&long);
            let answer = raw.answer();
            let mut rest = Vec::new();
            let _ = raw.reader.read_to_end(&mut rest);
            (answer, rest)
        })
        .await;
    assert_eq!(
        answer.error.as_deref(),
        Some("request longer than 65536 bytes; closing the connection")
    );
    assert!(rest.is_empty());
    node.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_client_that_says_nothing_is_disconnected() {
    let dir = TempDir::new("idle");
    let path = dir.path().join("vipd.sock");
    let socket = ControlSocket::bind(&path).expect("bind");
    let (requests, _rx) = tokio::sync::mpsc::channel(1);
    let config =
        config::parse("[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\n", "t").expect("config");
    let link = super::DaemonLink::new(requests, super::Notifier::default(), &config, None);
    let server = tokio::spawn(socket.serve(link));
    let mut client = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    let start = tokio::time::Instant::now();
    let mut buf = [0u8; 16];
    // Virtual time runs ahead while everyone waits.
    let n = tokio::io::AsyncReadExt::read(&mut client, &mut buf)
        .await
        .expect("read");
    assert_eq!(n, 0, "the server closed the idle connection");
    assert_eq!(start.elapsed(), super::server::CLIENT_IDLE);
    server.abort();
}

#[tokio::test]
async fn the_socket_is_private_replaces_a_stale_one_and_is_removed_after() {
    let dir = TempDir::new("socket");
    // Left by a vipd that was killed: nobody listens on it.
    let path = dir.path().join("missing/dir/vipd.sock");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    drop(std::os::unix::net::UnixListener::bind(&path).expect("stale socket"));
    assert!(path.exists());

    let socket = ControlSocket::bind(&path).expect("replaces the stale socket");
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");

    match ControlSocket::bind(&path) {
        Err(BindError::InUse { .. }) => {}
        other => panic!("a live socket must not be taken over: {:?}", other.err()),
    }
    drop(socket);
    assert!(!path.exists(), "the socket file is removed on shutdown");

    let fresh = dir.path().join("not/yet/there/vipd.sock");
    drop(ControlSocket::bind(&fresh).expect("creates the directory"));

    let file = dir.path().join("a-file");
    std::fs::write(&file, "precious").expect("write");
    let Err(e) = ControlSocket::bind(&file) else {
        panic!("a regular file must not be replaced")
    };
    assert_eq!(
        e.to_string(),
        format!(
            "{} exists and is not a socket; not replacing it",
            file.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "precious");
}

#[test]
fn an_absent_daemon_is_reported_with_a_hint() {
    let dir = TempDir::new("absent");
    let path = dir.path().join("vipd.sock");
    let e = cli::status(&path, false).expect_err("nobody there");
    assert_eq!(
        e.to_string(),
        format!(
            "cannot reach the daemon at {}: No such file or directory (is vipd running?)",
            path.display()
        )
    );
    assert_eq!(e.exit_code(), 3);
    // A socket nobody listens on (vipd was killed).
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    let e = cli::reload(&path).expect_err("nobody listening");
    assert!(
        e.to_string()
            .ends_with("Connection refused (is vipd running?)"),
        "{e}"
    );
}

#[test]
fn the_socket_path_comes_from_the_flag_the_config_or_the_default() {
    let dir = TempDir::new("socket-path");
    assert_eq!(
        cli::socket_path(Some("/tmp/x.sock".into()), None).expect("flag"),
        PathBuf::from("/tmp/x.sock")
    );
    assert_eq!(
        cli::socket_path(None, None).expect("default"),
        PathBuf::from("/run/vipd/vipd.sock")
    );
    let file = dir.path().join("vipd.toml");
    let text =
        "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\ncontrol_socket = \"/srv/v.sock\"\n";
    std::fs::write(&file, text).expect("write");
    assert_eq!(
        cli::socket_path(None, Some(&file)).expect("config"),
        PathBuf::from("/srv/v.sock")
    );
    std::fs::write(&file, text.replace("\"/srv/v.sock\"", "false")).expect("write");
    let e = cli::socket_path(None, Some(&file)).expect_err("off");
    assert_eq!(e.exit_code(), 2);
}

/// GET over plain HTTP/1.1; the body.
fn http_get(port: u16, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.to_string(), body.to_string())
}

fn sample<'a>(
    scrape: &'a Scrape,
    metric: &str,
    labels: &[(&str, &str)],
) -> Option<&'a prometheus_parse::Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
}

fn number(value: &Value) -> f64 {
    match value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        other => panic!("not a number: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_as_prometheus_text() {
    let port = free_port();
    let node = Node::start(&format!("metrics = \"127.0.0.1:{port}\"")).await;
    node.cli(|s| cli::drain(s, vec!["198.18.0.11/32".into()], false, true))
        .await
        .expect("drain");
    node.wait_status("198.18.0.11/32 down", |s| {
        vip(s, "198.18.0.11/32").state == "down"
    })
    .await;

    let (head, body) = tokio::task::spawn_blocking(move || http_get(port, "/metrics"))
        .await
        .expect("scrape");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    let scrape = Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("parses");
    let value = |metric: &str, labels: &[(&str, &str)]| {
        number(
            &sample(&scrape, metric, labels)
                .unwrap_or_else(|| panic!("no {metric}{labels:?} in\n{body}"))
                .value,
        )
    };
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(value("vipd_build_info", &[("version", version)]), 1.0);
    assert_eq!(value("vipd_peer_up", &[("peer", "tor1")]), 0.0);
    let states: f64 = [
        "Idle",
        "Connect",
        "Active",
        "OpenSent",
        "OpenConfirm",
        "Established",
    ]
    .iter()
    .map(|state| value("vipd_peer_state", &[("peer", "tor1"), ("state", state)]))
    .sum();
    assert_eq!(states, 1.0, "one-hot");
    let _ = value(
        "vipd_peer_messages_total",
        &[("peer", "tor1"), ("direction", "sent"), ("type", "open")],
    );
    assert_eq!(
        value("vipd_peer_prefixes_received", &[("peer", "tor1")]),
        0.0
    );
    assert_eq!(
        value("vipd_peer_prefixes_announced", &[("peer", "tor1")]),
        0.0
    );
    assert_eq!(value("vipd_vip_up", &[("vip", "198.18.0.10/32")]), 1.0);
    assert_eq!(value("vipd_vip_up", &[("vip", "198.18.0.11/32")]), 0.0);
    assert_eq!(
        value(
            "vipd_vip_state",
            &[("vip", "198.18.0.11/32"), ("state", "down")]
        ),
        1.0
    );
    assert!(
        value(
            "vipd_vip_transitions_total",
            &[("vip", "198.18.0.10/32"), ("to", "up")]
        ) >= 1.0
    );
    assert!(
        value(
            "vipd_vip_transitions_total",
            &[("vip", "198.18.0.11/32"), ("to", "down")]
        ) >= 1.0
    );
    assert_eq!(value("vipd_check_up", &[("check", "maintenance")]), 1.0);
    let histogram = sample(
        &scrape,
        "vipd_check_duration_seconds",
        &[("check", "maintenance")],
    )
    .unwrap_or_else(|| panic!("no histogram in\n{body}"));
    let Value::Histogram(buckets) = &histogram.value else {
        panic!("{:?}", histogram.value)
    };
    assert!(
        buckets.last().is_some_and(|b| b.count >= 1.0),
        "{buckets:?}"
    );
    assert_eq!(
        value(
            "vipd_control_requests_total",
            &[("command", "drain"), ("source", "socket"), ("result", "ok")]
        ),
        1.0
    );

    let (head, _) = tokio::task::spawn_blocking(move || http_get(port, "/nope"))
        .await
        .expect("get");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    node.stop().await;
}
