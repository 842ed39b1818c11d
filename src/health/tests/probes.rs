//! One probe of each kind against loopback services, files and processes
//! started by the tests, with the exact detail each result carries.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::super::probe::{ProbeResult, Prober};
use super::{TempDir, check, is_dead};
use crate::config::{
    CheckKind, Endpoint, ExecCheck, FileCheck, FileState, HttpCheck, ProcessCheck, TcpCheck,
};

async fn probe(config: crate::config::CheckConfig) -> ProbeResult {
    let result = Prober::new(&config).run().await;
    eprintln!("{}: {result:?}", config.name);
    result
}

// ---------------------------------------------------------------------------
// Test services

/// What the test HTTP server answers.
#[derive(Clone, Copy)]
pub(super) enum Reply {
    /// `HTTP/1.1 STATUS` with this body, then close.
    Status(u16, &'static str),
    /// Read the request, never answer.
    Silent,
}

/// A small HTTP/1.1 server on 127.0.0.1, optionally over TLS. Killing it
/// (or dropping it) closes the listener and every open connection, as a
/// crashing service would.
pub(super) struct TestServer {
    pub(super) addr: SocketAddr,
    /// Request heads received, lowercased.
    pub(super) requests: Arc<Mutex<Vec<String>>>,
    /// Connections accepted so far.
    pub(super) accepted: Arc<Mutex<usize>>,
    task: JoinHandle<()>,
}

impl TestServer {
    pub(super) async fn http(reply: Reply) -> Self {
        Self::start(reply, None).await
    }

    async fn https(reply: Reply) -> Self {
        Self::start(reply, Some(self_signed_acceptor())).await
    }

    async fn start(reply: Reply, tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(Mutex::new(0));
        let (req, acc) = (requests.clone(), accepted.clone());
        let task = tokio::spawn(async move {
            // Owned by this task: aborting it drops every connection.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                *acc.lock().unwrap() += 1;
                let (req, tls) = (req.clone(), tls.clone());
                connections.spawn(async move {
                    match tls {
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                serve(stream, reply, req).await;
                            }
                        }
                        None => serve(stream, reply, req).await,
                    }
                });
                // Reap finished connections.
                while connections.try_join_next().is_some() {}
            }
        });
        TestServer {
            addr,
            requests,
            accepted,
            task,
        }
    }

    /// The service dies: listener and connections closed at once.
    pub(super) fn kill(&self) {
        self.task.abort();
    }

    pub(super) fn accepted(&self) -> usize {
        *self.accepted.lock().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    reply: Reply,
    requests: Arc<Mutex<Vec<String>>>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    requests
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).to_lowercase());
    match reply {
        Reply::Silent => std::future::pending().await,
        Reply::Status(status, body) => {
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nLocation: /elsewhere\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    }
}

/// A TLS acceptor with a fresh self-signed certificate for 127.0.0.1 and localhost.
fn self_signed_acceptor() -> TlsAcceptor {
    TlsAcceptor::from(Arc::new(self_signed_config()))
}

/// A TLS server config with a fresh self-signed certificate for 127.0.0.1 and localhost.
pub(super) fn self_signed_config() -> rustls::ServerConfig {
    let key =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = key.cert.der().clone();
    let private = rustls::pki_types::PrivateKeyDer::Pkcs8(
        rustls::pki_types::PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()),
    );
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], private)
        .unwrap()
}

/// A port on 127.0.0.1 where nothing listens.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

fn http_check(url: &str) -> HttpCheck {
    HttpCheck {
        url: url.parse().unwrap(),
        expect_status: vec![],
        expect_body: None,
        host: None,
        tls_verify: true,
        watch: false,
    }
}

fn http(h: HttpCheck) -> crate::config::CheckConfig {
    check("web", CheckKind::Http(h), 1000, 500)
}

fn tcp(address: Endpoint) -> crate::config::CheckConfig {
    check(
        "db",
        CheckKind::Tcp(TcpCheck {
            address,
            watch: false,
        }),
        1000,
        500,
    )
}

fn exec(argv: &[&str], timeout_ms: u64) -> crate::config::CheckConfig {
    check(
        "script",
        CheckKind::Exec(ExecCheck {
            argv: argv.iter().map(ToString::to_string).collect(),
        }),
        timeout_ms * 2,
        timeout_ms,
    )
}

fn sh(script: &str) -> crate::config::CheckConfig {
    exec(&["sh", "-c", script], 2000)
}

// ---------------------------------------------------------------------------
// tcp

#[tokio::test]
async fn tcp_passes_when_a_listener_accepts() {
    let server = TestServer::http(Reply::Status(200, "")).await;
    let result = probe(tcp(Endpoint::Addr(server.addr))).await;
    assert_eq!((result.ok, result.detail.as_str()), (true, "connected"));
    assert!(result.latency < Duration::from_millis(500));
}

/// Whether the kernel holds a TIME_WAIT socket bound to `local` (IPv4).
fn in_time_wait(local: SocketAddr) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let SocketAddr::V4(local) = local else {
        panic!("IPv4 only")
    };
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some((ip, port)) = fields.get(1).and_then(|a| a.split_once(':')) else {
            return false;
        };
        let ip = u32::from_str_radix(ip, 16).map(|v| std::net::Ipv4Addr::from(u32::from_be(v)));
        let port = u16::from_str_radix(port, 16);
        // State 06 is TCP_TIME_WAIT.
        ip == Ok(*local.ip()) && port == Ok(local.port()) && fields.get(3) == Some(&"06")
    })
}

#[tokio::test]
async fn tcp_closes_with_a_reset_so_no_time_wait_is_left_behind() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let result = probe(tcp(Endpoint::Addr(addr))).await;
    assert!(result.ok, "{result:?}");
    let (mut accepted, vipd_end) = listener.accept().await.unwrap();
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), accepted.read(&mut buf))
        .await
        .expect("the probe's connection was not closed");
    assert_eq!(
        read.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset),
        "an orderly close (FIN) leaves vipd a TIME_WAIT socket"
    );
    assert!(!in_time_wait(vipd_end));
}

#[tokio::test]
async fn tcp_fails_with_connection_refused_when_nothing_listens() {
    let result = probe(tcp(Endpoint::Addr(closed_port().await))).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (false, "connection refused")
    );
}

#[tokio::test]
async fn tcp_resolves_a_name() {
    let server = TestServer::http(Reply::Status(200, "")).await;
    let result = probe(tcp(Endpoint::Name {
        host: "localhost".into(),
        port: server.addr.port(),
    }))
    .await;
    assert!(result.ok, "{result:?}");
}

// ---------------------------------------------------------------------------
// http, https

#[tokio::test]
async fn http_200_passes_and_503_fails_with_the_status_as_detail() {
    let ok = TestServer::http(Reply::Status(200, "fine")).await;
    let result = probe(http(http_check(&format!("http://{}/healthz", ok.addr)))).await;
    assert_eq!((result.ok, result.detail.as_str()), (true, "HTTP 200"));
    assert!(ok.requests.lock().unwrap()[0].starts_with("get /healthz http/1.1\r\n"));

    let down = TestServer::http(Reply::Status(503, "busy")).await;
    let result = probe(http(http_check(&format!("http://{}/", down.addr)))).await;
    assert_eq!((result.ok, result.detail.as_str()), (false, "HTTP 503"));
}

#[tokio::test]
async fn expect_status_replaces_any_2xx() {
    let server = TestServer::http(Reply::Status(503, "")).await;
    let mut h = http_check(&format!("http://{}/", server.addr));
    h.expect_status = vec![200, 503];
    assert!(probe(http(h.clone())).await.ok);
    let server = TestServer::http(Reply::Status(204, "")).await;
    h.url = format!("http://{}/", server.addr).parse().unwrap();
    let result = probe(http(h)).await;
    assert_eq!((result.ok, result.detail.as_str()), (false, "HTTP 204"));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = TestServer::http(Reply::Status(302, "")).await;
    let result = probe(http(http_check(&format!("http://{}/", server.addr)))).await;
    assert_eq!((result.ok, result.detail.as_str()), (false, "HTTP 302"));
    assert_eq!(server.requests.lock().unwrap().len(), 1);
}

/// `h` passes with `present` as `expect_body` and fails with "healthy",
/// which the servers here never send.
async fn body_match_and_miss(mut h: HttpCheck, present: &str) {
    h.expect_body = Some(present.into());
    let result = probe(http(h.clone())).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (true, "HTTP 200, body matches")
    );
    h.expect_body = Some("healthy".into());
    let result = probe(http(h)).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (false, "HTTP 200, body lacks \"healthy\"")
    );
}

#[tokio::test]
async fn the_body_must_contain_expect_body() {
    let server = TestServer::http(Reply::Status(200, "status: ready\n")).await;
    body_match_and_miss(http_check(&format!("http://{}/", server.addr)), "ready").await;
}

#[tokio::test]
async fn http_leaves_no_time_wait_socket_even_when_the_server_keeps_the_connection() {
    // A server that keeps the connection open despite `Connection: close`
    // makes vipd the side that closes first: an orderly close would leave
    // it a TIME_WAIT socket for 60 s per probe. The connection is reset.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, vipd_end) = listener.accept().await.unwrap();
        let request = read_head(&mut stream).await;
        assert!(request.ends_with(b"\r\n\r\n"), "{request:?}");
        let mut buf = [0u8; 1];
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .unwrap();
        // The client's end of the request (its half close, or its reset),
        // then the server closes too.
        let end = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
        assert!(
            matches!(end, Ok(Ok(0) | Err(_))),
            "the probe's connection was not closed: {end:?}"
        );
        vipd_end
    });
    let result = probe(http(http_check(&format!("http://{addr}/")))).await;
    assert_eq!((result.ok, result.detail.as_str()), (true, "HTTP 200"));
    let vipd_end = server.await.unwrap();
    // Time for the server's FIN to reach vipd's end, had it not been reset.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!in_time_wait(vipd_end));
}

#[tokio::test]
async fn the_host_header_can_be_set() {
    let server = TestServer::http(Reply::Status(200, "")).await;
    let mut h = http_check(&format!("http://{}/", server.addr));
    h.host = Some("www.example.com".into());
    assert!(probe(http(h)).await.ok);
    let request = server.requests.lock().unwrap()[0].clone();
    assert!(
        request.contains("\r\nhost: www.example.com\r\n"),
        "{request}"
    );
    assert_eq!(request.matches("\r\nhost:").count(), 1, "{request}");
}

#[tokio::test]
async fn an_http_server_that_never_answers_times_out() {
    let server = TestServer::http(Reply::Silent).await;
    let mut config = http(http_check(&format!("http://{}/", server.addr)));
    config.timeout = Duration::from_millis(200);
    let result = probe(config).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (false, "timeout after 200ms")
    );
    assert!(
        result.latency >= Duration::from_millis(200) && result.latency < Duration::from_secs(1)
    );
}

#[tokio::test]
async fn http_to_a_closed_port_is_connection_refused() {
    let result = probe(http(http_check(&format!(
        "http://{}/",
        closed_port().await
    ))))
    .await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (false, "connection refused")
    );
}

#[tokio::test]
async fn https_with_tls_verify_false_accepts_a_self_signed_certificate() {
    let server = TestServer::https(Reply::Status(200, "ok")).await;
    let mut h = http_check(&format!("https://{}/", server.addr));
    h.tls_verify = false;
    h.expect_body = Some("ok".into());
    let result = probe(http(h)).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (true, "HTTP 200, body matches")
    );
}

#[tokio::test]
async fn https_with_tls_verify_refuses_a_self_signed_certificate() {
    let server = TestServer::https(Reply::Status(200, "ok")).await;
    let h = http_check(&format!("https://localhost:{}/", server.addr.port()));
    let result = probe(http(h)).await;
    assert!(!result.ok);
    assert!(result.detail.contains("certificate"), "{}", result.detail);
    assert!(
        server.requests.lock().unwrap().is_empty(),
        "no request got through"
    );
}

// ---------------------------------------------------------------------------
// exec

#[tokio::test]
async fn exec_passes_on_exit_0_and_keeps_the_last_line() {
    let result = probe(exec(&["true"], 1000)).await;
    assert_eq!((result.ok, result.detail.as_str()), (true, "exit 0"));
    let result = probe(sh("echo starting; echo all fine")).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (true, "exit 0: all fine")
    );
}

#[tokio::test]
async fn exec_fails_on_another_exit_code_with_the_last_non_empty_line() {
    let result = probe(sh("printf 'first\\nlast words\\n\\n  \\n' >&2; exit 3")).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (false, "exit 3: last words")
    );
    // stdout and stderr are one stream: the last line written to either.
    let result = probe(sh("echo out; echo err >&2; exit 1")).await;
    assert_eq!(result.detail, "exit 1: err");
    let result = probe(sh("echo err >&2; echo out; exit 1")).await;
    assert_eq!(result.detail, "exit 1: out");
}

#[tokio::test]
async fn exec_reads_long_output_without_blocking_and_keeps_its_end() {
    let result = probe(sh(
        "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done",
    ))
    .await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (true, "exit 0: line 19999")
    );
}

#[tokio::test]
async fn exec_reports_a_signal_and_a_missing_program() {
    let result = probe(sh("kill -9 $$")).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (false, "killed by signal 9")
    );
    let result = probe(exec(&["/nonexistent/check"], 1000)).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (
            false,
            "cannot run /nonexistent/check: no such file or directory"
        )
    );
}

#[tokio::test]
async fn a_hanging_command_is_killed_at_the_timeout_with_its_process_group() {
    let dir = TempDir::new("exec-timeout");
    let pidfile = dir.path("child.pid");
    let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
    let result = probe(exec(&["sh", "-c", &script], 300)).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (false, "timeout after 300ms")
    );
    assert!(
        result.latency < Duration::from_secs(1),
        "{:?}",
        result.latency
    );
    let child: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !is_dead(child) {
        assert!(
            std::time::Instant::now() < deadline,
            "sleep {child} survived the timeout"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_background_process_holding_the_output_does_not_delay_the_result() {
    let dir = TempDir::new("exec-background");
    let pidfile = dir.path("child.pid");
    let script = format!("sleep 30 & echo $! > {}; echo started", pidfile.display());
    let result = probe(exec(&["sh", "-c", &script], 3000)).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (true, "exit 0: started")
    );
    assert!(
        result.latency < Duration::from_secs(1),
        "{:?}",
        result.latency
    );
    // Nothing a check starts outlives it.
    let child: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !is_dead(child) {
        assert!(
            std::time::Instant::now() < deadline,
            "sleep {child} outlived its check"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------
// file

#[tokio::test]
async fn a_file_check_follows_the_flag_file() {
    let dir = TempDir::new("file");
    let path = dir.path("maintenance");
    let config = |healthy_when| {
        check(
            "maintenance",
            CheckKind::File(FileCheck {
                path: path.clone(),
                healthy_when,
            }),
            1000,
            500,
        )
    };
    let shown = path.display();
    let result = probe(config(FileState::Absent)).await;
    assert_eq!(
        (result.ok, result.detail),
        (true, format!("file {shown} absent"))
    );
    let result = probe(config(FileState::Present)).await;
    assert_eq!(
        (result.ok, result.detail),
        (false, format!("file {shown} absent"))
    );
    std::fs::write(&path, "").unwrap();
    let result = probe(config(FileState::Absent)).await;
    assert_eq!(
        (result.ok, result.detail),
        (false, format!("file {shown} present"))
    );
    let result = probe(config(FileState::Present)).await;
    assert_eq!(
        (result.ok, result.detail),
        (true, format!("file {shown} present"))
    );
}

// ---------------------------------------------------------------------------
// process

fn process(pidfile: std::path::PathBuf) -> crate::config::CheckConfig {
    check(
        "daemon",
        CheckKind::Process(ProcessCheck { pidfile }),
        1000,
        500,
    )
}

#[tokio::test]
async fn a_process_check_passes_while_the_process_runs() {
    let dir = TempDir::new("process");
    let pidfile = dir.path("daemon.pid");
    let mut child = tokio::process::Command::new("sleep")
        .arg("30")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    std::fs::write(&pidfile, format!("{pid}\n")).unwrap();
    let result = probe(process(pidfile.clone())).await;
    assert_eq!(
        (result.ok, result.detail),
        (true, format!("process {pid} running"))
    );

    // Exited but not yet reaped (a zombie) is not running.
    child.start_kill().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !is_dead(pid) {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let result = probe(process(pidfile.clone())).await;
    assert_eq!(
        (result.ok, result.detail),
        (false, format!("process {pid} not running"))
    );
    child.wait().await.unwrap();
    let result = probe(process(pidfile)).await;
    assert_eq!(
        (result.ok, result.detail),
        (false, format!("process {pid} not running"))
    );
}

#[tokio::test]
async fn a_missing_or_garbled_pidfile_fails_with_its_path() {
    let dir = TempDir::new("pidfile");
    let pidfile = dir.path("daemon.pid");
    let shown = pidfile.display().to_string();
    let result = probe(process(pidfile.clone())).await;
    assert_eq!(
        (result.ok, result.detail),
        (
            false,
            format!("cannot read {shown}: no such file or directory")
        )
    );
    std::fs::write(&pidfile, "nginx\n").unwrap();
    let result = probe(process(pidfile.clone())).await;
    assert_eq!(result.detail, format!("{shown}: \"nginx\" is not a pid"));
    std::fs::write(&pidfile, "0").unwrap();
    let result = probe(process(pidfile)).await;
    assert_eq!(result.detail, format!("{shown}: \"0\" is not a pid"));
}

// ---------------------------------------------------------------------------
// http: the lean path for plain http:// (no client, the same request and details)

/// A request's head: up to the empty line (or the end, or 16 KiB).
async fn read_head(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    head
}

/// A server that reads one request head (kept, lowercased) and answers
/// `response` verbatim, then closes.
async fn raw_server(response: &'static [u8]) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let head = read_head(&mut stream).await;
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).to_lowercase());
            let _ = stream.write_all(response).await;
            let _ = stream.shutdown().await;
        }
    });
    (addr, requests)
}

#[tokio::test]
async fn http_request_names_host_and_port_and_asks_to_close() {
    let server = TestServer::http(Reply::Status(200, "")).await;
    let result = probe(http(http_check(&format!(
        "http://{}/a/b?x=1&y=2#frag",
        server.addr
    ))))
    .await;
    assert_eq!((result.ok, result.detail.as_str()), (true, "HTTP 200"));
    let request = server.requests.lock().unwrap()[0].clone();
    assert!(
        request.starts_with("get /a/b?x=1&y=2 http/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains(&format!("\r\nhost: {}\r\n", server.addr)),
        "{request}"
    );
    assert!(request.contains("\r\nconnection: close\r\n"), "{request}");
    assert!(
        request.contains("\r\nuser-agent: vipd/") && request.contains(" health check\r\n"),
        "{request}"
    );
}

#[tokio::test]
async fn a_chunked_body_is_searched_across_chunks() {
    let (addr, _) = raw_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          5\r\nstatu\r\n8\r\ns: ready\r\n0\r\n\r\n",
    )
    .await;
    body_match_and_miss(http_check(&format!("http://{addr}/")), "status: ready").await;
}

#[tokio::test]
async fn a_body_cut_short_fails_with_the_cause() {
    let (addr, _) = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstatus").await;
    let mut h = http_check(&format!("http://{addr}/"));
    h.expect_body = Some("status: ready".into());
    let result = probe(http(h)).await;
    assert!(!result.ok, "{result:?}");
    assert!(result.detail.starts_with("HTTP 200, body: "), "{result:?}");
}

#[tokio::test]
async fn a_server_that_closes_without_answering_fails() {
    let (addr, requests) = raw_server(b"").await;
    let result = probe(http(http_check(&format!("http://{addr}/")))).await;
    assert_eq!(
        (result.ok, result.detail.as_str()),
        (false, "connection closed before message completed")
    );
    assert_eq!(requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_garbled_response_fails() {
    let (addr, _) = raw_server(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
    let result = probe(http(http_check(&format!("http://{addr}/")))).await;
    assert!(!result.ok, "{result:?}");
    assert!(!result.detail.is_empty());
}

#[tokio::test]
async fn credentials_in_the_url_are_sent_as_basic_authorization() {
    let server = TestServer::http(Reply::Status(200, "")).await;
    let url = format!("http://probe:secret@{}/", server.addr);
    let result = probe(http(http_check(&url))).await;
    assert_eq!((result.ok, result.detail.as_str()), (true, "HTTP 200"));
    let request = server.requests.lock().unwrap()[0].clone();
    // base64("probe:secret")
    assert!(
        request.contains("\r\nauthorization: basic chjvymu6c2vjcmv0\r\n"),
        "{request}"
    );
}
