//! OSPFv2 authentication (RFC 2328 appendix D): null authentication with
//! the packet checksum, keyed MD5 (D.4.3), and HMAC-SHA (RFC 5709).
//!
//! With cryptographic authentication the packet checksum is not computed
//! (D.4.3: "the checksum field is set to 0"); a digest follows the packet,
//! outside the OSPF length but inside the IP datagram:
//!
//! ```text
//! +----------------------+------------------------------+
//! | OSPF packet (length) | digest (Auth Data Len octets)|
//! +----------------------+------------------------------+
//! ```
//!
//! - Keyed MD5: the 16-octet key (zero-padded) is appended, MD5 is taken
//!   over packet and key, and the digest overwrites the key.
//! - HMAC-SHA (RFC 5709 3.3): `Apad` (0x878FE1F3 repeated to the hash length
//!   L) is appended, HMAC with the key `Ks` is taken over packet and Apad,
//!   and the result overwrites Apad. `Ks` is the key, or its hash when it is
//!   longer than L (RFC 5709 3.3 (a)); keys up to L octets are used as is
//!   (zero padding to L and then to the block size is what HMAC does anyway).
//!
//! The sequence number check (non-decreasing per neighbor, D.4.3) needs
//! neighbor state and is done by the interface.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::checksum;
use super::iana::au_type;
use super::packet::V2_HEADER_LEN;

/// RFC 5709 3.3: the Apad constant.
const APAD_WORD: [u8; 4] = [0x87, 0x8f, 0xe1, 0xf3];
/// RFC 2328 D.4.3: keyed MD5 uses a 16-octet key and digest.
const MD5_LEN: usize = 16;

/// The digest algorithms of OSPFv2 cryptographic authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RFC 2328 D.4.3 keyed MD5.
    Md5,
    /// RFC 5709.
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Algorithm {
    /// Auth Data Len: the digest's length in octets.
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Md5 => MD5_LEN,
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }
}

/// One interface's authentication key.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey {
    pub algorithm: Algorithm,
    pub key_id: u8,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("AuthKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Why a packet failed authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("AuType {got}, this interface uses {expected}")]
    TypeMismatch { expected: u16, got: u16 },
    #[error("key ID {got}, this interface uses {expected}")]
    KeyIdMismatch { expected: u8, got: u8 },
    #[error("Auth Data Len {got}, this interface's algorithm needs {expected}")]
    BadDigestLength { expected: usize, got: usize },
    #[error("the digest is missing or cut short")]
    MissingDigest,
    #[error("the digest does not match")]
    DigestMismatch,
    #[error("cryptographic sequence number {got} below the last one seen, {last}")]
    Replay { last: u32, got: u32 },
}

/// Seals an encoded OSPFv2 packet (checksum zero, AuType whatever) for an
/// interface: with no key, sets AuType 0 and the checksum; with a key, sets
/// the cryptographic fields and appends the digest.
pub fn seal(packet: &mut Vec<u8>, key: Option<&AuthKey>, seq: u32) {
    if packet.len() < V2_HEADER_LEN {
        return;
    }
    match key {
        None => {
            packet[14..24].fill(0);
            let sum = checksum::ospfv2_packet(packet);
            packet[12..14].copy_from_slice(&sum.to_be_bytes());
        }
        Some(key) => {
            packet[12..14].fill(0);
            packet[14..16].copy_from_slice(&au_type::CRYPTOGRAPHIC.to_be_bytes());
            packet[16..18].fill(0);
            packet[18] = key.key_id;
            packet[19] = key.algorithm.digest_len() as u8;
            packet[20..24].copy_from_slice(&seq.to_be_bytes());
            let digest = digest(key, packet);
            packet.extend_from_slice(&digest);
        }
    }
}

/// Checks an OSPFv2 packet's checksum or digest against the interface's
/// key (`None`: null authentication). `datagram` is the whole IP payload.
/// Returns the cryptographic sequence number for the replay check.
pub fn verify(datagram: &[u8], key: Option<&AuthKey>) -> Result<Option<u32>, super::DecodeError> {
    if datagram.len() < V2_HEADER_LEN {
        return Err(super::DecodeError::Truncated { what: "header" });
    }
    let length = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    if length < V2_HEADER_LEN || length > datagram.len() {
        return Err(super::DecodeError::BadLength {
            field: length,
            actual: datagram.len(),
        });
    }
    let got_type = u16::from_be_bytes([datagram[14], datagram[15]]);
    let packet = &datagram[..length];
    match key {
        None => {
            if got_type != au_type::NULL {
                return Err(AuthError::TypeMismatch {
                    expected: au_type::NULL,
                    got: got_type,
                }
                .into());
            }
            let field = u16::from_be_bytes([packet[12], packet[13]]);
            if checksum::ospfv2_packet(packet) != field {
                return Err(super::DecodeError::BadChecksum);
            }
            Ok(None)
        }
        Some(key) => {
            if got_type != au_type::CRYPTOGRAPHIC {
                return Err(AuthError::TypeMismatch {
                    expected: au_type::CRYPTOGRAPHIC,
                    got: got_type,
                }
                .into());
            }
            if datagram[18] != key.key_id {
                return Err(AuthError::KeyIdMismatch {
                    expected: key.key_id,
                    got: datagram[18],
                }
                .into());
            }
            let want_len = key.algorithm.digest_len();
            let got_len = usize::from(datagram[19]);
            if got_len != want_len {
                return Err(AuthError::BadDigestLength {
                    expected: want_len,
                    got: got_len,
                }
                .into());
            }
            let Some(received) = datagram.get(length..length + want_len) else {
                return Err(AuthError::MissingDigest.into());
            };
            let computed = digest(key, packet);
            if !constant_time_eq(&computed, received) {
                return Err(AuthError::DigestMismatch.into());
            }
            Ok(Some(u32::from_be_bytes([
                datagram[20],
                datagram[21],
                datagram[22],
                datagram[23],
            ])))
        }
    }
}

/// RFC 5709 3.3 with hash `$hash` of output length L. A macro rather than a
/// generic function: `Hmac<H>`'s trait bounds are spelled out in digest's
/// core API and would be longer than the four expansions.
macro_rules! hmac_sha {
    ($hash:ty, $key:expr, $packet:expr) => {{
        let l = <$hash as Digest>::output_size();
        let ks: Vec<u8> = if $key.len() > l {
            <$hash>::digest($key).to_vec()
        } else {
            $key.to_vec()
        };
        let apad: Vec<u8> = APAD_WORD.iter().copied().cycle().take(l).collect();
        match <Hmac<$hash> as Mac>::new_from_slice(&ks) {
            Ok(mut mac) => {
                mac.update($packet);
                mac.update(&apad);
                mac.finalize().into_bytes().to_vec()
            }
            // HMAC takes keys of any length; this arm is unreachable.
            Err(_) => vec![0; l],
        }
    }};
}

/// The digest of `packet` (header's cryptographic fields already set).
fn digest(key: &AuthKey, packet: &[u8]) -> Vec<u8> {
    match key.algorithm {
        Algorithm::Md5 => {
            let mut padded_key = [0u8; MD5_LEN];
            let n = key.key.len().min(MD5_LEN);
            padded_key[..n].copy_from_slice(&key.key[..n]);
            let mut h = md5::Md5::new();
            h.update(packet);
            h.update(padded_key);
            h.finalize().to_vec()
        }
        Algorithm::HmacSha1 => hmac_sha!(Sha1, &key.key, packet),
        Algorithm::HmacSha256 => hmac_sha!(Sha256, &key.key, packet),
        Algorithm::HmacSha384 => hmac_sha!(Sha384, &key.key, packet),
        Algorithm::HmacSha512 => hmac_sha!(Sha512, &key.key, packet),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
