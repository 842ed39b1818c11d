//! VIPs as LSAs: origination, withdrawal, MinLSInterval, shutdown.

use std::net::Ipv4Addr;

use super::*;
use crate::ospf::wire::iana::constants::{MAX_AGE, MIN_LS_INTERVAL};
use crate::ospf::wire::iana::link_type;
use crate::ospf::wire::lsa_v2::{ExternalLsa, RouterLsa};

fn full(vip_lsa: VipLsa) -> (Lab, Peer) {
    let mut lab = Lab::new(Version::V2, NetworkType::PointToPoint, vip_lsa);
    let peer = Peer::new(Version::V2, [10, 255, 0, 9], 1);
    lab.bring_up(&peer);
    let out = lab.advance(secs(5));
    let headers: Vec<LsaHeader> = updates(&out).into_iter().map(|(_, l)| l.header).collect();
    lab.receive(&peer, Body::LsAck(headers));
    lab.advance(secs(10));
    (lab, peer)
}

fn ack_all(lab: &mut Lab, peer: &Peer, out: &[Output]) {
    let headers: Vec<LsaHeader> = updates(out).into_iter().map(|(_, l)| l.header).collect();
    if !headers.is_empty() {
        lab.receive(peer, Body::LsAck(headers));
    }
}

#[test]
fn each_vip_is_its_own_as_external_lsa_type_2_with_its_cost() {
    let (mut lab, _peer) = full(VipLsa::External);
    let out = lab.vips(&[("198.18.0.10/32", 1), ("198.18.0.11/32", 30)]);
    let sent: Vec<Lsa> = updates(&out).into_iter().map(|(_, l)| l).collect();
    assert_eq!(sent.len(), 2);
    for (lsa, (addr, metric)) in sent.iter().zip([
        (Ipv4Addr::new(198, 18, 0, 10), 1),
        (Ipv4Addr::new(198, 18, 0, 11), 30),
    ]) {
        assert_eq!(
            (lsa.header.ls_type, lsa.header.lsid, lsa.header.adv_router),
            (5, addr, ME)
        );
        assert_eq!(lsa.header.seq, 0x8000_0001);
        assert_eq!(
            lsa.decode_body(Version::V2).unwrap(),
            LsaBody::External(ExternalLsa {
                mask: Ipv4Addr::BROADCAST,
                type2: true,
                metric,
                forwarding: Ipv4Addr::UNSPECIFIED,
                tag: 0,
                tos: vec![],
            })
        );
    }
}

#[test]
fn withdrawing_one_vip_flushes_only_its_lsa_at_once() {
    let (mut lab, peer) = full(VipLsa::External);
    let out = lab.vips(&[("198.18.0.10/32", 1), ("198.18.0.11/32", 1)]);
    ack_all(&mut lab, &peer, &out);
    lab.advance(secs(2));
    let out = lab.vips(&[("198.18.0.11/32", 1)]);
    let sent = updates(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.header.lsid, Ipv4Addr::new(198, 18, 0, 10));
    assert_eq!(sent[0].1.header.age, MAX_AGE, "premature aging");
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, Event::Flushed { .. }))
    );
    // Once acknowledged, the MaxAge copy leaves the database.
    ack_all(&mut lab, &peer, &out);
    lab.advance(secs(2));
    assert!(own(&lab, 5, Ipv4Addr::new(198, 18, 0, 10)).is_none());
}

#[test]
fn a_withdrawal_right_after_the_announcement_waits_for_min_ls_arrival_only() {
    let (mut lab, peer) = full(VipLsa::External);
    let out = lab.vips(&[("198.18.0.10/32", 1)]);
    ack_all(&mut lab, &peer, &out);
    lab.advance(ms(300));
    let out = lab.vips(&[]);
    assert!(
        updates(&out).is_empty(),
        "held: the router would discard it (MinLSArrival)"
    );
    let out = lab.advance(ms(700));
    let sent = updates(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.header.age, MAX_AGE);
}

#[test]
fn another_vips_recent_change_never_delays_a_withdrawal() {
    let (mut lab, peer) = full(VipLsa::External);
    let out = lab.vips(&[("198.18.0.10/32", 1)]);
    ack_all(&mut lab, &peer, &out);
    lab.advance(secs(3));
    // .11 comes up, and .10 fails 100 ms later: .10's flush goes at once.
    let out = lab.vips(&[("198.18.0.10/32", 1), ("198.18.0.11/32", 1)]);
    ack_all(&mut lab, &peer, &out);
    lab.advance(ms(100));
    let out = lab.vips(&[("198.18.0.11/32", 1)]);
    let sent = updates(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].1.header.lsid, sent[0].1.header.age),
        (Ipv4Addr::new(198, 18, 0, 10), MAX_AGE)
    );
}

#[test]
fn stub_mode_puts_vips_in_the_router_lsa_and_min_ls_interval_defers_a_second_change() {
    let (mut lab, peer) = full(VipLsa::Stub);
    let out = lab.vips(&[("198.18.0.10/32", 1), ("198.18.0.11/32", 7)]);
    ack_all(&mut lab, &peer, &out);
    let (h, LsaBody::Router(RouterLsa { flags, links })) = own(&lab, 1, ME).unwrap() else {
        panic!()
    };
    assert_eq!(flags, 0x80, "H-bit only: no AS-external LSAs in stub mode");
    let vip_links: Vec<_> = links
        .iter()
        .filter(|l| l.link_data == Ipv4Addr::BROADCAST)
        .map(|l| (l.link_id, l.link_type, l.metric))
        .collect();
    assert_eq!(
        vip_links,
        vec![
            (Ipv4Addr::new(198, 18, 0, 10), link_type::STUB, 1),
            (Ipv4Addr::new(198, 18, 0, 11), link_type::STUB, 7)
        ]
    );
    // A withdrawal one second later waits until MinLSInterval has passed.
    lab.advance(secs(1));
    let out = lab.vips(&[("198.18.0.11/32", 7)]);
    assert!(updates(&out).is_empty());
    let deferred_until = events(&out).iter().find_map(|e| match e {
        Event::OriginationDeferred { at, .. } => Some(*at),
        _ => None,
    });
    assert_eq!(deferred_until, Some(lab.now - secs(1) + MIN_LS_INTERVAL));
    let out = lab.advance(secs(4));
    let sent = updates(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.header.seq, h.seq + 1);
}

#[test]
fn vips_of_the_other_family_are_ignored() {
    let (mut lab, _peer) = full(VipLsa::External);
    let out = lab.vips(&[("fd00:198:18::10/128", 1)]);
    assert!(updates(&out).is_empty());
}

#[test]
fn our_lsa_from_an_earlier_life_is_superseded_or_flushed() {
    let (mut lab, peer) = full(VipLsa::External);
    let out = lab.vips(&[("198.18.0.10/32", 1)]);
    ack_all(&mut lab, &peer, &out);
    lab.advance(secs(2));
    // The neighbor still holds a newer instance of our VIP LSA, and one for
    // a VIP we no longer have.
    let mk = |lsid: [u8; 4], seq: u32| {
        let h = LsaHeader {
            age: 100,
            options: 2,
            ls_type: 5,
            lsid: Ipv4Addr::from(lsid),
            adv_router: ME,
            seq,
            checksum: 0,
            length: 0,
        };
        Lsa::build(
            Version::V2,
            h,
            &LsaBody::External(ExternalLsa {
                mask: Ipv4Addr::BROADCAST,
                type2: true,
                metric: 99,
                forwarding: Ipv4Addr::UNSPECIFIED,
                tag: 0,
                tos: vec![],
            }),
        )
    };
    let out = lab.receive(
        &peer,
        Body::LsUpdate(vec![
            mk([198, 18, 0, 10], 0x8000_0040),
            mk([198, 18, 0, 99], 0x8000_0007),
        ]),
    );
    let sent = updates(&out);
    let mine = sent
        .iter()
        .find(|(_, l)| l.header.lsid == Ipv4Addr::new(198, 18, 0, 10))
        .unwrap();
    assert_eq!(
        mine.1.header.seq, 0x8000_0041,
        "RFC 2328 13.4: one past the stale one"
    );
    let old = sent
        .iter()
        .find(|(_, l)| l.header.lsid == Ipv4Addr::new(198, 18, 0, 99))
        .unwrap();
    assert_eq!((old.1.header.seq, old.1.header.age), (0x8000_0007, MAX_AGE));
}

#[test]
fn our_lsas_are_refreshed_every_ls_refresh_time() {
    let (mut lab, peer) = full(VipLsa::External);
    let out = lab.vips(&[("198.18.0.10/32", 1)]);
    ack_all(&mut lab, &peer, &out);
    let mut refreshed = Vec::new();
    for _ in 0..80 {
        // Keep the neighbor alive and ack everything.
        lab.receive(&peer, peer.hello(&[ME]));
        let out = lab.advance(secs(30));
        ack_all(&mut lab, &peer, &out);
        refreshed.extend(
            updates(&out)
                .into_iter()
                .filter(|(_, l)| l.header.ls_type == 5)
                .map(|(_, l)| l.header.seq),
        );
    }
    assert_eq!(refreshed, vec![0x8000_0002], "one refresh in 40 minutes");
}

#[test]
fn shutdown_flushes_everything_waits_for_acks_then_says_goodbye() {
    let (mut lab, peer) = full(VipLsa::External);
    let out = lab.vips(&[("198.18.0.10/32", 1)]);
    ack_all(&mut lab, &peer, &out);
    lab.advance(ms(1200));
    let out = lab.input(Input::Shutdown);
    let flushed: Vec<(u16, u16)> = updates(&out)
        .into_iter()
        .map(|(_, l)| (l.header.ls_type, l.header.age))
        .collect();
    assert_eq!(
        flushed,
        vec![(1, MAX_AGE), (5, MAX_AGE)],
        "the Router-LSA and the VIP, at once"
    );
    assert!(
        !out.contains(&Output::ShutdownComplete),
        "waits for the acks"
    );
    // Retransmitted quickly while shutting down.
    let again = lab.advance(ms(160));
    assert_eq!(updates(&again).len(), 2);
    let out = lab.receive(
        &peer,
        Body::LsAck(updates(&again).into_iter().map(|(_, l)| l.header).collect()),
    );
    assert!(out.contains(&Output::ShutdownComplete));
    let bye = hellos(&out);
    assert_eq!(bye.len(), 1);
    assert!(
        bye[0].neighbors.is_empty(),
        "1-way: the neighbor drops the adjacency at once"
    );
    assert!(lab.inst.is_done());
    assert_eq!(lab.inst.poll_timeout(), None);
}

#[test]
fn shutdown_gives_up_on_a_silent_neighbor_within_the_budget() {
    let (mut lab, _peer) = full(VipLsa::External);
    lab.input(Input::Shutdown);
    let out = lab.advance(ms(600));
    assert!(out.contains(&Output::ShutdownComplete));
}

#[test]
fn shutdown_holds_the_flush_of_a_fresh_lsa_until_min_ls_arrival_and_waits_for_it() {
    // Routers discard an instance that arrives within MinLSArrival of the
    // one they have (RFC 2328 13 step 5a): a flush sent at once would be
    // dropped and the VIP's LSA left in their databases for an hour.
    let (mut lab, peer) = full(VipLsa::External);
    let out = lab.vips(&[("198.18.0.10/32", 1)]);
    ack_all(&mut lab, &peer, &out);
    lab.advance(ms(300));
    let out = lab.input(Input::Shutdown);
    let at_once: Vec<u16> = updates(&out)
        .into_iter()
        .map(|(_, l)| l.header.ls_type)
        .collect();
    assert_eq!(at_once, vec![1], "the old Router-LSA only; the VIP waits");
    ack_all(&mut lab, &peer, &out);
    assert!(!out.contains(&Output::ShutdownComplete));
    // Past the half-second budget, shutdown still waits for the held flush.
    let out = lab.advance(ms(600));
    assert!(updates(&out).is_empty());
    assert!(!out.contains(&Output::ShutdownComplete));
    let out = lab.advance(ms(150));
    let held: Vec<(u16, u16)> = updates(&out)
        .into_iter()
        .map(|(_, l)| (l.header.ls_type, l.header.age))
        .collect();
    assert_eq!(held, vec![(5, MAX_AGE)], "sent 1 s after its instance");
    assert!(
        !out.contains(&Output::ShutdownComplete),
        "waits for its ack"
    );
    let out = lab.receive(
        &peer,
        Body::LsAck(updates(&out).into_iter().map(|(_, l)| l.header).collect()),
    );
    assert!(out.contains(&Output::ShutdownComplete));
}

#[test]
fn shutdown_with_a_held_flush_and_a_silent_neighbor_ends_within_one_and_a_half_seconds() {
    let (mut lab, _peer) = full(VipLsa::External);
    lab.vips(&[("198.18.0.10/32", 1)]);
    lab.input(Input::Shutdown);
    let out = lab.advance(ms(1400));
    assert!(!out.contains(&Output::ShutdownComplete));
    let out = lab.advance(ms(150));
    assert!(out.contains(&Output::ShutdownComplete));
}
