//! Each error maps to exactly the NOTIFICATION code, subcode and data that
//! RFC 4271 6, RFC 7606, RFC 4760 and RFC 7313 prescribe; RFC 7606 soft
//! errors decode and are recorded on the UPDATE.

use bytes::{Bytes, BytesMut};

use super::super::*;
use super::{FOUR_OCTET, TWO_OCTET, hx};

const MARKER: &str = "ffffffffffffffffffffffffffffffff";

/// A framed message of `ty` around `body` with a correct length.
fn msg(ty: u8, body: &str) -> Vec<u8> {
    let body = hx(body);
    let mut v = hx(MARKER);
    v.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    v.push(ty);
    v.extend_from_slice(&body);
    v
}

/// Decodes `wire` (and frames it) and returns the NOTIFICATION to send.
#[track_caller]
fn notification(wire: &[u8], opts: DecodeOptions) -> (ErrorCode, u8, Vec<u8>) {
    let err = decode_message(wire, opts).expect_err("must not decode");
    let n = Notification::from(&err);
    (n.code, n.subcode, n.data.to_vec())
}

/// `split_frame` must refuse the header alone, before the body arrives.
#[track_caller]
fn frame_error(header_and_more: &[u8]) -> (ErrorCode, u8, Vec<u8>) {
    let mut buf = BytesMut::from(header_and_more);
    let err = split_frame(&mut buf).expect_err("framing must fail");
    let n = Notification::from(&err);
    (n.code, n.subcode, n.data.to_vec())
}

#[test]
fn marker_not_all_ones_is_connection_not_synchronized() {
    let mut wire = msg(4, "");
    wire[3] = 0xfe;
    let expected = (ErrorCode::MessageHeader, 1, vec![]);
    assert_eq!(notification(&wire, TWO_OCTET), expected);
    assert_eq!(frame_error(&wire), expected);
}

#[test]
fn bad_lengths_are_bad_message_length_with_the_length_as_data() {
    for (len, ty) in [
        (18u16, 4u8), // below the header
        (4097, 2),    // above the maximum
        (0xffff, 2),  // far above the maximum: nothing is allocated
        (28, 1),      // OPEN shorter than 29
        (22, 2),      // UPDATE shorter than 23
        (20, 3),      // NOTIFICATION shorter than 21
        (20, 4),      // KEEPALIVE longer than 19
    ] {
        let mut wire = hx(MARKER);
        wire.extend_from_slice(&len.to_be_bytes());
        wire.push(ty);
        let expected = (ErrorCode::MessageHeader, 2, len.to_be_bytes().to_vec());
        // The header alone is enough to refuse it.
        assert_eq!(frame_error(&wire), expected, "len {len} type {ty}");
        wire.resize(usize::from(len).max(19), 0);
        assert_eq!(
            notification(&wire, TWO_OCTET),
            expected,
            "len {len} type {ty}"
        );
    }
}

#[test]
fn unknown_type_is_bad_message_type_with_the_type_as_data() {
    let wire = msg(6, "00");
    let expected = (ErrorCode::MessageHeader, 3, vec![6]);
    assert_eq!(frame_error(&wire[..19]), expected);
    assert_eq!(notification(&wire, TWO_OCTET), expected);
}

#[test]
fn route_refresh_with_wrong_length_is_invalid_message_length_with_the_message() {
    for body in ["0001000100", "000100"] {
        let wire = msg(5, body);
        assert_eq!(
            notification(&wire, TWO_OCTET),
            (ErrorCode::RouteRefresh, 1, wire.clone())
        );
    }
}

#[test]
fn open_errors() {
    // Version 3: data is the version we support, as 2 octets.
    let v3 = msg(1, "03 fde9 005a 0a000001 00");
    assert_eq!(
        notification(&v3, TWO_OCTET),
        (ErrorCode::Open, 1, vec![0, 4])
    );
    // Hold time 1 and 2.
    for hold in ["0001", "0002"] {
        let w = msg(1, &format!("04 fde9 {hold} 0a000001 00"));
        assert_eq!(notification(&w, TWO_OCTET), (ErrorCode::Open, 6, vec![]));
    }
    // Identifier 0, multicast, broadcast.
    for id in ["00000000", "e0000001", "ffffffff"] {
        let w = msg(1, &format!("04 fde9 005a {id} 00"));
        assert_eq!(
            notification(&w, TWO_OCTET),
            (ErrorCode::Open, 3, vec![]),
            "{id}"
        );
    }
    // Optional parameters length overruns, or leaves octets unaccounted for.
    for params in ["05 0202 0200", "02 0202 0200", "04 0203 0200", "04 02"] {
        let w = msg(1, &format!("04 fde9 005a 0a000001 {params}"));
        assert_eq!(
            notification(&w, TWO_OCTET),
            (ErrorCode::Open, 0, vec![]),
            "{params}"
        );
    }
    // A capability that overruns its parameter.
    let w = msg(1, "04 fde9 005a 0a000001 04 0202 4104");
    assert_eq!(notification(&w, TWO_OCTET), (ErrorCode::Open, 0, vec![]));
    // RFC 9072 extended length that does not match.
    let w = msg(1, "04 fde9 005a 0a000001 ff ff 0006 02 0002 0200");
    assert_eq!(notification(&w, TWO_OCTET), (ErrorCode::Open, 0, vec![]));
}

#[test]
fn open_policy_is_left_to_the_session() {
    // Peer AS 0 and unknown parameters decode: the session decides.
    let w = msg(1, "04 0000 0000 0a000001 03 09 01 ff");
    let Message::Open(o) = decode_message(&w, TWO_OCTET).unwrap() else {
        panic!()
    };
    assert_eq!(o.my_as, 0);
    assert_eq!(o.unknown_params, vec![(9, Bytes::from_static(&[0xff]))]);
}

#[test]
fn withdrawn_routes_length_overrun_is_malformed_attribute_list() {
    let w = msg(2, "0005 18 0a0000 0000");
    assert_eq!(notification(&w, TWO_OCTET), (ErrorCode::Update, 1, vec![]));
}

#[test]
fn total_attribute_length_overrun_is_malformed_attribute_list() {
    let w = msg(2, "0000 0008 40010100");
    assert_eq!(notification(&w, TWO_OCTET), (ErrorCode::Update, 1, vec![]));
}

#[test]
fn unrecognized_well_known_attribute_carries_the_attribute() {
    let w = msg(2, "0000 0005 40 63 02 abcd");
    assert_eq!(
        notification(&w, TWO_OCTET),
        (ErrorCode::Update, 2, hx("4063 02 abcd"))
    );
}

#[test]
fn duplicate_mp_reach_is_malformed_attribute_list() {
    let mp = "80 0f 03 000201";
    let w = msg(2, &format!("0000 000c {mp} {mp}"));
    assert_eq!(notification(&w, FOUR_OCTET), (ErrorCode::Update, 1, vec![]));
}

#[test]
fn unparsable_mp_reach_is_optional_attribute_error_with_the_attribute() {
    // IPv6 unicast with a 4-octet next hop.
    let attr = "80 0e 09 0002 01 04 c0000201 00";
    let w = msg(2, &format!("0000 000c {attr}"));
    assert_eq!(
        notification(&w, FOUR_OCTET),
        (ErrorCode::Update, 9, hx(attr))
    );
    // IPv6 prefix longer than 128 bits.
    let attr = "80 0e 17 0002 01 10 20010db8000000000000000000000001 00 81 20";
    let w = msg(2, &format!("0000 001a {attr}"));
    assert_eq!(
        notification(&w, FOUR_OCTET),
        (ErrorCode::Update, 9, hx(attr))
    );
    // MP_UNREACH too short for AFI/SAFI.
    let attr = "80 0f 02 0002";
    let w = msg(2, &format!("0000 0005 {attr}"));
    assert_eq!(
        notification(&w, FOUR_OCTET),
        (ErrorCode::Update, 9, hx(attr))
    );
    // MP_REACH overrunning the attributes: cannot treat-as-withdraw.
    let w = msg(2, "0000 0004 80 0e 09 00");
    assert_eq!(notification(&w, FOUR_OCTET), (ErrorCode::Update, 1, vec![]));
}

#[test]
fn bad_prefixes_are_invalid_network_field() {
    let origin_path_nh = "40010100 400200 400304c0000201";
    let w = msg(2, &format!("0000 000e {origin_path_nh} 21 0a000000 00"));
    assert_eq!(
        notification(&w, FOUR_OCTET),
        (ErrorCode::Update, 10, vec![])
    );
    let w = msg(2, &format!("0000 000e {origin_path_nh} 18 0a00"));
    assert_eq!(
        notification(&w, FOUR_OCTET),
        (ErrorCode::Update, 10, vec![])
    );
    let w = msg(2, "0002 20 0a 0000");
    assert_eq!(
        notification(&w, FOUR_OCTET),
        (ErrorCode::Update, 10, vec![])
    );
}

fn update(wire: &[u8], opts: DecodeOptions) -> Update {
    match decode_message(wire, opts) {
        Ok(Message::Update(u)) => u,
        other => panic!("expected an UPDATE, got {other:?}"),
    }
}

#[test]
fn missing_mandatory_attributes_are_treat_as_withdraw() {
    // NLRI with only ORIGIN: AS_PATH and NEXT_HOP missing.
    let u = update(&msg(2, "0000 0004 40010100 20 c6336407"), FOUR_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::TreatAsWithdraw);
    let missing: Vec<u8> = u.errors.iter().map(|e| e.type_code).collect();
    assert_eq!(missing, vec![2, 3]);
    // MP_REACH only: NEXT_HOP is not needed.
    let mp = "800e1e 0002 01 10 20010db8000000000000000000000001 00 40 20010db800000000";
    let u = update(
        &msg(2, &format!("0000 0028 {mp} 40010100 400200")),
        FOUR_OCTET,
    );
    assert_eq!(u.outcome(), Rfc7606Action::None, "{:?}", u.errors);
    // Withdrawals only need nothing.
    let u = update(&msg(2, "0003 10 0a01 0000"), FOUR_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::None);
}

#[test]
fn treat_as_withdraw_without_nlri_still_decodes() {
    // Malformed ORIGIN, no NLRI at all.
    let u = update(&msg(2, "0000 0004 40010105"), FOUR_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::TreatAsWithdraw);
    assert!(u.attributes.is_empty());
    assert_eq!(u.announced().count(), 0);
}

#[test]
fn duplicate_attributes_keep_the_first() {
    let u = update(&msg(2, "0000 0008 40010100 40010102"), FOUR_OCTET);
    assert_eq!(u.attributes, vec![PathAttribute::Origin(Origin::Igp)]);
    assert_eq!(u.outcome(), Rfc7606Action::AttributeDiscard);
}

#[test]
fn attribute_overrunning_the_attributes_is_treat_as_withdraw_and_nlri_still_parse() {
    // RFC 7606 4: the COMMUNITIES length runs past the Total Path Attribute
    // Length; the NLRI after it are still found.
    let w = msg(
        2,
        "0000 0013 40010100 400200 400304c0000201 c00808 fde9 20 c6336407",
    );
    let u = update(&w, FOUR_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::TreatAsWithdraw);
    assert_eq!(u.errors.last().map(|e| e.type_code), Some(8));
    assert_eq!(u.nlri.len(), 1);
    // Fewer than 3 octets left for a header.
    let w = msg(2, "0000 0006 40010100 4002 20 c6336407");
    let u = update(&w, FOUR_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::TreatAsWithdraw);
}

#[test]
fn wrong_flags_are_treat_as_withdraw_and_mp_nlri_are_kept() {
    // ORIGIN marked optional.
    let u = update(&msg(2, "0000 0004 c0010100"), FOUR_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::TreatAsWithdraw);
    assert!(u.attributes.is_empty());
    // MP_REACH marked transitive: routes kept so that they can be withdrawn.
    let mp = "c00e1e 0002 01 10 20010db8000000000000000000000001 00 40 20010db800000000";
    let u = update(
        &msg(2, &format!("0000 0028 {mp} 40010100 400200")),
        FOUR_OCTET,
    );
    assert_eq!(u.outcome(), Rfc7606Action::TreatAsWithdraw);
    assert_eq!(u.announced().count(), 1);
}

#[test]
fn as_zero_is_treat_as_withdraw_in_as_path_and_discard_in_aggregator() {
    let u = update(&msg(2, "0000 0009 40020602010000fde9"), FOUR_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::None);
    let u = update(&msg(2, "0000 0009 400206020100000000"), FOUR_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::TreatAsWithdraw);
    let u = update(&msg(2, "0000 000b c0070800000000c0000201"), FOUR_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::AttributeDiscard);
    assert!(u.attributes.is_empty());
}

#[test]
fn as4_path_on_a_four_octet_session_is_discarded() {
    let as4 = "c0110602010000fde9";
    let u = update(&msg(2, &format!("0000 0009 {as4}")), FOUR_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::AttributeDiscard);
    let u = update(&msg(2, &format!("0000 0009 {as4}")), TWO_OCTET);
    assert_eq!(u.outcome(), Rfc7606Action::None);
}

#[test]
fn outcome_takes_the_strongest_action() {
    // ATOMIC_AGGREGATE with a value (discard) and a bad MED (withdraw).
    let u = update(&msg(2, "0000 0008 40060101 80040100"), FOUR_OCTET);
    assert_eq!(
        u.errors.iter().map(|e| e.action).collect::<Vec<_>>(),
        vec![
            Rfc7606Action::AttributeDiscard,
            Rfc7606Action::TreatAsWithdraw
        ]
    );
    assert_eq!(u.outcome(), Rfc7606Action::TreatAsWithdraw);
    assert!(Rfc7606Action::SessionReset > Rfc7606Action::TreatAsWithdraw);
    assert!(Rfc7606Action::AttributeDiscard > Rfc7606Action::None);
}
