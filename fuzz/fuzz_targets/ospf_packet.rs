//! The OSPFv2/OSPFv3 packet and LSA decoders (`vipd::ospf::wire`). The
//! first octet picks the entry point (`inputs::ospf`):
//! - a packet: `Packet::decode`; a decoded packet must re-encode and decode
//!   to the same packet, and every LSA of an LS Update goes through
//!   `validate` and `decode_body`;
//! - an authenticated packet: `auth::verify` with an MD5 and an
//!   HMAC-SHA-256 key and without one, then as above;
//! - an LSA body for a given LS type through `LsaBody::decode` for both
//!   versions; what decodes re-encodes into octets that decode to the same
//!   body.
//!
//! Oracles: no panic, no out-of-bounds read, the round trips above, and
//! decoding allocates at most `alloc_bound::limit` of the input's length.
#![no_main]

#[path = "../alloc_bound.rs"]
mod alloc_bound;

#[global_allocator]
static ALLOCATOR: alloc_bound::Counting = alloc_bound::Counting;

#[path = "../inputs.rs"]
mod inputs;

use inputs::OspfInput;
use libfuzzer_sys::fuzz_target;
use vipd::ospf::wire::auth::{self, Algorithm, AuthKey};
use vipd::ospf::wire::lsa::LsaBody;
use vipd::ospf::wire::{Body, Packet, Version};

fn packet(bytes: &[u8]) {
    let Ok(p) = alloc_bound::bounded(bytes.len(), "packet", || Packet::decode(bytes)) else {
        return;
    };
    let encoded = p.encode();
    let again = Packet::decode(&encoded).expect("our own encoding decodes");
    assert_eq!(p, again);
    if let Body::LsUpdate(lsas) = &p.body {
        for lsa in lsas {
            let _ = lsa.validate(p.version);
            let _ = lsa.decode_body(p.version);
        }
    }
}

fn body(version: Version, ls_type: u16, bytes: &[u8]) {
    let decoded = alloc_bound::bounded(bytes.len(), "LSA body", || {
        LsaBody::decode(version, ls_type, bytes)
    });
    let Ok(b) = decoded else {
        return;
    };
    let mut out = Vec::new();
    b.encode(&mut out);
    let again = LsaBody::decode(version, ls_type, &out).expect("our own encoding decodes");
    assert_eq!(b, again);
}

fuzz_target!(|data: &[u8]| {
    match inputs::ospf(data) {
        None => {}
        Some(OspfInput::Packet(bytes)) => packet(bytes),
        Some(OspfInput::Authenticated(bytes)) => {
            for algorithm in [Algorithm::Md5, Algorithm::HmacSha256] {
                let key = AuthKey {
                    algorithm,
                    key_id: 1,
                    key: inputs::OSPF_KEY.to_vec(),
                };
                let _ = auth::verify(bytes, Some(&key));
            }
            let _ = auth::verify(bytes, None);
            packet(bytes);
        }
        Some(OspfInput::LsaBody {
            ls_type,
            body: bytes,
        }) => {
            body(Version::V2, ls_type, bytes);
            body(Version::V3, ls_type, bytes);
        }
    }
});
