//! Codec tests that span several messages: byte vectors in both directions,
//! error mapping, framing, packing, captured vectors and property tests.

mod captured;
mod errors;
mod framing;
mod pack;
mod props;
mod regressions;
mod vectors;

use bytes::BytesMut;

use super::{DecodeOptions, Message, decode_message, encode_message};

/// Hex with any whitespace in it (so vectors can be laid out field by field).
fn hx(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(clean).expect("test vector is valid hex")
}

fn encode(msg: &Message, opts: DecodeOptions) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_message(msg, opts, &mut out);
    out.to_vec()
}

/// The vector encodes to exactly `wire`, and `wire` decodes to exactly `msg`.
#[track_caller]
fn both_ways(msg: &Message, opts: DecodeOptions, wire: &[u8]) {
    assert_eq!(
        hex::encode(encode(msg, opts)),
        hex::encode(wire),
        "encode {msg:#?}"
    );
    assert_eq!(
        &decode_message(wire, opts).expect("vector decodes"),
        msg,
        "decode"
    );
}

const TWO_OCTET: DecodeOptions = DecodeOptions {
    four_octet_as: false,
    extended_nexthop_ipv4: false,
};
const FOUR_OCTET: DecodeOptions = DecodeOptions {
    four_octet_as: true,
    extended_nexthop_ipv4: false,
};
const FOUR_OCTET_ENH: DecodeOptions = DecodeOptions {
    four_octet_as: true,
    extended_nexthop_ipv4: true,
};
