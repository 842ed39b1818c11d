//! The file as written: serde structs that mirror the TOML, nothing checked yet.
//!
//! Every value is wrapped in [`Spanned`] so validation can say where it is.
//! Integers are read as `i64` (TOML's integer type) and range-checked in
//! validation, which words the error better than serde's "expected u16".
//! Required keys are `Option` too, so a missing one is collected with the other
//! mistakes instead of stopping the parse.

use std::collections::BTreeMap;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::ConfigError;
use super::locate::{KeyIndex, Source};

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    /// Not `Spanned`: see `validate::Validator::speaker`.
    pub(crate) speaker: Option<RawSpeaker>,
    #[serde(default)]
    pub(crate) peer: Vec<S<RawPeer>>,
    #[serde(default)]
    pub(crate) vip: Vec<S<RawVip>>,
    /// Not `Spanned`, for the same reason as `speaker`; keys are check names.
    #[serde(default)]
    pub(crate) check: BTreeMap<String, RawCheck>,
    /// Not `Spanned`, for the same reason as `speaker`.
    pub(crate) ospf: Option<super::ospf::RawOspf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpeaker {
    pub(crate) asn: Option<S<i64>>,
    pub(crate) router_id: Option<S<String>>,
    pub(crate) listen: Option<S<String>>,
    pub(crate) hold_time: Option<S<i64>>,
    pub(crate) connect_retry: Option<S<i64>>,
    pub(crate) connect_retry_max: Option<S<i64>>,
    pub(crate) graceful_restart_time: Option<S<i64>>,
    pub(crate) startup_delay: Option<S<String>>,
    pub(crate) shutdown_drain: Option<S<bool>>,
    // The operator surface (src/control/).
    pub(crate) control_socket: Option<S<RawSwitchedPath>>,
    pub(crate) metrics: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPeer {
    pub(crate) name: Option<S<String>>,
    pub(crate) description: Option<S<String>>,
    pub(crate) address: Option<S<String>>,
    pub(crate) remote_asn: Option<S<i64>>,
    pub(crate) local_asn: Option<S<i64>>,
    pub(crate) local_address: Option<S<String>>,
    pub(crate) port: Option<S<i64>>,
    pub(crate) hold_time: Option<S<i64>>,
    pub(crate) passive: Option<S<bool>>,
    pub(crate) multihop: Option<S<i64>>,
    pub(crate) next_hop_ipv4: Option<S<String>>,
    pub(crate) next_hop_ipv6: Option<S<String>>,
    pub(crate) connect_retry: Option<S<i64>>,
    pub(crate) enabled: Option<S<bool>>,
    // BFD (RFC 5880/5881), single-hop only.
    pub(crate) bfd: Option<S<bool>>,
    pub(crate) bfd_min_interval: Option<S<String>>,
    pub(crate) bfd_multiplier: Option<S<i64>>,
    // Session security and inbound limits.
    pub(crate) password: Option<S<String>>,
    pub(crate) ttl_security: Option<S<bool>>,
    /// `tcp_ao = [{ ... }]` or `[[peer.tcp_ao]]` tables.
    pub(crate) tcp_ao: Option<Vec<S<RawTcpAoKey>>>,
    pub(crate) max_prefixes: Option<S<i64>>,
    pub(crate) max_prefixes_restart: Option<S<String>>,
    pub(crate) send_hold_time: Option<S<String>>,
}

/// One `[[peer]] tcp_ao` key (RFC 5925 Master Key Tuple).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTcpAoKey {
    pub(crate) send_id: Option<S<i64>>,
    pub(crate) recv_id: Option<S<i64>>,
    pub(crate) key: Option<S<String>>,
    pub(crate) algorithm: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVip {
    pub(crate) name: Option<S<String>>,
    pub(crate) prefix: Option<S<String>>,
    /// `count = N`: N consecutive host prefixes from `prefix`, alike in all else.
    pub(crate) count: Option<S<i64>>,
    #[serde(default)]
    pub(crate) communities: Vec<S<String>>,
    #[serde(default)]
    pub(crate) large_communities: Vec<S<String>>,
    pub(crate) med: Option<S<i64>>,
    pub(crate) local_pref: Option<S<i64>>,
    pub(crate) as_path_prepend: Option<S<i64>>,
    #[serde(default)]
    pub(crate) checks: Vec<S<String>>,
    pub(crate) check_policy: Option<S<String>>,
    pub(crate) hold_down: Option<S<String>>,
    pub(crate) drain_time: Option<S<String>>,
    pub(crate) drain_med: Option<S<i64>>,
    pub(crate) drain_prepend: Option<S<i64>>,
    pub(crate) interface: Option<S<String>>,
    pub(crate) ospf: Option<S<bool>>,
    pub(crate) ospf_cost: Option<S<i64>>,
}

/// One `[check.NAME]`: the keys of every kind together, so a key of another
/// kind gets a message naming the kind (`not a key of kind "tcp"`) rather
/// than serde's "unknown key"; validation sorts out which belong.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    pub(crate) kind: Option<S<String>>,
    // Every kind. Durations are humantime strings ("500ms", "2s").
    pub(crate) interval: Option<S<String>>,
    pub(crate) timeout: Option<S<String>>,
    pub(crate) rise: Option<S<i64>>,
    pub(crate) fall: Option<S<i64>>,
    pub(crate) fast_interval: Option<S<String>>,
    pub(crate) on_fail: Option<S<String>>,
    // tcp, grpc
    pub(crate) address: Option<S<String>>,
    // tcp, http, https
    pub(crate) watch: Option<S<bool>>,
    // http, https
    pub(crate) url: Option<S<String>>,
    pub(crate) expect_status: Option<S<RawStatus>>,
    pub(crate) expect_body: Option<S<String>>,
    pub(crate) host: Option<S<String>>,
    // https, grpc
    pub(crate) tls_verify: Option<S<bool>>,
    // exec
    pub(crate) command: Option<S<RawCommand>>,
    pub(crate) shell: Option<S<bool>>,
    // file
    pub(crate) path: Option<S<String>>,
    pub(crate) healthy_when: Option<S<String>>,
    // process
    pub(crate) pidfile: Option<S<String>>,
    // dns
    pub(crate) server: Option<S<String>>,
    pub(crate) qtype: Option<S<String>>,
    pub(crate) expect_rcode: Option<S<String>>,
    pub(crate) expect_answer: Option<S<String>>,
    // dns, interface
    pub(crate) name: Option<S<String>>,
    // grpc
    pub(crate) service: Option<S<String>>,
    pub(crate) tls: Option<S<bool>>,
    // lease
    pub(crate) ttl: Option<S<String>>,
    pub(crate) http: Option<S<String>>,
    // interface
    pub(crate) require: Option<S<String>>,
}

/// `expect_status = 200` or `expect_status = [200, 204]`.
#[derive(Debug)]
pub(crate) enum RawStatus {
    One(i64),
    List(Vec<i64>),
}

/// `control_socket = "/run/vipd/vipd.sock"`, or `true` (the default path) or
/// `false` (off).
#[derive(Debug)]
pub(crate) enum RawSwitchedPath {
    Path(String),
    Switch(bool),
}

/// `command = ["/usr/bin/check", "--quiet"]`, or one string (for `shell = true`).
#[derive(Debug)]
pub(crate) enum RawCommand {
    Line(String),
    Argv(Vec<String>),
}

// Hand-written rather than `#[serde(untagged)]`, whose error ("data did not
// match any variant") would not say what was expected.

impl<'de> Deserialize<'de> for RawStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusVisitor;
        impl<'de> Visitor<'de> for StatusVisitor {
            type Value = RawStatus;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a status code or an array of status codes")
            }
            fn visit_i64<E>(self, n: i64) -> Result<RawStatus, E> {
                Ok(RawStatus::One(n))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawStatus, A::Error> {
                let mut codes = Vec::new();
                while let Some(code) = seq.next_element()? {
                    codes.push(code);
                }
                Ok(RawStatus::List(codes))
            }
        }
        deserializer.deserialize_any(StatusVisitor)
    }
}

impl<'de> Deserialize<'de> for RawSwitchedPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SwitchedPathVisitor;
        impl Visitor<'_> for SwitchedPathVisitor {
            type Value = RawSwitchedPath;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a path or a boolean")
            }
            fn visit_str<E>(self, s: &str) -> Result<RawSwitchedPath, E> {
                Ok(RawSwitchedPath::Path(s.to_string()))
            }
            fn visit_bool<E>(self, b: bool) -> Result<RawSwitchedPath, E> {
                Ok(RawSwitchedPath::Switch(b))
            }
        }
        deserializer.deserialize_any(SwitchedPathVisitor)
    }
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl<'de> Visitor<'de> for CommandVisitor {
            type Value = RawCommand;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of strings (the argv) or a string")
            }
            fn visit_str<E>(self, s: &str) -> Result<RawCommand, E> {
                Ok(RawCommand::Line(s.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawCommand, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element()? {
                    argv.push(arg);
                }
                Ok(RawCommand::Argv(argv))
            }
        }
        deserializer.deserialize_any(CommandVisitor)
    }
}

/// Parses the TOML into raw structs. The error is toml's (syntax, unknown key,
/// wrong type), placed at its line and column and, when it has one, key path.
pub(crate) fn parse(source: &Source<'_>) -> Result<RawConfig, ConfigError> {
    // Syntax first, so its errors can say so and the schema errors below are
    // known to come from a well-formed document.
    if let Err(e) = toml::from_str::<toml::Table>(source.text) {
        return Err(ConfigError {
            file: source.file.to_string(),
            location: e.span().map(|span| source.location(span.start)),
            key: None,
            message: format!("invalid TOML: {}", one_line(e.message())),
        });
    }
    toml::from_str(source.text).map_err(|e| {
        let message = reword(e.message());
        let (location, key) = match e.span() {
            Some(span) => (
                Some(source.location(span.start)),
                KeyIndex::build(source.text)
                    .path_at(span.start)
                    .map(str::to_string),
            ),
            None => (None, None),
        };
        ConfigError {
            file: source.file.to_string(),
            location,
            key,
            message,
        }
    })
}

fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Turns serde's vocabulary into the file's: one line, TOML type names, and a
/// suggestion for a misspelt key.
fn reword(message: &str) -> String {
    let one_line = one_line(message);
    if let Some(rest) = one_line.strip_prefix("unknown field `") {
        return unknown_key(rest).unwrap_or(one_line);
    }
    one_line
        .replace("invalid type: map", "invalid type: table or date-time")
        .replace("expected i64", "expected an integer")
        .replace("expected a sequence", "expected an array")
        .replace("expected struct RawSpeaker", "expected a table")
        .replace("expected struct RawPeer", "expected a table")
        .replace("expected struct RawVip", "expected a table")
        .replace("expected struct RawCheck", "expected a table")
        .replace("expected a map", "expected a table")
}

/// `rest` is what follows "unknown field `" in serde's message:
/// "KEY`, expected one of `a`, `b`" or "KEY`, expected `a`".
fn unknown_key(rest: &str) -> Option<String> {
    let (key, expected) = rest.split_once("`, expected ")?;
    let known: Vec<&str> = expected
        .trim_start_matches("one of ")
        .split(", ")
        .map(|k| k.trim_matches('`'))
        .collect();
    let closest = known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        // Close enough to be a typo, but not so short that anything matches.
        .filter(|(d, _)| *d <= 2 && 3 * d <= key.chars().count())
        .min();
    Some(match closest {
        Some((_, k)) => format!("unknown key `{key}`; did you mean `{k}`?"),
        None => format!(
            "unknown key `{key}` (known keys here: {})",
            known.join(", ")
        ),
    })
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}
