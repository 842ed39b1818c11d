//! Interfaces: the interface state machine (RFC 2328 9.1-9.4), Hellos
//! (RFC 2328 9.5, 10.5) and the DR election, sans-IO.
//!
//! vipd has Router Priority 0: it is never DR or BDR, so on a broadcast
//! network the InterfaceUp event takes it straight to DROther (RFC 2328 9.3:
//! "if the router is not eligible to become Designated Router, the
//! interface state transitions to DR Other") and it never waits, backs up or
//! originates a Network-LSA. It still runs the election (9.4) over its
//! neighbors' declarations to learn who the DR and BDR are, because those
//! are the only routers it forms adjacencies with.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ipnet::{Ipv4Net, Ipv6Net};

use super::instance::{Event, Instance, Output};
use super::neighbor::{NbrEvent, NbrState, Neighbor};
use super::wire::auth::AuthKey;
use super::wire::iana::options;
use super::wire::{Body, Hello, Lsa, LsaHeader, Version};

/// Index of an interface in its instance.
pub(crate) type IfaceId = usize;

/// The OSPF network types vipd runs on (RFC 2328 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkType {
    PointToPoint,
    Broadcast,
}

/// One configured interface, as the instance uses it.
#[derive(Debug, Clone)]
pub(crate) struct InterfaceConfig {
    pub(crate) name: String,
    pub(crate) network: NetworkType,
    /// Interface output cost; on links to other routers vipd advertises
    /// MaxLinkMetric instead (RFC 6987), so this only prices stub links.
    pub(crate) cost: u16,
    pub(crate) hello_interval: u16,
    pub(crate) dead_interval: u32,
    pub(crate) retransmit_interval: u16,
    /// OSPFv2 cryptographic authentication; `None` = null authentication.
    pub(crate) auth: Option<AuthKey>,
    /// OSPFv3 Instance ID (RFC 5340 2.4); 0.
    pub(crate) instance_id: u8,
}

/// What the kernel says about the interface: the driver reports it with
/// `Input::InterfaceUp` whenever it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InterfaceAddrs {
    pub(crate) ifindex: u32,
    /// IP MTU; Database Descriptions carry it and packets are sized to it.
    pub(crate) mtu: u16,
    /// OSPFv2: the primary address and its prefix.
    pub(crate) ipv4: Option<Ipv4Net>,
    /// OSPFv3: the link-local address packets come from.
    pub(crate) link_local: Option<Ipv6Addr>,
    /// OSPFv3: global prefixes on the link, for the Link-LSA.
    pub(crate) ipv6_prefixes: Vec<Ipv6Net>,
}

/// RFC 2328 9.1 interface states that vipd can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IfState {
    Down,
    PointToPoint,
    /// On a broadcast network, neither DR nor BDR.
    DrOther,
}

impl std::fmt::Display for IfState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IfState::Down => "Down",
            IfState::PointToPoint => "Point-to-point",
            IfState::DrOther => "DR Other",
        })
    }
}

/// One interface's state.
#[derive(Debug, Clone)]
pub(crate) struct Interface {
    pub(crate) cfg: InterfaceConfig,
    /// `None` until the driver reports the interface up.
    pub(crate) addrs: Option<InterfaceAddrs>,
    pub(crate) state: IfState,
    /// The elected DR and BDR (OSPFv2: addresses; OSPFv3: Router IDs).
    pub(crate) dr: Ipv4Addr,
    pub(crate) bdr: Ipv4Addr,
    pub(crate) neighbors: BTreeMap<Ipv4Addr, Neighbor>,
    pub(crate) hello_at: Option<Instant>,
    /// OSPFv2 cryptographic sequence number of the next packet sent.
    pub(crate) crypto_seq: u32,
    /// Delayed acknowledgments (RFC 2328 13.5), sent at the end of the
    /// packet that caused them.
    pub(crate) delayed_acks: Vec<LsaHeader>,
    /// LSAs flooded out of this interface by the current input, sent packed
    /// at its end.
    pub(crate) pending_floods: Vec<(IpAddr, Lsa)>,
}

impl Interface {
    pub(crate) fn new(cfg: InterfaceConfig, crypto_seq: u32) -> Self {
        Interface {
            cfg,
            addrs: None,
            state: IfState::Down,
            dr: Ipv4Addr::UNSPECIFIED,
            bdr: Ipv4Addr::UNSPECIFIED,
            neighbors: BTreeMap::new(),
            hello_at: None,
            crypto_seq,
            delayed_acks: Vec::new(),
            pending_floods: Vec::new(),
        }
    }

    pub(crate) fn is_up(&self) -> bool {
        self.state != IfState::Down
    }

    pub(crate) fn rxmt_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.cfg.retransmit_interval.max(1)))
    }

    pub(crate) fn ipv4(&self) -> Option<Ipv4Net> {
        self.addrs.as_ref().and_then(|a| a.ipv4)
    }

    pub(crate) fn mtu(&self) -> u16 {
        self.addrs.as_ref().map_or(1500, |a| a.mtu)
    }

    pub(crate) fn ifindex(&self) -> u32 {
        self.addrs.as_ref().map_or(0, |a| a.ifindex)
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.neighbors
            .values()
            .filter_map(Neighbor::next_deadline)
            .chain(self.hello_at)
            .min()
    }

    /// The neighbor that sent a packet: by Router ID, except on an OSPFv2
    /// broadcast network where RFC 2328 10.5 identifies it by address.
    pub(crate) fn neighbor_for(
        &self,
        version: Version,
        rid: Ipv4Addr,
        src: IpAddr,
    ) -> Option<Ipv4Addr> {
        if version == Version::V2 && self.cfg.network == NetworkType::Broadcast {
            self.neighbors
                .values()
                .find(|n| n.addr == src)
                .map(|n| n.router_id)
        } else {
            self.neighbors.contains_key(&rid).then_some(rid)
        }
    }
}

impl Instance {
    /// The Options vipd sends (RFC 2328 A.2, RFC 5340 A.2): E, since the
    /// area is not stub; in OSPFv3 V6 and, for a host, R clear.
    pub(crate) fn our_options(&self) -> u32 {
        match self.cfg.version {
            Version::V2 => options::V2_E,
            Version::V3 => options::V3_V6 | options::V3_E,
        }
    }

    /// How a neighbor appears in DR/BDR fields: its address in OSPFv2, its
    /// Router ID in OSPFv3 (RFC 5340 2.11).
    pub(crate) fn election_id(&self, n: &Neighbor) -> Ipv4Addr {
        election_id(self.cfg.version, n)
    }

    /// RFC 2328 9.3 InterfaceUp (or an address change while up).
    pub(crate) fn interface_up(
        &mut self,
        now: Instant,
        iface: IfaceId,
        addrs: InterfaceAddrs,
        out: &mut Vec<Output>,
    ) {
        let i = &mut self.ifaces[iface];
        if i.is_up() {
            if i.addrs.as_ref() == Some(&addrs) {
                return;
            }
            let same_identity = i
                .addrs
                .as_ref()
                .is_some_and(|a| a.ipv4 == addrs.ipv4 && a.ifindex == addrs.ifindex);
            if !same_identity {
                // Neighbors knew us by the old address: start over.
                self.interface_down(now, iface, out);
            } else {
                i.addrs = Some(addrs);
                self.origination_needed = true;
                return;
            }
        }
        let i = &mut self.ifaces[iface];
        i.addrs = Some(addrs);
        let to = match i.cfg.network {
            // Start the Hello timer, enabling the periodic sending of Hellos.
            NetworkType::PointToPoint => IfState::PointToPoint,
            // Not eligible to become DR: DR Other at once.
            NetworkType::Broadcast => IfState::DrOther,
        };
        let from = i.state;
        i.state = to;
        i.hello_at = Some(now);
        out.push(Output::Event(Event::InterfaceState { iface, from, to }));
        self.origination_needed = true;
    }

    /// RFC 2328 9.3 InterfaceDown: kill every neighbor, reset the variables.
    pub(crate) fn interface_down(&mut self, now: Instant, iface: IfaceId, out: &mut Vec<Output>) {
        let rids: Vec<Ipv4Addr> = self.ifaces[iface].neighbors.keys().copied().collect();
        for rid in rids {
            self.neighbor_event(now, iface, rid, NbrEvent::KillNbr, out);
        }
        let i = &mut self.ifaces[iface];
        let from = i.state;
        i.state = IfState::Down;
        i.hello_at = None;
        i.dr = Ipv4Addr::UNSPECIFIED;
        i.bdr = Ipv4Addr::UNSPECIFIED;
        i.delayed_acks.clear();
        i.pending_floods.clear();
        self.lsdb.forget_link(iface);
        if from != IfState::Down {
            out.push(Output::Event(Event::InterfaceState {
                iface,
                from,
                to: IfState::Down,
            }));
        }
        self.origination_needed = true;
    }

    /// RFC 2328 9.5: the Hello, sent every HelloInterval. `final_goodbye`
    /// lists no neighbors, which tears every adjacency down at once (they
    /// see 1-WayReceived) instead of after RouterDeadInterval.
    pub(crate) fn send_hello(
        &mut self,
        now: Instant,
        iface: IfaceId,
        final_goodbye: bool,
        out: &mut Vec<Output>,
    ) {
        let i = &self.ifaces[iface];
        if !i.is_up() {
            return;
        }
        let hello = Hello {
            network_mask: i.ipv4().map_or(Ipv4Addr::UNSPECIFIED, |n| n.netmask()),
            interface_id: match self.cfg.version {
                Version::V2 => 0,
                Version::V3 => i.ifindex(),
            },
            hello_interval: i.cfg.hello_interval,
            options: self.our_options(),
            priority: 0,
            dead_interval: i.cfg.dead_interval,
            dr: i.dr,
            bdr: i.bdr,
            neighbors: if final_goodbye {
                Vec::new()
            } else {
                i.neighbors
                    .values()
                    .filter(|n| n.state >= NbrState::Init)
                    .map(|n| n.router_id)
                    .collect()
            },
        };
        let dst = self.all_spf_routers();
        self.send(iface, dst, Body::Hello(hello), out);
        let interval = Duration::from_secs(u64::from(self.ifaces[iface].cfg.hello_interval.max(1)));
        self.ifaces[iface].hello_at = Some(now + interval);
    }

    /// RFC 2328 10.5: a Hello arrived.
    pub(crate) fn receive_hello(
        &mut self,
        now: Instant,
        iface: IfaceId,
        src: IpAddr,
        rid: Ipv4Addr,
        hello: Hello,
        out: &mut Vec<Output>,
    ) {
        let version = self.cfg.version;
        let our_e = self.our_options() & e_bit(version);
        let i = &self.ifaces[iface];
        // The parameters every router on the network must agree on.
        let mismatch = if version == Version::V2
            && i.cfg.network == NetworkType::Broadcast
            && i.ipv4().is_some_and(|n| n.netmask() != hello.network_mask)
        {
            Some((
                "hello_mask_mismatch",
                format!("network mask {}", hello.network_mask),
            ))
        } else if hello.hello_interval != i.cfg.hello_interval {
            Some((
                "hello_interval_mismatch",
                format!(
                    "HelloInterval {}s, ours {}s",
                    hello.hello_interval, i.cfg.hello_interval
                ),
            ))
        } else if hello.dead_interval != i.cfg.dead_interval {
            Some((
                "dead_interval_mismatch",
                format!(
                    "RouterDeadInterval {}s, ours {}s",
                    hello.dead_interval, i.cfg.dead_interval
                ),
            ))
        } else if hello.options & e_bit(version) != our_e {
            Some((
                "options_mismatch",
                format!(
                    "E-bit {}, ours {}",
                    hello.options & e_bit(version) != 0,
                    our_e != 0
                ),
            ))
        } else {
            None
        };
        if let Some((reason, detail)) = mismatch {
            self.drop_packet(iface, reason, format!("Hello from {rid}: {detail}"), out);
            return;
        }
        let network = i.cfg.network;
        let me = self.cfg.router_id;
        let i = &mut self.ifaces[iface];
        // An OSPFv2 broadcast neighbor is its address: a new Router ID
        // behind a known address replaces the old neighbor.
        if let Some(old) = i.neighbor_for(version, rid, src).filter(|old| *old != rid) {
            self.neighbor_event(now, iface, old, NbrEvent::KillNbr, out);
        }
        let i = &mut self.ifaces[iface];
        let n = i
            .neighbors
            .entry(rid)
            .or_insert_with(|| Neighbor::new(rid, src));
        n.addr = src;
        let before = (n.priority, n.declared_dr, n.declared_bdr);
        n.priority = hello.priority;
        n.declared_dr = hello.dr;
        n.declared_bdr = hello.bdr;
        n.interface_id = hello.interface_id;
        if n.state < NbrState::ExStart {
            n.options = hello.options;
        }
        let changed = before != (n.priority, n.declared_dr, n.declared_bdr);
        self.neighbor_event(now, iface, rid, NbrEvent::HelloReceived, out);
        if !hello.neighbors.contains(&me) {
            // RFC 2328 10.5: "processing of the Hello Packet stops".
            self.neighbor_event(now, iface, rid, NbrEvent::OneWayReceived, out);
            return;
        }
        self.neighbor_event(now, iface, rid, NbrEvent::TwoWayReceived, out);
        if network == NetworkType::Broadcast && changed {
            self.neighbor_change(now, iface, out);
        }
    }

    /// RFC 2328 9.2 NeighborChange: re-run the election (9.4) and, if the DR
    /// or BDR changed, re-decide every adjacency (AdjOK?).
    pub(crate) fn neighbor_change(&mut self, now: Instant, iface: IfaceId, out: &mut Vec<Output>) {
        if self.ifaces[iface].cfg.network != NetworkType::Broadcast || !self.ifaces[iface].is_up() {
            return;
        }
        let (dr, bdr) = self.elect(iface);
        let i = &mut self.ifaces[iface];
        if (dr, bdr) == (i.dr, i.bdr) {
            return;
        }
        i.dr = dr;
        i.bdr = bdr;
        let rids: Vec<Ipv4Addr> = i
            .neighbors
            .values()
            .filter(|n| n.state >= NbrState::TwoWay)
            .map(|n| n.router_id)
            .collect();
        out.push(Output::Event(Event::DrElected { iface, dr, bdr }));
        self.origination_needed = true;
        for rid in rids {
            self.neighbor_event(now, iface, rid, NbrEvent::AdjOk, out);
        }
    }

    /// RFC 2328 9.4 steps 1-3, with vipd itself ineligible (priority 0).
    /// Returns (DR, BDR) as they appear in Hellos.
    pub(crate) fn elect(&self, iface: IfaceId) -> (Ipv4Addr, Ipv4Addr) {
        struct Candidate {
            key: (u8, Ipv4Addr),
            id: Ipv4Addr,
            declares_dr: bool,
            declares_bdr: bool,
        }
        let candidates: Vec<Candidate> = self.ifaces[iface]
            .neighbors
            .values()
            .filter(|n| n.state >= NbrState::TwoWay && n.priority > 0)
            .map(|n| {
                let id = self.election_id(n);
                Candidate {
                    key: (n.priority, n.router_id),
                    id,
                    declares_dr: n.declared_dr == id,
                    declares_bdr: n.declared_bdr == id,
                }
            })
            .collect();
        let best =
            |it: &mut dyn Iterator<Item = &Candidate>| it.max_by_key(|c| c.key).map(|c| c.id);
        // Step 2: the BDR, among those not claiming to be DR; those claiming
        // to be BDR first.
        let bdr = best(
            &mut candidates
                .iter()
                .filter(|c| !c.declares_dr && c.declares_bdr),
        )
        .or_else(|| best(&mut candidates.iter().filter(|c| !c.declares_dr)));
        // Step 3: the DR among those claiming it, else the new BDR.
        let dr = best(&mut candidates.iter().filter(|c| c.declares_dr)).or(bdr);
        // When the DR is also the only BDR candidate, there is no BDR.
        let bdr = bdr.filter(|b| Some(*b) != dr);
        (
            dr.unwrap_or(Ipv4Addr::UNSPECIFIED),
            bdr.unwrap_or(Ipv4Addr::UNSPECIFIED),
        )
    }

    /// The neighbor that is the DR of a broadcast interface, if any.
    pub(crate) fn dr_neighbor(&self, iface: IfaceId) -> Option<&Neighbor> {
        let i = &self.ifaces[iface];
        if i.dr == Ipv4Addr::UNSPECIFIED {
            return None;
        }
        i.neighbors.values().find(|n| self.election_id(n) == i.dr)
    }
}

/// See [`Instance::election_id`].
pub(crate) fn election_id(version: Version, n: &Neighbor) -> Ipv4Addr {
    match (version, n.addr) {
        (Version::V2, IpAddr::V4(a)) => a,
        _ => n.router_id,
    }
}

fn e_bit(version: Version) -> u32 {
    match version {
        Version::V2 => options::V2_E,
        Version::V3 => options::V3_E,
    }
}
