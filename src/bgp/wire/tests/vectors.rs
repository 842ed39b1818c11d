//! Hand-written byte vectors, laid out field by field from the RFC diagrams,
//! each checked in both directions.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::Bytes;

use super::super::*;
use super::{FOUR_OCTET, FOUR_OCTET_ENH, TWO_OCTET, both_ways, encode, hx};

const MARKER: &str = "ffffffffffffffffffffffffffffffff";

fn net4(s: &str) -> ipnet::Ipv4Net {
    s.parse().unwrap()
}

fn net(s: &str) -> ipnet::IpNet {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn keepalive() {
    let wire = hx(&format!("{MARKER} 0013 04"));
    both_ways(&Message::Keepalive, TWO_OCTET, &wire);
}

#[test]
fn open_with_every_capability() {
    let open = Open {
        version: 4,
        my_as: AS_TRANS,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![
            Capability::Multiprotocol {
                afi: Afi::Ipv4,
                safi: Safi::Unicast,
            },
            Capability::Multiprotocol {
                afi: Afi::Ipv6,
                safi: Safi::Unicast,
            },
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(4_200_000_001),
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: true,
                restart_time: 120,
                families: vec![
                    GrFamily {
                        afi: Afi::Ipv4,
                        safi: Safi::Unicast,
                        forwarding_state: true,
                    },
                    GrFamily {
                        afi: Afi::Ipv6,
                        safi: Safi::Unicast,
                        forwarding_state: false,
                    },
                ],
            }),
            Capability::ExtendedNextHop(vec![ExtendedNextHopEntry {
                nlri_afi: Afi::Ipv4,
                nlri_safi: Safi::Unicast,
                nexthop_afi: Afi::Ipv6,
            }]),
            Capability::Unknown {
                code: 73,
                value: Bytes::from_static(b"\x04vip1\x00"),
            },
        ],
        unknown_params: vec![],
    };
    let wire = hx(&format!(
        "{MARKER} 0051 01
         04          # version
         5ba0        # My AS = AS_TRANS (23456)
         005a        # hold time 90
         c0000201    # BGP identifier 192.0.2.1
         34          # opt parm len 52
         02 32       # parameter: capabilities, 50 octets
           01 04 0001 00 01          # MP IPv4 unicast
           01 04 0002 00 01          # MP IPv6 unicast
           02 00                     # route refresh
           46 00                     # enhanced route refresh
           41 04 fa56ea01            # 4-octet AS 4200000001
           40 0a 4078 0001 01 80 0002 01 00  # GR: N bit, 120 s; v4 F; v6
           05 06 0001 0001 0002      # ENH: IPv4 unicast over IPv6
           49 06 04 76697031 00      # FQDN (unknown to us): kept verbatim"
    )
    .lines()
    .map(|l| l.split('#').next().unwrap_or(""))
    .collect::<String>());
    both_ways(&Message::Open(open.clone()), TWO_OCTET, &wire);
    assert_eq!(open.asn(), 4_200_000_001);
    assert_eq!(open.four_octet_as(), Some(4_200_000_001));
    assert_eq!(
        open.multiprotocol(),
        vec![(Afi::Ipv4, Safi::Unicast), (Afi::Ipv6, Safi::Unicast)]
    );
    assert!(open.supports_route_refresh() && open.supports_enhanced_route_refresh());
    assert_eq!(open.graceful_restart().map(|g| g.restart_time), Some(120));
    assert_eq!(open.extended_next_hop().len(), 1);
}

/// Strips `# comments` from a multi-line vector, then decodes the hex.
fn hxc(s: &str) -> Vec<u8> {
    hx(&s
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<String>())
}

#[test]
fn open_with_unknown_optional_parameter_round_trips() {
    let open = Open {
        version: 4,
        my_as: 65001,
        hold_time: 0,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: vec![Capability::RouteRefresh],
        unknown_params: vec![(7, Bytes::from_static(&[0xaa, 0xbb]))],
    };
    let wire = hxc(&format!(
        "{MARKER} 0025 01
         04 fde9 0000 0a000001
         08            # opt parm len 8
         02 02 02 00   # capabilities: route refresh
         07 02 aabb    # parameter type 7, kept verbatim"
    ));
    both_ways(&Message::Open(open), TWO_OCTET, &wire);
}

#[test]
fn open_with_rfc9072_extended_parameters_decodes() {
    // Small enough for the classic form, but a speaker may still send it
    // extended: Non-Ext OP Len 255, Non-Ext OP Type 255, 2-octet lengths.
    let wire = hxc(&format!(
        "{MARKER} 0029 01
         04 fde9 00b4 0a000001
         ff ff 0009          # RFC 9072 marker, extended length 9
         02 0006             # capabilities, 2-octet length 6
           01 04 0001 00 01  # MP IPv4 unicast"
    ));
    let Message::Open(open) = decode_message(&wire, TWO_OCTET).unwrap() else {
        panic!("not an OPEN");
    };
    assert_eq!(open.multiprotocol(), vec![(Afi::Ipv4, Safi::Unicast)]);
    assert_eq!(open.hold_time, 180);
}

#[test]
fn open_too_big_for_classic_parameters_uses_rfc9072() {
    // 40 FQDN-like capabilities of 8 octets = 320 octets of capabilities.
    let caps = (0..40)
        .map(|i| Capability::Unknown {
            code: 200,
            value: Bytes::from(vec![i; 6]),
        })
        .collect();
    let open = Open::new(
        65001,
        HoldTime::new(90).unwrap(),
        Ipv4Addr::new(10, 0, 0, 1),
        caps,
    );
    let wire = encode(&Message::Open(open.clone()), TWO_OCTET);
    // version, AS, hold, id, then 255, 255, extended length 3 + 320.
    assert_eq!(&wire[19 + 9..19 + 13], &[0xff, 0xff, 0x01, 0x43]);
    assert_eq!(&wire[19 + 13..19 + 16], &[0x02, 0x01, 0x40]);
    assert_eq!(
        decode_message(&wire, TWO_OCTET).unwrap(),
        Message::Open(open)
    );
}

#[test]
fn update_with_every_attribute_four_octet_as() {
    let update = Update {
        withdrawn: vec![net4("10.1.0.0/16")],
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath {
                segments: vec![
                    AsSegment {
                        kind: AsSegmentKind::Sequence,
                        asns: vec![65001, 4_200_000_001],
                    },
                    AsSegment {
                        kind: AsSegmentKind::Set,
                        asns: vec![65002],
                    },
                ],
            }),
            PathAttribute::NextHop(Ipv4Addr::new(192, 0, 2, 1)),
            PathAttribute::MultiExitDisc(10),
            PathAttribute::LocalPref(200),
            PathAttribute::AtomicAggregate,
            PathAttribute::Aggregator {
                asn: 65001,
                address: Ipv4Addr::new(192, 0, 2, 9),
            },
            PathAttribute::Communities(vec![Community::new(65001, 100), Community::NO_EXPORT]),
            PathAttribute::OriginatorId(Ipv4Addr::new(192, 0, 2, 2)),
            PathAttribute::ClusterList(vec![Ipv4Addr::new(192, 0, 2, 3)]),
            PathAttribute::ExtendedCommunities(vec![[0x00, 0x02, 0xfd, 0xe9, 0, 0, 0, 100]]),
            PathAttribute::LargeCommunities(vec!["4200000001:1:2".parse().unwrap()]),
            PathAttribute::Unknown {
                flags: 0xe0,
                type_code: 99,
                value: Bytes::from_static(&[0xab, 0xcd]),
            },
        ],
        nlri: vec![net4("192.0.2.0/24"), net4("198.51.100.7/32")],
        errors: vec![],
    };
    let wire = hxc(&format!(
        "{MARKER} 0095 02
         0003 10 0a01                          # withdrawn: 10.1.0.0/16
         0072                                  # total path attribute length 114
         40 01 01 00                           # ORIGIN IGP
         40 02 10 02 02 0000fde9 fa56ea01      # AS_PATH SEQ 65001 4200000001
                  01 01 0000fdea               #         SET {{65002}}
         40 03 04 c0000201                     # NEXT_HOP 192.0.2.1
         80 04 04 0000000a                     # MED 10
         40 05 04 000000c8                     # LOCAL_PREF 200
         40 06 00                              # ATOMIC_AGGREGATE
         c0 07 08 0000fde9 c0000209            # AGGREGATOR 65001 192.0.2.9
         c0 08 08 fde90064 ffffff01            # COMMUNITIES 65001:100 NO_EXPORT
         80 09 04 c0000202                     # ORIGINATOR_ID
         80 0a 04 c0000203                     # CLUSTER_LIST
         c0 10 08 0002fde900000064             # EXT COMMUNITIES RT 65001:100
         c0 20 0c fa56ea01 00000001 00000002   # LARGE COMMUNITY 4200000001:1:2
         e0 63 02 abcd                         # unknown optional transitive partial
         18 c00002                             # NLRI 192.0.2.0/24
         20 c6336407                           # NLRI 198.51.100.7/32"
    ));
    both_ways(&Message::Update(update.clone()), FOUR_OCTET, &wire);
    assert_eq!(update.outcome(), Rfc7606Action::None);
    assert_eq!(update.announced().count(), 2);
    assert_eq!(
        update.withdrawn_all().collect::<Vec<_>>(),
        vec![net("10.1.0.0/16")]
    );
}

#[test]
fn two_octet_as_path_with_as_trans_and_as4_path() {
    let update = Update {
        withdrawn: vec![],
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::sequence(vec![65001, u32::from(AS_TRANS)])),
            PathAttribute::NextHop(Ipv4Addr::new(192, 0, 2, 1)),
            PathAttribute::Aggregator {
                asn: u32::from(AS_TRANS),
                address: Ipv4Addr::new(192, 0, 2, 9),
            },
            PathAttribute::As4Path(AsPath::sequence(vec![65001, 4_200_000_001])),
            PathAttribute::As4Aggregator {
                asn: 4_200_000_001,
                address: Ipv4Addr::new(192, 0, 2, 9),
            },
        ],
        nlri: vec![net4("198.51.100.7/32")],
        errors: vec![],
    };
    let wire = hxc(&format!(
        "{MARKER} 0051 02
         0000 0035
         40 01 01 00                         # ORIGIN IGP
         40 02 06 02 02 fde9 5ba0            # AS_PATH SEQ 65001 AS_TRANS
         40 03 04 c0000201                   # NEXT_HOP
         c0 07 06 5ba0 c0000209              # AGGREGATOR AS_TRANS 192.0.2.9
         c0 11 0a 02 02 0000fde9 fa56ea01    # AS4_PATH SEQ 65001 4200000001
         c0 12 08 fa56ea01 c0000209          # AS4_AGGREGATOR
         20 c6336407"
    ));
    both_ways(&Message::Update(update.clone()), TWO_OCTET, &wire);

    // Encoding the real 4-octet values on a 2-octet session gives the same
    // octets: AS_TRANS is substituted by the encoder.
    let mut real = update;
    real.attributes[1] = PathAttribute::AsPath(AsPath::sequence(vec![65001, 4_200_000_001]));
    real.attributes[3] = PathAttribute::Aggregator {
        asn: 4_200_000_001,
        address: Ipv4Addr::new(192, 0, 2, 9),
    };
    assert_eq!(encode(&Message::Update(real), TWO_OCTET), wire);
}

#[test]
fn mp_reach_ipv6_with_global_and_link_local_next_hop() {
    let update = Update {
        attributes: vec![
            PathAttribute::MpReach(MpReach {
                afi: Afi::Ipv6,
                safi: Safi::Unicast,
                next_hop: MpNextHop::Ipv6 {
                    global: v6("2001:db8::1"),
                    link_local: Some(v6("fe80::1")),
                },
                nlri: vec![net("2001:db8:1::/48"), net("2001:db8:ffff::5/128")],
                unparsed_nlri: Bytes::new(),
            }),
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
        ],
        ..Update::default()
    };
    let wire = hxc(&format!(
        "{MARKER} 005e 02
         0000 0047
         80 0e 3d                                  # MP_REACH_NLRI, 61 octets
           0002 01                                 # AFI IPv6, SAFI unicast
           20 20010db8000000000000000000000001     # next hop length 32: global
              fe800000000000000000000000000001     #   and link-local
           00                                      # reserved
           30 20010db80001                         # 2001:db8:1::/48
           80 20010db8ffff00000000000000000005     # 2001:db8:ffff::5/128
         40 01 01 00                               # ORIGIN IGP
         40 02 00                                  # AS_PATH empty (iBGP)"
    ));
    both_ways(&Message::Update(update.clone()), FOUR_OCTET, &wire);
    assert_eq!(update.announced().count(), 2);
    assert!(update.mp_reach().is_some());
}

#[test]
fn rfc8950_ipv4_nlri_with_ipv6_next_hop() {
    let update = Update {
        attributes: vec![
            PathAttribute::MpReach(MpReach {
                afi: Afi::Ipv4,
                safi: Safi::Unicast,
                next_hop: MpNextHop::Ipv6 {
                    global: v6("2001:db8::1"),
                    link_local: None,
                },
                nlri: vec![net("198.51.100.7/32")],
                unparsed_nlri: Bytes::new(),
            }),
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::sequence(vec![65001])),
        ],
        ..Update::default()
    };
    let wire = hxc(&format!(
        "{MARKER} 0041 02
         0000 002a
         80 0e 1a 0001 01                          # MP_REACH_NLRI AFI IPv4 SAFI unicast
            10 20010db8000000000000000000000001    # 16-octet IPv6 next hop
            00 20 c6336407                         # reserved, 198.51.100.7/32
         40 01 01 00
         40 02 06 02 01 0000fde9"
    ));
    both_ways(&Message::Update(update), FOUR_OCTET_ENH, &wire);

    // Without RFC 8950 negotiated the same octets decode, but the routes
    // must be treated as withdrawn.
    let Message::Update(u) = decode_message(&wire, FOUR_OCTET).unwrap() else {
        panic!()
    };
    assert_eq!(u.outcome(), Rfc7606Action::TreatAsWithdraw);
    assert_eq!(u.errors[0].type_code, 14);
    assert_eq!(u.announced().count(), 1);
}

#[test]
fn mp_unreach_ipv6() {
    let update = Update {
        attributes: vec![PathAttribute::MpUnreach(MpUnreach {
            afi: Afi::Ipv6,
            safi: Safi::Unicast,
            withdrawn: vec![net("2001:db8:1::/48")],
            unparsed_withdrawn: Bytes::new(),
        })],
        ..Update::default()
    };
    let wire = hxc(&format!(
        "{MARKER} 0024 02
         0000 000d
         80 0f 0a 0002 01 30 20010db80001   # MP_UNREACH_NLRI 2001:db8:1::/48"
    ));
    both_ways(&Message::Update(update.clone()), FOUR_OCTET, &wire);
    assert_eq!(
        update.withdrawn_all().collect::<Vec<_>>(),
        vec![net("2001:db8:1::/48")]
    );
    assert_eq!(update.is_end_of_rib(), None);
}

#[test]
fn unknown_family_nlri_is_kept_raw() {
    // AFI 1 SAFI 128 (L3VPN): next hop RD+IPv4 (12 octets), one labelled
    // VPN prefix, kept as octets.
    let update = Update {
        attributes: vec![
            PathAttribute::MpReach(MpReach {
                afi: Afi::Ipv4,
                safi: Safi::Unknown(128),
                next_hop: MpNextHop::Other(Bytes::from(hx("0000000000000000c0000201"))),
                nlri: vec![],
                unparsed_nlri: Bytes::from(hx("70 000641 0001fde900000001 c00002")),
            }),
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
        ],
        ..Update::default()
    };
    let wire = hxc(&format!(
        "{MARKER} 0041 02
         0000 002a
         80 0e 20 0001 80                  # AFI IPv4, SAFI 128
            0c 0000000000000000c0000201    # next hop: RD 0 + 192.0.2.1
            00 70 000641 0001fde900000001 c00002  # label, RD, 192.0.2.0/24
         40 01 01 00
         40 02 00"
    ));
    both_ways(&Message::Update(update), FOUR_OCTET, &wire);
}

#[test]
fn end_of_rib_ipv4_and_ipv6() {
    let v4 = hx(&format!("{MARKER} 0017 02 0000 0000"));
    both_ways(
        &Message::Update(Update::end_of_rib(Afi::Ipv4, Safi::Unicast)),
        FOUR_OCTET,
        &v4,
    );
    let v6 = hxc(&format!(
        "{MARKER} 001d 02
         0000 0006
         80 0f 03 0002 01   # empty MP_UNREACH_NLRI for IPv6 unicast"
    ));
    let eor6 = Update::end_of_rib(Afi::Ipv6, Safi::Unicast);
    both_ways(&Message::Update(eor6.clone()), FOUR_OCTET, &v6);
    assert_eq!(
        Update::end_of_rib(Afi::Ipv4, Safi::Unicast).is_end_of_rib(),
        Some((Afi::Ipv4, Safi::Unicast))
    );
    assert_eq!(eor6.is_end_of_rib(), Some((Afi::Ipv6, Safi::Unicast)));
}

#[test]
fn notification_with_shutdown_communication() {
    let n = Notification::cease_admin_shutdown("maintenance");
    let wire = hxc(&format!(
        "{MARKER} 0021 03
         06 02                        # Cease / Administrative Shutdown
         0b 6d61696e74656e616e6365    # length 11, \"maintenance\""
    ));
    both_ways(&Message::Notification(n.clone()), TWO_OCTET, &wire);
    assert_eq!(n.shutdown_communication().as_deref(), Some("maintenance"));
    assert_eq!(
        n.to_string(),
        "Cease/Administrative Shutdown: \"maintenance\""
    );
}

#[test]
fn notification_without_data() {
    let wire = hx(&format!("{MARKER} 0015 03 04 00"));
    both_ways(
        &Message::Notification(Notification::hold_timer_expired()),
        TWO_OCTET,
        &wire,
    );
}

#[test]
fn route_refresh() {
    let rr = RouteRefresh {
        afi: Afi::Ipv6,
        safi: Safi::Unicast,
        subtype: RouteRefresh::BEGIN,
    };
    let wire = hxc(&format!(
        "{MARKER} 0017 05
         0002 01 01   # AFI IPv6, subtype BoRR, SAFI unicast"
    ));
    both_ways(&Message::RouteRefresh(rr), TWO_OCTET, &wire);
    let wire = hx(&format!("{MARKER} 0017 05 0001 00 01"));
    both_ways(
        &Message::RouteRefresh(RouteRefresh::request(Afi::Ipv4, Safi::Unicast)),
        TWO_OCTET,
        &wire,
    );
}
