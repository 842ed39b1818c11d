//! MP_REACH_NLRI and MP_UNREACH_NLRI: RFC 4760 3 and 4, RFC 8950 for IPv4
//! NLRI with an IPv6 next hop, RFC 2545 3 for the IPv6 link-local next hop.
//!
//! Prefixes are decoded for IPv4/IPv6 unicast and multicast; the NLRI of
//! any other family is kept as raw octets so that it round-trips.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, Bytes, BytesMut};
use ipnet::IpNet;
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16};

use super::DecodeOptions;
use super::attribute::{Decoded, PathAttribute};
use super::error::{AttributeError, DecodeError, Rfc7606Action, UpdateError};
use super::iana::{Afi, AttributeType, Safi};
use super::nlri::{decode_prefixes, encode_prefix};

/// RFC 4760 3.
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// +---------------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet)          |
/// +---------------------------------------------------------+
/// | Length of Next Hop Network Address (1 octet)            |
/// +---------------------------------------------------------+
/// | Network Address of Next Hop (variable)                  |
/// +---------------------------------------------------------+
/// | Reserved (1 octet)                                      |
/// +---------------------------------------------------------+
/// | Network Layer Reachability Information (variable)       |
/// +---------------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpReach {
    pub afi: Afi,
    pub safi: Safi,
    pub next_hop: MpNextHop,
    /// Decoded prefixes (IPv4/IPv6 unicast and multicast only).
    pub nlri: Vec<IpNet>,
    /// The NLRI octets of any other family, verbatim (empty otherwise).
    pub unparsed_nlri: Bytes,
}

/// The next hop of an MP_REACH_NLRI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MpNextHop {
    /// 4 octets (IPv4 NLRI).
    Ipv4(Ipv4Addr),
    /// 16 octets, or 32 with the link-local address (RFC 2545 3); for IPv4
    /// NLRI this is RFC 8950.
    Ipv6 {
        global: Ipv6Addr,
        link_local: Option<Ipv6Addr>,
    },
    /// Any other family's next hop, verbatim.
    Other(Bytes),
}

/// RFC 4760 4.
/// ```text
/// +---------------------------------------------------------+
/// | Address Family Identifier (2 octets)                    |
/// +---------------------------------------------------------+
/// | Subsequent Address Family Identifier (1 octet)          |
/// +---------------------------------------------------------+
/// | Withdrawn Routes (variable)                             |
/// +---------------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpUnreach {
    pub afi: Afi,
    pub safi: Safi,
    pub withdrawn: Vec<IpNet>,
    /// The withdrawn octets of any other family, verbatim (empty otherwise).
    pub unparsed_withdrawn: Bytes,
}

/// Families whose NLRI are plain RFC 4271 prefixes.
fn prefixes_parsed(afi: Afi, safi: Safi) -> bool {
    matches!(afi, Afi::Ipv4 | Afi::Ipv6) && matches!(safi, Safi::Unicast | Safi::Multicast)
}

fn reset(type_code: AttributeType, raw: &[u8], reason: &'static str) -> DecodeError {
    // RFC 4760 7 / RFC 7606 7.11: a session reset with Optional Attribute
    // Error; RFC 4271 6.3 puts the attribute in the data.
    UpdateError::OptionalAttributeError {
        type_code: type_code.into(),
        attribute: Bytes::copy_from_slice(raw),
        reason,
    }
    .into()
}

impl MpNextHop {
    fn decode(afi: Afi, safi: Safi, nh: &[u8]) -> Option<MpNextHop> {
        if !prefixes_parsed(afi, safi) {
            return Some(MpNextHop::Other(Bytes::copy_from_slice(nh)));
        }
        let v6 =
            |b: &[u8]| -> Option<Ipv6Addr> { <[u8; 16]>::try_from(b).ok().map(Ipv6Addr::from) };
        match (afi, nh.len()) {
            (Afi::Ipv4, 4) => <[u8; 4]>::try_from(nh)
                .ok()
                .map(|a| MpNextHop::Ipv4(a.into())),
            (_, 16) => Some(MpNextHop::Ipv6 {
                global: v6(nh)?,
                link_local: None,
            }),
            (_, 32) => Some(MpNextHop::Ipv6 {
                global: v6(nh.get(..16)?)?,
                link_local: Some(v6(nh.get(16..)?)?),
            }),
            _ => None,
        }
    }

    fn encode(&self, out: &mut BytesMut) {
        match self {
            MpNextHop::Ipv4(a) => {
                out.put_u8(4);
                out.put_slice(&a.octets());
            }
            MpNextHop::Ipv6 { global, link_local } => {
                out.put_u8(if link_local.is_some() { 32 } else { 16 });
                out.put_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.put_slice(&ll.octets());
                }
            }
            MpNextHop::Other(b) => {
                let len = b.len().min(255);
                out.put_u8(len as u8);
                out.put_slice(&b[..len]);
            }
        }
    }
}

impl MpReach {
    /// Decodes the value. A next hop or NLRI that does not parse resets the
    /// session (RFC 7606 7.11: we do not implement "AFI/SAFI disable").
    pub(crate) fn decode(
        value: &[u8],
        raw: &[u8],
        opts: DecodeOptions,
    ) -> Result<Decoded, DecodeError> {
        let ty = AttributeType::MpReachNlri;
        let (rest, afi) =
            be_u16::<_, ()>(value).map_err(|_| reset(ty, raw, "too short for AFI"))?;
        let (rest, safi) =
            be_u8::<_, ()>(rest).map_err(|_| reset(ty, raw, "too short for SAFI"))?;
        let (rest, nh_len) =
            be_u8::<_, ()>(rest).map_err(|_| reset(ty, raw, "too short for next hop length"))?;
        let (rest, nh) = take::<_, _, ()>(nh_len)(rest)
            .map_err(|_| reset(ty, raw, "next hop overruns the attribute"))?;
        let (rest, _reserved) =
            be_u8::<_, ()>(rest).map_err(|_| reset(ty, raw, "reserved octet missing"))?;
        let (afi, safi) = (Afi::from(afi), Safi::from(safi));
        let next_hop = MpNextHop::decode(afi, safi, nh)
            .ok_or_else(|| reset(ty, raw, "next hop length inconsistent with the AFI/SAFI"))?;
        let (nlri, unparsed_nlri) = match decode_prefixes(afi, rest) {
            Some(parsed) if prefixes_parsed(afi, safi) => (
                parsed.map_err(|reason| reset(ty, raw, reason))?,
                Bytes::new(),
            ),
            _ => (Vec::new(), Bytes::copy_from_slice(rest)),
        };
        let reach = MpReach {
            afi,
            safi,
            next_hop,
            nlri,
            unparsed_nlri,
        };
        // RFC 8950 4: an IPv6 next hop for IPv4 NLRI is only valid once the
        // Extended Next Hop capability was exchanged for the family.
        if afi == Afi::Ipv4
            && matches!(reach.next_hop, MpNextHop::Ipv6 { .. })
            && !opts.extended_nexthop_ipv4
        {
            let err = AttributeError::new(
                ty.into(),
                Rfc7606Action::TreatAsWithdraw,
                "IPv6 next hop for IPv4 NLRI without RFC 8950 negotiated",
            );
            return Ok(Decoded::KeptWithError(PathAttribute::MpReach(reach), err));
        }
        Ok(Decoded::Ok(PathAttribute::MpReach(reach)))
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.afi.into());
        out.put_u8(self.safi.into());
        self.next_hop.encode(out);
        out.put_u8(0);
        for p in &self.nlri {
            encode_prefix(p, out);
        }
        out.put_slice(&self.unparsed_nlri);
    }
}

impl MpUnreach {
    /// The End-of-RIB marker for a family other than IPv4 unicast (RFC 4724 2).
    pub fn end_of_rib(afi: Afi, safi: Safi) -> MpUnreach {
        MpUnreach {
            afi,
            safi,
            withdrawn: Vec::new(),
            unparsed_withdrawn: Bytes::new(),
        }
    }

    pub(crate) fn decode(value: &[u8], raw: &[u8]) -> Result<MpUnreach, DecodeError> {
        let ty = AttributeType::MpUnreachNlri;
        let (rest, afi) =
            be_u16::<_, ()>(value).map_err(|_| reset(ty, raw, "too short for AFI"))?;
        let (rest, safi) =
            be_u8::<_, ()>(rest).map_err(|_| reset(ty, raw, "too short for SAFI"))?;
        let (afi, safi) = (Afi::from(afi), Safi::from(safi));
        let (withdrawn, unparsed_withdrawn) = match decode_prefixes(afi, rest) {
            Some(parsed) if prefixes_parsed(afi, safi) => (
                parsed.map_err(|reason| reset(ty, raw, reason))?,
                Bytes::new(),
            ),
            _ => (Vec::new(), Bytes::copy_from_slice(rest)),
        };
        Ok(MpUnreach {
            afi,
            safi,
            withdrawn,
            unparsed_withdrawn,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.afi.into());
        out.put_u8(self.safi.into());
        for p in &self.withdrawn {
            encode_prefix(p, out);
        }
        out.put_slice(&self.unparsed_withdrawn);
    }
}
