//! The neighbor state machine (RFC 2328 10.1-10.4), sans-IO.
//!
//! A [`Neighbor`] is one router heard on one interface. Its transitions are
//! a `match (state, event)` in [`Instance::neighbor_event`], with the RFC's
//! action bullets as comments; the Database Exchange itself (Database
//! Description and LS Request packets) is in `exchange.rs`, flooding in
//! `flood.rs`.
//!
//! The Attempt state and the Start event exist only on NBMA networks, which
//! vipd does not run on; LLDown is folded into KillNbr (InterfaceDown).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::instance::{Event, Instance, Output};
use super::interface::{IfaceId, NetworkType};
use super::lsdb::DbKey;
use super::wire::{DbDesc, LsaHeader, LsaKey};

/// RFC 2328 10.1 neighbor states, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NbrState {
    Down,
    Init,
    TwoWay,
    ExStart,
    Exchange,
    Loading,
    Full,
}

impl std::fmt::Display for NbrState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NbrState::Down => "Down",
            NbrState::Init => "Init",
            NbrState::TwoWay => "2-Way",
            NbrState::ExStart => "ExStart",
            NbrState::Exchange => "Exchange",
            NbrState::Loading => "Loading",
            NbrState::Full => "Full",
        })
    }
}

/// RFC 2328 10.2 neighbor events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NbrEvent {
    HelloReceived,
    TwoWayReceived,
    NegotiationDone,
    ExchangeDone,
    BadLsReq,
    LoadingDone,
    /// AdjOK?: re-decide whether to be adjacent (after a DR change).
    AdjOk,
    SeqNumberMismatch,
    OneWayReceived,
    KillNbr,
    InactivityTimer,
}

impl std::fmt::Display for NbrEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NbrEvent::HelloReceived => "HelloReceived",
            NbrEvent::TwoWayReceived => "2-WayReceived",
            NbrEvent::NegotiationDone => "NegotiationDone",
            NbrEvent::ExchangeDone => "ExchangeDone",
            NbrEvent::BadLsReq => "BadLSReq",
            NbrEvent::LoadingDone => "LoadingDone",
            NbrEvent::AdjOk => "AdjOK?",
            NbrEvent::SeqNumberMismatch => "SeqNumberMismatch",
            NbrEvent::OneWayReceived => "1-WayReceived",
            NbrEvent::KillNbr => "KillNbr",
            NbrEvent::InactivityTimer => "InactivityTimer",
        })
    }
}

/// The flags, options and sequence number of the last Database
/// Description received, to recognise duplicates (RFC 2328 10.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LastDd {
    pub(crate) flags: u8,
    pub(crate) options: u32,
    pub(crate) seq: u32,
}

/// One neighbor (RFC 2328 10: the neighbor data structure).
#[derive(Debug, Clone)]
pub(crate) struct Neighbor {
    pub(crate) router_id: Ipv4Addr,
    /// Source address of its packets: its interface address in OSPFv2, its
    /// link-local address in OSPFv3.
    pub(crate) addr: IpAddr,
    pub(crate) state: NbrState,
    pub(crate) priority: u8,
    /// From its Hellos until the exchange starts, then from its first
    /// Database Description.
    pub(crate) options: u32,
    /// What its Hello declares (OSPFv2: addresses; OSPFv3: Router IDs).
    pub(crate) declared_dr: Ipv4Addr,
    pub(crate) declared_bdr: Ipv4Addr,
    /// OSPFv3: the Interface ID from its Hellos.
    pub(crate) interface_id: u32,
    pub(crate) inactivity_at: Option<Instant>,
    /// OSPFv2 cryptographic sequence number of its last packet (RFC 2328 D.3).
    pub(crate) crypto_seq: Option<u32>,

    // Database Exchange (RFC 2328 10.6-10.8).
    /// True while vipd is master (also in ExStart, where both claim it).
    pub(crate) master: bool,
    pub(crate) dd_seq: u32,
    pub(crate) last_rcvd_dd: Option<LastDd>,
    /// Kept to retransmit (master) or answer a duplicate (slave).
    pub(crate) last_sent_dd: Option<DbDesc>,
    /// Master only: when to retransmit `last_sent_dd`.
    pub(crate) dd_rxmt_at: Option<Instant>,
    /// Database summary list: what still has to be described.
    pub(crate) summary: VecDeque<DbKey>,
    /// Link state request list.
    pub(crate) requests: BTreeMap<LsaKey, LsaHeader>,
    /// What the last LS Request asked for, and when to ask again.
    pub(crate) lsr_sent: Vec<LsaKey>,
    pub(crate) lsr_rxmt_at: Option<Instant>,

    // Flooding (RFC 2328 13.3, 13.6).
    /// Link state retransmission list: the database copy is what is owed.
    pub(crate) rxmt: BTreeSet<DbKey>,
    pub(crate) rxmt_at: Option<Instant>,
}

impl Neighbor {
    pub(crate) fn new(router_id: Ipv4Addr, addr: IpAddr) -> Self {
        Neighbor {
            router_id,
            addr,
            state: NbrState::Down,
            priority: 0,
            options: 0,
            declared_dr: Ipv4Addr::UNSPECIFIED,
            declared_bdr: Ipv4Addr::UNSPECIFIED,
            interface_id: 0,
            inactivity_at: None,
            crypto_seq: None,
            master: false,
            dd_seq: 0,
            last_rcvd_dd: None,
            last_sent_dd: None,
            dd_rxmt_at: None,
            summary: VecDeque::new(),
            requests: BTreeMap::new(),
            lsr_sent: Vec::new(),
            lsr_rxmt_at: None,
            rxmt: BTreeSet::new(),
            rxmt_at: None,
        }
    }

    /// RFC 2328 10.3: "the Link state retransmission list, Database summary
    /// list and Link state request list are cleared of LSAs".
    pub(crate) fn clear_lists(&mut self) {
        self.summary.clear();
        self.requests.clear();
        self.lsr_sent.clear();
        self.lsr_rxmt_at = None;
        self.rxmt.clear();
        self.rxmt_at = None;
        self.dd_rxmt_at = None;
        self.last_sent_dd = None;
        self.last_rcvd_dd = None;
    }

    /// Whether the neighbor takes part in flooding (RFC 2328 13.3 step 1a).
    pub(crate) fn floods(&self) -> bool {
        self.state >= NbrState::Exchange
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [
            self.inactivity_at,
            self.dd_rxmt_at,
            self.lsr_rxmt_at,
            self.rxmt_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

impl Instance {
    /// Runs one event through the neighbor state machine (RFC 2328 10.3).
    pub(crate) fn neighbor_event(
        &mut self,
        now: Instant,
        iface: IfaceId,
        rid: Ipv4Addr,
        event: NbrEvent,
        out: &mut Vec<Output>,
    ) {
        use NbrEvent::*;
        use NbrState::*;
        let dead = Duration::from_secs(u64::from(self.ifaces[iface].cfg.dead_interval));
        let wanted = self.adjacency_wanted(iface, rid);
        let Some(n) = self.ifaces[iface].neighbors.get_mut(&rid) else {
            return;
        };
        let from = n.state;
        let to = match (from, event) {
            // Start the Inactivity Timer.
            (Down, HelloReceived) => {
                n.inactivity_at = Some(now + dead);
                Init
            }
            // Restart the Inactivity Timer.
            (_, HelloReceived) => {
                n.inactivity_at = Some(now + dead);
                from
            }
            // Decide whether to form an adjacency; if so, start ExStart.
            (Init, TwoWayReceived) if wanted => ExStart,
            (Init, TwoWayReceived) => TwoWay,
            (_, TwoWayReceived) => from,
            // The summary list gets every LSA in the database; MaxAge ones
            // go on the retransmission list instead (RFC 2328 10.3).
            (ExStart, NegotiationDone) => Exchange,
            // Request list empty: Full; else Loading, requesting continues.
            (Exchange, ExchangeDone) if n.requests.is_empty() => Full,
            (Exchange, ExchangeDone) => Loading,
            (Loading, LoadingDone) => Full,
            (TwoWay, AdjOk) if wanted => ExStart,
            (ExStart | Exchange | Loading | Full, AdjOk) if !wanted => {
                n.clear_lists();
                TwoWay
            }
            (_, AdjOk) => from,
            // Tear down the adjacency and start the exchange over.
            (Exchange | Loading | Full, SeqNumberMismatch | BadLsReq) => {
                n.clear_lists();
                ExStart
            }
            (_, KillNbr | InactivityTimer) => {
                n.clear_lists();
                n.inactivity_at = None;
                Down
            }
            (TwoWay | ExStart | Exchange | Loading | Full, OneWayReceived) => {
                n.clear_lists();
                Init
            }
            // Anything else does not apply in this state (RFC 2328 10.3
            // lists only the pairs above).
            _ => from,
        };
        if to == from {
            return;
        }
        n.state = to;
        out.push(Output::Event(Event::NeighborState {
            iface,
            router_id: rid,
            from,
            to,
            event,
        }));
        match to {
            ExStart => self.start_exchange(now, iface, rid, out),
            Exchange => self.build_summary(now, iface, rid),
            Down => {
                self.ifaces[iface].neighbors.remove(&rid);
            }
            _ => {}
        }
        // The Router-LSA lists Full adjacencies (RFC 2328 12.4).
        if (from == Full) != (to == Full) {
            self.origination_needed = true;
        }
        // On a broadcast network, a neighbor crossing 2-Way changes the
        // election's candidates (RFC 2328 9.2 NeighborChange).
        let bidirectional = |s: NbrState| s >= TwoWay;
        if self.ifaces[iface].cfg.network == NetworkType::Broadcast
            && bidirectional(from) != bidirectional(to)
        {
            self.neighbor_change(now, iface, out);
        }
    }

    /// RFC 2328 10.4: on point-to-point links always; on a broadcast link
    /// only with the DR and the BDR, since vipd is never either.
    pub(crate) fn adjacency_wanted(&self, iface: IfaceId, rid: Ipv4Addr) -> bool {
        let i = &self.ifaces[iface];
        match i.cfg.network {
            NetworkType::PointToPoint => true,
            NetworkType::Broadcast => {
                let Some(n) = i.neighbors.get(&rid) else {
                    return false;
                };
                let id = self.election_id(n);
                id != Ipv4Addr::UNSPECIFIED && (id == i.dr || id == i.bdr)
            }
        }
    }
}
