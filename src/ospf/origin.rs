//! What vipd originates (RFC 2328 12.4, RFC 5340 4.4.3), level-triggered:
//! the whole wanted set of self-originated LSAs is computed from the
//! interfaces, the adjacencies and the VIPs, and compared with the database.
//!
//! - A wanted LSA whose content differs from the database copy gets a new
//!   instance (sequence number + 1), at most one per MinLSInterval (5 s,
//!   RFC 2328 12.4); a change inside that interval is deferred to its end.
//! - An LSA no longer wanted is flushed by premature aging (RFC 2328 14.1):
//!   re-flooded at MaxAge. A flush is held until MinLSArrival (1 s) after
//!   the instance it withdraws, since routers discard a newer instance that
//!   arrives sooner (RFC 2328 13 step 5a) and only take it on the next
//!   retransmission, RxmtInterval later.
//! - Every router: a Router-LSA with the H-bit (RFC 8770, OSPFv2) or the
//!   R-bit clear (OSPFv3), MaxLinkMetric on every link to another router
//!   (RFC 6987), and the E-bit when originating AS-external LSAs.
//! - OSPFv3 adds one Link-LSA per interface (RFC 5340 4.4.3.8).
//! - VIPs: see [`super::instance::VipLsa`]. Each VIP that is its own LSA
//!   (AS-external, or an OSPFv3 Intra-Area-Prefix-LSA) has its own
//!   MinLSInterval, so a change to one VIP never waits for another.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::Instant;

use ipnet::{IpNet, Ipv6Net};

use super::instance::{Event, Instance, Output, VipLsa};
use super::interface::NetworkType;
use super::lsdb::{DbKey, Scope};
use super::neighbor::NbrState;
use super::wire::iana::constants::*;
use super::wire::iana::{link_type, ls_type, options, prefix_options, router_flags};
use super::wire::lsa::LsaBody;
use super::wire::lsa_v2::{ExternalLsa, RouterLink, RouterLsa};
use super::wire::lsa_v3::{
    ExternalLsaV3, IntraAreaPrefixLsa, LinkLsa, Prefix, RouterLinkV3, RouterLsaV3,
};
use super::wire::{Lsa, LsaHeader, LsaKey, Version};

/// Origination state.
#[derive(Debug, Default)]
pub(crate) struct Origin {
    /// The VIPs to originate, with their costs.
    pub(crate) vips: BTreeMap<IpNet, u32>,
    /// OSPFv3 Link State IDs handed out to VIPs, kept for the process's
    /// life so a VIP that comes back reuses its LSA.
    lsids: BTreeMap<IpNet, Ipv4Addr>,
    next_lsid: u32,
    /// When each of our LSAs last got a new instance.
    last_originated: HashMap<DbKey, Instant>,
    /// Changes held back by MinLSInterval or MinLSArrival, and until when.
    deferred: BTreeMap<DbKey, Instant>,
    /// Re-originate these even if unchanged, and at once: our own LSA came
    /// back from an earlier life (RFC 2328 13.4), or LSRefreshTime passed.
    pub(crate) force: BTreeSet<DbKey>,
}

impl Origin {
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deferred.values().min().copied()
    }

    /// Whether a change (or a flush) is held back.
    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    fn lsid_for(&mut self, prefix: IpNet) -> Ipv4Addr {
        *self.lsids.entry(prefix).or_insert_with(|| {
            self.next_lsid += 1;
            Ipv4Addr::from(self.next_lsid)
        })
    }
}

/// One LSA vipd wants in the database.
struct Wanted {
    key: DbKey,
    options: u8,
    body: LsaBody,
}

impl Instance {
    /// Brings the database's self-originated LSAs in line with what is
    /// wanted now.
    pub(crate) fn sync_origination(&mut self, now: Instant, out: &mut Vec<Output>) {
        let wanted = self.wanted_lsas();
        let version = self.cfg.version;
        let shutting_down = self.shutting_down();
        self.origin.deferred.clear();
        let wanted_keys: BTreeSet<DbKey> = wanted.iter().map(|w| w.key).collect();
        for w in wanted {
            let mut body = Vec::new();
            w.body.encode(&mut body);
            let forced = self.origin.force.remove(&w.key);
            let current = self
                .lsdb
                .get(&w.key)
                .map(|e| (e.lsa.clone(), e.is_max_age(now)));
            let unchanged = current.as_ref().is_some_and(|(lsa, max_age)| {
                !max_age && lsa.body() == body.as_slice() && lsa.header.options == w.options
            });
            if unchanged && !forced {
                continue;
            }
            if !forced
                && let Some(last) = self.origin.last_originated.get(&w.key)
                && now < *last + MIN_LS_INTERVAL
            {
                let at = *last + MIN_LS_INTERVAL;
                self.origin.deferred.insert(w.key, at);
                out.push(Output::Event(Event::OriginationDeferred { key: w.key, at }));
                continue;
            }
            let seq = match &current {
                None => INITIAL_SEQUENCE_NUMBER,
                Some((lsa, _)) if lsa.header.seq == MAX_SEQUENCE_NUMBER => {
                    // RFC 2328 12.1.6: flush the MaxSequenceNumber instance
                    // first; the new one starts over once it is gone.
                    if !current.as_ref().is_some_and(|(_, m)| *m) {
                        self.flush(now, w.key, out);
                    }
                    self.origin.deferred.insert(w.key, now + MIN_LS_ARRIVAL);
                    continue;
                }
                Some((lsa, _)) => lsa.header.seq.wrapping_add(1),
            };
            let header = LsaHeader {
                age: 0,
                options: w.options,
                ls_type: w.key.key.ls_type,
                lsid: w.key.key.lsid,
                adv_router: w.key.key.adv_router,
                seq,
                checksum: 0,
                length: 0,
            };
            let lsa = Lsa::build(version, header, &w.body);
            self.origin.last_originated.insert(w.key, now);
            self.install_and_flood_own(now, w.key, lsa, out);
            out.push(Output::Event(Event::Originated { key: w.key, seq }));
        }
        // Whatever of ours is no longer wanted gets flushed.
        let unwanted: Vec<DbKey> = self
            .lsdb
            .iter()
            .filter(|(k, e)| {
                self.is_self_originated(k) && !wanted_keys.contains(k) && !e.is_max_age(now)
            })
            .map(|(k, _)| *k)
            .collect();
        for key in unwanted {
            self.origin.force.remove(&key);
            // Shutdown too: a flush the routers discard leaves our last
            // instance in their databases for an hour. The hold is at most
            // MinLSArrival, and shutdown waits for it.
            if let Some(last) = self.origin.last_originated.get(&key)
                && now < *last + MIN_LS_ARRIVAL
            {
                let at = *last + MIN_LS_ARRIVAL;
                self.origin.deferred.insert(key, at);
                if shutting_down {
                    self.hold_shutdown_until(at);
                }
                continue;
            }
            self.flush(now, key, out);
        }
    }

    fn install_and_flood_own(&mut self, now: Instant, key: DbKey, lsa: Lsa, out: &mut Vec<Output>) {
        for i in &mut self.ifaces {
            for n in i.neighbors.values_mut() {
                n.rxmt.remove(&key);
            }
        }
        self.flood(now, key, &lsa, None, out);
        self.lsdb.install(key, lsa, now, false);
    }

    /// RFC 2328 14.1 premature aging: the same instance at MaxAge, flooded.
    fn flush(&mut self, now: Instant, key: DbKey, out: &mut Vec<Output>) {
        let Some(e) = self.lsdb.get(&key) else {
            return;
        };
        let lsa = e.lsa.with_age(MAX_AGE);
        self.install_and_flood_own(now, key, lsa, out);
        if let Some(e) = self.lsdb.get_mut(&key) {
            e.max_age_flooded = true;
        }
        self.origin.last_originated.insert(key, now);
        out.push(Output::Event(Event::Flushed { key }));
    }

    /// Everything vipd should originate right now.
    fn wanted_lsas(&mut self) -> Vec<Wanted> {
        if self.shutting_down() {
            return Vec::new();
        }
        match self.cfg.version {
            Version::V2 => self.wanted_v2(),
            Version::V3 => self.wanted_v3(),
        }
    }

    fn area_key(&self, t: u16, lsid: Ipv4Addr) -> DbKey {
        let scope = match t {
            ls_type::V2_AS_EXTERNAL if self.cfg.version == Version::V2 => Scope::As,
            ls_type::V3_AS_EXTERNAL if self.cfg.version == Version::V3 => Scope::As,
            _ => Scope::Area,
        };
        DbKey {
            scope,
            key: LsaKey {
                ls_type: t,
                lsid,
                adv_router: self.cfg.router_id,
            },
        }
    }

    fn wanted_v2(&mut self) -> Vec<Wanted> {
        let external = self.cfg.vip_lsa == VipLsa::External;
        let mut links = Vec::new();
        for (id, i) in self.ifaces.iter().enumerate() {
            let Some(net) = i.ipv4().filter(|_| i.is_up()) else {
                continue;
            };
            let stub = RouterLink {
                link_id: net.network(),
                link_data: net.netmask(),
                link_type: link_type::STUB,
                metric: i.cfg.cost,
                tos: Vec::new(),
            };
            match i.cfg.network {
                // RFC 2328 12.4.1.1: a point-to-point link per Full
                // neighbor, and the subnet as a stub link (option 1).
                NetworkType::PointToPoint => {
                    for n in i.neighbors.values().filter(|n| n.state == NbrState::Full) {
                        links.push(RouterLink {
                            link_id: n.router_id,
                            link_data: net.addr(),
                            link_type: link_type::POINT_TO_POINT,
                            metric: MAX_LINK_METRIC,
                            tos: Vec::new(),
                        });
                    }
                    links.push(stub);
                }
                // RFC 2328 12.4.1.2: a transit link once Full with the DR,
                // else the subnet as a stub link.
                NetworkType::Broadcast => {
                    match self.dr_neighbor(id).filter(|n| n.state == NbrState::Full) {
                        Some(_) => links.push(RouterLink {
                            link_id: i.dr,
                            link_data: net.addr(),
                            link_type: link_type::TRANSIT,
                            metric: MAX_LINK_METRIC,
                            tos: Vec::new(),
                        }),
                        None => links.push(stub),
                    }
                }
            }
        }
        let mut wanted = Vec::new();
        let vips: Vec<(IpNet, u32)> = self.origin.vips.iter().map(|(p, c)| (*p, *c)).collect();
        for (prefix, cost) in vips {
            let IpNet::V4(v4) = prefix else { continue };
            if external {
                wanted.push(Wanted {
                    key: self.area_key(ls_type::V2_AS_EXTERNAL, v4.network()),
                    options: options::V2_E as u8,
                    body: LsaBody::External(ExternalLsa {
                        mask: v4.netmask(),
                        type2: self.cfg.external_type2,
                        metric: cost.min(0xff_ffff),
                        forwarding: Ipv4Addr::UNSPECIFIED,
                        tag: 0,
                        tos: Vec::new(),
                    }),
                });
            } else {
                links.push(RouterLink {
                    link_id: v4.network(),
                    link_data: v4.netmask(),
                    link_type: link_type::STUB,
                    metric: cost.min(u32::from(u16::MAX)) as u16,
                    tos: Vec::new(),
                });
            }
        }
        let flags = router_flags::H | if external { router_flags::E } else { 0 };
        wanted.push(Wanted {
            key: self.area_key(ls_type::V2_ROUTER, self.cfg.router_id),
            options: options::V2_E as u8,
            body: LsaBody::Router(RouterLsa { flags, links }),
        });
        wanted
    }

    fn wanted_v3(&mut self) -> Vec<Wanted> {
        let external = self.cfg.vip_lsa == VipLsa::External;
        // R clear: a host, never a transit router (RFC 5340 A.2). Except
        // for AS-external VIPs: routers only use an ASBR whose R-bit is set
        // (RFC 5340 4.8: external routes transit it), so there MaxLinkMetric
        // alone keeps transit traffic away (RFC 6987).
        let opts = options::V3_V6 | options::V3_E | if external { options::V3_R } else { 0 };
        let mut links = Vec::new();
        let mut wanted = Vec::new();
        for (id, i) in self.ifaces.iter().enumerate() {
            if !i.is_up() {
                continue;
            }
            let Some(addrs) = &i.addrs else { continue };
            match i.cfg.network {
                NetworkType::PointToPoint => {
                    for n in i.neighbors.values().filter(|n| n.state == NbrState::Full) {
                        links.push(RouterLinkV3 {
                            link_type: link_type::POINT_TO_POINT,
                            metric: MAX_LINK_METRIC,
                            interface_id: addrs.ifindex,
                            neighbor_interface_id: n.interface_id,
                            neighbor_router_id: n.router_id,
                        });
                    }
                }
                NetworkType::Broadcast => {
                    if let Some(dr) = self.dr_neighbor(id).filter(|n| n.state == NbrState::Full) {
                        links.push(RouterLinkV3 {
                            link_type: link_type::TRANSIT,
                            metric: MAX_LINK_METRIC,
                            interface_id: addrs.ifindex,
                            neighbor_interface_id: dr.interface_id,
                            neighbor_router_id: dr.router_id,
                        });
                    }
                }
            }
            // RFC 5340 4.4.3.8: one Link-LSA per link, Link State ID = our
            // Interface ID.
            if let Some(link_local) = addrs.link_local {
                wanted.push(Wanted {
                    key: DbKey {
                        scope: Scope::Link(id),
                        key: LsaKey {
                            ls_type: ls_type::V3_LINK,
                            lsid: Ipv4Addr::from(addrs.ifindex),
                            adv_router: self.cfg.router_id,
                        },
                    },
                    options: 0,
                    body: LsaBody::Link(LinkLsa {
                        priority: 0,
                        options: opts,
                        link_local,
                        prefixes: addrs
                            .ipv6_prefixes
                            .iter()
                            .map(|p| Prefix {
                                prefix: p.trunc(),
                                options: 0,
                                field: 0,
                            })
                            .collect(),
                    }),
                });
            }
        }
        let flags = if external { router_flags::E } else { 0 };
        wanted.push(Wanted {
            key: self.area_key(ls_type::V3_ROUTER, Ipv4Addr::UNSPECIFIED),
            options: 0,
            body: LsaBody::RouterV3(RouterLsaV3 {
                flags,
                options: opts,
                links,
            }),
        });
        let vips: Vec<(IpNet, u32)> = self.origin.vips.iter().map(|(p, c)| (*p, *c)).collect();
        for (prefix, cost) in vips {
            let IpNet::V6(v6) = prefix else { continue };
            let lsid = self.origin.lsid_for(prefix);
            let v6: Ipv6Net = v6.trunc();
            if external {
                wanted.push(Wanted {
                    key: self.area_key(ls_type::V3_AS_EXTERNAL, lsid),
                    options: 0,
                    body: LsaBody::ExternalV3(ExternalLsaV3 {
                        type2: self.cfg.external_type2,
                        metric: cost.min(0xff_ffff),
                        prefix: Prefix {
                            prefix: v6,
                            options: 0,
                            field: 0,
                        },
                        forwarding: None,
                        tag: None,
                        referenced_lsid: None,
                    }),
                });
            } else {
                // One Intra-Area-Prefix-LSA per VIP, referencing our
                // Router-LSA; LA: the prefix is an address of ours.
                wanted.push(Wanted {
                    key: self.area_key(ls_type::V3_INTRA_AREA_PREFIX, lsid),
                    options: 0,
                    body: LsaBody::IntraAreaPrefix(IntraAreaPrefixLsa {
                        referenced_ls_type: ls_type::V3_ROUTER,
                        referenced_lsid: Ipv4Addr::UNSPECIFIED,
                        referenced_adv_router: self.cfg.router_id,
                        prefixes: vec![Prefix {
                            prefix: v6,
                            options: prefix_options::LA,
                            field: cost.min(u32::from(u16::MAX)) as u16,
                        }],
                    }),
                });
            }
        }
        wanted
    }
}
