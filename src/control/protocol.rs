//! The control protocol: JSON lines over a Unix stream socket.
//!
//! The client writes one request object per line (`\n`-terminated, at most
//! [`MAX_LINE`] bytes); the daemon answers each with one response object on
//! one line, in order. A client may send several requests on one connection;
//! the daemon closes a connection that stays silent for
//! [`CLIENT_IDLE`](super::server::CLIENT_IDLE).
//!
//! ```text
//! {"cmd":"status"}
//! {"cmd":"drain","prefixes":["198.18.0.10/32","2001:db8::10"]}   a bare address is a /32 or /128
//! {"cmd":"drain","all":true}
//! {"cmd":"undrain","prefixes":["198.18.0.10/32"]}
//! {"cmd":"undrain","all":true}
//! {"cmd":"reload"}
//! {"cmd":"lease","name":"app-alive","ttl":"5s"}                  renew a lease check (ttl optional)
//! {"cmd":"lease","name":"app-alive","release":true}              give it up: the check goes down at once
//! ```
//!
//! Every response has `"ok"`. A failure has `"ok":false` and an `"error"`
//! sentence; a reload refused because of the file also lists every config
//! error in `"errors"` (the lines `vipd check` prints). Success carries:
//!
//! ```text
//! status          {"ok":true,"status":{"version":..,"time":..,"peers":[..],"vips":[..],"checks":[..]}}
//! drain, undrain  {"ok":true,"prefixes":["198.18.0.10/32"]}   the VIPs it applied to
//! reload          {"ok":true,"changes":["VIP 198.18.0.11/32 added", ..]}
//! lease           {"ok":true,"lease":{"name":"app-alive","held":true,"ttl_seconds":5.0}}
//! ```
//!
//! The `status` document is [`Status`]; times are RFC 3339 UTC (`since`) plus
//! the seconds elapsed (`for_seconds`), latencies are milliseconds.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::app::StatusReport;
use crate::bgp::session::MessageCounts;
use crate::health::CheckStatus;

use super::link::VipChecks;

/// The longest request line the daemon reads; a longer one is refused and the
/// connection closed (there is no way to find the next request in it).
pub const MAX_LINE: usize = 64 * 1024;

/// One request line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
pub enum Request {
    Status,
    Drain(Targets),
    Undrain(Targets),
    Reload,
    Lease(LeaseRequest),
}

/// Renew (or release) one `kind = "lease"` check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// The check's name (`[check.NAME]`).
    pub name: String,
    /// How long this renewal holds, as `"5s"` or `"1500ms"`; the check's own
    /// `ttl` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Release instead of renewing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub release: bool,
}

impl LeaseRequest {
    /// The ttl asked for, if any; the error is the sentence sent back.
    pub fn ttl(&self) -> Result<Option<Duration>, String> {
        match &self.ttl {
            None => Ok(None),
            Some(_) if self.release => Err("a release takes no ttl".into()),
            Some(text) => humantime::parse_duration(text.trim())
                .map(Some)
                .map_err(|e| format!("bad ttl {text:?}: {e} (write it as \"5s\" or \"500ms\")")),
        }
    }
}

/// What a lease request did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseAnswer {
    pub name: String,
    /// Held after this request (false after a release).
    pub held: bool,
    /// For how long from now (0 after a release).
    pub ttl_seconds: f64,
}

/// Which VIPs a drain or undrain applies to: some prefixes, or all of them,
/// never by default (an empty list is refused rather than read as "all").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

impl Request {
    /// The `cmd` value, for logs and metrics.
    pub fn command(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Drain(_) => "drain",
            Request::Undrain(_) => "undrain",
            Request::Reload => "reload",
            Request::Lease(_) => "lease",
        }
    }

    /// Reads one request line; the error is the sentence sent back.
    pub fn parse(line: &[u8]) -> Result<Request, String> {
        serde_json::from_slice(line).map_err(|e| format!("bad request: {e}"))
    }
}

impl Targets {
    pub fn all() -> Targets {
        Targets {
            prefixes: Vec::new(),
            all: true,
        }
    }

    /// The prefixes to act on; an empty list means every VIP (what
    /// `ControlRequest::Drain` expects).
    pub fn resolve(&self) -> Result<Vec<IpNet>, String> {
        match (self.all, self.prefixes.is_empty()) {
            (true, true) => Ok(Vec::new()),
            (true, false) => Err("give either \"prefixes\" or \"all\": true, not both".into()),
            (false, true) => Err("name the VIPs in \"prefixes\", or set \"all\": true".into()),
            (false, false) => self.prefixes.iter().map(|p| parse_prefix(p)).collect(),
        }
    }
}

/// `198.18.0.10/32`, or a bare address for its host route.
pub fn parse_prefix(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an IP prefix or address"))
}

/// One response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every config error of a refused reload, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// drain, undrain: the VIPs the command applied to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefixes: Option<Vec<String>>,
    /// reload: what changed, one line each (empty: the file was unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<String>>,
    /// lease: the lease after the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<LeaseAnswer>,
}

impl Response {
    fn ok() -> Response {
        Response {
            ok: true,
            error: None,
            errors: Vec::new(),
            status: None,
            prefixes: None,
            changes: None,
            lease: None,
        }
    }

    pub fn error(error: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(error.into()),
            ..Response::ok()
        }
    }

    pub fn status(status: Status) -> Response {
        Response {
            status: Some(status),
            ..Response::ok()
        }
    }

    pub fn prefixes(prefixes: &[IpNet]) -> Response {
        Response {
            prefixes: Some(prefixes.iter().map(ToString::to_string).collect()),
            ..Response::ok()
        }
    }

    pub fn changes(changes: Vec<String>) -> Response {
        Response {
            changes: Some(changes),
            ..Response::ok()
        }
    }

    pub fn lease(lease: LeaseAnswer) -> Response {
        Response {
            lease: Some(lease),
            ..Response::ok()
        }
    }

    /// A reload refused because of the file: nothing changed.
    pub fn config_errors(errors: Vec<String>) -> Response {
        Response {
            errors,
            ..Response::error("the config file has errors; the running config stays")
        }
    }

    /// One line of JSON, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_else(|e| {
            // Serializing these plain structs cannot fail; say so if it does.
            format!("{{\"ok\":false,\"error\":\"cannot encode the response: {e}\"}}").into_bytes()
        });
        line.push(b'\n');
        line
    }
}

/// What `vipd status` shows: the daemon's [`StatusReport`] with times made
/// absolute and every VIP's checks next to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// vipd's version.
    pub version: String,
    /// When this snapshot was taken.
    pub time: String,
    pub peers: Vec<PeerView>,
    pub vips: Vec<VipView>,
    pub checks: Vec<CheckView>,
    /// Each running OSPF instance; absent without `[ospf]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ospf: Vec<OspfView>,
}

/// One OSPF instance: neighbors, database size, packet counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OspfView {
    /// `OSPFv2` or `OSPFv3`.
    pub version: String,
    pub router_id: String,
    pub area: String,
    pub neighbors: Vec<OspfNeighborView>,
    /// LSAs in the area database.
    pub lsas: usize,
    /// LSAs vipd originated (not flushed).
    pub originated: usize,
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Malformed or refused packets and LSAs dropped, by reason.
    pub dropped: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OspfNeighborView {
    pub interface: String,
    pub router_id: String,
    pub address: String,
    /// RFC 2328 10.1 state: Down, Init, 2-Way, ExStart, Exchange, Loading, Full.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerView {
    pub name: String,
    pub address: String,
    pub local_asn: u32,
    pub remote_asn: u32,
    /// RFC 4271 8.2.2 state name: Idle, Connect, Active, OpenSent, OpenConfirm, Established.
    pub state: String,
    /// When `state` was entered (for Established: the session's uptime).
    pub since: String,
    pub for_seconds: f64,
    /// Why the last session or connection attempt ended.
    pub last_error: Option<String>,
    pub prefixes_announced: usize,
    pub prefixes_received: u64,
    pub messages_received: MessageView,
    pub messages_sent: MessageView,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub open: u64,
    pub update: u64,
    pub notification: u64,
    pub keepalive: u64,
    pub route_refresh: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VipView {
    pub prefix: String,
    /// `up`, `down` or `draining`.
    pub state: String,
    /// Drained by an operator (`vipd drain`).
    pub admin_drain: bool,
    /// Why it last changed state.
    pub cause: String,
    pub since: String,
    pub for_seconds: f64,
    /// The checks it depends on (none: always announced).
    pub checks: Vec<VipCheckView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VipCheckView {
    pub name: String,
    /// After rise/fall.
    pub up: bool,
    /// The latest probe: passed or not (`None` before the first one).
    pub last_ok: Option<bool>,
    pub latency_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckView {
    pub name: String,
    pub up: bool,
    pub since: String,
    pub for_seconds: f64,
    /// The latest probe (`None` before the first one finished).
    pub last: Option<ProbeView>,
    /// Results in a row that disagree with `up`, and how many flip it
    /// (rise or fall); a change is pending while `streak` > 0.
    pub streak: u32,
    pub needed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeView {
    pub ok: bool,
    pub detail: String,
    pub latency_ms: f64,
    /// When it finished.
    pub at: Option<String>,
}

/// A clock reading in both clocks, to turn `Instant`s into wall-clock times.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub instant: Instant,
    pub system: SystemTime,
}

impl Now {
    pub fn current() -> Now {
        Now {
            instant: Instant::now(),
            system: SystemTime::now(),
        }
    }

    fn ago(&self, then: Instant) -> Duration {
        self.instant.saturating_duration_since(then)
    }

    fn wall(&self, then: Instant) -> SystemTime {
        self.system
            .checked_sub(self.ago(then))
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    fn since_system(&self, then: SystemTime) -> Duration {
        self.system.duration_since(then).unwrap_or_default()
    }
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl Status {
    pub fn from_report(report: &StatusReport, vip_checks: &VipChecks, now: Now) -> Status {
        let peers = report
            .peers
            .iter()
            .map(|p| PeerView {
                name: p.name.clone(),
                address: p.address.to_string(),
                local_asn: p.local_asn,
                remote_asn: p.remote_asn,
                state: p.state.to_string(),
                since: rfc3339(p.since),
                for_seconds: now.since_system(p.since).as_secs_f64(),
                last_error: p.last_error.clone(),
                prefixes_announced: p.prefixes_announced,
                prefixes_received: p.prefixes_received,
                messages_received: MessageView::from(&p.messages_received),
                messages_sent: MessageView::from(&p.messages_sent),
            })
            .collect();
        let vips = report
            .vips
            .iter()
            .map(|v| VipView {
                prefix: v.prefix.to_string(),
                state: v.phase.to_string(),
                admin_drain: v.admin_drain,
                cause: v.cause.clone(),
                since: rfc3339(now.wall(v.since)),
                for_seconds: now.ago(v.since).as_secs_f64(),
                checks: vip_checks
                    .get(&v.prefix)
                    .into_iter()
                    .flatten()
                    .map(|name| {
                        let check = report.checks.get(name);
                        let last = check.and_then(|c| c.last.as_ref());
                        VipCheckView {
                            name: name.clone(),
                            up: check.is_some_and(|c| c.up),
                            last_ok: last.map(|l| l.ok),
                            latency_ms: last.map(|l| millis(l.latency)),
                        }
                    })
                    .collect(),
            })
            .collect();
        let checks = report
            .checks
            .iter()
            .map(|(name, c)| CheckView::from_status(name, c, now))
            .collect();
        Status {
            version: env!("CARGO_PKG_VERSION").to_string(),
            time: rfc3339(now.system),
            peers,
            vips,
            checks,
            #[cfg(feature = "ospf")]
            ospf: report.ospf.iter().map(OspfView::from).collect(),
            #[cfg(not(feature = "ospf"))]
            ospf: Vec::new(),
        }
    }
}

#[cfg(feature = "ospf")]
impl From<&crate::ospf::OspfStatus> for OspfView {
    fn from(o: &crate::ospf::OspfStatus) -> OspfView {
        OspfView {
            version: o.version.to_string(),
            router_id: o.router_id.to_string(),
            area: o.area.to_string(),
            neighbors: o
                .neighbors
                .iter()
                .map(|n| OspfNeighborView {
                    interface: n.interface.clone(),
                    router_id: n.router_id.to_string(),
                    address: n.address.to_string(),
                    state: n.state.clone(),
                })
                .collect(),
            lsas: o.lsas,
            originated: o.originated,
            packets_sent: o.packets_sent,
            packets_received: o.packets_received,
            dropped: o
                .dropped
                .iter()
                .map(|(reason, n)| (reason.to_string(), *n))
                .collect(),
        }
    }
}

impl CheckView {
    fn from_status(name: &str, c: &CheckStatus, now: Now) -> CheckView {
        CheckView {
            name: name.to_string(),
            up: c.up,
            since: rfc3339(now.wall(c.since)),
            for_seconds: now.ago(c.since).as_secs_f64(),
            last: c.last.as_ref().map(|l| ProbeView {
                ok: l.ok,
                detail: l.detail.clone(),
                latency_ms: millis(l.latency),
                at: c.last_at.map(|at| rfc3339(now.wall(at))),
            }),
            streak: c.streak,
            needed: c.needed,
        }
    }
}

impl From<&MessageCounts> for MessageView {
    fn from(c: &MessageCounts) -> MessageView {
        MessageView {
            open: c.open,
            update: c.update,
            notification: c.notification,
            keepalive: c.keepalive,
            route_refresh: c.route_refresh,
            total: c.total(),
        }
    }
}
