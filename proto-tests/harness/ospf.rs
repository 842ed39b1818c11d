//! OSPF scenarios' pieces: the `ospf` containerlab topology in namespaces,
//! FRR with ospfd/ospf6d, BIRD, and the `vipd` processes.
//!
//! Kept apart from `clab.rs`'s BGP [`Router`](super::Router)s because an OSPF
//! router is asked different questions (neighbors, routes with next hops,
//! the LSAs it stored) and FRR runs other daemons; FRR is started by the
//! same [`FrrDaemons`] as the BGP one.
//!
//! vipd runs as the real binary (`vipd run`) with the node's config, which
//! a test may edit first ([`OspfLab::up_with`]: the edited copy goes to the
//! lab directory). Each vipd node gets its own `/etc/vipd`, where the
//! node's file checks look: [`OspfLab::fail`] creates such a file, which
//! fails that health check as a dead service would.
#![cfg(feature = "ospf")]

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use serde_json::Value;

use super::frr::FrrDaemons;
use super::lab::{Lab, Netns};
use super::{RouterKind, Vipd, require_binary, wait_until};
use crate::clab::{TopologyFile, topology_dir};

const BIRD: &str = "/usr/sbin/bird";
const BIRDC: &str = "/usr/sbin/birdc";
const START_DEADLINE: Duration = Duration::from_secs(20);

/// OSPFv2 or OSPFv3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ospf {
    V2,
    V3,
}

impl std::fmt::Display for Ospf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ospf::V2 => "OSPFv2",
            Ospf::V3 => "OSPFv3",
        })
    }
}

/// What the scenarios ask an OSPF router.
pub trait OspfRouter {
    fn kind(&self) -> RouterKind;
    fn start(&mut self) -> Result<(), String>;
    /// (neighbor Router ID, interface) of every neighbor in state Full.
    fn full_neighbors(&self, v: Ospf) -> Result<Vec<(Ipv4Addr, String)>, String>;
    /// The next hops of the router's OSPF route for `prefix` (empty: none).
    fn next_hops(&self, prefix: IpNet) -> Result<Vec<IpAddr>, String>;
    /// The router's own words on its neighbors and route for `prefix`.
    fn describe(&self, prefix: IpNet) -> String;
    /// The link metrics in the Router-LSA of `adv_router`, as the router
    /// stored it.
    fn router_lsa_metrics(&self, v: Ospf, adv_router: Ipv4Addr) -> Result<Vec<u32>, String>;
    /// The LS ages of every LSA `adv_router` originated, as stored.
    fn lsa_ages(&self, v: Ospf, adv_router: Ipv4Addr) -> Result<Vec<u16>, String>;
    /// The flags of `adv_router`'s OSPFv2 Router-LSA as the router stored
    /// them (RFC 8770 H-bit 0x80, E-bit 0x02); `None` if this router's CLI
    /// does not show them (BIRD 2.0).
    fn router_lsa_flags(&self, adv_router: Ipv4Addr) -> Result<Option<Vec<u8>>, String>;
}

/// The `ospf` topology in namespaces: routers running, vipd nodes ready
/// but not started.
pub struct OspfLab {
    pub routers: BTreeMap<String, Box<dyn OspfRouter>>,
    vipds: BTreeMap<String, Vipd>,
    /// Each vipd node's `/etc/vipd`, as a host path.
    etc: BTreeMap<String, PathBuf>,
    pub namespaces: BTreeMap<String, Netns>,
    // Last: the nodes go first, then the lab kills every process and
    // deletes every namespace.
    lab: Lab,
}

impl OspfLab {
    /// Namespaces, links and `exec` lines of `containerlab/<name>.clab.yml`,
    /// routers started; each vipd node's config is its file in `configs/`
    /// as `edit(node, text)` returns it (the identity for most scenarios).
    pub fn up_with(name: &str, edit: impl Fn(&str, &str) -> String) -> OspfLab {
        let file = TopologyFile::load(name);
        let lab = Lab::new();
        let mut namespaces = BTreeMap::new();
        for node in file.topology.nodes.keys() {
            namespaces.insert(node.clone(), lab.add_netns(node));
        }
        for link in &file.topology.links {
            let [(a, a_if), (b, b_if)] = link.endpoints.clone().map(|e| {
                let (n, i) = e
                    .split_once(':')
                    .unwrap_or_else(|| panic!("bad endpoint {e:?}"));
                (n.to_string(), i.to_string())
            });
            lab.link(&namespaces[&a], &a_if, &namespaces[&b], &b_if);
        }
        for (node, def) in &file.topology.nodes {
            for line in &def.exec {
                namespaces[node]
                    .sh(line)
                    .unwrap_or_else(|e| panic!("{name}: exec on {node}: {e}"));
            }
        }
        let mut routers: BTreeMap<String, Box<dyn OspfRouter>> = BTreeMap::new();
        let mut vipds = BTreeMap::new();
        let mut etc = BTreeMap::new();
        for (node, def) in &file.topology.nodes {
            let binds: Vec<PathBuf> = def
                .binds
                .iter()
                .map(|b| topology_dir().join(b.split(':').next().unwrap_or(b)))
                .collect();
            let find = |file: &str| {
                binds
                    .iter()
                    .find(|p| p.file_name().is_some_and(|f| f == file))
                    .cloned()
            };
            let ns = namespaces[node].clone();
            if let Some(conf) = find("frr.conf") {
                let daemons = find("daemons")
                    .unwrap_or_else(|| panic!("{node}: FRR needs a bound daemons file"));
                routers.insert(
                    node.clone(),
                    Box::new(OspfFrr::new(ns, node, conf, &daemons)),
                );
            } else if let Some(conf) = find("bird.conf") {
                routers.insert(node.clone(), Box::new(OspfBird::new(ns, node, conf)));
            } else if let Some(conf) = find("vipd.toml") {
                let text =
                    fs::read_to_string(&conf).unwrap_or_else(|e| panic!("{}: {e}", conf.display()));
                let edited = edit(node, &text);
                let copy = lab.dir().join(format!("{node}.vipd.toml"));
                fs::write(&copy, &edited).unwrap_or_else(|e| panic!("{}: {e}", copy.display()));
                let dir = ns.etc_dir("vipd").unwrap_or_else(|e| panic!("{node}: {e}"));
                etc.insert(node.clone(), dir);
                vipds.insert(node.clone(), Vipd::new(ns, node, copy));
            }
        }
        println!(
            "{name}: namespaces {}-<node>, logs in {}",
            lab.id(),
            lab.dir().display()
        );
        for (node, r) in &mut routers {
            r.start()
                .unwrap_or_else(|e| panic!("cannot start {node}: {e}"));
        }
        OspfLab {
            routers,
            vipds,
            etc,
            namespaces,
            lab,
        }
    }

    /// Starts every vipd node (`vipd run`).
    pub fn start_vipds(&mut self) {
        for (node, v) in &mut self.vipds {
            v.start()
                .unwrap_or_else(|e| panic!("cannot start vipd on {node}: {e}"));
        }
    }

    pub fn router(&self, name: &str) -> &dyn OspfRouter {
        self.routers
            .get(name)
            .unwrap_or_else(|| panic!("no router {name}"))
            .as_ref()
    }

    pub fn vipd(&self, name: &str) -> &Vipd {
        self.vipds
            .get(name)
            .unwrap_or_else(|| panic!("no vipd {name}"))
    }

    pub fn vipd_mut(&mut self, name: &str) -> &mut Vipd {
        self.vipds
            .get_mut(name)
            .unwrap_or_else(|| panic!("no vipd {name}"))
    }

    pub fn dir(&self) -> &Path {
        self.lab.dir()
    }

    /// Rewrites the config `node`'s vipd reads (for `vipd reload`) as
    /// `edit(text)` returns it; an edit that changes nothing fails the test.
    pub fn rewrite_config(&self, node: &str, edit: impl Fn(&str) -> String) {
        let path = self.lab.dir().join(format!("{node}.vipd.toml"));
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let edited = edit(&text);
        assert_ne!(edited, text, "{node}: the config edit changed nothing");
        fs::write(&path, edited).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// Creates `/etc/vipd/<file>` on `node`, failing the file check that
    /// watches it; returns the moment it was created.
    pub fn fail(&self, node: &str, file: &str) -> Instant {
        let path = self
            .etc
            .get(node)
            .unwrap_or_else(|| panic!("no /etc/vipd for {node}"))
            .join(file);
        let at = Instant::now();
        fs::write(&path, b"failed by the test\n")
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        at
    }

    /// The `ospf` part of `vipd status --json` on `node`: one object per
    /// running instance.
    pub fn ospf_status(&self, node: &str) -> Result<Vec<Value>, String> {
        let out = self.vipd(node).ctl(&["status", "--json"])?;
        if !out.status.success() {
            return Err(format!(
                "vipd status on {node}: {}{}",
                out.stdout, out.stderr
            ));
        }
        let status: Value = serde_json::from_str(&out.stdout)
            .map_err(|e| format!("vipd status --json on {node} ({e}): {}", out.stdout))?;
        Ok(status
            .get("ospf")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }
}

/// Polls `check` every 20 ms until it holds; returns how long that took.
/// For timings that are printed; `deadline` is generous.
pub fn measure_until<F>(deadline: Duration, mut check: F) -> Result<Duration, String>
where
    F: FnMut() -> Result<(), String>,
{
    let start = Instant::now();
    loop {
        let failure = match check() {
            Ok(()) => return Ok(start.elapsed()),
            Err(e) => e,
        };
        if start.elapsed() >= deadline {
            return Err(format!(
                "still failing after {:.1}s: {failure}",
                deadline.as_secs_f64()
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

// ---- FRR

/// FRR with zebra and the OSPF daemons its `daemons` file enables.
pub struct OspfFrr {
    daemons: FrrDaemons,
    config: PathBuf,
    enabled: Vec<&'static str>,
}

impl OspfFrr {
    fn new(ns: Netns, name: &str, config: PathBuf, daemons_file: &Path) -> OspfFrr {
        let text = fs::read_to_string(daemons_file)
            .unwrap_or_else(|e| panic!("{}: {e}", daemons_file.display()));
        let enabled: Vec<&'static str> = ["ospfd", "ospf6d"]
            .into_iter()
            .filter(|d| text.lines().any(|l| l.trim() == format!("{d}=yes")))
            .collect();
        assert!(
            !enabled.is_empty(),
            "{}: enable ospfd and/or ospf6d",
            daemons_file.display()
        );
        OspfFrr {
            daemons: FrrDaemons::new(ns, name, &enabled),
            config,
            enabled,
        }
    }

    pub fn vtysh(&self, command: &str) -> Result<String, String> {
        self.daemons.vtysh(command)
    }

    fn vtysh_json(&self, command: &str) -> Result<Value, String> {
        self.daemons.vtysh_json(command)
    }
}

impl OspfRouter for OspfFrr {
    /// ospfd prints `Flags: 0x80` (then names some of them) per Router-LSA.
    fn router_lsa_flags(&self, adv_router: Ipv4Addr) -> Result<Option<Vec<u8>>, String> {
        let text = self.vtysh(&format!(
            "show ip ospf database router adv-router {adv_router}"
        ))?;
        Ok(Some(
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("Flags: 0x"))
                .filter_map(|f| u8::from_str_radix(f.split_whitespace().next()?, 16).ok())
                .collect(),
        ))
    }

    fn kind(&self) -> RouterKind {
        RouterKind::Frr
    }

    fn start(&mut self) -> Result<(), String> {
        self.daemons.start("zebra")?;
        for d in self.enabled.clone() {
            self.daemons.start(d)?;
        }
        self.daemons.apply(&self.config)
    }

    fn full_neighbors(&self, v: Ospf) -> Result<Vec<(Ipv4Addr, String)>, String> {
        let mut out = Vec::new();
        match v {
            // {"neighbors": {"<rid>": [{"nbrState": "Full/DROther", "ifaceName": "eth2:10.255.31.1", ...}]}}
            Ospf::V2 => {
                let json = self.vtysh_json("show ip ospf neighbor json")?;
                for (rid, list) in json
                    .get("neighbors")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    for n in list.as_array().into_iter().flatten() {
                        let state = n
                            .get("nbrState")
                            .or_else(|| n.get("state"))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        let iface = n
                            .get("ifaceName")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .split(':')
                            .next()
                            .unwrap_or("");
                        if state.starts_with("Full")
                            && let Ok(rid) = rid.parse()
                        {
                            out.push((rid, iface.to_string()));
                        }
                    }
                }
            }
            // {"neighbors": [{"neighborId": "...", "state": "Full", "interfaceName": "eth1", ...}]}
            Ospf::V3 => {
                let json = self.vtysh_json("show ipv6 ospf6 neighbor json")?;
                for n in json
                    .get("neighbors")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let state = n.get("state").and_then(Value::as_str).unwrap_or("");
                    let iface = n.get("interfaceName").and_then(Value::as_str).unwrap_or("");
                    if state == "Full"
                        && let Some(rid) = n
                            .get("neighborId")
                            .and_then(Value::as_str)
                            .and_then(|r| r.parse().ok())
                    {
                        out.push((rid, iface.to_string()));
                    }
                }
            }
        }
        Ok(out)
    }

    fn next_hops(&self, prefix: IpNet) -> Result<Vec<IpAddr>, String> {
        let afi = if prefix.addr().is_ipv4() {
            "ip"
        } else {
            "ipv6"
        };
        let json = self.vtysh_json(&format!("show {afi} route {prefix} json"))?;
        let mut hops = Vec::new();
        for entry in json
            .get(prefix.to_string())
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let protocol = entry.get("protocol").and_then(Value::as_str).unwrap_or("");
            if !protocol.starts_with("ospf") {
                continue;
            }
            for nh in entry
                .get("nexthops")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(ip) = nh
                    .get("ip")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                {
                    hops.push(ip);
                }
            }
        }
        Ok(hops)
    }

    fn describe(&self, prefix: IpNet) -> String {
        let afi = if prefix.addr().is_ipv4() {
            "ip"
        } else {
            "ipv6"
        };
        let mut s = String::new();
        let db = if prefix.addr().is_ipv4() {
            "show ip ospf database router"
        } else {
            "show ipv6 ospf6 database detail"
        };
        let routes = if prefix.addr().is_ipv4() {
            "show ip ospf route"
        } else {
            "show ipv6 ospf6 route"
        };
        for c in [
            "show ip ospf neighbor",
            "show ipv6 ospf6 neighbor",
            &format!("show {afi} route {prefix}"),
            db,
            "show ip ospf database network",
            routes,
        ] {
            s += &format!("\nFRR `{c}`:\n{}", self.vtysh(c).unwrap_or_else(|e| e));
        }
        s
    }

    fn router_lsa_metrics(&self, v: Ospf, adv_router: Ipv4Addr) -> Result<Vec<u32>, String> {
        // Text output: "TOS 0 Metric: 65535" (ospfd), "Metric: 65535" (ospf6d).
        let text = match v {
            Ospf::V2 => self.vtysh(&format!(
                "show ip ospf database router adv-router {adv_router}"
            ))?,
            Ospf::V3 => self.vtysh(&format!(
                "show ipv6 ospf6 database router adv-router {adv_router} detail"
            ))?,
        };
        Ok(text
            .lines()
            .filter_map(|l| {
                l.trim()
                    .rsplit_once("Metric: ")
                    .and_then(|(_, m)| m.trim().parse().ok())
            })
            .collect())
    }

    fn lsa_ages(&self, v: Ospf, adv_router: Ipv4Addr) -> Result<Vec<u16>, String> {
        // ospfd: "  LS age: 3600" per LSA; ospf6d: a table whose fourth
        // column is the age ("Rtr  0.0.0.0  10.255.36.1  3600 80000002 ...").
        Ok(match v {
            Ospf::V2 => ["router", "external"]
                .iter()
                .map(|t| {
                    self.vtysh(&format!(
                        "show ip ospf database {t} adv-router {adv_router}"
                    ))
                })
                .collect::<Result<Vec<String>, String>>()?
                .iter()
                .flat_map(|text| text.lines())
                .filter_map(|l| {
                    l.trim()
                        .strip_prefix("LS age: ")
                        .and_then(|a| a.trim().parse().ok())
                })
                .collect(),
            Ospf::V3 => self
                .vtysh("show ipv6 ospf6 database")?
                .lines()
                .filter_map(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    (cols.get(2) == Some(&adv_router.to_string().as_str()))
                        .then(|| cols.get(3)?.parse().ok())?
                })
                .collect(),
        })
    }
}

// ---- BIRD

pub struct OspfBird {
    ns: Netns,
    name: String,
    config: PathBuf,
    socket: PathBuf,
}

impl OspfBird {
    fn new(ns: Netns, name: &str, config: PathBuf) -> OspfBird {
        require_binary(BIRD, "bird2");
        require_binary(BIRDC, "bird2");
        let socket = ns.lab().dir().join(format!("{name}.bird.ctl"));
        OspfBird {
            ns,
            name: name.to_string(),
            config,
            socket,
        }
    }

    pub fn birdc(&self, args: &[&str]) -> Result<String, String> {
        let socket = self.socket.to_str().ok_or("non-UTF-8 socket path")?;
        let mut full = vec!["-s", socket];
        full.extend_from_slice(args);
        // birdc exits 1 for "Network not found", which is an answer here.
        let out = self.ns.exec_unchecked(BIRDC, &full)?;
        if out.status.success() || out.stdout.contains("Network not found") {
            Ok(out.stdout)
        } else {
            Err(format!(
                "birdc {}: {}{}",
                args.join(" "),
                out.stdout,
                out.stderr
            ))
        }
    }

    fn protocol(v: Ospf) -> &'static str {
        match v {
            Ospf::V2 => "o2",
            Ospf::V3 => "o3",
        }
    }
}

impl OspfRouter for OspfBird {
    fn router_lsa_flags(&self, _adv_router: Ipv4Addr) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }

    fn kind(&self) -> RouterKind {
        RouterKind::Bird
    }

    fn start(&mut self) -> Result<(), String> {
        let pidfile = self.ns.lab().dir().join(format!("{}.bird.pid", self.name));
        let config = self.config.to_str().ok_or("non-UTF-8 config path")?;
        let socket = self.socket.to_str().ok_or("non-UTF-8 socket path")?;
        let pidfile = pidfile.to_str().ok_or("non-UTF-8 pid path")?;
        let pid = self.ns.spawn(
            &format!("{}-bird", self.name),
            BIRD,
            &["-f", "-c", config, "-s", socket, "-P", pidfile],
        )?;
        let lab = self.ns.lab().clone();
        wait_until(START_DEADLINE, || {
            if !lab.is_running(pid) {
                return Err("bird exited (config error?); see its log".to_string());
            }
            self.birdc(&["show", "status"]).map(|_| ())
        })
        .map_err(|e| format!("BIRD {} did not start: {e}", self.name))
    }

    fn full_neighbors(&self, v: Ospf) -> Result<Vec<(Ipv4Addr, String)>, String> {
        // "10.255.36.1 	  0	Full/PtP  	3.748	eth1       10.255.32.2"
        let text = self.birdc(&["show", "ospf", "neighbors", Self::protocol(v)])?;
        Ok(text
            .lines()
            .filter_map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                let rid: Ipv4Addr = cols.first()?.parse().ok()?;
                cols.get(2)?
                    .starts_with("Full")
                    .then(|| (rid, cols.get(4).unwrap_or(&"").to_string()))
            })
            .collect())
    }

    fn next_hops(&self, prefix: IpNet) -> Result<Vec<IpAddr>, String> {
        let table = if prefix.addr().is_ipv4() {
            "master4"
        } else {
            "master6"
        };
        let text = self.birdc(&["show", "route", "for", &prefix.to_string(), "table", table])?;
        // "198.18.50.1/32 unicast [o2 ...] * E2 (150/10/1) [10.255.36.1]"
        // "	via 10.255.32.2 on eth1 weight 1"; a single path may sit on the
        // first line: "... [o2 ...] * E2 (150/10/1) [10.255.36.1] via ..."?
        let mut hops = Vec::new();
        let mut in_route = false;
        for line in text.lines() {
            if line.contains(&prefix.to_string())
                || (!line.starts_with(char::is_whitespace) && line.contains(" [o"))
            {
                in_route = line.contains(" [o");
            }
            if !in_route {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            for (i, w) in words.iter().enumerate() {
                if *w == "via"
                    && let Some(ip) = words.get(i + 1).and_then(|a| a.parse().ok())
                {
                    hops.push(ip);
                }
            }
        }
        Ok(hops)
    }

    fn describe(&self, prefix: IpNet) -> String {
        let table = if prefix.addr().is_ipv4() {
            "master4"
        } else {
            "master6"
        };
        let mut s = String::new();
        for args in [
            vec!["show", "ospf", "neighbors"],
            vec![
                "show",
                "route",
                "for",
                &prefix.to_string(),
                "table",
                table,
                "all",
            ],
        ] {
            s += &format!(
                "\nBIRD `{}`:\n{}",
                args.join(" "),
                self.birdc(&args).unwrap_or_else(|e| e)
            );
        }
        s
    }

    fn router_lsa_metrics(&self, v: Ospf, adv_router: Ipv4Addr) -> Result<Vec<u32>, String> {
        // `show ospf state all`: "router 10.255.36.1 ... router 10.255.35.1 metric 65535"
        let text = self.birdc(&["show", "ospf", "state", "all", Self::protocol(v)])?;
        let mut metrics = Vec::new();
        let mut inside = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with("router ") && !line.starts_with("\t\t") && line.starts_with('\t') {
                inside = t.split_whitespace().nth(1) == Some(&adv_router.to_string());
                continue;
            }
            if inside && let Some((_, m)) = t.rsplit_once("metric ") {
                metrics.extend(
                    m.split_whitespace()
                        .next()
                        .and_then(|m| m.parse::<u32>().ok()),
                );
            }
        }
        Ok(metrics)
    }

    fn lsa_ages(&self, v: Ospf, adv_router: Ipv4Addr) -> Result<Vec<u16>, String> {
        // `show ospf lsadb`: " 0005  198.18.50.2  10.255.36.1  80000001  3600  a1b2"
        // (type, LS ID, router, sequence, age, checksum).
        let text = self.birdc(&["show", "ospf", "lsadb", Self::protocol(v)])?;
        Ok(text
            .lines()
            .filter_map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                (cols.len() >= 6 && cols[2] == adv_router.to_string())
                    .then(|| cols[4].parse().ok())?
            })
            .collect())
    }
}
