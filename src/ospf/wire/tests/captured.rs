//! Packets captured from FRR 8.4 (ospfd, ospf6d) and BIRD 2.0 talking to each
//! other (`src/ospf/wire/testdata/captured.hex`, written by
//! `proto-tests/tools/capture_ospf_vectors.sh`).
//!
//! Every packet must pass its checksum or digest, decode, and re-encode to the
//! same octets; every LSA in every LS Update must pass its Fletcher checksum,
//! and its body must decode and re-encode to the same octets.

use std::net::{IpAddr, Ipv6Addr};

use super::super::auth::{self, Algorithm, AuthKey};
use super::super::lsa::LsaBody;
use super::super::{Body, Packet, Version, checksum};
use super::wire;

const CAPTURED: &str = include_str!("../testdata/captured.hex");

struct Vector {
    comment: String,
    src: IpAddr,
    dst: IpAddr,
    bytes: Vec<u8>,
}

fn vectors() -> Vec<Vector> {
    let mut out = Vec::new();
    let mut comment = String::new();
    for line in CAPTURED.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix('#') {
            comment = c.trim().to_string();
        } else if !line.is_empty() {
            let words: Vec<&str> = comment.split_whitespace().collect();
            let at = |k: &str| {
                let i = words
                    .iter()
                    .position(|w| *w == k)
                    .unwrap_or_else(|| panic!("{comment}: no {k}"));
                words[i + 1]
                    .parse::<IpAddr>()
                    .unwrap_or_else(|e| panic!("{comment}: {e}"))
            };
            out.push(Vector {
                src: at("src"),
                dst: at("dst"),
                bytes: hex::decode(line).unwrap_or_else(|e| panic!("{comment}: {e}")),
                comment: comment.clone(),
            });
        }
    }
    out
}

/// The keys the capture script configured.
fn key_for(comment: &str) -> Option<AuthKey> {
    if comment.contains(" md5 ") {
        Some(AuthKey {
            algorithm: Algorithm::Md5,
            key_id: 1,
            key: b"vipdtest".to_vec(),
        })
    } else if comment.contains("hmac-sha-256") {
        Some(AuthKey {
            algorithm: Algorithm::HmacSha256,
            key_id: 2,
            key: b"vipdtest".to_vec(),
        })
    } else {
        None
    }
}

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => panic!("{a} in an OSPFv3 vector"),
    }
}

#[test]
fn every_captured_packet_verifies_decodes_and_reencodes_octet_for_octet() {
    let all = vectors();
    assert!(all.len() >= 60, "only {} vectors", all.len());
    for v in &all {
        let key = key_for(&v.comment);
        let packet = Packet::decode(&v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.comment));
        let addrs = match packet.version {
            Version::V2 => {
                auth::verify(&v.bytes, key.as_ref())
                    .unwrap_or_else(|e| panic!("{}: {e}", v.comment));
                None
            }
            Version::V3 => {
                let (src, dst) = (v6(v.src), v6(v.dst));
                let field = u16::from_be_bytes([v.bytes[12], v.bytes[13]]);
                assert_eq!(
                    checksum::ospfv3_packet(src, dst, &v.bytes),
                    field,
                    "{}",
                    v.comment
                );
                Some((src, dst))
            }
        };
        assert_eq!(wire(&packet, key.as_ref(), addrs), v.bytes, "{}", v.comment);
    }
}

#[test]
fn every_captured_lsa_passes_its_checksum_and_its_body_round_trips() {
    let mut types = std::collections::BTreeSet::new();
    for v in vectors() {
        let packet = Packet::decode(&v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.comment));
        let Body::LsUpdate(lsas) = &packet.body else {
            continue;
        };
        for lsa in lsas {
            let what = format!("{}: {}", v.comment, lsa.key());
            lsa.validate(packet.version)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let body = lsa
                .decode_body(packet.version)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(!matches!(body, LsaBody::Unknown(_)), "{what}: not decoded");
            let mut again = Vec::new();
            body.encode(&mut again);
            assert_eq!(again, lsa.body(), "{what}");
            types.insert((packet.version, lsa.header.ls_type));
        }
    }
    // Router, Network and AS-external LSAs of both versions, Link and
    // Intra-Area-Prefix LSAs of OSPFv3.
    for t in [
        (Version::V2, 1),
        (Version::V2, 2),
        (Version::V2, 5),
        (Version::V3, 0x2001),
        (Version::V3, 0x2002),
        (Version::V3, 0x4005),
        (Version::V3, 0x0008),
        (Version::V3, 0x2009),
    ] {
        assert!(types.contains(&t), "no captured LSA of type {t:?}");
    }
}

#[test]
fn a_captured_digest_fails_with_the_wrong_key_or_key_id() {
    for v in vectors().iter().filter(|v| key_for(&v.comment).is_some()) {
        let Some(mut key) = key_for(&v.comment) else {
            continue;
        };
        key.key = b"wrongkey".to_vec();
        assert!(auth::verify(&v.bytes, Some(&key)).is_err(), "{}", v.comment);
        let Some(mut key) = key_for(&v.comment) else {
            continue;
        };
        key.key_id ^= 0x80;
        assert!(auth::verify(&v.bytes, Some(&key)).is_err(), "{}", v.comment);
        assert!(
            auth::verify(&v.bytes, None).is_err(),
            "{}: accepted without a key",
            v.comment
        );
    }
}
