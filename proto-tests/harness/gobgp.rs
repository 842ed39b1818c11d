//! GoBGP: `gobgpd -f gobgpd.toml` with its gRPC API on 127.0.0.1:50051 inside
//! the namespace (so every lab has its own), queried with `gobgp -j`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::lab::Netns;
use super::router::{Origin, RouteEntry, Router, RouterKind};
use super::{require_binary, wait_until};

const GOBGPD: &str = "gobgpd";
const GOBGP: &str = "gobgp";
const API: &str = "127.0.0.1:50051";
const START_DEADLINE: Duration = Duration::from_secs(15);

/// gRPC `SessionState` ESTABLISHED, as `gobgp -j` prints it (a number).
const SESSION_ESTABLISHED: u64 = 6;

pub struct Gobgp {
    ns: Netns,
    name: String,
    config: PathBuf,
    pid: Option<u32>,
}

impl Gobgp {
    /// A GoBGP for node `name` in `ns`, reading `config` (TOML) as is.
    pub fn new(ns: Netns, name: &str, config: PathBuf) -> Gobgp {
        require_binary(GOBGPD, "gobgpd");
        require_binary(GOBGP, "gobgp");
        Gobgp {
            ns,
            name: name.to_string(),
            config,
            pid: None,
        }
    }

    /// Runs `gobgp ARGS` against this daemon and returns stdout.
    pub fn gobgp(&self, args: &[&str]) -> Result<String, String> {
        let mut full = vec!["-u", "127.0.0.1", "-p", "50051"];
        full.extend_from_slice(args);
        Ok(self.ns.exec(GOBGP, &full)?.stdout)
    }

    fn gobgp_json(&self, args: &[&str]) -> Result<Value, String> {
        let mut full = vec!["-j"];
        full.extend_from_slice(args);
        let text = self.gobgp(&full)?;
        if text.trim().is_empty() || text.trim() == "null" {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|e| format!("`gobgp {}` gave non-JSON ({e}): {text}", full.join(" ")))
    }

    fn neighbor_json(&self, neighbor: IpAddr) -> Result<Value, String> {
        self.gobgp_json(&["neighbor", &neighbor.to_string()])
    }
}

impl Router for Gobgp {
    fn kind(&self) -> RouterKind {
        RouterKind::Gobgp
    }

    fn start(&mut self) -> Result<(), String> {
        let config = self
            .config
            .to_str()
            .ok_or_else(|| format!("non-UTF-8 path {}", self.config.display()))?;
        let pid = self.ns.spawn(
            &format!("{}-gobgpd", self.name),
            GOBGPD,
            &[
                "-f",
                config,
                "-t",
                "toml",
                "--api-hosts",
                API,
                "--pprof-disable",
                "--log-plain",
                "--log-level",
                "debug",
            ],
        )?;
        self.pid = Some(pid);
        let lab = self.ns.lab().clone();
        wait_until(START_DEADLINE, || {
            if !lab.is_running(pid) {
                return Err("gobgpd exited; see its log".to_string());
            }
            self.gobgp(&["global"]).map(|_| ())
        })
        .map_err(|e| format!("GoBGP {} did not start: {e}", self.name))
    }

    fn stop(&mut self) -> Result<(), String> {
        if let Some(pid) = self.pid.take() {
            self.ns.lab().stop(pid);
        }
        Ok(())
    }

    fn routes(&self) -> Result<Vec<RouteEntry>, String> {
        let mut routes = Vec::new();
        for family in ["ipv4", "ipv6"] {
            let rib = self.gobgp_json(&["global", "rib", "-a", family])?;
            for (prefix, paths) in rib.as_object().into_iter().flatten() {
                let prefix: ipnet::IpNet = prefix
                    .parse()
                    .map_err(|e| format!("GoBGP prefix {prefix:?}: {e}"))?;
                for path in paths.as_array().into_iter().flatten() {
                    // Locally originated paths have no neighbor; not ours to check.
                    if let Some(route) = parse_path(prefix, path)? {
                        routes.push(route);
                    }
                }
            }
        }
        Ok(routes)
    }

    fn session_established(&self, neighbor: IpAddr) -> Result<bool, String> {
        let n = self.neighbor_json(neighbor)?;
        let state = n.pointer("/state/session_state");
        Ok(state.and_then(Value::as_u64) == Some(SESSION_ESTABLISHED)
            || state
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("established")))
    }

    fn describe_session(&self, neighbor: IpAddr) -> Result<String, String> {
        let n = self.neighbor_json(neighbor)?;
        let at = |p: &str| n.pointer(p).map(Value::to_string).unwrap_or_default();
        Ok(format!(
            "session_state {} admin_state {} flops {} messages {}",
            at("/state/session_state"),
            at("/state/admin_state"),
            at("/state/flops"),
            at("/state/messages"),
        ))
    }

    fn log(&self) -> String {
        self.ns.lab().read_log(&format!("{}-gobgpd", self.name))
    }
}

fn parse_path(prefix: ipnet::IpNet, path: &Value) -> Result<Option<RouteEntry>, String> {
    let Some(peer) = path.get("neighbor-ip").and_then(Value::as_str) else {
        return Ok(None);
    };
    let mut route = RouteEntry {
        prefix,
        next_hop: None,
        as_path: Vec::new(),
        origin: Origin::Incomplete,
        med: None,
        local_pref: None,
        communities: Vec::new(),
        large_communities: Vec::new(),
        peer: peer
            .parse()
            .map_err(|e| format!("GoBGP neighbor-ip {peer:?}: {e}"))?,
    };
    let u32_of = |v: Option<&Value>| {
        v.and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
    };
    for attr in path
        .get("attrs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match attr.get("type").and_then(Value::as_u64) {
            Some(1) => {
                let code = attr
                    .get("value")
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::MAX);
                route.origin = Origin::from_code(code)
                    .ok_or_else(|| format!("GoBGP origin {code} for {prefix}"))?;
            }
            Some(2) => {
                route.as_path = attr
                    .get("as_paths")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|segment| segment.get("asns").and_then(Value::as_array))
                    .flatten()
                    .filter_map(|asn| u32_of(Some(asn)))
                    .collect();
            }
            // NEXT_HOP (3) or MP_REACH_NLRI's next hop (14).
            Some(3 | 14) => {
                route.next_hop = attr
                    .get("nexthop")
                    .and_then(Value::as_str)
                    .and_then(|a| a.parse().ok());
            }
            Some(4) => route.med = u32_of(attr.get("metric")),
            Some(5) => route.local_pref = u32_of(attr.get("value")),
            Some(8) => {
                route.communities = attr
                    .get("communities")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|c| u32_of(Some(c)))
                    .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
                    .collect();
            }
            Some(32) => {
                route.large_communities = attr
                    .get("value")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        let part = |k| u32_of(c.get(k)).unwrap_or_default();
                        format!(
                            "{}:{}:{}",
                            part("ASN"),
                            part("LocalData1"),
                            part("LocalData2")
                        )
                    })
                    .collect();
            }
            _ => {}
        }
    }
    Ok(Some(route))
}
