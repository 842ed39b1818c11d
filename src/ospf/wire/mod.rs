//! The OSPF codec: OSPFv2 (RFC 2328 appendix A) and OSPFv3 (RFC 5340
//! appendix A) packets and LSAs, one model for both versions.
//!
//! The two versions share their packet types, their LSA header size and the
//! LSA checksum; they differ in field widths and placement. Each type below
//! carries the union of both versions' fields (a field only one version has
//! is documented so) and is encoded and decoded for a given [`Version`].
//!
//! Decoding is complete, never streaming: the driver hands one whole IP
//! payload to [`Packet::decode`], which checks the header's length before
//! reading anything else. Checksums and authentication are separate steps
//! ([`checksum`], [`auth`]) because they need the interface's keys and, for
//! OSPFv3, the IPv6 pseudo-header.
//!
//! - [`packet`]: the common header and the five packet types.
//! - [`lsa`]: the LSA header, whole LSAs and the RFC 2328 13.1 comparison.
//! - [`lsa_v2`], [`lsa_v3`]: LSA bodies.
//! - [`iana`]: code points.

pub mod auth;
pub mod checksum;
pub mod iana;
pub mod lsa;
pub mod lsa_v2;
pub mod lsa_v3;
pub mod packet;

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, Ipv6Addr};

pub use lsa::{Lsa, LsaHeader, LsaKey, Recency, compare};
pub use packet::{AuthHeader, Body, DbDesc, DdFlags, Hello, LsRequest, Packet, PacketType};

/// Which OSPF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// OSPFv2, RFC 2328: IPv4.
    V2,
    /// OSPFv3, RFC 5340: IPv6.
    V3,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Version::V2 => "OSPFv2",
            Version::V3 => "OSPFv3",
        })
    }
}

/// Why a packet or an LSA was not accepted. Every variant is counted under
/// [`DecodeError::kind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated {what}")]
    Truncated { what: &'static str },
    #[error("version {got}, expected 2 or 3")]
    BadVersion { got: u8 },
    #[error("unknown packet type {packet_type}")]
    UnknownPacketType { packet_type: u8 },
    #[error("length field says {field} octets, {actual} present")]
    BadLength { field: usize, actual: usize },
    #[error("bad {what} length {length}")]
    BadFieldLength { what: &'static str, length: usize },
    #[error("bad packet checksum")]
    BadChecksum,
    #[error("bad LSA checksum")]
    BadLsaChecksum,
    #[error("reserved LS sequence number 0x80000000")]
    BogusSequenceNumber,
    #[error("LS age {age} above MaxAge")]
    BogusAge { age: u16 },
    #[error("unknown LS type {ls_type:#x}")]
    UnknownLsaType { ls_type: u16 },
    #[error("bad prefix length {length}")]
    BadPrefixLength { length: u8 },
    #[error("authentication: {0}")]
    Auth(#[from] auth::AuthError),
}

impl DecodeError {
    /// A short stable name for counters and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::BadVersion { .. } => "bad_version",
            DecodeError::UnknownPacketType { .. } => "unknown_packet_type",
            DecodeError::BadLength { .. } | DecodeError::BadFieldLength { .. } => "bad_length",
            DecodeError::BadChecksum => "bad_checksum",
            DecodeError::BadLsaChecksum => "bad_lsa_checksum",
            DecodeError::BogusSequenceNumber => "bogus_sequence_number",
            DecodeError::BogusAge { .. } => "bogus_age",
            DecodeError::UnknownLsaType { .. } => "unknown_lsa_type",
            DecodeError::BadPrefixLength { .. } => "bad_prefix_length",
            DecodeError::Auth(_) => "authentication",
        }
    }
}

/// A bounds-checked big-endian reader over one complete packet or LSA.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// `what` names the structure in a [`DecodeError::Truncated`].
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated { what: self.what });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u24(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn ipv4(&mut self) -> Result<Ipv4Addr, DecodeError> {
        Ok(Ipv4Addr::from(self.u32()?))
    }

    pub fn ipv6(&mut self) -> Result<Ipv6Addr, DecodeError> {
        let b = self.bytes(16)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Ok(Ipv6Addr::from(a))
    }
}

/// Big-endian appends, the encoder's half of [`Reader`].
pub trait Put {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u24(&mut self, v: u32);
    fn put_u32(&mut self, v: u32);
    fn put_ipv4(&mut self, v: Ipv4Addr);
    fn put_ipv6(&mut self, v: Ipv6Addr);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u24(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes()[1..]);
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_ipv4(&mut self, v: Ipv4Addr) {
        self.extend_from_slice(&v.octets());
    }
    fn put_ipv6(&mut self, v: Ipv6Addr) {
        self.extend_from_slice(&v.octets());
    }
}

/// Writes `value` as a big-endian u16 at `at` (a length or checksum filled
/// in after the body is known).
pub fn patch_u16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_be_bytes());
}
