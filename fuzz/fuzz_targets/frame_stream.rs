//! A byte stream read in fuzzer-chosen chunks: framing plus decoding must
//! not panic, and never return a frame larger than 4096 octets.
#![no_main]

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
                    let _ = decode_message(&frame, DecodeOptions::default());
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
