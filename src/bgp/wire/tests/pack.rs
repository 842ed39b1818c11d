//! Packing: the fewest UPDATEs of at most 4096 octets, each decoding back,
//! together carrying exactly the input.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::super::*;
use super::{FOUR_OCTET, FOUR_OCTET_ENH};

fn attrs() -> Vec<PathAttribute> {
    vec![
        // Deliberately out of type order: pack sorts them.
        PathAttribute::Communities(vec![Community::new(65001, 100)]),
        PathAttribute::AsPath(AsPath::sequence(vec![65001])),
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::MultiExitDisc(0),
    ]
}

fn v4_hosts(n: u32) -> Vec<IpNet> {
    (0..n)
        .map(|i| IpNet::V4(ipnet::Ipv4Net::new(Ipv4Addr::from(0xC633_0000 + i), 32).unwrap()))
        .collect()
}

fn v6_hosts(n: u32) -> Vec<IpNet> {
    (0..n)
        .map(|i| {
            let a = Ipv6Addr::from(0x2001_0db8_0000_0000_0000_0000_0000_0000u128 + u128::from(i));
            IpNet::V6(ipnet::Ipv6Net::new(a, 128).unwrap())
        })
        .collect()
}

fn encoded_len(attrs: &[PathAttribute], opts: DecodeOptions) -> usize {
    let mut b = bytes::BytesMut::new();
    for a in attrs {
        a.encode(opts, &mut b);
    }
    b.len()
}

/// Decodes every message and checks size, cleanliness and that nothing
/// else but the expected attributes came along.
fn decode_all(msgs: &[bytes::Bytes], opts: DecodeOptions) -> Vec<Update> {
    msgs.iter()
        .map(|m| {
            assert!(m.len() <= MAX_MESSAGE_LEN, "{} octets", m.len());
            match decode_message(m, opts).unwrap() {
                Message::Update(u) => {
                    assert_eq!(u.errors, vec![]);
                    u
                }
                other => panic!("not an UPDATE: {other:?}"),
            }
        })
        .collect()
}

#[test]
fn thousand_ipv4_hosts_pack_into_the_fewest_updates() {
    let prefixes = v4_hosts(1000);
    let nh = Ipv4Addr::new(192, 0, 2, 1);
    let msgs = pack_announce(
        &attrs(),
        Family::Ipv4Unicast,
        IpAddr::V4(nh),
        &prefixes,
        FOUR_OCTET,
    );

    // Per message: header, two length fields, the attributes with NEXT_HOP
    // (7 octets), then 5 octets per /32.
    let fixed = HEADER_LEN + 4 + encoded_len(&attrs(), FOUR_OCTET) + 7;
    let per_msg = (MAX_MESSAGE_LEN - fixed) / 5;
    assert_eq!(msgs.len(), 1000usize.div_ceil(per_msg));
    assert_eq!(msgs.len(), 2);

    let updates = decode_all(&msgs, FOUR_OCTET);
    let mut seen = BTreeSet::new();
    for u in &updates {
        let types: Vec<u8> = u.attributes.iter().map(|a| a.type_code()).collect();
        assert_eq!(
            types,
            vec![1, 2, 3, 4, 8],
            "type-code order with NEXT_HOP added"
        );
        assert_eq!(u.next_hop(), Some(nh));
        for p in u.announced() {
            assert!(seen.insert(p), "{p} announced twice");
        }
    }
    assert_eq!(seen, prefixes.iter().copied().collect());
    // Every message but the last is full: not one more prefix would fit.
    for m in &msgs[..msgs.len() - 1] {
        assert!(m.len() + 5 > MAX_MESSAGE_LEN);
    }
}

#[test]
fn thousand_ipv6_hosts_pack_into_mp_reach() {
    let prefixes = v6_hosts(1000);
    let nh: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let msgs = pack_announce(
        &attrs(),
        Family::Ipv6Unicast,
        IpAddr::V6(nh),
        &prefixes,
        FOUR_OCTET,
    );
    // MP_REACH header 4 + AFI/SAFI 3 + next hop 17 + reserved 1; 17 per /128.
    let fixed = HEADER_LEN + 4 + encoded_len(&attrs(), FOUR_OCTET) + 4 + 3 + 17 + 1;
    let per_msg = (MAX_MESSAGE_LEN - fixed) / 17;
    assert_eq!(msgs.len(), 1000usize.div_ceil(per_msg));
    let updates = decode_all(&msgs, FOUR_OCTET);
    let mut seen = BTreeSet::new();
    for u in &updates {
        // RFC 7606 5.1: MP_REACH_NLRI first, then type-code order.
        let types: Vec<u8> = u.attributes.iter().map(|a| a.type_code()).collect();
        assert_eq!(types, vec![14, 1, 2, 4, 8]);
        let mp = u.mp_reach().unwrap();
        assert_eq!(
            mp.next_hop,
            MpNextHop::Ipv6 {
                global: nh,
                link_local: None
            }
        );
        assert_eq!(u.nlri, vec![]);
        seen.extend(u.announced());
    }
    assert_eq!(seen, prefixes.iter().copied().collect());
    for m in &msgs[..msgs.len() - 1] {
        assert!(m.len() + 17 > MAX_MESSAGE_LEN);
    }
}

#[test]
fn ipv4_hosts_with_ipv6_next_hop_use_rfc8950() {
    let prefixes = v4_hosts(3);
    let nh: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let msgs = pack_announce(
        &attrs(),
        Family::Ipv4Unicast,
        IpAddr::V6(nh),
        &prefixes,
        FOUR_OCTET_ENH,
    );
    assert_eq!(msgs.len(), 1);
    let u = &decode_all(&msgs, FOUR_OCTET_ENH)[0];
    let mp = u.mp_reach().unwrap();
    assert_eq!((mp.afi, mp.safi), (Afi::Ipv4, Safi::Unicast));
    assert_eq!(u.next_hop(), None);
    assert_eq!(u.announced().collect::<Vec<_>>(), prefixes);
}

#[test]
fn ipv6_hosts_with_ipv4_next_hop_use_the_mapped_address() {
    let prefixes = v6_hosts(2);
    let msgs = pack_announce(
        &attrs(),
        Family::Ipv6Unicast,
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        &prefixes,
        FOUR_OCTET,
    );
    let u = &decode_all(&msgs, FOUR_OCTET)[0];
    let expected: Ipv6Addr = "::ffff:192.0.2.1".parse().unwrap();
    assert_eq!(
        u.mp_reach().unwrap().next_hop,
        MpNextHop::Ipv6 {
            global: expected,
            link_local: None
        }
    );
}

#[test]
fn link_local_next_hop_variant() {
    let nh = MpNextHop::Ipv6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: Some("fe80::1".parse().unwrap()),
    };
    let msgs =
        pack_announce_with_next_hop(&attrs(), Family::Ipv6Unicast, &nh, &v6_hosts(1), FOUR_OCTET);
    let u = &decode_all(&msgs, FOUR_OCTET)[0];
    assert_eq!(u.mp_reach().unwrap().next_hop, nh);
}

#[test]
fn withdrawals_pack_into_the_fewest_updates() {
    let v4 = v4_hosts(1000);
    let msgs = pack_withdraw(Family::Ipv4Unicast, &v4, FOUR_OCTET);
    assert_eq!(msgs.len(), 5000usize.div_ceil(MAX_MESSAGE_LEN - 23));
    let got: BTreeSet<IpNet> = decode_all(&msgs, FOUR_OCTET)
        .iter()
        .flat_map(|u| u.withdrawn_all().collect::<Vec<_>>())
        .collect();
    assert_eq!(got, v4.iter().copied().collect());

    let v6 = v6_hosts(1000);
    let msgs = pack_withdraw(Family::Ipv6Unicast, &v6, FOUR_OCTET);
    assert_eq!(
        msgs.len(),
        17000usize.div_ceil(MAX_MESSAGE_LEN - 23 - 4 - 3)
    );
    let updates = decode_all(&msgs, FOUR_OCTET);
    assert!(updates.iter().all(|u| u.is_end_of_rib().is_none()));
    let got: BTreeSet<IpNet> = updates
        .iter()
        .flat_map(|u| u.withdrawn_all().collect::<Vec<_>>())
        .collect();
    assert_eq!(got, v6.iter().copied().collect());
}

#[test]
fn nothing_to_pack_gives_no_messages_and_other_families_are_skipped() {
    assert!(pack_withdraw(Family::Ipv4Unicast, &[], FOUR_OCTET).is_empty());
    assert!(
        pack_announce(
            &attrs(),
            Family::Ipv4Unicast,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            &v6_hosts(3),
            FOUR_OCTET
        )
        .is_empty()
    );
}

#[test]
fn nlri_carrying_attributes_given_by_the_caller_are_ignored() {
    let mut a = attrs();
    a.push(PathAttribute::NextHop(Ipv4Addr::new(1, 1, 1, 1)));
    let msgs = pack_announce(
        &a,
        Family::Ipv4Unicast,
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        &v4_hosts(1),
        FOUR_OCTET,
    );
    let u = &decode_all(&msgs, FOUR_OCTET)[0];
    assert_eq!(u.next_hop(), Some(Ipv4Addr::new(192, 0, 2, 1)));
}

#[test]
fn long_mp_reach_uses_extended_length_and_short_does_not() {
    let nh = IpAddr::V6("2001:db8::1".parse().unwrap());
    let one = pack_announce(&[], Family::Ipv6Unicast, nh, &v6_hosts(1), FOUR_OCTET);
    // header, withdrawn len, attr len, then MP_REACH flags 0x80 (no E bit).
    assert_eq!(one[0][23], 0x80);
    let many = pack_announce(&[], Family::Ipv6Unicast, nh, &v6_hosts(20), FOUR_OCTET);
    assert_eq!(many[0][23], 0x90);
}
