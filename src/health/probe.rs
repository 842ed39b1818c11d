//! One probe of a check, bounded by its timeout: the only place that talks to
//! the service.
//!
//! Every result carries a short detail ("connection refused", "HTTP 503",
//! "timeout after 500ms", "exit 1: <last line>", "file /x present"): it is
//! logged as the cause of a VIP transition, so it must read well on one line.

use std::collections::HashMap;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::net::unix::pipe;
use tokio::time::Instant;

use super::grpc::GrpcProber;
use super::runner::Probe;
use super::{dns, link};
use crate::config::{
    CheckConfig, CheckKind, Endpoint, FileCheck, FileState, HttpCheck, ProcessCheck,
};

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub ok: bool,
    /// What was seen, in a few words.
    pub detail: String,
    /// From the start of the probe to its result.
    pub latency: Duration,
}

/// How much of an exec check's output is kept (the end of it), and how much
/// of an HTTP body is searched for `expect_body` (the start of it).
const EXEC_OUTPUT_KEPT: usize = 4 * 1024;
const HTTP_BODY_SEARCHED: usize = 64 * 1024;
/// The User-Agent of HTTP checks.
const USER_AGENT: &str = concat!("vipd/", env!("CARGO_PKG_VERSION"), " health check");
/// A detail longer than this is cut: it is one field of a log line.
const MAX_DETAIL: usize = 200;

/// Probes one check; built once per check (the HTTP client is reused, its
/// connections are not: every probe opens a fresh one).
pub(crate) struct Prober {
    check: CheckConfig,
    /// For https checks (and http ones with credentials in the URL); the
    /// error text if the client cannot be built.
    http: Option<Result<reqwest::Client, String>>,
    /// For plain `http://` checks: the request's parts, precomputed, for
    /// the lean path ([`http_plain`]) that skips the client's machinery.
    plain: Option<PlainHttp>,
    /// For grpc checks.
    grpc: Option<GrpcProber>,
}

impl Prober {
    pub(crate) fn new(check: &CheckConfig) -> Self {
        let plain = match &check.kind {
            CheckKind::Http(h) => PlainHttp::of(h),
            _ => None,
        };
        // Only checks that need it get (and set up) the full client: a
        // daemon with plain http checks alone never touches TLS code.
        let http = match &check.kind {
            CheckKind::Http(h) if plain.is_none() => Some(http_client(h)),
            _ => None,
        };
        let grpc = match &check.kind {
            CheckKind::Grpc(g) => Some(GrpcProber::new(g)),
            _ => None,
        };
        Prober {
            check: check.clone(),
            http,
            plain,
            grpc,
        }
    }

    /// Runs one probe; it ends within the check's timeout (plus the time to
    /// kill an exec check's processes).
    pub(crate) async fn run(&self) -> ProbeResult {
        let start = Instant::now();
        let timeout = self.check.timeout;
        let (ok, detail) = match &self.check.kind {
            // Handles its own timeout: it has processes to kill.
            CheckKind::Exec(e) => exec(&e.argv, timeout).await,
            _ => match tokio::time::timeout(timeout, self.run_io()).await {
                Ok(outcome) => outcome,
                Err(_) => (false, timed_out(timeout)),
            },
        };
        ProbeResult {
            ok,
            detail: truncate(detail),
            latency: start.elapsed(),
        }
    }

    async fn run_io(&self) -> (bool, String) {
        match &self.check.kind {
            CheckKind::Tcp(t) => match connect(&t.address).await {
                Ok(stream) => {
                    // Closed with a reset, as HAProxy closes its connect-only
                    // checks: vipd closes first, and a FIN would leave a
                    // TIME_WAIT socket for 60 s per probe (600k of them for
                    // 10k checks at 1 s, past the kernel's table) and cost
                    // two more segments each time.
                    let _ = stream.set_zero_linger();
                    (true, "connected".into())
                }
                Err(e) => (false, io_detail(&e)),
            },
            CheckKind::Http(h) => match (&self.plain, &self.http) {
                (Some(plain), _) => http_plain(plain, h).await,
                (None, Some(Ok(client))) => http(client, h).await,
                (None, Some(Err(e))) => (false, e.clone()),
                (None, None) => (false, "internal error: no HTTP client".into()),
            },
            CheckKind::File(f) => file(f).await,
            CheckKind::Process(p) => process(p).await,
            CheckKind::Exec(e) => exec(&e.argv, self.check.timeout).await,
            CheckKind::Dns(d) => dns::probe(d).await,
            CheckKind::Grpc(_) => match &self.grpc {
                Some(g) => g.probe().await,
                None => (false, "internal error: no gRPC client".into()),
            },
            CheckKind::Interface(i) => link::probe(i).await,
            // Renewed, not probed: see `lease`.
            CheckKind::Lease(_) => (false, "internal error: a lease is not probed".into()),
        }
    }
}

impl Probe for Prober {
    async fn probe(&mut self) -> ProbeResult {
        // Boxed: a probe's future (an HTTP client's, a gRPC call's) is
        // several KiB; inline, every check's task would hold that much even
        // while it sleeps between probes.
        Box::pin(self.run()).await
    }
}

fn timed_out(timeout: Duration) -> String {
    format!("timeout after {}", humantime::format_duration(timeout))
}

fn truncate(mut detail: String) -> String {
    if detail.chars().count() > MAX_DETAIL {
        detail = detail.chars().take(MAX_DETAIL - 3).collect::<String>() + "...";
    }
    detail
}

/// An I/O error in a few words: "connection refused", not
/// "Connection refused (os error 111)".
pub(crate) fn io_detail(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => &text[..i],
        _ => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => format!("{:?}", e.kind()),
    }
}

/// Opens a TCP connection (resolving a name first).
pub(crate) async fn connect(endpoint: &Endpoint) -> io::Result<TcpStream> {
    match endpoint {
        Endpoint::Addr(addr) => TcpStream::connect(addr).await,
        Endpoint::Name { host, port } => TcpStream::connect((host.as_str(), *port)).await,
    }
}

// ---------------------------------------------------------------------------
// http, https

/// The HTTP client for `h`. Clients differ only in how they treat TLS, so
/// checks share one per kind: thousands of http checks then cost one
/// client (its TLS setup is the bulk of its memory), not one each.
fn http_client(h: &HttpCheck) -> Result<reqwest::Client, String> {
    type Clients = HashMap<(bool, bool), reqwest::Client>;
    static SHARED: OnceLock<Mutex<Clients>> = OnceLock::new();
    let key = (h.url.scheme() == "https", h.tls_verify);
    let shared = SHARED.get_or_init(Default::default);
    if let Ok(clients) = shared.lock()
        && let Some(client) = clients.get(&key)
    {
        return Ok(client.clone());
    }
    let client = build_http_client(h)?;
    if let Ok(mut clients) = shared.lock() {
        clients.insert(key, client.clone());
    }
    Ok(client)
}

fn build_http_client(h: &HttpCheck) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        // A fresh connection per probe: a check should see what a new
        // client sees (a full accept queue, a dead worker), not reuse a
        // connection that happens to still work.
        .pool_max_idle_per_host(0)
        // The check tests this URL, not wherever it redirects to.
        .redirect(reqwest::redirect::Policy::none())
        // Never through an HTTP_PROXY from vipd's environment.
        .no_proxy()
        .danger_accept_invalid_certs(!h.tls_verify)
        // The system trust store is read only when a certificate will be
        // verified, so a plain http check never fails over an odd store.
        .tls_built_in_root_certs(h.url.scheme() == "https" && h.tls_verify)
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", error_detail(&e)))
}

async fn http(client: &reqwest::Client, h: &HttpCheck) -> (bool, String) {
    let mut request = client.get(h.url.clone());
    if let Some(host) = &h.host {
        request = request.header(reqwest::header::HOST, host);
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return (false, error_detail(&e)),
    };
    let status = response.status().as_u16();
    if !h.status_passes(status) {
        return (false, format!("HTTP {status}"));
    }
    let Some(needle) = &h.expect_body else {
        return (true, format!("HTTP {status}"));
    };
    let mut body = Vec::new();
    while body.len() < HTTP_BODY_SEARCHED {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return (false, format!("HTTP {status}, body: {}", error_detail(&e))),
        }
    }
    body_verdict(status, body, needle)
}

/// What a plain `http://` probe sends, worked out once per check.
struct PlainHttp {
    endpoint: Endpoint,
    /// The request target: the URL's path and query.
    target: hyper::Uri,
    /// The Host header: the check's `host`, or the URL's host and port.
    host: hyper::header::HeaderValue,
}

impl PlainHttp {
    /// `None` when the check needs the full client: https, or credentials
    /// in the URL (the client turns them into an Authorization header).
    fn of(h: &HttpCheck) -> Option<Self> {
        use url::Position;
        let url = &h.url;
        if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        let endpoint = h.endpoint()?;
        let target = url[Position::BeforePath..Position::AfterQuery]
            .parse()
            .ok()?;
        let host = match &h.host {
            Some(host) => host.as_str(),
            None => &url[Position::BeforeHost..Position::AfterPort],
        };
        let host = hyper::header::HeaderValue::from_str(host).ok()?;
        Some(PlainHttp {
            endpoint,
            target,
            host,
        })
    }

    fn request(&self) -> hyper::Request<http_body_util::Empty<bytes::Bytes>> {
        use hyper::header;
        let mut request = hyper::Request::new(http_body_util::Empty::new());
        *request.uri_mut() = self.target.clone();
        let headers = request.headers_mut();
        headers.insert(header::HOST, self.host.clone());
        headers.insert(
            header::USER_AGENT,
            header::HeaderValue::from_static(USER_AGENT),
        );
        headers.insert(header::ACCEPT, header::HeaderValue::from_static("*/*"));
        // One request per connection, as with the full client: say so.
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        request
    }
}

/// A plain `http://` probe: a fresh TCP connection, one HTTP/1.1 GET, the
/// status and (when `expect_body` is set) the start of the body. The same
/// request and the same details as [`http`], at a fraction of the cost: no
/// connection pool, no spawned connection task, no per-request client
/// bookkeeping (10k checks a second spend most of their CPU there).
async fn http_plain(plain: &PlainHttp, h: &HttpCheck) -> (bool, String) {
    use http_body_util::BodyExt;
    let stream = match connect(&plain.endpoint).await {
        Ok(s) => s,
        Err(e) => return (false, io_detail(&e)),
    };
    let _ = stream.set_nodelay(true);
    // Closed with a reset once the probe is over, like a tcp check (and
    // HAProxy's HTTP checks): the request went out and the answer is in
    // (or the probe gave up), and whichever side closes first, no TIME_WAIT
    // socket is left on either for 60 s per probe.
    let _ = stream.set_zero_linger();
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = match hyper::client::conn::http1::handshake(io).await {
        Ok(pair) => pair,
        Err(e) => return (false, error_detail(&e)),
    };
    let exchange = async {
        let mut response = match sender.send_request(plain.request()).await {
            Ok(r) => r,
            Err(e) => return (false, error_detail(&e)),
        };
        let status = response.status().as_u16();
        if !h.status_passes(status) {
            return (false, format!("HTTP {status}"));
        }
        let Some(needle) = &h.expect_body else {
            return (true, format!("HTTP {status}"));
        };
        let body = response.body_mut();
        let mut seen = Vec::new();
        while seen.len() < HTTP_BODY_SEARCHED {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        seen.extend_from_slice(data);
                    }
                }
                None => break,
                Some(Err(e)) => {
                    return (false, format!("HTTP {status}, body: {}", error_detail(&e)));
                }
            }
        }
        body_verdict(status, seen, needle)
    };
    // The connection is driven here, not in a task of its own: the probe
    // ends (and the socket closes) when the exchange does.
    let mut connection = std::pin::pin!(connection);
    let mut exchange = std::pin::pin!(exchange);
    tokio::select! {
        biased;
        outcome = &mut exchange => outcome,
        // The connection ended first (closed or failed): the exchange has
        // all it will get, and ends with it.
        _ = &mut connection => exchange.await,
    }
}

fn body_verdict(status: u16, mut body: Vec<u8>, needle: &str) -> (bool, String) {
    body.truncate(HTTP_BODY_SEARCHED);
    let needle = needle.as_bytes();
    if body.windows(needle.len()).any(|w| w == needle) {
        (true, format!("HTTP {status}, body matches"))
    } else {
        (
            false,
            format!(
                "HTTP {status}, body lacks {:?}",
                String::from_utf8_lossy(needle)
            ),
        )
    }
}

/// The innermost cause of an error: reqwest wraps hyper wraps io, and only
/// the last says what happened ("connection refused", "invalid peer
/// certificate: UnknownIssuer").
pub(crate) fn error_detail(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    match inner.downcast_ref::<io::Error>() {
        Some(io) => io_detail(io),
        None => inner.to_string(),
    }
}

// ---------------------------------------------------------------------------
// exec

/// Kills a process group when dropped: the check's processes never outlive
/// it, even when the probe is cancelled at shutdown.
struct GroupKill(libc::pid_t);

impl Drop for GroupKill {
    fn drop(&mut self) {
        // SAFETY: killpg has no memory effects; at worst the group is gone (ESRCH).
        unsafe {
            libc::killpg(self.0, libc::SIGKILL);
        }
    }
}

async fn exec(argv: &[String], timeout: Duration) -> (bool, String) {
    let Some((program, args)) = argv.split_first() else {
        return (false, "internal error: empty command".into());
    };
    // stdout and stderr share one pipe, so "the last line" is the last line
    // written to either.
    let (reader, writer) = match std::io::pipe() {
        Ok(pair) => pair,
        Err(e) => return (false, format!("cannot create a pipe: {}", io_detail(&e))),
    };
    let stderr = match writer.try_clone() {
        Ok(w) => w,
        Err(e) => return (false, format!("cannot create a pipe: {}", io_detail(&e))),
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(stderr)
        // Its own process group, so a timeout kills everything it started.
        .process_group(0);
    let spawned = command.spawn();
    // The command holds our copies of the pipe's write end.
    drop(command);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return (false, format!("cannot run {program}: {}", io_detail(&e))),
    };
    let Some(pgid) = child.id().and_then(|id| libc::pid_t::try_from(id).ok()) else {
        return (false, "internal error: no pid".into());
    };
    let _group = GroupKill(pgid);
    // Without it (it cannot fail for a fresh pipe) the output is not kept.
    let output = pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).ok();

    let mut tail = Tail::default();
    let mut open = output.is_some();
    let deadline = Instant::now() + timeout;
    let status = loop {
        tokio::select! {
            status = child.wait() => break Some(status),
            ready = readable(output.as_ref()), if open => {
                open = ready.is_ok() && output.as_ref().is_some_and(|o| tail.drain(o));
            }
            () = tokio::time::sleep_until(deadline) => break None,
        }
    };
    let Some(status) = status else {
        // SAFETY: as in GroupKill; the whole group, not just the child.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
        let _ = child.wait().await;
        return (false, timed_out(timeout));
    };
    // What it wrote before exiting is in the pipe; do not wait for an end of
    // file that a leftover background process could hold back.
    if let Some(o) = &output {
        tail.drain(o);
    }
    let last = tail.last_line();
    match status {
        Ok(status) => {
            let mut detail = match (status.code(), status.signal()) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(signal)) => format!("killed by signal {signal}"),
                (None, None) => "ended".to_string(),
            };
            if let Some(line) = last {
                detail = format!("{detail}: {line}");
            }
            (status.success(), detail)
        }
        Err(e) => (
            false,
            format!("cannot wait for {program}: {}", io_detail(&e)),
        ),
    }
}

async fn readable(output: Option<&pipe::Receiver>) -> io::Result<()> {
    match output {
        Some(o) => o.readable().await,
        None => std::future::pending().await,
    }
}

/// The last [`EXEC_OUTPUT_KEPT`] bytes of a command's output.
#[derive(Default)]
struct Tail(Vec<u8>);

impl Tail {
    /// Reads what is available now; false at end of file or on an error.
    fn drain(&mut self, from: &pipe::Receiver) -> bool {
        let mut buf = [0u8; 4096];
        loop {
            match from.try_read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => {
                    self.0.extend_from_slice(&buf[..n]);
                    if self.0.len() > EXEC_OUTPUT_KEPT {
                        self.0.drain(..self.0.len() - EXEC_OUTPUT_KEPT);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            }
        }
    }

    fn last_line(&self) -> Option<String> {
        String::from_utf8_lossy(&self.0)
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .map(str::to_string)
    }
}

// ---------------------------------------------------------------------------
// file

async fn file(f: &FileCheck) -> (bool, String) {
    let path = f.path.display();
    match tokio::fs::try_exists(&f.path).await {
        Ok(present) => {
            let ok = present == (f.healthy_when == FileState::Present);
            let state = if present { "present" } else { "absent" };
            (ok, format!("file {path} {state}"))
        }
        Err(e) => (false, format!("cannot check {path}: {}", io_detail(&e))),
    }
}

// ---------------------------------------------------------------------------
// process

async fn process(p: &ProcessCheck) -> (bool, String) {
    let pid = match read_pid(&p.pidfile).await {
        Ok(pid) => pid,
        Err(detail) => return (false, detail),
    };
    match process_state(pid) {
        Ok(true) => (true, format!("process {pid} running")),
        Ok(false) => (false, format!("process {pid} not running")),
        Err(e) => (
            false,
            format!("cannot check process {pid}: {}", io_detail(&e)),
        ),
    }
}

/// Reads a pidfile: one positive decimal number (surrounding whitespace allowed).
pub(crate) async fn read_pid(path: &Path) -> Result<libc::pid_t, String> {
    let path_text = path.display().to_string();
    let owned = path.to_path_buf();
    // Bounded: a pidfile is a few bytes; a huge file is not a pidfile.
    let read = tokio::task::spawn_blocking(move || -> io::Result<Vec<u8>> {
        let mut text = Vec::new();
        std::fs::File::open(owned)?
            .take(64)
            .read_to_end(&mut text)?;
        Ok(text)
    })
    .await;
    let text = match read {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => return Err(format!("cannot read {path_text}: {}", io_detail(&e))),
        Err(_) => return Err(format!("cannot read {path_text}")),
    };
    let text = String::from_utf8_lossy(&text);
    match text.trim().parse::<libc::pid_t>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(format!("{path_text}: {:?} is not a pid", text.trim())),
    }
}

/// Whether `pid` is running (an exited, unreaped process is not).
fn process_state(pid: libc::pid_t) -> io::Result<bool> {
    match pidfd_open(pid) {
        Ok(fd) => has_exited(&fd).map(|exited| !exited),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
        // Kernels before 5.3: whether the pid exists at all.
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            // SAFETY: signal 0 only checks that the process exists.
            let alive = unsafe { libc::kill(pid, 0) } == 0
                || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            Ok(alive)
        }
        Err(e) => Err(e),
    }
}

/// A pidfd for `pid`: readable once the process has exited.
pub(crate) fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new file
    // descriptor or -1; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::other("pidfd out of range"))?;
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Polls a pidfd without waiting.
fn has_exited(pidfd: &OwnedFd) -> io::Result<bool> {
    let mut poll = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, timeout 0: poll(2) returns at once.
    let n = unsafe { libc::poll(&mut poll, 1, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(poll.revents & libc::POLLIN != 0)
}
