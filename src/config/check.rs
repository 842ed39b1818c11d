//! The typed `[check.NAME]` tables and the VIP keys that refer to them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The shortest period a check may be re-probed at while a change is pending.
pub const MIN_FAST_INTERVAL: Duration = Duration::from_millis(10);

/// One `[check.NAME]`, with every default resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    /// The NAME in `[check.NAME]`, as VIPs refer to it.
    pub name: String,
    pub kind: CheckKind,
    /// Time between probes while the state is settled (plus up to 10% jitter).
    pub interval: Duration,
    /// A probe that has not succeeded by then has failed; always below `interval`.
    pub timeout: Duration,
    /// Consecutive successes that bring a down check up.
    pub rise: u32,
    /// Consecutive failures that bring an up check down.
    pub fall: u32,
    /// Time between probes while a change is pending; `None` = the default,
    /// see [`CheckConfig::pending_interval`].
    pub fast_interval: Option<Duration>,
    pub on_fail: OnFail,
}

impl CheckConfig {
    /// The period used after a first differing result until `rise`/`fall` is
    /// reached or the streak breaks: `fast_interval`, else a quarter of
    /// `interval` but at least [`MIN_FAST_INTERVAL`].
    pub fn pending_interval(&self) -> Duration {
        self.fast_interval
            .unwrap_or_else(|| (self.interval / 4).max(MIN_FAST_INTERVAL))
    }
}

/// What a check probes, with the keys of its `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// `kind = "tcp"`: a TCP connection opens within the timeout.
    Tcp(TcpCheck),
    /// `kind = "http"` and `kind = "https"` (told apart by the URL's scheme).
    Http(HttpCheck),
    /// `kind = "exec"`: a command exits 0 within the timeout.
    Exec(ExecCheck),
    /// `kind = "file"`: a file is absent (a maintenance flag) or present.
    File(FileCheck),
    /// `kind = "process"`: the process named by a pidfile is running.
    Process(ProcessCheck),
    /// `kind = "dns"`: a DNS server answers a query with the expected rcode
    /// (and record).
    Dns(DnsCheck),
    /// `kind = "grpc"`: the gRPC health-checking protocol answers SERVING.
    Grpc(GrpcCheck),
    /// `kind = "lease"`: up while the application keeps renewing it.
    Lease(LeaseCheck),
    /// `kind = "interface"`: a network interface's link state.
    Interface(InterfaceCheck),
}

impl CheckKind {
    /// The `kind` value as written in the file.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Tcp(_) => "tcp",
            CheckKind::Http(h) if h.url.scheme() == "https" => "https",
            CheckKind::Http(_) => "http",
            CheckKind::Exec(_) => "exec",
            CheckKind::File(_) => "file",
            CheckKind::Process(_) => "process",
            CheckKind::Dns(_) => "dns",
            CheckKind::Grpc(_) => "grpc",
            CheckKind::Lease(_) => "lease",
            CheckKind::Interface(_) => "interface",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpCheck {
    pub address: Endpoint,
    /// Keep an idle connection open and re-probe the moment it closes.
    /// Default: true when `address` is local (loopback or an address of this host).
    pub watch: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    /// An `http://` or `https://` URL; redirects are not followed.
    pub url: url::Url,
    /// Status codes that pass; empty = any 2xx.
    pub expect_status: Vec<u16>,
    /// If set, the body (its first 64 KiB) must contain this text.
    pub expect_body: Option<String>,
    /// Host header to send instead of the URL's host.
    pub host: Option<String>,
    /// Verify the server certificate (https only; always true for http).
    pub tls_verify: bool,
    /// As [`TcpCheck::watch`], with an idle connection to the URL's host and port.
    pub watch: bool,
}

impl HttpCheck {
    /// The host and port the URL connects to.
    pub fn endpoint(&self) -> Option<Endpoint> {
        let port = self.url.port_or_known_default()?;
        Some(match self.url.host()? {
            url::Host::Ipv4(ip) => Endpoint::Addr(SocketAddr::new(ip.into(), port)),
            url::Host::Ipv6(ip) => Endpoint::Addr(SocketAddr::new(ip.into(), port)),
            url::Host::Domain(name) => Endpoint::Name {
                host: name.to_string(),
                port,
            },
        })
    }

    /// Whether a status code passes.
    pub fn status_passes(&self, status: u16) -> bool {
        if self.expect_status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.expect_status.contains(&status)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCheck {
    /// The argv that is run: `command` as written, after `["sh", "-c"]` if `shell = true`.
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    pub path: PathBuf,
    pub healthy_when: FileState,
}

/// `healthy_when` of a file check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// The maintenance-flag idiom: `touch /etc/vipd/maintenance` drains the VIP.
    Absent,
    Present,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessCheck {
    /// Re-read at every probe: a restarted process has a new pid.
    pub pidfile: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCheck {
    /// Where the query goes (UDP; TCP when the answer is truncated).
    pub server: Endpoint,
    /// The name queried, fully qualified.
    pub name: hickory_proto::rr::Name,
    pub qtype: hickory_proto::rr::RecordType,
    pub expect_rcode: hickory_proto::op::ResponseCode,
    /// If set, one record of the answer section must show this text (see
    /// [`DnsCheck::answer_matches`]).
    pub expect_answer: Option<String>,
}

/// The query types a dns check may ask for: those whose answers have a
/// presentation form to compare `expect_answer` against.
pub const DNS_QTYPES: &[&str] = &[
    "A", "AAAA", "CAA", "CNAME", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SOA", "SRV", "SVCB", "TXT",
];

/// RFC 1035 4.1.1 and RFC 2136 2.2: the response codes a DNS header can
/// carry, by their usual mnemonics (RFC 6895 2.3).
pub const DNS_RCODES: &[(&str, u16)] = &[
    ("NOERROR", 0),
    ("FORMERR", 1),
    ("SERVFAIL", 2),
    ("NXDOMAIN", 3),
    ("NOTIMP", 4),
    ("REFUSED", 5),
    ("YXDOMAIN", 6),
    ("YXRRSET", 7),
    ("NXRRSET", 8),
    ("NOTAUTH", 9),
    ("NOTZONE", 10),
];

/// An rcode's mnemonic ("SERVFAIL"), or "RCODE n" for one without.
pub fn rcode_name(rcode: hickory_proto::op::ResponseCode) -> String {
    let code = u16::from(rcode);
    DNS_RCODES
        .iter()
        .find(|(_, c)| *c == code)
        .map_or_else(|| format!("RCODE {code}"), |(name, _)| (*name).to_string())
}

impl DnsCheck {
    /// Whether one answer record, in presentation form (`198.18.0.10`,
    /// `10 mail.example.com.`), is `expect_answer`. A final dot and ASCII
    /// case are ignored (RFC 4343: names compare without case), except in
    /// TXT strings, which are data and compare exactly.
    pub fn answer_matches(&self, qtype: hickory_proto::rr::RecordType, answer: &str) -> bool {
        let Some(expect) = &self.expect_answer else {
            return true;
        };
        if qtype == hickory_proto::rr::RecordType::TXT {
            return answer == expect;
        }
        answer
            .trim_end_matches('.')
            .eq_ignore_ascii_case(expect.trim_end_matches('.'))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcCheck {
    /// HTTP/2 without TLS (h2c) unless `tls`.
    pub address: Endpoint,
    /// The `service` of the HealthCheckRequest; "" asks about the server as a whole.
    pub service: String,
    pub tls: bool,
    /// Verify the server certificate (with `tls` only; always true without).
    pub tls_verify: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseCheck {
    /// How long a renewal keeps the check up, unless the renewal names its own.
    pub ttl: Duration,
    /// A loopback address where a small HTTP endpoint takes renewals
    /// (`POST /lease/NAME`); several lease checks may share one.
    pub http: Option<SocketAddr>,
}

/// The shortest and longest ttl a lease renewal may ask for.
pub const MIN_LEASE_TTL: Duration = MIN_FAST_INTERVAL;
pub const MAX_LEASE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceCheck {
    /// The interface name, as `ip link` shows it.
    pub name: String,
    pub require: LinkRequirement,
}

/// `require` of an interface check: which link state counts as healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRequirement {
    /// RFC 2863 operational state up (`state UP` in `ip link`); an interface
    /// whose driver reports no operational state (`state UNKNOWN`, such as
    /// `lo` and some tunnels) counts when it is up and running.
    Up,
    /// `IFF_RUNNING`: administratively up and operationally up.
    Running,
    /// `IFF_LOWER_UP`: the driver signals carrier, whatever the admin state.
    LowerUp,
}

impl LinkRequirement {
    /// The `require` value as written in the file.
    pub fn name(self) -> &'static str {
        match self {
            LinkRequirement::Up => "up",
            LinkRequirement::Running => "running",
            LinkRequirement::LowerUp => "lower_up",
        }
    }
}

/// A TCP destination: an address, or a name resolved at each probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Addr(SocketAddr),
    Name { host: String, port: u16 },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Addr(addr) => write!(f, "{addr}"),
            Endpoint::Name { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

impl Endpoint {
    /// Loopback, or an address of this host: the service runs here, so a
    /// watched connection sees it die.
    pub fn is_local(&self) -> bool {
        match self {
            Endpoint::Addr(addr) => is_local_ip(addr.ip()),
            Endpoint::Name { host, .. } => {
                let host = host.trim_end_matches('.').to_ascii_lowercase();
                // RFC 6761 6.3: localhost names resolve to loopback.
                host == "localhost" || host.ends_with(".localhost")
            }
        }
    }
}

fn is_local_ip(ip: IpAddr) -> bool {
    // An IPv4-mapped IPv6 address is the IPv4 address on the wire.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    ip.is_loopback() || if_addrs::get_if_addrs().is_ok_and(|ifs| ifs.iter().any(|i| i.ip() == ip))
}

/// What a failed check does to the VIPs that name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFail {
    /// Withdraw the route at once.
    Withdraw,
    /// Keep announcing with the VIP's drain attributes for its `drain_time`, then withdraw.
    Drain,
}

/// How a VIP combines its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckPolicy {
    /// Announced while every check is up.
    All,
    /// Announced while at least one check is up.
    Any,
}
