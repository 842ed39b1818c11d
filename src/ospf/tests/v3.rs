//! OSPFv3: link-local adjacency, Link-LSA, the Router-LSA's R-bit, VIPs as
//! Intra-Area-Prefix-LSAs (LA bit) or AS-External-LSAs.

use std::net::Ipv4Addr;

use super::*;
use crate::ospf::wire::iana::constants::MAX_AGE;
use crate::ospf::wire::iana::{link_type, ls_type, prefix_options};
use crate::ospf::wire::lsa_v3::{ExternalLsaV3, IntraAreaPrefixLsa, LinkLsa, Prefix};

fn full(network: NetworkType, vip_lsa: VipLsa) -> (Lab, Peer) {
    let mut lab = Lab::new(Version::V3, network, vip_lsa);
    let mut peer = Peer::new(Version::V3, [10, 255, 0, 9], 1);
    if network == NetworkType::Broadcast {
        peer.dr = peer.rid;
    }
    lab.bring_up(&peer);
    let out = lab.advance(secs(5));
    let headers: Vec<LsaHeader> = updates(&out).into_iter().map(|(_, l)| l.header).collect();
    lab.receive(&peer, Body::LsAck(headers));
    (lab, peer)
}

#[test]
fn hellos_carry_the_interface_id_and_v6_e_options_without_r() {
    let mut lab = Lab::new(Version::V3, NetworkType::PointToPoint, VipLsa::Stub);
    let out = lab.advance(ms(1));
    let (dst, p) = sent(&out).pop().unwrap();
    assert_eq!(dst, "ff02::5".parse::<IpAddr>().unwrap());
    let Body::Hello(h) = p.body else { panic!() };
    assert_eq!((h.interface_id, h.options, h.priority), (IFINDEX, 0x03, 0));
}

#[test]
fn adjacency_reaches_full_and_the_router_lsa_has_r_clear_and_max_metric() {
    let (lab, peer) = full(NetworkType::PointToPoint, VipLsa::Stub);
    let (_, LsaBody::RouterV3(r)) = own(&lab, ls_type::V3_ROUTER, Ipv4Addr::UNSPECIFIED).unwrap()
    else {
        panic!()
    };
    assert_eq!(r.options, 0x03, "V6 and E, R clear");
    assert_eq!(r.links.len(), 1);
    let l = &r.links[0];
    assert_eq!(
        (
            l.link_type,
            l.metric,
            l.interface_id,
            l.neighbor_interface_id,
            l.neighbor_router_id
        ),
        (link_type::POINT_TO_POINT, 0xffff, IFINDEX, 3, peer.rid)
    );
}

#[test]
fn a_link_lsa_describes_the_link_local_address_and_global_prefixes() {
    let (lab, _) = full(NetworkType::PointToPoint, VipLsa::Stub);
    let (_, body) = own(&lab, ls_type::V3_LINK, Ipv4Addr::from(IFINDEX)).unwrap();
    assert_eq!(
        body,
        LsaBody::Link(LinkLsa {
            priority: 0,
            options: 0x03,
            link_local: MY_LINK_LOCAL,
            prefixes: vec![Prefix {
                prefix: "fd00:255:1::/64".parse().unwrap(),
                options: 0,
                field: 0
            }],
        })
    );
}

#[test]
fn stub_mode_originates_one_intra_area_prefix_lsa_per_vip_with_the_la_bit() {
    let (mut lab, _) = full(NetworkType::PointToPoint, VipLsa::Stub);
    let out = lab.vips(&[
        ("fd00:198:18::10/128", 5),
        ("fd00:198:18::11/128", 1),
        ("198.18.0.1/32", 1),
    ]);
    let sent: Vec<Lsa> = updates(&out).into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        sent.len(),
        2,
        "one LSA per IPv6 VIP; the IPv4 one is OSPFv2's"
    );
    let LsaBody::IntraAreaPrefix(IntraAreaPrefixLsa {
        referenced_ls_type,
        referenced_adv_router,
        prefixes,
        ..
    }) = sent[0].decode_body(Version::V3).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (referenced_ls_type, referenced_adv_router),
        (ls_type::V3_ROUTER, ME)
    );
    assert_eq!(
        prefixes,
        vec![Prefix {
            prefix: "fd00:198:18::10/128".parse().unwrap(),
            options: prefix_options::LA,
            field: 5
        }]
    );
    // Withdrawing one flushes its own LSA; the other is untouched.
    lab.advance(secs(2));
    let out = lab.vips(&[("fd00:198:18::11/128", 1)]);
    let sent = updates(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].1.header.lsid, sent[0].1.header.age),
        (Ipv4Addr::new(0, 0, 0, 1), MAX_AGE)
    );
}

#[test]
fn external_mode_originates_as_external_lsas_and_sets_the_e_bit() {
    let (mut lab, _) = full(NetworkType::Broadcast, VipLsa::External);
    let out = lab.vips(&[("fd00:198:18::10/128", 1)]);
    let sent = updates(&out);
    assert_eq!(sent.len(), 1);
    // DROther floods to AllDRouters.
    assert_eq!(sent[0].0, "ff02::6".parse::<IpAddr>().unwrap());
    assert_eq!(sent[0].1.header.ls_type, ls_type::V3_AS_EXTERNAL);
    assert_eq!(
        sent[0].1.decode_body(Version::V3).unwrap(),
        LsaBody::ExternalV3(ExternalLsaV3 {
            type2: true,
            metric: 1,
            prefix: Prefix {
                prefix: "fd00:198:18::10/128".parse().unwrap(),
                options: 0,
                field: 0
            },
            forwarding: None,
            tag: None,
            referenced_lsid: None,
        })
    );
    let (_, LsaBody::RouterV3(r)) = own(&lab, ls_type::V3_ROUTER, Ipv4Addr::UNSPECIFIED).unwrap()
    else {
        panic!()
    };
    assert_eq!(r.flags, 0x02);
    assert_eq!(
        r.options, 0x13,
        "R set: routers ignore an ASBR with R clear"
    );
    assert_eq!(r.links[0].link_type, link_type::TRANSIT);
    assert_eq!(r.links[0].metric, 0xffff);
}
