//! Codec tests: hand-written vectors both ways (`vectors`), packets captured
//! from FRR and BIRD (`captured`), and property tests (`props`).

mod captured;
mod props;
mod vectors;

use super::auth::{self, AuthKey};
use super::{Packet, Version, checksum};

/// Encodes and seals `packet` as the wire would carry it: OSPFv2 with the
/// checksum or digest, OSPFv3 with the checksum for `src`/`dst` (the kernel's
/// job in production).
pub(super) fn wire(
    packet: &Packet,
    key: Option<&AuthKey>,
    v3_addrs: Option<(std::net::Ipv6Addr, std::net::Ipv6Addr)>,
) -> Vec<u8> {
    let mut bytes = packet.encode();
    match packet.version {
        Version::V2 => {
            let seq = match packet.auth {
                super::AuthHeader::Crypto { seq, .. } => seq,
                _ => 0,
            };
            auth::seal(&mut bytes, key, seq);
        }
        Version::V3 => {
            if let Some((src, dst)) = v3_addrs {
                let sum = checksum::ospfv3_packet(src, dst, &bytes);
                bytes[12..14].copy_from_slice(&sum.to_be_bytes());
            }
        }
    }
    bytes
}
