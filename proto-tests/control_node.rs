//! What the operator-surface scenarios (`control_*`, `reload_*`, `metrics_*`)
//! share: one vipd node of an interop topology, run from an edited copy of
//! its config in the lab dir, so a scenario can change the file and reload,
//! and `vipd status|drain|reload` against that node's control socket.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::clab::{Deployment, TopologyFile, topology_dir};
use crate::harness::{Router, RouterKind, Vipd};
use crate::interop::{Role, topology};

/// A vipd started from an edited copy of its node's config.
pub struct EditedNode {
    pub vipd: Vipd,
    /// The copy vipd reads (and reloads).
    pub config: PathBuf,
    /// The config as the topology binds it.
    pub original: String,
}

/// Creates `kind`'s interop topology, starts its router, and starts `role`'s
/// vipd (only) from its bound config passed through `edit` (which also gets
/// the lab dir, for files the config names).
pub fn deploy(
    kind: RouterKind,
    role: Role,
    edit: impl FnOnce(&str, &Path) -> String,
) -> (Deployment, EditedNode) {
    let mut lab = Deployment::create(topology(kind));
    lab.start_routers();
    let bound = bound_config(kind, role);
    let original = std::fs::read_to_string(&bound)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", bound.display()));
    let ns = lab.ns(role.node()).clone();
    let config = ns.lab().dir().join(format!("{}.vipd.toml", role.node()));
    std::fs::write(&config, edit(&original, ns.lab().dir()))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
    let mut vipd = Vipd::new(ns, role.node(), config.clone());
    vipd.start()
        .unwrap_or_else(|e| panic!("cannot start vipd: {e}"));
    (
        lab,
        EditedNode {
            vipd,
            config,
            original,
        },
    )
}

/// The host path of the vipd.toml the topology binds to `role`'s node.
fn bound_config(kind: RouterKind, role: Role) -> PathBuf {
    let file = TopologyFile::load(topology(kind));
    let bind = file.topology.nodes[role.node()]
        .binds
        .iter()
        .map(|b| b.split(':').next().unwrap_or_default())
        .find(|source| source.ends_with("vipd.toml"))
        .unwrap_or_else(|| panic!("{} binds no vipd.toml", role.node()))
        .to_string();
    topology_dir().join(bind)
}

impl EditedNode {
    /// Replaces the config vipd reads with `text`.
    pub fn write(&self, text: &str) {
        std::fs::write(&self.config, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", self.config.display()));
    }

    /// `vipd ARGS --socket ...`; panics unless it exits 0. Returns stdout.
    pub fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.vipd.ctl(args).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "vipd {args:?} failed ({}):\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
        out.stdout
    }

    /// `vipd status --json`, parsed.
    pub fn status(&self) -> serde_json::Value {
        let text = self.ctl_ok(&["status", "--json"]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("status JSON: {e}\n{text}"))
    }
}

/// `vipd status --json`'s entry for the peer at `address`.
pub fn peer(status: &serde_json::Value, address: IpAddr) -> serde_json::Value {
    status["peers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["address"] == address.to_string())
        .cloned()
        .unwrap_or_else(|| panic!("no peer {address} in {status:#}"))
}

/// `vipd status --json`'s entry for the VIP `prefix`.
pub fn vip(status: &serde_json::Value, prefix: &str) -> Option<serde_json::Value> {
    status["vips"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["prefix"] == prefix)
        .cloned()
}

/// BIRD's `show protocols` line for the session with `neighbor`:
/// `vipd_ebgp4 BGP --- up 12:34:56.789 Established`. Its Since column
/// changes whenever the session goes down or up.
pub fn bird_protocol_line(router: &dyn Router, neighbor: IpAddr) -> Result<String, String> {
    let text = router.describe_session(neighbor)?;
    text.lines()
        .find(|l| l.split_whitespace().nth(1) == Some("BGP"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .ok_or_else(|| format!("no protocol line in:\n{text}"))
}
