//! The LSA header, whole LSAs as octets, and which of two instances is newer.
//!
//! An [`Lsa`] keeps the octets it was received or originated with: vipd
//! floods other routers' LSAs without re-encoding them (so an extension it
//! does not know survives), and only decodes a body ([`LsaBody`]) to build
//! its own or to test.

use std::cmp::Ordering;
use std::net::Ipv4Addr;

use bytes::Bytes;

use super::checksum;
use super::iana::{constants::*, ls_type};
use super::lsa_v2::{ExternalLsa, NetworkLsa, RouterLsa, SummaryLsa};
use super::lsa_v3::{
    ExternalLsaV3, InterAreaPrefixLsa, InterAreaRouterLsa, IntraAreaPrefixLsa, LinkLsa,
    NetworkLsaV3, RouterLsaV3,
};
use super::{DecodeError, Put, Reader, Version, patch_u16};

/// Length of the LSA header in both versions.
pub const LSA_HEADER_LEN: usize = 20;

/// The LSA header (RFC 2328 A.4.1, RFC 5340 A.4.2).
///
/// ```text
/// OSPFv2:
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |            LS age             |    Options    |    LS type    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// OSPFv3:
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           LS Age              |           LS Type             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// Both:
/// |                        Link State ID                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Advertising Router                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     LS sequence number                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         LS checksum           |             length            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LsaHeader {
    pub age: u16,
    /// OSPFv2 only (OSPFv3 moved the options into the bodies); 0 in OSPFv3.
    pub options: u8,
    /// OSPFv2: 1..=11; OSPFv3: the LS function code with U/S2/S1 bits.
    pub ls_type: u16,
    pub lsid: Ipv4Addr,
    pub adv_router: Ipv4Addr,
    /// A signed number on the wire's linear space (RFC 2328 12.1.6), kept
    /// as its bits; compare with [`seq_cmp`].
    pub seq: u32,
    pub checksum: u16,
    pub length: u16,
}

/// What identifies an LSA in a database (RFC 2328 12.1): type, Link State
/// ID and Advertising Router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LsaKey {
    pub ls_type: u16,
    pub lsid: Ipv4Addr,
    pub adv_router: Ipv4Addr,
}

impl std::fmt::Display for LsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "type {:#x} id {} adv {}",
            self.ls_type, self.lsid, self.adv_router
        )
    }
}

impl LsaHeader {
    pub fn key(&self) -> LsaKey {
        LsaKey {
            ls_type: self.ls_type,
            lsid: self.lsid,
            adv_router: self.adv_router,
        }
    }

    pub fn decode(version: Version, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let age = r.u16()?;
        let (options, ls_type) = match version {
            Version::V2 => (r.u8()?, u16::from(r.u8()?)),
            Version::V3 => (0, r.u16()?),
        };
        Ok(LsaHeader {
            age,
            options,
            ls_type,
            lsid: r.ipv4()?,
            adv_router: r.ipv4()?,
            seq: r.u32()?,
            checksum: r.u16()?,
            length: r.u16()?,
        })
    }

    pub fn encode(&self, version: Version, buf: &mut Vec<u8>) {
        buf.put_u16(self.age);
        match version {
            Version::V2 => {
                buf.put_u8(self.options);
                // OSPFv2 LS types are one octet; nothing larger is built.
                buf.put_u8(self.ls_type as u8);
            }
            Version::V3 => buf.put_u16(self.ls_type),
        }
        buf.put_ipv4(self.lsid);
        buf.put_ipv4(self.adv_router);
        buf.put_u32(self.seq);
        buf.put_u16(self.checksum);
        buf.put_u16(self.length);
    }

    pub fn is_max_age(&self) -> bool {
        self.age >= MAX_AGE
    }
}

/// Sequence numbers are signed 32-bit (RFC 2328 12.1.6).
pub fn seq_cmp(a: u32, b: u32) -> Ordering {
    (a as i32).cmp(&(b as i32))
}

/// Which of two instances of one LSA is more recent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recency {
    /// The first is more recent.
    Newer,
    /// The second is more recent.
    Older,
    /// The two are the same instance.
    Same,
}

/// RFC 2328 13.1: which of two instances is more recent. The ages must be
/// the current ones (as aged in a database, or as just received).
pub fn compare(a: &LsaHeader, b: &LsaHeader) -> Recency {
    match seq_cmp(a.seq, b.seq) {
        Ordering::Greater => return Recency::Newer,
        Ordering::Less => return Recency::Older,
        Ordering::Equal => {}
    }
    // RFC 2328 13.1: "the instance having the larger LS checksum".
    match a.checksum.cmp(&b.checksum) {
        Ordering::Greater => return Recency::Newer,
        Ordering::Less => return Recency::Older,
        Ordering::Equal => {}
    }
    match (a.is_max_age(), b.is_max_age()) {
        (true, false) => return Recency::Newer,
        (false, true) => return Recency::Older,
        _ => {}
    }
    if a.age.abs_diff(b.age) > MAX_AGE_DIFF {
        // The younger one is more recent.
        return if a.age < b.age {
            Recency::Newer
        } else {
            Recency::Older
        };
    }
    Recency::Same
}

/// One whole LSA: its decoded header and the octets it travels as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lsa {
    pub header: LsaHeader,
    /// Header and body, `header.length` octets, age as in `header`.
    pub raw: Bytes,
}

impl Lsa {
    /// Reads one LSA (its length field says how long) from an LS Update.
    /// Checks framing only; [`Lsa::validate`] checks the contents.
    pub fn decode(version: Version, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.remaining() < LSA_HEADER_LEN {
            return Err(DecodeError::Truncated { what: "LSA header" });
        }
        let whole = r.bytes(LSA_HEADER_LEN)?;
        let mut hr = Reader::new(whole, "LSA header");
        let header = LsaHeader::decode(version, &mut hr)?;
        let length = usize::from(header.length);
        if length < LSA_HEADER_LEN || length - LSA_HEADER_LEN > r.remaining() {
            return Err(DecodeError::BadFieldLength {
                what: "LSA",
                length,
            });
        }
        let body = r.bytes(length - LSA_HEADER_LEN)?;
        let mut raw = Vec::with_capacity(length);
        raw.extend_from_slice(whole);
        raw.extend_from_slice(body);
        Ok(Lsa {
            header,
            raw: Bytes::from(raw),
        })
    }

    /// RFC 2328 13 steps 1-3 (and the 12.1.6 reserved sequence number): a
    /// checksum that verifies, an age not above MaxAge, a known type.
    pub fn validate(&self, version: Version) -> Result<(), DecodeError> {
        if !checksum::fletcher_ok(&self.raw) {
            return Err(DecodeError::BadLsaChecksum);
        }
        if self.header.seq == RESERVED_SEQUENCE_NUMBER {
            return Err(DecodeError::BogusSequenceNumber);
        }
        if self.header.age > MAX_AGE {
            return Err(DecodeError::BogusAge {
                age: self.header.age,
            });
        }
        if !is_known_type(version, self.header.ls_type) {
            return Err(DecodeError::UnknownLsaType {
                ls_type: self.header.ls_type,
            });
        }
        Ok(())
    }

    /// Builds an LSA: encodes `body`, fills in the length and the checksum.
    pub fn build(version: Version, mut header: LsaHeader, body: &LsaBody) -> Self {
        let mut raw = Vec::with_capacity(64);
        header.encode(version, &mut raw);
        body.encode(&mut raw);
        header.length = raw.len() as u16;
        patch_u16(&mut raw, 18, header.length);
        checksum::seal_lsa(&mut raw);
        header.checksum = u16::from_be_bytes([raw[16], raw[17]]);
        Lsa {
            header,
            raw: Bytes::from(raw),
        }
    }

    /// The same instance with another age (the checksum does not cover it).
    pub fn with_age(&self, age: u16) -> Self {
        let mut raw = self.raw.to_vec();
        patch_u16(&mut raw, 0, age);
        Lsa {
            header: LsaHeader { age, ..self.header },
            raw: Bytes::from(raw),
        }
    }

    pub fn key(&self) -> LsaKey {
        self.header.key()
    }

    pub fn body(&self) -> &[u8] {
        self.raw.get(LSA_HEADER_LEN..).unwrap_or_default()
    }

    pub fn decode_body(&self, version: Version) -> Result<LsaBody, DecodeError> {
        LsaBody::decode(version, self.header.ls_type, self.body())
    }
}

/// The LS types vipd stores and floods (RFC 2328 13 step 2). OSPFv3 knows
/// every type: RFC 5340 4.5.1 says how to flood unknown ones by their bits.
pub fn is_known_type(version: Version, t: u16) -> bool {
    match version {
        Version::V2 => matches!(
            t,
            ls_type::V2_ROUTER
                | ls_type::V2_NETWORK
                | ls_type::V2_SUMMARY_NETWORK
                | ls_type::V2_SUMMARY_ASBR
                | ls_type::V2_AS_EXTERNAL
                | ls_type::V2_OPAQUE_LINK
                | ls_type::V2_OPAQUE_AREA
                | ls_type::V2_OPAQUE_AS
        ),
        Version::V3 => true,
    }
}

/// The OSPFv3 LS types RFC 5340 defines.
pub fn is_v3_known(t: u16) -> bool {
    matches!(
        t,
        ls_type::V3_ROUTER
            | ls_type::V3_NETWORK
            | ls_type::V3_INTER_AREA_PREFIX
            | ls_type::V3_INTER_AREA_ROUTER
            | ls_type::V3_AS_EXTERNAL
            | ls_type::V3_NSSA
            | ls_type::V3_LINK
            | ls_type::V3_INTRA_AREA_PREFIX
    )
}

/// An LSA body, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LsaBody {
    /// OSPFv2 type 1.
    Router(RouterLsa),
    /// OSPFv2 type 2.
    Network(NetworkLsa),
    /// OSPFv2 types 3 and 4.
    Summary(SummaryLsa),
    /// OSPFv2 type 5 (and 7, same format).
    External(ExternalLsa),
    /// OSPFv3 0x2001.
    RouterV3(RouterLsaV3),
    /// OSPFv3 0x2002.
    NetworkV3(NetworkLsaV3),
    /// OSPFv3 0x2003.
    InterAreaPrefix(InterAreaPrefixLsa),
    /// OSPFv3 0x2004.
    InterAreaRouter(InterAreaRouterLsa),
    /// OSPFv3 0x4005 and 0x2007.
    ExternalV3(ExternalLsaV3),
    /// OSPFv3 0x0008.
    Link(LinkLsa),
    /// OSPFv3 0x2009.
    IntraAreaPrefix(IntraAreaPrefixLsa),
    /// Anything else, kept as octets (opaque LSAs, future types).
    Unknown(Vec<u8>),
}

impl LsaBody {
    pub fn decode(version: Version, t: u16, body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body, "LSA body");
        let decoded = match (version, t) {
            (Version::V2, ls_type::V2_ROUTER) => LsaBody::Router(RouterLsa::decode(&mut r)?),
            (Version::V2, ls_type::V2_NETWORK) => LsaBody::Network(NetworkLsa::decode(&mut r)?),
            (Version::V2, ls_type::V2_SUMMARY_NETWORK | ls_type::V2_SUMMARY_ASBR) => {
                LsaBody::Summary(SummaryLsa::decode(&mut r)?)
            }
            (Version::V2, ls_type::V2_AS_EXTERNAL | ls_type::V2_NSSA) => {
                LsaBody::External(ExternalLsa::decode(&mut r)?)
            }
            (Version::V3, ls_type::V3_ROUTER) => LsaBody::RouterV3(RouterLsaV3::decode(&mut r)?),
            (Version::V3, ls_type::V3_NETWORK) => LsaBody::NetworkV3(NetworkLsaV3::decode(&mut r)?),
            (Version::V3, ls_type::V3_INTER_AREA_PREFIX) => {
                LsaBody::InterAreaPrefix(InterAreaPrefixLsa::decode(&mut r)?)
            }
            (Version::V3, ls_type::V3_INTER_AREA_ROUTER) => {
                LsaBody::InterAreaRouter(InterAreaRouterLsa::decode(&mut r)?)
            }
            (Version::V3, ls_type::V3_AS_EXTERNAL | ls_type::V3_NSSA) => {
                LsaBody::ExternalV3(ExternalLsaV3::decode(&mut r)?)
            }
            (Version::V3, ls_type::V3_LINK) => LsaBody::Link(LinkLsa::decode(&mut r)?),
            (Version::V3, ls_type::V3_INTRA_AREA_PREFIX) => {
                LsaBody::IntraAreaPrefix(IntraAreaPrefixLsa::decode(&mut r)?)
            }
            _ => LsaBody::Unknown(r.rest().to_vec()),
        };
        if !r.is_empty() {
            return Err(DecodeError::BadFieldLength {
                what: "LSA body",
                length: body.len(),
            });
        }
        Ok(decoded)
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        match self {
            LsaBody::Router(b) => b.encode(buf),
            LsaBody::Network(b) => b.encode(buf),
            LsaBody::Summary(b) => b.encode(buf),
            LsaBody::External(b) => b.encode(buf),
            LsaBody::RouterV3(b) => b.encode(buf),
            LsaBody::NetworkV3(b) => b.encode(buf),
            LsaBody::InterAreaPrefix(b) => b.encode(buf),
            LsaBody::InterAreaRouter(b) => b.encode(buf),
            LsaBody::ExternalV3(b) => b.encode(buf),
            LsaBody::Link(b) => b.encode(buf),
            LsaBody::IntraAreaPrefix(b) => b.encode(buf),
            LsaBody::Unknown(b) => buf.extend_from_slice(b),
        }
    }
}
