//! Property tests: every well-formed message survives encode then decode;
//! no input, random or mutated, makes framing or decoding panic.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{Bytes, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use super::super::*;
use super::encode;

// ---- code points: raw numbers through `From`, so `Unknown(n)` never holds
// a named value (which would decode back to the named variant).

fn afi() -> BoxedStrategy<Afi> {
    prop_oneof![
        Just(Afi::Ipv4),
        Just(Afi::Ipv6),
        any::<u16>().prop_map(Afi::from)
    ]
    .boxed()
}

fn safi() -> BoxedStrategy<Safi> {
    prop_oneof![
        Just(Safi::Unicast),
        Just(Safi::Multicast),
        any::<u8>().prop_map(Safi::from)
    ]
    .boxed()
}

fn bytes(max: usize) -> BoxedStrategy<Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from).boxed()
}

fn ipv4net() -> BoxedStrategy<Ipv4Net> {
    (any::<u32>(), 0u8..=32)
        .prop_map(|(a, l)| Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc())
        .boxed()
}

fn ipv6net() -> BoxedStrategy<Ipv6Net> {
    (any::<u128>(), 0u8..=128)
        .prop_map(|(a, l)| Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc())
        .boxed()
}

// ---- OPEN

fn capability() -> BoxedStrategy<Capability> {
    let known = [1u8, 2, 5, 64, 65, 70];
    prop_oneof![
        (afi(), safi()).prop_map(|(afi, safi)| Capability::Multiprotocol { afi, safi }),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        any::<u32>().prop_map(Capability::FourOctetAs),
        (
            any::<bool>(),
            any::<bool>(),
            0u16..4096,
            vec((afi(), safi(), any::<bool>()), 0..10)
        )
            .prop_map(
                |(r, n, t, fams)| Capability::GracefulRestart(GracefulRestart {
                    restart_state: r,
                    notification: n,
                    restart_time: t,
                    families: fams
                        .into_iter()
                        .map(|(afi, safi, f)| GrFamily {
                            afi,
                            safi,
                            forwarding_state: f
                        })
                        .collect(),
                })
            ),
        vec((afi(), safi(), afi()), 0..10).prop_map(|e| Capability::ExtendedNextHop(
            e.into_iter()
                .map(|(nlri_afi, nlri_safi, nexthop_afi)| ExtendedNextHopEntry {
                    nlri_afi,
                    nlri_safi,
                    nexthop_afi
                })
                .collect()
        )),
        (
            any::<u8>().prop_filter("unknown code", move |c| !known.contains(c)),
            bytes(255)
        )
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
    .boxed()
}

fn open() -> BoxedStrategy<Open> {
    (
        any::<u16>(),
        prop_oneof![Just(0u16), 3u16..],
        // Non-zero, below 224.0.0.0: unicast identifiers.
        1u32..0xE000_0000,
        vec(capability(), 0..8),
        vec(
            (
                any::<u8>().prop_filter("not capabilities", |t| *t != 2),
                bytes(300),
            ),
            0..3,
        ),
    )
        .prop_map(
            |(my_as, hold_time, id, capabilities, unknown_params)| Open {
                version: 4,
                my_as,
                hold_time,
                bgp_id: Ipv4Addr::from(id),
                capabilities,
                unknown_params,
            },
        )
        .boxed()
}

// ---- UPDATE

fn asn(four_octet: bool) -> BoxedStrategy<u32> {
    if four_octet {
        (1u32..).boxed()
    } else {
        (1u32..=65535).boxed()
    }
}

fn as_path(four_octet: bool, confed: bool) -> BoxedStrategy<AsPath> {
    let kind = if confed {
        prop_oneof![
            Just(AsSegmentKind::Set),
            Just(AsSegmentKind::Sequence),
            Just(AsSegmentKind::ConfedSequence),
            Just(AsSegmentKind::ConfedSet)
        ]
        .boxed()
    } else {
        prop_oneof![Just(AsSegmentKind::Set), Just(AsSegmentKind::Sequence)].boxed()
    };
    vec((kind, vec(asn(four_octet), 1..12)), 0..4)
        .prop_map(|segs| AsPath {
            segments: segs
                .into_iter()
                .map(|(kind, asns)| AsSegment { kind, asns })
                .collect(),
        })
        .boxed()
}

fn mp_reach(extended_nexthop: bool) -> BoxedStrategy<MpReach> {
    let v6_nh = (any::<u128>(), option::of(any::<u128>())).prop_map(|(g, ll)| MpNextHop::Ipv6 {
        global: Ipv6Addr::from(g),
        link_local: ll.map(Ipv6Addr::from),
    });
    let v4_nh = if extended_nexthop {
        prop_oneof![
            any::<u32>().prop_map(|a| MpNextHop::Ipv4(a.into())),
            v6_nh.clone()
        ]
        .boxed()
    } else {
        any::<u32>().prop_map(|a| MpNextHop::Ipv4(a.into())).boxed()
    };
    let uni_multi = prop_oneof![Just(Safi::Unicast), Just(Safi::Multicast)];
    prop_oneof![
        (uni_multi.clone(), v4_nh, vec(ipv4net(), 0..10)).prop_map(|(safi, next_hop, n)| MpReach {
            afi: Afi::Ipv4,
            safi,
            next_hop,
            nlri: n.into_iter().map(IpNet::V4).collect(),
            unparsed_nlri: Bytes::new(),
        }),
        (uni_multi, v6_nh, vec(ipv6net(), 0..10)).prop_map(|(safi, next_hop, n)| MpReach {
            afi: Afi::Ipv6,
            safi,
            next_hop,
            nlri: n.into_iter().map(IpNet::V6).collect(),
            unparsed_nlri: Bytes::new(),
        }),
        (afi(), safi(), bytes(40), bytes(200))
            .prop_filter("a family we do not parse", |(a, s, _, _)| {
                !(matches!(a, Afi::Ipv4 | Afi::Ipv6)
                    && matches!(s, Safi::Unicast | Safi::Multicast))
            })
            .prop_map(|(afi, safi, nh, raw)| MpReach {
                afi,
                safi,
                next_hop: MpNextHop::Other(nh),
                nlri: vec![],
                unparsed_nlri: raw,
            }),
    ]
    .boxed()
}

fn mp_unreach() -> BoxedStrategy<MpUnreach> {
    prop_oneof![
        vec(ipv4net(), 0..10).prop_map(|n| MpUnreach {
            afi: Afi::Ipv4,
            safi: Safi::Unicast,
            withdrawn: n.into_iter().map(IpNet::V4).collect(),
            unparsed_withdrawn: Bytes::new(),
        }),
        vec(ipv6net(), 0..10).prop_map(|n| MpUnreach {
            afi: Afi::Ipv6,
            safi: Safi::Multicast,
            withdrawn: n.into_iter().map(IpNet::V6).collect(),
            unparsed_withdrawn: Bytes::new(),
        }),
        (3u16.., bytes(100)).prop_map(|(a, raw)| MpUnreach {
            afi: Afi::from(a),
            safi: Safi::Unicast,
            withdrawn: vec![],
            unparsed_withdrawn: raw,
        }),
    ]
    .boxed()
}

const KNOWN_TYPES: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32];

/// Optional attributes, each at most once; the mandatory three are always
/// present so that NLRI never trigger RFC 7606 3.d.
fn attributes(opts: DecodeOptions) -> BoxedStrategy<Vec<PathAttribute>> {
    let fo = opts.four_octet_as;
    let addr = || any::<u32>().prop_map(Ipv4Addr::from);
    let optional = (
        (
            option::of(any::<u32>().prop_map(PathAttribute::MultiExitDisc)),
            option::of(any::<u32>().prop_map(PathAttribute::LocalPref)),
            option::of(Just(PathAttribute::AtomicAggregate)),
            option::of(
                (asn(fo), addr())
                    .prop_map(|(asn, address)| PathAttribute::Aggregator { asn, address }),
            ),
            option::of(
                vec(any::<u32>().prop_map(Community), 1..20).prop_map(PathAttribute::Communities),
            ),
            option::of(addr().prop_map(PathAttribute::OriginatorId)),
            option::of(vec(addr(), 1..5).prop_map(PathAttribute::ClusterList)),
        ),
        (
            option::of(mp_reach(opts.extended_nexthop_ipv4).prop_map(PathAttribute::MpReach)),
            option::of(mp_unreach().prop_map(PathAttribute::MpUnreach)),
            option::of(vec(any::<[u8; 8]>(), 1..10).prop_map(PathAttribute::ExtendedCommunities)),
            option::of(
                vec((any::<u32>(), any::<u32>(), any::<u32>()), 1..10).prop_map(|v| {
                    PathAttribute::LargeCommunities(
                        v.into_iter()
                            .map(|(g, a, b)| LargeCommunity {
                                global_admin: g,
                                local_data1: a,
                                local_data2: b,
                            })
                            .collect(),
                    )
                }),
            ),
            // AS4_* only make sense (and survive) on 2-octet sessions.
            option::of(as_path(true, false).prop_map(PathAttribute::As4Path))
                .prop_filter("2-octet only", move |a| !fo || a.is_none()),
            option::of(
                (1u32.., addr())
                    .prop_map(|(asn, address)| PathAttribute::As4Aggregator { asn, address }),
            )
            .prop_filter("2-octet only", move |a| !fo || a.is_none()),
            btree_map(
                any::<u8>().prop_filter("unknown type", |t| !KNOWN_TYPES.contains(t)),
                (any::<u8>().prop_map(|f| (f | 0x80) & !0x10), bytes(300)),
                0..3,
            ),
        ),
    );
    let mandatory = (
        prop_oneof![
            Just(Origin::Igp),
            Just(Origin::Egp),
            Just(Origin::Incomplete)
        ],
        as_path(fo, true),
        addr(),
    );
    (mandatory, optional)
        .prop_map(
            |((origin, path, nh), ((a, b, c, d, e, f, g), (h, i, j, k, l, m, unknown)))| {
                let mut v = vec![
                    PathAttribute::Origin(origin),
                    PathAttribute::AsPath(path),
                    PathAttribute::NextHop(nh),
                ];
                v.extend(
                    [a, b, c, d, e, f, g, h, i, j, k, l, m]
                        .into_iter()
                        .flatten(),
                );
                v.extend(unknown.into_iter().map(|(type_code, (flags, value))| {
                    PathAttribute::Unknown {
                        flags,
                        type_code,
                        value,
                    }
                }));
                v
            },
        )
        .prop_shuffle()
        .boxed()
}

fn update(opts: DecodeOptions) -> BoxedStrategy<Update> {
    prop_oneof![
        // Withdrawals only, or End-of-RIB.
        vec(ipv4net(), 0..30).prop_map(|withdrawn| Update {
            withdrawn,
            ..Update::default()
        }),
        (
            vec(ipv4net(), 0..30),
            attributes(opts),
            vec(ipv4net(), 0..30)
        )
            .prop_map(|(withdrawn, attributes, nlri)| {
                Update {
                    withdrawn,
                    attributes,
                    nlri,
                    errors: vec![],
                }
            }),
    ]
    .boxed()
}

fn notification() -> BoxedStrategy<Notification> {
    (any::<u8>(), any::<u8>(), bytes(100))
        .prop_map(|(c, s, data)| Notification {
            code: ErrorCode::from(c),
            subcode: s,
            data,
        })
        .boxed()
}

fn route_refresh() -> BoxedStrategy<RouteRefresh> {
    (afi(), safi(), any::<u8>())
        .prop_map(|(afi, safi, subtype)| RouteRefresh { afi, safi, subtype })
        .boxed()
}

fn options() -> BoxedStrategy<DecodeOptions> {
    (any::<bool>(), any::<bool>())
        .prop_map(|(four_octet_as, extended_nexthop_ipv4)| DecodeOptions {
            four_octet_as,
            extended_nexthop_ipv4,
        })
        .boxed()
}

fn message(opts: DecodeOptions) -> BoxedStrategy<Message> {
    prop_oneof![
        open().prop_map(Message::Open),
        update(opts).prop_map(Message::Update),
        notification().prop_map(Message::Notification),
        Just(Message::Keepalive),
        route_refresh().prop_map(Message::RouteRefresh),
    ]
    .boxed()
}

/// Options, then a message valid under them that fits in 4096 octets.
fn framed() -> BoxedStrategy<(DecodeOptions, Message)> {
    options()
        .prop_flat_map(|opts| (Just(opts), message(opts)))
        .prop_filter("fits in a message", |(opts, m)| {
            encode(m, *opts).len() <= MAX_MESSAGE_LEN
        })
        .boxed()
}

/// Frames and decodes whatever is in `buf`; must never panic.
fn chew(buf: &[u8], opts: DecodeOptions) {
    let mut b = BytesMut::from(buf);
    while let Ok(Some(frame)) = split_frame(&mut b) {
        if let Err(e) = decode_message(&frame, opts) {
            // The conversion and Display must not panic either.
            let n = Notification::from(&e);
            let _ = n.to_string();
        }
    }
    if let Err(e) = decode_message(buf, opts) {
        let _ = Notification::from(&e).to_string();
    }
}

proptest! {
    // Failures persist next to this file, inside the codec's directory.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn encode_then_decode_is_identity((opts, msg) in framed()) {
        let wire = encode(&msg, opts);
        let back = decode_message(&wire, opts);
        prop_assert_eq!(back.as_ref(), Ok(&msg), "wire {}", hex::encode(&wire));
        // And the encoding is canonical: encoding again gives the same octets.
        prop_assert_eq!(encode(&back.unwrap(), opts), wire);
    }

    #[test]
    fn random_octets_never_panic(buf in vec(any::<u8>(), 0..600), four in any::<bool>()) {
        chew(&buf, DecodeOptions { four_octet_as: four, extended_nexthop_ipv4: !four });
    }

    #[test]
    fn random_bodies_behind_a_valid_header_never_panic(ty in 1u8..=5, body in vec(any::<u8>(), 0..600), four in any::<bool>()) {
        let mut buf = vec![0xff; 16];
        buf.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        buf.push(ty);
        buf.extend_from_slice(&body);
        chew(&buf, DecodeOptions { four_octet_as: four, extended_nexthop_ipv4: four });
    }

    #[test]
    fn mutated_messages_never_panic(
        (opts, msg) in framed(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        fix_length in any::<bool>(),
    ) {
        let mut wire = encode(&msg, opts);
        for (i, v) in flips {
            // Leave the marker alone half the time so the body gets exercised.
            let at = i.index(wire.len());
            if at >= 16 || v % 2 == 0 {
                wire[at] ^= v;
            }
        }
        if truncate {
            wire.truncate(cut.index(wire.len() + 1));
        }
        if fix_length && wire.len() >= 19 {
            let len = (wire.len() as u16).to_be_bytes();
            wire[16] = len[0];
            wire[17] = len[1];
        }
        chew(&wire, opts);
    }
}
