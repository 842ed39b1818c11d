//! Property tests: every well-formed packet and LSA body survives encode
//! then decode; no input, random or mutated, makes a decoder panic.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::Ipv6Net;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use super::super::auth::{self, Algorithm, AuthKey};
use super::super::lsa::LsaBody;
use super::super::lsa_v2::{
    ExternalLsa, ExternalTos, NetworkLsa, RouterLink, RouterLsa, SummaryLsa,
};
use super::super::lsa_v3::{
    ExternalLsaV3, InterAreaPrefixLsa, InterAreaRouterLsa, IntraAreaPrefixLsa, LinkLsa,
    NetworkLsaV3, Prefix, RouterLinkV3, RouterLsaV3,
};
use super::super::{
    AuthHeader, Body, DbDesc, DdFlags, Hello, LsRequest, Lsa, LsaHeader, Packet, Reader, Version,
};

fn ipv4() -> BoxedStrategy<Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from).boxed()
}

fn ipv6() -> BoxedStrategy<Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from).boxed()
}

fn version() -> BoxedStrategy<Version> {
    prop_oneof![Just(Version::V2), Just(Version::V3)].boxed()
}

fn v3_prefix() -> BoxedStrategy<Prefix> {
    (any::<u128>(), 0u8..=128, any::<u8>(), any::<u16>())
        .prop_map(|(a, l, options, field)| Prefix {
            prefix: Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc(),
            options,
            field,
        })
        .boxed()
}

fn header(v: Version) -> BoxedStrategy<LsaHeader> {
    let t = match v {
        Version::V2 => (0u16..=255).boxed(),
        Version::V3 => any::<u16>().boxed(),
    };
    let options = match v {
        Version::V2 => any::<u8>().boxed(),
        Version::V3 => Just(0u8).boxed(),
    };
    (
        any::<u16>(),
        options,
        t,
        ipv4(),
        ipv4(),
        any::<u32>(),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(
            |(age, options, ls_type, lsid, adv_router, seq, checksum, length)| LsaHeader {
                age,
                options,
                ls_type,
                lsid,
                adv_router,
                seq,
                checksum,
                length,
            },
        )
        .boxed()
}

/// A body and an LS type it is valid for.
fn body(v: Version) -> BoxedStrategy<(u16, LsaBody)> {
    match v {
        Version::V2 => prop_oneof![
            (
                any::<u8>(),
                vec(
                    (
                        ipv4(),
                        ipv4(),
                        any::<u8>(),
                        any::<u16>(),
                        vec((any::<u8>(), any::<u16>()), 0..3)
                    ),
                    0..6
                )
            )
                .prop_map(|(flags, links)| (
                    1,
                    LsaBody::Router(RouterLsa {
                        flags,
                        links: links
                            .into_iter()
                            .map(|(link_id, link_data, link_type, metric, tos)| RouterLink {
                                link_id,
                                link_data,
                                link_type,
                                metric,
                                tos
                            })
                            .collect(),
                    })
                )),
            (ipv4(), vec(ipv4(), 0..6))
                .prop_map(|(mask, attached)| (2, LsaBody::Network(NetworkLsa { mask, attached }))),
            (
                prop_oneof![Just(3u16), Just(4u16)],
                ipv4(),
                0u32..1 << 24,
                vec((any::<u8>(), 0u32..1 << 24), 0..3)
            )
                .prop_map(|(t, mask, metric, tos)| (
                    t,
                    LsaBody::Summary(SummaryLsa { mask, metric, tos })
                )),
            (
                ipv4(),
                any::<bool>(),
                0u32..1 << 24,
                ipv4(),
                any::<u32>(),
                vec((any::<u8>(), 0u32..1 << 24, ipv4(), any::<u32>()), 0..3)
            )
                .prop_map(|(mask, type2, metric, forwarding, tag, tos)| (
                    5,
                    LsaBody::External(ExternalLsa {
                        mask,
                        type2,
                        metric,
                        forwarding,
                        tag,
                        tos: tos
                            .into_iter()
                            .map(|(e_tos, metric, forwarding, tag)| ExternalTos {
                                e_tos,
                                metric,
                                forwarding,
                                tag
                            })
                            .collect(),
                    })
                )),
            vec(any::<u8>(), 0..40).prop_map(|b| (10, LsaBody::Unknown(b))),
        ]
        .boxed(),
        Version::V3 => prop_oneof![
            (
                any::<u8>(),
                0u32..1 << 24,
                vec(
                    (
                        any::<u8>(),
                        any::<u16>(),
                        any::<u32>(),
                        any::<u32>(),
                        ipv4()
                    ),
                    0..5
                )
            )
                .prop_map(|(flags, options, links)| (
                    0x2001,
                    LsaBody::RouterV3(RouterLsaV3 {
                        flags,
                        options,
                        links: links
                            .into_iter()
                            .map(
                                |(
                                    link_type,
                                    metric,
                                    interface_id,
                                    neighbor_interface_id,
                                    neighbor_router_id,
                                )| RouterLinkV3 {
                                    link_type,
                                    metric,
                                    interface_id,
                                    neighbor_interface_id,
                                    neighbor_router_id
                                }
                            )
                            .collect(),
                    })
                )),
            (0u32..1 << 24, vec(ipv4(), 0..5)).prop_map(|(options, attached)| (
                0x2002,
                LsaBody::NetworkV3(NetworkLsaV3 { options, attached })
            )),
            (0u32..1 << 24, v3_prefix()).prop_map(|(metric, prefix)| (
                0x2003,
                LsaBody::InterAreaPrefix(InterAreaPrefixLsa { metric, prefix })
            )),
            (0u32..1 << 24, 0u32..1 << 24, ipv4()).prop_map(|(options, metric, destination)| (
                0x2004,
                LsaBody::InterAreaRouter(InterAreaRouterLsa {
                    options,
                    metric,
                    destination
                })
            )),
            (
                any::<bool>(),
                0u32..1 << 24,
                v3_prefix(),
                option::of(ipv6()),
                option::of(any::<u32>()),
                option::of(ipv4())
            )
                .prop_map(
                    |(type2, metric, mut prefix, forwarding, tag, referenced_lsid)| {
                        // The referenced LSID is present exactly when the type is not zero.
                        prefix.field = if referenced_lsid.is_some() {
                            prefix.field.max(1)
                        } else {
                            0
                        };
                        (
                            0x4005,
                            LsaBody::ExternalV3(ExternalLsaV3 {
                                type2,
                                metric,
                                prefix,
                                forwarding,
                                tag,
                                referenced_lsid,
                            }),
                        )
                    }
                ),
            (any::<u8>(), 0u32..1 << 24, ipv6(), vec(v3_prefix(), 0..4)).prop_map(
                |(priority, options, link_local, prefixes)| (
                    0x0008,
                    LsaBody::Link(LinkLsa {
                        priority,
                        options,
                        link_local,
                        prefixes
                    })
                )
            ),
            (any::<u16>(), ipv4(), ipv4(), vec(v3_prefix(), 0..4)).prop_map(
                |(referenced_ls_type, referenced_lsid, referenced_adv_router, prefixes)| (
                    0x2009,
                    LsaBody::IntraAreaPrefix(IntraAreaPrefixLsa {
                        referenced_ls_type,
                        referenced_lsid,
                        referenced_adv_router,
                        prefixes
                    })
                )
            ),
            vec(any::<u8>(), 0..40).prop_map(|b| (0xa00f, LsaBody::Unknown(b))),
        ]
        .boxed(),
    }
}

fn lsa(v: Version) -> BoxedStrategy<Lsa> {
    (header(v), body(v))
        .prop_map(move |(mut h, (t, b))| {
            h.ls_type = t;
            Lsa::build(v, h, &b)
        })
        .boxed()
}

fn packet() -> BoxedStrategy<Packet> {
    version()
        .prop_flat_map(|v| {
            let options = match v {
                Version::V2 => (0u32..256).boxed(),
                Version::V3 => (0u32..1 << 24).boxed(),
            };
            let dead = match v {
                Version::V2 => any::<u32>().boxed(),
                Version::V3 => (0u32..1 << 16).boxed(),
            };
            let mask = match v {
                Version::V2 => ipv4(),
                Version::V3 => Just(Ipv4Addr::UNSPECIFIED).boxed(),
            };
            let iface = match v {
                Version::V2 => Just(0u32).boxed(),
                Version::V3 => any::<u32>().boxed(),
            };
            let hello = (
                mask,
                iface,
                any::<u16>(),
                options.clone(),
                any::<u8>(),
                dead,
                ipv4(),
                ipv4(),
                vec(ipv4(), 0..8),
            )
                .prop_map(
                    |(
                        network_mask,
                        interface_id,
                        hello_interval,
                        options,
                        priority,
                        dead_interval,
                        dr,
                        bdr,
                        neighbors,
                    )| {
                        Body::Hello(Hello {
                            network_mask,
                            interface_id,
                            hello_interval,
                            options,
                            priority,
                            dead_interval,
                            dr,
                            bdr,
                            neighbors,
                        })
                    },
                );
            let dd = (
                any::<u16>(),
                options,
                0u8..8,
                any::<u32>(),
                vec(header(v), 0..5),
            )
                .prop_map(|(mtu, options, flags, seq, headers)| {
                    Body::DbDesc(DbDesc {
                        mtu,
                        options,
                        flags: DdFlags(flags),
                        seq,
                        headers,
                    })
                });
            let lsr = vec((any::<u16>(), ipv4(), ipv4()), 0..6).prop_map(|e| {
                Body::LsRequest(
                    e.into_iter()
                        .map(|(ls_type, lsid, adv_router)| LsRequest {
                            ls_type,
                            lsid,
                            adv_router,
                        })
                        .collect(),
                )
            });
            let lsu = vec(lsa(v), 0..4).prop_map(Body::LsUpdate);
            let ack = vec(header(v), 0..6).prop_map(Body::LsAck);
            let body = prop_oneof![hello, dd, lsr, lsu, ack];
            let auth = match v {
                Version::V2 => prop_oneof![
                    Just(AuthHeader::Null),
                    any::<[u8; 8]>().prop_map(AuthHeader::Simple),
                    (any::<u8>(), any::<u8>(), any::<u32>()).prop_map(|(key_id, auth_len, seq)| {
                        AuthHeader::Crypto {
                            key_id,
                            auth_len,
                            seq,
                        }
                    }),
                ]
                .boxed(),
                Version::V3 => Just(AuthHeader::Null).boxed(),
            };
            let instance = match v {
                Version::V2 => Just(0u8).boxed(),
                Version::V3 => any::<u8>().boxed(),
            };
            (Just(v), ipv4(), ipv4(), instance, auth, body)
        })
        .prop_map(
            |(version, router_id, area_id, instance_id, auth, body)| Packet {
                version,
                router_id,
                area_id,
                instance_id,
                auth,
                body,
            },
        )
        .boxed()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_packet_round_trips(p in packet()) {
        let bytes = p.encode();
        prop_assert_eq!(Packet::decode(&bytes).unwrap(), p);
    }

    #[test]
    fn every_lsa_body_round_trips_and_built_lsas_validate((v, t, b) in version().prop_flat_map(|v| body(v).prop_map(move |(t, b)| (v, t, b)))) {
        let mut bytes = Vec::new();
        b.encode(&mut bytes);
        prop_assert_eq!(LsaBody::decode(v, t, &bytes).unwrap(), b.clone());
        let h = LsaHeader { age: 0, options: 0, ls_type: t, lsid: Ipv4Addr::LOCALHOST, adv_router: Ipv4Addr::LOCALHOST, seq: 0x8000_0001, checksum: 0, length: 0 };
        let lsa = Lsa::build(v, h, &b);
        prop_assert!(lsa.validate(v).is_ok());
        prop_assert_eq!(lsa.decode_body(v).unwrap(), b);
    }

    /// The fuzz-style property: arbitrary octets never make a decoder panic.
    #[test]
    fn arbitrary_octets_never_panic_a_decoder(bytes in vec(any::<u8>(), 0..600), t in any::<u16>()) {
        let _ = Packet::decode(&bytes);
        for v in [Version::V2, Version::V3] {
            let _ = LsaBody::decode(v, t, &bytes);
            let mut r = Reader::new(&bytes, "fuzz");
            if let Ok(lsa) = Lsa::decode(v, &mut r) {
                let _ = lsa.validate(v);
                let _ = lsa.decode_body(v);
            }
        }
        let key = AuthKey { algorithm: Algorithm::HmacSha256, key_id: 1, key: b"k".to_vec() };
        let _ = auth::verify(&bytes, None);
        let _ = auth::verify(&bytes, Some(&key));
    }

    /// Arbitrary octets behind a plausible header, so decoding gets past the
    /// framing and into the bodies.
    #[test]
    fn arbitrary_bodies_behind_a_valid_header_never_panic(v3 in any::<bool>(), t in 0u8..8, body in vec(any::<u8>(), 0..600)) {
        let mut bytes = if v3 { vec![3, t, 0, 0, 10, 255, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0] } else { vec![2, t, 0, 0, 10, 255, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] };
        bytes.extend_from_slice(&body);
        let len = bytes.len() as u16;
        bytes[2..4].copy_from_slice(&len.to_be_bytes());
        let _ = Packet::decode(&bytes);
    }

    /// Every single-octet change to a valid packet decodes or fails cleanly.
    #[test]
    fn mutated_packets_never_panic(p in packet(), at in any::<prop::sample::Index>(), value in any::<u8>()) {
        let mut bytes = p.encode();
        let i = at.index(bytes.len());
        bytes[i] = value;
        let _ = Packet::decode(&bytes);
    }
}
