//! Hand-written vectors, each tested both ways: the octets decode to the
//! value and the value encodes to the octets. The octets were produced by an
//! independent Python encoder written from the RFC diagrams
//! (RFC 2328 A.3-A.4, RFC 5340 A.3-A.4), and the digests by Python's
//! `hashlib`/`hmac` following RFC 2328 D.4.3 and RFC 5709 3.3.

use std::net::{Ipv4Addr, Ipv6Addr};

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
    AuthHeader, Body, DbDesc, DdFlags, Hello, LsRequest, Lsa, LsaHeader, Packet, Version,
};
use super::wire;

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn prefix(s: &str, options: u8, field: u16) -> Prefix {
    Prefix {
        prefix: s.parse().unwrap(),
        options,
        field,
    }
}

/// Both directions for a packet (checksum left zero: see `sealing`).
fn packet_both_ways(hex_text: &str, packet: Packet) {
    let bytes = hex::decode(hex_text).unwrap();
    assert_eq!(Packet::decode(&bytes).unwrap(), packet, "decode");
    assert_eq!(packet.encode(), bytes, "encode");
}

/// Both directions for an LSA body.
fn body_both_ways(version: Version, ls_type: u16, hex_text: &str, body: LsaBody) {
    let bytes = hex::decode(hex_text).unwrap();
    assert_eq!(
        LsaBody::decode(version, ls_type, &bytes).unwrap(),
        body,
        "decode"
    );
    let mut out = Vec::new();
    body.encode(&mut out);
    assert_eq!(out, bytes, "encode");
}

fn v2(router_id: &str, body: Body) -> Packet {
    Packet {
        version: Version::V2,
        router_id: v4(router_id),
        area_id: v4("0.0.0.0"),
        instance_id: 0,
        auth: AuthHeader::Null,
        body,
    }
}

fn v3(router_id: &str, area: &str, instance_id: u8, body: Body) -> Packet {
    Packet {
        version: Version::V3,
        router_id: v4(router_id),
        area_id: v4(area),
        instance_id,
        auth: AuthHeader::Null,
        body,
    }
}

const ROUTER_V2: &str = "820000020aff01010aff01020200ffffc612000affffffff0301000108000007";

fn router_v2() -> RouterLsa {
    RouterLsa {
        flags: 0x82,
        links: vec![
            RouterLink {
                link_id: v4("10.255.1.1"),
                link_data: v4("10.255.1.2"),
                link_type: 2,
                metric: 0xffff,
                tos: vec![],
            },
            RouterLink {
                link_id: v4("198.18.0.10"),
                link_data: v4("255.255.255.255"),
                link_type: 3,
                metric: 1,
                tos: vec![(8, 7)],
            },
        ],
    }
}

const EXTERNAL_V2: &str = "ffffffff8000001400000000000000078800001e0aff010100000009";

fn external_v2() -> ExternalLsa {
    ExternalLsa {
        mask: v4("255.255.255.255"),
        type2: true,
        metric: 20,
        forwarding: v4("0.0.0.0"),
        tag: 7,
        tos: vec![ExternalTos {
            e_tos: 0x88,
            metric: 30,
            forwarding: v4("10.255.1.1"),
            tag: 9,
        }],
    }
}

const INTRA_V3: &str = "00022001000000000aff000180020001fd00019800180000000000000000001000000005";

fn intra_v3() -> IntraAreaPrefixLsa {
    IntraAreaPrefixLsa {
        referenced_ls_type: 0x2001,
        referenced_lsid: v4("0.0.0.0"),
        referenced_adv_router: v4("10.255.0.1"),
        prefixes: vec![prefix("fd00:198:18::10/128", 0x02, 1), prefix("::/0", 0, 5)],
    }
}

#[test]
fn router_lsa_v2_with_host_bit_transit_and_stub_links() {
    body_both_ways(Version::V2, 1, ROUTER_V2, LsaBody::Router(router_v2()));
}

#[test]
fn network_lsa_v2() {
    body_both_ways(
        Version::V2,
        2,
        "ffffff000aff01010aff0109",
        LsaBody::Network(NetworkLsa {
            mask: v4("255.255.255.0"),
            attached: vec![v4("10.255.1.1"), v4("10.255.1.9")],
        }),
    );
}

#[test]
fn summary_lsa_v2_types_3_and_4() {
    let body = LsaBody::Summary(SummaryLsa {
        mask: v4("255.255.0.0"),
        metric: 100,
        tos: vec![(8, 200)],
    });
    body_both_ways(Version::V2, 3, "ffff000000000064080000c8", body.clone());
    body_both_ways(Version::V2, 4, "ffff000000000064080000c8", body);
}

#[test]
fn as_external_lsa_v2_type_2_with_a_tos_entry() {
    body_both_ways(
        Version::V2,
        5,
        EXTERNAL_V2,
        LsaBody::External(external_v2()),
    );
}

#[test]
fn router_lsa_v3() {
    body_both_ways(
        Version::V3,
        0x2001,
        "020000130100ffff00000003000000070aff00010200ffff00000004000000090aff0009",
        LsaBody::RouterV3(RouterLsaV3 {
            flags: 0x02,
            options: 0x13,
            links: vec![
                RouterLinkV3 {
                    link_type: 1,
                    metric: 0xffff,
                    interface_id: 3,
                    neighbor_interface_id: 7,
                    neighbor_router_id: v4("10.255.0.1"),
                },
                RouterLinkV3 {
                    link_type: 2,
                    metric: 0xffff,
                    interface_id: 4,
                    neighbor_interface_id: 9,
                    neighbor_router_id: v4("10.255.0.9"),
                },
            ],
        }),
    );
}

#[test]
fn network_lsa_v3() {
    body_both_ways(
        Version::V3,
        0x2002,
        "000000130aff00010aff0002",
        LsaBody::NetworkV3(NetworkLsaV3 {
            options: 0x13,
            attached: vec![v4("10.255.0.1"), v4("10.255.0.2")],
        }),
    );
}

#[test]
fn inter_area_prefix_and_router_lsas_v3() {
    body_both_ways(
        Version::V3,
        0x2003,
        "0000003240000000fd00019800180000",
        LsaBody::InterAreaPrefix(InterAreaPrefixLsa {
            metric: 50,
            prefix: prefix("fd00:198:18::/64", 0, 0),
        }),
    );
    body_both_ways(
        Version::V3,
        0x2004,
        "000000130000003c0aff0007",
        LsaBody::InterAreaRouter(InterAreaRouterLsa {
            options: 0x13,
            metric: 60,
            destination: v4("10.255.0.7"),
        }),
    );
}

#[test]
fn as_external_lsa_v3_with_and_without_optional_fields() {
    body_both_ways(
        Version::V3,
        0x4005,
        "0700001480002001fd000198001800000000000000000010fd0002550000000000000000000000010000002a00000005",
        LsaBody::ExternalV3(ExternalLsaV3 {
            type2: true,
            metric: 20,
            prefix: prefix("fd00:198:18::10/128", 0, 0x2001),
            forwarding: Some(v6("fd00:255::1")),
            tag: Some(42),
            referenced_lsid: Some(v4("0.0.0.5")),
        }),
    );
    // The form vipd originates: E set, no F, T or referenced LSA. NSSA (0x2007)
    // has the same body.
    for t in [0x4005, 0x2007] {
        body_both_ways(
            Version::V3,
            t,
            "0400000180000000fd000198001800000000000000000010",
            LsaBody::ExternalV3(ExternalLsaV3 {
                type2: true,
                metric: 1,
                prefix: prefix("fd00:198:18::10/128", 0, 0),
                forwarding: None,
                tag: None,
                referenced_lsid: None,
            }),
        );
    }
}

#[test]
fn link_lsa_v3() {
    body_both_ways(
        Version::V3,
        0x0008,
        "01000013fe8000000000000000000000000000010000000240000000fd0002550001000030080000fd00025500020000",
        LsaBody::Link(LinkLsa {
            priority: 1,
            options: 0x13,
            link_local: v6("fe80::1"),
            prefixes: vec![
                prefix("fd00:255:1::/64", 0, 0),
                prefix("fd00:255:2::/48", 0x08, 0),
            ],
        }),
    );
}

#[test]
fn intra_area_prefix_lsa_v3_with_the_la_bit_and_a_zero_length_prefix() {
    body_both_ways(
        Version::V3,
        0x2009,
        INTRA_V3,
        LsaBody::IntraAreaPrefix(intra_v3()),
    );
}

#[test]
fn an_unknown_lsa_type_keeps_its_octets() {
    body_both_ways(
        Version::V2,
        10,
        "01020304",
        LsaBody::Unknown(vec![1, 2, 3, 4]),
    );
    body_both_ways(Version::V3, 0xa00f, "0506", LsaBody::Unknown(vec![5, 6]));
}

#[test]
fn whole_lsas_get_length_and_fletcher_checksum_when_built() {
    let header = LsaHeader {
        age: 1,
        options: 0x02,
        ls_type: 1,
        lsid: v4("10.255.1.1"),
        adv_router: v4("10.255.1.1"),
        seq: 0x8000_0001,
        checksum: 0,
        length: 0,
    };
    let lsa = Lsa::build(Version::V2, header, &LsaBody::Router(router_v2()));
    assert_eq!(
        hex::encode(&lsa.raw),
        format!("000102010aff01010aff010180000001d5c20034{ROUTER_V2}")
    );
    assert_eq!((lsa.header.checksum, lsa.header.length), (0xd5c2, 0x34));
    let header = LsaHeader {
        age: 1,
        options: 0,
        ls_type: 0x2009,
        lsid: v4("0.0.0.1"),
        adv_router: v4("10.255.1.1"),
        seq: 0x8000_0001,
        checksum: 0,
        length: 0,
    };
    let lsa = Lsa::build(Version::V3, header, &LsaBody::IntraAreaPrefix(intra_v3()));
    assert_eq!(
        hex::encode(&lsa.raw),
        format!("00012009000000010aff0101800000012e6b0038{INTRA_V3}")
    );
}

#[test]
fn hello_v2() {
    packet_both_ways(
        "020100300aff010200000000000000000000000000000000ffffff00000a0200000000280aff0101000000000aff0101",
        v2(
            "10.255.1.2",
            Body::Hello(Hello {
                network_mask: v4("255.255.255.0"),
                interface_id: 0,
                hello_interval: 10,
                options: 0x02,
                priority: 0,
                dead_interval: 40,
                dr: v4("10.255.1.1"),
                bdr: v4("0.0.0.0"),
                neighbors: vec![v4("10.255.1.1")],
            }),
        ),
    );
}

#[test]
fn hello_v3() {
    packet_both_ways(
        "0301002c0aff010200000001000000000000000500000013000a00280aff0101000000000aff01010aff0103",
        v3(
            "10.255.1.2",
            "0.0.0.1",
            0,
            Body::Hello(Hello {
                network_mask: v4("0.0.0.0"),
                interface_id: 5,
                hello_interval: 10,
                options: 0x13,
                priority: 0,
                dead_interval: 40,
                dr: v4("10.255.1.1"),
                bdr: v4("0.0.0.0"),
                neighbors: vec![v4("10.255.1.1"), v4("10.255.1.3")],
            }),
        ),
    );
}

fn router_v2_header() -> LsaHeader {
    LsaHeader {
        age: 1,
        options: 0x02,
        ls_type: 1,
        lsid: v4("10.255.1.1"),
        adv_router: v4("10.255.1.1"),
        seq: 0x8000_0001,
        checksum: 0xd5c2,
        length: 0x34,
    }
}

#[test]
fn database_description_v2() {
    packet_both_ways(
        "020200340aff01020000000000000000000000000000000005dc020312345678000102010aff01010aff010180000001d5c20034",
        v2(
            "10.255.1.2",
            Body::DbDesc(DbDesc {
                mtu: 1500,
                options: 0x02,
                flags: DdFlags(DdFlags::M | DdFlags::MS),
                seq: 0x1234_5678,
                headers: vec![router_v2_header()],
            }),
        ),
    );
}

#[test]
fn database_description_v3_with_instance_id_and_jumbo_mtu() {
    packet_both_ways(
        "030200300aff0102000000000000010000000013232800078000000000012001000000000aff01018000000122a90038",
        v3(
            "10.255.1.2",
            "0.0.0.0",
            1,
            Body::DbDesc(DbDesc {
                mtu: 9000,
                options: 0x13,
                flags: DdFlags(DdFlags::I | DdFlags::M | DdFlags::MS),
                seq: 0x8000_0000,
                headers: vec![LsaHeader {
                    age: 1,
                    options: 0,
                    ls_type: 0x2001,
                    lsid: v4("0.0.0.0"),
                    adv_router: v4("10.255.1.1"),
                    seq: 0x8000_0001,
                    checksum: 0x22a9,
                    length: 0x38,
                }],
            }),
        ),
    );
}

#[test]
fn link_state_requests_v2_and_v3() {
    packet_both_ways(
        "020300300aff010200000000000000000000000000000000000000010aff01010aff010100000005c612000a0aff0101",
        v2(
            "10.255.1.2",
            Body::LsRequest(vec![
                LsRequest {
                    ls_type: 1,
                    lsid: v4("10.255.1.1"),
                    adv_router: v4("10.255.1.1"),
                },
                LsRequest {
                    ls_type: 5,
                    lsid: v4("198.18.0.10"),
                    adv_router: v4("10.255.1.1"),
                },
            ]),
        ),
    );
    packet_both_ways(
        "0303001c0aff0102000000000000000000002001000000000aff0101",
        v3(
            "10.255.1.2",
            "0.0.0.0",
            0,
            Body::LsRequest(vec![LsRequest {
                ls_type: 0x2001,
                lsid: v4("0.0.0.0"),
                adv_router: v4("10.255.1.1"),
            }]),
        ),
    );
}

const ROUTER_V2_LSA: &str = "000102010aff01010aff010180000001d5c20034820000020aff01010aff01020200ffffc612000affffffff0301000108000007";
const EXTERNAL_V2_LSA: &str = "0e100205c612000a0aff010180000003639b0030ffffffff8000001400000000000000078800001e0aff010100000009";

fn lsa(version: Version, hex_text: &str) -> Lsa {
    let raw = hex::decode(hex_text).unwrap();
    let mut r = super::super::Reader::new(&raw, "test");
    let lsa = Lsa::decode(version, &mut r).unwrap();
    lsa.validate(version).unwrap();
    lsa
}

#[test]
fn link_state_update_v2_with_a_router_lsa_and_a_max_age_external() {
    let router = lsa(Version::V2, ROUTER_V2_LSA);
    let external = lsa(Version::V2, EXTERNAL_V2_LSA);
    assert!(external.header.is_max_age());
    assert_eq!(
        external.decode_body(Version::V2).unwrap(),
        LsaBody::External(external_v2())
    );
    packet_both_ways(
        &format!(
            "020400800aff01020000000000000000000000000000000000000002{ROUTER_V2_LSA}{EXTERNAL_V2_LSA}"
        ),
        v2("10.255.1.2", Body::LsUpdate(vec![router, external])),
    );
}

#[test]
fn link_state_acks_v2_and_v3() {
    let external = lsa(Version::V2, EXTERNAL_V2_LSA);
    packet_both_ways(
        "020500400aff010200000000000000000000000000000000000102010aff01010aff010180000001d5c200340e100205c612000a0aff010180000003639b0030",
        v2(
            "10.255.1.2",
            Body::LsAck(vec![router_v2_header(), external.header]),
        ),
    );
    let intra = lsa(
        Version::V3,
        &format!("00012009000000010aff0101800000012e6b0038{INTRA_V3}"),
    );
    packet_both_ways(
        "030500240aff0102000000000000000000012009000000010aff0101800000012e6b0038",
        v3("10.255.1.2", "0.0.0.0", 0, Body::LsAck(vec![intra.header])),
    );
}

#[test]
fn link_state_update_v3() {
    let intra = lsa(
        Version::V3,
        &format!("00012009000000010aff0101800000012e6b0038{INTRA_V3}"),
    );
    packet_both_ways(
        &format!(
            "0304004c0aff010200000000000000000000000100012009000000010aff0101800000012e6b0038{INTRA_V3}"
        ),
        v3("10.255.1.2", "0.0.0.0", 0, Body::LsUpdate(vec![intra])),
    );
}

const HELLO_V2: &str = "020100300aff010200000000000000000000000000000000ffffff00000a0200000000280aff0101000000000aff0101";

fn hello_v2_packet(auth: AuthHeader) -> Packet {
    let mut p = Packet::decode(&hex::decode(HELLO_V2).unwrap()).unwrap();
    p.auth = auth;
    p
}

#[test]
fn null_authentication_seals_with_the_packet_checksum() {
    let sealed = "020100300aff010200000000d89a00000000000000000000ffffff00000a0200000000280aff0101000000000aff0101";
    assert_eq!(
        hex::encode(wire(&hello_v2_packet(AuthHeader::Null), None, None)),
        sealed
    );
    let bytes = hex::decode(sealed).unwrap();
    assert_eq!(auth::verify(&bytes, None), Ok(None));
    let mut bad = bytes.clone();
    bad[40] ^= 1;
    assert_eq!(
        auth::verify(&bad, None),
        Err(super::super::DecodeError::BadChecksum)
    );
}

#[test]
fn cryptographic_authentication_known_answers() {
    let key = |algorithm| AuthKey {
        algorithm,
        key_id: 7,
        key: b"vipd-secret".to_vec(),
    };
    let cases = [
        (
            Algorithm::Md5,
            "020100300aff0102000000000000000200000710000003e8ffffff00000a0200000000280aff0101000000000aff0101bcd272c8b9bebe3566d1e8e5895fbabf",
        ),
        (
            Algorithm::HmacSha1,
            "020100300aff0102000000000000000200000714000003e8ffffff00000a0200000000280aff0101000000000aff01013b88fbb50cecfc0d05b45a5b0527f782f6dcf5c5",
        ),
        (
            Algorithm::HmacSha256,
            "020100300aff0102000000000000000200000720000003e8ffffff00000a0200000000280aff0101000000000aff01017952564ef4a442ffd76bf810066d2ca1b57d10245d0ffa8458de8f1b83fed48d",
        ),
        (
            Algorithm::HmacSha384,
            "020100300aff0102000000000000000200000730000003e8ffffff00000a0200000000280aff0101000000000aff0101c34ce5274a0831fdf85efcc02d6e56d55f34aa5f1d21f43d4e493b355f90ac1768c52ab2090addc98234a06cf9eab7e0",
        ),
        (
            Algorithm::HmacSha512,
            "020100300aff0102000000000000000200000740000003e8ffffff00000a0200000000280aff0101000000000aff0101a5695ba1b9e982fdd84f58839f75a7957a3046da9c7d2e6dd403230a8f8256dfe71621d67506d0f4165d9d40addea7970037a8620828d3e329917a78867fe6c5",
        ),
    ];
    for (algorithm, expected) in cases {
        let k = key(algorithm);
        let packet = hello_v2_packet(AuthHeader::Crypto {
            key_id: 7,
            auth_len: algorithm.digest_len() as u8,
            seq: 1000,
        });
        let sealed = wire(&packet, Some(&k), None);
        assert_eq!(hex::encode(&sealed), expected, "{algorithm:?} seal");
        assert_eq!(
            auth::verify(&sealed, Some(&k)),
            Ok(Some(1000)),
            "{algorithm:?} verify"
        );
        assert_eq!(
            Packet::decode(&sealed).unwrap(),
            packet,
            "{algorithm:?} decode"
        );
    }
}

#[test]
fn an_hmac_key_longer_than_the_hash_is_hashed_first() {
    let k = AuthKey {
        algorithm: Algorithm::HmacSha1,
        key_id: 7,
        key: vec![b'k'; 40],
    };
    let packet = hello_v2_packet(AuthHeader::Crypto {
        key_id: 7,
        auth_len: 20,
        seq: 1000,
    });
    assert_eq!(
        hex::encode(wire(&packet, Some(&k), None)),
        "020100300aff0102000000000000000200000714000003e8ffffff00000a0200000000280aff0101000000000aff01015177527be34525974336a9c13b0243cd94e06245"
    );
}
