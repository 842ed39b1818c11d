//! `[ospf]`: originate the VIPs into an OSPF area (module `crate::ospf`).
//!
//! ```toml
//! [ospf]
//! router_id = "10.255.0.2"     # default: [speaker] router_id
//! area = "0.0.0.0"             # dotted or an integer; default 0
//! vip_lsa = "external"         # "external" or "stub"; default: see below
//! external_type = 2            # 1 or 2 (default), for AS-external LSAs
//!
//! [[ospf.interface]]
//! name = "eth1"                # required
//! network = "point-to-point"   # or "broadcast" (default)
//! cost = 10                    # 1..=65535, default 10 (prices stub links only)
//! hello_interval = 10          # seconds, default 10
//! dead_interval = 40           # seconds, default 4 x hello_interval
//! retransmit_interval = 5      # seconds, default 5
//! auth = { type = "hmac-sha-256", key_id = 1, key = "secret" }   # OSPFv2 only
//! ipv6 = true                  # also run OSPFv3 here; default false
//!
//! [[vip]]
//! prefix = "198.18.0.10/32"
//! ospf = true                  # originate this VIP into OSPF: default true when
//!                              # [ospf] exists; `false` keeps it BGP-only
//! ospf_cost = 1                # 0..=65535, default 1
//! ```
//!
//! `vip_lsa` unset means `"stub"`: in OSPFv2 each VIP is a stub link of
//! vipd's one Router-LSA (no ASBR, works in stub and NSSA areas, intra-area
//! routes); in OSPFv3 each VIP is its own Intra-Area-Prefix-LSA (already
//! independent, and the R-bit can stay clear). `"external"` gives each VIP
//! its own AS-external-LSA, so in OSPFv2 one VIP's change never waits for
//! MinLSInterval after another's (docs/ospf.md has the latency bounds).
//!
//! `auth.type` is `"md5"` (RFC 2328 D.4.3; a key of at most 16 octets) or
//! `"hmac-sha-1"`, `"hmac-sha-256"`, `"hmac-sha-384"`, `"hmac-sha-512"`
//! (RFC 5709). Every `[[ospf.interface]]` runs OSPFv2 on its IPv4 address;
//! `ipv6 = true` adds OSPFv3 on its link-local address.
//!
//! Raw structs, typed config and validation are all in this file so the
//! shared files only gain a line each.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use ipnet::IpNet;
use serde::de::Visitor;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::ConfigError;
use super::locate::{KeyIndex, Source};
use super::raw::RawVip;

type S<T> = Spanned<T>;

/// Defaults (RFC 2328 appendix C values where the RFC has one).
const DEFAULT_COST: u16 = 10;
const DEFAULT_HELLO: u16 = 10;
const DEFAULT_RXMT: u16 = 5;
/// `ospf_cost` default: a host route, one hop past vipd.
pub const DEFAULT_VIP_COST: u32 = 1;

/// A validated `[ospf]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OspfConfig {
    pub router_id: Ipv4Addr,
    pub area: Ipv4Addr,
    /// `None`: the default, stub (in both versions).
    pub vip_lsa: Option<OspfVipLsa>,
    pub external_type: OspfExternalType,
    pub interfaces: Vec<OspfInterface>,
    /// Every `[[vip]]` with `ospf = true`, with its `ospf_cost`.
    pub vips: BTreeMap<IpNet, u32>,
}

/// How VIPs are originated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OspfVipLsa {
    /// OSPFv2: stub links in the Router-LSA; OSPFv3: one
    /// Intra-Area-Prefix-LSA per VIP.
    Stub,
    /// One AS-External-LSA per VIP.
    External,
}

/// External metric type of `vip_lsa = "external"` LSAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OspfExternalType {
    Type1,
    Type2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OspfNetwork {
    PointToPoint,
    Broadcast,
}

/// One `[[ospf.interface]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OspfInterface {
    pub name: String,
    pub network: OspfNetwork,
    pub cost: u16,
    pub hello_interval: u16,
    pub dead_interval: u16,
    pub retransmit_interval: u16,
    pub auth: Option<OspfAuth>,
    /// Also run OSPFv3 on this interface.
    pub ipv6: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OspfAuthAlgorithm {
    Md5,
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

/// OSPFv2 cryptographic authentication for one interface.
#[derive(Clone, PartialEq, Eq)]
pub struct OspfAuth {
    pub algorithm: OspfAuthAlgorithm,
    pub key_id: u8,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for OspfAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs and `vipd check` output.
        f.debug_struct("OspfAuth")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

// ---- raw

/// `[ospf]`; not `Spanned`, like `[speaker]` (a table of dotted keys has no
/// span).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOspf {
    router_id: Option<S<String>>,
    area: Option<S<RawArea>>,
    vip_lsa: Option<S<String>>,
    external_type: Option<S<i64>>,
    #[serde(default)]
    interface: Vec<S<RawOspfInterface>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOspfInterface {
    name: Option<S<String>>,
    network: Option<S<String>>,
    cost: Option<S<i64>>,
    hello_interval: Option<S<i64>>,
    dead_interval: Option<S<i64>>,
    retransmit_interval: Option<S<i64>>,
    auth: Option<S<RawOspfAuth>>,
    ipv6: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOspfAuth {
    #[serde(rename = "type")]
    kind: Option<S<String>>,
    key_id: Option<S<i64>>,
    key: Option<S<String>>,
}

/// `area = 0`, `area = "0.0.0.1"`.
#[derive(Debug)]
enum RawArea {
    Number(i64),
    Dotted(String),
}

impl<'de> Deserialize<'de> for RawArea {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AreaVisitor;
        impl Visitor<'_> for AreaVisitor {
            type Value = RawArea;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an area ID: an integer or a dotted quad such as \"0.0.0.0\"")
            }
            fn visit_i64<E>(self, n: i64) -> Result<RawArea, E> {
                Ok(RawArea::Number(n))
            }
            fn visit_str<E>(self, s: &str) -> Result<RawArea, E> {
                Ok(RawArea::Dotted(s.to_string()))
            }
        }
        deserializer.deserialize_any(AreaVisitor)
    }
}

// ---- validation

struct Reported;
type Checked<T> = Result<T, Reported>;

struct V<'a> {
    source: &'a Source<'a>,
    errors: Vec<ConfigError>,
}

impl V<'_> {
    fn report_at(&mut self, at: Option<usize>, key: &str, message: impl Into<String>) -> Reported {
        self.errors.push(ConfigError {
            file: self.source.file.to_string(),
            location: at.map(|o| self.source.location(o)),
            key: Some(key.to_string()),
            message: message.into(),
        });
        Reported
    }

    fn report<T>(&mut self, value: &S<T>, key: &str, message: impl Into<String>) -> Reported {
        self.report_at(Some(value.span().start), key, message)
    }

    fn int(
        &mut self,
        value: &S<i64>,
        key: &str,
        range: RangeInclusive<i64>,
        unit: &str,
    ) -> Checked<i64> {
        let n = *value.get_ref();
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(self.report(
                value,
                key,
                format!(
                    "{n} is out of range ({}..={}{unit})",
                    range.start(),
                    range.end()
                ),
            ))
        }
    }

    fn one_of<T: Copy>(
        &mut self,
        value: &S<String>,
        key: &str,
        choices: &[(&str, T)],
    ) -> Checked<T> {
        let text = value.get_ref().as_str();
        match choices.iter().find(|(name, _)| *name == text) {
            Some((_, t)) => Ok(*t),
            None => {
                let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
                Err(self.report(
                    value,
                    key,
                    format!("{text:?} is not one of {}", names.join(", ")),
                ))
            }
        }
    }
}

/// Validates `[ospf]` and the `ospf`/`ospf_cost` keys of every `[[vip]]`.
/// `speaker_router_id` is the default Router ID (`None` when `[speaker]`
/// is missing or wrong, which is reported there).
pub(crate) fn validate(
    raw: Option<&RawOspf>,
    vips: &[S<RawVip>],
    speaker_router_id: Option<Ipv4Addr>,
    source: &Source<'_>,
) -> (Option<OspfConfig>, Vec<ConfigError>) {
    let mut v = V {
        source,
        errors: Vec::new(),
    };
    let opted = opted_in_vips(&mut v, raw.is_some(), vips);
    let Some(raw) = raw else {
        return (None, v.errors);
    };
    let table = KeyIndex::build(source.text).start_of("ospf");
    let router_id = match &raw.router_id {
        Some(r) => router_id(&mut v, r),
        None => speaker_router_id.ok_or(Reported),
    };
    let area = raw
        .area
        .as_ref()
        .map_or(Ok(Ipv4Addr::UNSPECIFIED), |a| area(&mut v, a));
    let vip_lsa = raw
        .vip_lsa
        .as_ref()
        .map(|s| {
            v.one_of(
                s,
                "ospf.vip_lsa",
                &[
                    ("external", OspfVipLsa::External),
                    ("stub", OspfVipLsa::Stub),
                ],
            )
        })
        .transpose();
    let external_type = raw
        .external_type
        .as_ref()
        .map_or(Ok(OspfExternalType::Type2), |n| {
            Ok(match v.int(n, "ospf.external_type", 1..=2, "")? {
                1 => OspfExternalType::Type1,
                _ => OspfExternalType::Type2,
            })
        });
    if raw.interface.is_empty() {
        v.report_at(
            table,
            "ospf",
            "no [[ospf.interface]]: name at least one interface to run OSPF on",
        );
    }
    let interfaces: Vec<Checked<OspfInterface>> = raw
        .interface
        .iter()
        .enumerate()
        .map(|(i, r)| interface(&mut v, i, r))
        .collect();
    duplicate_interfaces(&mut v, &raw.interface);
    if let Ok(opted) = &opted {
        let any_ipv6 = raw
            .interface
            .iter()
            .any(|i| i.get_ref().ipv6.as_ref().is_some_and(|b| *b.get_ref()));
        // Only a VIP that asked for OSPF in so many words; one that is in by
        // default simply has no OSPFv3 to carry it.
        for (prefix, (flag, _)) in opted.iter() {
            if prefix.addr().is_ipv6() && !any_ipv6 && flag.is_some() {
                v.report_at(*flag, &format!("vip prefix {prefix}"), format!(
                    "{prefix} opts into OSPF, but no [[ospf.interface]] has ipv6 = true, so no OSPFv3 runs to carry it"
                ));
            }
        }
    }
    let config = (|| -> Checked<OspfConfig> {
        Ok(OspfConfig {
            router_id: router_id?,
            area: area?,
            vip_lsa: vip_lsa?,
            external_type: external_type?,
            interfaces: interfaces.into_iter().collect::<Checked<_>>()?,
            vips: opted?.into_iter().map(|(p, (_, cost))| (p, cost)).collect(),
        })
    })();
    (config.ok().filter(|_| v.errors.is_empty()), v.errors)
}

/// The VIPs in OSPF, each with where its `ospf` flag is (`None`: not
/// written, on by default) and its cost. With `[ospf]`, every VIP is in
/// unless it says `ospf = false`; a block (`count > 1`) only if it asks,
/// which its own validation refuses (one LSA per address is not there yet).
fn opted_in_vips(
    v: &mut V<'_>,
    have_ospf: bool,
    vips: &[S<RawVip>],
) -> Checked<BTreeMap<IpNet, (Option<usize>, u32)>> {
    let mut out = BTreeMap::new();
    let mut failed = false;
    for (i, raw) in vips.iter().enumerate() {
        let p = raw.get_ref();
        let block = p.count.as_ref().is_some_and(|c| *c.get_ref() > 1);
        let on = match &p.ospf {
            Some(b) => *b.get_ref(),
            None => have_ospf && !block,
        };
        let cost = match &p.ospf_cost {
            Some(c) => match v.int(c, &format!("vip[{i}].ospf_cost"), 0..=65535, "") {
                Ok(n) if on => Some(n as u32),
                Ok(_) => {
                    v.report(c, &format!("vip[{i}].ospf_cost"), "ospf_cost is set but the VIP is not originated into OSPF (`ospf = false`, or no [ospf] table): remove ospf_cost or originate it");
                    failed = true;
                    None
                }
                Err(_) => {
                    failed = true;
                    None
                }
            },
            None => None,
        };
        if !on {
            continue;
        }
        let flag = p.ospf.as_ref().map(|b| b.span().start);
        if !have_ospf {
            v.report_at(
                flag,
                &format!("vip[{i}].ospf"),
                "ospf = true but there is no [ospf] table to originate it with",
            );
            failed = true;
            continue;
        }
        // A bad or missing prefix is reported by the VIP's own validation.
        let Some(prefix) = p.prefix.as_ref().and_then(|t| parse_prefix(t.get_ref())) else {
            failed = true;
            continue;
        };
        out.insert(prefix, (flag, cost.unwrap_or(DEFAULT_VIP_COST)));
    }
    if failed { Err(Reported) } else { Ok(out) }
}

fn parse_prefix(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<std::net::IpAddr>().ok().map(IpNet::from))
        .map(|p| p.trunc())
}

fn router_id(v: &mut V<'_>, value: &S<String>) -> Checked<Ipv4Addr> {
    let key = "ospf.router_id";
    let Ok(id) = value.get_ref().parse::<Ipv4Addr>() else {
        return Err(v.report(
            value,
            key,
            format!(
                "{:?} is not an IPv4 address (a Router ID is written as one)",
                value.get_ref()
            ),
        ));
    };
    if id.is_unspecified() || id.is_broadcast() {
        return Err(v.report(
            value,
            key,
            format!("{id} cannot be a Router ID (RFC 2328 C.1: a unique, non-zero 32-bit number)"),
        ));
    }
    Ok(id)
}

fn area(v: &mut V<'_>, value: &S<RawArea>) -> Checked<Ipv4Addr> {
    match value.get_ref() {
        RawArea::Number(n) => match u32::try_from(*n) {
            Ok(n) => Ok(Ipv4Addr::from(n)),
            Err(_) => Err(v.report(
                value,
                "ospf.area",
                format!("{n} is out of range (0..=4294967295)"),
            )),
        },
        RawArea::Dotted(s) => s.parse().map_err(|_| {
            v.report(
                value,
                "ospf.area",
                format!(
                    "{s:?} is not an area ID (an integer or a dotted quad such as \"0.0.0.0\")"
                ),
            )
        }),
    }
}

fn interface(v: &mut V<'_>, i: usize, raw: &S<RawOspfInterface>) -> Checked<OspfInterface> {
    let key = |k: &str| format!("ospf.interface[{i}].{k}");
    let r = raw.get_ref();
    let name = match &r.name {
        None => Err(v.report(
            raw,
            &format!("ospf.interface[{i}]"),
            "missing required key `name`",
        )),
        Some(n) if n.get_ref().trim().is_empty() => {
            Err(v.report(n, &key("name"), "must not be empty"))
        }
        // IFNAMSIZ is 16 with the terminating zero.
        Some(n) if n.get_ref().len() > 15 => Err(v.report(
            n,
            &key("name"),
            format!(
                "{:?} is longer than an interface name can be (15 bytes)",
                n.get_ref()
            ),
        )),
        Some(n) => Ok(n.get_ref().clone()),
    };
    let network = r.network.as_ref().map_or(Ok(OspfNetwork::Broadcast), |s| {
        v.one_of(
            s,
            &key("network"),
            &[
                ("point-to-point", OspfNetwork::PointToPoint),
                ("broadcast", OspfNetwork::Broadcast),
            ],
        )
    });
    let mut seconds = |value: &Option<S<i64>>, k: &str, default: u16| -> Checked<u16> {
        match value {
            Some(n) => Ok(v.int(n, &key(k), 1..=65535, " seconds")? as u16),
            None => Ok(default),
        }
    };
    let cost = seconds(&r.cost, "cost", DEFAULT_COST);
    let hello = seconds(&r.hello_interval, "hello_interval", DEFAULT_HELLO);
    let rxmt = seconds(&r.retransmit_interval, "retransmit_interval", DEFAULT_RXMT);
    let dead = match (&r.dead_interval, &hello) {
        (Some(d), Ok(h)) => {
            v.int(d, &key("dead_interval"), 1..=65535, " seconds").and_then(|n| {
                if n as u16 <= *h {
                    Err(v.report(d, &key("dead_interval"), format!("{n}s must be longer than hello_interval ({h}s); RFC 2328 C.3 suggests four times it")))
                } else {
                    Ok(n as u16)
                }
            })
        }
        (Some(d), Err(_)) => v
            .int(d, &key("dead_interval"), 1..=65535, " seconds")
            .map(|n| n as u16),
        (None, Ok(h)) => Ok(h.saturating_mul(4)),
        (None, Err(_)) => Err(Reported),
    };
    let auth = r.auth.as_ref().map(|a| auth(v, i, a)).transpose();
    let ipv6 = r.ipv6.as_ref().is_some_and(|b| *b.get_ref());
    Ok(OspfInterface {
        name: name?,
        network: network?,
        cost: cost?,
        hello_interval: hello?,
        dead_interval: dead?,
        retransmit_interval: rxmt?,
        auth: auth?,
        ipv6,
    })
}

fn auth(v: &mut V<'_>, i: usize, raw: &S<RawOspfAuth>) -> Checked<OspfAuth> {
    let key = |k: &str| format!("ospf.interface[{i}].auth.{k}");
    let r = raw.get_ref();
    let algorithm = match &r.kind {
        None => Err(v.report(
            raw,
            &format!("ospf.interface[{i}].auth"),
            "missing required key `type`",
        )),
        Some(t) => v.one_of(
            t,
            &key("type"),
            &[
                ("md5", OspfAuthAlgorithm::Md5),
                ("hmac-sha-1", OspfAuthAlgorithm::HmacSha1),
                ("hmac-sha-256", OspfAuthAlgorithm::HmacSha256),
                ("hmac-sha-384", OspfAuthAlgorithm::HmacSha384),
                ("hmac-sha-512", OspfAuthAlgorithm::HmacSha512),
            ],
        ),
    };
    let key_id = match &r.key_id {
        None => Err(v.report(
            raw,
            &format!("ospf.interface[{i}].auth"),
            "missing required key `key_id`",
        )),
        Some(n) => v.int(n, &key("key_id"), 0..=255, "").map(|n| n as u8),
    };
    let secret = match &r.key {
        None => Err(v.report(
            raw,
            &format!("ospf.interface[{i}].auth"),
            "missing required key `key`",
        )),
        Some(k) if k.get_ref().is_empty() => Err(v.report(k, &key("key"), "must not be empty")),
        Some(k) if matches!(algorithm, Ok(OspfAuthAlgorithm::Md5)) && k.get_ref().len() > 16 => {
            Err(v.report(
                k,
                &key("key"),
                format!(
                    "a keyed-MD5 key is at most 16 octets (RFC 2328 D.4.3); this one has {}",
                    k.get_ref().len()
                ),
            ))
        }
        Some(k) => Ok(k.get_ref().as_bytes().to_vec()),
    };
    Ok(OspfAuth {
        algorithm: algorithm?,
        key_id: key_id?,
        key: secret?,
    })
}

fn duplicate_interfaces(v: &mut V<'_>, raw: &[S<RawOspfInterface>]) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, r) in raw.iter().enumerate() {
        let Some(name) = &r.get_ref().name else {
            continue;
        };
        match seen.get(name.get_ref().as_str()) {
            Some(first) => {
                v.report(
                    name,
                    &format!("ospf.interface[{i}].name"),
                    format!(
                        "interface {:?} is listed twice (already ospf.interface[{first}])",
                        name.get_ref()
                    ),
                );
            }
            None => {
                seen.insert(name.get_ref(), i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    const BASE: &str = "[speaker]\nasn = 65001\nrouter_id = \"10.255.0.2\"\n";

    fn ok(extra: &str) -> OspfConfig {
        let text = format!("{BASE}{extra}");
        parse(&text, "t.toml")
            .unwrap_or_else(|e| panic!("{e}"))
            .ospf
            .expect("[ospf]")
    }

    fn errors(extra: &str) -> Vec<String> {
        let text = format!("{BASE}{extra}");
        match parse(&text, "t.toml") {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn defaults_fill_everything_but_the_interface_name() {
        let c = ok(
            "[ospf]\n[[ospf.interface]]\nname = \"eth1\"\n[[vip]]\nprefix = \"198.18.0.10/32\"\nospf = true\n[[vip]]\nprefix = \"198.18.0.11\"\n[[vip]]\nprefix = \"198.18.0.12\"\nospf = false\n[[vip]]\nprefix = \"fd00::12\"\n",
        );
        assert_eq!(c.router_id, Ipv4Addr::new(10, 255, 0, 2));
        assert_eq!(c.area, Ipv4Addr::UNSPECIFIED);
        assert_eq!(c.vip_lsa, None);
        assert_eq!(c.external_type, OspfExternalType::Type2);
        assert_eq!(
            c.interfaces,
            vec![OspfInterface {
                name: "eth1".into(),
                network: OspfNetwork::Broadcast,
                cost: 10,
                hello_interval: 10,
                dead_interval: 40,
                retransmit_interval: 5,
                auth: None,
                ipv6: false,
            }]
        );
        // With [ospf], every VIP unless `ospf = false`; the IPv6 one is
        // listed but no OSPFv3 runs (no `ipv6 = true`), which is no error
        // for a VIP that did not ask.
        assert_eq!(
            c.vips,
            BTreeMap::from([
                ("198.18.0.10/32".parse().unwrap(), 1),
                ("198.18.0.11/32".parse().unwrap(), 1),
                ("fd00::12/128".parse().unwrap(), 1),
            ])
        );
    }

    #[test]
    fn every_key_is_read() {
        let c = ok(concat!(
            "[ospf]\nrouter_id = \"10.255.9.9\"\narea = 7\nvip_lsa = \"stub\"\nexternal_type = 1\n",
            "[[ospf.interface]]\nname = \"eth1\"\nnetwork = \"point-to-point\"\ncost = 20\nhello_interval = 1\n",
            "dead_interval = 3\nretransmit_interval = 2\nipv6 = true\n",
            "auth = { type = \"hmac-sha-256\", key_id = 9, key = \"s3cret\" }\n",
            "[[vip]]\nprefix = \"fd00:198:18::10/128\"\nospf = true\nospf_cost = 50\n",
        ));
        assert_eq!(
            (c.router_id, c.area, c.vip_lsa, c.external_type),
            (
                Ipv4Addr::new(10, 255, 9, 9),
                Ipv4Addr::new(0, 0, 0, 7),
                Some(OspfVipLsa::Stub),
                OspfExternalType::Type1
            )
        );
        let i = &c.interfaces[0];
        assert_eq!(
            (
                i.network,
                i.cost,
                i.hello_interval,
                i.dead_interval,
                i.retransmit_interval,
                i.ipv6
            ),
            (OspfNetwork::PointToPoint, 20, 1, 3, 2, true)
        );
        assert_eq!(
            i.auth,
            Some(OspfAuth {
                algorithm: OspfAuthAlgorithm::HmacSha256,
                key_id: 9,
                key: b"s3cret".to_vec()
            })
        );
        assert!(
            !format!("{i:?}").contains("s3cret"),
            "the key never shows in Debug"
        );
        assert_eq!(
            c.vips,
            BTreeMap::from([("fd00:198:18::10/128".parse().unwrap(), 50)])
        );
        assert_eq!(
            ok("[ospf]\narea = \"0.0.0.1\"\n[[ospf.interface]]\nname = \"eth1\"\n").area,
            Ipv4Addr::new(0, 0, 0, 1)
        );
    }

    #[test]
    fn no_ospf_table_means_none() {
        let c = parse(
            &format!("{BASE}[[vip]]\nprefix = \"198.18.0.10/32\"\n"),
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.ospf, None);
    }

    #[test]
    fn mistakes_name_the_key_and_line() {
        let e = errors(
            "[ospf]\nvip_lsa = \"summary\"\n[[ospf.interface]]\nname = \"eth1\"\nnetwork = \"nbma\"\nhello_interval = 0\nauth = { type = \"md5\", key_id = 1, key = \"01234567890123456789\" }\n",
        );
        assert_eq!(
            e,
            vec![
                "t.toml:5:11: ospf.vip_lsa: \"summary\" is not one of \"external\", \"stub\"",
                "t.toml:8:11: ospf.interface[0].network: \"nbma\" is not one of \"point-to-point\", \"broadcast\"",
                "t.toml:9:18: ospf.interface[0].hello_interval: 0 is out of range (1..=65535 seconds)",
                "t.toml:10:42: ospf.interface[0].auth.key: a keyed-MD5 key is at most 16 octets (RFC 2328 D.4.3); this one has 20",
            ]
        );
    }

    #[test]
    fn inconsistent_settings_are_refused() {
        let e = errors(
            "[ospf]\n[[ospf.interface]]\nname = \"eth1\"\nhello_interval = 10\ndead_interval = 10\n[[ospf.interface]]\nname = \"eth1\"\n",
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].contains("dead_interval: 10s must be longer than hello_interval"),
            "{e:?}"
        );
        assert!(
            e[1].contains("ospf.interface[1].name: interface \"eth1\" is listed twice"),
            "{e:?}"
        );
        let e = errors("[[vip]]\nprefix = \"198.18.0.10/32\"\nospf = true\n");
        assert!(
            e[0].contains("vip[0].ospf: ospf = true but there is no [ospf] table"),
            "{e:?}"
        );
        let e = errors(
            "[ospf]\n[[ospf.interface]]\nname = \"eth1\"\n[[vip]]\nprefix = \"198.18.0.10/32\"\nospf = false\nospf_cost = 5\n",
        );
        assert!(
            e[0].contains("ospf_cost is set but the VIP is not originated into OSPF"),
            "{e:?}"
        );
        let e = errors("[[vip]]\nprefix = \"198.18.0.10/32\"\nospf_cost = 5\n");
        assert!(
            e[0].contains("ospf_cost is set but the VIP is not originated into OSPF"),
            "{e:?}"
        );
        let e = errors(
            "[ospf]\n[[ospf.interface]]\nname = \"eth1\"\n[[vip]]\nprefix = \"fd00::10/128\"\nospf = true\n",
        );
        assert!(
            e[0].contains("no [[ospf.interface]] has ipv6 = true"),
            "{e:?}"
        );
        let e = errors("[ospf]\n");
        assert!(e[0].contains("no [[ospf.interface]]"), "{e:?}");
        let e = errors("[ospf]\nbogus = 1\n");
        assert!(e[0].contains("unknown key `bogus`"), "{e:?}");
    }
}
