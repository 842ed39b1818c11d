//! The BGP core interop topologies (`containerlab/interop-<router>.clab.yml`)
//! and what each vipd node's config says the router must show.
//!
//! Expectations are read from the vipd configs with a plain TOML parser, not
//! with vipd's own config code, so a vipd parsing bug cannot hide itself.
//! The rules applied on top (the part under test):
//! - AS path: eBGP `asn` repeated 1 + `as_path_prepend` times; iBGP empty.
//! - Origin IGP; MED, communities, large communities as configured;
//!   LOCAL_PREF as configured on iBGP.
//! - Next hop: the peer's `next_hop_ipv4`/`next_hop_ipv6` override, else
//!   vipd's address on that session when the families match, else (IPv4 VIP
//!   over IPv6 transport) the session's IPv6 address: RFC 8950 extended next
//!   hop, which every router config here offers.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;
use toml::Value;

use crate::clab::{Deployment, TopologyFile, topology_dir};
use crate::harness::{ExpectedRoute, Origin, RouterKind, wait_until};

/// Deadline for sessions to come up after a (re)start (connect retry 1 s,
/// backoff to 8 s; generous for a loaded machine).
pub const SESSION_DEADLINE: Duration = Duration::from_secs(60);
/// Deadline for routes to appear or leave once sessions are up.
pub const ROUTE_DEADLINE: Duration = Duration::from_secs(30);

pub fn topology(kind: RouterKind) -> &'static str {
    match kind {
        RouterKind::Bird => "interop-bird",
        RouterKind::Frr => "interop-frr",
        RouterKind::Gobgp => "interop-gobgp",
    }
}

/// The router node's name in every interop topology.
pub const ROUTER: &str = "router";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Ebgp,
    Ibgp,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Ebgp, Role::Ibgp];

    /// The vipd node with this role.
    pub fn node(self) -> &'static str {
        match self {
            Role::Ebgp => "vipd-ebgp",
            Role::Ibgp => "vipd-ibgp",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Ebgp => "eBGP",
            Role::Ibgp => "iBGP",
        })
    }
}

/// One `[[peer]]` of a vipd config, as the router sees it.
#[derive(Clone, Debug)]
pub struct Session {
    pub role: Role,
    /// The router's address (the vipd `[[peer]] address`).
    pub router_address: IpAddr,
    /// vipd's address: the neighbor address on the router.
    pub vipd_address: IpAddr,
    next_hop_ipv4: Option<IpAddr>,
    next_hop_ipv6: Option<IpAddr>,
}

impl Session {
    pub fn transport(&self) -> &'static str {
        family(self.vipd_address)
    }
}

/// One `[[vip]]` of a vipd config.
#[derive(Clone, Debug)]
pub struct Vip {
    pub prefix: IpNet,
    communities: Vec<String>,
    large_communities: Vec<String>,
    med: Option<u32>,
    local_pref: Option<u32>,
    as_path_prepend: usize,
}

/// What one vipd node announces, from its config file.
#[derive(Clone, Debug)]
pub struct VipdNode {
    pub role: Role,
    pub asn: u32,
    pub sessions: Vec<Session>,
    pub vips: Vec<Vip>,
}

/// A cell of the matrix: one VIP over one session.
#[derive(Clone, Debug)]
pub struct Cell {
    pub router: RouterKind,
    pub session: Session,
    pub vip: Vip,
    pub expected: ExpectedRoute,
}

impl Cell {
    pub fn label(&self) -> String {
        format!(
            "{:<5} {} {} transport, /{} VIP {}",
            self.router.to_string(),
            self.session.role,
            self.session.transport(),
            self.vip.prefix.prefix_len(),
            self.vip.prefix
        )
    }
}

fn family(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() { "IPv4" } else { "IPv6" }
}

impl VipdNode {
    /// Reads the vipd config that the interop topology binds to `role`'s node.
    pub fn load(kind: RouterKind, role: Role) -> VipdNode {
        let file = TopologyFile::load(topology(kind));
        let node = &file.topology.nodes[role.node()];
        let bind = node
            .binds
            .iter()
            .find(|b| {
                b.split(':')
                    .next()
                    .is_some_and(|s| s.ends_with("vipd.toml"))
            })
            .unwrap_or_else(|| panic!("{} binds no vipd.toml", role.node()));
        let path = topology_dir().join(bind.split(':').next().unwrap_or_default());
        parse_vipd_config(&path, role)
    }

    /// Every (session, VIP) cell with what the router must show for it.
    pub fn cells(&self, router: RouterKind) -> Vec<Cell> {
        let mut cells = Vec::new();
        for session in &self.sessions {
            for vip in &self.vips {
                cells.push(Cell {
                    router,
                    session: session.clone(),
                    vip: vip.clone(),
                    expected: self.expected(session, vip),
                });
            }
        }
        cells
    }

    fn expected(&self, session: &Session, vip: &Vip) -> ExpectedRoute {
        let vip_is_v4 = vip.prefix.addr().is_ipv4();
        let (override_nh, session_matches) = if vip_is_v4 {
            (session.next_hop_ipv4, session.vipd_address.is_ipv4())
        } else {
            (session.next_hop_ipv6, session.vipd_address.is_ipv6())
        };
        let next_hop = match override_nh {
            Some(nh) => nh,
            // Same family, or an IPv4 VIP over IPv6 with extended next hop.
            None if session_matches || vip_is_v4 => session.vipd_address,
            None => panic!(
                "{} VIP {} over {} transport needs next_hop_ipv6 in the config",
                self.role,
                vip.prefix,
                session.transport()
            ),
        };
        let ebgp = self.role == Role::Ebgp;
        ExpectedRoute {
            prefix: vip.prefix,
            peer: session.vipd_address,
            next_hop,
            as_path: if ebgp {
                vec![self.asn; 1 + vip.as_path_prepend]
            } else {
                Vec::new()
            },
            origin: Origin::Igp,
            med: vip.med,
            local_pref: if ebgp { None } else { vip.local_pref },
            communities: vip.communities.clone(),
            large_communities: vip.large_communities.clone(),
        }
    }
}

fn parse_vipd_config(path: &Path, role: Role) -> VipdNode {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let doc: Value = text
        .parse()
        .unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
    let shown = path.display();
    let int = |v: Option<&Value>, what: &str| -> Option<u32> {
        v.map(|v| {
            v.as_integer()
                .and_then(|i| u32::try_from(i).ok())
                .unwrap_or_else(|| panic!("{shown}: {what} is not a u32"))
        })
    };
    let addr = |v: Option<&Value>, what: &str| -> Option<IpAddr> {
        v.map(|v| {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{shown}: {what} is not an address"))
        })
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let table = |key: &str| -> Vec<Value> {
        doc.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let asn = int(doc.get("speaker").and_then(|s| s.get("asn")), "speaker.asn")
        .unwrap_or_else(|| panic!("{shown}: no speaker.asn"));
    let sessions = table("peer")
        .iter()
        .map(|p| Session {
            role,
            router_address: addr(p.get("address"), "peer.address")
                .unwrap_or_else(|| panic!("{shown}: peer without address")),
            vipd_address: addr(p.get("local_address"), "peer.local_address").unwrap_or_else(|| {
                panic!("{shown}: interop peers name their local_address (the router's neighbor)")
            }),
            next_hop_ipv4: addr(p.get("next_hop_ipv4"), "peer.next_hop_ipv4"),
            next_hop_ipv6: addr(p.get("next_hop_ipv6"), "peer.next_hop_ipv6"),
        })
        .collect();
    let vips = table("vip")
        .iter()
        .map(|v| Vip {
            prefix: v
                .get("prefix")
                .and_then(Value::as_str)
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("{shown}: vip without a valid prefix")),
            communities: strings(v.get("communities")),
            large_communities: strings(v.get("large_communities")),
            med: int(v.get("med"), "vip.med"),
            local_pref: int(v.get("local_pref"), "vip.local_pref"),
            as_path_prepend: int(v.get("as_path_prepend"), "vip.as_path_prepend").unwrap_or(0)
                as usize,
        })
        .collect();
    VipdNode {
        role,
        asn,
        sessions,
        vips,
    }
}

/// Waits until the router has every session of `nodes` Established.
pub fn wait_sessions(deployment: &Deployment, nodes: &[&VipdNode]) -> Result<(), String> {
    wait_until(SESSION_DEADLINE, || {
        let router = deployment.router(ROUTER);
        let mut down = Vec::new();
        for node in nodes {
            for s in &node.sessions {
                if !router.session_established(s.vipd_address)? {
                    down.push(format!("{} {}", s.role, s.vipd_address));
                }
            }
        }
        if down.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} sessions not Established: {}",
                router.kind(),
                down.join(", ")
            ))
        }
    })
}

/// Waits until every cell shows on the router as expected.
pub fn wait_cells(deployment: &Deployment, cells: &[Cell]) -> Result<(), String> {
    wait_until(ROUTE_DEADLINE, || {
        let routes = deployment.router(ROUTER).routes()?;
        let failures: Vec<String> = cells
            .iter()
            .filter_map(|c| {
                c.expected
                    .check(&routes)
                    .err()
                    .map(|e| format!("\n  {}: {e}", c.label()))
            })
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.concat())
        }
    })
}

/// Waits until none of `cells` shows on the router.
pub fn wait_cells_gone(deployment: &Deployment, cells: &[Cell]) -> Result<(), String> {
    wait_until(ROUTE_DEADLINE, || {
        let routes = deployment.router(ROUTER).routes()?;
        let left: Vec<String> = cells
            .iter()
            .filter_map(|c| {
                crate::harness::check_absent(&routes, c.expected.prefix, c.expected.peer)
                    .err()
                    .map(|e| format!("\n  {}: {e}", c.label()))
            })
            .collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(left.concat())
        }
    })
}
