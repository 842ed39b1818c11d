//! Adj-RIB-Out: what one peer should hear, against what it has heard.
//!
//! Level-triggered: given the whole desired set, [`AdjRibOut::sync`] works out
//! the difference from what was advertised and packs it into as few UPDATE
//! messages as fit (prefixes that share attributes share an UPDATE). Sans-IO
//! and deterministic: the same inputs give the same bytes.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{Bytes, BytesMut};
use ipnet::IpNet;

use crate::bgp::wire::{
    self, Afi, AsPath, DecodeOptions, Family, Message, Origin, PathAttribute, Safi, Update,
};
use crate::vip::{DesiredSet, VipRoute};

/// RFC 4271 5.1.5: the LOCAL_PREF sent on iBGP when the VIP sets none.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// Everything about one Established session that shapes its routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRouting {
    pub ebgp: bool,
    pub local_asn: u32,
    pub four_octet_as: bool,
    pub ipv4_unicast: bool,
    pub ipv6_unicast: bool,
    /// RFC 8950 negotiated: IPv4 routes may carry an IPv6 next hop.
    pub extended_nexthop_ipv4: bool,
    pub next_hop_v4: Option<Ipv4Addr>,
    pub next_hop_v6: Option<Ipv6Addr>,
}

impl PeerRouting {
    fn options(&self) -> DecodeOptions {
        DecodeOptions {
            four_octet_as: self.four_octet_as,
            extended_nexthop_ipv4: self.extended_nexthop_ipv4,
        }
    }
}

/// How one prefix goes on the wire to this peer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outbound {
    family: Family,
    next_hop: IpAddr,
    attributes: Vec<PathAttribute>,
}

/// A desired route this peer cannot be sent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsendable {
    pub prefix: IpNet,
    pub reason: &'static str,
}

/// One peer's outbound RIB.
#[derive(Debug)]
pub struct AdjRibOut {
    peer: PeerRouting,
    advertised: BTreeMap<IpNet, Outbound>,
    unsendable: Vec<Unsendable>,
}

impl AdjRibOut {
    pub fn new(peer: PeerRouting) -> Self {
        AdjRibOut {
            peer,
            advertised: BTreeMap::new(),
            unsendable: Vec::new(),
        }
    }

    pub fn peer(&self) -> &PeerRouting {
        &self.peer
    }

    /// How many prefixes the peer currently holds from us.
    pub fn advertised_count(&self) -> usize {
        self.advertised.len()
    }

    pub fn is_advertised(&self, prefix: &IpNet) -> bool {
        self.advertised.contains_key(prefix)
    }

    /// Desired routes that could not be sent at the last sync.
    pub fn unsendable(&self) -> &[Unsendable] {
        &self.unsendable
    }

    /// The first table after Established: everything, then End-of-RIB for
    /// each negotiated family (RFC 4724 section 2).
    pub fn initial(&mut self, desired: &DesiredSet) -> Vec<Bytes> {
        self.advertised.clear();
        let mut out = self.sync(desired);
        if self.peer.ipv4_unicast {
            out.push(encode(&Message::Update(Update::end_of_rib(
                Afi::Ipv4,
                Safi::Unicast,
            ))));
        }
        if self.peer.ipv6_unicast {
            out.push(encode(&Message::Update(Update::end_of_rib(
                Afi::Ipv6,
                Safi::Unicast,
            ))));
        }
        out
    }

    /// RFC 2918: the peer asked for the whole table of one family again.
    pub fn refresh(&mut self, desired: &DesiredSet, afi: Afi) -> Vec<Bytes> {
        // Forget what this family was sent, so sync sends all of it again.
        self.advertised.retain(|p, _| {
            !matches!(
                (p, afi),
                (IpNet::V4(_), Afi::Ipv4) | (IpNet::V6(_), Afi::Ipv6)
            )
        });
        self.sync(desired)
    }

    /// Converge on `desired`: withdraw what left, announce what is new or changed.
    pub fn sync(&mut self, desired: &DesiredSet) -> Vec<Bytes> {
        let opts = self.peer.options();
        self.unsendable.clear();
        let mut wanted: BTreeMap<IpNet, Outbound> = BTreeMap::new();
        for route in desired.values() {
            match self.outbound(route) {
                Ok(o) => {
                    wanted.insert(route.prefix, o);
                }
                Err(reason) => self.unsendable.push(Unsendable {
                    prefix: route.prefix,
                    reason,
                }),
            }
        }

        // Withdrawals first, so a router never holds both an old and a new
        // view longer than it must.
        let mut withdraw_v4 = Vec::new();
        let mut withdraw_v6 = Vec::new();
        for prefix in self.advertised.keys() {
            if !wanted.contains_key(prefix) {
                match prefix {
                    IpNet::V4(_) => withdraw_v4.push(*prefix),
                    IpNet::V6(_) => withdraw_v6.push(*prefix),
                }
            }
        }
        let mut out = Vec::new();
        if !withdraw_v4.is_empty() {
            out.extend(wire::pack_withdraw(Family::Ipv4Unicast, &withdraw_v4, opts));
        }
        if !withdraw_v6.is_empty() {
            out.extend(wire::pack_withdraw(Family::Ipv6Unicast, &withdraw_v6, opts));
        }

        // Group new or changed routes by identical (family, next hop, attributes).
        let mut groups: Vec<(Outbound, Vec<IpNet>)> = Vec::new();
        for (prefix, o) in &wanted {
            if self.advertised.get(prefix) == Some(o) {
                continue;
            }
            match groups.iter_mut().find(|(g, _)| g == o) {
                Some((_, prefixes)) => prefixes.push(*prefix),
                None => groups.push((o.clone(), vec![*prefix])),
            }
        }
        for (o, prefixes) in &groups {
            out.extend(wire::pack_announce(
                &o.attributes,
                o.family,
                o.next_hop,
                prefixes,
                opts,
            ));
        }
        self.advertised = wanted;
        out
    }

    /// Withdraw everything advertised (shutdown).
    pub fn withdraw_all(&mut self) -> Vec<Bytes> {
        self.sync(&DesiredSet::default())
    }

    fn outbound(&self, route: &VipRoute) -> Result<Outbound, &'static str> {
        let p = &self.peer;
        let (family, next_hop) = match route.prefix {
            IpNet::V4(_) => {
                if !p.ipv4_unicast {
                    return Err("the peer did not negotiate IPv4 unicast");
                }
                match (p.next_hop_v4, p.next_hop_v6) {
                    (Some(v4), _) => (Family::Ipv4Unicast, IpAddr::V4(v4)),
                    (None, Some(v6)) if p.extended_nexthop_ipv4 => {
                        (Family::Ipv4Unicast, IpAddr::V6(v6))
                    }
                    _ => {
                        return Err(
                            "no IPv4 next hop for this session (set next_hop_ipv4, or enable RFC 8950 extended next hop on the peer)",
                        );
                    }
                }
            }
            IpNet::V6(_) => {
                if !p.ipv6_unicast {
                    return Err("the peer did not negotiate IPv6 unicast");
                }
                match p.next_hop_v6 {
                    Some(v6) => (Family::Ipv6Unicast, IpAddr::V6(v6)),
                    None => {
                        return Err(
                            "no IPv6 next hop for this session (set next_hop_ipv6 or give the interface a global IPv6 address)",
                        );
                    }
                }
            }
        };
        Ok(Outbound {
            family,
            next_hop,
            attributes: self.attributes(route),
        })
    }

    /// Path attributes in type-code order, without NEXT_HOP / MP_REACH (the
    /// packer adds those).
    fn attributes(&self, route: &VipRoute) -> Vec<PathAttribute> {
        let p = &self.peer;
        let mut attrs = vec![PathAttribute::Origin(Origin::Igp)];
        let path = if p.ebgp {
            // RFC 4271 5.1.2: prepend our own AS on eBGP; as_path_prepend adds copies.
            let n = 1 + usize::from(route.as_path_prepend);
            AsPath::sequence(vec![p.local_asn; n])
        } else {
            // RFC 4271 5.1.2: a route we originate carries an empty AS_PATH on iBGP.
            AsPath { segments: vec![] }
        };
        let needs_as4 = !p.four_octet_as && path.has_4byte_asns();
        attrs.push(PathAttribute::AsPath(path.clone()));
        if let Some(med) = route.med {
            attrs.push(PathAttribute::MultiExitDisc(med));
        }
        if !p.ebgp {
            attrs.push(PathAttribute::LocalPref(
                route.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
            ));
        }
        if !route.communities.is_empty() {
            let mut c = route.communities.clone();
            c.sort();
            c.dedup();
            attrs.push(PathAttribute::Communities(c));
        }
        if needs_as4 {
            // RFC 6793 4.2.2: a 2-octet peer gets AS_TRANS in AS_PATH and the
            // real path in AS4_PATH.
            attrs.push(PathAttribute::As4Path(path));
        }
        if !route.large_communities.is_empty() {
            let mut c = route.large_communities.clone();
            c.sort();
            c.dedup();
            attrs.push(PathAttribute::LargeCommunities(c));
        }
        attrs
    }
}

fn encode(msg: &Message) -> Bytes {
    let mut buf = BytesMut::new();
    wire::encode_message(msg, DecodeOptions::default(), &mut buf);
    buf.freeze()
}
