//! FRR: zebra + bgpd (+ bfdd when the node's `daemons` file enables it) with
//! a pathspace (`-N`) unique to the lab, so `vtysh -N <pathspace>` reaches
//! exactly these daemons. The integrated config
//! (frr.conf) is applied with `vtysh -f` once both daemons answer, the way
//! `vtysh -b` applies it at boot in the FRR container.
//!
//! Running as root: the daemons still drop to the `frr` user, so their run
//! directory `/var/run/frr/<pathspace>` is created owned by frr. `-P 0` turns
//! off the TCP vty (one would clash with the namespace's other daemons).
//!
//! [`FrrDaemons`] is that start-up, for any set of FRR daemons: [`Frr`]
//! (BGP) and the OSPF router in `ospf.rs` both start FRR through it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use ipnet::IpNet;

use super::fib::NextHop;
use super::lab::Netns;
use super::router::{BfdSession, Origin, RouteEntry, Router, RouterKind};
use super::{require_binary, wait_until};

const FRR_LIB: &str = "/usr/lib/frr";
const VTYSH: &str = "/usr/bin/vtysh";
const RUN_ROOT: &str = "/var/run/frr";
const START_DEADLINE: Duration = Duration::from_secs(20);

/// The FRR daemons of one node: a pathspace unique to the lab, a run
/// directory owned by `frr`, each daemon started and waited for, the
/// integrated config applied with `vtysh -f`, and `vtysh` against exactly
/// these daemons.
pub struct FrrDaemons {
    ns: Netns,
    name: String,
    pathspace: String,
    /// Started daemons, in start order.
    pids: Vec<(&'static str, u32)>,
}

impl FrrDaemons {
    /// For node `name` in `ns`; `daemons` (zebra is implied) must be
    /// installed, or the test fails here.
    pub fn new(ns: Netns, name: &str, daemons: &[&str]) -> FrrDaemons {
        require_binary(VTYSH, "frr");
        for d in ["zebra"].iter().chain(daemons) {
            require_binary(&format!("{FRR_LIB}/{d}"), "frr");
        }
        // `vpt-<pid>-<seq>` -> `vpt<pid>x<seq><node>`: a plain directory name
        // that still starts with the owner pid for stale-run cleanup.
        let id = ns.lab().id().replacen('-', "", 1).replace('-', "x");
        let node: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
        FrrDaemons {
            ns,
            name: name.to_string(),
            pathspace: format!("{id}{node}"),
            pids: Vec::new(),
        }
    }

    fn run_dir(&self) -> PathBuf {
        PathBuf::from(RUN_ROOT).join(&self.pathspace)
    }

    /// Starts `daemon` (the first call also prepares the run directory) and
    /// waits until it has created its vty socket (zebra: also `zserv.api`).
    pub fn start(&mut self, daemon: &'static str) -> Result<u32, String> {
        let run_dir = self.run_dir();
        if self.pids.is_empty() {
            std::fs::create_dir_all(&run_dir)
                .map_err(|e| format!("cannot create {}: {e}", run_dir.display()))?;
            self.ns.lab().add_run_dir(run_dir.clone());
            let chown = Command::new("chown")
                .arg("frr:frr")
                .arg(&run_dir)
                .status()
                .map_err(|e| format!("chown {}: {e}", run_dir.display()))?;
            if !chown.success() {
                return Err(format!("chown frr:frr {} failed", run_dir.display()));
            }
        }
        let pid = self.ns.spawn(
            &format!("{}-{daemon}", self.name),
            &format!("{FRR_LIB}/{daemon}"),
            &[
                "-N",
                &self.pathspace,
                "-u",
                "frr",
                "-g",
                "frr",
                "-P",
                "0",
                "--log",
                "stdout",
                "--log-level",
                "debugging",
            ],
        )?;
        self.pids.push((daemon, pid));
        let lab = self.ns.lab().clone();
        let vty = format!("{daemon}.vty");
        wait_until(START_DEADLINE, || {
            if !lab.is_running(pid) {
                return Err(format!("{daemon} exited; see its log"));
            }
            let zserv = daemon != "zebra" || run_dir.join("zserv.api").exists();
            if zserv && run_dir.join(&vty).exists() {
                Ok(())
            } else {
                Err(format!("{daemon} sockets not there yet"))
            }
        })
        .map_err(|e| format!("FRR {} {daemon} did not start: {e}", self.name))?;
        Ok(pid)
    }

    /// `vtysh -f config`: the integrated config, as `vtysh -b` applies it at
    /// boot in the FRR container.
    pub fn apply(&self, config: &Path) -> Result<(), String> {
        let config = config
            .to_str()
            .ok_or_else(|| format!("non-UTF-8 path {}", config.display()))?;
        let applied = self
            .ns
            .exec_unchecked(VTYSH, &["-N", &self.pathspace, "-f", config])?;
        if !applied.status.success() {
            return Err(format!(
                "vtysh -f {config} failed: {}{}",
                applied.stdout, applied.stderr
            ));
        }
        Ok(())
    }

    /// The pid of `daemon` while it runs (started and not stopped).
    pub fn pid(&self, daemon: &str) -> Option<u32> {
        self.pids
            .iter()
            .find(|(d, _)| *d == daemon)
            .map(|(_, p)| *p)
    }

    /// Stops every daemon, the last started first.
    pub fn stop(&mut self) {
        while let Some((_, pid)) = self.pids.pop() {
            self.ns.lab().stop(pid);
        }
    }

    /// Runs one vtysh command against these daemons and returns its stdout.
    pub fn vtysh(&self, command: &str) -> Result<String, String> {
        let out = self
            .ns
            .exec(VTYSH, &["-N", &self.pathspace, "-c", command])?;
        Ok(out.stdout)
    }

    pub fn vtysh_json(&self, command: &str) -> Result<Value, String> {
        let text = self.vtysh(command)?;
        serde_json::from_str(&text)
            .map_err(|e| format!("FRR `{command}` gave non-JSON ({e}): {text}"))
    }

    /// The logs of `daemons` (each `<node>-<daemon>`), concatenated.
    pub fn log(&self, daemons: &[&str]) -> String {
        let lab = self.ns.lab();
        daemons
            .iter()
            .map(|d| lab.read_log(&format!("{}-{d}", self.name)))
            .collect()
    }
}

pub struct Frr {
    daemons: FrrDaemons,
    config: PathBuf,
    /// Start bfdd too (`bfdd=yes` in the node's `daemons` file).
    with_bfdd: bool,
}

impl Frr {
    /// An FRR for node `name` in `ns`, applying the integrated `config` as is.
    pub fn new(ns: Netns, name: &str, config: PathBuf) -> Frr {
        Frr {
            daemons: FrrDaemons::new(ns, name, &["bgpd"]),
            config,
            with_bfdd: false,
        }
    }

    /// Also runs bfdd, between zebra and bgpd (bgpd's BFD requests reach
    /// bfdd through zebra).
    pub fn with_bfdd(mut self, on: bool) -> Frr {
        if on {
            require_binary(&format!("{FRR_LIB}/bfdd"), "frr");
        }
        self.with_bfdd = on;
        self
    }

    /// Runs one vtysh command against this FRR and returns its stdout.
    pub fn vtysh(&self, command: &str) -> Result<String, String> {
        self.daemons.vtysh(command)
    }

    fn vtysh_json(&self, command: &str) -> Result<Value, String> {
        self.daemons.vtysh_json(command)
    }

    fn neighbor_json(&self, neighbor: IpAddr) -> Result<Value, String> {
        let all = self.vtysh_json(&format!("show bgp neighbors {neighbor} json"))?;
        all.get(neighbor.to_string())
            .cloned()
            .ok_or_else(|| format!("FRR has no neighbor {neighbor}: {all}"))
    }
}

impl Router for Frr {
    fn kind(&self) -> RouterKind {
        RouterKind::Frr
    }

    fn start(&mut self) -> Result<(), String> {
        self.daemons.start("zebra")?;
        if self.with_bfdd {
            self.daemons.start("bfdd")?;
        }
        self.daemons.start("bgpd")?;
        wait_until(START_DEADLINE, || {
            self.vtysh("show bgp summary json").map(|_| ())
        })
        .map_err(|e| format!("FRR {} bgpd does not answer: {e}", self.daemons.name))?;
        self.daemons.apply(&self.config)
    }

    fn stop(&mut self) -> Result<(), String> {
        self.daemons.stop();
        Ok(())
    }

    fn routes(&self) -> Result<Vec<RouteEntry>, String> {
        let mut routes = Vec::new();
        for afi in ["ipv4", "ipv6"] {
            let rib = self.vtysh_json(&format!("show bgp {afi} unicast json detail"))?;
            let Some(prefixes) = rib.get("routes").and_then(Value::as_object) else {
                continue;
            };
            for (prefix, paths) in prefixes {
                let prefix: ipnet::IpNet = prefix
                    .parse()
                    .map_err(|e| format!("FRR prefix {prefix:?}: {e}"))?;
                for path in paths.as_array().into_iter().flatten() {
                    // The first element is the prefix header, not a path.
                    if path.get("nexthops").is_some() {
                        routes.push(parse_path(prefix, path)?);
                    }
                }
            }
        }
        Ok(routes)
    }

    fn session_established(&self, neighbor: IpAddr) -> Result<bool, String> {
        let n = self.neighbor_json(neighbor)?;
        Ok(n.get("bgpState").and_then(Value::as_str) == Some("Established"))
    }

    fn describe_session(&self, neighbor: IpAddr) -> Result<String, String> {
        let n = self.neighbor_json(neighbor)?;
        let field = |k: &str| n.get(k).map(Value::to_string).unwrap_or_default();
        Ok(format!(
            "bgpState {} lastResetDueTo {} lastNotificationReason {} lastErrorCodeSubcode {} \
             connectionsEstablished {} connectionsDropped {}",
            field("bgpState"),
            field("lastResetDueTo"),
            field("lastNotificationReason"),
            field("lastErrorCodeSubcode"),
            field("connectionsEstablished"),
            field("connectionsDropped"),
        ))
    }

    fn log(&self) -> String {
        self.daemons.log(&["zebra", "bfdd", "bgpd"])
    }

    /// zebra's RIB entry: the next hops it installed (`fib: true`).
    fn fib_next_hops(&self, prefix: IpNet) -> Result<Vec<NextHop>, String> {
        let afi = if prefix.addr().is_ipv4() {
            "ip"
        } else {
            "ipv6"
        };
        let rib = self.vtysh_json(&format!("show {afi} route {prefix} json"))?;
        let mut hops: Vec<NextHop> = rib
            .get(prefix.to_string())
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|entry| entry.get("installed").and_then(Value::as_bool) == Some(true))
            .filter_map(|entry| entry.get("nexthops").and_then(Value::as_array))
            .flatten()
            .filter(|nh| nh.get("fib").and_then(Value::as_bool) == Some(true))
            .filter_map(|nh| {
                Some(NextHop {
                    gateway: nh.get("ip").and_then(Value::as_str)?.parse().ok(),
                    interface: nh.get("interfaceName")?.as_str()?.to_string(),
                })
            })
            .collect();
        hops.sort();
        Ok(hops)
    }

    /// bgpd's path for exactly `prefix`: `"stale": true` while it is kept
    /// for a restarting peer.
    fn bgp_path_stale(&self, prefix: IpNet) -> Result<Option<(bool, String)>, String> {
        let afi = if prefix.addr().is_ipv4() {
            "ipv4"
        } else {
            "ipv6"
        };
        let text = self.vtysh(&format!("show bgp {afi} unicast {prefix} json"))?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| format!("FRR `show bgp {afi} unicast {prefix} json`: {e}: {text}"))?;
        let Some(path) = doc
            .get("paths")
            .and_then(Value::as_array)
            .and_then(|paths| paths.first())
        else {
            return Ok(None);
        };
        let stale = path.get("stale").and_then(Value::as_bool).unwrap_or(false);
        Ok(Some((stale, path.to_string())))
    }

    fn daemon_pids(&self) -> Vec<u32> {
        ["bfdd", "bgpd"]
            .into_iter()
            .filter_map(|d| self.daemons.pid(d))
            .collect()
    }

    fn bfd_session(&self, neighbor: IpAddr) -> Result<Option<BfdSession>, String> {
        let peers = self.vtysh_json("show bfd peers json")?;
        let Some(peer) = peers.as_array().into_iter().flatten().find(|p| {
            p.get("peer")
                .and_then(Value::as_str)
                .and_then(|a| a.parse::<IpAddr>().ok())
                == Some(neighbor)
        }) else {
            return Ok(None);
        };
        let status = peer.get("status").and_then(Value::as_str).unwrap_or("");
        let state = match status {
            "up" => "Up",
            "down" => "Down",
            "init" => "Init",
            "shutdown" | "adm-down" => "AdminDown",
            other => other,
        };
        let field = |k: &str| peer.get(k).map(Value::to_string).unwrap_or_default();
        Ok(Some(BfdSession {
            state: state.to_string(),
            detail: format!(
                "status {status}, diagnostic {}, remote-diagnostic {}, tx {} rx {} x{}, \
                 remote tx {} rx {} x{}",
                field("diagnostic"),
                field("remote-diagnostic"),
                field("transmit-interval"),
                field("receive-interval"),
                field("detect-multiplier"),
                field("remote-transmit-interval"),
                field("remote-receive-interval"),
                field("remote-detect-multiplier"),
            ),
        }))
    }
}

fn parse_path(prefix: ipnet::IpNet, path: &Value) -> Result<RouteEntry, String> {
    let u32_at = |key: &str| {
        path.get(key)
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
    };
    let strings = |key: &str| -> Vec<String> {
        path.get(key)
            .and_then(|c| c.get("list"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let as_path = path
        .pointer("/aspath/segments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|segment| segment.get("list").and_then(Value::as_array))
        .flatten()
        .filter_map(|asn| asn.as_u64().and_then(|a| u32::try_from(a).ok()))
        .collect();
    // With a link-local next hop, FRR lists the global one first.
    let next_hop = path
        .get("nexthops")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|nh| nh.get("scope").and_then(Value::as_str) != Some("link-local"))
        .find_map(|nh| nh.get("ip")?.as_str()?.parse().ok());
    let origin_text = path.get("origin").and_then(Value::as_str).unwrap_or("");
    let peer = path
        .pointer("/peer/peerId")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("FRR path for {prefix} without peer.peerId: {path}"))?;
    Ok(RouteEntry {
        prefix,
        next_hop,
        as_path,
        origin: Origin::from_name(origin_text)
            .ok_or_else(|| format!("FRR origin {origin_text:?} for {prefix}"))?,
        med: u32_at("metric"),
        local_pref: u32_at("locPrf").or_else(|| u32_at("localpref")),
        communities: strings("community"),
        large_communities: strings("largeCommunity"),
        peer: peer
            .parse()
            .map_err(|e| format!("FRR peerId {peer:?}: {e}"))?,
    })
}
