//! Path attributes: RFC 4271 4.3 and 5, RFC 1997, RFC 4360, RFC 4456,
//! RFC 6793, RFC 8092, with the RFC 7606 7 error handling for each.
//!
//! Every attribute on the wire:
//! ```text
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Attr. Flags  |Attr. Type Code|   Flags: O T P E 0 0 0 0
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Attr. Length (1 octet, or 2 octets when E is set) |  Value ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! MP_REACH_NLRI and MP_UNREACH_NLRI live in [`super::mp`].

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

use super::DecodeOptions;
use super::community::{Community, LargeCommunity};
use super::error::{AttributeError, DecodeError, Rfc7606Action, UpdateError};
use super::iana::{AS_TRANS, AttributeType, attr_flags};
use super::mp::{MpReach, MpUnreach};

/// One path attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathAttribute {
    /// RFC 4271 5.1.1 (type 1, well-known mandatory).
    Origin(Origin),
    /// RFC 4271 5.1.2 (type 2, well-known mandatory).
    AsPath(AsPath),
    /// RFC 4271 5.1.3 (type 3, well-known mandatory with IPv4 NLRI).
    NextHop(Ipv4Addr),
    /// RFC 4271 5.1.4 (type 4, optional non-transitive).
    MultiExitDisc(u32),
    /// RFC 4271 5.1.5 (type 5, well-known, iBGP only).
    LocalPref(u32),
    /// RFC 4271 5.1.6 (type 6, well-known discretionary, empty).
    AtomicAggregate,
    /// RFC 4271 5.1.7 (type 7). 2 or 4 octets of AS on the wire per
    /// [`DecodeOptions::four_octet_as`]; AS_TRANS stands in when 2.
    Aggregator { asn: u32, address: Ipv4Addr },
    /// RFC 1997 (type 8).
    Communities(Vec<Community>),
    /// RFC 4456 (type 9).
    OriginatorId(Ipv4Addr),
    /// RFC 4456 (type 10).
    ClusterList(Vec<Ipv4Addr>),
    /// RFC 4760 (type 14).
    MpReach(MpReach),
    /// RFC 4760 (type 15).
    MpUnreach(MpUnreach),
    /// RFC 4360 (type 16), each community as its 8 octets.
    ExtendedCommunities(Vec<[u8; 8]>),
    /// RFC 6793 (type 17), always 4-octet ASNs.
    As4Path(AsPath),
    /// RFC 6793 (type 18).
    As4Aggregator { asn: u32, address: Ipv4Addr },
    /// RFC 8092 (type 32).
    LargeCommunities(Vec<LargeCommunity>),
    /// An optional attribute we do not interpret, with the flags received
    /// minus the extended-length bit (recomputed on encode from the length).
    Unknown {
        flags: u8,
        type_code: u8,
        value: Bytes,
    },
}

/// RFC 4271 5.1.1 ORIGIN values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    Igp,
    Egp,
    Incomplete,
}

impl Origin {
    fn from_u8(v: u8) -> Option<Origin> {
        match v {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }
}

/// AS_PATH / AS4_PATH: RFC 4271 4.3 (b), RFC 5065 5, RFC 6793 3.
/// ```text
/// +-----------------+-----------------+--------------------------------+
/// | segment type(1) | segment len (1) | len ASNs, 2 or 4 octets each   |
/// +-----------------+-----------------+--------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AsPath {
    pub segments: Vec<AsSegment>,
}

/// One AS_PATH segment. Segments longer than 255 ASNs are split on encode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsSegment {
    pub kind: AsSegmentKind,
    pub asns: Vec<u32>,
}

/// Segment types: RFC 4271 (1, 2) and RFC 5065 (3, 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AsSegmentKind {
    Set,
    Sequence,
    ConfedSequence,
    ConfedSet,
}

impl AsSegmentKind {
    /// RFC 5065: AS_CONFED_SEQUENCE or AS_CONFED_SET.
    pub fn is_confederation(self) -> bool {
        matches!(
            self,
            AsSegmentKind::ConfedSequence | AsSegmentKind::ConfedSet
        )
    }

    fn from_u8(v: u8) -> Option<AsSegmentKind> {
        match v {
            1 => Some(AsSegmentKind::Set),
            2 => Some(AsSegmentKind::Sequence),
            3 => Some(AsSegmentKind::ConfedSequence),
            4 => Some(AsSegmentKind::ConfedSet),
            _ => None,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            AsSegmentKind::Set => 1,
            AsSegmentKind::Sequence => 2,
            AsSegmentKind::ConfedSequence => 3,
            AsSegmentKind::ConfedSet => 4,
        }
    }

    fn is_confed(self) -> bool {
        matches!(
            self,
            AsSegmentKind::ConfedSequence | AsSegmentKind::ConfedSet
        )
    }
}

impl AsPath {
    /// One AS_SEQUENCE holding `asns` (empty path when `asns` is empty).
    pub fn sequence(asns: Vec<u32>) -> AsPath {
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![AsSegment {
                kind: AsSegmentKind::Sequence,
                asns,
            }],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(|s| s.asns.is_empty())
    }

    /// RFC 6793: any ASN that does not fit in 2 octets, so that a 2-octet
    /// session needs AS4_PATH alongside.
    pub fn has_4byte_asns(&self) -> bool {
        self.asns().any(|a| a > u32::from(u16::MAX))
    }

    /// Every ASN, in order.
    pub fn asns(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments.iter().flat_map(|s| s.asns.iter().copied())
    }

    /// RFC 4271 9.1.2.2 (a): a set counts 1, confederation segments 0.
    pub fn path_length(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                AsSegmentKind::Sequence => s.asns.len(),
                AsSegmentKind::Set => 1,
                AsSegmentKind::ConfedSequence | AsSegmentKind::ConfedSet => 0,
            })
            .sum()
    }

    /// Decodes a value with 2- or 4-octet ASNs.
    pub(crate) fn decode(mut value: &[u8], four_octet: bool) -> Result<AsPath, &'static str> {
        let width = if four_octet { 4 } else { 2 };
        let mut segments = Vec::with_capacity(value.len() / 2);
        while !value.is_empty() {
            // RFC 7606 7.2: fewer than two octets left for a segment header.
            let [kind, count, rest @ ..] = value else {
                return Err("truncated segment header");
            };
            let kind = AsSegmentKind::from_u8(*kind).ok_or("unrecognized segment type")?;
            // RFC 7606 7.2: a zero segment length is malformed.
            if *count == 0 {
                return Err("segment of length zero");
            }
            let octets = usize::from(*count) * width;
            let (body, rest) = rest
                .split_at_checked(octets)
                .ok_or("segment overruns the attribute")?;
            let asns: Vec<u32> = body
                .chunks_exact(width)
                .map(|c| c.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
                .collect();
            // RFC 7607 2: AS 0 makes the path malformed.
            if asns.contains(&0) {
                return Err("AS 0 in path");
            }
            segments.push(AsSegment { kind, asns });
            value = rest;
        }
        Ok(AsPath { segments })
    }

    /// Encodes with 2- or 4-octet ASNs. With 2 octets, ASNs above 65535 are
    /// written as AS_TRANS (RFC 6793 4.2.2; the caller adds AS4_PATH).
    pub(crate) fn encode(&self, four_octet: bool, out: &mut BytesMut) {
        for seg in &self.segments {
            for chunk in seg.asns.chunks(255) {
                out.put_u8(seg.kind.to_u8());
                out.put_u8(chunk.len() as u8);
                for &asn in chunk {
                    if four_octet {
                        out.put_u32(asn);
                    } else {
                        out.put_u16(u16::try_from(asn).unwrap_or(AS_TRANS));
                    }
                }
            }
        }
    }
}

/// The result of decoding one attribute that did not force a session reset.
pub(crate) enum Decoded {
    Ok(PathAttribute),
    /// Parsed, but malformed in a way that still needs its content (the NLRI
    /// of an MP_REACH_NLRI with wrong flags must still be withdrawn).
    KeptWithError(PathAttribute, AttributeError),
    /// Dropped; the error says what the UPDATE as a whole must do.
    Dropped(AttributeError),
}

impl PathAttribute {
    pub fn type_code(&self) -> u8 {
        self.attribute_type().into()
    }

    pub fn attribute_type(&self) -> AttributeType {
        match self {
            PathAttribute::Origin(_) => AttributeType::Origin,
            PathAttribute::AsPath(_) => AttributeType::AsPath,
            PathAttribute::NextHop(_) => AttributeType::NextHop,
            PathAttribute::MultiExitDisc(_) => AttributeType::MultiExitDisc,
            PathAttribute::LocalPref(_) => AttributeType::LocalPref,
            PathAttribute::AtomicAggregate => AttributeType::AtomicAggregate,
            PathAttribute::Aggregator { .. } => AttributeType::Aggregator,
            PathAttribute::Communities(_) => AttributeType::Communities,
            PathAttribute::OriginatorId(_) => AttributeType::OriginatorId,
            PathAttribute::ClusterList(_) => AttributeType::ClusterList,
            PathAttribute::MpReach(_) => AttributeType::MpReachNlri,
            PathAttribute::MpUnreach(_) => AttributeType::MpUnreachNlri,
            PathAttribute::ExtendedCommunities(_) => AttributeType::ExtendedCommunities,
            PathAttribute::As4Path(_) => AttributeType::As4Path,
            PathAttribute::As4Aggregator { .. } => AttributeType::As4Aggregator,
            PathAttribute::LargeCommunities(_) => AttributeType::LargeCommunities,
            PathAttribute::Unknown { type_code, .. } => AttributeType::from(*type_code),
        }
    }

    /// Flags to send, without the extended-length bit.
    fn flags(&self) -> u8 {
        match self {
            PathAttribute::Unknown { flags, .. } => flags & !attr_flags::EXTENDED_LENGTH,
            other => other
                .attribute_type()
                .expected_flags()
                .unwrap_or(attr_flags::OPTIONAL),
        }
    }

    /// Writes flags, type, length and value; the extended-length flag is set
    /// only when the value exceeds 255 octets.
    pub fn encode(&self, opts: DecodeOptions, out: &mut BytesMut) {
        let mut value = BytesMut::new();
        self.encode_value(opts, &mut value);
        write_attribute(self.flags(), self.type_code(), &value, out);
    }

    fn encode_value(&self, opts: DecodeOptions, v: &mut BytesMut) {
        match self {
            PathAttribute::Origin(o) => v.put_u8(o.to_u8()),
            PathAttribute::AsPath(p) => p.encode(opts.four_octet_as, v),
            PathAttribute::NextHop(a) | PathAttribute::OriginatorId(a) => v.put_slice(&a.octets()),
            PathAttribute::MultiExitDisc(n) | PathAttribute::LocalPref(n) => v.put_u32(*n),
            PathAttribute::AtomicAggregate => {}
            PathAttribute::Aggregator { asn, address } => {
                if opts.four_octet_as {
                    v.put_u32(*asn);
                } else {
                    v.put_u16(u16::try_from(*asn).unwrap_or(AS_TRANS));
                }
                v.put_slice(&address.octets());
            }
            PathAttribute::Communities(cs) => cs.iter().for_each(|c| v.put_u32(c.0)),
            PathAttribute::ClusterList(ids) => ids.iter().for_each(|a| v.put_slice(&a.octets())),
            PathAttribute::MpReach(mp) => mp.encode(v),
            PathAttribute::MpUnreach(mp) => mp.encode(v),
            PathAttribute::ExtendedCommunities(cs) => cs.iter().for_each(|c| v.put_slice(c)),
            PathAttribute::As4Path(p) => p.encode(true, v),
            PathAttribute::As4Aggregator { asn, address } => {
                v.put_u32(*asn);
                v.put_slice(&address.octets());
            }
            PathAttribute::LargeCommunities(cs) => cs.iter().for_each(|c| {
                v.put_u32(c.global_admin);
                v.put_u32(c.local_data1);
                v.put_u32(c.local_data2);
            }),
            PathAttribute::Unknown { value, .. } => v.put_slice(value),
        }
    }
}

/// Writes one attribute header and value.
pub(crate) fn write_attribute(flags: u8, type_code: u8, value: &[u8], out: &mut BytesMut) {
    if value.len() > 255 {
        out.put_u8(flags | attr_flags::EXTENDED_LENGTH);
        out.put_u8(type_code);
        // Values never exceed a message; clamp rather than write a lying length.
        let len = value.len().min(usize::from(u16::MAX));
        out.put_u16(len as u16);
        out.put_slice(&value[..len]);
    } else {
        out.put_u8(flags & !attr_flags::EXTENDED_LENGTH);
        out.put_u8(type_code);
        out.put_u8(value.len() as u8);
        out.put_slice(value);
    }
}

fn u32_at(b: &[u8]) -> u32 {
    b.iter()
        .take(4)
        .fold(0u32, |acc, x| (acc << 8) | u32::from(*x))
}

fn ipv4_at(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::from(u32_at(b))
}

/// Decodes one attribute whose header has already been split off.
/// `raw` is the whole attribute (header included) for NOTIFICATION data.
pub(crate) fn decode_attribute(
    flags: u8,
    type_code: u8,
    value: &[u8],
    raw: &[u8],
    opts: DecodeOptions,
) -> Result<Decoded, DecodeError> {
    use Rfc7606Action::{AttributeDiscard as Discard, TreatAsWithdraw as Withdraw};
    let ty = AttributeType::from(type_code);
    let drop = |action, reason: &str| {
        Ok(Decoded::Dropped(AttributeError::new(
            type_code, action, reason,
        )))
    };

    let Some(expected) = ty.expected_flags() else {
        if flags & attr_flags::OPTIONAL == 0 {
            // RFC 4271 6.3: unrecognized well-known attribute; RFC 7606 does
            // not soften this one.
            return Err(UpdateError::UnrecognizedWellKnownAttribute {
                attribute: Bytes::copy_from_slice(raw),
            }
            .into());
        }
        return Ok(Decoded::Ok(PathAttribute::Unknown {
            // The extended-length bit describes the framing, not the
            // attribute: it is recomputed on encode.
            flags: flags & !attr_flags::EXTENDED_LENGTH,
            type_code,
            value: Bytes::copy_from_slice(value),
        }));
    };

    // RFC 7606 3.c: Optional/Transitive bits in conflict -> treat-as-withdraw.
    let ot = attr_flags::OPTIONAL | attr_flags::TRANSITIVE;
    if flags & ot != expected {
        let err = AttributeError::new(
            type_code,
            Withdraw,
            "attribute flags in conflict with the type",
        );
        return Ok(match ty {
            // The NLRI inside are what treat-as-withdraw must withdraw: keep
            // them if they parse (and reset the session if they do not).
            AttributeType::MpReachNlri | AttributeType::MpUnreachNlri => {
                match decode_attribute(expected, type_code, value, raw, opts)? {
                    Decoded::Ok(attr) | Decoded::KeptWithError(attr, _) => {
                        Decoded::KeptWithError(attr, err)
                    }
                    Decoded::Dropped(_) => Decoded::Dropped(err),
                }
            }
            _ => Decoded::Dropped(err),
        });
    }

    let attr = match ty {
        // RFC 7606 7.1
        AttributeType::Origin => match value {
            [v] => match Origin::from_u8(*v) {
                Some(o) => PathAttribute::Origin(o),
                None => return drop(Withdraw, "undefined ORIGIN value"),
            },
            _ => return drop(Withdraw, "ORIGIN length is not 1"),
        },
        // RFC 7606 7.2, RFC 7607
        AttributeType::AsPath => match AsPath::decode(value, opts.four_octet_as) {
            Ok(p) => PathAttribute::AsPath(p),
            Err(reason) => return drop(Withdraw, reason),
        },
        // RFC 7606 7.3
        AttributeType::NextHop => match value {
            [_, _, _, _] => PathAttribute::NextHop(ipv4_at(value)),
            _ => return drop(Withdraw, "NEXT_HOP length is not 4"),
        },
        // RFC 7606 7.4
        AttributeType::MultiExitDisc => match value {
            [_, _, _, _] => PathAttribute::MultiExitDisc(u32_at(value)),
            _ => return drop(Withdraw, "MULTI_EXIT_DISC length is not 4"),
        },
        // RFC 7606 7.5
        AttributeType::LocalPref => match value {
            [_, _, _, _] => PathAttribute::LocalPref(u32_at(value)),
            _ => return drop(Withdraw, "LOCAL_PREF length is not 4"),
        },
        // RFC 7606 7.6
        AttributeType::AtomicAggregate => match value {
            [] => PathAttribute::AtomicAggregate,
            _ => return drop(Discard, "ATOMIC_AGGREGATE length is not 0"),
        },
        // RFC 7606 7.7, RFC 7607 2
        AttributeType::Aggregator => {
            let (asn, address) = match (opts.four_octet_as, value) {
                (false, [a0, a1, addr @ ..]) if addr.len() == 4 => {
                    (u32::from(u16::from_be_bytes([*a0, *a1])), ipv4_at(addr))
                }
                (true, [_, _, _, _, addr @ ..]) if addr.len() == 4 => {
                    (u32_at(value), ipv4_at(addr))
                }
                _ => return drop(Discard, "AGGREGATOR length is not 6 (or 8 with 4-octet AS)"),
            };
            if asn == 0 {
                return drop(Discard, "AS 0 in AGGREGATOR");
            }
            PathAttribute::Aggregator { asn, address }
        }
        // RFC 7606 7.8
        AttributeType::Communities => match multiple_of(value, 4) {
            Some(chunks) => {
                PathAttribute::Communities(chunks.map(|c| Community(u32_at(c))).collect())
            }
            None => {
                return drop(
                    Withdraw,
                    "COMMUNITIES length is not a non-zero multiple of 4",
                );
            }
        },
        // RFC 7606 7.9
        AttributeType::OriginatorId => match value {
            [_, _, _, _] => PathAttribute::OriginatorId(ipv4_at(value)),
            _ => return drop(Withdraw, "ORIGINATOR_ID length is not 4"),
        },
        // RFC 7606 7.10
        AttributeType::ClusterList => match multiple_of(value, 4) {
            Some(chunks) => PathAttribute::ClusterList(chunks.map(ipv4_at).collect()),
            None => {
                return drop(
                    Withdraw,
                    "CLUSTER_LIST length is not a non-zero multiple of 4",
                );
            }
        },
        // RFC 7606 7.11, RFC 4760 7
        AttributeType::MpReachNlri => return MpReach::decode(value, raw, opts),
        AttributeType::MpUnreachNlri => {
            return MpUnreach::decode(value, raw).map(|m| Decoded::Ok(PathAttribute::MpUnreach(m)));
        }
        // RFC 7606 7.14
        AttributeType::ExtendedCommunities => match multiple_of(value, 8) {
            Some(chunks) => PathAttribute::ExtendedCommunities(
                chunks
                    .map(|c| {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(c);
                        a
                    })
                    .collect(),
            ),
            None => {
                return drop(
                    Withdraw,
                    "EXTENDED_COMMUNITIES length is not a non-zero multiple of 8",
                );
            }
        },
        // RFC 6793 6, RFC 7607 2
        AttributeType::As4Path => {
            if opts.four_octet_as {
                // RFC 6793 3: a NEW speaker discards AS4_PATH from a NEW speaker.
                return drop(Discard, "AS4_PATH on a 4-octet AS session");
            }
            match AsPath::decode(value, true) {
                Ok(p) if p.segments.iter().any(|s| s.kind.is_confed()) => {
                    return drop(Discard, "confederation segment in AS4_PATH");
                }
                Ok(p) => PathAttribute::As4Path(p),
                Err(reason) => return drop(Discard, reason),
            }
        }
        // RFC 6793 6, RFC 7607 2
        AttributeType::As4Aggregator => {
            if opts.four_octet_as {
                return drop(Discard, "AS4_AGGREGATOR on a 4-octet AS session");
            }
            let [_, _, _, _, addr @ ..] = value else {
                return drop(Discard, "AS4_AGGREGATOR length is not 8");
            };
            if addr.len() != 4 {
                return drop(Discard, "AS4_AGGREGATOR length is not 8");
            }
            let asn = u32_at(value);
            if asn == 0 {
                return drop(Discard, "AS 0 in AS4_AGGREGATOR");
            }
            PathAttribute::As4Aggregator {
                asn,
                address: ipv4_at(addr),
            }
        }
        // RFC 8092 6
        AttributeType::LargeCommunities => match multiple_of(value, 12) {
            Some(chunks) => PathAttribute::LargeCommunities(
                chunks
                    .map(|c| LargeCommunity {
                        global_admin: u32_at(c),
                        local_data1: u32_at(c.get(4..).unwrap_or_default()),
                        local_data2: u32_at(c.get(8..).unwrap_or_default()),
                    })
                    .collect(),
            ),
            None => {
                return drop(
                    Withdraw,
                    "LARGE_COMMUNITY length is not a non-zero multiple of 12",
                );
            }
        },
        // Handled before the flags check (`expected_flags()` is `None`).
        AttributeType::Unknown(_) => PathAttribute::Unknown {
            flags,
            type_code,
            value: Bytes::copy_from_slice(value),
        },
    };
    Ok(Decoded::Ok(attr))
}

/// The `n`-octet chunks of a value whose length is a non-zero multiple of `n`.
fn multiple_of(value: &[u8], n: usize) -> Option<std::slice::ChunksExact<'_, u8>> {
    (!value.is_empty() && value.len().is_multiple_of(n)).then(|| value.chunks_exact(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_ok(flags: u8, ty: u8, value: &[u8], opts: DecodeOptions) -> PathAttribute {
        match decode_attribute(flags, ty, value, &[], opts).unwrap() {
            Decoded::Ok(a) => a,
            _ => panic!("attribute {ty} did not decode cleanly"),
        }
    }

    fn dropped(flags: u8, ty: u8, value: &[u8], opts: DecodeOptions) -> Rfc7606Action {
        match decode_attribute(flags, ty, value, &[], opts).unwrap() {
            Decoded::Dropped(e) => {
                assert_eq!(e.type_code, ty);
                e.action
            }
            _ => panic!("attribute {ty} was not dropped"),
        }
    }

    const TWO: DecodeOptions = DecodeOptions {
        four_octet_as: false,
        extended_nexthop_ipv4: false,
    };
    const FOUR: DecodeOptions = DecodeOptions {
        four_octet_as: true,
        extended_nexthop_ipv4: false,
    };

    #[test]
    fn as_path_with_wide_asns_uses_as_trans_on_two_octet_sessions() {
        let p = AsPath::sequence(vec![65001, 4_200_000_000]);
        assert!(p.has_4byte_asns());
        let mut out = BytesMut::new();
        p.encode(false, &mut out);
        // AS_SEQUENCE, 2 ASNs, 65001, AS_TRANS (23456 = 0x5BA0)
        assert_eq!(&out[..], &[2, 2, 0xFD, 0xE9, 0x5B, 0xA0]);
        assert!(!AsPath::sequence(vec![65001]).has_4byte_asns());
    }

    #[test]
    fn long_segments_are_split_at_255() {
        let p = AsPath::sequence((1..=300).collect());
        let mut out = BytesMut::new();
        p.encode(true, &mut out);
        assert_eq!(out.len(), 2 + 255 * 4 + 2 + 45 * 4);
        assert_eq!(&out[..2], &[2, 255]);
        assert_eq!(&out[2 + 255 * 4..2 + 255 * 4 + 2], &[2, 45]);
        let back = AsPath::decode(&out, true).unwrap();
        assert_eq!(
            back.asns().collect::<Vec<_>>(),
            (1..=300).collect::<Vec<_>>()
        );
        assert_eq!(back.path_length(), 300);
    }

    #[test]
    fn malformed_as_paths_are_treat_as_withdraw() {
        for v in [
            &[2u8][..],        // truncated header
            &[5, 1, 0, 1][..], // unknown segment type
            &[2, 0][..],       // zero length
            &[2, 2, 0, 1][..], // overrun
            &[2, 1, 0, 0][..], // AS 0 (RFC 7607)
        ] {
            assert_eq!(
                dropped(0x40, 2, v, TWO),
                Rfc7606Action::TreatAsWithdraw,
                "{v:?}"
            );
        }
    }

    #[test]
    fn each_attribute_follows_rfc_7606_section_7() {
        use Rfc7606Action::{AttributeDiscard as D, TreatAsWithdraw as W};
        assert_eq!(dropped(0x40, 1, &[3], TWO), W);
        assert_eq!(dropped(0x40, 1, &[0, 0], TWO), W);
        assert_eq!(dropped(0x40, 3, &[1, 2, 3], TWO), W);
        assert_eq!(dropped(0x80, 4, &[1, 2, 3], TWO), W);
        assert_eq!(dropped(0x40, 5, &[], TWO), W);
        assert_eq!(dropped(0x40, 6, &[1], TWO), D);
        assert_eq!(dropped(0xC0, 7, &[0, 1, 10, 0, 0, 1, 0, 0], TWO), D);
        assert_eq!(dropped(0xC0, 7, &[0, 1, 10, 0, 0, 1], FOUR), D);
        assert_eq!(dropped(0xC0, 7, &[0, 0, 10, 0, 0, 1], TWO), D);
        assert_eq!(dropped(0xC0, 8, &[], TWO), W);
        assert_eq!(dropped(0xC0, 8, &[1, 2, 3], TWO), W);
        assert_eq!(dropped(0x80, 9, &[1], TWO), W);
        assert_eq!(dropped(0x80, 10, &[1, 2, 3, 4, 5], TWO), W);
        assert_eq!(dropped(0xC0, 16, &[0; 7], TWO), W);
        assert_eq!(dropped(0xC0, 17, &[2, 1, 0, 0, 0, 0], TWO), D);
        assert_eq!(dropped(0xC0, 17, &[3, 1, 0, 0, 0, 1], TWO), D);
        assert_eq!(dropped(0xC0, 17, &[2, 1, 0, 0, 0, 1], FOUR), D);
        assert_eq!(dropped(0xC0, 18, &[0, 0, 0, 1, 1, 2, 3], TWO), D);
        assert_eq!(dropped(0xC0, 18, &[0, 0, 0, 0, 1, 2, 3, 4], TWO), D);
        assert_eq!(dropped(0xC0, 32, &[0; 11], TWO), W);
        // RFC 7606 3.c: ORIGIN sent as optional.
        assert_eq!(dropped(0xC0, 1, &[0], TWO), W);
        // MED sent as transitive.
        assert_eq!(dropped(0xC0, 4, &[0, 0, 0, 1], TWO), W);
    }

    #[test]
    fn partial_and_extended_bits_do_not_make_flags_wrong() {
        assert_eq!(
            decode_ok(0x50, 1, &[2], TWO),
            PathAttribute::Origin(Origin::Incomplete)
        );
        assert_eq!(
            decode_ok(0xE0, 8, &[0xFF, 0xFF, 0xFF, 0x01], TWO),
            PathAttribute::Communities(vec![Community::NO_EXPORT])
        );
    }

    #[test]
    fn unknown_optional_attributes_are_kept_and_unknown_well_known_refused() {
        let a = decode_ok(0xE0, 99, &[1, 2], TWO);
        assert_eq!(
            a,
            PathAttribute::Unknown {
                flags: 0xE0,
                type_code: 99,
                value: Bytes::from_static(&[1, 2])
            }
        );
        let mut out = BytesMut::new();
        a.encode(TWO, &mut out);
        assert_eq!(&out[..], &[0xE0, 99, 2, 1, 2]);
        let raw = [0x40, 99, 1, 7];
        let err = decode_attribute(0x40, 99, &[7], &raw, TWO).err().unwrap();
        assert_eq!(
            err,
            DecodeError::Update(UpdateError::UnrecognizedWellKnownAttribute {
                attribute: Bytes::copy_from_slice(&raw)
            })
        );
    }

    #[test]
    fn extended_length_only_above_255_octets() {
        let mut out = BytesMut::new();
        PathAttribute::Communities(vec![Community(1); 63]).encode(TWO, &mut out);
        assert_eq!(&out[..3], &[0xC0, 8, 252]);
        let mut out = BytesMut::new();
        PathAttribute::Communities(vec![Community(1); 64]).encode(TWO, &mut out);
        assert_eq!(&out[..4], &[0xD0, 8, 1, 0]);
    }
}
