//! UPDATE message: RFC 4271 4.3, with the RFC 7606 error handling.
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```
//!
//! Decoding never fails for what RFC 7606 lets a speaker survive: those
//! problems are listed in [`Update::errors`] with the malformed attribute
//! dropped, and [`Update::outcome`] says what to do with the routes.

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net};
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16};

use super::DecodeOptions;
use super::attribute::{AsPath, Decoded, Origin, PathAttribute, decode_attribute};
use super::error::{AttributeError, DecodeError, Rfc7606Action, UpdateError};
use super::iana::{Afi, AttributeType, Safi, attr_flags};
use super::mp::{MpReach, MpUnreach};
use super::nlri::{decode_ipv4_prefixes, encode_ipv4_prefixes};

/// Body length of an UPDATE with nothing in it (the IPv4 End-of-RIB).
pub(crate) const UPDATE_MIN_BODY_LEN: usize = 4;

/// An UPDATE message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// Classic IPv4 withdrawn routes.
    pub withdrawn: Vec<Ipv4Net>,
    /// Path attributes in the order received (or to send).
    pub attributes: Vec<PathAttribute>,
    /// Classic IPv4 NLRI.
    pub nlri: Vec<Ipv4Net>,
    /// RFC 7606 problems found while decoding (ignored on encode).
    pub errors: Vec<AttributeError>,
}

impl Update {
    /// RFC 4724 2: the End-of-RIB marker for a family.
    pub fn end_of_rib(afi: Afi, safi: Safi) -> Update {
        if (afi, safi) == (Afi::Ipv4, Safi::Unicast) {
            return Update::default();
        }
        Update {
            attributes: vec![PathAttribute::MpUnreach(MpUnreach::end_of_rib(afi, safi))],
            ..Update::default()
        }
    }

    /// RFC 4724 2: the family this UPDATE marks the End-of-RIB of, if any.
    pub fn is_end_of_rib(&self) -> Option<(Afi, Safi)> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match self.attributes.as_slice() {
            [] => Some((Afi::Ipv4, Safi::Unicast)),
            [PathAttribute::MpUnreach(u)]
                if u.withdrawn.is_empty() && u.unparsed_withdrawn.is_empty() =>
            {
                Some((u.afi, u.safi))
            }
            _ => None,
        }
    }

    pub fn mp_reach(&self) -> Option<&MpReach> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::MpReach(m) => Some(m),
            _ => None,
        })
    }

    pub fn mp_unreach(&self) -> Option<&MpUnreach> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::MpUnreach(m) => Some(m),
            _ => None,
        })
    }

    /// The first attribute of the given type.
    pub fn attribute(&self, ty: AttributeType) -> Option<&PathAttribute> {
        self.attributes.iter().find(|a| a.attribute_type() == ty)
    }

    pub fn origin(&self) -> Option<Origin> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::Origin(o) => Some(*o),
            _ => None,
        })
    }

    pub fn as_path(&self) -> Option<&AsPath> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::AsPath(p) => Some(p),
            _ => None,
        })
    }

    pub fn next_hop(&self) -> Option<Ipv4Addr> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::NextHop(n) => Some(*n),
            _ => None,
        })
    }

    /// Every prefix announced, classic NLRI then MP_REACH_NLRI. When
    /// [`outcome`](Self::outcome) is `TreatAsWithdraw` these must be handled
    /// as withdrawn instead.
    pub fn announced(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.nlri.iter().map(|p| IpNet::V4(*p)).chain(
            self.mp_reach()
                .into_iter()
                .flat_map(|m| m.nlri.iter().copied()),
        )
    }

    /// Every prefix withdrawn, classic withdrawn routes then MP_UNREACH_NLRI.
    pub fn withdrawn_all(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.withdrawn.iter().map(|p| IpNet::V4(*p)).chain(
            self.mp_unreach()
                .into_iter()
                .flat_map(|m| m.withdrawn.iter().copied()),
        )
    }

    /// The strongest RFC 7606 action among [`errors`](Self::errors).
    pub fn outcome(&self) -> Rfc7606Action {
        self.errors
            .iter()
            .map(|e| e.action)
            .max()
            .unwrap_or_default()
    }

    /// Decodes the body (everything after the 19-octet header).
    pub(crate) fn decode(body: &[u8], opts: DecodeOptions) -> Result<Update, DecodeError> {
        let list = |reason| DecodeError::from(UpdateError::MalformedAttributeList { reason });
        // RFC 4271 6.3 / RFC 7606 4: length fields that overrun the message
        // leave nothing to trust: session reset with Malformed Attribute List.
        let (rest, wlen) =
            be_u16::<_, ()>(body).map_err(|_| list("withdrawn routes length missing"))?;
        let (rest, wbytes) = take::<_, _, ()>(wlen)(rest)
            .map_err(|_| list("withdrawn routes length overruns the message"))?;
        let (rest, alen) = be_u16::<_, ()>(rest)
            .map_err(|_| list("withdrawn routes length leaves no room for attributes"))?;
        let (nlri_bytes, abytes) = take::<_, _, ()>(alen)(rest)
            .map_err(|_| list("total path attribute length overruns the message"))?;

        // RFC 7606 5.3: prefixes that do not parse reset the session.
        let withdrawn = decode_ipv4_prefixes(wbytes)
            .map_err(|reason| DecodeError::from(UpdateError::InvalidNetworkField { reason }))?;
        let (attributes, mut errors) = decode_attributes(abytes, opts)?;
        let nlri = decode_ipv4_prefixes(nlri_bytes)
            .map_err(|reason| DecodeError::from(UpdateError::InvalidNetworkField { reason }))?;

        let mut update = Update {
            withdrawn,
            attributes,
            nlri,
            errors: Vec::new(),
        };
        update.check_mandatory(&mut errors);
        update.errors = errors;
        Ok(update)
    }

    /// RFC 7606 3.d: a missing well-known mandatory attribute means
    /// treat-as-withdraw, when there are routes to withdraw (RFC 7606 5.2).
    fn check_mandatory(&self, errors: &mut Vec<AttributeError>) {
        let mp_nlri = self
            .mp_reach()
            .is_some_and(|m| !m.nlri.is_empty() || !m.unparsed_nlri.is_empty());
        let mut required = Vec::new();
        if !self.nlri.is_empty() || mp_nlri {
            required.extend([AttributeType::Origin, AttributeType::AsPath]);
        }
        // RFC 4760 3: NEXT_HOP is only needed for the classic NLRI.
        if !self.nlri.is_empty() {
            required.push(AttributeType::NextHop);
        }
        for ty in required {
            let code = u8::from(ty);
            let present = self.attribute(ty).is_some();
            let already_reported = errors.iter().any(|e| e.type_code == code);
            if !present && !already_reported {
                errors.push(AttributeError::new(
                    code,
                    Rfc7606Action::TreatAsWithdraw,
                    "missing well-known mandatory attribute",
                ));
            }
        }
    }

    /// Writes the body; attributes in the order given.
    pub(crate) fn encode(&self, opts: DecodeOptions, out: &mut BytesMut) {
        let wpos = out.len();
        out.put_u16(0);
        encode_ipv4_prefixes(&self.withdrawn, out);
        patch_len(out, wpos);
        let apos = out.len();
        out.put_u16(0);
        for a in &self.attributes {
            a.encode(opts, out);
        }
        patch_len(out, apos);
        encode_ipv4_prefixes(&self.nlri, out);
    }
}

/// Writes the length of what follows the 2-octet field at `pos`.
pub(crate) fn patch_len(out: &mut BytesMut, pos: usize) {
    let len = out.len().saturating_sub(pos + 2);
    let len = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(field) = out.get_mut(pos..pos + 2) {
        field.copy_from_slice(&len);
    }
}

/// Splits and decodes the path attributes field.
fn decode_attributes(
    mut input: &[u8],
    opts: DecodeOptions,
) -> Result<(Vec<PathAttribute>, Vec<AttributeError>), DecodeError> {
    use Rfc7606Action::{AttributeDiscard, TreatAsWithdraw};
    // Every attribute takes at least 3 octets.
    let mut attributes = Vec::with_capacity(input.len() / 3);
    let mut errors = Vec::new();
    let mut seen = [false; 256];
    while !input.is_empty() {
        let start = input;
        let header = be_u8::<_, ()>(input)
            .and_then(|(r, flags)| be_u8::<_, ()>(r).map(|(r, ty)| (r, flags, ty)));
        let Ok((rest, flags, type_code)) = header else {
            // RFC 7606 4, second case: too few octets for an attribute header.
            errors.push(AttributeError::new(
                0,
                TreatAsWithdraw,
                "trailing octets too short for an attribute",
            ));
            break;
        };
        let len = if flags & attr_flags::EXTENDED_LENGTH != 0 {
            be_u16::<_, ()>(rest)
        } else {
            be_u8::<_, ()>(rest).map(|(r, l)| (r, u16::from(l)))
        };
        let Ok((rest, value)) = len.and_then(|(r, l)| take::<_, _, ()>(l)(r)) else {
            let ty = AttributeType::from(type_code);
            if matches!(
                ty,
                AttributeType::MpReachNlri | AttributeType::MpUnreachNlri
            ) {
                // RFC 7606 5.3: treat-as-withdraw needs the MP NLRI parsed.
                return Err(UpdateError::MalformedAttributeList {
                    reason: "MP_REACH_NLRI/MP_UNREACH_NLRI overruns the path attributes",
                }
                .into());
            }
            // RFC 7606 4, first case: the attribute overruns the Total Path
            // Attribute Length; the rest cannot be parsed.
            errors.push(AttributeError::new(
                type_code,
                TreatAsWithdraw,
                "attribute overruns the path attributes",
            ));
            break;
        };
        let raw = start.get(..start.len() - rest.len()).unwrap_or(start);
        input = rest;

        let ty = AttributeType::from(type_code);
        if let Some(seen) = seen.get_mut(usize::from(type_code)) {
            if *seen {
                if matches!(
                    ty,
                    AttributeType::MpReachNlri | AttributeType::MpUnreachNlri
                ) {
                    // RFC 7606 3.g
                    return Err(UpdateError::MalformedAttributeList {
                        reason: "MP_REACH_NLRI or MP_UNREACH_NLRI more than once",
                    }
                    .into());
                }
                // RFC 7606 3.g: discard all but the first.
                errors.push(AttributeError::new(
                    type_code,
                    AttributeDiscard,
                    "duplicate attribute",
                ));
                continue;
            }
            *seen = true;
        }
        match decode_attribute(flags, type_code, value, raw, opts)? {
            Decoded::Ok(a) => attributes.push(a),
            Decoded::KeptWithError(a, e) => {
                attributes.push(a);
                errors.push(e);
            }
            Decoded::Dropped(e) => errors.push(e),
        }
    }
    Ok((attributes, errors))
}
