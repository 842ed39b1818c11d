//! One OSPF instance (OSPFv2 or OSPFv3, one area), sans-IO.
//!
//! The driver feeds [`Instance::handle`] the current time and an [`Input`]
//! (a packet, an interface change, the VIP set, shutdown) and carries out
//! the [`Output`]s (send these octets there; log this event). It sleeps until
//! [`Instance::poll_timeout`] and then calls [`Instance::handle_timeout`].
//! Nothing here touches a socket or a clock, so every timer is tested on a
//! virtual clock.
//!
//! The work is split by RFC section: `interface.rs` (9, 10.5 Hellos),
//! `neighbor.rs` (10.1-10.4), `exchange.rs` (10.6-10.9), `flood.rs` (13),
//! `origin.rs` (12.4, 14.1, what vipd originates), `lsdb.rs` (12, 14).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use super::interface::{IfState, IfaceId, Interface, InterfaceAddrs, InterfaceConfig, NetworkType};
use super::lsdb::{DbKey, Lsdb};
use super::neighbor::{NbrEvent, NbrState};
use super::origin::Origin;
use super::wire::auth::{self, AuthError};
use super::wire::iana::constants::MAX_AGE;
use super::wire::{AuthHeader, Body, DecodeError, Packet, Version};

/// How often LSA ages are checked (MaxAge flushing, LSRefreshTime).
const AGE_SWEEP: Duration = Duration::from_secs(1);
/// While shutting down: how long to keep retransmitting flushed LSAs before
/// giving up on an acknowledgment, and how often to retransmit meanwhile.
/// A flush held by MinLSArrival (an LSA changed in the last second) starts
/// this wait when it is sent, so shutdown takes at most 1.5 s.
const SHUTDOWN_FLUSH_WAIT: Duration = Duration::from_millis(500);
const SHUTDOWN_RXMT: Duration = Duration::from_millis(150);

/// What vipd originates its VIPs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VipLsa {
    /// OSPFv2: a stub link in the Router-LSA; OSPFv3: one
    /// Intra-Area-Prefix-LSA per VIP.
    Stub,
    /// One AS-External-LSA per VIP.
    External,
}

/// Everything an instance is configured with.
#[derive(Debug, Clone)]
pub(crate) struct InstanceConfig {
    pub(crate) version: Version,
    pub(crate) router_id: Ipv4Addr,
    pub(crate) area_id: Ipv4Addr,
    pub(crate) vip_lsa: VipLsa,
    /// External metric type 2 (else 1).
    pub(crate) external_type2: bool,
    pub(crate) interfaces: Vec<InterfaceConfig>,
}

/// What the driver tells the instance.
#[derive(Debug)]
pub(crate) enum Input<'a> {
    /// The interface is up with these addresses (again, when they change).
    InterfaceUp {
        iface: IfaceId,
        addrs: InterfaceAddrs,
    },
    InterfaceDown {
        iface: IfaceId,
    },
    /// One IP payload received on an interface.
    Packet {
        iface: IfaceId,
        src: IpAddr,
        dst: IpAddr,
        data: &'a [u8],
    },
    /// The VIPs to originate now, this version's family only, with costs.
    Vips(BTreeMap<IpNet, u32>),
    /// Flush everything originated, say goodbye, then report
    /// [`Output::ShutdownComplete`].
    Shutdown,
}

/// What the instance asks of the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Output {
    /// Send one IP payload (OSPFv2: sealed; OSPFv3: checksum left to the
    /// kernel) out of an interface to `dst`.
    Send {
        iface: IfaceId,
        dst: IpAddr,
        data: Vec<u8>,
    },
    Event(Event),
    /// Shutdown finished: every flush was acknowledged or the wait ran out.
    ShutdownComplete,
}

/// Observable events, for the driver to log (one place names each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    InterfaceState {
        iface: IfaceId,
        from: IfState,
        to: IfState,
    },
    NeighborState {
        iface: IfaceId,
        router_id: Ipv4Addr,
        from: NbrState,
        to: NbrState,
        event: NbrEvent,
    },
    DrElected {
        iface: IfaceId,
        dr: Ipv4Addr,
        bdr: Ipv4Addr,
    },
    PacketDropped {
        iface: IfaceId,
        reason: &'static str,
        detail: String,
    },
    Originated {
        key: DbKey,
        seq: u32,
    },
    /// A new instance is wanted but MinLSInterval holds it until `at`.
    OriginationDeferred {
        key: DbKey,
        at: Instant,
    },
    Flushed {
        key: DbKey,
    },
    /// Shutdown stopped waiting: these flushes were never acknowledged.
    FlushUnacknowledged {
        iface: IfaceId,
        router_id: Ipv4Addr,
        lsas: Vec<DbKey>,
    },
}

/// Counters, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets or LSAs dropped, by reason (`DecodeError::kind` and the
    /// protocol checks' names).
    pub dropped: BTreeMap<&'static str, u64>,
    pub packets_sent: u64,
    pub packets_received: u64,
}

/// Shutdown in progress.
#[derive(Debug, Clone, Copy)]
struct Shutdown {
    give_up_at: Instant,
}

/// One OSPF instance.
#[derive(Debug)]
pub(crate) struct Instance {
    pub(crate) cfg: InstanceConfig,
    pub(crate) ifaces: Vec<Interface>,
    pub(crate) lsdb: Lsdb,
    pub(crate) origin: Origin,
    pub(crate) stats: Stats,
    /// Set by anything that may change what vipd originates; acted on at
    /// the end of every `handle` (the Router-LSA is rebuilt at most once).
    pub(crate) origination_needed: bool,
    next_dd_seq: u32,
    age_sweep_at: Instant,
    shutdown: Option<Shutdown>,
    done: bool,
}

impl Instance {
    /// `seed` varies the initial DD sequence numbers and OSPFv2 crypto
    /// sequence numbers; the driver passes the wall clock's seconds, so a
    /// restarted vipd never goes backwards (RFC 2328 D.3).
    pub(crate) fn new(cfg: InstanceConfig, now: Instant, seed: u32) -> Self {
        let ifaces = cfg
            .interfaces
            .iter()
            .map(|c| Interface::new(c.clone(), seed))
            .collect();
        Instance {
            ifaces,
            lsdb: Lsdb::default(),
            origin: Origin::default(),
            stats: Stats::default(),
            origination_needed: true,
            next_dd_seq: seed,
            age_sweep_at: now + AGE_SWEEP,
            shutdown: None,
            done: false,
            cfg,
        }
    }

    pub(crate) fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Output> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        match input {
            Input::InterfaceUp { iface, addrs } => {
                if iface < self.ifaces.len() {
                    self.interface_up(now, iface, addrs, &mut out);
                }
            }
            Input::InterfaceDown { iface } => {
                if iface < self.ifaces.len() {
                    self.interface_down(now, iface, &mut out);
                }
            }
            Input::Packet {
                iface,
                src,
                dst,
                data,
            } => {
                if iface < self.ifaces.len() {
                    self.receive(now, iface, src, dst, data, &mut out);
                }
            }
            Input::Vips(vips) => {
                if self.shutdown.is_none() {
                    self.origin.vips = vips;
                    self.origination_needed = true;
                }
            }
            Input::Shutdown => {
                if self.shutdown.is_none() {
                    self.shutdown = Some(Shutdown {
                        give_up_at: now + SHUTDOWN_FLUSH_WAIT,
                    });
                    self.origin.vips.clear();
                    self.origination_needed = true;
                }
            }
        }
        self.finish(now, &mut out);
        out
    }

    /// When [`Instance::handle_timeout`] should next be called.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        self.ifaces
            .iter()
            .filter_map(Interface::next_deadline)
            .chain(self.origin.next_deadline())
            .chain(self.shutdown.map(|s| s.give_up_at))
            .chain(Some(self.age_sweep_at))
            .min()
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        for iface in 0..self.ifaces.len() {
            if self.ifaces[iface].hello_at.is_some_and(|t| t <= now) {
                self.send_hello(now, iface, false, &mut out);
            }
            let rids: Vec<Ipv4Addr> = self.ifaces[iface].neighbors.keys().copied().collect();
            for rid in rids {
                self.neighbor_timers(now, iface, rid, &mut out);
            }
        }
        if self.origin.next_deadline().is_some_and(|t| t <= now) {
            self.origination_needed = true;
        }
        if self.age_sweep_at <= now {
            self.age_sweep_at = now + AGE_SWEEP;
            self.sweep_ages(now, &mut out);
        }
        self.finish(now, &mut out);
        out
    }

    #[cfg(test)]
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Work every `handle` ends with: origination, delayed acks, shutdown.
    fn finish(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.origination_needed {
            self.origination_needed = false;
            self.sync_origination(now, out);
        }
        for iface in 0..self.ifaces.len() {
            self.send_pending_floods(iface, out);
            self.send_delayed_acks(iface, out);
        }
        if let Some(s) = self.shutdown {
            // Only our own flushes count: other routers' LSAs relayed to a
            // neighbor that is slow to acknowledge them are not our business.
            let unacked = |n: &super::neighbor::Neighbor| -> Vec<DbKey> {
                n.rxmt
                    .iter()
                    .filter(|k| self.is_self_originated(k))
                    .copied()
                    .collect()
            };
            // Flushes held by MinLSArrival are still to be sent.
            let pending = self.origin.has_deferred()
                || self.ifaces.iter().any(|i| {
                    i.neighbors
                        .values()
                        .any(|n| n.floods() && !unacked(n).is_empty())
                });
            if !pending || now >= s.give_up_at {
                for (iface, i) in self.ifaces.iter().enumerate() {
                    for n in i.neighbors.values().filter(|n| n.floods()) {
                        let lsas = unacked(n);
                        if !lsas.is_empty() {
                            out.push(Output::Event(Event::FlushUnacknowledged {
                                iface,
                                router_id: n.router_id,
                                lsas,
                            }));
                        }
                    }
                }
                for iface in 0..self.ifaces.len() {
                    self.send_hello(now, iface, true, out);
                }
                self.done = true;
                out.push(Output::ShutdownComplete);
            }
        }
    }

    fn neighbor_timers(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        out: &mut Vec<Output>,
    ) {
        let Some(n) = self.ifaces[iface].neighbors.get(&rid) else {
            return;
        };
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        let (inactive, dd, lsr, rxmt) = (
            due(n.inactivity_at),
            due(n.dd_rxmt_at),
            due(n.lsr_rxmt_at),
            due(n.rxmt_at),
        );
        if inactive {
            self.neighbor_event(now, iface, rid, NbrEvent::InactivityTimer, out);
            return;
        }
        if dd {
            self.retransmit_dd(now, iface, rid, out);
        }
        if lsr {
            self.send_ls_request(now, iface, rid, out);
        }
        if rxmt {
            self.retransmit_lsas(now, iface, rid, out);
        }
    }

    /// The retransmission interval for LS Updates: RxmtInterval, shortened
    /// while shutting down so flushes get several tries within the budget.
    pub(crate) fn lsa_rxmt_interval(&self, iface: IfaceId) -> Duration {
        match self.shutdown {
            Some(_) => SHUTDOWN_RXMT,
            None => self.ifaces[iface].rxmt_interval(),
        }
    }

    /// A flush held by MinLSArrival until `at`: shutdown waits for it and
    /// gives its acknowledgment the usual time.
    pub(crate) fn hold_shutdown_until(&mut self, at: Instant) {
        if let Some(s) = &mut self.shutdown {
            s.give_up_at = s.give_up_at.max(at + SHUTDOWN_FLUSH_WAIT);
        }
    }

    pub(crate) fn shutting_down(&self) -> bool {
        self.shutdown.is_some()
    }

    /// A fresh DD sequence number for an exchange (RFC 2328 10.8: "some
    /// unique value (like the time of day clock)").
    pub(crate) fn take_dd_seq(&mut self) -> u32 {
        self.next_dd_seq = self.next_dd_seq.wrapping_add(1);
        self.next_dd_seq
    }

    /// RFC 2328 14: refresh our LSAs at LSRefreshTime; reflood others' that
    /// reached MaxAge; drop MaxAge LSAs nobody needs any more.
    fn sweep_ages(&mut self, now: Instant, out: &mut Vec<Output>) {
        let exchanging = self.ifaces.iter().any(|i| {
            i.neighbors
                .values()
                .any(|n| matches!(n.state, NbrState::Exchange | NbrState::Loading))
        });
        let mut reflood = Vec::new();
        let mut remove = Vec::new();
        for (key, e) in self.lsdb.iter() {
            if !e.is_max_age(now) {
                if self.is_self_originated(key)
                    && e.age(now) >= super::wire::iana::constants::LS_REFRESH_TIME
                {
                    self.origin.force.insert(*key);
                    self.origination_needed = true;
                }
                continue;
            }
            if !e.max_age_flooded {
                reflood.push(*key);
            } else if !exchanging && !self.on_any_rxmt_list(key) {
                remove.push(*key);
            }
        }
        for key in reflood {
            if let Some(e) = self.lsdb.get_mut(&key) {
                e.max_age_flooded = true;
                let lsa = e.lsa.with_age(MAX_AGE);
                self.flood(now, key, &lsa, None, out);
            }
        }
        for key in remove {
            self.lsdb.remove(&key);
        }
    }

    pub(crate) fn on_any_rxmt_list(&self, key: &DbKey) -> bool {
        self.ifaces
            .iter()
            .any(|i| i.neighbors.values().any(|n| n.rxmt.contains(key)))
    }

    // ---- receiving

    /// RFC 2328 8.2: checks every packet passes, then dispatch by type.
    fn receive(
        &mut self,
        now: Instant,
        iface: IfaceId,
        src: IpAddr,
        dst: IpAddr,
        data: &[u8],
        out: &mut Vec<Output>,
    ) {
        self.stats.packets_received += 1;
        if !self.ifaces[iface].is_up() {
            return;
        }
        let version = self.cfg.version;
        let crypto_seq = match version {
            Version::V2 => match auth::verify(data, self.ifaces[iface].cfg.auth.as_ref()) {
                Ok(seq) => seq,
                Err(e) => {
                    self.drop_packet(iface, e.kind(), format!("from {src}: {e}"), out);
                    return;
                }
            },
            Version::V3 => None,
        };
        let packet = match Packet::decode(data) {
            Ok(p) => p,
            Err(e) => {
                self.drop_packet(iface, e.kind(), format!("from {src}: {e}"), out);
                return;
            }
        };
        let i = &self.ifaces[iface];
        let check = if packet.version != version {
            Err((
                "bad_version",
                format!("{} packet on an {} instance", packet.version, version),
            ))
        } else if packet.area_id != self.cfg.area_id {
            Err((
                "area_mismatch",
                format!("area {}, ours {}", packet.area_id, self.cfg.area_id),
            ))
        } else if packet.router_id == self.cfg.router_id {
            // Our own packet looped back, or a Router ID clash.
            Err(("own_router_id", format!("from {src}")))
        } else if version == Version::V3 && packet.instance_id != i.cfg.instance_id {
            Err((
                "instance_mismatch",
                format!("instance ID {}", packet.instance_id),
            ))
        } else if version == Version::V2
            && i.cfg.network == NetworkType::Broadcast
            && !matches!((src, i.ipv4()), (IpAddr::V4(s), Some(net)) if net.contains(&s))
        {
            Err((
                "wrong_subnet",
                format!("source {src} is not on the interface's subnet"),
            ))
        } else if dst == self.all_d_routers() {
            // vipd is never DR or BDR (RFC 2328 8.2).
            Err(("not_dr", format!("to {dst}")))
        } else {
            Ok(())
        };
        if let Err((reason, detail)) = check {
            self.drop_packet(iface, reason, detail, out);
            return;
        }
        let rid = packet.router_id;
        let nbr = self.ifaces[iface].neighbor_for(version, rid, src);
        // RFC 2328 D.4.3: a sequence number below the neighbor's last is a
        // replay.
        if let (Some(seq), Some(n)) = (
            crypto_seq,
            nbr.and_then(|r| self.ifaces[iface].neighbors.get_mut(&r)),
        ) {
            if let Some(last) = n.crypto_seq.filter(|last| seq < *last) {
                let e = DecodeError::Auth(AuthError::Replay { last, got: seq });
                self.drop_packet(iface, e.kind(), format!("from {src}: {e}"), out);
                return;
            }
            n.crypto_seq = Some(seq);
        }
        let body = packet.body;
        if let Body::Hello(hello) = body {
            self.receive_hello(now, iface, src, rid, hello, out);
            if let (Some(seq), Some(n)) = (crypto_seq, self.ifaces[iface].neighbors.get_mut(&rid)) {
                n.crypto_seq = Some(seq);
            }
            return;
        }
        let Some(rid) = nbr else {
            self.drop_packet(
                iface,
                "unknown_neighbor",
                format!("{:?} from {src} ({rid})", body.packet_type()),
                out,
            );
            return;
        };
        match body {
            Body::Hello(_) => {}
            Body::DbDesc(dd) => self.receive_dd(now, iface, rid, dd, out),
            Body::LsRequest(entries) => self.receive_ls_request(now, iface, rid, entries, out),
            Body::LsUpdate(lsas) => self.receive_ls_update(now, iface, rid, lsas, out),
            Body::LsAck(headers) => self.receive_ls_ack(now, iface, rid, headers, out),
        }
    }

    pub(crate) fn drop_packet(
        &mut self,
        iface: IfaceId,
        reason: &'static str,
        detail: String,
        out: &mut Vec<Output>,
    ) {
        *self.stats.dropped.entry(reason).or_default() += 1;
        out.push(Output::Event(Event::PacketDropped {
            iface,
            reason,
            detail,
        }));
    }

    // ---- sending

    pub(crate) fn all_spf_routers(&self) -> IpAddr {
        match self.cfg.version {
            Version::V2 => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 5)),
            Version::V3 => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 5)),
        }
    }

    pub(crate) fn all_d_routers(&self) -> IpAddr {
        match self.cfg.version {
            Version::V2 => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 6)),
            Version::V3 => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 6)),
        }
    }

    /// Where packets for one neighbor go: AllSPFRouters on point-to-point
    /// links (RFC 2328 8.1), its address on broadcast ones.
    pub(crate) fn neighbor_dst(&self, iface: IfaceId, rid: Ipv4Addr) -> IpAddr {
        let i = &self.ifaces[iface];
        match (i.cfg.network, i.neighbors.get(&rid)) {
            (NetworkType::Broadcast, Some(n)) => n.addr,
            _ => self.all_spf_routers(),
        }
    }

    /// Where flooded updates and delayed acks go: as DROther on a broadcast
    /// network, AllDRouters (RFC 2328 13.3 step 5); else AllSPFRouters.
    pub(crate) fn flood_dst(&self, iface: IfaceId) -> IpAddr {
        match self.ifaces[iface].cfg.network {
            NetworkType::Broadcast => self.all_d_routers(),
            NetworkType::PointToPoint => self.all_spf_routers(),
        }
    }

    /// Largest OSPF packet body that fits the interface MTU (IP header and
    /// any digest taken off), for packing DDs, requests, updates and acks.
    pub(crate) fn max_body(&self, iface: IfaceId) -> usize {
        let i = &self.ifaces[iface];
        let ip_header = match self.cfg.version {
            Version::V2 => 20,
            Version::V3 => 40,
        };
        let digest = i.cfg.auth.as_ref().map_or(0, |k| k.algorithm.digest_len());
        usize::from(i.mtu())
            .saturating_sub(ip_header + digest + Packet::header_len(self.cfg.version))
            .max(64)
    }

    /// Builds, seals and queues one packet.
    pub(crate) fn send(&mut self, iface: IfaceId, dst: IpAddr, body: Body, out: &mut Vec<Output>) {
        let i = &mut self.ifaces[iface];
        let auth = match (&i.cfg.auth, self.cfg.version) {
            (Some(key), Version::V2) => {
                i.crypto_seq = i.crypto_seq.wrapping_add(1);
                AuthHeader::Crypto {
                    key_id: key.key_id,
                    auth_len: key.algorithm.digest_len() as u8,
                    seq: i.crypto_seq,
                }
            }
            _ => AuthHeader::Null,
        };
        let packet = Packet {
            version: self.cfg.version,
            router_id: self.cfg.router_id,
            area_id: self.cfg.area_id,
            instance_id: i.cfg.instance_id,
            auth,
            body,
        };
        let mut data = packet.encode();
        if self.cfg.version == Version::V2 {
            let seq = match auth {
                AuthHeader::Crypto { seq, .. } => seq,
                _ => 0,
            };
            auth::seal(&mut data, i.cfg.auth.as_ref(), seq);
        }
        self.stats.packets_sent += 1;
        out.push(Output::Send { iface, dst, data });
    }
}
