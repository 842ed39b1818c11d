//! What `vipd status` and the metrics show of OSPF: one snapshot per
//! running instance, published by the driver after every step of the
//! instance (a watch channel, so a reader always sees the latest).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use super::instance::Instance;

/// One OSPF instance (one version) as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OspfStatus {
    /// `"OSPFv2"` or `"OSPFv3"`.
    pub version: &'static str,
    pub router_id: Ipv4Addr,
    pub area: Ipv4Addr,
    pub neighbors: Vec<OspfNeighborStatus>,
    /// LSAs in the area database (any originator, MaxAge ones included).
    pub lsas: usize,
    /// Of those, the ones vipd originated and has not flushed.
    pub originated: usize,
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets and LSAs dropped since start, by reason (`bad_checksum`,
    /// `bad_length`, `unknown_lsa_type`, `bogus_sequence_number`,
    /// `authentication`, ...). A reason appears once it happened.
    pub dropped: BTreeMap<&'static str, u64>,
}

/// One neighbor on one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OspfNeighborStatus {
    pub interface: String,
    pub router_id: Ipv4Addr,
    pub address: IpAddr,
    /// RFC 2328 10.1 state name: Down, Init, 2-Way, ExStart, Exchange,
    /// Loading, Full.
    pub state: String,
}

impl Instance {
    /// The snapshot `vipd status` shows.
    pub(crate) fn status(&self, now: Instant) -> OspfStatus {
        let neighbors = self
            .ifaces
            .iter()
            .flat_map(|i| {
                i.neighbors.values().map(|n| OspfNeighborStatus {
                    interface: i.cfg.name.clone(),
                    router_id: n.router_id,
                    address: n.addr,
                    state: n.state.to_string(),
                })
            })
            .collect();
        let originated = self
            .lsdb
            .iter()
            .filter(|(k, e)| self.is_self_originated(k) && !e.is_max_age(now))
            .count();
        OspfStatus {
            version: match self.cfg.version {
                super::wire::Version::V2 => "OSPFv2",
                super::wire::Version::V3 => "OSPFv3",
            },
            router_id: self.cfg.router_id,
            area: self.cfg.area_id,
            neighbors,
            lsas: self.lsdb.iter().count(),
            originated,
            packets_sent: self.stats.packets_sent,
            packets_received: self.stats.packets_received,
            dropped: self.stats.dropped.clone(),
        }
    }
}
