//! Hello, the neighbor state machine and the Database Exchange.

use std::net::Ipv4Addr;

use super::*;
use crate::ospf::wire::iana::link_type;
use crate::ospf::wire::lsa_v2::RouterLsa;

fn p2p() -> Lab {
    Lab::new(Version::V2, NetworkType::PointToPoint, VipLsa::External)
}

#[test]
fn the_first_hello_goes_out_at_once_and_then_every_hello_interval() {
    let mut lab = p2p();
    let out = lab.advance(ms(1));
    let h = hellos(&out);
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].priority, h[0].hello_interval, h[0].dead_interval),
        (0, 10, 40)
    );
    assert_eq!(h[0].network_mask, Ipv4Addr::new(255, 255, 255, 0));
    assert_eq!(h[0].options, options::V2_E);
    assert_eq!(hellos(&lab.advance(secs(10))).len(), 1);
    assert_eq!(hellos(&lab.advance(secs(30))).len(), 3);
}

#[test]
fn hello_then_two_way_then_exstart_with_an_empty_init_master_dd() {
    let mut lab = p2p();
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.receive(&peer, peer.hello(&[]));
    assert_eq!(lab.state_of(&peer), Some(NbrState::Init));
    // Our next Hello lists the neighbor.
    let h = hellos(&lab.advance(secs(10)));
    assert_eq!(h.last().unwrap().neighbors, vec![peer.rid]);
    let out = lab.receive(&peer, peer.hello(&[ME]));
    assert_eq!(lab.state_of(&peer), Some(NbrState::ExStart));
    let dd = dds(&out);
    assert_eq!(dd.len(), 1);
    assert_eq!(dd[0].flags, DdFlags(DdFlags::I | DdFlags::M | DdFlags::MS));
    assert!(dd[0].headers.is_empty());
    assert_eq!(dd[0].mtu, 1500);
    // Point-to-point: to AllSPFRouters.
    assert_eq!(sent(&out)[0].0, IpAddr::V4(Ipv4Addr::new(224, 0, 0, 5)));
}

#[test]
fn exchange_as_slave_reaches_full_and_lists_the_neighbor_in_the_router_lsa() {
    let mut lab = p2p();
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    let mut out = lab.receive(&peer, peer.hello(&[ME]));
    out.extend(lab.receive(
        &peer,
        peer.dd(DdFlags::I | DdFlags::M | DdFlags::MS, 5000, vec![]),
    ));
    assert_eq!(lab.state_of(&peer), Some(NbrState::Exchange));
    // The slave echoes the master's sequence number and describes its
    // database (the Router-LSA) without I and MS.
    let reply = dds(&out).pop().unwrap();
    assert_eq!((reply.seq, reply.flags), (5000, DdFlags(0)));
    assert_eq!(reply.headers.len(), 1);
    assert_eq!(reply.headers[0].adv_router, ME);

    let headers = peer.lsas.iter().map(|l| l.header).collect();
    let out = lab.receive(&peer, peer.dd(DdFlags::MS, 5001, headers));
    assert_eq!(lab.state_of(&peer), Some(NbrState::Loading));
    assert_eq!(dds(&out).pop().unwrap().seq, 5001);
    let req = requests(&out);
    assert_eq!(req.len(), 1);
    assert_eq!(req[0].adv_router, peer.rid);

    let out = lab.receive(&peer, Body::LsUpdate(peer.lsas.clone()));
    assert_eq!(lab.state_of(&peer), Some(NbrState::Full));
    // The update is acknowledged (delayed ack, to AllSPFRouters).
    assert_eq!(acks(&out).len(), 1);
    // The Router-LSA was originated at start, so the new one waits for
    // MinLSInterval.
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, Event::OriginationDeferred { .. }))
    );
    let out = lab.advance(secs(5));
    let (_, body) = own(&lab, 1, ME).unwrap();
    let LsaBody::Router(RouterLsa { flags, links }) = body else {
        panic!()
    };
    assert_eq!(flags & 0x80, 0x80, "H-bit");
    assert_eq!(
        flags & 0x02,
        0x02,
        "E-bit: vipd originates AS-external LSAs"
    );
    let p2p: Vec<_> = links
        .iter()
        .filter(|l| l.link_type == link_type::POINT_TO_POINT)
        .collect();
    assert_eq!(p2p.len(), 1);
    assert_eq!(
        (p2p[0].link_id, p2p[0].metric),
        (peer.rid, 0xffff),
        "RFC 6987 MaxLinkMetric"
    );
    let stub: Vec<_> = links
        .iter()
        .filter(|l| l.link_type == link_type::STUB)
        .collect();
    assert_eq!(
        (stub[0].link_id, stub[0].metric),
        (Ipv4Addr::new(10, 255, 1, 0), 10)
    );
    // And it is flooded to the neighbor.
    assert!(
        updates(&out)
            .iter()
            .any(|(_, l)| l.header.ls_type == 1 && l.header.adv_router == ME)
    );
}

#[test]
fn exchange_as_master_reaches_full() {
    let mut lab = p2p();
    let mut peer = Peer::new(Version::V2, [10, 255, 0, 1], 1);
    peer.lsas.clear();
    let out = lab.bring_up(&peer);
    let sent_dds = dds(&out);
    // Initial I|M|MS, then MS with our headers, no M: two packets.
    assert!(sent_dds[0].flags.init() && sent_dds[0].flags.master());
    assert!(!sent_dds[1].flags.init() && sent_dds[1].flags.master() && !sent_dds[1].flags.more());
    assert_eq!(sent_dds[1].seq, sent_dds[0].seq + 1);
}

#[test]
fn a_slave_answers_a_duplicate_dd_with_its_last_one() {
    let mut lab = p2p();
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.receive(&peer, peer.hello(&[ME]));
    let first = lab.receive(
        &peer,
        peer.dd(DdFlags::I | DdFlags::M | DdFlags::MS, 5000, vec![]),
    );
    let again = lab.receive(
        &peer,
        peer.dd(DdFlags::I | DdFlags::M | DdFlags::MS, 5000, vec![]),
    );
    assert_eq!(dds(&first), dds(&again));
    assert_eq!(lab.state_of(&peer), Some(NbrState::Exchange));
}

#[test]
fn an_out_of_sequence_dd_is_a_seq_number_mismatch_back_to_exstart() {
    let mut lab = p2p();
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.receive(&peer, peer.hello(&[ME]));
    lab.receive(
        &peer,
        peer.dd(DdFlags::I | DdFlags::M | DdFlags::MS, 5000, vec![]),
    );
    let out = lab.receive(&peer, peer.dd(DdFlags::MS, 5007, vec![]));
    assert_eq!(lab.state_of(&peer), Some(NbrState::ExStart));
    assert!(events(&out).iter().any(|e| matches!(
        e,
        Event::NeighborState {
            event: crate::ospf::neighbor::NbrEvent::SeqNumberMismatch,
            ..
        }
    )));
    // A fresh initial DD with a new sequence number.
    let dd = dds(&out).pop().unwrap();
    assert!(dd.flags.init());
}

#[test]
fn the_master_retransmits_its_dd_every_rxmt_interval_until_answered() {
    let mut lab = p2p();
    let peer = Peer::new(Version::V2, [10, 255, 0, 1], 1);
    let first = dds(&lab.receive(&peer, peer.hello(&[ME]))).pop().unwrap();
    assert!(dds(&lab.advance(ms(4900))).is_empty());
    let again = dds(&lab.advance(ms(200)));
    assert_eq!(
        again,
        vec![first.clone()],
        "same packet, same sequence number"
    );
    assert_eq!(dds(&lab.advance(secs(5))).len(), 1);
    // Once answered, retransmission stops.
    lab.receive(&peer, peer.dd(0, first.seq, vec![]));
    let next = dds(&lab.advance(ms(1))).len();
    assert_eq!(next, 0);
}

#[test]
fn a_dd_with_a_larger_mtu_is_rejected_and_the_adjacency_stays_in_exstart() {
    let mut lab = p2p();
    let mut peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    peer.mtu = 9000;
    lab.receive(&peer, peer.hello(&[ME]));
    let out = lab.receive(
        &peer,
        peer.dd(DdFlags::I | DdFlags::M | DdFlags::MS, 5000, vec![]),
    );
    assert_eq!(dropped(&out), vec!["mtu_mismatch"]);
    assert_eq!(lab.state_of(&peer), Some(NbrState::ExStart));
    assert_eq!(lab.inst.stats.dropped.get("mtu_mismatch"), Some(&1));
    // A smaller MTU is fine (RFC 2328 10.6 only refuses larger).
    peer.mtu = 1400;
    lab.receive(
        &peer,
        peer.dd(DdFlags::I | DdFlags::M | DdFlags::MS, 5000, vec![]),
    );
    assert_eq!(lab.state_of(&peer), Some(NbrState::Exchange));
}

#[test]
fn silence_for_the_dead_interval_kills_the_neighbor() {
    let mut lab = p2p();
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.bring_up(&peer);
    lab.advance(secs(39));
    assert_eq!(lab.state_of(&peer), Some(NbrState::Full));
    let out = lab.advance(secs(2));
    assert_eq!(lab.state_of(&peer), None);
    assert!(events(&out).iter().any(|e| matches!(
        e,
        Event::NeighborState {
            to: NbrState::Down,
            event: crate::ospf::neighbor::NbrEvent::InactivityTimer,
            ..
        }
    )));
    // The Router-LSA drops the point-to-point link again.
    lab.advance(secs(5));
    let (_, LsaBody::Router(r)) = own(&lab, 1, ME).unwrap() else {
        panic!()
    };
    assert!(
        r.links
            .iter()
            .all(|l| l.link_type != link_type::POINT_TO_POINT)
    );
}

#[test]
fn a_hello_without_us_is_one_way_and_drops_the_adjacency() {
    let mut lab = p2p();
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.bring_up(&peer);
    lab.receive(&peer, peer.hello(&[]));
    assert_eq!(lab.state_of(&peer), Some(NbrState::Init));
}

#[test]
fn mismatched_hello_parameters_are_dropped_and_counted() {
    let mut lab = Lab::new(Version::V2, NetworkType::Broadcast, VipLsa::External);
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    for (change, reason) in [
        (
            (|h: &mut Hello| h.hello_interval = 1) as fn(&mut Hello),
            "hello_interval_mismatch",
        ),
        (
            |h: &mut Hello| h.dead_interval = 4,
            "dead_interval_mismatch",
        ),
        (
            |h: &mut Hello| h.network_mask = Ipv4Addr::new(255, 255, 0, 0),
            "hello_mask_mismatch",
        ),
        (|h: &mut Hello| h.options = 0, "options_mismatch"),
    ] {
        let Body::Hello(mut h) = peer.hello(&[]) else {
            panic!()
        };
        change(&mut h);
        let out = lab.receive(&peer, Body::Hello(h));
        assert_eq!(dropped(&out), vec![reason]);
        assert_eq!(lab.state_of(&peer), None);
    }
}

#[test]
fn on_broadcast_vipd_is_dr_other_and_adjacent_only_to_the_dr_and_bdr() {
    let mut lab = Lab::new(Version::V2, NetworkType::Broadcast, VipLsa::External);
    assert_eq!(
        lab.inst.ifaces[0].state,
        crate::ospf::interface::IfState::DrOther
    );
    let mut dr = Peer::new(Version::V2, [10, 255, 0, 1], 1);
    dr.dr = dr.id();
    let mut other = Peer::new(Version::V2, [10, 255, 0, 3], 3);
    other.dr = dr.id();
    lab.receive(&other, other.hello(&[ME]));
    // No DR known yet: the candidate "other" is BDR and DR by election.
    lab.receive(&dr, dr.hello(&[ME]));
    assert_eq!(lab.inst.ifaces[0].dr, dr.id());
    assert_eq!(lab.inst.ifaces[0].bdr, other.id());
    assert_eq!(lab.state_of(&dr), Some(NbrState::ExStart));
    assert_eq!(lab.state_of(&other), Some(NbrState::ExStart), "the BDR too");
    // A third router, neither DR nor BDR, stays at 2-Way.
    let mut third = Peer::new(Version::V2, [10, 255, 0, 4], 4);
    third.dr = dr.id();
    third.bdr = other.id();
    third.priority = 0;
    let out = lab.receive(&third, third.hello(&[ME]));
    assert_eq!(lab.state_of(&third), Some(NbrState::TwoWay));
    assert!(dds(&out).is_empty());
    // vipd's Hello names the DR and BDR it learned, with priority 0.
    let h = hellos(&lab.advance(secs(10))).pop().unwrap();
    assert_eq!((h.priority, h.dr, h.bdr), (0, dr.id(), other.id()));
    // DDs go unicast to the DR on broadcast links.
    let out = lab.advance(secs(5));
    assert!(
        sent(&out)
            .iter()
            .any(|(dst, p)| *dst == dr.addr && matches!(p.body, Body::DbDesc(_)))
    );
}

#[test]
fn a_dr_change_re_decides_adjacencies() {
    let mut lab = Lab::new(Version::V2, NetworkType::Broadcast, VipLsa::External);
    let mut a = Peer::new(Version::V2, [10, 255, 0, 1], 1);
    a.dr = a.id();
    let mut b = Peer::new(Version::V2, [10, 255, 0, 3], 3);
    b.dr = a.id();
    b.bdr = b.id();
    let mut c = Peer::new(Version::V2, [10, 255, 0, 4], 4);
    c.dr = a.id();
    c.bdr = b.id();
    for p in [&a, &b, &c] {
        lab.receive(p, p.hello(&[ME]));
    }
    assert_eq!(lab.state_of(&c), Some(NbrState::TwoWay));
    // a dies; b takes over as DR and c becomes BDR.
    lab.advance(secs(35));
    b.dr = b.id();
    b.bdr = c.id();
    c.dr = b.id();
    c.bdr = c.id();
    lab.receive(&b, b.hello(&[ME]));
    lab.receive(&c, c.hello(&[ME]));
    lab.advance(secs(6));
    assert_eq!(lab.state_of(&a), None);
    assert_eq!(
        (lab.inst.ifaces[0].dr, lab.inst.ifaces[0].bdr),
        (b.id(), c.id())
    );
    assert_eq!(lab.state_of(&c), Some(NbrState::ExStart));
}

#[test]
fn a_database_larger_than_one_packet_is_described_over_several_dds_as_slave() {
    let mut lab = p2p();
    // 200 VIPs: 200 AS-external LSAs plus the Router-LSA, about three
    // Database Descriptions at MTU 1500 (72 headers each).
    let vips: Vec<(String, u32)> = (0..200)
        .map(|i| (format!("198.18.{}.{}/32", i / 250, i % 250 + 1), 1))
        .collect();
    let refs: Vec<(&str, u32)> = vips.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    lab.vips(&refs);
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.receive(&peer, peer.hello(&[ME]));
    let mut seq = 7000;
    let mut described = 0;
    let mut out = lab.receive(
        &peer,
        peer.dd(DdFlags::I | DdFlags::M | DdFlags::MS, seq, vec![]),
    );
    let mut rounds = 0;
    loop {
        let reply = dds(&out).pop().expect("the slave answers every DD");
        assert_eq!(reply.seq, seq, "echoes the master's sequence number");
        assert!(
            reply.headers.len() <= 72,
            "{} headers do not fit MTU 1500",
            reply.headers.len()
        );
        described += reply.headers.len();
        rounds += 1;
        seq += 1;
        if !reply.flags.more() {
            // The master has nothing more either: the exchange ends.
            out = lab.receive(
                &peer,
                peer.dd(
                    DdFlags::MS,
                    seq,
                    peer.lsas.iter().map(|l| l.header).collect(),
                ),
            );
            break;
        }
        out = lab.receive(&peer, peer.dd(DdFlags::M | DdFlags::MS, seq, vec![]));
        assert!(rounds < 10);
    }
    assert_eq!(described, 201);
    assert!(rounds >= 3, "{rounds} rounds");
    assert_eq!(lab.state_of(&peer), Some(NbrState::Loading));
    lab.receive(&peer, Body::LsUpdate(peer.lsas.clone()));
    assert_eq!(lab.state_of(&peer), Some(NbrState::Full));
    let _ = out;
}

#[test]
fn an_unanswered_ls_request_is_repeated_every_rxmt_interval() {
    let mut lab = p2p();
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.receive(&peer, peer.hello(&[ME]));
    lab.receive(
        &peer,
        peer.dd(DdFlags::I | DdFlags::M | DdFlags::MS, 5000, vec![]),
    );
    let out = lab.receive(
        &peer,
        peer.dd(
            DdFlags::MS,
            5001,
            peer.lsas.iter().map(|l| l.header).collect(),
        ),
    );
    assert_eq!(requests(&out).len(), 1);
    assert!(requests(&lab.advance(ms(4900))).is_empty());
    assert_eq!(requests(&lab.advance(ms(200))).len(), 1);
    assert_eq!(lab.state_of(&peer), Some(NbrState::Loading));
}

#[test]
fn a_request_for_an_lsa_we_do_not_have_is_bad_ls_req_back_to_exstart() {
    let mut lab = p2p();
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.bring_up(&peer);
    let out = lab.receive(
        &peer,
        Body::LsRequest(vec![LsRequest {
            ls_type: 5,
            lsid: Ipv4Addr::new(198, 18, 99, 99),
            adv_router: ME,
        }]),
    );
    assert_eq!(dropped(&out), vec!["bad_ls_request"]);
    assert_eq!(lab.state_of(&peer), Some(NbrState::ExStart));
}

#[test]
fn a_request_is_answered_with_the_lsa_aged_by_inf_trans_delay() {
    let mut lab = p2p();
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.bring_up(&peer);
    lab.advance(secs(3));
    let out = lab.receive(
        &peer,
        Body::LsRequest(vec![LsRequest {
            ls_type: 1,
            lsid: ME,
            adv_router: ME,
        }]),
    );
    let sent = updates(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.header.age, 3 + 1);
}
