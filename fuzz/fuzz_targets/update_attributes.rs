//! The UPDATE path-attribute parser. The input is a control octet and the
//! Path Attributes field; `inputs::update_attributes` wraps it in a
//! well-formed UPDATE (header, no withdrawn routes, the attribute length set
//! to what follows, optionally one NLRI prefix) so every mutation lands in
//! the attribute parser instead of being stopped by the header checks.
//!
//! Oracles: no panic; decoding allocates at most `alloc_bound::limit` of
//! the message length at its peak; whatever decodes re-encodes into something that
//! decodes to the same message (RFC 7606 findings aside), as in
//! `message_decode`.
#![no_main]

#[path = "../alloc_bound.rs"]
mod alloc_bound;

#[global_allocator]
static ALLOCATOR: alloc_bound::Counting = alloc_bound::Counting;

#[path = "../inputs.rs"]
mod inputs;

use libfuzzer_sys::fuzz_target;
use vipd::bgp::wire::{DecodeOptions, Message, Notification, decode_message, encode_message};

fn without_errors(m: Message) -> Message {
    match m {
        Message::Update(mut u) => {
            u.errors.clear();
            Message::Update(u)
        }
        other => other,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = inputs::update_attributes(data) else {
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
            assert_eq!(without_errors(decoded), without_errors(again));
        }
        Err(e) => {
            let _ = Notification::from(&e).to_string();
        }
    }
});
