//! The OPEN optional-parameter and capability parser (RFC 5492, RFC 9072
//! extended optional parameters). The input is a control octet and the
//! Optional Parameters; `inputs::open_capabilities` wraps them in an OPEN
//! with a valid fixed part, in the RFC 4271 or the RFC 9072 encoding, so
//! every mutation reaches the parameter parser.
//!
//! Oracles: no panic; decoding allocates at most `alloc_bound::limit` of
//! the message length at its peak; a decoded OPEN re-encodes into something that decodes
//! to the same OPEN.
#![no_main]

#[path = "../alloc_bound.rs"]
mod alloc_bound;

#[global_allocator]
static ALLOCATOR: alloc_bound::Counting = alloc_bound::Counting;

#[path = "../inputs.rs"]
mod inputs;

use libfuzzer_sys::fuzz_target;
use vipd::bgp::wire::{DecodeOptions, Notification, decode_message, encode_message};

fuzz_target!(|data: &[u8]| {
    let Some(input) = inputs::open_capabilities(data) else {
        return;
    };
    let opts = DecodeOptions {
        four_octet_as: input.four_octet_as,
        extended_nexthop_ipv4: input.extended_nexthop_ipv4,
    };
    let len = input.message.len();
    match alloc_bound::bounded(len, "decode", || decode_message(&input.message, opts)) {
        Ok(decoded) => {
            let mut out = bytes::BytesMut::new();
            encode_message(&decoded, opts, &mut out);
            let again = decode_message(&out, opts).expect("our own encoding decodes");
            assert_eq!(decoded, again);
        }
        Err(e) => {
            let _ = Notification::from(&e).to_string();
        }
    }
});
