//! BIRD 2: `bird -f` with its own config, control socket and pid file;
//! queried with `birdc -s SOCKET` (text output: BIRD has no JSON).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use super::fib::NextHop;
use super::lab::Netns;
use super::router::{BfdSession, Origin, RouteEntry, Router, RouterKind};
use super::{require_binary, wait_until};

const BIRD: &str = "/usr/sbin/bird";
const BIRDC: &str = "/usr/sbin/birdc";
const START_DEADLINE: Duration = Duration::from_secs(15);

pub struct Bird {
    ns: Netns,
    name: String,
    config: PathBuf,
    socket: PathBuf,
    pid: Option<u32>,
}

impl Bird {
    /// A BIRD for node `name` in `ns`, reading `config` as is.
    pub fn new(ns: Netns, name: &str, config: PathBuf) -> Bird {
        require_binary(BIRD, "bird2");
        require_binary(BIRDC, "bird2");
        let socket = ns.lab().dir().join(format!("{name}.bird.ctl"));
        Bird {
            ns,
            name: name.to_string(),
            config,
            socket,
            pid: None,
        }
    }

    /// Runs one birdc command and returns its text (without the banner).
    pub fn birdc(&self, args: &[&str]) -> Result<String, String> {
        let mut full = vec!["-s", self.socket.to_str().unwrap_or_default()];
        full.extend_from_slice(args);
        let out = self.ns.exec(BIRDC, &full)?;
        Ok(out
            .stdout
            .lines()
            .filter(|l| !l.starts_with("BIRD ") || !l.ends_with("ready."))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// `show protocols all`, grouped by BGP protocol name.
    fn protocols(&self) -> Result<BTreeMap<String, Protocol>, String> {
        Ok(parse_protocols(&self.birdc(&[
            "show",
            "protocols",
            "all",
        ])?))
    }

    fn protocol_for(&self, neighbor: IpAddr) -> Result<(String, Protocol), String> {
        self.protocols()?
            .into_iter()
            .find(|(_, p)| p.neighbor == Some(neighbor))
            .ok_or_else(|| format!("BIRD has no BGP protocol with neighbor {neighbor}"))
    }
}

impl Router for Bird {
    fn kind(&self) -> RouterKind {
        RouterKind::Bird
    }

    fn start(&mut self) -> Result<(), String> {
        let _ = std::fs::remove_file(&self.socket);
        let pidfile = self.ns.lab().dir().join(format!("{}.bird.pid", self.name));
        let pid = self.ns.spawn(
            &format!("{}-bird", self.name),
            BIRD,
            &[
                "-f",
                "-c",
                path_str(&self.config)?,
                "-s",
                path_str(&self.socket)?,
                "-P",
                path_str(&pidfile)?,
            ],
        )?;
        self.pid = Some(pid);
        let lab = self.ns.lab().clone();
        wait_until(START_DEADLINE, || {
            if !lab.is_running(pid) {
                return Err("bird exited (config error?); see its log".to_string());
            }
            self.birdc(&["show", "status"]).map(|_| ())
        })
        .map_err(|e| format!("BIRD {} did not start: {e}", self.name))
    }

    fn stop(&mut self) -> Result<(), String> {
        if let Some(pid) = self.pid.take() {
            self.ns.lab().stop(pid);
        }
        Ok(())
    }

    fn routes(&self) -> Result<Vec<RouteEntry>, String> {
        let neighbors: BTreeMap<String, IpAddr> = self
            .protocols()?
            .into_iter()
            .filter_map(|(name, p)| Some((name, p.neighbor?)))
            .collect();
        parse_routes(&self.birdc(&["show", "route", "all"])?, &neighbors)
    }

    fn session_established(&self, neighbor: IpAddr) -> Result<bool, String> {
        Ok(self.protocol_for(neighbor)?.1.state == "Established")
    }

    fn describe_session(&self, neighbor: IpAddr) -> Result<String, String> {
        let (name, _) = self.protocol_for(neighbor)?;
        self.birdc(&["show", "protocols", "all", &name])
    }

    fn log(&self) -> String {
        self.ns.lab().read_log(&format!("{}-bird", self.name))
    }

    /// What the kernel protocols export: with `merge paths on`, one route
    /// carrying every ECMP member.
    fn fib_next_hops(&self, prefix: IpNet) -> Result<Vec<NextHop>, String> {
        let protocols = self.birdc(&["show", "protocols"])?;
        let kernels = protocols.lines().filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            (words.next() == Some("Kernel")).then_some(name)
        });
        let socket = path_str(&self.socket)?;
        let network = prefix.to_string();
        let mut hops = Vec::new();
        for kernel in kernels {
            let out = self.ns.exec_unchecked(
                BIRDC,
                &["-s", socket, "show", "route", "export", kernel, &network],
            )?;
            let text = out.stdout;
            if !out.status.success() {
                // The other family's kernel protocol, or no such route.
                if text.contains("No valid tables") || text.contains("Network not found") {
                    continue;
                }
                return Err(format!(
                    "birdc show route export {kernel} {network}: {text}"
                ));
            }
            hops.extend(parse_export_next_hops(&text));
        }
        hops.sort();
        Ok(hops)
    }

    /// BIRD does not mark a route kept for a restarting peer in `show route`
    /// (its `s` flag is long-lived GR's LLGR_STALE): the route is stale while
    /// the protocol it came from says `Neighbor graceful restart active`
    /// (until that peer's End-of-RIB), or when it carries the `s` flag.
    fn bgp_path_stale(&self, prefix: IpNet) -> Result<Option<(bool, String)>, String> {
        let socket = path_str(&self.socket)?;
        let network = prefix.to_string();
        let out = self
            .ns
            .exec_unchecked(BIRDC, &["-s", socket, "show", "route", "for", &network])?;
        let text = out.stdout;
        if text.contains("Network not found") {
            return Ok(None);
        }
        if !out.status.success() {
            return Err(format!("birdc show route for {network}: {text}"));
        }
        let Some(line) = text.lines().find(|l| l.contains(" unicast ")) else {
            return Ok(None);
        };
        let llgr_stale = line
            .split_once(" (")
            .map(|(_, rest)| rest.trim_start_matches(|c: char| c.is_ascii_digit()))
            .is_some_and(|rest| rest.starts_with('s'));
        let protocol = line
            .split_once('[')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .ok_or_else(|| format!("no protocol in BIRD's route line {line:?}"))?;
        let info = self.birdc(&["show", "protocols", "all", protocol])?;
        let restarting = info.contains("Neighbor graceful restart active");
        let shown = format!(
            "{} (protocol {protocol}: {})",
            line.trim(),
            if restarting {
                "Neighbor graceful restart active"
            } else {
                "no graceful restart active"
            }
        );
        Ok(Some((restarting || llgr_stale, shown)))
    }

    fn reconfigure(&self, config: &std::path::Path) -> Result<String, String> {
        let out = self.birdc(&["configure", &format!("\"{}\"", path_str(config)?)])?;
        if out.contains("Reconfigured") || out.contains("Reconfiguration in progress") {
            Ok(out)
        } else {
            Err(format!("birdc configure {}: {out}", config.display()))
        }
    }

    fn daemon_pids(&self) -> Vec<u32> {
        self.pid.into_iter().collect()
    }

    fn bfd_session(&self, neighbor: IpAddr) -> Result<Option<BfdSession>, String> {
        let text = self.birdc(&["show", "bfd", "sessions"])?;
        Ok(parse_bfd_sessions(&text)
            .into_iter()
            .find(|(addr, _)| *addr == neighbor)
            .map(|(_, session)| session))
    }
}

/// The `via ADDR on IFACE [weight N]` lines of `show route export`.
fn parse_export_next_hops(text: &str) -> Vec<NextHop> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["via", gateway, "on", interface, ..] => Some(NextHop {
                    gateway: gateway.parse().ok(),
                    interface: interface.to_string(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// Parses `show bfd sessions`: under each `bfd1:` header, one line per
/// session: `IP-address  interface  State  Since  Interval  Timeout`.
fn parse_bfd_sessions(text: &str) -> Vec<(IpAddr, BfdSession)> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let addr = words.first()?.split('%').next()?.parse().ok()?;
            let state = words.get(2)?.to_string();
            Some((
                addr,
                BfdSession {
                    state,
                    detail: line.trim().to_string(),
                },
            ))
        })
        .collect()
}

fn path_str(path: &std::path::Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("non-UTF-8 path {}", path.display()))
}

#[derive(Debug, Default)]
struct Protocol {
    neighbor: Option<IpAddr>,
    state: String,
}

/// Parses `show protocols all`: a header line per protocol (`name BGP ...`),
/// then indented `Key: value` lines.
fn parse_protocols(text: &str) -> BTreeMap<String, Protocol> {
    let mut protocols = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) {
            let mut words = line.split_whitespace();
            current = match (words.next(), words.next()) {
                (Some(name), Some("BGP")) => {
                    protocols.insert(name.to_string(), Protocol::default());
                    Some(name.to_string())
                }
                _ => None,
            };
            continue;
        }
        let Some(protocol) = current.as_ref().and_then(|n| protocols.get_mut(n)) else {
            continue;
        };
        if let Some((key, value)) = line.trim().split_once(':') {
            match key {
                "BGP state" => protocol.state = value.trim().to_string(),
                "Neighbor address" => {
                    // A link-local neighbor shows as `fe80::1%eth1`.
                    let addr = value.trim().split('%').next().unwrap_or_default();
                    protocol.neighbor = addr.parse().ok();
                }
                _ => {}
            }
        }
    }
    protocols
}

/// Parses `show route all`. A route starts on an unindented line
/// (`prefix  unicast [proto time] ...`); further paths of the same prefix start
/// on a space-indented line with the same `[proto ...]`; attributes follow on
/// tab-indented `BGP.name: value` lines.
fn parse_routes(
    text: &str,
    neighbors: &BTreeMap<String, IpAddr>,
) -> Result<Vec<RouteEntry>, String> {
    let mut routes = Vec::new();
    let mut prefix: Option<ipnet::IpNet> = None;
    let mut current: Option<RouteEntry> = None;
    for line in text.lines() {
        if line.starts_with("Table ") || line.trim().is_empty() {
            continue;
        }
        if line.starts_with('\t') {
            if let Some(route) = current.as_mut() {
                apply_attribute(route, line.trim())?;
            }
            continue;
        }
        // A new path: flush the previous one.
        routes.extend(current.take());
        if !line.starts_with(' ') {
            let first = line.split_whitespace().next().unwrap_or_default();
            prefix = Some(
                first
                    .parse()
                    .map_err(|e| format!("BIRD route line {line:?}: bad prefix: {e}"))?,
            );
        }
        let protocol = line
            .split_once('[')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_default();
        if let (Some(prefix), Some(peer)) = (prefix, neighbors.get(protocol)) {
            current = Some(RouteEntry {
                prefix,
                next_hop: None,
                as_path: Vec::new(),
                origin: Origin::Incomplete,
                med: None,
                local_pref: None,
                communities: Vec::new(),
                large_communities: Vec::new(),
                peer: *peer,
            });
        }
    }
    routes.extend(current);
    Ok(routes)
}

fn apply_attribute(route: &mut RouteEntry, line: &str) -> Result<(), String> {
    let Some((key, value)) = line.split_once(':') else {
        return Ok(());
    };
    let value = value.trim();
    let number = || {
        value
            .parse::<u32>()
            .map_err(|e| format!("BIRD {key} {value:?}: {e}"))
    };
    match key {
        "BGP.origin" => {
            route.origin =
                Origin::from_name(value).ok_or_else(|| format!("BIRD origin {value:?}"))?;
        }
        "BGP.as_path" => {
            route.as_path = value
                .split_whitespace()
                .map(|t| t.trim_matches(|c| c == '{' || c == '}' || c == ','))
                .filter(|t| !t.is_empty())
                .map(|t| {
                    t.parse()
                        .map_err(|e| format!("BIRD as_path {value:?}: {e}"))
                })
                .collect::<Result<_, _>>()?;
        }
        // `BGP.next_hop: fd00::2 fe80::1` when a link-local rides along.
        "BGP.next_hop" => {
            route.next_hop = value.split_whitespace().next().and_then(|a| a.parse().ok())
        }
        "BGP.med" => route.med = Some(number()?),
        "BGP.local_pref" => route.local_pref = Some(number()?),
        "BGP.community" => route.communities = paren_groups(value),
        "BGP.large_community" => route.large_communities = paren_groups(value),
        _ => {}
    }
    Ok(())
}

/// `(65000,100) (65000,200)` -> `["65000:100", "65000:200"]`, and
/// `(65000, 1, 1)` -> `["65000:1:1"]`.
fn paren_groups(value: &str) -> Vec<String> {
    value
        .split(')')
        .map(|group| super::router::community_parts(group.trim()))
        .filter(|parts| !parts.is_empty())
        .map(|parts| {
            parts
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(":")
        })
        .collect()
}
