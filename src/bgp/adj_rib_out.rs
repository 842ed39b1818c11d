//! Adj-RIB-Out: what one peer should hear, against what it has heard.
//!
//! Level-triggered: given the whole desired set, [`AdjRibOut::sync`] works out
//! the difference from what was advertised and packs it into as few UPDATE
//! messages as fit (prefixes that share attributes share an UPDATE). Sans-IO
//! and deterministic: the same inputs give the same bytes.
//!
//! [`AdjRibOut::apply_changes`] does the same for just the prefixes the
//! desired set's change log names, so a single VIP transition costs
//! O(log n) here, not a walk of every VIP.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ipnet::IpNet;

use crate::bgp::wire::{
    self, Afi, AsPath, DecodeOptions, Family, Message, MpNextHop, Origin, PathAttribute, Safi,
    Update,
};
use crate::vip::{DesiredSet, RouteAttrs, VipRoute};

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
    /// RFC 2545 3: our link-local address, sent beside the global IPv6 next
    /// hop when the peer shares the link.
    pub next_hop_v6_link_local: Option<Ipv6Addr>,
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
    next_hop: MpNextHop,
    attributes: Vec<PathAttribute>,
}

/// A route's shared wire form, or why it cannot be sent to this peer.
type WireForm = Result<Arc<Outbound>, &'static str>;

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
    advertised: BTreeMap<IpNet, Arc<Outbound>>,
    /// Wire forms by hash of everything but the prefix (see [`route_key_hash`]).
    interned: HashMap<u64, Vec<(VipRoute, WireForm)>>,
    /// The last wire form looked up, by its attributes' allocation: VIPs of
    /// one block share theirs, so a large table hashes almost nothing.
    last: Option<(Arc<RouteAttrs>, bool, WireForm)>,
    unsendable: Vec<Unsendable>,
}

impl AdjRibOut {
    pub fn new(peer: PeerRouting) -> Self {
        AdjRibOut {
            peer,
            advertised: BTreeMap::new(),
            interned: HashMap::new(),
            last: None,
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
        let mut out = self.initial_routes(desired);
        out.extend(self.end_of_rib());
        out
    }

    /// The first table without End-of-RIB (a restarting speaker may send
    /// that later).
    pub fn initial_routes(&mut self, desired: &DesiredSet) -> Vec<Bytes> {
        self.advertised.clear();
        self.sync(desired)
    }

    /// End-of-RIB for each negotiated family (RFC 4724 2).
    pub fn end_of_rib(&self) -> Vec<Bytes> {
        let mut out = Vec::new();
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
        let mut sendable: Vec<(IpNet, Arc<Outbound>)> = Vec::with_capacity(desired.len());
        for route in desired.values() {
            match self.intern(route) {
                Ok(o) => sendable.push((route.prefix, o)),
                Err(reason) => self.unsendable.push(Unsendable {
                    prefix: route.prefix,
                    reason,
                }),
            }
        }
        // Built from sorted input in bulk: full nodes, half the memory.
        let wanted: BTreeMap<IpNet, Arc<Outbound>> = sendable.into_iter().collect();

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

        // New or changed routes, grouped by their (interned) wire form.
        let mut groups: Vec<(Arc<Outbound>, Vec<IpNet>)> = Vec::new();
        for (prefix, o) in &wanted {
            if self
                .advertised
                .get(prefix)
                .is_some_and(|a| Arc::ptr_eq(a, o))
            {
                continue;
            }
            match groups.iter_mut().find(|(g, _)| Arc::ptr_eq(g, o)) {
                Some((_, prefixes)) => prefixes.push(*prefix),
                None => groups.push((o.clone(), vec![*prefix])),
            }
        }
        for (o, prefixes) in &groups {
            out.extend(wire::pack_announce_with_next_hop(
                &o.attributes,
                o.family,
                &o.next_hop,
                prefixes,
                opts,
            ));
        }
        self.advertised = wanted;
        self.prune_interned();
        out
    }

    /// Converge on `desired` for the prefixes in `changed` only (the
    /// desired set's change log): each is announced, changed or withdrawn
    /// according to the set now. Repeats are harmless.
    pub fn apply_changes(&mut self, desired: &DesiredSet, changed: &[IpNet]) -> Vec<Bytes> {
        let opts = self.peer.options();
        self.unsendable.clear();
        let mut changed = changed.to_vec();
        changed.sort_unstable();
        changed.dedup();
        let mut withdraw_v4 = Vec::new();
        let mut withdraw_v6 = Vec::new();
        let mut groups: Vec<(Arc<Outbound>, Vec<IpNet>)> = Vec::new();
        for prefix in changed {
            let wire = desired.get(&prefix).map(|route| self.intern(route));
            match wire {
                Some(Ok(o)) => {
                    if self
                        .advertised
                        .get(&prefix)
                        .is_some_and(|a| Arc::ptr_eq(a, &o))
                    {
                        continue;
                    }
                    self.advertised.insert(prefix, o.clone());
                    match groups.iter_mut().find(|(g, _)| Arc::ptr_eq(g, &o)) {
                        Some((_, prefixes)) => prefixes.push(prefix),
                        None => groups.push((o, vec![prefix])),
                    }
                }
                other => {
                    if let Some(Err(reason)) = other {
                        self.unsendable.push(Unsendable { prefix, reason });
                    }
                    if self.advertised.remove(&prefix).is_some() {
                        match prefix {
                            IpNet::V4(_) => withdraw_v4.push(prefix),
                            IpNet::V6(_) => withdraw_v6.push(prefix),
                        }
                    }
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
        for (o, prefixes) in &groups {
            out.extend(wire::pack_announce_with_next_hop(
                &o.attributes,
                o.family,
                &o.next_hop,
                prefixes,
                opts,
            ));
        }
        self.prune_interned();
        out
    }

    /// The shared wire form of `route`: routes that differ only in their
    /// prefix share one [`Outbound`], built once per session.
    fn intern(&mut self, route: &VipRoute) -> WireForm {
        let v4 = matches!(route.prefix, IpNet::V4(_));
        if let Some((attrs, family, form)) = &self.last
            && *family == v4
            && Arc::ptr_eq(attrs, &route.attrs)
        {
            return form.clone();
        }
        let form = self.intern_slow(route);
        self.last = Some((route.attrs.clone(), v4, form.clone()));
        form
    }

    fn intern_slow(&mut self, route: &VipRoute) -> WireForm {
        let hash = route_key_hash(route);
        if let Some(hit) = self
            .interned
            .get(&hash)
            .and_then(|bucket| bucket.iter().find(|(r, _)| same_wire_form(r, route)))
        {
            return hit.1.clone();
        }
        let built = self.outbound(route).map(Arc::new);
        self.interned
            .entry(hash)
            .or_default()
            .push((route.clone(), built.clone()));
        built
    }

    /// Forget wire forms no advertised route uses any more, once there are
    /// many (attributes that changed over a long session).
    fn prune_interned(&mut self) {
        let total: usize = self.interned.values().map(Vec::len).sum();
        if total > 4096 {
            self.last = None;
            for bucket in self.interned.values_mut() {
                bucket.retain(|(_, o)| o.as_ref().is_ok_and(|o| Arc::strong_count(o) > 1));
            }
            self.interned.retain(|_, b| !b.is_empty());
        }
    }

    /// Withdraw everything advertised (shutdown).
    pub fn withdraw_all(&mut self) -> Vec<Bytes> {
        self.sync(&DesiredSet::default())
    }

    fn outbound(&self, route: &VipRoute) -> Result<Outbound, &'static str> {
        let p = &self.peer;
        let v6 = |global| MpNextHop::Ipv6 {
            global,
            link_local: p.next_hop_v6_link_local,
        };
        let (family, next_hop) = match route.prefix {
            IpNet::V4(_) => {
                if !p.ipv4_unicast {
                    return Err("the peer did not negotiate IPv4 unicast");
                }
                match (p.next_hop_v4, p.next_hop_v6) {
                    (Some(v4), _) => (Family::Ipv4Unicast, MpNextHop::Ipv4(v4)),
                    (None, Some(global)) if p.extended_nexthop_ipv4 => {
                        (Family::Ipv4Unicast, v6(global))
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
                    Some(global) => (Family::Ipv6Unicast, v6(global)),
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

/// Hash of what decides a route's wire form: its family and attributes.
fn route_key_hash(route: &VipRoute) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    matches!(route.prefix, IpNet::V4(_)).hash(&mut h);
    route.communities.hash(&mut h);
    route.large_communities.hash(&mut h);
    route.med.hash(&mut h);
    route.local_pref.hash(&mut h);
    route.as_path_prepend.hash(&mut h);
    h.finish()
}

fn same_wire_form(a: &VipRoute, b: &VipRoute) -> bool {
    matches!(a.prefix, IpNet::V4(_)) == matches!(b.prefix, IpNet::V4(_))
        && a.communities == b.communities
        && a.large_communities == b.large_communities
        && a.med == b.med
        && a.local_pref == b.local_pref
        && a.as_path_prepend == b.as_path_prepend
}

fn encode(msg: &Message) -> Bytes {
    let mut buf = BytesMut::new();
    wire::encode_message(msg, DecodeOptions::default(), &mut buf);
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::wire::{AsSegmentKind, Community, LargeCommunity, MpNextHop};
    use std::collections::BTreeSet;
    use std::sync::Arc;

    fn peer(ebgp: bool) -> PeerRouting {
        PeerRouting {
            ebgp,
            local_asn: 65001,
            four_octet_as: true,
            ipv4_unicast: true,
            ipv6_unicast: true,
            extended_nexthop_ipv4: false,
            next_hop_v4: Some("10.255.1.2".parse().unwrap()),
            next_hop_v6: Some("fd00:255:1::2".parse().unwrap()),
            next_hop_v6_link_local: None,
        }
    }

    fn vip(prefix: &str) -> VipRoute {
        VipRoute::new(
            prefix.parse().unwrap(),
            RouteAttrs {
                communities: vec![Community::new(65000, 100)],
                large_communities: vec!["65000:1:1".parse::<LargeCommunity>().unwrap()],
                med: Some(10),
                local_pref: None,
                as_path_prepend: 1,
            },
        )
    }

    fn set(routes: &[VipRoute]) -> DesiredSet {
        Arc::new(routes.iter().map(|r| (r.prefix, r.clone())).collect())
    }

    fn decode(msgs: &[Bytes], peer: &PeerRouting) -> Vec<Update> {
        msgs.iter()
            .map(|m| {
                assert!(m.len() <= wire::MAX_MESSAGE_LEN);
                match wire::decode_message(m, peer.options()).unwrap() {
                    Message::Update(u) => {
                        assert!(u.errors.is_empty(), "{:?}", u.errors);
                        u
                    }
                    other => panic!("not an UPDATE: {other:?}"),
                }
            })
            .collect()
    }

    fn attr<'a, T>(u: &'a Update, f: impl Fn(&'a PathAttribute) -> Option<T>) -> Option<T> {
        u.attributes.iter().find_map(f)
    }

    #[test]
    fn ebgp_route_carries_igp_origin_prepended_path_med_communities_and_next_hop() {
        let p = peer(true);
        let mut rib = AdjRibOut::new(p.clone());
        let updates = decode(&rib.sync(&set(&[vip("198.18.0.10/32")])), &p);
        assert_eq!(updates.len(), 1);
        let u = &updates[0];
        assert_eq!(u.nlri, vec!["198.18.0.10/32".parse().unwrap()]);
        assert_eq!(
            attr(u, |a| match a {
                PathAttribute::Origin(o) => Some(*o),
                _ => None,
            }),
            Some(Origin::Igp)
        );
        let path = attr(u, |a| match a {
            PathAttribute::AsPath(p) => Some(p.clone()),
            _ => None,
        })
        .unwrap();
        assert_eq!(path.segments.len(), 1);
        assert_eq!(path.segments[0].kind, AsSegmentKind::Sequence);
        assert_eq!(path.segments[0].asns, vec![65001, 65001]);
        assert_eq!(
            attr(u, |a| match a {
                PathAttribute::NextHop(n) => Some(*n),
                _ => None,
            }),
            Some("10.255.1.2".parse().unwrap())
        );
        assert!(u.attributes.contains(&PathAttribute::MultiExitDisc(10)));
        assert!(
            u.attributes
                .contains(&PathAttribute::Communities(vec![Community::new(
                    65000, 100
                )]))
        );
        assert!(
            u.attributes
                .iter()
                .any(|a| matches!(a, PathAttribute::LargeCommunities(c) if c.len() == 1))
        );
        // RFC 4271 5.1.5: no LOCAL_PREF on eBGP.
        assert!(
            !u.attributes
                .iter()
                .any(|a| matches!(a, PathAttribute::LocalPref(_)))
        );
    }

    #[test]
    fn ibgp_route_has_an_empty_as_path_and_local_pref() {
        let p = peer(false);
        let mut rib = AdjRibOut::new(p.clone());
        let mut with_lp = vip("198.18.0.11/32");
        with_lp.local_pref = Some(200);
        let updates = decode(&rib.sync(&set(&[vip("198.18.0.10/32"), with_lp])), &p);
        let lps: BTreeSet<u32> = updates
            .iter()
            .filter_map(|u| {
                attr(u, |a| match a {
                    PathAttribute::LocalPref(v) => Some(*v),
                    _ => None,
                })
            })
            .collect();
        assert_eq!(lps, BTreeSet::from([DEFAULT_LOCAL_PREF, 200]));
        for u in &updates {
            let path = attr(u, |a| match a {
                PathAttribute::AsPath(p) => Some(p.clone()),
                _ => None,
            })
            .unwrap();
            assert!(path.segments.iter().all(|s| s.asns.is_empty()));
        }
    }

    #[test]
    fn two_octet_peer_gets_as_trans_and_the_real_path_in_as4_path() {
        let p = PeerRouting {
            local_asn: 4_200_000_001,
            four_octet_as: false,
            ..peer(true)
        };
        let mut rib = AdjRibOut::new(p.clone());
        let msgs = rib.sync(&set(&[vip("198.18.0.10/32")]));
        let u = &decode(&msgs, &p)[0];
        let as4 = attr(u, |a| match a {
            PathAttribute::As4Path(p) => Some(p.clone()),
            _ => None,
        })
        .expect("AS4_PATH");
        assert_eq!(as4.segments[0].asns, vec![4_200_000_001, 4_200_000_001]);
        let path = attr(u, |a| match a {
            PathAttribute::AsPath(p) => Some(p.clone()),
            _ => None,
        })
        .unwrap();
        assert_eq!(path.segments[0].asns, vec![23456, 23456]);
    }

    #[test]
    fn ipv6_vip_goes_in_mp_reach_with_the_ipv6_next_hop() {
        let p = peer(true);
        let mut rib = AdjRibOut::new(p.clone());
        let u = &decode(&rib.sync(&set(&[vip("fd00:198:18::10/128")])), &p)[0];
        let mp = u.mp_reach().expect("MP_REACH_NLRI");
        assert_eq!((mp.afi, mp.safi), (Afi::Ipv6, Safi::Unicast));
        assert_eq!(
            mp.nlri,
            vec!["fd00:198:18::10/128".parse::<IpNet>().unwrap()]
        );
        assert!(
            matches!(mp.next_hop, MpNextHop::Ipv6 { global, .. } if global == "fd00:255:1::2".parse::<Ipv6Addr>().unwrap())
        );
        assert!(u.nlri.is_empty());
    }

    #[test]
    fn ipv4_vip_over_an_ipv6_only_session_uses_rfc_8950_when_negotiated() {
        let p = PeerRouting {
            extended_nexthop_ipv4: true,
            next_hop_v4: None,
            ..peer(true)
        };
        let mut rib = AdjRibOut::new(p.clone());
        let u = &decode(&rib.sync(&set(&[vip("198.18.0.10/32")])), &p)[0];
        let mp = u.mp_reach().expect("MP_REACH_NLRI");
        assert_eq!((mp.afi, mp.safi), (Afi::Ipv4, Safi::Unicast));
        assert!(matches!(mp.next_hop, MpNextHop::Ipv6 { .. }));
    }

    #[test]
    fn a_vip_without_a_usable_next_hop_is_reported_not_sent() {
        let p = PeerRouting {
            next_hop_v4: None,
            ..peer(true)
        };
        let mut rib = AdjRibOut::new(p);
        let msgs = rib.sync(&set(&[vip("198.18.0.10/32")]));
        assert!(msgs.is_empty());
        assert_eq!(rib.unsendable().len(), 1);
        assert!(rib.unsendable()[0].reason.contains("next_hop_ipv4"));
    }

    #[test]
    fn initial_table_ends_with_end_of_rib_for_each_family() {
        let p = peer(true);
        let mut rib = AdjRibOut::new(p.clone());
        let updates = decode(&rib.initial(&set(&[vip("198.18.0.10/32")])), &p);
        let eors: Vec<_> = updates.iter().filter_map(Update::is_end_of_rib).collect();
        assert_eq!(
            eors,
            vec![(Afi::Ipv4, Safi::Unicast), (Afi::Ipv6, Safi::Unicast)]
        );
        assert_eq!(updates.len(), 3);
    }

    #[test]
    fn sync_sends_only_what_changed() {
        let p = peer(true);
        let mut rib = AdjRibOut::new(p.clone());
        let a = vip("198.18.0.10/32");
        let b = vip("198.18.0.11/32");
        rib.sync(&set(&[a.clone(), b.clone()]));
        assert!(
            rib.sync(&set(&[a.clone(), b.clone()])).is_empty(),
            "no change, nothing sent"
        );

        // Withdraw b.
        let updates = decode(&rib.sync(&set(std::slice::from_ref(&a))), &p);
        assert_eq!(updates.len(), 1);
        assert_eq!(
            updates[0].withdrawn,
            vec![b.prefix.to_string().parse().unwrap()]
        );
        assert!(updates[0].nlri.is_empty());

        // Change a's MED: re-announced in place, nothing withdrawn.
        let mut a2 = a.clone();
        a2.med = Some(50);
        let updates = decode(&rib.sync(&set(&[a2])), &p);
        assert_eq!(updates.len(), 1);
        assert!(updates[0].withdrawn.is_empty());
        assert!(
            updates[0]
                .attributes
                .contains(&PathAttribute::MultiExitDisc(50))
        );
        assert_eq!(rib.advertised_count(), 1);
    }

    #[test]
    fn many_vips_with_the_same_attributes_share_few_updates() {
        let p = peer(true);
        let mut rib = AdjRibOut::new(p.clone());
        let routes: Vec<VipRoute> = (0..2000u32)
            .map(|i| {
                let a = std::net::Ipv4Addr::from(0xC612_0000 + i);
                vip(&format!("{a}/32"))
            })
            .collect();
        let msgs = rib.sync(&set(&routes));
        // 5 bytes per /32 and under 100 bytes of attributes: ~800 per message.
        assert!(msgs.len() <= 3, "{} messages", msgs.len());
        let updates = decode(&msgs, &p);
        let n: usize = updates.iter().map(|u| u.nlri.len()).sum();
        assert_eq!(n, 2000);
        let all = decode(&rib.withdraw_all(), &p);
        let n: usize = all.iter().map(|u| u.withdrawn.len()).sum();
        assert_eq!(n, 2000);
        assert_eq!(rib.advertised_count(), 0);
    }

    #[test]
    fn route_refresh_resends_the_whole_family() {
        let p = peer(true);
        let mut rib = AdjRibOut::new(p.clone());
        let desired = set(&[vip("198.18.0.10/32"), vip("fd00:198:18::10/128")]);
        rib.sync(&desired);
        let updates = decode(&rib.refresh(&desired, Afi::Ipv6), &p);
        assert_eq!(updates.len(), 1);
        assert!(updates[0].mp_reach().is_some());
        assert_eq!(rib.advertised_count(), 2);
    }

    #[test]
    fn an_on_link_peer_gets_the_link_local_next_hop_too() {
        let p = PeerRouting {
            next_hop_v6_link_local: Some("fe80::2".parse().unwrap()),
            ..peer(true)
        };
        let mut rib = AdjRibOut::new(p.clone());
        let u = &decode(&rib.sync(&set(&[vip("fd00:198:18::10/128")])), &p)[0];
        let mp = u.mp_reach().expect("MP_REACH_NLRI");
        // RFC 2545 3: 32 octets, global then link-local.
        assert_eq!(
            mp.next_hop,
            MpNextHop::Ipv6 {
                global: "fd00:255:1::2".parse().unwrap(),
                link_local: Some("fe80::2".parse().unwrap()),
            }
        );
    }

    #[test]
    fn applied_changes_send_only_the_named_prefixes_in_their_current_state() {
        let p = peer(true);
        let mut rib = AdjRibOut::new(p.clone());
        let a = vip("198.18.0.10/32");
        let b = vip("198.18.0.11/32");
        let c = vip("fd00:198:18::10/128");
        rib.initial_routes(&set(&[a.clone(), b.clone(), c.clone()]));
        // b withdrawn, a changed, c untouched but named (a repeat): only
        // what differs from what was advertised goes out.
        let mut a2 = a.clone();
        a2.med = Some(99);
        let now = set(&[a2.clone(), c.clone()]);
        let updates = decode(
            &rib.apply_changes(&now, &[b.prefix, a.prefix, c.prefix, b.prefix]),
            &p,
        );
        assert_eq!(updates.len(), 2, "{updates:?}");
        let v4 = |p: &str| p.parse::<ipnet::Ipv4Net>().unwrap();
        assert_eq!(updates[0].withdrawn, vec![v4("198.18.0.11/32")]);
        assert_eq!(updates[1].nlri, vec![v4("198.18.0.10/32")]);
        assert_eq!(
            attr(&updates[1], |a| match a {
                PathAttribute::MultiExitDisc(m) => Some(*m),
                _ => None,
            }),
            Some(99)
        );
        assert_eq!(rib.advertised_count(), 2);
        // A full sync afterwards finds nothing to do: both paths agree.
        assert!(rib.sync(&now).is_empty());
        // Nothing changed: nothing sent.
        assert!(rib.apply_changes(&now, &[a.prefix]).is_empty());
    }

    #[test]
    fn a_large_block_is_packed_into_full_updates_grouped_by_attributes() {
        let p = peer(true);
        let mut rib = AdjRibOut::new(p.clone());
        let shared = vip("198.18.0.0/32").attrs;
        let mut other = RouteAttrs::clone(&shared);
        other.med = Some(77);
        let other = Arc::new(other);
        // 10_000 VIPs, every tenth with other attributes.
        let routes: Vec<VipRoute> = (0..10_000u32)
            .map(|i| VipRoute {
                prefix: crate::vip::nth_host("198.18.0.0/32".parse().unwrap(), i).unwrap(),
                attrs: if i % 10 == 0 {
                    other.clone()
                } else {
                    shared.clone()
                },
            })
            .collect();
        let msgs = rib.initial_routes(&set(&routes));
        // 5 octets per /32: 9000 + 1000 prefixes need 12 + 2 full messages.
        assert!(msgs.len() <= 14, "{} messages", msgs.len());
        assert!(msgs.iter().all(|m| m.len() <= 4096));
        let updates = decode(&msgs, &p);
        let total: usize = updates.iter().map(|u| u.nlri.len()).sum();
        assert_eq!(total, 10_000);
        // Each UPDATE carries one group: all its prefixes share the MED.
        for u in &updates {
            let med = attr(u, |a| match a {
                PathAttribute::MultiExitDisc(m) => Some(*m),
                _ => None,
            });
            let base = u32::from("198.18.0.0".parse::<Ipv4Addr>().unwrap());
            let tenth = u
                .nlri
                .iter()
                .all(|n| (u32::from(n.addr()) - base) % 10 == 0);
            assert_eq!(med == Some(77), tenth);
        }
    }
}
