//! Packing many prefixes that share attributes into as few UPDATE messages
//! as fit in [`MAX_MESSAGE_LEN`](super::MAX_MESSAGE_LEN) octets.
//!
//! Layout of each packed UPDATE:
//! - IPv4 prefixes with an IPv4 next hop: classic NLRI + NEXT_HOP.
//! - IPv4 prefixes with an IPv6 next hop: MP_REACH_NLRI AFI 1/SAFI 1 with a
//!   16- or 32-octet next hop (RFC 8950).
//! - IPv6 prefixes: MP_REACH_NLRI AFI 2/SAFI 1; an IPv4 next hop is written
//!   as the IPv4-mapped IPv6 address `::ffff:a.b.c.d` (RFC 4291 2.5.5.2).
//!
//! Attributes are written in ascending type-code order (RFC 4271 5), except
//! that MP_REACH_NLRI / MP_UNREACH_NLRI come first: RFC 7606 5.1 says they
//! SHALL be the very first path attribute, so that a receiver can find the
//! NLRI even if a later attribute turns out to be malformed.

use std::net::IpAddr;

use bytes::{BufMut, Bytes, BytesMut};
use ipnet::IpNet;

use super::attribute::{PathAttribute, write_attribute};
use super::iana::{Afi, AttributeType, MessageType, Safi, attr_flags};
use super::mp::{MpNextHop, MpReach, MpUnreach};
use super::nlri::{encode_prefix, prefix_wire_len};
use super::update::patch_len;
use super::{DecodeOptions, HEADER_LEN, MAX_MESSAGE_LEN, write_header};

/// The address families vipd announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Ipv4Unicast,
    Ipv6Unicast,
}

impl Family {
    pub fn afi(self) -> Afi {
        match self {
            Family::Ipv4Unicast => Afi::Ipv4,
            Family::Ipv6Unicast => Afi::Ipv6,
        }
    }

    pub fn safi(self) -> Safi {
        Safi::Unicast
    }

    /// The family of a prefix.
    pub fn of(prefix: &IpNet) -> Family {
        match prefix {
            IpNet::V4(_) => Family::Ipv4Unicast,
            IpNet::V6(_) => Family::Ipv6Unicast,
        }
    }

    fn contains(self, prefix: &IpNet) -> bool {
        Family::of(prefix) == self
    }
}

/// Fixed UPDATE overhead: header, withdrawn routes length, total path
/// attribute length.
const UPDATE_OVERHEAD: usize = HEADER_LEN + 2 + 2;

/// Largest MP attribute header (flags, type, 2-octet length).
const MP_ATTR_HEADER: usize = 4;

/// Announces `prefixes` of `family` with `attributes` and `next_hop`.
///
/// `attributes` should not carry NEXT_HOP, MP_REACH_NLRI or MP_UNREACH_NLRI:
/// those are built here, and any given are ignored. Prefixes of the other
/// family are skipped. Each returned `Bytes` is one framed UPDATE of at most
/// 4096 octets.
pub fn pack_announce(
    attributes: &[PathAttribute],
    family: Family,
    next_hop: IpAddr,
    prefixes: &[IpNet],
    opts: DecodeOptions,
) -> Vec<Bytes> {
    let next_hop = match (family, next_hop) {
        (Family::Ipv4Unicast, IpAddr::V4(a)) => MpNextHop::Ipv4(a),
        (Family::Ipv6Unicast, IpAddr::V4(a)) => MpNextHop::Ipv6 {
            global: a.to_ipv6_mapped(),
            link_local: None,
        },
        (_, IpAddr::V6(global)) => MpNextHop::Ipv6 {
            global,
            link_local: None,
        },
    };
    pack_announce_with_next_hop(attributes, family, &next_hop, prefixes, opts)
}

/// [`pack_announce`] with an explicit MP next hop, e.g. IPv6 global plus
/// link-local (32 octets, RFC 2545 3). An [`MpNextHop::Ipv4`] next hop for
/// IPv4 prefixes gives the classic encoding.
pub fn pack_announce_with_next_hop(
    attributes: &[PathAttribute],
    family: Family,
    next_hop: &MpNextHop,
    prefixes: &[IpNet],
    opts: DecodeOptions,
) -> Vec<Bytes> {
    let prefixes: Vec<&IpNet> = prefixes.iter().filter(|p| family.contains(p)).collect();
    if prefixes.is_empty() {
        return Vec::new();
    }
    let mut base: Vec<&PathAttribute> = attributes
        .iter()
        .filter(|a| {
            !matches!(
                a,
                PathAttribute::NextHop(_) | PathAttribute::MpReach(_) | PathAttribute::MpUnreach(_)
            )
        })
        .collect();
    let classic_next_hop = match (family, next_hop) {
        (Family::Ipv4Unicast, MpNextHop::Ipv4(a)) => Some(PathAttribute::NextHop(*a)),
        _ => None,
    };
    if let Some(nh) = &classic_next_hop {
        base.push(nh);
    }
    base.sort_by_key(|a| a.type_code());
    let mut encoded_attrs = BytesMut::new();
    for a in &base {
        a.encode(opts, &mut encoded_attrs);
    }

    if classic_next_hop.is_some() {
        // Classic NLRI after the attributes.
        let budget = MAX_MESSAGE_LEN.saturating_sub(UPDATE_OVERHEAD + encoded_attrs.len());
        return chunks(&prefixes, budget)
            .into_iter()
            .map(|chunk| {
                let mut out = start_update();
                out.put_u16(0); // withdrawn routes length
                let apos = out.len();
                out.put_u16(0);
                out.put_slice(&encoded_attrs);
                patch_len(&mut out, apos);
                for p in chunk {
                    encode_prefix(p, &mut out);
                }
                finish(out)
            })
            .collect();
    }

    // MP_REACH_NLRI: AFI, SAFI, next hop length + next hop, reserved.
    let mut mp_head = BytesMut::new();
    MpReach {
        afi: family.afi(),
        safi: family.safi(),
        next_hop: next_hop.clone(),
        nlri: Vec::new(),
        unparsed_nlri: Bytes::new(),
    }
    .encode(&mut mp_head);
    let budget = MAX_MESSAGE_LEN
        .saturating_sub(UPDATE_OVERHEAD + encoded_attrs.len() + MP_ATTR_HEADER + mp_head.len());
    chunks(&prefixes, budget)
        .into_iter()
        .map(|chunk| {
            let mut value = BytesMut::from(&mp_head[..]);
            for p in chunk {
                encode_prefix(p, &mut value);
            }
            let mut out = start_update();
            out.put_u16(0);
            let apos = out.len();
            out.put_u16(0);
            write_attribute(
                attr_flags::OPTIONAL,
                AttributeType::MpReachNlri.into(),
                &value,
                &mut out,
            );
            out.put_slice(&encoded_attrs);
            patch_len(&mut out, apos);
            finish(out)
        })
        .collect()
}

/// Withdraws `prefixes` of `family`: classic withdrawn routes for IPv4,
/// MP_UNREACH_NLRI for IPv6. Prefixes of the other family are skipped.
pub fn pack_withdraw(family: Family, prefixes: &[IpNet], opts: DecodeOptions) -> Vec<Bytes> {
    // Withdrawals carry no attribute whose encoding depends on the options.
    let _ = opts;
    let prefixes: Vec<&IpNet> = prefixes.iter().filter(|p| family.contains(p)).collect();
    if prefixes.is_empty() {
        return Vec::new();
    }
    match family {
        Family::Ipv4Unicast => {
            let budget = MAX_MESSAGE_LEN - UPDATE_OVERHEAD;
            chunks(&prefixes, budget)
                .into_iter()
                .map(|chunk| {
                    let mut out = start_update();
                    let wpos = out.len();
                    out.put_u16(0);
                    for p in chunk {
                        encode_prefix(p, &mut out);
                    }
                    patch_len(&mut out, wpos);
                    out.put_u16(0); // total path attribute length
                    finish(out)
                })
                .collect()
        }
        Family::Ipv6Unicast => {
            let mut head = BytesMut::new();
            MpUnreach::end_of_rib(family.afi(), family.safi()).encode(&mut head);
            let budget = MAX_MESSAGE_LEN - UPDATE_OVERHEAD - MP_ATTR_HEADER - head.len();
            chunks(&prefixes, budget)
                .into_iter()
                .map(|chunk| {
                    let mut value = head.clone();
                    for p in chunk {
                        encode_prefix(p, &mut value);
                    }
                    let mut out = start_update();
                    out.put_u16(0);
                    let apos = out.len();
                    out.put_u16(0);
                    write_attribute(
                        attr_flags::OPTIONAL,
                        AttributeType::MpUnreachNlri.into(),
                        &value,
                        &mut out,
                    );
                    patch_len(&mut out, apos);
                    finish(out)
                })
                .collect()
        }
    }
}

/// Splits `prefixes`, in order, into runs whose encoding fits in `budget`
/// octets. All prefixes of one run share the same attributes, so filling
/// each message before starting the next gives the fewest messages for
/// prefixes of equal length (and at most one more than optimal otherwise,
/// since a prefix is tiny next to a message).
fn chunks<'a>(prefixes: &[&'a IpNet], budget: usize) -> Vec<Vec<&'a IpNet>> {
    let mut out: Vec<Vec<&IpNet>> = Vec::new();
    let mut current = Vec::new();
    let mut used = 0;
    for p in prefixes {
        let len = prefix_wire_len(p);
        if used + len > budget && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            used = 0;
        }
        current.push(*p);
        used += len;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn start_update() -> BytesMut {
    let mut out = BytesMut::with_capacity(MAX_MESSAGE_LEN);
    write_header(&mut out, MessageType::Update);
    out
}

fn finish(mut out: BytesMut) -> Bytes {
    super::patch_message_len(&mut out, 0);
    out.freeze()
}
