//! Scenario tests for the session FSM, on a virtual clock.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::*;
use crate::bgp::wire::{
    self, Afi, Capability, CeaseSubcode, DecodeOptions, ErrorCode, Message, Notification, Open,
    RouteRefresh, Safi, Update,
};

const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(10, 255, 1, 2);

fn config() -> SessionConfig {
    SessionConfig {
        local_asn: 65001,
        remote_asn: 65000,
        router_id: LOCAL_ID,
        hold_time: 9,
        passive: false,
        connect_retry: Duration::from_secs(1),
        connect_retry_max: Duration::from_secs(8),
        graceful_restart_time: None,
        jitter_seed: 7,
        max_prefixes: Some(3),
        max_prefixes_restart: Duration::from_secs(30),
    }
}

fn local() -> SocketAddr {
    "10.255.1.2:40000".parse().unwrap()
}

fn remote() -> SocketAddr {
    "10.255.1.1:179".parse().unwrap()
}

fn encode(msg: &Message) -> Bytes {
    let mut buf = BytesMut::new();
    wire::encode_message(msg, DecodeOptions::default(), &mut buf);
    buf.freeze()
}

fn peer_open(asn: u32, id: Ipv4Addr, hold_time: u16) -> Open {
    Open {
        version: 4,
        my_as: u16::try_from(asn).unwrap_or(23456),
        hold_time,
        bgp_id: id,
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
            Capability::FourOctetAs(asn),
        ],
        unknown_params: vec![],
    }
}

/// Every message the outputs send on `conn`, decoded.
fn sent(outs: &[Output], conn: ConnId) -> Vec<Message> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send { conn: c, bytes } if *c == conn => {
                Some(wire::decode_message(bytes, DecodeOptions::default()).unwrap())
            }
            _ => None,
        })
        .collect()
}

fn notification_sent(outs: &[Output], conn: ConnId) -> Option<Notification> {
    sent(outs, conn).into_iter().find_map(|m| match m {
        Message::Notification(n) => Some(n),
        _ => None,
    })
}

fn closed(outs: &[Output], conn: ConnId) -> bool {
    outs.iter()
        .any(|o| matches!(o, Output::Close { conn: c } if *c == conn))
}

/// A session driven through an outgoing connection to OpenSent.
fn open_sent(t0: Instant) -> (Session, ConnId) {
    let mut s = Session::new(config());
    let outs = s.handle(t0, Input::ManualStart);
    assert!(outs.contains(&Output::Connect));
    assert_eq!(s.state(), State::Connect);
    let conn = ConnId(1);
    let outs = s.handle(
        t0,
        Input::TcpConnected {
            conn,
            local: local(),
            remote: remote(),
        },
    );
    assert!(matches!(sent(&outs, conn).as_slice(), [Message::Open(_)]));
    assert_eq!(s.state(), State::OpenSent);
    (s, conn)
}

fn established(t0: Instant) -> (Session, ConnId) {
    let (mut s, conn) = open_sent(t0);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Open(peer_open(
                65000,
                Ipv4Addr::new(10, 255, 1, 1),
                90,
            ))),
        },
    );
    assert_eq!(sent(&outs, conn), vec![Message::Keepalive]);
    assert_eq!(s.state(), State::OpenConfirm);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Keepalive),
        },
    );
    assert!(
        outs.iter().any(|o| matches!(o, Output::Established(_))),
        "{outs:?}"
    );
    assert_eq!(s.state(), State::Established);
    (s, conn)
}

#[test]
fn our_open_carries_asn_hold_time_identifier_and_capabilities() {
    let t0 = Instant::now();
    let mut s = Session::new(SessionConfig {
        local_asn: 4_200_000_001,
        graceful_restart_time: Some(120),
        ..config()
    });
    s.handle(t0, Input::ManualStart);
    let outs = s.handle(
        t0,
        Input::TcpConnected {
            conn: ConnId(1),
            local: local(),
            remote: remote(),
        },
    );
    let Message::Open(open) = &sent(&outs, ConnId(1))[0] else {
        panic!("no OPEN in {outs:?}")
    };
    assert_eq!(open.version, 4);
    // RFC 6793: AS_TRANS in the 2-octet field, the real AS in the capability.
    assert_eq!(open.my_as, 23456);
    assert_eq!(open.four_octet_as(), Some(4_200_000_001));
    assert_eq!(open.hold_time, 9);
    assert_eq!(open.bgp_id, LOCAL_ID);
    let mp = open.multiprotocol();
    assert!(mp.contains(&(Afi::Ipv4, Safi::Unicast)));
    assert!(mp.contains(&(Afi::Ipv6, Safi::Unicast)));
    assert!(open.capabilities.contains(&Capability::RouteRefresh));
    let Some(Capability::GracefulRestart(gr)) = open
        .capabilities
        .iter()
        .find(|c| matches!(c, Capability::GracefulRestart(_)))
    else {
        panic!("no Graceful Restart capability")
    };
    assert_eq!(gr.restart_time, 120);
    // RFC 4724: the first session after a start says "restarted", and both
    // families kept their forwarding state.
    assert!(gr.restart_state);
    assert_eq!(gr.families.len(), 2);
    assert!(gr.families.iter().all(|f| f.forwarding_state));
}

#[test]
fn open_then_keepalive_reaches_established_with_negotiated_values() {
    let t0 = Instant::now();
    let (s, conn) = established(t0);
    let n = s.negotiated().unwrap();
    assert_eq!(n.conn, conn);
    assert_eq!(n.peer_asn, 65000);
    // RFC 4271 4.2: the smaller of both hold times.
    assert_eq!(n.hold_time, 9);
    assert!(n.four_octet_as && n.ipv4_unicast && n.ipv6_unicast && n.route_refresh);
    assert!(!n.extended_nexthop_ipv4);
}

#[test]
fn open_with_hold_time_two_is_refused_with_unacceptable_hold_time() {
    let t0 = Instant::now();
    let (mut s, conn) = open_sent(t0);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Open(peer_open(
                65000,
                Ipv4Addr::new(10, 255, 1, 1),
                2,
            ))),
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::Open, 6));
    assert!(closed(&outs, conn));
}

#[test]
fn open_from_the_wrong_as_is_refused_with_bad_peer_as() {
    let t0 = Instant::now();
    let (mut s, conn) = open_sent(t0);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Open(peer_open(
                65099,
                Ipv4Addr::new(10, 255, 1, 1),
                90,
            ))),
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::Open, 2));
    assert!(closed(&outs, conn));
    // It tries again later, not at once.
    assert!(!outs.contains(&Output::Connect));
    assert!(s.poll_timeout().unwrap() > t0);
}

#[test]
fn open_from_as_zero_is_refused_with_bad_peer_as() {
    let t0 = Instant::now();
    let mut s = Session::new(SessionConfig {
        remote_asn: 0,
        ..config()
    });
    s.handle(t0, Input::ManualStart);
    let conn = ConnId(1);
    s.handle(
        t0,
        Input::TcpConnected {
            conn,
            local: local(),
            remote: remote(),
        },
    );
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Open(peer_open(
                0,
                Ipv4Addr::new(10, 255, 1, 1),
                90,
            ))),
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::Open, 2));
}

#[test]
fn ibgp_peer_with_our_own_identifier_is_refused_with_bad_bgp_identifier() {
    let t0 = Instant::now();
    let mut s = Session::new(SessionConfig {
        remote_asn: 65001,
        ..config()
    });
    s.handle(t0, Input::ManualStart);
    let conn = ConnId(1);
    s.handle(
        t0,
        Input::TcpConnected {
            conn,
            local: local(),
            remote: remote(),
        },
    );
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Open(peer_open(65001, LOCAL_ID, 90))),
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::Open, 3));
}

#[test]
fn keepalives_go_out_every_third_of_the_hold_time() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    // Hold 9 s: keepalive every 3 s.
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(3)));
    let outs = s.handle_timeout(t0 + Duration::from_secs(3));
    assert_eq!(sent(&outs, conn), vec![Message::Keepalive]);
    // The peer keeps talking, so the hold timer never fires.
    for step in 1..=10u64 {
        let now = t0 + Duration::from_secs(3 * step);
        s.handle(
            now,
            Input::Received {
                conn,
                bytes: encode(&Message::Keepalive),
            },
        );
        s.handle_timeout(now);
    }
    assert_eq!(s.state(), State::Established);
}

#[test]
fn silent_peer_is_dropped_with_hold_timer_expired_at_the_hold_time() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let mut now = t0;
    let mut last = Vec::new();
    // Keep firing timers without the peer saying anything.
    while s.state() == State::Established {
        now = s.poll_timeout().unwrap();
        last = s.handle_timeout(now);
        assert!(now <= t0 + Duration::from_secs(9), "held on past 9 s");
    }
    assert_eq!(now, t0 + Duration::from_secs(9));
    let n = notification_sent(&last, conn).expect("a NOTIFICATION");
    assert_eq!(n.code, ErrorCode::HoldTimerExpired);
    assert!(last.iter().any(|o| matches!(
        o,
        Output::Closed {
            reason: DownReason::HoldTimerExpired,
            was_established: true,
            ..
        }
    )));
}

#[test]
fn hold_time_zero_means_no_keepalives_and_no_hold_timer() {
    let t0 = Instant::now();
    let (mut s, conn) = open_sent(t0);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Open(peer_open(
                65000,
                Ipv4Addr::new(10, 255, 1, 1),
                0,
            ))),
        },
    );
    // One KEEPALIVE answers the OPEN (RFC 4271 8.2.2), then none.
    assert_eq!(sent(&outs, conn), vec![Message::Keepalive]);
    s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Keepalive),
        },
    );
    assert_eq!(s.state(), State::Established);
    assert_eq!(s.negotiated().unwrap().hold_time, 0);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn connect_failures_back_off_exponentially_with_jitter_up_to_the_maximum() {
    let t0 = Instant::now();
    let mut s = Session::new(config());
    s.handle(t0, Input::ManualStart);
    let mut now = t0;
    let mut delays = Vec::new();
    for _ in 0..7 {
        let outs = s.handle(
            now,
            Input::TcpConnectFailed {
                error: "connection refused".into(),
            },
        );
        let Some(Output::ConnectFailed { retry_in, .. }) = outs
            .iter()
            .find(|o| matches!(o, Output::ConnectFailed { .. }))
        else {
            panic!("no ConnectFailed in {outs:?}")
        };
        delays.push(*retry_in);
        assert_eq!(s.state(), State::Active);
        // Nothing happens before the retry is due: no busy loop.
        assert_eq!(s.poll_timeout(), Some(now + *retry_in));
        now += *retry_in;
        let outs = s.handle_timeout(now);
        assert!(outs.contains(&Output::Connect));
    }
    // 1, 2, 4, 8, 8, 8, 8 seconds, each times a jitter in 0.75..=1.0.
    let base = [1, 2, 4, 8, 8, 8, 8];
    for (d, b) in delays.iter().zip(base) {
        let b = Duration::from_secs(b);
        assert!(
            *d <= b && *d >= b.mul_f64(0.75),
            "{d:?} outside jitter of {b:?}"
        );
    }
}

#[test]
fn a_connect_attempt_that_hangs_is_abandoned_at_the_connect_retry_timer() {
    let t0 = Instant::now();
    let mut s = Session::new(config());
    s.handle(t0, Input::ManualStart);
    let due = s.poll_timeout().unwrap();
    let outs = s.handle_timeout(due);
    assert_eq!(outs[..2], [Output::AbortConnect, Output::Connect]);
}

#[test]
fn passive_peer_never_connects_and_accepts_the_peer() {
    let t0 = Instant::now();
    let mut s = Session::new(SessionConfig {
        passive: true,
        ..config()
    });
    let outs = s.handle(t0, Input::ManualStart);
    assert!(!outs.contains(&Output::Connect));
    assert_eq!(s.state(), State::Active);
    assert_eq!(s.poll_timeout(), None);
    let outs = s.handle(
        t0,
        Input::TcpAccepted {
            conn: ConnId(5),
            local: local(),
            remote: remote(),
        },
    );
    assert!(matches!(
        sent(&outs, ConnId(5)).as_slice(),
        [Message::Open(_)]
    ));
}

#[test]
fn update_before_open_is_an_fsm_error_in_open_sent() {
    let t0 = Instant::now();
    let (mut s, conn) = open_sent(t0);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Keepalive),
        },
    );
    // RFC 6608: Receive Unexpected Message in OpenSent State.
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::Fsm, 1));
}

#[test]
fn open_in_established_is_an_fsm_error() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Open(peer_open(
                65000,
                Ipv4Addr::new(10, 255, 1, 1),
                90,
            ))),
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::Fsm, 3));
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Closed {
            was_established: true,
            ..
        }
    )));
}

#[test]
fn a_message_dribbled_one_byte_at_a_time_is_reassembled() {
    let t0 = Instant::now();
    let (mut s, conn) = open_sent(t0);
    let bytes = encode(&Message::Open(peer_open(
        65000,
        Ipv4Addr::new(10, 255, 1, 1),
        90,
    )));
    let mut all = Vec::new();
    for b in bytes.iter() {
        all.extend(s.handle(
            t0,
            Input::Received {
                conn,
                bytes: Bytes::copy_from_slice(&[*b]),
            },
        ));
    }
    assert_eq!(s.state(), State::OpenConfirm);
    assert_eq!(sent(&all, conn), vec![Message::Keepalive]);
}

#[test]
fn open_and_keepalive_in_one_segment_both_count() {
    let t0 = Instant::now();
    let (mut s, conn) = open_sent(t0);
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&encode(&Message::Open(peer_open(
        65000,
        Ipv4Addr::new(10, 255, 1, 1),
        90,
    ))));
    buf.extend_from_slice(&encode(&Message::Keepalive));
    s.handle(
        t0,
        Input::Received {
            conn,
            bytes: buf.freeze(),
        },
    );
    assert_eq!(s.state(), State::Established);
}

#[test]
fn a_bad_marker_is_answered_with_connection_not_synchronized() {
    let t0 = Instant::now();
    let (mut s, conn) = open_sent(t0);
    let mut bytes = encode(&Message::Keepalive).to_vec();
    bytes[0] = 0;
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: bytes.into(),
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::MessageHeader, 1));
}

#[test]
fn updates_and_route_refresh_from_the_peer_are_reported_not_stored() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Update(Update::end_of_rib(
                Afi::Ipv4,
                Safi::Unicast,
            ))),
        },
    );
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::UpdateReceived {
            end_of_rib: Some((Afi::Ipv4, Safi::Unicast)),
            ..
        }
    )));
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::RouteRefresh(RouteRefresh {
                afi: Afi::Ipv6,
                safi: Safi::Unicast,
                subtype: 0,
            })),
        },
    );
    assert!(outs.contains(&Output::RouteRefreshRequested {
        afi: Afi::Ipv6,
        safi: Safi::Unicast
    }));
}

#[test]
fn sending_an_update_postpones_the_next_keepalive() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let t1 = t0 + Duration::from_secs(2);
    let update = encode(&Message::Update(Update::end_of_rib(
        Afi::Ipv4,
        Safi::Unicast,
    )));
    let outs = s.handle(t1, Input::SendUpdates(vec![update.clone()]));
    assert_eq!(
        outs,
        vec![Output::Send {
            conn,
            bytes: update
        }]
    );
    assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_secs(3)));
}

#[test]
fn manual_stop_sends_cease_administrative_shutdown_with_the_reason() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let outs = s.handle(
        t0,
        Input::ManualStop {
            reason: "maintenance".into(),
            cease: CeaseSubcode::AdministrativeShutdown,
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::Cease, 2));
    assert_eq!(n.shutdown_communication().as_deref(), Some("maintenance"));
    assert!(closed(&outs, conn));
    assert_eq!(s.state(), State::Idle);
    assert_eq!(s.poll_timeout(), None, "an admin stop does not reconnect");
}

#[test]
fn a_dropped_session_reconnects_after_the_first_retry_step() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let outs = s.handle(t0, Input::TcpClosed { conn, error: None });
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Closed {
            was_established: true,
            ..
        }
    )));
    assert_eq!(s.state(), State::Active);
    let due = s.poll_timeout().unwrap();
    assert!(due > t0 && due <= t0 + Duration::from_secs(1));
    assert!(s.handle_timeout(due).contains(&Output::Connect));
}

#[test]
fn a_notification_from_the_peer_ends_the_session_without_a_reply() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Notification(Notification::cease_admin_shutdown(
                "bye",
            ))),
        },
    );
    assert!(notification_sent(&outs, conn).is_none());
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Closed {
            reason: DownReason::NotificationReceived(_),
            ..
        }
    )));
}

/// Drive two connections (ours and the peer's) to the point where both have
/// the peer's OPEN; returns the outputs of the second OPEN.
fn collide(peer_id: Ipv4Addr) -> (Session, Vec<Output>) {
    let t0 = Instant::now();
    let (mut s, out_conn) = open_sent(t0);
    let in_conn = ConnId(2);
    s.handle(
        t0,
        Input::TcpAccepted {
            conn: in_conn,
            local: "10.255.1.2:179".parse().unwrap(),
            remote: "10.255.1.1:50000".parse().unwrap(),
        },
    );
    let open = encode(&Message::Open(peer_open(65000, peer_id, 90)));
    s.handle(
        t0,
        Input::Received {
            conn: out_conn,
            bytes: open.clone(),
        },
    );
    assert_eq!(s.state(), State::OpenConfirm);
    let outs = s.handle(
        t0,
        Input::Received {
            conn: in_conn,
            bytes: open,
        },
    );
    (s, outs)
}

#[test]
fn collision_keeps_our_connection_when_our_identifier_is_higher() {
    let (_, outs) = collide(Ipv4Addr::new(10, 255, 1, 1));
    assert!(outs.contains(&Output::CollisionResolved {
        kept: ConnId(1),
        kept_direction: Direction::Outbound,
        closed: ConnId(2),
    }));
    let n = notification_sent(&outs, ConnId(2)).expect("Cease on the loser");
    assert_eq!((n.code, n.subcode), (ErrorCode::Cease, 7));
    assert!(closed(&outs, ConnId(2)));
    assert!(!closed(&outs, ConnId(1)));
}

#[test]
fn collision_keeps_the_peers_connection_when_its_identifier_is_higher() {
    let (mut s, outs) = collide(Ipv4Addr::new(10, 255, 1, 9));
    assert!(outs.contains(&Output::CollisionResolved {
        kept: ConnId(2),
        kept_direction: Direction::Inbound,
        closed: ConnId(1),
    }));
    assert!(closed(&outs, ConnId(1)));
    // The survivor answers the OPEN and completes.
    assert_eq!(sent(&outs, ConnId(2)), vec![Message::Keepalive]);
    s.handle(
        Instant::now(),
        Input::Received {
            conn: ConnId(2),
            bytes: encode(&Message::Keepalive),
        },
    );
    assert_eq!(s.state(), State::Established);
    assert_eq!(s.negotiated().unwrap().conn, ConnId(2));
}

#[test]
fn a_new_connection_never_replaces_an_established_one() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let outs = s.handle(
        t0,
        Input::TcpAccepted {
            conn: ConnId(9),
            local: "10.255.1.2:179".parse().unwrap(),
            remote: "10.255.1.1:50001".parse().unwrap(),
        },
    );
    let n = notification_sent(&outs, ConnId(9)).expect("Cease on the newcomer");
    assert_eq!((n.code, n.subcode), (ErrorCode::Cease, 7));
    assert!(closed(&outs, ConnId(9)));
    assert_eq!(s.negotiated().unwrap().conn, conn);
}

#[test]
fn a_stopped_session_rejects_connections() {
    let t0 = Instant::now();
    let mut s = Session::new(config());
    let outs = s.handle(
        t0,
        Input::TcpAccepted {
            conn: ConnId(3),
            local: local(),
            remote: remote(),
        },
    );
    let n = notification_sent(&outs, ConnId(3)).expect("Cease/Connection Rejected");
    assert_eq!((n.code, n.subcode), (ErrorCode::Cease, 5));
    assert!(closed(&outs, ConnId(3)));
}

fn announce(prefixes: &[&str]) -> Bytes {
    use crate::bgp::wire::{AsPath, Origin, PathAttribute, pack_announce};
    let attrs = vec![
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::sequence(vec![65000])),
    ];
    let prefixes: Vec<ipnet::IpNet> = prefixes.iter().map(|p| p.parse().unwrap()).collect();
    let opts = DecodeOptions {
        four_octet_as: true,
        extended_nexthop_ipv4: false,
    };
    let mut msgs = pack_announce(
        &attrs,
        wire::Family::Ipv4Unicast,
        "10.255.1.1".parse().unwrap(),
        &prefixes,
        opts,
    );
    assert_eq!(msgs.len(), 1);
    msgs.remove(0)
}

#[test]
fn more_prefixes_than_the_limit_closes_with_cease_max_prefixes_and_waits_to_reconnect() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    // Re-announcing and withdrawing keep the count honest: 3 distinct is fine.
    s.handle(
        t0,
        Input::Received {
            conn,
            bytes: announce(&["192.0.2.1/32", "192.0.2.2/32"]),
        },
    );
    s.handle(
        t0,
        Input::Received {
            conn,
            bytes: announce(&["192.0.2.1/32", "192.0.2.3/32"]),
        },
    );
    assert_eq!(s.state(), State::Established);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: announce(&["192.0.2.4/32"]),
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    assert_eq!((n.code, n.subcode), (ErrorCode::Cease, 1));
    // RFC 4486: AFI 1, SAFI 1, limit 3.
    assert_eq!(&n.data[..], &[0, 1, 1, 0, 0, 0, 3]);
    assert!(closed(&outs, conn));
    // Reconnects after max_prefixes_restart, not at the first backoff step.
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(30)));
}

#[test]
fn without_a_limit_any_number_of_prefixes_is_only_counted() {
    let t0 = Instant::now();
    let mut cfg = config();
    cfg.max_prefixes = None;
    let mut s = Session::new(cfg);
    s.handle(t0, Input::ManualStart);
    let conn = ConnId(1);
    s.handle(
        t0,
        Input::TcpConnected {
            conn,
            local: local(),
            remote: remote(),
        },
    );
    s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Open(peer_open(
                65000,
                Ipv4Addr::new(10, 255, 1, 1),
                90,
            ))),
        },
    );
    s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Keepalive),
        },
    );
    let many: Vec<String> = (0..500u32)
        .map(|i| format!("{}/32", Ipv4Addr::from(0xC000_0200 + i)))
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: announce(&refs),
        },
    );
    assert!(
        outs.iter()
            .any(|o| matches!(o, Output::UpdateReceived { announced: 500, .. }))
    );
    assert_eq!(s.state(), State::Established);
}

#[test]
fn a_peer_that_stops_reading_is_dropped_with_send_hold_timer_expired() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let outs = s.handle(t0, Input::SendHoldTimerExpired { conn });
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    assert_eq!(n.code, ErrorCode::SendHoldTimerExpired);
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Closed {
            reason: DownReason::SendHoldTimerExpired,
            was_established: true,
            ..
        }
    )));
}

#[test]
fn bfd_down_ends_the_session_with_cease_bfd_down_and_reconnects() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let outs = s.handle(
        t0,
        Input::BfdDown {
            diag: "control detection time expired".into(),
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    // RFC 9384: Cease subcode 10, BFD Down.
    assert_eq!((n.code, n.subcode), (ErrorCode::Cease, 10));
    assert_eq!(s.state(), State::Active);
    assert!(s.poll_timeout().is_some(), "it tries again");
}

#[test]
fn an_unexpected_message_names_its_type_in_the_fsm_error() {
    let t0 = Instant::now();
    let (mut s, conn) = open_sent(t0);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Keepalive),
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    // RFC 6608 4: the data is the type of the unexpected message (KEEPALIVE = 4).
    assert_eq!(
        (n.code, n.subcode, &n.data[..]),
        (ErrorCode::Fsm, 1, &[4u8][..])
    );
}

#[test]
fn an_open_with_an_unknown_optional_parameter_is_refused() {
    let t0 = Instant::now();
    let (mut s, conn) = open_sent(t0);
    let mut open = peer_open(65000, Ipv4Addr::new(10, 255, 1, 1), 90);
    open.unknown_params = vec![(99, Bytes::from_static(&[1, 2, 3]))];
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::Open(open)),
        },
    );
    let n = notification_sent(&outs, conn).expect("a NOTIFICATION");
    // RFC 4271 6.2: Unsupported Optional Parameters.
    assert_eq!((n.code, n.subcode), (ErrorCode::Open, 4));
}

#[test]
fn a_route_refresh_with_a_reserved_subtype_is_ignored() {
    let t0 = Instant::now();
    let (mut s, conn) = established(t0);
    let outs = s.handle(
        t0,
        Input::Received {
            conn,
            bytes: encode(&Message::RouteRefresh(RouteRefresh {
                afi: Afi::Ipv4,
                safi: Safi::Unicast,
                subtype: 3,
            })),
        },
    );
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, Output::RouteRefreshRequested { .. })),
        "RFC 7313 5: ignored"
    );
    assert_eq!(s.state(), State::Established);
}
