//! Runs a containerlab topology file with network namespaces instead of
//! containers, so `containerlab deploy` and these tests use the same files.
//!
//! What is read from `containerlab/<name>.clab.yml`:
//! - `topology.nodes.<node>`: one namespace per node; its `exec` lines run in
//!   it (as containerlab runs them in the container after deploy); its
//!   `binds` name the node's config, and the config's file name says which
//!   daemon to start with it: `vipd.toml` -> vipd, `bird.conf` -> BIRD,
//!   `frr.conf` -> FRR (zebra + bgpd; a bound `daemons` file must enable
//!   bgpd), `gobgpd.toml` -> GoBGP. `kind`, `image` and `cmd` are for
//!   containerlab only.
//! - `topology.links[].endpoints: ["a:eth1", "b:eth1"]`: one veth pair per
//!   link, each end carrying its endpoint's interface name in its namespace.
//!   A LAN is a `kind: linux` "switch" node whose `exec` lines bridge its
//!   interfaces (`ip link add br0 type bridge`, ...), which works the same in
//!   a container and in a namespace.
//! - Container-only settings (`cap-add`, `env`, ...) are ignored.
//!
//! Configs are used in place: nothing in them is rewritten. Only the
//! per-process paths (control socket, pid file, FRR pathspace) are chosen here,
//! on the command line.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use std::time::Duration;

use ipnet::IpNet;

use crate::harness::{
    Bird, Frr, Gobgp, HttpService, Lab, Netns, Router, RouterKind, Vipd, wait_until,
};

/// Where the topology files live.
pub fn topology_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("containerlab")
}

#[derive(Debug, Deserialize)]
pub struct TopologyFile {
    pub name: String,
    pub topology: Topology,
}

#[derive(Debug, Deserialize)]
pub struct Topology {
    pub nodes: BTreeMap<String, NodeDef>,
    #[serde(default)]
    pub links: Vec<LinkDef>,
}

#[derive(Debug, Deserialize)]
pub struct NodeDef {
    pub kind: String,
    pub image: Option<String>,
    #[serde(default)]
    pub binds: Vec<String>,
    #[serde(default)]
    pub exec: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct LinkDef {
    pub endpoints: [String; 2],
}

impl TopologyFile {
    /// Reads `containerlab/<name>.clab.yml`.
    pub fn load(name: &str) -> TopologyFile {
        let path = topology_dir().join(format!("{name}.clab.yml"));
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a containerlab topology: {e}", path.display()))
    }
}

/// A bind's host side, resolved against the topology directory as
/// containerlab does.
fn bind_source(bind: &str) -> PathBuf {
    let source = bind.split(':').next().unwrap_or(bind);
    topology_dir().join(source)
}

/// What a node runs, decided from its bound config.
pub enum Daemon {
    Vipd(Vipd),
    Router(Box<dyn Router>),
    /// A plain host (no daemon config bound).
    None,
}

pub struct Node {
    pub ns: Netns,
    pub daemon: Daemon,
    /// The bound daemon config (vipd.toml, bird.conf, frr.conf, gobgpd.toml).
    pub config: Option<PathBuf>,
}

/// A topology instantiated in namespaces. Dropping it tears everything down
/// (the [`Lab`] does), and prints all logs if the test is failing.
pub struct Deployment {
    pub name: String,
    nodes: BTreeMap<String, Node>,
    /// Each link as `((node, interface), (node, interface))`.
    links: Vec<((String, String), (String, String))>,
    // Last, so the nodes' handles go first; the lab then kills every process
    // and deletes every namespace.
    lab: Lab,
}

impl Deployment {
    /// Namespaces, links and `exec` lines of `containerlab/<name>.clab.yml`,
    /// with no daemon started yet.
    pub fn create(name: &str) -> Deployment {
        let file = TopologyFile::load(name);
        let lab = Lab::new();
        let mut nodes = BTreeMap::new();
        for (node, def) in &file.topology.nodes {
            // Only `kind: linux` containers map onto a plain namespace; the
            // image must be named so `containerlab deploy` works too.
            assert!(
                def.kind == "linux" && def.image.as_deref().is_some_and(|i| !i.is_empty()),
                "{name}: node {node} must be `kind: linux` with an `image`"
            );
            let ns = lab.add_netns(node);
            let (daemon, config) = daemon_for(&ns, node, def);
            nodes.insert(node.clone(), Node { ns, daemon, config });
        }
        let mut links = Vec::new();
        for link in &file.topology.links {
            let [(a, a_if), (b, b_if)] = link.endpoints.clone().map(|e| {
                let (node, ifname) = e
                    .split_once(':')
                    .unwrap_or_else(|| panic!("link endpoint {e:?} is not node:interface"));
                (node.to_string(), ifname.to_string())
            });
            links.push(((a.clone(), a_if.clone()), (b.clone(), b_if.clone())));
            let ns_of = |n: &str| {
                &nodes
                    .get(n)
                    .unwrap_or_else(|| panic!("link endpoint names unknown node {n:?}"))
                    .ns
            };
            lab.link(ns_of(&a), &a_if, ns_of(&b), &b_if);
        }
        for (node, def) in &file.topology.nodes {
            for line in &def.exec {
                nodes[node]
                    .ns
                    .sh(line)
                    .unwrap_or_else(|e| panic!("{name}: exec on {node} failed: {e}"));
            }
        }
        Deployment {
            name: file.name,
            nodes,
            links,
            lab,
        }
    }

    /// [`Deployment::create`], then every router, then every vipd.
    pub fn up(name: &str) -> Deployment {
        let mut deployment = Deployment::create(name);
        println!(
            "{}: namespaces {}-<node>, logs in {}",
            deployment.name,
            deployment.lab.id(),
            deployment.lab.dir().display()
        );
        deployment.start_routers();
        deployment.start_vipds();
        deployment
    }

    pub fn start_routers(&mut self) {
        for (node, n) in &mut self.nodes {
            if let Daemon::Router(router) = &mut n.daemon {
                router
                    .start()
                    .unwrap_or_else(|e| panic!("cannot start {node}: {e}"));
            }
        }
    }

    pub fn start_vipds(&mut self) {
        for (node, n) in &mut self.nodes {
            if let Daemon::Vipd(vipd) = &mut n.daemon {
                vipd.start()
                    .unwrap_or_else(|e| panic!("cannot start vipd on {node}: {e}"));
            }
        }
    }

    pub fn ns(&self, node: &str) -> &Netns {
        &self.node(node).ns
    }

    fn node(&self, node: &str) -> &Node {
        self.nodes
            .get(node)
            .unwrap_or_else(|| panic!("{} has no node {node:?}", self.name))
    }

    fn node_mut(&mut self, node: &str) -> &mut Node {
        let name = self.name.clone();
        self.nodes
            .get_mut(node)
            .unwrap_or_else(|| panic!("{name} has no node {node:?}"))
    }

    pub fn router(&self, node: &str) -> &dyn Router {
        match &self.node(node).daemon {
            Daemon::Router(r) => r.as_ref(),
            _ => panic!("{node} is not a router"),
        }
    }

    pub fn router_mut(&mut self, node: &str) -> &mut dyn Router {
        match &mut self.node_mut(node).daemon {
            Daemon::Router(r) => r.as_mut(),
            _ => panic!("{node} is not a router"),
        }
    }

    /// The host path of `node`'s bound daemon config.
    pub fn config(&self, node: &str) -> &Path {
        self.node(node)
            .config
            .as_deref()
            .unwrap_or_else(|| panic!("{node} has no daemon config"))
    }

    /// A second handle on `node`'s running BIRD, for its CLI (`birdc`) beyond
    /// what [`Router`] offers: it reaches the same control socket, and
    /// starting or stopping goes through [`Deployment::router_mut`].
    pub fn bird_cli(&self, node: &str) -> Bird {
        assert!(
            self.router(node).kind() == RouterKind::Bird,
            "{node} is not a BIRD node"
        );
        Bird::new(self.ns(node).clone(), node, self.config(node).to_path_buf())
    }

    /// The node at the other end of `node`'s interface `ifname`.
    pub fn neighbor_via(&self, node: &str, ifname: &str) -> Option<&str> {
        self.links.iter().find_map(|((a, a_if), (b, b_if))| {
            if a == node && a_if == ifname {
                Some(b.as_str())
            } else if b == node && b_if == ifname {
                Some(a.as_str())
            } else {
                None
            }
        })
    }

    /// The nodes `router`'s kernel forwards `prefix` to (one per next hop,
    /// told apart by the link each next hop leaves on), sorted; empty if it
    /// has no route.
    pub fn forwarding_to(&self, router: &str, prefix: IpNet) -> Result<Vec<String>, String> {
        let hops = self.ns(router).kernel_next_hops(prefix)?;
        let mut nodes = hops
            .iter()
            .map(|hop| {
                self.neighbor_via(router, &hop.interface)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        format!(
                            "{router}: {prefix} leaves on {}, a link to no node",
                            hop.interface
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        nodes.sort();
        Ok(nodes)
    }

    /// Waits until `router` forwards `prefix` to exactly `nodes`.
    pub fn wait_forwarding(
        &self,
        router: &str,
        prefix: IpNet,
        nodes: &[&str],
        deadline: Duration,
    ) -> Result<(), String> {
        let mut want: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
        want.sort();
        wait_until(deadline, || {
            let have = self.forwarding_to(router, prefix)?;
            if have == want {
                Ok(())
            } else {
                Err(format!(
                    "{router} forwards {prefix} to {have:?}, want {want:?}"
                ))
            }
        })
    }

    /// Starts `configs/anycast-ecmp/http-service.py` on each of `nodes`,
    /// answering its node's name on port 80 of every address in `vips`
    /// (before vipd starts, so its checks find it up).
    pub fn start_http_services(&self, nodes: &[&str], vips: &[&str]) -> Vec<HttpService> {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/anycast-ecmp/http-service.py");
        nodes
            .iter()
            .map(|node| {
                let ns = self.ns(node).clone();
                let pidfile = self.lab.dir().join(format!("{node}-http.pid"));
                let pidfile = pidfile
                    .to_str()
                    .unwrap_or_else(|| panic!("non-UTF-8 lab dir"));
                let mut service = HttpService::new(ns, node, &script, vips, pidfile);
                service
                    .start()
                    .unwrap_or_else(|e| panic!("{}: {e}", self.name));
                service
            })
            .collect()
    }

    pub fn vipd(&self, node: &str) -> &Vipd {
        match &self.node(node).daemon {
            Daemon::Vipd(v) => v,
            _ => panic!("{node} is not a vipd"),
        }
    }

    pub fn vipd_mut(&mut self, node: &str) -> &mut Vipd {
        match &mut self.node_mut(node).daemon {
            Daemon::Vipd(v) => v,
            _ => panic!("{node} is not a vipd"),
        }
    }

    /// Mutable access to two different nodes' daemons at once (to restart a
    /// router and a vipd back to back).
    pub fn router_and_vipd_mut(
        &mut self,
        router: &str,
        vipd: &str,
    ) -> (&mut dyn Router, &mut Vipd) {
        assert_ne!(router, vipd);
        let mut router_daemon = None;
        let mut vipd_daemon = None;
        for (name, node) in &mut self.nodes {
            if name == router {
                router_daemon = Some(&mut node.daemon);
            } else if name == vipd {
                vipd_daemon = Some(&mut node.daemon);
            }
        }
        match (router_daemon, vipd_daemon) {
            (Some(Daemon::Router(r)), Some(Daemon::Vipd(v))) => (r.as_mut(), v),
            _ => panic!("{} has no router {router:?} and vipd {vipd:?}", self.name),
        }
    }
}

fn daemon_for(ns: &Netns, node: &str, def: &NodeDef) -> (Daemon, Option<PathBuf>) {
    // FRR's `daemons` file may turn on bfdd, which the FRR node then starts.
    let bfdd = def
        .binds
        .iter()
        .map(|bind| bind_source(bind))
        .filter(|source| source.file_name().is_some_and(|f| f == "daemons"))
        .filter_map(|source| fs::read_to_string(source).ok())
        .any(|text| text.lines().any(|l| l.trim() == "bfdd=yes"));
    let mut daemon = Daemon::None;
    let mut config = None;
    let mut frr_daemons_file = None;
    for bind in &def.binds {
        let source = bind_source(bind);
        let file_name = source
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            source.is_file(),
            "{node}: bound file {} is missing",
            source.display()
        );
        let found = match file_name.as_str() {
            "vipd.toml" => Daemon::Vipd(Vipd::new(ns.clone(), node, source.clone())),
            "bird.conf" => Daemon::Router(Box::new(Bird::new(ns.clone(), node, source.clone()))),
            "frr.conf" => Daemon::Router(Box::new(
                Frr::new(ns.clone(), node, source.clone()).with_bfdd(bfdd),
            )),
            "gobgpd.toml" => Daemon::Router(Box::new(Gobgp::new(ns.clone(), node, source.clone()))),
            "daemons" => {
                frr_daemons_file = Some(source);
                continue;
            }
            _ => continue,
        };
        assert!(
            matches!(daemon, Daemon::None),
            "node {node} binds more than one daemon config"
        );
        daemon = found;
        config = Some(source);
    }
    if let Some(daemons) = frr_daemons_file {
        let text = fs::read_to_string(&daemons)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", daemons.display()));
        assert!(
            text.lines().any(|l| l.trim() == "bgpd=yes"),
            "{}: bgpd must be enabled (bgpd=yes)",
            daemons.display()
        );
    }
    (daemon, config)
}
