//! A byte stream read in fuzzer-chosen chunks: framing plus decoding must
//! not panic, never return a frame larger than 4096 octets, and decoding a
//! frame allocates at most `alloc_bound::limit` of its length.
#![no_main]

#[path = "../alloc_bound.rs"]
mod alloc_bound;

#[global_allocator]
static ALLOCATOR: alloc_bound::Counting = alloc_bound::Counting;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use vipd::bgp::wire::{DecodeOptions, MAX_MESSAGE_LEN, decode_message, split_frame};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match split_frame(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= MAX_MESSAGE_LEN);
                    let _ = alloc_bound::bounded(frame.len(), "decode", || {
                        decode_message(&frame, DecodeOptions::default())
                    });
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
