//! The anycast-ecmp topologies (`containerlab/anycast-ecmp.clab.yml` with an
//! FRR router, `anycast-ecmp-bird.clab.yml` with BIRD) and what the health
//! scenarios do with them: three nodes serve the same VIP behind one ECMP
//! router, and a client sends them a steady stream of requests.
//!
//! Which node a next hop leads to is read from the topology's links (the
//! router's interface toward it), so it holds for IPv4 and IPv6 next hops,
//! global or link-local, whatever the router picked.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ipnet::IpNet;

use crate::clab::{Deployment, TopologyFile};
use crate::harness::{
    HttpService, Netns, Outcome, Request, Router, RouterKind, interfaces, wait_until,
};

pub const ROUTER: &str = "router";
pub const CLIENT: &str = "client";
pub const NODES: [&str; 3] = ["node1", "node2", "node3"];

/// The service's VIPs (on every node's `lo`, served on port 80).
pub const VIP4: &str = "198.18.0.10/32";
pub const VIP6: &str = "fd00:198:18::10/128";
/// Gated by the `process` check alone.
pub const VIP_PROCESS: &str = "198.18.0.11/32";
/// Gated by the `script` (exec) check alone.
pub const VIP_SCRIPT: &str = "198.18.0.12/32";

/// Each node's `/etc/vipd` (its vipd.toml names files there).
const ETC: &str = "vipd";
/// The service's pidfile inside a node, as the `process` check names it.
const PIDFILE: &str = "/etc/vipd/http-service.pid";

/// Deadline for sessions and routes after a start (connect retry 1 s,
/// checks rising in under a second; generous for a loaded CI machine).
pub const UP_DEADLINE: Duration = Duration::from_secs(40);
/// Deadline for the router to follow a VIP change (vipd reacts in
/// milliseconds to a quarter second; CI machines are slow).
pub const CHANGE_DEADLINE: Duration = Duration::from_secs(15);

pub fn prefix(text: &str) -> IpNet {
    text.parse()
        .unwrap_or_else(|e| panic!("bad prefix {text:?} in test: {e}"))
}

/// Port 80 of a VIP: where the client sends its requests.
pub fn service_address(vip: &str) -> SocketAddr {
    SocketAddr::new(prefix(vip).addr(), 80)
}

pub fn topology(kind: RouterKind) -> &'static str {
    match kind {
        RouterKind::Bird => "anycast-ecmp-bird",
        RouterKind::Frr => "anycast-ecmp",
        RouterKind::Gobgp => panic!("anycast-ecmp has no GoBGP variant (no kernel FIB)"),
    }
}

pub fn http_service_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/anycast-ecmp/http-service.py")
}

pub struct AnycastLab {
    pub kind: RouterKind,
    // Before `deployment`: the services' handles go first, then the lab
    // kills every process and deletes every namespace.
    services: BTreeMap<String, HttpService>,
    /// Each node's `/etc/vipd`, as a host path.
    etc: BTreeMap<String, PathBuf>,
    /// The router's interface toward each node.
    node_of_interface: BTreeMap<String, String>,
    pub deployment: Deployment,
}

impl AnycastLab {
    /// Namespaces, links and `exec` lines, the router, and the HTTP service
    /// on every node (listening before anything probes it); no vipd yet.
    pub fn deploy(kind: RouterKind) -> AnycastLab {
        let name = topology(kind);
        let node_of_interface = router_interfaces(name);
        let mut deployment = Deployment::create(name);
        println!(
            "{name}: logs in {}",
            deployment.ns(ROUTER).lab().dir().display()
        );
        deployment.start_routers();
        let mut etc = BTreeMap::new();
        let mut services = BTreeMap::new();
        for node in NODES {
            let ns = deployment.ns(node).clone();
            let dir = ns.etc_dir(ETC).unwrap_or_else(|e| panic!("{node}: {e}"));
            etc.insert(node.to_string(), dir);
            let vips = [
                prefix(VIP4).addr().to_string(),
                prefix(VIP6).addr().to_string(),
            ];
            let vips: Vec<&str> = vips.iter().map(String::as_str).collect();
            let mut service = HttpService::new(ns, node, &http_service_script(), &vips, PIDFILE);
            service.start().unwrap_or_else(|e| panic!("{node}: {e}"));
            services.insert(node.to_string(), service);
        }
        AnycastLab {
            kind,
            services,
            etc,
            node_of_interface,
            deployment,
        }
    }

    /// [`AnycastLab::deploy`], then every node's vipd, and returns once the
    /// router forwards both service VIPs to all three nodes.
    pub fn up(kind: RouterKind) -> AnycastLab {
        let mut lab = AnycastLab::deploy(kind);
        lab.deployment.start_vipds();
        for vip in [VIP4, VIP6] {
            lab.wait_forwarding(vip, &NODES, UP_DEADLINE)
                .unwrap_or_else(|e| panic!("{kind} after start: {e}"));
        }
        lab
    }

    pub fn router(&self) -> &dyn Router {
        self.deployment.router(ROUTER)
    }

    pub fn ns(&self, node: &str) -> &Netns {
        self.deployment.ns(node)
    }

    pub fn service(&mut self, node: &str) -> &mut HttpService {
        self.services
            .get_mut(node)
            .unwrap_or_else(|| panic!("no service on {node:?}"))
    }

    /// Host path of `/etc/vipd/<file>` as `node` sees it.
    pub fn node_file(&self, node: &str, file: &str) -> PathBuf {
        self.etc
            .get(node)
            .unwrap_or_else(|| panic!("no /etc/vipd for {node:?}"))
            .join(file)
    }

    /// `touch /etc/vipd/<file>` on `node`; returns when it was done.
    pub fn touch(&self, node: &str, file: &str) -> SystemTime {
        let path = self.node_file(node, file);
        let at = SystemTime::now();
        std::fs::write(&path, b"")
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        at
    }

    /// `rm /etc/vipd/<file>` on `node`.
    pub fn remove(&self, node: &str, file: &str) {
        let path = self.node_file(node, file);
        std::fs::remove_file(&path)
            .unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
    }

    /// The node the router reaches through `interface`.
    pub fn node_behind(&self, interface: &str) -> Option<&str> {
        self.node_of_interface.get(interface).map(String::as_str)
    }

    /// The router's interface toward `node`.
    pub fn interface_to(&self, node: &str) -> &str {
        self.node_of_interface
            .iter()
            .find(|(_, n)| *n == node)
            .map(|(i, _)| i.as_str())
            .unwrap_or_else(|| panic!("the router has no link to {node:?}"))
    }

    /// The nodes the router forwards `vip` to, sorted: its own CLI (BIRD's
    /// merged kernel export, zebra's FIB next hops) and its kernel table must
    /// agree, else the error shows both.
    pub fn forwarding(&self, vip: &str) -> Result<Vec<String>, String> {
        let net = prefix(vip);
        let cli = interfaces(&self.router().fib_next_hops(net)?);
        let kernel = interfaces(&self.ns(ROUTER).kernel_next_hops(net)?);
        if cli != kernel {
            return Err(format!(
                "{} shows next hops via {cli:?} for {vip}, its kernel via {kernel:?}",
                self.kind
            ));
        }
        kernel
            .iter()
            .map(|i| {
                self.node_behind(i)
                    .map(str::to_string)
                    .ok_or_else(|| format!("{vip} has a next hop via {i}, toward no node"))
            })
            .collect()
    }

    /// Waits until the router forwards `vip` to exactly `nodes`.
    pub fn wait_forwarding(
        &self,
        vip: &str,
        nodes: &[&str],
        deadline: Duration,
    ) -> Result<(), String> {
        let mut want: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
        want.sort();
        wait_until(deadline, || {
            let have = self.forwarding(vip)?;
            if have == want {
                Ok(())
            } else {
                Err(format!(
                    "{} forwards {vip} to {have:?}, want {want:?}",
                    self.kind
                ))
            }
        })
    }
}

/// `node`'s address on its BGP session (its vipd config's `local_address`):
/// the neighbor the router learns its paths from.
pub fn session_address(node: &str) -> IpAddr {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs/anycast-ecmp")
        .join(node)
        .join("vipd.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let doc: toml::Value = text
        .parse()
        .unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
    doc.get("peer")
        .and_then(|p| p.get(0))
        .and_then(|p| p.get("local_address"))
        .and_then(toml::Value::as_str)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{}: no [[peer]] local_address", path.display()))
}

/// The router's interface toward each node, from the topology's links.
fn router_interfaces(topology: &str) -> BTreeMap<String, String> {
    let file = TopologyFile::load(topology);
    let mut map = BTreeMap::new();
    for link in &file.topology.links {
        let ends: Vec<(&str, &str)> = link
            .endpoints
            .iter()
            .filter_map(|e| e.split_once(':'))
            .collect();
        if let [(a, a_if), (b, b_if)] = ends.as_slice() {
            if *a == ROUTER && NODES.contains(b) {
                map.insert(a_if.to_string(), b.to_string());
            } else if *b == ROUTER && NODES.contains(a) {
                map.insert(b_if.to_string(), a.to_string());
            }
        }
    }
    assert_eq!(
        map.len(),
        NODES.len(),
        "{topology}: the router must have one link to each of {NODES:?}"
    );
    map
}

/// How late `ip monitor` may stamp a route change (see
/// [`reset_by_ecmp_change`]).
const MONITOR_LAG: Duration = Duration::from_millis(5);

/// Whether a failed request was in flight when the router's forwarding for
/// its VIP changed (`changes`: when, from a [`crate::harness::RouteMonitor`])
/// and was reset. Linux's ECMP is hash-threshold: changing the set of next
/// hops re-maps some flows to another node, whose kernel resets them. That
/// is the router's doing, not vipd's: it happens on every change of the set
/// (a drain, a withdrawal, a node coming back), however the node leaves.
pub fn reset_by_ecmp_change(request: &Request, changes: &[SystemTime]) -> bool {
    let Outcome::Failed(what) = &request.outcome else {
        return false;
    };
    // `ip monitor` stamps a change when it reads it: on a loaded machine
    // that can be milliseconds after the kernel made it, and after the
    // reset it caused reached the client.
    let end = request.at + request.took + MONITOR_LAG;
    (what.contains("reset") || what.contains("broken pipe"))
        && changes.iter().any(|c| (request.at..=end).contains(c))
}

/// The failed requests not explained by [`reset_by_ecmp_change`].
pub fn lost(requests: &[Request], changes: &[SystemTime]) -> Vec<Request> {
    requests
        .iter()
        .filter(|r| r.failed() && !reset_by_ecmp_change(r, changes))
        .cloned()
        .collect()
}

/// Milliseconds from `from` to `to` (negative if `to` is earlier), for
/// printing.
pub fn ms_between(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64() * 1e3,
        Err(e) => -e.duration().as_secs_f64() * 1e3,
    }
}
