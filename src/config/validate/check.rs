//! `[check.NAME]` tables: the keys every kind shares, then the keys of its kind.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use toml::Spanned;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use super::super::check::{DNS_QTYPES, DNS_RCODES, MIN_FAST_INTERVAL};
use super::super::locate::KeyIndex;
use super::super::raw::{RawCheck, RawCommand, RawStatus};
use super::super::{
    CheckConfig, CheckKind, DnsCheck, Endpoint, ExecCheck, FileCheck, FileState, GrpcCheck,
    HttpCheck, InterfaceCheck, LeaseCheck, LinkRequirement, MIN_LEASE_TTL, OnFail, ProcessCheck,
    TcpCheck,
};
use super::{Checked, Reported, Validator, show};

const KINDS: &str = "tcp, http, https, exec, file, process, dns, grpc, lease, interface";
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
const DEFAULT_RISE: u32 = 2;
const DEFAULT_FALL: u32 = 2;
/// A link that went down carries no traffic: one observation is enough.
const DEFAULT_INTERFACE_FALL: u32 = 1;
const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(5);
const DNS_PORT: u16 = 53;
/// Why a lease takes none of the probe timing keys.
const LEASE_TIMING: &str =
    "not a key of kind \"lease\": a lease is up from each renewal until ttl after it";
/// More consecutive results than this is a typo: at 1s it is over a quarter of an hour.
const MAX_RISE_FALL: i64 = 1000;

/// The kinds, as named by `kind`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Http,
    Https,
    Exec,
    File,
    Process,
    Dns,
    Grpc,
    Lease,
    Interface,
}

impl Kind {
    fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "tcp" => Kind::Tcp,
            "http" => Kind::Http,
            "https" => Kind::Https,
            "exec" => Kind::Exec,
            "file" => Kind::File,
            "process" => Kind::Process,
            "dns" => Kind::Dns,
            "grpc" => Kind::Grpc,
            "lease" => Kind::Lease,
            "interface" => Kind::Interface,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Http => "http",
            Kind::Https => "https",
            Kind::Exec => "exec",
            Kind::File => "file",
            Kind::Process => "process",
            Kind::Dns => "dns",
            Kind::Grpc => "grpc",
            Kind::Lease => "lease",
            Kind::Interface => "interface",
        }
    }

    /// The keys of this kind besides the common ones.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Tcp => &["address", "watch"],
            Kind::Http => &["url", "expect_status", "expect_body", "host", "watch"],
            Kind::Https => &[
                "url",
                "expect_status",
                "expect_body",
                "host",
                "watch",
                "tls_verify",
            ],
            Kind::Exec => &["command", "shell"],
            Kind::File => &["path", "healthy_when"],
            Kind::Process => &["pidfile"],
            Kind::Dns => &["server", "name", "qtype", "expect_rcode", "expect_answer"],
            Kind::Grpc => &["address", "service", "tls", "tls_verify"],
            Kind::Lease => &["ttl", "http"],
            Kind::Interface => &["name", "require"],
        }
    }
}

/// Where each kind-specific key of `c` is, if it is present.
fn kind_specific_keys(c: &RawCheck) -> [(&'static str, Option<Range<usize>>); 22] {
    [
        ("address", c.address.as_ref().map(Spanned::span)),
        ("watch", c.watch.as_ref().map(Spanned::span)),
        ("url", c.url.as_ref().map(Spanned::span)),
        ("expect_status", c.expect_status.as_ref().map(Spanned::span)),
        ("expect_body", c.expect_body.as_ref().map(Spanned::span)),
        ("host", c.host.as_ref().map(Spanned::span)),
        ("tls_verify", c.tls_verify.as_ref().map(Spanned::span)),
        ("command", c.command.as_ref().map(Spanned::span)),
        ("shell", c.shell.as_ref().map(Spanned::span)),
        ("path", c.path.as_ref().map(Spanned::span)),
        ("healthy_when", c.healthy_when.as_ref().map(Spanned::span)),
        ("pidfile", c.pidfile.as_ref().map(Spanned::span)),
        ("server", c.server.as_ref().map(Spanned::span)),
        ("name", c.name.as_ref().map(Spanned::span)),
        ("qtype", c.qtype.as_ref().map(Spanned::span)),
        ("expect_rcode", c.expect_rcode.as_ref().map(Spanned::span)),
        ("expect_answer", c.expect_answer.as_ref().map(Spanned::span)),
        ("service", c.service.as_ref().map(Spanned::span)),
        ("tls", c.tls.as_ref().map(Spanned::span)),
        ("ttl", c.ttl.as_ref().map(Spanned::span)),
        ("http", c.http.as_ref().map(Spanned::span)),
        ("require", c.require.as_ref().map(Spanned::span)),
    ]
}

/// The timing keys every kind but lease shares.
struct Timing {
    interval: Duration,
    timeout: Duration,
    fast_interval: Option<Duration>,
    rise: u32,
    fall: u32,
}

impl Validator<'_> {
    pub(super) fn checks(
        &mut self,
        raw: &BTreeMap<String, RawCheck>,
    ) -> Checked<BTreeMap<String, CheckConfig>> {
        if raw.is_empty() {
            return Ok(BTreeMap::new());
        }
        let index = KeyIndex::build(self.source.text);
        let checked: Vec<Checked<(String, CheckConfig)>> = raw
            .iter()
            .map(|(name, c)| {
                let check = self.check(name, c, index.start_of(&format!("check.{name}")))?;
                Ok((name.clone(), check))
            })
            .collect();
        checked.into_iter().collect()
    }

    fn check(&mut self, name: &str, c: &RawCheck, table: Option<usize>) -> Checked<CheckConfig> {
        let this = format!("check.{name}");
        let key = |k: &str| format!("check.{name}.{k}");

        let usable_name = if !name.is_empty()
            && name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
        {
            Ok(())
        } else {
            Err(self.report_at(
                table,
                &this,
                format!(
                    "{name:?} is not a usable check name (use letters, digits, '-', '_' and '.')"
                ),
            ))
        };

        let kind = self.required(&c.kind, table, &this, "kind", |v, k| {
            Kind::parse(k.get_ref()).ok_or_else(|| {
                v.report(
                    &k.span(),
                    &key("kind"),
                    format!("unknown kind {:?} (expected one of {KINDS})", k.get_ref()),
                )
            })
        });

        // Common keys. A lease is not probed: it is up from each renewal
        // until ttl after it, so the probe timing keys do not apply.
        let raw_kind = c.kind.as_ref().map(|k| k.get_ref().as_str());
        let timing = if raw_kind == Some("lease") {
            self.lease_timing(c, &key)
        } else {
            let default_fall = match raw_kind {
                Some("interface") => DEFAULT_INTERFACE_FALL,
                _ => DEFAULT_FALL,
            };
            self.timing(c, &key, table, &this, default_fall)
        };
        let on_fail = self.optional(&c.on_fail, |v, s| match s.get_ref().as_str() {
            "withdraw" => Ok(OnFail::Withdraw),
            "drain" => Ok(OnFail::Drain),
            other => Err(v.report(
                &s.span(),
                &key("on_fail"),
                format!("{other:?} is not an action (expected \"withdraw\" or \"drain\")"),
            )),
        });

        // The keys of the kind; without a known kind, nothing more can be judged.
        let kind = kind?;
        let mut misplaced = Ok(());
        for (k, span) in kind_specific_keys(c) {
            if let Some(span) = span
                && !kind.keys().contains(&k)
            {
                misplaced = Err(self.report(
                    &span,
                    &key(k),
                    format!("not a key of kind {:?}", kind.name()),
                ));
            }
        }
        let missing = |v: &mut Self, required: &str| {
            v.report_at(
                table,
                &key(required),
                format!("required for kind {:?}", kind.name()),
            )
        };
        let typed = match kind {
            Kind::Tcp => self.tcp(c, &key, missing),
            Kind::Http | Kind::Https => self.http(c, kind, &key, missing),
            Kind::Exec => self.exec(c, &key, missing),
            Kind::File => self.file(c, &key, missing),
            Kind::Process => self.process(c, &key, missing),
            Kind::Dns => self.dns(c, &key, missing),
            Kind::Grpc => self.grpc(c, &key, missing),
            Kind::Lease => self.lease(c, &key),
            Kind::Interface => self.interface(c, &key, missing),
        };
        let default_on_fail = match kind {
            // A maintenance flag is planned: let traffic move away gently.
            Kind::File => OnFail::Drain,
            _ => OnFail::Withdraw,
        };

        usable_name?;
        misplaced?;
        let timing = timing?;
        Ok(CheckConfig {
            name: name.to_string(),
            kind: typed?,
            interval: timing.interval,
            timeout: timing.timeout,
            rise: timing.rise,
            fall: timing.fall,
            fast_interval: timing.fast_interval,
            on_fail: on_fail?.unwrap_or(default_on_fail),
        })
    }

    /// interval, timeout, fast_interval, rise and fall, with their defaults.
    fn timing(
        &mut self,
        c: &RawCheck,
        key: &dyn Fn(&str) -> String,
        table: Option<usize>,
        this: &str,
        default_fall: u32,
    ) -> Checked<Timing> {
        let interval = self
            .optional(&c.interval, |v, d| {
                v.duration(d, &key("interval"), MIN_FAST_INTERVAL)
            })
            .map(|d| d.unwrap_or(DEFAULT_INTERVAL));
        let mut timeout = self
            .optional(&c.timeout, |v, d| {
                v.duration(d, &key("timeout"), Duration::from_nanos(1))
            })
            .map(|d| d.unwrap_or(DEFAULT_TIMEOUT));
        if let (Ok(i), Ok(t)) = (&interval, &timeout)
            && t >= i
        {
            // A probe must end before the next one is due. Report on the key
            // the user wrote; timeout if both.
            let (i, t) = (show(*i), show(*t));
            let (at, k, message) = match (&c.timeout, &c.interval) {
                (Some(ts), _) => (
                    Some(ts.span().start),
                    key("timeout"),
                    format!("{t} must be below interval ({i})"),
                ),
                (None, Some(is)) => (
                    Some(is.span().start),
                    key("interval"),
                    format!("{i} must be above timeout ({t} by default); set a shorter timeout"),
                ),
                (None, None) => (
                    table,
                    this.to_string(),
                    "internal error: bad defaults".into(),
                ),
            };
            timeout = Err(self.report_at(at, &k, message));
        }
        let fast_interval = self.optional(&c.fast_interval, |v, d| {
            let fast = v.duration(d, &key("fast_interval"), MIN_FAST_INTERVAL)?;
            match &interval {
                Ok(i) if fast > *i => Err(v.report(
                    &d.span(),
                    &key("fast_interval"),
                    format!("{} must not be above interval ({})", show(fast), show(*i)),
                )),
                _ => Ok(fast),
            }
        });
        let rise = self
            .optional(&c.rise, |v, n| {
                Ok(v.int(n, &key("rise"), 1..=MAX_RISE_FALL, "")? as u32)
            })
            .map(|n| n.unwrap_or(DEFAULT_RISE));
        let fall = self
            .optional(&c.fall, |v, n| {
                Ok(v.int(n, &key("fall"), 1..=MAX_RISE_FALL, "")? as u32)
            })
            .map(|n| n.unwrap_or(default_fall));
        Ok(Timing {
            interval: interval?,
            timeout: timeout?,
            fast_interval: fast_interval?,
            rise: rise?,
            fall: fall?,
        })
    }

    /// A lease refuses the timing keys; its transitions bypass rise/fall,
    /// which the tracker sees as a rise and fall of 1.
    fn lease_timing(&mut self, c: &RawCheck, key: &dyn Fn(&str) -> String) -> Checked<Timing> {
        let mut refused = Ok(());
        for (k, span) in [
            ("interval", c.interval.as_ref().map(Spanned::span)),
            ("timeout", c.timeout.as_ref().map(Spanned::span)),
            ("fast_interval", c.fast_interval.as_ref().map(Spanned::span)),
            ("rise", c.rise.as_ref().map(Spanned::span)),
            ("fall", c.fall.as_ref().map(Spanned::span)),
        ] {
            if let Some(span) = span {
                refused = Err(self.report(&span, &key(k), LEASE_TIMING));
            }
        }
        refused?;
        Ok(Timing {
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            fast_interval: None,
            rise: 1,
            fall: 1,
        })
    }

    fn tcp(
        &mut self,
        c: &RawCheck,
        key: &dyn Fn(&str) -> String,
        missing: impl FnOnce(&mut Self, &str) -> Reported,
    ) -> Checked<CheckKind> {
        let Some(address) = &c.address else {
            return Err(missing(self, "address"));
        };
        let address = self.endpoint(address, &key("address"))?;
        let watch = c
            .watch
            .as_ref()
            .map_or_else(|| address.is_local(), |w| *w.get_ref());
        Ok(CheckKind::Tcp(TcpCheck { address, watch }))
    }

    /// `HOST:PORT`, where HOST is an IP address (IPv6 in brackets) or a DNS name.
    fn endpoint(&mut self, value: &Spanned<String>, key: &str) -> Checked<Endpoint> {
        self.endpoint_as(
            value,
            key,
            "is not HOST:PORT (e.g. \"127.0.0.1:8080\", \"[::1]:8080\" or \"db.internal:5432\")",
        )
    }

    /// [`Self::endpoint`], with `malformed` after the quoted value when it is
    /// not HOST:PORT.
    fn endpoint_as(
        &mut self,
        value: &Spanned<String>,
        key: &str,
        malformed: &str,
    ) -> Checked<Endpoint> {
        let text = value.get_ref();
        let endpoint = match text.parse::<SocketAddr>() {
            Ok(addr) => {
                self.unicast(value, key, addr.ip(), "a check address")?;
                Endpoint::Addr(addr)
            }
            Err(_) => match text.rsplit_once(':') {
                Some((host, port))
                    if is_dns_name(host)
                        && host.parse::<IpAddr>().is_err()
                        && port.parse::<u16>().is_ok() =>
                {
                    Endpoint::Name {
                        host: host.to_string(),
                        port: port.parse().unwrap_or_default(),
                    }
                }
                _ => {
                    return Err(self.report(&value.span(), key, format!("{text:?} {malformed}")));
                }
            },
        };
        let port = match &endpoint {
            Endpoint::Addr(addr) => addr.port(),
            Endpoint::Name { port, .. } => *port,
        };
        if port == 0 {
            return Err(self.report(&value.span(), key, "port 0 is not usable (1..=65535)"));
        }
        Ok(endpoint)
    }

    fn http(
        &mut self,
        c: &RawCheck,
        kind: Kind,
        key: &dyn Fn(&str) -> String,
        missing: impl FnOnce(&mut Self, &str) -> Reported,
    ) -> Checked<CheckKind> {
        let url = match &c.url {
            Some(u) => self.url(u, &key("url"), kind),
            None => Err(missing(self, "url")),
        };
        let expect_status = self
            .optional(&c.expect_status, |v, s| {
                let k = key("expect_status");
                let codes = match s.get_ref() {
                    RawStatus::One(code) => vec![*code],
                    RawStatus::List(codes) if codes.is_empty() => {
                        return Err(v.report(
                            &s.span(),
                            &k,
                            "must list at least one status code (leave it out for any 2xx)",
                        ));
                    }
                    RawStatus::List(codes) => codes.clone(),
                };
                let bad: Vec<String> = codes
                    .iter()
                    .filter(|c| !(100..=599).contains(*c))
                    .map(ToString::to_string)
                    .collect();
                if !bad.is_empty() {
                    return Err(v.report(
                        &s.span(),
                        &k,
                        format!("{} is not an HTTP status code (100..=599)", bad.join(", ")),
                    ));
                }
                Ok(codes.into_iter().map(|c| c as u16).collect())
            })
            .map(Option::unwrap_or_default);
        let expect_body = self.optional(&c.expect_body, |v, b| {
            if b.get_ref().is_empty() {
                Err(v.report(
                    &b.span(),
                    &key("expect_body"),
                    "must not be empty (leave it out to accept any body)",
                ))
            } else {
                Ok(b.get_ref().clone())
            }
        });
        let host = self.optional(&c.host, |v, h| {
            let text = h.get_ref();
            // Sent as a header: no spaces or control characters, which could
            // also smuggle a second header into the request.
            if !text.is_empty() && text.chars().all(|ch| ch.is_ascii_graphic()) {
                Ok(text.clone())
            } else {
                Err(v.report(
                    &h.span(),
                    &key("host"),
                    format!("{text:?} is not a host name for the Host header"),
                ))
            }
        });
        let tls_verify = c.tls_verify.as_ref().is_none_or(|t| *t.get_ref());

        let url: url::Url = url?;
        let mut check = HttpCheck {
            url,
            expect_status: expect_status?,
            expect_body: expect_body?,
            host: host?,
            tls_verify,
            watch: false,
        };
        check.watch = match &c.watch {
            Some(w) => *w.get_ref(),
            None => check.endpoint().is_some_and(|e| e.is_local()),
        };
        Ok(CheckKind::Http(check))
    }

    fn url(&mut self, value: &Spanned<String>, key: &str, kind: Kind) -> Checked<url::Url> {
        let text = value.get_ref();
        let message = match url::Url::parse(text) {
            Err(e) => format!("{text:?} is not a URL: {e}"),
            Ok(url) if url.scheme() != kind.name() => format!(
                "{text:?} is not an {}:// URL, as kind {:?} needs",
                kind.name(),
                kind.name()
            ),
            Ok(url) if url.host().is_none() => format!("{text:?} has no host"),
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                // It would be printed in logs and `vipd check` output.
                format!("{text:?} has credentials in it; checks do not support them")
            }
            Ok(url) => return Ok(url),
        };
        Err(self.report(&value.span(), key, message))
    }

    fn exec(
        &mut self,
        c: &RawCheck,
        key: &dyn Fn(&str) -> String,
        missing: impl FnOnce(&mut Self, &str) -> Reported,
    ) -> Checked<CheckKind> {
        let Some(command) = &c.command else {
            return Err(missing(self, "command"));
        };
        let shell = c.shell.as_ref().is_some_and(|s| *s.get_ref());
        let k = key("command");
        let argv = match (command.get_ref(), shell) {
            (RawCommand::Line(line), true) => vec![line.clone()],
            (RawCommand::Line(_), false) => {
                return Err(self.report(
                    &command.span(),
                    &k,
                    "a command string needs shell = true; without a shell, give the argv \
                     as an array, e.g. [\"/usr/local/bin/check\", \"--quiet\"]",
                ));
            }
            (RawCommand::Argv(argv), _) => argv.clone(),
        };
        if argv.first().is_none_or(|a| a.trim().is_empty()) {
            return Err(self.report(
                &command.span(),
                &k,
                "must name a program to run (the first element is empty or missing)",
            ));
        }
        let argv = if shell {
            // `sh -c SCRIPT [NAME ARGS...]`: further elements become $0, $1...
            ["sh", "-c"]
                .into_iter()
                .map(String::from)
                .chain(argv)
                .collect()
        } else {
            argv
        };
        Ok(CheckKind::Exec(ExecCheck { argv }))
    }

    fn file(
        &mut self,
        c: &RawCheck,
        key: &dyn Fn(&str) -> String,
        missing: impl FnOnce(&mut Self, &str) -> Reported,
    ) -> Checked<CheckKind> {
        let path = match &c.path {
            Some(p) => self.absolute_path(p, &key("path")),
            None => Err(missing(self, "path")),
        };
        let healthy_when = self
            .optional(&c.healthy_when, |v, s| match s.get_ref().as_str() {
                "absent" => Ok(FileState::Absent),
                "present" => Ok(FileState::Present),
                other => Err(v.report(
                    &s.span(),
                    &key("healthy_when"),
                    format!("{other:?} is not a file state (expected \"absent\" or \"present\")"),
                )),
            })
            .map(|s| s.unwrap_or(FileState::Absent));
        Ok(CheckKind::File(FileCheck {
            path: path?,
            healthy_when: healthy_when?,
        }))
    }

    fn process(
        &mut self,
        c: &RawCheck,
        key: &dyn Fn(&str) -> String,
        missing: impl FnOnce(&mut Self, &str) -> Reported,
    ) -> Checked<CheckKind> {
        let pidfile = match &c.pidfile {
            Some(p) => self.absolute_path(p, &key("pidfile"))?,
            None => return Err(missing(self, "pidfile")),
        };
        Ok(CheckKind::Process(ProcessCheck { pidfile }))
    }

    fn dns(
        &mut self,
        c: &RawCheck,
        key: &dyn Fn(&str) -> String,
        missing: impl Fn(&mut Self, &str) -> Reported,
    ) -> Checked<CheckKind> {
        let server = match &c.server {
            Some(s) => self.dns_server(s, &key("server")),
            None => Err(missing(self, "server")),
        };
        let name = match &c.name {
            Some(n) => self.dns_name(n, &key("name")),
            None => Err(missing(self, "name")),
        };
        let qtype = self
            .optional(&c.qtype, |v, t| {
                let text = t.get_ref().to_ascii_uppercase();
                match RecordType::from_str(&text) {
                    Ok(qtype) if DNS_QTYPES.contains(&text.as_str()) => Ok(qtype),
                    _ => Err(v.report(
                        &t.span(),
                        &key("qtype"),
                        format!(
                            "{:?} is not a query type vipd checks (expected one of {})",
                            t.get_ref(),
                            DNS_QTYPES.join(", ")
                        ),
                    )),
                }
            })
            .map(|t| t.unwrap_or(RecordType::A));
        let expect_rcode = self
            .optional(&c.expect_rcode, |v, r| {
                let text = r.get_ref().to_ascii_uppercase();
                match DNS_RCODES.iter().find(|(name, _)| *name == text) {
                    Some((_, code)) => Ok((*code).into()),
                    None => Err(v.report(
                        &r.span(),
                        &key("expect_rcode"),
                        format!(
                            "{:?} is not a response code (expected one of {})",
                            r.get_ref(),
                            DNS_RCODES
                                .iter()
                                .map(|(name, _)| *name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )),
                }
            })
            .map(|r| r.unwrap_or(ResponseCode::NoError));
        let expect_answer = self.optional(&c.expect_answer, |v, a| {
            if a.get_ref().is_empty() {
                return Err(v.report(
                    &a.span(),
                    &key("expect_answer"),
                    "must not be empty (leave it out to accept any answer)",
                ));
            }
            match &expect_rcode {
                // RFC 2308 2.1: a negative answer has an empty answer section
                // (a CNAME at most), so the check could never pass.
                Ok(rcode) if *rcode != ResponseCode::NoError => Err(v.report(
                    &a.span(),
                    &key("expect_answer"),
                    format!(
                        "needs expect_rcode = \"NOERROR\" (a {} answer has no records)",
                        super::super::rcode_name(*rcode)
                    ),
                )),
                _ => Ok(a.get_ref().clone()),
            }
        });
        Ok(CheckKind::Dns(DnsCheck {
            server: server?,
            name: name?,
            qtype: qtype?,
            expect_rcode: expect_rcode?,
            expect_answer: expect_answer?,
        }))
    }

    /// `HOST` or `HOST:PORT` (port 53 by default); a bare IPv6 address
    /// needs no brackets.
    fn dns_server(&mut self, value: &Spanned<String>, key: &str) -> Checked<Endpoint> {
        let text = value.get_ref();
        if let Ok(ip) = text.parse::<IpAddr>() {
            self.unicast(value, key, ip, "a check address")?;
            return Ok(Endpoint::Addr(SocketAddr::new(ip, DNS_PORT)));
        }
        if is_dns_name(text) {
            return Ok(Endpoint::Name {
                host: text.clone(),
                port: DNS_PORT,
            });
        }
        self.endpoint_as(
            value,
            key,
            "is not HOST or HOST:PORT (e.g. \"127.0.0.1\", \"[::1]:5353\" or \"ns1.internal\")",
        )
    }

    /// The queried name: any name the DNS can carry (underscores too, as
    /// in SRV names), taken as fully qualified.
    fn dns_name(&mut self, value: &Spanned<String>, key: &str) -> Checked<Name> {
        let text = value.get_ref();
        match Name::from_ascii(text) {
            Ok(mut name) if !text.is_empty() && !text.contains(char::is_whitespace) => {
                name.set_fqdn(true);
                Ok(name)
            }
            // hickory's reasons ("Malformed label: ") do not read well alone.
            _ => Err(self.report(
                &value.span(),
                key,
                format!(
                    "{text:?} is not a DNS name (dot-separated labels of 1 to 63 ASCII \
                     characters)"
                ),
            )),
        }
    }

    fn grpc(
        &mut self,
        c: &RawCheck,
        key: &dyn Fn(&str) -> String,
        missing: impl Fn(&mut Self, &str) -> Reported,
    ) -> Checked<CheckKind> {
        let address = match &c.address {
            Some(a) => self.endpoint(a, &key("address")),
            None => Err(missing(self, "address")),
        };
        let service = self
            .optional(&c.service, |v, s| {
                if s.get_ref().chars().any(char::is_control) {
                    Err(v.report(
                        &s.span(),
                        &key("service"),
                        format!("{:?} has control characters in it", s.get_ref()),
                    ))
                } else {
                    Ok(s.get_ref().clone())
                }
            })
            .map(Option::unwrap_or_default);
        let tls = c.tls.as_ref().is_some_and(|t| *t.get_ref());
        let tls_verify = match &c.tls_verify {
            Some(v) if !tls => Err(self.report(
                &v.span(),
                &key("tls_verify"),
                "only applies with tls = true",
            )),
            Some(v) => Ok(*v.get_ref()),
            None => Ok(true),
        };
        Ok(CheckKind::Grpc(GrpcCheck {
            address: address?,
            service: service?,
            tls,
            tls_verify: tls_verify?,
        }))
    }

    fn lease(&mut self, c: &RawCheck, key: &dyn Fn(&str) -> String) -> Checked<CheckKind> {
        let ttl = self
            .optional(&c.ttl, |v, d| v.duration(d, &key("ttl"), MIN_LEASE_TTL))
            .map(|d| d.unwrap_or(DEFAULT_LEASE_TTL));
        let http = self.optional(&c.http, |v, a| {
            let k = key("http");
            let text = a.get_ref();
            let Ok(addr) = text.parse::<SocketAddr>() else {
                return Err(v.report(
                    &a.span(),
                    &k,
                    format!(
                        "{text:?} is not an IP address and port (e.g. \"127.0.0.1:9411\" or \
                         \"[::1]:9411\")"
                    ),
                ));
            };
            if !addr.ip().is_loopback() {
                // Renewing needs no credentials: whoever reaches the
                // endpoint can keep the VIP announced.
                return Err(v.report(
                    &a.span(),
                    &k,
                    format!(
                        "{} is not a loopback address; anyone who can reach the endpoint \
                         can keep this check up",
                        addr.ip()
                    ),
                ));
            }
            if addr.port() == 0 {
                return Err(v.report(&a.span(), &k, "port 0 is not usable (1..=65535)"));
            }
            Ok(addr)
        });
        Ok(CheckKind::Lease(LeaseCheck {
            ttl: ttl?,
            http: http?,
        }))
    }

    fn interface(
        &mut self,
        c: &RawCheck,
        key: &dyn Fn(&str) -> String,
        missing: impl Fn(&mut Self, &str) -> Reported,
    ) -> Checked<CheckKind> {
        let name = match &c.name {
            Some(n) => {
                let text = n.get_ref();
                // Linux dev_valid_name(): at most 15 bytes (IFNAMSIZ), no
                // '/' or whitespace, not "." or ".."; ':' is for aliases.
                if !text.is_empty()
                    && text.len() <= 15
                    && text != "."
                    && text != ".."
                    && !text.contains(['/', ':'])
                    && !text.chars().any(char::is_whitespace)
                {
                    Ok(text.clone())
                } else {
                    Err(self.report(
                        &n.span(),
                        &key("name"),
                        format!(
                            "{text:?} is not an interface name (1 to 15 bytes, no '/', ':' or \
                             spaces)"
                        ),
                    ))
                }
            }
            None => Err(missing(self, "name")),
        };
        let require = self
            .optional(&c.require, |v, r| match r.get_ref().as_str() {
                "up" => Ok(LinkRequirement::Up),
                "running" => Ok(LinkRequirement::Running),
                "lower_up" => Ok(LinkRequirement::LowerUp),
                other => Err(v.report(
                    &r.span(),
                    &key("require"),
                    format!(
                        "{other:?} is not a link state (expected \"up\", \"running\" or \
                         \"lower_up\")"
                    ),
                )),
            })
            .map(|r| r.unwrap_or(LinkRequirement::Up));
        Ok(CheckKind::Interface(InterfaceCheck {
            name: name?,
            require: require?,
        }))
    }

    /// Relative paths would depend on the directory vipd was started from.
    fn absolute_path(&mut self, value: &Spanned<String>, key: &str) -> Checked<PathBuf> {
        let path = PathBuf::from(value.get_ref());
        if path.is_absolute() {
            Ok(path)
        } else {
            Err(self.report(
                &value.span(),
                key,
                format!("{:?} is not an absolute path", value.get_ref()),
            ))
        }
    }
}

/// RFC 1123 2.1 host name syntax: dot-separated labels of letters, digits and
/// hyphens; the last label is not all digits (RFC 3696 2), so "300.1.1.1" is a
/// mistyped address, not a name.
fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && !host
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}
