//! One message under both option sets: decoding must not panic, and
//! whatever decodes must re-encode into something that decodes to the same
//! message (RFC 7606 findings aside: the malformed parts are already gone).
//! Decoding allocates at most `alloc_bound::limit` of the input's length.
#![no_main]

#[path = "../alloc_bound.rs"]
mod alloc_bound;

#[global_allocator]
static ALLOCATOR: alloc_bound::Counting = alloc_bound::Counting;

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
    for (four_octet_as, extended_nexthop_ipv4) in [(false, false), (true, true)] {
        let opts = DecodeOptions {
            four_octet_as,
            extended_nexthop_ipv4,
        };
        match alloc_bound::bounded(data.len(), "decode", || decode_message(data, opts)) {
            Ok(msg) => {
                let mut out = bytes::BytesMut::new();
                encode_message(&msg, opts, &mut out);
                let again = decode_message(&out, opts).expect("our own encoding decodes");
                assert_eq!(without_errors(msg), without_errors(again));
            }
            Err(e) => {
                let _ = Notification::from(&e).to_string();
            }
        }
    }
});
