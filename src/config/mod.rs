//! Node configuration: one TOML file -> raw serde structs -> validated, typed [`Config`].
//!
//! The pipeline has three steps, one file each:
//! - [`raw`]: serde structs that mirror the file (`deny_unknown_fields`), with a
//!   [`toml::Spanned`] around every value so later errors can point at it;
//! - [`validate`]: raw -> [`Config`], collecting *every* mistake rather than the first;
//! - [`plan`]: the human-readable summary printed by `vipd check`.
//!
//! Errors name the file, the line and column, and the key path, e.g.
//! `vipd.toml:14:10: vip[2].prefix: "198.18.0.300/32" is not an IP prefix`.
//! A file that is not valid TOML, or has an unknown key or a value of the wrong
//! type, stops at that first error (serde cannot go on); every other mistake is
//! reported together with the rest.
//!
//! The file format is documented key by key in `configs/examples/full.toml`.

mod check;
mod error;
mod locate;
mod ospf;
mod plan;
mod raw;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bgp::wire::{Community, LargeCommunity};

pub use check::{
    CheckConfig, CheckKind, CheckPolicy, DnsCheck, Endpoint, ExecCheck, FileCheck, FileState,
    GrpcCheck, HttpCheck, InterfaceCheck, LeaseCheck, LinkRequirement, MAX_LEASE_TTL,
    MIN_LEASE_TTL, OnFail, ProcessCheck, TcpCheck, rcode_name,
};
pub use error::{ConfigError, ConfigErrors, Location};
pub use ospf::{
    OspfAuth, OspfAuthAlgorithm, OspfConfig, OspfExternalType, OspfInterface, OspfNetwork,
    OspfVipLsa,
};

/// BGP port (RFC 4271 8.2.1): the default for `listen` without a port and for `[[peer]] port`.
pub const BGP_PORT: u16 = 179;

/// `[speaker] control_socket` default.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/vipd/vipd.sock";
/// The port of a `[speaker] metrics` address written without one.
pub const DEFAULT_METRICS_PORT: u16 = 9179;

/// A validated node configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub speaker: Speaker,
    pub peers: Vec<PeerConfig>,
    pub vips: Vec<VipConfig>,
    /// Every `[check.NAME]`, by name; a check named by several VIPs runs once.
    pub checks: BTreeMap<String, CheckConfig>,
    /// `[ospf]`: originate the VIPs into an OSPF area; `None` = no OSPF.
    pub ospf: Option<OspfConfig>,
}

/// `[speaker]`: this node's BGP identity and the defaults its peers inherit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speaker {
    pub asn: u32,
    pub router_id: Ipv4Addr,
    /// Where to accept BGP connections; `None` = connect out only.
    pub listen: Option<SocketAddr>,
    /// Default hold time in seconds (0 = no keepalives, else 3..=65535).
    pub hold_time: u16,
    /// Initial ConnectRetry time; it doubles after each failure up to `connect_retry_max`.
    pub connect_retry: Duration,
    pub connect_retry_max: Duration,
    /// RFC 4724 restart time in seconds; `Some` = advertise the Graceful Restart capability.
    pub graceful_restart_time: Option<u16>,
    /// Announce nothing until this long after start, so checks can settle first.
    pub startup_delay: Option<Duration>,
    /// On shutdown, drain every announced VIP (each for its `drain_time`)
    /// before withdrawing it, instead of withdrawing at once.
    pub shutdown_drain: bool,
    /// Where the control socket (`vipd status`, `drain`, `reload`) listens;
    /// `None` = no control socket.
    pub control_socket: Option<PathBuf>,
    /// Where to serve Prometheus metrics over HTTP (`/metrics`); `None` = off.
    pub metrics: Option<SocketAddr>,
}

/// One `[[peer]]`, with every default resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// For logs; defaults to the address.
    pub name: String,
    pub description: Option<String>,
    pub address: IpAddr,
    pub remote_asn: u32,
    /// The per-peer `local_asn` override, else `[speaker] asn`.
    pub local_asn: u32,
    pub local_address: Option<IpAddr>,
    /// Remote TCP port for outgoing connections (default 179).
    pub port: u16,
    /// Per-peer `hold_time`, else `[speaker] hold_time`.
    pub hold_time: u16,
    /// Only accept the session (needs `[speaker] listen`); never connect out.
    pub passive: bool,
    /// eBGP TTL; `None` = directly connected. Never set for iBGP.
    pub multihop: Option<u8>,
    pub next_hop_ipv4: Option<Ipv4Addr>,
    pub next_hop_ipv6: Option<Ipv6Addr>,
    pub connect_retry: Duration,
    pub connect_retry_max: Duration,
    /// `enabled = false` keeps the peer in the file but never starts the session.
    pub enabled: bool,
    /// `bfd = true`: a single-hop BFD session (RFC 5881) watches the path to
    /// the peer; `None` when `bfd = false` (the default).
    pub bfd: Option<BfdConfig>,
    /// RFC 2385 TCP-MD5 key for this session (1..=80 bytes).
    pub password: Option<String>,
    /// RFC 5082 GTSM: send with TTL 255 and accept only segments from at
    /// most `multihop` (default 1) hops away.
    pub ttl_security: bool,
    /// RFC 5925 TCP-AO Master Key Tuples for this session; empty = no
    /// TCP-AO. The first is sent with; the others are accepted. Never set
    /// together with `password`.
    pub tcp_ao: Vec<TcpAoKey>,
    /// Past this many prefixes received in one session: Cease/Maximum
    /// Number of Prefixes Reached (RFC 4486). `None` = no limit (counted,
    /// never stored).
    pub max_prefixes: Option<u32>,
    /// How long to wait before reconnecting after the limit was hit.
    pub max_prefixes_restart: Duration,
    /// RFC 9687: drop a peer that accepts none of our data for this long.
    /// `None` = the RFC's default, the larger of 8 minutes and twice the
    /// negotiated hold time.
    pub send_hold_time: Option<Duration>,
}

/// One TCP-AO Master Key Tuple (RFC 5925 3.1) of a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpAoKey {
    /// KeyID on the segments vipd sends with this key (SendID).
    pub send_id: u8,
    /// KeyID the peer puts on its segments with this key (RecvID).
    pub recv_id: u8,
    pub algorithm: TcpAoAlgorithm,
    /// The master key, 1..=80 bytes.
    pub key: String,
}

/// The MAC algorithms of RFC 5926, both with 96-bit MACs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpAoAlgorithm {
    /// HMAC-SHA-1-96 (`"hmac-sha1"`, the default).
    HmacSha1,
    /// AES-128-CMAC-96 (`"aes-128-cmac"`).
    AesCmac128,
}

/// `max_prefixes` default: plenty for a peer that should send us nothing.
pub const DEFAULT_MAX_PREFIXES: u32 = 1000;
/// `max_prefixes_restart` default.
pub const DEFAULT_MAX_PREFIXES_RESTART: Duration = Duration::from_secs(30);

/// Per-peer BFD timers (`bfd_min_interval`, `bfd_multiplier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdConfig {
    /// Both our Desired Min TX and our Required Min RX interval (RFC 5880 6.8.1).
    pub min_interval: Duration,
    /// Detect Mult: the peer declares us down after this many intervals of silence.
    pub multiplier: u8,
}

impl PeerConfig {
    /// External BGP: the two ends are in different ASes.
    pub fn is_ebgp(&self) -> bool {
        self.remote_asn != self.local_asn
    }

    /// Where to connect to.
    pub fn remote(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}

/// One `[[vip]]`: a prefix and the path attributes it is announced with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipConfig {
    /// For logs; defaults to the prefix text (e.g. `198.18.0.10/32`).
    pub name: String,
    /// Host bits are zero. A bare address in the file becomes a /32 or /128.
    pub prefix: ipnet::IpNet,
    /// `count`: this entry stands for `count` consecutive host prefixes
    /// starting at `prefix` (1 for a single VIP). A block stays one entry
    /// here; the VIP machine expands it (sharing its attributes).
    pub count: u32,
    pub communities: Vec<Community>,
    pub large_communities: Vec<LargeCommunity>,
    pub med: Option<u32>,
    /// RFC 4271 5.1.5: LOCAL_PREF is only sent to internal peers, so this only
    /// affects iBGP sessions.
    pub local_pref: Option<u32>,
    /// How many extra times to prepend our AS (0..=32).
    pub as_path_prepend: u8,
    /// Names of `[check.NAME]` tables, each defined; empty = always announced.
    pub checks: Vec<String>,
    /// Whether all of `checks` must be up, or any one of them.
    pub check_policy: CheckPolicy,
    /// Once withdrawn because of a failed check, stay withdrawn at least this long.
    pub hold_down: Option<Duration>,
    /// How long a draining VIP stays announced (with the drain attributes)
    /// before it is withdrawn.
    pub drain_time: Duration,
    /// MULTI_EXIT_DISC while draining; `None` = keep `med`.
    pub drain_med: Option<u32>,
    /// How many extra times to prepend our AS while draining (0..=32).
    pub drain_prepend: u8,
    /// Put the VIP's address on this interface (e.g. "lo") while vipd runs.
    pub interface: Option<String>,
    /// `ospf = true`: also originate this VIP into OSPF (needs `[ospf]`).
    pub ospf: bool,
    /// `ospf_cost`: its OSPF metric; `None` = the default (1).
    pub ospf_cost: Option<u32>,
}

impl VipConfig {
    /// The VIPs this entry stands for (`count` of them), in order.
    pub fn prefixes(&self) -> impl Iterator<Item = ipnet::IpNet> + '_ {
        (0..self.count.max(1)).filter_map(|i| crate::vip::nth_host(self.prefix, i))
    }

    /// Whether `prefix` is one of this entry's VIPs.
    pub fn covers(&self, prefix: ipnet::IpNet) -> bool {
        use ipnet::IpNet::{V4, V6};
        match (self.prefix, prefix) {
            _ if self.prefix == prefix => true,
            (V4(a), V4(b)) if self.count > 1 && b.prefix_len() == 32 => {
                let (a, b) = (u32::from(a.addr()), u32::from(b.addr()));
                b >= a && u64::from(b - a) < u64::from(self.count)
            }
            (V6(a), V6(b)) if self.count > 1 && b.prefix_len() == 128 => {
                let (a, b) = (u128::from(a.addr()), u128::from(b.addr()));
                b >= a && b - a < u128::from(self.count)
            }
            _ => false,
        }
    }
}

/// Reads, parses and validates the file at `path`. A read failure is a [`ConfigError`] too.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file_name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, &file_name),
        Err(e) => Err(ConfigErrors(vec![ConfigError {
            file: file_name,
            location: None,
            key: None,
            message: format!("cannot read the file: {e}"),
        }])),
    }
}

/// Parses and validates `text`; `file_name` is only used in error messages.
pub fn parse(text: &str, file_name: &str) -> Result<Config, ConfigErrors> {
    let source = locate::Source::new(text, file_name);
    let raw = raw::parse(&source).map_err(|e| ConfigErrors(vec![e]))?;
    validate::validate(&raw, &source).map_err(ConfigErrors)
}
