//! Raw structs -> typed [`Config`], recording every mistake with its key path and span.
//!
//! Each check reports its own error and returns `Err(Reported)`; values that
//! others depend on (the speaker's AS, whether it listens) are kept even when a
//! sibling key is wrong, so one mistake does not cause a cascade of others.

mod check;
mod tcp_ao;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::{Range, RangeInclusive};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use toml::Spanned;

use super::locate::{KeyIndex, Source};
use super::raw::{RawConfig, RawPeer, RawSpeaker, RawSwitchedPath, RawVip};
use super::{
    BGP_PORT, BfdConfig, CheckPolicy, Config, ConfigError, DEFAULT_CONTROL_SOCKET,
    DEFAULT_METRICS_PORT, PeerConfig, Speaker, VipConfig,
};

/// RFC 4271 10 suggests 90 seconds.
const DEFAULT_HOLD_TIME: u16 = 90;
const DEFAULT_CONNECT_RETRY: u64 = 5;
const DEFAULT_CONNECT_RETRY_MAX: u64 = 120;
/// A longer AS_PATH than this is a typo, not traffic engineering.
const MAX_PREPEND: i64 = 32;
/// The largest `[[vip]] count` block (4Mi host prefixes).
pub(crate) const MAX_VIP_COUNT: i64 = 4 * 1024 * 1024;
const DEFAULT_DRAIN_TIME: Duration = Duration::from_secs(10);
/// No delay, interval or timeout in the file is longer: a longer one is a typo,
/// and the bound keeps deadline arithmetic far from overflow.
const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);
/// unix(7): `sun_path` holds 108 bytes, the terminating NUL included.
const MAX_SOCKET_PATH: usize = 107;
/// `bfd_min_interval` default: with `bfd_multiplier` 3, a 150 ms detection time.
const DEFAULT_BFD_MIN_INTERVAL: Duration = Duration::from_millis(50);
const DEFAULT_BFD_MULTIPLIER: u8 = 3;
/// BFD runs on a userspace timer: shorter intervals are not dependable.
const MIN_BFD_INTERVAL: Duration = Duration::from_millis(10);
/// A longer BFD interval is slower than the BGP hold timer it is meant to beat.
const MAX_BFD_INTERVAL: Duration = Duration::from_secs(60);

/// The error for this key has already been recorded.
struct Reported;

type Checked<T> = Result<T, Reported>;

pub(crate) fn validate(raw: &RawConfig, source: &Source<'_>) -> Result<Config, Vec<ConfigError>> {
    let mut v = Validator {
        source,
        errors: Vec::new(),
    };
    let (speaker, defaults) = v.speaker(raw.speaker.as_ref());
    let peers: Vec<Checked<PeerConfig>> = raw
        .peer
        .iter()
        .enumerate()
        .map(|(i, p)| v.peer(i, p, &defaults))
        .collect();
    v.duplicate_peers(&raw.peer);
    let checks = v.checks(&raw.check);
    // A VIP may name a check whose table has mistakes: those are reported
    // there, not again as an unknown name.
    let check_names: HashSet<&str> = raw.check.keys().map(String::as_str).collect();
    let vips: Vec<Checked<VipConfig>> = raw
        .vip
        .iter()
        .enumerate()
        .map(|(i, p)| v.vip(i, p, &check_names))
        .collect();
    v.duplicate_vips(&raw.vip);
    let (ospf, ospf_errors) = super::ospf::validate(
        raw.ospf.as_ref(),
        &raw.vip,
        speaker.as_ref().ok().map(|s| s.router_id),
        source,
    );
    v.errors.extend(ospf_errors);

    let config = (|| -> Checked<Config> {
        Ok(Config {
            speaker: speaker?,
            peers: peers.into_iter().collect::<Checked<_>>()?,
            vips: vips.into_iter().collect::<Checked<_>>()?,
            checks: checks?,
            ospf,
        })
    })();
    let mut errors = v.errors;
    match config {
        Ok(config) if errors.is_empty() => Ok(config),
        _ => {
            if errors.is_empty() {
                // Every `Reported` follows a recorded error; keep the promise
                // that an `Err` is never empty even if a check forgets.
                errors.push(ConfigError {
                    file: source.file.to_string(),
                    location: None,
                    key: None,
                    message: "internal error: invalid configuration with no message".into(),
                });
            }
            errors.sort_by_key(|e| e.location);
            Err(errors)
        }
    }
}

/// What peers inherit from `[speaker]`, known even when the speaker has errors.
struct Defaults {
    /// `None`: missing or invalid (already reported).
    asn: Option<u32>,
    hold_time: u16,
    connect_retry: Duration,
    connect_retry_max: Option<Duration>,
    /// `None`: unknown because `[speaker]` is missing.
    listens: Option<bool>,
}

struct Validator<'a> {
    source: &'a Source<'a>,
    errors: Vec<ConfigError>,
}

impl Validator<'_> {
    fn report(&mut self, span: &Range<usize>, key: &str, message: impl Into<String>) -> Reported {
        self.report_at(Some(span.start), key, message)
    }

    /// Like `report`, for a place that may not be known.
    fn report_at(&mut self, at: Option<usize>, key: &str, message: impl Into<String>) -> Reported {
        self.errors.push(ConfigError {
            file: self.source.file.to_string(),
            location: at.map(|offset| self.source.location(offset)),
            key: Some(key.to_string()),
            message: message.into(),
        });
        Reported
    }

    /// Checks a key that must be present in the table that starts at `table`.
    fn required<R, T>(
        &mut self,
        value: &Option<Spanned<R>>,
        table: Option<usize>,
        table_key: &str,
        name: &str,
        check: impl FnOnce(&mut Self, &Spanned<R>) -> Checked<T>,
    ) -> Checked<T> {
        match value {
            Some(value) => check(self, value),
            None => Err(self.report_at(table, table_key, format!("missing required key `{name}`"))),
        }
    }

    /// Checks a key that may be absent.
    fn optional<R, T>(
        &mut self,
        value: &Option<Spanned<R>>,
        check: impl FnOnce(&mut Self, &Spanned<R>) -> Checked<T>,
    ) -> Checked<Option<T>> {
        value.as_ref().map(|v| check(self, v)).transpose()
    }

    /// Checks every element of an array, reporting all bad ones.
    fn each<T>(
        &mut self,
        items: &[Spanned<String>],
        key: &str,
        mut check: impl FnMut(&mut Self, &Spanned<String>, &str) -> Checked<T>,
    ) -> Checked<Vec<T>> {
        let checked: Vec<Checked<T>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| check(self, item, &format!("{key}[{i}]")))
            .collect();
        checked.into_iter().collect()
    }

    fn int(
        &mut self,
        value: &Spanned<i64>,
        key: &str,
        range: RangeInclusive<i64>,
        unit: &str,
    ) -> Checked<i64> {
        let n = *value.get_ref();
        if range.contains(&n) {
            Ok(n)
        } else {
            let (lo, hi) = (range.start(), range.end());
            Err(self.report(
                &value.span(),
                key,
                format!("{n} is out of range ({lo}..={hi}{unit})"),
            ))
        }
    }

    /// A humantime duration ("500ms", "2s", "1m 30s") up to [`MAX_DURATION`],
    /// at least `min`.
    fn duration(&mut self, value: &Spanned<String>, key: &str, min: Duration) -> Checked<Duration> {
        let text = value.get_ref();
        let message = match humantime::parse_duration(text.trim()) {
            Ok(d) if d > MAX_DURATION => {
                format!("{} is too long (at most {})", show(d), show(MAX_DURATION))
            }
            Ok(d) if d < min && min == Duration::from_nanos(1) => "must be more than 0".into(),
            Ok(d) if d < min => format!("{} is below the minimum of {}", show(d), show(min)),
            Ok(d) => return Ok(d),
            Err(_) => format!("{text:?} is not a duration (e.g. \"500ms\", \"2s\", \"1m\")"),
        };
        Err(self.report(&value.span(), key, message))
    }

    fn seconds(&mut self, value: &Spanned<i64>, key: &str) -> Checked<Duration> {
        let n = self.int(value, key, 1..=65535, " seconds")?;
        Ok(Duration::from_secs(n.unsigned_abs()))
    }

    fn asn(&mut self, value: &Spanned<i64>, key: &str) -> Checked<u32> {
        let message = match *value.get_ref() {
            0 => "AS 0 is reserved and cannot be used (RFC 7607)".to_string(),
            23456 => "AS 23456 is AS_TRANS, a placeholder for 4-octet AS numbers \
                      that must not be configured (RFC 6793)"
                .to_string(),
            n => match u32::try_from(n) {
                Ok(asn) => return Ok(asn),
                Err(_) => format!("{n} is not an AS number (1..=4294967295)"),
            },
        };
        Err(self.report(&value.span(), key, message))
    }

    fn hold_time(&mut self, value: &Spanned<i64>, key: &str) -> Checked<u16> {
        match u16::try_from(*value.get_ref()) {
            // RFC 4271 4.2: "MUST be either zero or at least three seconds".
            Ok(n) if n != 1 && n != 2 => Ok(n),
            _ => Err(self.report(
                &value.span(),
                key,
                format!(
                    "{} is not a valid hold time: use 0 (no keepalives) or 3..=65535 \
                     seconds (RFC 4271 4.2)",
                    value.get_ref()
                ),
            )),
        }
    }

    fn port(&mut self, value: &Spanned<i64>, key: &str) -> Checked<u16> {
        match u16::try_from(*value.get_ref()) {
            Ok(n) if n != 0 => Ok(n),
            _ => Err(self.report(
                &value.span(),
                key,
                format!("{} is not a usable port (1..=65535)", value.get_ref()),
            )),
        }
    }

    fn parse<T: FromStr>(&mut self, value: &Spanned<String>, key: &str, what: &str) -> Checked<T> {
        value.get_ref().parse().map_err(|_| {
            self.report(
                &value.span(),
                key,
                format!("{:?} is not {what}", value.get_ref()),
            )
        })
    }

    /// Refuses addresses that cannot be one end of a session or a next hop.
    fn unicast(
        &mut self,
        value: &Spanned<String>,
        key: &str,
        ip: IpAddr,
        role: &str,
    ) -> Checked<IpAddr> {
        let problem = if ip.is_unspecified() {
            "unspecified"
        } else if ip.is_multicast() {
            "a multicast address"
        } else if ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
            "the broadcast address"
        } else {
            return Ok(ip);
        };
        Err(self.report(
            &value.span(),
            key,
            format!("{ip} cannot be {role}: it is {problem}"),
        ))
    }

    fn name(&mut self, value: &Spanned<String>, key: &str) -> Checked<String> {
        if value.get_ref().trim().is_empty() {
            Err(self.report(&value.span(), key, "must not be empty"))
        } else {
            Ok(value.get_ref().clone())
        }
    }

    fn speaker(&mut self, s: Option<&RawSpeaker>) -> (Checked<Speaker>, Defaults) {
        let Some(s) = s else {
            self.report_at(
                None,
                "speaker",
                "missing the [speaker] table (it sets at least asn and router_id)",
            );
            let defaults = Defaults {
                asn: None,
                hold_time: DEFAULT_HOLD_TIME,
                connect_retry: Duration::from_secs(DEFAULT_CONNECT_RETRY),
                connect_retry_max: Some(Duration::from_secs(DEFAULT_CONNECT_RETRY_MAX)),
                listens: None,
            };
            return (Err(Reported), defaults);
        };
        // Not `Spanned` in the raw struct: toml gives no span to a table made
        // of dotted keys (`speaker.asn = 1`), and `Spanned` would refuse it.
        let table = KeyIndex::build(self.source.text).start_of("speaker");
        let asn = self.required(&s.asn, table, "speaker", "asn", |v, n| {
            v.asn(n, "speaker.asn")
        });
        let router_id = self.required(&s.router_id, table, "speaker", "router_id", |v, r| {
            v.router_id(r)
        });
        let listen = self.optional(&s.listen, |v, l| v.listen(l));
        let hold_time = self
            .optional(&s.hold_time, |v, h| v.hold_time(h, "speaker.hold_time"))
            .map(|h| h.unwrap_or(DEFAULT_HOLD_TIME));
        let connect_retry = self
            .optional(&s.connect_retry, |v, c| {
                v.seconds(c, "speaker.connect_retry")
            })
            .map(|c| c.unwrap_or(Duration::from_secs(DEFAULT_CONNECT_RETRY)));
        let mut connect_retry_max = self
            .optional(&s.connect_retry_max, |v, c| {
                v.seconds(c, "speaker.connect_retry_max")
            })
            .map(|c| c.unwrap_or(Duration::from_secs(DEFAULT_CONNECT_RETRY_MAX)));
        if let (Ok(initial), Ok(max)) = (&connect_retry, &connect_retry_max)
            && initial > max
        {
            // Report on whichever key the user wrote; max if both.
            let (at, key) = match (&s.connect_retry_max, &s.connect_retry) {
                (Some(m), _) => (Some(m.span().start), "speaker.connect_retry_max"),
                (None, Some(c)) => (Some(c.span().start), "speaker.connect_retry"),
                (None, None) => (table, "speaker"),
            };
            connect_retry_max = Err(self.report_at(
                at,
                key,
                format!(
                    "connect_retry_max ({}s) is less than connect_retry ({}s); \
                     the retry time starts at connect_retry and doubles up to connect_retry_max",
                    max.as_secs(),
                    initial.as_secs()
                ),
            ));
        }
        let graceful_restart_time = self.optional(&s.graceful_restart_time, |v, g| {
            // RFC 4724 3: the Restart Time field is 12 bits.
            let n = v.int(g, "speaker.graceful_restart_time", 1..=4095, " seconds")?;
            Ok(n as u16)
        });
        let startup_delay = self.optional(&s.startup_delay, |v, d| {
            v.duration(d, "speaker.startup_delay", Duration::ZERO)
        });
        let shutdown_drain = s.shutdown_drain.as_ref().is_some_and(|d| *d.get_ref());
        let control_socket = match &s.control_socket {
            None => Ok(Some(PathBuf::from(DEFAULT_CONTROL_SOCKET))),
            Some(value) => self.control_socket(value),
        };
        let metrics = self.optional(&s.metrics, |v, m| v.metrics(m));

        let defaults = Defaults {
            asn: asn.as_ref().ok().copied(),
            hold_time: *hold_time.as_ref().unwrap_or(&DEFAULT_HOLD_TIME),
            connect_retry: *connect_retry
                .as_ref()
                .unwrap_or(&Duration::from_secs(DEFAULT_CONNECT_RETRY)),
            connect_retry_max: connect_retry_max.as_ref().ok().copied(),
            listens: Some(s.listen.is_some()),
        };
        let speaker = (|| {
            Ok(Speaker {
                asn: asn?,
                router_id: router_id?,
                listen: listen?,
                hold_time: hold_time?,
                connect_retry: connect_retry?,
                connect_retry_max: connect_retry_max?,
                graceful_restart_time: graceful_restart_time?,
                startup_delay: startup_delay?,
                shutdown_drain,
                control_socket: control_socket?,
                metrics: metrics?,
            })
        })();
        (speaker, defaults)
    }

    fn router_id(&mut self, value: &Spanned<String>) -> Checked<Ipv4Addr> {
        let key = "speaker.router_id";
        let id: Ipv4Addr = self.parse(value, key, "an IPv4 address")?;
        let problem = if id.is_unspecified() {
            // RFC 6286 2.1: a non-zero 32-bit number.
            "the BGP Identifier must be non-zero (RFC 6286 2.1)"
        } else if id.is_multicast() {
            "it is a multicast address"
        } else if id.is_broadcast() {
            "it is the broadcast address"
        } else {
            return Ok(id);
        };
        Err(self.report(
            &value.span(),
            key,
            format!("{id} cannot be the router ID: {problem}"),
        ))
    }

    fn listen(&mut self, value: &Spanned<String>) -> Checked<SocketAddr> {
        let key = "speaker.listen";
        let text = value.get_ref();
        // A bare address is a convenience for "that address, port 179".
        let addr = match (text.parse::<SocketAddr>(), text.parse::<IpAddr>()) {
            (Ok(addr), _) => addr,
            (_, Ok(ip)) => SocketAddr::new(ip, BGP_PORT),
            _ => {
                return Err(self.report(
                    &value.span(),
                    key,
                    format!(
                        "{text:?} is not a listen address (expected ADDRESS:PORT such as \
                         \"0.0.0.0:179\" or \"[::]:179\")"
                    ),
                ));
            }
        };
        if addr.port() == 0 {
            return Err(self.report(&value.span(), key, "port 0 is not usable (1..=65535)"));
        }
        Ok(addr)
    }

    /// A path, `true` (the default path), or `false` or `""` (no socket).
    fn control_socket(&mut self, value: &Spanned<RawSwitchedPath>) -> Checked<Option<PathBuf>> {
        let path = match value.get_ref() {
            RawSwitchedPath::Switch(false) => return Ok(None),
            RawSwitchedPath::Switch(true) => return Ok(Some(DEFAULT_CONTROL_SOCKET.into())),
            RawSwitchedPath::Path(p) if p.is_empty() => return Ok(None),
            RawSwitchedPath::Path(p) => p,
        };
        let problem = if !path.starts_with('/') {
            "it must be an absolute path (vipd and the vipd commands may run in different \
             directories)"
        } else if path.len() > MAX_SOCKET_PATH {
            "a Unix socket path has at most 107 bytes"
        } else {
            return Ok(Some(PathBuf::from(path)));
        };
        Err(self.report(
            &value.span(),
            "speaker.control_socket",
            format!("{path:?} cannot be the control socket: {problem}"),
        ))
    }

    fn metrics(&mut self, value: &Spanned<String>) -> Checked<SocketAddr> {
        let key = "speaker.metrics";
        let text = value.get_ref();
        // A bare address is a convenience for "that address, port 9179".
        let addr = match (text.parse::<SocketAddr>(), text.parse::<IpAddr>()) {
            (Ok(addr), _) => addr,
            (_, Ok(ip)) => SocketAddr::new(ip, DEFAULT_METRICS_PORT),
            _ => {
                return Err(self.report(
                    &value.span(),
                    key,
                    format!(
                        "{text:?} is not a metrics address (expected ADDRESS:PORT such as \
                         \"127.0.0.1:9179\")"
                    ),
                ));
            }
        };
        if addr.port() == 0 {
            return Err(self.report(&value.span(), key, "port 0 is not usable (1..=65535)"));
        }
        Ok(addr)
    }

    fn peer(&mut self, i: usize, raw: &Spanned<RawPeer>, d: &Defaults) -> Checked<PeerConfig> {
        let table = Some(raw.span().start);
        let this = format!("peer[{i}]");
        let key = |k: &str| format!("peer[{i}].{k}");
        let p = raw.get_ref();

        let address = self.required(&p.address, table, &this, "address", |v, a| {
            let ip = v.parse(a, &key("address"), "an IP address")?;
            v.unicast(a, &key("address"), ip, "a peer address")
        });
        let remote_asn = self.required(&p.remote_asn, table, &this, "remote_asn", |v, n| {
            v.asn(n, &key("remote_asn"))
        });
        let local_asn = self
            .optional(&p.local_asn, |v, n| v.asn(n, &key("local_asn")))
            .and_then(|asn| asn.or(d.asn).ok_or(Reported));
        let local_address = self.optional(&p.local_address, |v, a| {
            let ip = v.parse(a, &key("local_address"), "an IP address")?;
            let ip = v.unicast(a, &key("local_address"), ip, "a local address")?;
            match &address {
                Ok(remote) if remote.is_ipv4() != ip.is_ipv4() => Err(v.report(
                    &a.span(),
                    &key("local_address"),
                    format!(
                        "{ip} is {} but the peer address {remote} is {}; \
                         both ends of a session must be the same family",
                        family(ip),
                        family(*remote)
                    ),
                )),
                _ => Ok(ip),
            }
        });
        let port = self
            .optional(&p.port, |v, n| v.port(n, &key("port")))
            .map(|n| n.unwrap_or(BGP_PORT));
        let hold_time = self
            .optional(&p.hold_time, |v, h| v.hold_time(h, &key("hold_time")))
            .map(|h| h.unwrap_or(d.hold_time));
        let passive = match &p.passive {
            Some(flag) if *flag.get_ref() && d.listens == Some(false) => Err(self.report(
                &flag.span(),
                &key("passive"),
                "passive = true but [speaker] listen is not set, so vipd would never accept \
                 this session and nobody would ever connect: set [speaker] listen \
                 (e.g. \"0.0.0.0:179\") or remove passive",
            )),
            Some(flag) => Ok(*flag.get_ref()),
            None => Ok(false),
        };
        let multihop = self.optional(&p.multihop, |v, n| {
            let ttl = v.int(n, &key("multihop"), 1..=255, "; 1 = directly connected")?;
            match (&remote_asn, &local_asn) {
                (Ok(remote), Ok(local)) if remote == local => Err(v.report(
                    &n.span(),
                    &key("multihop"),
                    format!(
                        "multihop applies to eBGP only; this peer is iBGP \
                         (remote_asn {remote} = local AS {local})"
                    ),
                )),
                _ => Ok(ttl as u8),
            }
        });
        let next_hop_ipv4 = self.optional(&p.next_hop_ipv4, |v, a| {
            let ip: Ipv4Addr = v.parse(a, &key("next_hop_ipv4"), "an IPv4 address")?;
            v.unicast(a, &key("next_hop_ipv4"), ip.into(), "a next hop")?;
            Ok(ip)
        });
        let next_hop_ipv6 = self.optional(&p.next_hop_ipv6, |v, a| {
            let ip: Ipv6Addr = v.parse(a, &key("next_hop_ipv6"), "an IPv6 address")?;
            v.unicast(a, &key("next_hop_ipv6"), ip.into(), "a next hop")?;
            Ok(ip)
        });
        let connect_retry = self.optional(&p.connect_retry, |v, c| {
            let retry = v.seconds(c, &key("connect_retry"))?;
            match d.connect_retry_max {
                Some(max) if retry > max => Err(v.report(
                    &c.span(),
                    &key("connect_retry"),
                    format!(
                        "{}s is more than [speaker] connect_retry_max ({}s)",
                        retry.as_secs(),
                        max.as_secs()
                    ),
                )),
                _ => Ok(retry),
            }
        });
        let name = self.optional(&p.name, |v, n| v.name(n, &key("name")));
        let description = p.description.as_ref().map(|d| d.get_ref().clone());
        let enabled = p.enabled.as_ref().is_none_or(|e| *e.get_ref());
        let bfd = self.bfd(i, p, &multihop);
        let password = self.optional(&p.password, |v, pw| {
            let len = pw.get_ref().len();
            if (1..=crate::bgp::sockopt::MD5_MAX_KEY_LEN).contains(&len) {
                Ok(pw.get_ref().clone())
            } else {
                Err(v.report(
                    &pw.span(),
                    &key("password"),
                    format!("a TCP-MD5 key is 1 to 80 bytes long, this one is {len}"),
                ))
            }
        });
        let ttl_security = p.ttl_security.as_ref().is_some_and(|t| *t.get_ref());
        let tcp_ao = self.tcp_ao(i, raw);
        let max_prefixes = self
            .optional(&p.max_prefixes, |v, n| {
                Ok(v.int(
                    n,
                    &key("max_prefixes"),
                    0..=u32::MAX as i64,
                    "; 0 = no limit",
                )? as u32)
            })
            .map(|n| match n {
                Some(0) => None,
                Some(n) => Some(n),
                None => Some(super::DEFAULT_MAX_PREFIXES),
            });
        let max_prefixes_restart = self
            .optional(&p.max_prefixes_restart, |v, d| {
                v.duration(d, &key("max_prefixes_restart"), Duration::from_secs(1))
            })
            .map(|d| d.unwrap_or(super::DEFAULT_MAX_PREFIXES_RESTART));
        let send_hold_time = self.optional(&p.send_hold_time, |v, d| {
            v.duration(d, &key("send_hold_time"), Duration::from_secs(1))
        });

        let address = address?;
        Ok(PeerConfig {
            name: name?.unwrap_or_else(|| address.to_string()),
            description,
            address,
            remote_asn: remote_asn?,
            local_asn: local_asn?,
            local_address: local_address?,
            port: port?,
            hold_time: hold_time?,
            passive: passive?,
            multihop: multihop?,
            next_hop_ipv4: next_hop_ipv4?,
            next_hop_ipv6: next_hop_ipv6?,
            connect_retry: connect_retry?.unwrap_or(d.connect_retry),
            connect_retry_max: d.connect_retry_max.ok_or(Reported)?,
            enabled,
            bfd: bfd?,
            password: password?,
            ttl_security,
            tcp_ao: tcp_ao?,
            max_prefixes: max_prefixes?,
            max_prefixes_restart: max_prefixes_restart?,
            send_hold_time: send_hold_time?,
        })
    }

    /// `bfd`, `bfd_min_interval`, `bfd_multiplier`: the timers are checked
    /// even when `bfd = false`, so turning BFD on later cannot reveal a typo.
    fn bfd(
        &mut self,
        i: usize,
        p: &RawPeer,
        multihop: &Checked<Option<u8>>,
    ) -> Checked<Option<BfdConfig>> {
        let key = |k: &str| format!("peer[{i}].{k}");
        let min_interval = self
            .optional(&p.bfd_min_interval, |v, d| {
                let interval = v.duration(d, &key("bfd_min_interval"), MIN_BFD_INTERVAL)?;
                if interval > MAX_BFD_INTERVAL {
                    return Err(v.report(
                        &d.span(),
                        &key("bfd_min_interval"),
                        format!(
                            "{} is too long for BFD (at most {})",
                            show(interval),
                            show(MAX_BFD_INTERVAL)
                        ),
                    ));
                }
                Ok(interval)
            })
            .map(|d| d.unwrap_or(DEFAULT_BFD_MIN_INTERVAL));
        // RFC 5880 4.1: Detect Mult is one octet and never zero.
        let multiplier = self
            .optional(&p.bfd_multiplier, |v, n| {
                Ok(v.int(n, &key("bfd_multiplier"), 1..=255, "")? as u8)
            })
            .map(|m| m.unwrap_or(DEFAULT_BFD_MULTIPLIER));
        let Some(flag) = p.bfd.as_ref().filter(|f| *f.get_ref()) else {
            min_interval?;
            multiplier?;
            return Ok(None);
        };
        if let Ok(Some(ttl)) = multihop
            && *ttl > 1
        {
            return Err(self.report(
                &flag.span(),
                &key("bfd"),
                format!(
                    "BFD here is single-hop (RFC 5881) but this peer is multihop = {ttl}; \
                     multihop BFD (RFC 5883) is not supported"
                ),
            ));
        }
        Ok(Some(BfdConfig {
            min_interval: min_interval?,
            multiplier: multiplier?,
        }))
    }

    /// Two `[[peer]]`s with the same address and port would fight over one session.
    /// Judged on those two keys alone, so a mistake elsewhere does not hide it.
    fn duplicate_peers(&mut self, raw: &[Spanned<RawPeer>]) {
        let mut seen: HashMap<SocketAddr, (usize, usize)> = HashMap::new();
        for (i, raw) in raw.iter().enumerate() {
            let p = raw.get_ref();
            let Some(address) = &p.address else { continue };
            let Ok(ip) = address.get_ref().parse::<IpAddr>() else {
                continue;
            };
            let port = match &p.port {
                None => BGP_PORT,
                Some(port) => match u16::try_from(*port.get_ref()) {
                    Ok(port) => port,
                    Err(_) => continue,
                },
            };
            let remote = SocketAddr::new(ip, port);
            match seen.get(&remote) {
                Some(&(first, first_line)) => {
                    self.report(
                        &address.span(),
                        &format!("peer[{i}].address"),
                        format!(
                            "duplicate peer {ip} port {port}: already peer[{first}] (line {first_line})"
                        ),
                    );
                }
                None => {
                    let line = self.source.location(address.span().start).line;
                    seen.insert(remote, (i, line));
                }
            }
        }
    }

    fn vip(
        &mut self,
        i: usize,
        raw: &Spanned<RawVip>,
        check_names: &HashSet<&str>,
    ) -> Checked<VipConfig> {
        let table = Some(raw.span().start);
        let this = format!("vip[{i}]");
        let key = |k: &str| format!("vip[{i}].{k}");
        let p = raw.get_ref();

        let prefix = self.required(&p.prefix, table, &this, "prefix", |v, s| {
            v.prefix(s, &key("prefix"))
        });
        let communities = self.each(&p.communities, &key("communities"), |v, c, k| {
            c.get_ref()
                .parse()
                .map_err(|e| v.report(&c.span(), k, format!("{e}")))
        });
        let large_communities = self.each(
            &p.large_communities,
            &key("large_communities"),
            |v, c, k| {
                c.get_ref()
                    .parse()
                    .map_err(|e| v.report(&c.span(), k, format!("{e}")))
            },
        );
        let med = self.optional(&p.med, |v, n| {
            Ok(v.int(n, &key("med"), 0..=u32::MAX.into(), "")? as u32)
        });
        let local_pref = self.optional(&p.local_pref, |v, n| {
            Ok(v.int(n, &key("local_pref"), 0..=u32::MAX.into(), "")? as u32)
        });
        let as_path_prepend = self
            .optional(&p.as_path_prepend, |v, n| {
                Ok(v.int(n, &key("as_path_prepend"), 0..=MAX_PREPEND, "")? as u8)
            })
            .map(Option::unwrap_or_default);
        let mut first_index: HashMap<String, usize> = HashMap::new();
        let mut index = 0;
        let checks = self.each(&p.checks, &key("checks"), |v, c, k| -> Checked<String> {
            let (name, this) = (c.get_ref(), index);
            index += 1;
            if !check_names.contains(name.as_str()) {
                return Err(v.report(
                    &c.span(),
                    k,
                    format!("unknown check {name:?} (no [check.{name}] table)"),
                ));
            }
            if let Some(first) = first_index.get(name) {
                return Err(v.report(
                    &c.span(),
                    k,
                    format!("{name:?} is listed twice (already checks[{first}])"),
                ));
            }
            first_index.insert(name.clone(), this);
            Ok(name.clone())
        });
        let check_policy = self
            .optional(&p.check_policy, |v, s| match s.get_ref().as_str() {
                "all" => Ok(CheckPolicy::All),
                "any" => Ok(CheckPolicy::Any),
                other => Err(v.report(
                    &s.span(),
                    &key("check_policy"),
                    format!("{other:?} is not a check policy (expected \"all\" or \"any\")"),
                )),
            })
            .map(|p| p.unwrap_or(CheckPolicy::All));
        let hold_down = self.optional(&p.hold_down, |v, d| {
            v.duration(d, &key("hold_down"), Duration::from_nanos(1))
        });
        let drain_time = self
            .optional(&p.drain_time, |v, d| {
                v.duration(d, &key("drain_time"), Duration::ZERO)
            })
            .map(|d| d.unwrap_or(DEFAULT_DRAIN_TIME));
        let drain_med = self.optional(&p.drain_med, |v, n| {
            Ok(v.int(n, &key("drain_med"), 0..=u32::MAX.into(), "")? as u32)
        });
        let drain_prepend = self
            .optional(&p.drain_prepend, |v, n| {
                Ok(v.int(n, &key("drain_prepend"), 0..=MAX_PREPEND, "")? as u8)
            })
            .map(Option::unwrap_or_default);
        let name = self.optional(&p.name, |v, n| v.name(n, &key("name")));
        let interface = self.optional(&p.interface, |v, n| {
            let name = n.get_ref();
            // Linux IFNAMSIZ: at most 15 bytes, no '/', no whitespace.
            let valid = !name.is_empty()
                && name.len() <= 15
                && !name.contains(['/', ':'])
                && !name.chars().any(char::is_whitespace);
            if valid {
                Ok(name.clone())
            } else {
                Err(v.report(
                    &n.span(),
                    &key("interface"),
                    format!(
                        "{name:?} is not an interface name (1 to 15 bytes, no '/', ':' or spaces)"
                    ),
                ))
            }
        });

        let count = match (&p.count, &prefix) {
            (None, _) => Ok(1),
            (Some(n), prefix) => {
                let count = self.int(n, &key("count"), 1..=MAX_VIP_COUNT, "")?;
                match prefix {
                    Ok(prefix) => block_fits(*prefix, count)
                        .map_err(|message| self.report(&n.span(), &key("count"), message)),
                    Err(_) => Ok(count as u32),
                }
            }
        };
        if let (Some(n), Ok(c)) = (&p.count, &count)
            && *c > 1
        {
            // Each of these is about one address; a block would need one
            // per VIP (not supported yet).
            for (set, what) in [
                (p.interface.is_some(), "interface"),
                (p.ospf.as_ref().is_some_and(|o| *o.get_ref()), "ospf"),
            ] {
                if set {
                    self.report(
                        &n.span(),
                        &key("count"),
                        format!("count > 1 cannot be combined with `{what}`"),
                    );
                }
            }
        }

        let prefix = prefix?;
        Ok(VipConfig {
            name: name?.unwrap_or_else(|| prefix.to_string()),
            prefix,
            count: count?,
            communities: communities?,
            large_communities: large_communities?,
            med: med?,
            local_pref: local_pref?,
            as_path_prepend: as_path_prepend?,
            checks: checks?,
            check_policy: check_policy?,
            hold_down: hold_down?,
            drain_time: drain_time?,
            drain_med: drain_med?,
            drain_prepend: drain_prepend?,
            interface: interface?,
            ospf: p.ospf.as_ref().is_some_and(|o| *o.get_ref()),
            ospf_cost: p
                .ospf_cost
                .as_ref()
                .and_then(|c| u32::try_from(*c.get_ref()).ok()),
        })
    }

    fn prefix(&mut self, value: &Spanned<String>, key: &str) -> Checked<IpNet> {
        parse_prefix(value.get_ref()).map_err(|message| self.report(&value.span(), key, message))
    }

    /// The same prefix twice is a copy-paste mistake; judged on `prefix`
    /// alone, or on the range of a `count` block.
    fn duplicate_vips(&mut self, raw: &[Spanned<RawVip>]) {
        let mut seen: HashMap<IpNet, (usize, usize)> = HashMap::new();
        // Blocks (count > 1) as (first, last, index, line), checked apart so
        // that single VIPs stay a hash lookup.
        let mut blocks: Vec<(u128, u128, bool, usize, usize)> = Vec::new();
        let mut singles: Vec<(u128, bool, usize, &Spanned<String>, IpNet)> = Vec::new();
        for (i, raw) in raw.iter().enumerate() {
            let Some(text) = &raw.get_ref().prefix else {
                continue;
            };
            let Ok(prefix) = parse_prefix(text.get_ref()) else {
                continue;
            };
            let count = raw.get_ref().count.as_ref().map_or(1, |c| *c.get_ref());
            if count > 1 {
                let Ok(n) = block_fits(prefix, count) else {
                    continue;
                };
                let (first, v4) = host_number(prefix);
                let last = first + u128::from(n) - 1;
                let line = self.source.location(text.span().start).line;
                if let Some(&(_, _, _, other, other_line)) = blocks
                    .iter()
                    .find(|(f, l, fam, _, _)| *fam == v4 && *f <= last && first <= *l)
                {
                    self.report(
                        &text.span(),
                        &format!("vip[{i}].prefix"),
                        format!(
                            "this block overlaps the block of vip[{other}] (line {other_line})"
                        ),
                    );
                    continue;
                }
                blocks.push((first, last, v4, i, line));
                continue;
            }
            let (n, v4) = host_number(prefix);
            singles.push((n, v4, i, text, prefix));
            match seen.get(&prefix) {
                Some(&(first, first_start)) => {
                    // Lines are counted only for an error: counting them for
                    // every VIP made a large file quadratic.
                    let first_line = self.source.location(first_start).line;
                    self.report(
                        &text.span(),
                        &format!("vip[{i}].prefix"),
                        format!(
                            "duplicate prefix {prefix}: already vip[{first}] (line {first_line})"
                        ),
                    );
                }
                None => {
                    seen.insert(prefix, (i, text.span().start));
                }
            }
        }
        if blocks.is_empty() {
            return;
        }
        for (n, v4, i, text, prefix) in singles {
            if let Some(&(_, _, _, block, line)) = blocks
                .iter()
                .find(|(f, l, fam, _, _)| *fam == v4 && *f <= n && n <= *l)
            {
                self.report(
                    &text.span(),
                    &format!("vip[{i}].prefix"),
                    format!(
                        "duplicate prefix {prefix}: inside the block of vip[{block}] (line {line})"
                    ),
                );
            }
        }
    }
}

/// A `count` block must be host prefixes and fit in its address family.
fn block_fits(first: IpNet, count: i64) -> Result<u32, String> {
    let count = u32::try_from(count).map_err(|_| format!("{count} is not a count"))?;
    if count > 1 && first.prefix_len() != first.max_prefix_len() {
        return Err(format!(
            "count > 1 needs a host prefix (/{}), not {first}",
            first.max_prefix_len()
        ));
    }
    if crate::vip::nth_host(first, count - 1).is_none() {
        return Err(format!(
            "{count} prefixes from {first} run past the end of the address family"
        ));
    }
    Ok(count)
}

/// A host prefix as a number, and whether it is IPv4.
fn host_number(prefix: IpNet) -> (u128, bool) {
    match prefix {
        IpNet::V4(n) => (u128::from(u32::from(n.addr())), true),
        IpNet::V6(n) => (u128::from(n.addr()), false),
    }
}

/// A prefix with zero host bits; a bare address is a convenience for the host
/// route /32 or /128.
fn parse_prefix(text: &str) -> Result<IpNet, String> {
    let prefix = match (text.parse::<IpNet>(), text.parse::<IpAddr>()) {
        (Ok(net), _) => net,
        (_, Ok(ip)) => IpNet::from(ip),
        _ => return Err(format!("{text:?} is not an IP prefix")),
    };
    if prefix.trunc() != prefix {
        return Err(format!(
            "{text:?} has host bits set; did you mean \"{}\"?",
            prefix.trunc()
        ));
    }
    Ok(prefix)
}

/// A duration as the file would write it: "500ms", "2s", "1m 30s".
fn show(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

#[cfg(test)]
mod count_tests {
    const HEAD: &str = "[speaker]\nasn = 65001\nrouter_id = \"10.255.1.2\"\n";

    fn load(vips: &str) -> Result<crate::config::Config, String> {
        crate::config::parse(&format!("{HEAD}{vips}"), "vipd.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn a_count_block_stays_one_entry_and_covers_its_prefixes() {
        let c = load("[[vip]]\nprefix = \"198.18.0.254/32\"\ncount = 3\n").unwrap();
        assert_eq!(c.vips.len(), 1);
        let v = &c.vips[0];
        assert_eq!(v.count, 3);
        let all: Vec<String> = v.prefixes().map(|p| p.to_string()).collect();
        assert_eq!(all, ["198.18.0.254/32", "198.18.0.255/32", "198.18.1.0/32"]);
        assert!(v.covers("198.18.1.0/32".parse().unwrap()));
        assert!(!v.covers("198.18.1.1/32".parse().unwrap()));
        assert!(!v.covers("198.18.0.253/32".parse().unwrap()));
        // Without count: one VIP, as before.
        let c = load("[[vip]]\nprefix = \"2001:db8::1\"\n").unwrap();
        assert_eq!(c.vips[0].count, 1);
    }

    #[test]
    fn count_is_refused_when_it_does_not_make_a_block_of_host_prefixes() {
        for (vips, expected) in [
            (
                "prefix = \"198.18.0.0/32\"\ncount = 0",
                "vip[0].count: 0 is out of range",
            ),
            (
                "prefix = \"198.18.0.0/32\"\ncount = 4194305",
                "vip[0].count: 4194305 is out of range",
            ),
            (
                "prefix = \"198.18.0.0/24\"\ncount = 2",
                "count > 1 needs a host prefix (/32)",
            ),
            (
                "prefix = \"255.255.255.254/32\"\ncount = 3",
                "3 prefixes from 255.255.255.254/32 run past the end of the address family",
            ),
            (
                "prefix = \"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\"\ncount = 2",
                "run past the end of the address family",
            ),
            (
                "prefix = \"198.18.0.0/32\"\ncount = 2\ninterface = \"lo\"",
                "`interface`",
            ),
            ("prefix = \"198.18.0.0/32\"\ncount = \"2\"", "vip[0].count"),
        ] {
            let err = load(&format!("[[vip]]\n{vips}\n")).unwrap_err();
            assert!(err.contains(expected), "{vips}: {err}");
        }
        // A single host prefix at the very end is fine.
        load("[[vip]]\nprefix = \"255.255.255.255/32\"\ncount = 1\n").unwrap();
    }

    #[test]
    fn blocks_must_not_overlap_each_other_or_single_vips() {
        let err = load(
            "[[vip]]\nprefix = \"198.18.0.0/32\"\ncount = 10\n\
             [[vip]]\nprefix = \"198.18.0.9/32\"\ncount = 5\n",
        )
        .unwrap_err();
        assert!(err.contains("overlaps the block of vip[0]"), "{err}");
        let err = load(
            "[[vip]]\nprefix = \"198.18.0.0/32\"\ncount = 10\n\
             [[vip]]\nprefix = \"198.18.0.5/32\"\n",
        )
        .unwrap_err();
        assert!(err.contains("inside the block of vip[0]"), "{err}");
        // Adjacent blocks, and the other family, are fine.
        load(
            "[[vip]]\nprefix = \"198.18.0.0/32\"\ncount = 10\n\
             [[vip]]\nprefix = \"198.18.0.10/32\"\ncount = 10\n\
             [[vip]]\nprefix = \"::c612:0/128\"\ncount = 10\n",
        )
        .unwrap();
    }
}
