//! Framing: one message over many reads, many messages in one read.

use std::net::Ipv4Addr;

use bytes::BytesMut;

use super::super::*;
use super::{TWO_OCTET, encode};

fn sample_messages() -> Vec<Message> {
    vec![
        Message::Open(Open::new(
            65001,
            HoldTime::new(90).unwrap(),
            Ipv4Addr::new(10, 0, 0, 1),
            vec![Capability::RouteRefresh, Capability::FourOctetAs(65001)],
        )),
        Message::Keepalive,
        Message::Update(Update::end_of_rib(Afi::Ipv6, Safi::Unicast)),
        Message::RouteRefresh(RouteRefresh::request(Afi::Ipv4, Safi::Unicast)),
        Message::Notification(Notification::cease_admin_shutdown("bye")),
    ]
}

/// Feeds `wire` in `chunk`-sized reads and collects every frame.
fn feed(wire: &[u8], chunk: usize) -> Vec<Message> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in wire.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(frame) = split_frame(&mut buf).unwrap() {
            out.push(decode_message(&frame, TWO_OCTET).unwrap());
        }
    }
    assert!(buf.is_empty(), "{} octets left over", buf.len());
    out
}

#[test]
fn one_message_one_byte_at_a_time() {
    let msg = &sample_messages()[0];
    let wire = encode(msg, TWO_OCTET);
    let mut buf = BytesMut::new();
    for (i, b) in wire.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        let got = split_frame(&mut buf).unwrap();
        if i + 1 < wire.len() {
            assert!(got.is_none(), "frame returned after {} octets", i + 1);
        } else {
            let frame = got.expect("frame once complete");
            assert_eq!(&frame[..], &wire[..]);
            assert_eq!(&decode_message(&frame, TWO_OCTET).unwrap(), msg);
        }
    }
    assert!(buf.is_empty());
}

#[test]
fn many_messages_in_every_chunking() {
    let msgs = sample_messages();
    let wire: Vec<u8> = msgs.iter().flat_map(|m| encode(m, TWO_OCTET)).collect();
    for chunk in [1, 2, 3, 7, 18, 19, 20, 64, wire.len()] {
        assert_eq!(feed(&wire, chunk), msgs, "chunk size {chunk}");
    }
}

#[test]
fn split_frame_takes_exactly_one_message_and_leaves_the_rest() {
    let a = encode(&Message::Keepalive, TWO_OCTET);
    let b = encode(&sample_messages()[4], TWO_OCTET);
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&a);
    buf.extend_from_slice(&b[..5]);
    let frame = split_frame(&mut buf).unwrap().unwrap();
    assert_eq!(&frame[..], &a[..]);
    assert_eq!(&buf[..], &b[..5]);
    assert!(split_frame(&mut buf).unwrap().is_none());
}

#[test]
fn an_error_in_the_second_message_does_not_lose_the_first() {
    let mut wire = encode(&Message::Keepalive, TWO_OCTET);
    let mut bad = encode(&Message::Keepalive, TWO_OCTET);
    bad[18] = 9;
    wire.extend_from_slice(&bad);
    let mut buf = BytesMut::from(&wire[..]);
    assert!(split_frame(&mut buf).unwrap().is_some());
    assert!(split_frame(&mut buf).is_err());
}

#[test]
fn decode_message_refuses_a_frame_of_the_wrong_size() {
    let mut wire = encode(&Message::Keepalive, TWO_OCTET);
    wire.push(0);
    let err = decode_message(&wire, TWO_OCTET).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Header(HeaderError::BadMessageLength { length: 19 })
    );
    assert!(decode_message(&wire[..10], TWO_OCTET).is_err());
}
