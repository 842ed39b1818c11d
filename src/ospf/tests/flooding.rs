//! Reliable flooding: acknowledgments, retransmission, MinLSArrival.

use std::net::Ipv4Addr;

use super::*;

fn full(network: NetworkType) -> (Lab, Peer) {
    let mut lab = Lab::new(Version::V2, network, VipLsa::External);
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.bring_up(&peer);
    // Let the deferred Router-LSA go out and be acknowledged.
    let out = lab.advance(secs(5));
    let headers: Vec<LsaHeader> = updates(&out).into_iter().map(|(_, l)| l.header).collect();
    lab.receive(&peer, Body::LsAck(headers));
    (lab, peer)
}

fn external(peer: &Peer, seq: u32, age: u16) -> Lsa {
    let h = LsaHeader {
        age,
        options: 2,
        ls_type: 5,
        lsid: Ipv4Addr::new(198, 18, 9, 9),
        adv_router: peer.rid,
        seq,
        checksum: 0,
        length: 0,
    };
    Lsa::build(
        Version::V2,
        h,
        &LsaBody::External(crate::ospf::wire::lsa_v2::ExternalLsa {
            mask: Ipv4Addr::BROADCAST,
            type2: true,
            metric: 20,
            forwarding: Ipv4Addr::UNSPECIFIED,
            tag: 0,
            tos: vec![],
        }),
    )
}

#[test]
fn a_new_lsa_is_installed_and_acknowledged_but_not_flooded_back() {
    let (mut lab, peer) = full(NetworkType::PointToPoint);
    let lsa = external(&peer, 0x8000_0001, 1);
    let out = lab.receive(&peer, Body::LsUpdate(vec![lsa.clone()]));
    assert_eq!(
        acks(&out),
        vec![(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 5)), lsa.header)]
    );
    assert!(
        updates(&out).is_empty(),
        "only one neighbor: nobody to flood to"
    );
    assert!(lab.inst.lsdb.iter().any(|(k, _)| k.key == lsa.key()));
}

#[test]
fn a_duplicate_gets_a_direct_ack() {
    let (mut lab, peer) = full(NetworkType::Broadcast);
    let lsa = external(&peer, 0x8000_0001, 1);
    lab.receive(&peer, Body::LsUpdate(vec![lsa.clone()]));
    let out = lab.receive(&peer, Body::LsUpdate(vec![lsa.clone()]));
    // Direct: unicast to the neighbor.
    assert_eq!(acks(&out), vec![(peer.addr, lsa.header)]);
}

#[test]
fn a_newer_instance_within_min_ls_arrival_is_discarded_without_ack() {
    let (mut lab, peer) = full(NetworkType::PointToPoint);
    lab.receive(&peer, Body::LsUpdate(vec![external(&peer, 0x8000_0001, 1)]));
    lab.advance(ms(500));
    let out = lab.receive(&peer, Body::LsUpdate(vec![external(&peer, 0x8000_0002, 1)]));
    assert!(acks(&out).is_empty());
    assert_eq!(dropped(&out), vec!["min_ls_arrival"]);
    lab.advance(ms(600));
    let out = lab.receive(&peer, Body::LsUpdate(vec![external(&peer, 0x8000_0002, 1)]));
    assert_eq!(acks(&out).len(), 1);
}

#[test]
fn an_older_instance_gets_our_newer_copy_back() {
    let (mut lab, peer) = full(NetworkType::PointToPoint);
    lab.receive(&peer, Body::LsUpdate(vec![external(&peer, 0x8000_0005, 1)]));
    lab.advance(secs(2));
    let out = lab.receive(&peer, Body::LsUpdate(vec![external(&peer, 0x8000_0003, 1)]));
    let back = updates(&out);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].1.header.seq, 0x8000_0005);
}

#[test]
fn our_lsa_is_retransmitted_every_rxmt_interval_until_acknowledged() {
    let (mut lab, peer) = full(NetworkType::PointToPoint);
    let out = lab.vips(&[("198.18.0.10/32", 1)]);
    let sent_once = updates(&out);
    assert_eq!(sent_once.len(), 1);
    let lsa = sent_once[0].1.clone();
    assert_eq!(
        (lsa.header.ls_type, lsa.header.lsid),
        (5, Ipv4Addr::new(198, 18, 0, 10))
    );
    assert!(updates(&lab.advance(ms(4900))).is_empty());
    let again = updates(&lab.advance(ms(200)));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].1.header.seq, lsa.header.seq);
    // An ack of that instance ends it.
    lab.receive(&peer, Body::LsAck(vec![lsa.header]));
    assert!(updates(&lab.advance(secs(20))).is_empty());
}

#[test]
fn an_ack_for_another_instance_does_not_end_retransmission() {
    let (mut lab, peer) = full(NetworkType::PointToPoint);
    let out = lab.vips(&[("198.18.0.10/32", 1)]);
    let mut h = updates(&out)[0].1.header;
    h.seq -= 1;
    lab.receive(&peer, Body::LsAck(vec![h]));
    assert_eq!(updates(&lab.advance(secs(6))).len(), 1);
    assert_eq!(lab.inst.stats.dropped.get("unexpected_ack"), Some(&1));
}

#[test]
fn a_neighbor_receiving_our_update_implicitly_acks_by_sending_it_back() {
    let (mut lab, peer) = full(NetworkType::PointToPoint);
    let out = lab.vips(&[("198.18.0.10/32", 1)]);
    let lsa = updates(&out)[0].1.clone();
    let out = lab.receive(&peer, Body::LsUpdate(vec![lsa]));
    assert!(acks(&out).is_empty(), "implied ack: no direct ack needed");
    assert!(updates(&lab.advance(secs(6))).is_empty());
}

#[test]
fn updates_learned_on_one_interface_are_flooded_to_adjacent_neighbors_on_the_others() {
    let mut cfg = iface_config(NetworkType::PointToPoint);
    let mut lab = Lab::with_interface(Version::V2, cfg.clone(), VipLsa::External);
    cfg.name = "eth2".into();
    lab.inst
        .ifaces
        .push(crate::ospf::interface::Interface::new(cfg, 1));
    lab.input(Input::InterfaceUp {
        iface: 1,
        addrs: InterfaceAddrs {
            ifindex: 8,
            mtu: 1500,
            ipv4: Some("10.255.2.2/24".parse().unwrap()),
            link_local: None,
            ipv6_prefixes: vec![],
        },
    });
    let a = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.bring_up(&a);
    let mut b = Peer::new(Version::V2, [10, 255, 0, 1], 1);
    b.lsas.clear();
    let data = b.seal(b.hello(&[ME]));
    let mut out = lab.inst.handle(
        lab.now,
        Input::Packet {
            iface: 1,
            src: "10.255.2.1".parse().unwrap(),
            dst: "224.0.0.5".parse().unwrap(),
            data: &data,
        },
    );
    let first = dds(&out).pop().unwrap();
    let data = b.seal(b.dd(0, first.seq, vec![]));
    out = lab.inst.handle(
        lab.now,
        Input::Packet {
            iface: 1,
            src: "10.255.2.1".parse().unwrap(),
            dst: "224.0.0.5".parse().unwrap(),
            data: &data,
        },
    );
    let next = dds(&out).pop().unwrap();
    let data = b.seal(b.dd(0, next.seq, vec![]));
    lab.inst.handle(
        lab.now,
        Input::Packet {
            iface: 1,
            src: "10.255.2.1".parse().unwrap(),
            dst: "224.0.0.5".parse().unwrap(),
            data: &data,
        },
    );
    assert_eq!(
        lab.inst.ifaces[1].neighbors.get(&b.rid).map(|n| n.state),
        Some(NbrState::Full)
    );
    let lsa = external(&a, 0x8000_0001, 1);
    let out = lab.receive(&a, Body::LsUpdate(vec![lsa.clone()]));
    let flooded: Vec<_> = out
        .iter()
        .filter(|o| matches!(o, Output::Send { iface: 1, .. }))
        .cloned()
        .collect();
    assert_eq!(updates(&flooded).len(), 1);
    assert_eq!(updates(&flooded)[0].1.header.age, 2, "age + InfTransDelay");
}

#[test]
fn many_lsas_flooded_by_one_input_go_out_packed_into_few_updates() {
    let (mut lab, _peer) = full(NetworkType::PointToPoint);
    let vips: Vec<(String, u32)> = (0..200)
        .map(|i| (format!("198.18.{}.{}/32", i / 250, i % 250 + 1), 1))
        .collect();
    let refs: Vec<(&str, u32)> = vips.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    let out = lab.vips(&refs);
    let packets = sent(&out)
        .into_iter()
        .filter(|(_, p)| matches!(p.body, Body::LsUpdate(_)))
        .count();
    assert_eq!(updates(&out).len(), 200);
    // 36 octets per AS-external LSA: about 40 per 1500-octet packet.
    assert!(packets <= 6, "{packets} LS Updates for 200 LSAs");
    for (_, p) in sent(&out) {
        assert!(p.encode().len() <= 1500 - 20, "a packet exceeds the MTU");
    }
}
