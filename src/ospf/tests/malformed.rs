//! Malformed or unauthenticated packets and LSAs are dropped and counted;
//! none of them changes any state.

use std::net::Ipv4Addr;

use super::*;
use crate::ospf::wire::auth::Algorithm;

fn full() -> (Lab, Peer) {
    let mut lab = Lab::new(Version::V2, NetworkType::PointToPoint, VipLsa::External);
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.bring_up(&peer);
    (lab, peer)
}

fn lsa(peer: &Peer, ls_type: u16, seq: u32) -> Lsa {
    let h = LsaHeader {
        age: 1,
        options: 2,
        ls_type,
        lsid: Ipv4Addr::new(198, 18, 9, 9),
        adv_router: peer.rid,
        seq,
        checksum: 0,
        length: 0,
    };
    Lsa::build(
        Version::V2,
        h,
        &LsaBody::Unknown(vec![
            255, 255, 255, 255, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0,
        ]),
    )
}

#[test]
fn a_packet_with_a_bad_checksum_is_dropped_and_counted() {
    let (mut lab, peer) = full();
    let mut data = peer.seal(peer.hello(&[ME]));
    data[30] ^= 0xff;
    let out = lab.receive_raw(&peer, &data);
    assert_eq!(dropped(&out), vec!["bad_checksum"]);
    assert_eq!(lab.inst.stats.dropped.get("bad_checksum"), Some(&1));
}

#[test]
fn bad_lengths_are_dropped_and_counted() {
    let (mut lab, peer) = full();
    let data = peer.seal(peer.hello(&[ME]));
    // Length field larger than the datagram.
    let mut long = data.clone();
    long[2..4].copy_from_slice(&200u16.to_be_bytes());
    // Truncated below the header.
    let short = data[..10].to_vec();
    for bad in [long, short] {
        let out = lab.receive_raw(&peer, &bad);
        assert_eq!(dropped(&out).len(), 1, "{out:?}");
    }
    assert_eq!(lab.state_of(&peer), Some(NbrState::Full));
}

#[test]
fn an_lsa_with_a_bad_fletcher_checksum_is_dropped_the_rest_of_the_update_is_processed() {
    let (mut lab, peer) = full();
    let good = lsa(&peer, 5, 0x8000_0001);
    let mut bad_raw = lsa(&peer, 5, 0x8000_0002).raw.to_vec();
    bad_raw[4] ^= 1; // Link State ID changed after sealing.
    let mut r = crate::ospf::wire::Reader::new(&bad_raw, "test");
    let bad = Lsa::decode(Version::V2, &mut r).unwrap();
    let out = lab.receive(&peer, Body::LsUpdate(vec![bad, good.clone()]));
    assert_eq!(dropped(&out), vec!["bad_lsa_checksum"]);
    assert_eq!(
        acks(&out).iter().map(|(_, h)| *h).collect::<Vec<_>>(),
        vec![good.header]
    );
}

#[test]
fn unknown_lsa_types_and_bogus_sequence_numbers_are_dropped() {
    let (mut lab, peer) = full();
    let out = lab.receive(
        &peer,
        Body::LsUpdate(vec![
            lsa(&peer, 7, 0x8000_0001),
            lsa(&peer, 200, 0x8000_0001),
            lsa(&peer, 5, 0x8000_0000),
        ]),
    );
    assert_eq!(
        dropped(&out),
        vec![
            "unknown_lsa_type",
            "unknown_lsa_type",
            "bogus_sequence_number"
        ]
    );
    assert!(acks(&out).is_empty());
    assert_eq!(lab.inst.stats.dropped.get("unknown_lsa_type"), Some(&2));
}

#[test]
fn an_unknown_packet_type_and_a_wrong_version_are_dropped() {
    let (mut lab, peer) = full();
    let mut data = peer.seal(peer.hello(&[ME]));
    data[1] = 9;
    assert!(!dropped(&lab.receive_raw(&peer, &data)).is_empty());
    let mut data = peer.seal(peer.hello(&[ME]));
    data[0] = 3;
    assert!(!dropped(&lab.receive_raw(&peer, &data)).is_empty());
}

#[test]
fn packets_from_another_area_are_dropped() {
    let (mut lab, peer) = full();
    let mut p = peer.packet(peer.hello(&[ME]));
    p.area_id = Ipv4Addr::new(0, 0, 0, 1);
    let mut data = p.encode();
    crate::ospf::wire::auth::seal(&mut data, None, 0);
    assert_eq!(
        dropped(&lab.receive_raw(&peer, &data)),
        vec!["area_mismatch"]
    );
}

#[test]
fn updates_from_a_neighbor_below_exchange_are_ignored() {
    let mut lab = Lab::new(Version::V2, NetworkType::PointToPoint, VipLsa::External);
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.receive(&peer, peer.hello(&[]));
    let out = lab.receive(&peer, Body::LsUpdate(vec![lsa(&peer, 5, 0x8000_0001)]));
    assert!(acks(&out).is_empty());
    assert!(
        !lab.inst
            .lsdb
            .iter()
            .any(|(k, _)| k.key.adv_router == peer.rid)
    );
}

fn authenticated(algorithm: Algorithm) -> (Lab, AuthKey) {
    let key = AuthKey {
        algorithm,
        key_id: 3,
        key: b"s3cret".to_vec(),
    };
    let mut cfg = iface_config(NetworkType::PointToPoint);
    cfg.auth = Some(key.clone());
    (Lab::with_interface(Version::V2, cfg, VipLsa::External), key)
}

#[test]
fn with_authentication_every_packet_vipd_sends_carries_a_digest_that_verifies() {
    for algorithm in [
        Algorithm::Md5,
        Algorithm::HmacSha1,
        Algorithm::HmacSha256,
        Algorithm::HmacSha384,
        Algorithm::HmacSha512,
    ] {
        let (mut lab, key) = authenticated(algorithm);
        let out = lab.advance(ms(1));
        let Some(Output::Send { data, .. }) = out.iter().find(|o| matches!(o, Output::Send { .. }))
        else {
            panic!()
        };
        assert_eq!(
            crate::ospf::wire::auth::verify(data, Some(&key)),
            Ok(Some(SEED + 1)),
            "{algorithm:?}"
        );
        let mut peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
        peer.auth = Some(key.clone());
        lab.receive(&peer, peer.hello(&[ME]));
        assert_eq!(
            lab.state_of(&peer),
            Some(NbrState::ExStart),
            "{algorithm:?}"
        );
    }
}

#[test]
fn wrong_key_wrong_key_id_or_no_authentication_never_forms_an_adjacency() {
    let (mut lab, key) = authenticated(Algorithm::HmacSha256);
    let mut wrong_key = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    wrong_key.auth = Some(AuthKey {
        key: b"guess".to_vec(),
        ..key.clone()
    });
    let mut wrong_id = Peer::new(Version::V2, [10, 255, 0, 8], 1);
    wrong_id.auth = Some(AuthKey {
        key_id: 4,
        ..key.clone()
    });
    let mut md5 = Peer::new(Version::V2, [10, 255, 0, 7], 1);
    md5.auth = Some(AuthKey {
        algorithm: Algorithm::Md5,
        ..key.clone()
    });
    let plain = Peer::new(Version::V2, [10, 255, 0, 6], 1);
    let mut reasons = Vec::new();
    for p in [&wrong_key, &wrong_id, &md5, &plain] {
        reasons.extend(dropped(&lab.receive(p, p.hello(&[ME]))));
        assert_eq!(lab.state_of(p), None);
    }
    assert_eq!(reasons, vec!["authentication"; 4]);
    assert_eq!(lab.inst.stats.dropped.get("authentication"), Some(&4));
}

#[test]
fn a_replayed_cryptographic_sequence_number_is_dropped() {
    let (mut lab, key) = authenticated(Algorithm::Md5);
    let mut peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    peer.auth = Some(key);
    peer.crypto_seq.set(100);
    let old = peer.seal(peer.hello(&[]));
    lab.receive(&peer, peer.hello(&[]));
    assert_eq!(
        dropped(&lab.receive_raw(&peer, &old)),
        vec!["authentication"]
    );
}

#[test]
fn every_kind_of_drop_is_counted_in_the_status_vipd_publishes() {
    let (mut lab, peer) = full();
    let before = lab.inst.status(lab.now);
    assert!(before.dropped.is_empty(), "{:?}", before.dropped);
    // A bad packet checksum.
    let mut bad_sum = peer.seal(peer.hello(&[ME]));
    bad_sum[30] ^= 0xff;
    lab.receive_raw(&peer, &bad_sum);
    // A length field longer than the datagram.
    let mut bad_len = peer.seal(peer.hello(&[ME]));
    bad_len[2..4].copy_from_slice(&200u16.to_be_bytes());
    lab.receive_raw(&peer, &bad_len);
    // An unknown LSA type and a bogus sequence number (0x80000000, RFC
    // 2328 12.1.6: reserved) in one update.
    lab.receive(
        &peer,
        Body::LsUpdate(vec![
            lsa(&peer, 200, 0x8000_0001),
            lsa(&peer, 5, 0x8000_0000),
        ]),
    );
    let after = lab.inst.status(lab.now);
    let count = |reason: &str| after.dropped.get(reason).copied().unwrap_or(0);
    assert_eq!(count("bad_checksum"), 1, "{:?}", after.dropped);
    assert_eq!(count("bad_length"), 1, "{:?}", after.dropped);
    assert_eq!(count("unknown_lsa_type"), 1, "{:?}", after.dropped);
    assert_eq!(count("bogus_sequence_number"), 1, "{:?}", after.dropped);
    // Nothing else changed: the neighbor is still Full, the LSAs were not
    // installed, and the packets were received (and counted) as packets.
    assert_eq!(lab.state_of(&peer), Some(NbrState::Full));
    assert_eq!(
        after
            .neighbors
            .iter()
            .map(|n| (n.router_id, n.state.as_str()))
            .collect::<Vec<_>>(),
        vec![(peer.rid, "Full")]
    );
    assert_eq!(after.lsas, before.lsas);
    assert!(after.packets_received > before.packets_received);
}
