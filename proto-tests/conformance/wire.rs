//! BGP bytes for the scripted peer, built by hand from the RFC diagrams,
//! and a small reader for what vipd sends back.
//!
//! Deliberately independent of `vipd::bgp::wire`: the suite must not share
//! the codec's mistakes. Every length is computed here unless a case sets it
//! on purpose.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// RFC 4271 4.1 message types.
pub const OPEN: u8 = 1;
pub const UPDATE: u8 = 2;
pub const NOTIFICATION: u8 = 3;
pub const KEEPALIVE: u8 = 4;
pub const ROUTE_REFRESH: u8 = 5;

pub const HEADER_LEN: usize = 19;
pub const MAX_LEN: usize = 4096;
const MARKER: [u8; 16] = [0xff; 16];

/// Attribute flags (RFC 4271 4.3).
pub const OPTIONAL: u8 = 0x80;
pub const TRANSITIVE: u8 = 0x40;
pub const EXTENDED: u8 = 0x10;
/// Well-known: transitive, not optional.
pub const WELL_KNOWN: u8 = TRANSITIVE;

pub const AFI_IPV4: u16 = 1;
pub const AFI_IPV6: u16 = 2;
pub const SAFI_UNICAST: u8 = 1;

/// The 2-octet AS that stands in for a 4-octet one (RFC 6793).
pub const AS_TRANS: u16 = 23456;

/// A framed message of `ty` around `body`, with the right length.
pub fn message(ty: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(HEADER_LEN + body.len()).expect("test message fits in 64 KiB");
    with_length(ty, len, body)
}

/// A framed message whose header claims `length`, whatever `body` holds.
pub fn with_length(ty: u8, length: u16, body: &[u8]) -> Vec<u8> {
    let mut v = MARKER.to_vec();
    v.extend_from_slice(&length.to_be_bytes());
    v.push(ty);
    v.extend_from_slice(body);
    v
}

pub fn keepalive() -> Vec<u8> {
    message(KEEPALIVE, &[])
}

/// RFC 2918 / RFC 7313: AFI, subtype (was Reserved), SAFI.
pub fn route_refresh(afi: u16, subtype: u8, safi: u8) -> Vec<u8> {
    let [a0, a1] = afi.to_be_bytes();
    message(ROUTE_REFRESH, &[a0, a1, subtype, safi])
}

pub fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------- OPEN

/// An OPEN with every field given: the optional parameters length octet is
/// `opt_len` as written, followed by `params` as written.
pub fn open_raw(
    version: u8,
    my_as: u16,
    hold: u16,
    id: Ipv4Addr,
    opt_len: u8,
    params: &[u8],
) -> Vec<u8> {
    let mut body = vec![version];
    body.extend_from_slice(&my_as.to_be_bytes());
    body.extend_from_slice(&hold.to_be_bytes());
    body.extend_from_slice(&id.octets());
    body.push(opt_len);
    body.extend_from_slice(params);
    message(OPEN, &body)
}

/// An OPEN whose optional parameters length matches `params`.
pub fn open_with_params(
    version: u8,
    my_as: u16,
    hold: u16,
    id: Ipv4Addr,
    params: &[u8],
) -> Vec<u8> {
    let len = u8::try_from(params.len()).expect("classic optional parameters fit in 255 octets");
    open_raw(version, my_as, hold, id, len, params)
}

/// One optional parameter with a 1-octet length (RFC 4271 4.2).
pub fn param(ty: u8, value: &[u8]) -> Vec<u8> {
    let len = u8::try_from(value.len()).expect("parameter fits in 255 octets");
    concat(&[&[ty, len], value])
}

/// One capability (RFC 5492 4).
pub fn cap(code: u8, value: &[u8]) -> Vec<u8> {
    let len = u8::try_from(value.len()).expect("capability fits in 255 octets");
    concat(&[&[code, len], value])
}

pub fn cap_multiprotocol(afi: u16, safi: u8) -> Vec<u8> {
    let [a0, a1] = afi.to_be_bytes();
    cap(1, &[a0, a1, 0, safi])
}

pub fn cap_four_octet_as(asn: u32) -> Vec<u8> {
    cap(65, &asn.to_be_bytes())
}

/// What a well-behaved peer offers: IPv4 and IPv6 unicast, route refresh,
/// 4-octet AS.
pub fn standard_capabilities(asn: u32) -> Vec<u8> {
    concat(&[
        &cap_multiprotocol(AFI_IPV4, SAFI_UNICAST),
        &cap_multiprotocol(AFI_IPV6, SAFI_UNICAST),
        &cap(2, &[]),
        &cap_four_octet_as(asn),
    ])
}

/// The 2-octet My AS field for `asn`.
pub fn my_as(asn: u32) -> u16 {
    u16::try_from(asn).unwrap_or(AS_TRANS)
}

/// A valid OPEN with the standard capabilities in one parameter.
pub fn open(asn: u32, hold: u16, id: Ipv4Addr) -> Vec<u8> {
    open_with_params(
        4,
        my_as(asn),
        hold,
        id,
        &param(2, &standard_capabilities(asn)),
    )
}

// ---------------------------------------------------------------- UPDATE

/// An UPDATE whose two length fields match what is given.
pub fn update(withdrawn: &[u8], attributes: &[u8], nlri: &[u8]) -> Vec<u8> {
    let wlen = u16::try_from(withdrawn.len()).expect("fits");
    let alen = u16::try_from(attributes.len()).expect("fits");
    let body = concat(&[
        &wlen.to_be_bytes(),
        withdrawn,
        &alen.to_be_bytes(),
        attributes,
        nlri,
    ]);
    message(UPDATE, &body)
}

/// One path attribute; the length is 2 octets when `flags` has the
/// Extended Length bit.
pub fn attr(flags: u8, ty: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![flags, ty];
    if flags & EXTENDED != 0 {
        v.extend_from_slice(&u16::try_from(value.len()).expect("fits").to_be_bytes());
    } else {
        v.push(u8::try_from(value.len()).expect("short attribute fits in 255 octets"));
    }
    v.extend_from_slice(value);
    v
}

/// An attribute header claiming `len` octets, followed by `value` as given.
pub fn attr_with_length(flags: u8, ty: u8, len: u8, value: &[u8]) -> Vec<u8> {
    concat(&[&[flags, ty, len], value])
}

pub fn origin_igp() -> Vec<u8> {
    attr(WELL_KNOWN, 1, &[0])
}

/// An AS_SEQUENCE of 4-octet ASNs (the sessions negotiate RFC 6793).
pub fn as_path(asns: &[u32]) -> Vec<u8> {
    attr(WELL_KNOWN, 2, &as_sequence(asns))
}

/// The value of an AS_PATH with one AS_SEQUENCE of 4-octet ASNs.
pub fn as_sequence(asns: &[u32]) -> Vec<u8> {
    let mut v = vec![2, u8::try_from(asns.len()).expect("fits")];
    for a in asns {
        v.extend_from_slice(&a.to_be_bytes());
    }
    v
}

pub fn next_hop(addr: Ipv4Addr) -> Vec<u8> {
    attr(WELL_KNOWN, 3, &addr.octets())
}

/// One IPv4 prefix in the RFC 4271 4.3 encoding.
pub fn v4_prefix(net: &str) -> Vec<u8> {
    let net: Ipv4Net = net.parse().expect("test prefix");
    let octets = usize::from(net.prefix_len()).div_ceil(8);
    concat(&[&[net.prefix_len()], &net.network().octets()[..octets]])
}

/// One IPv6 prefix in the RFC 4760 5 encoding.
pub fn v6_prefix(net: &str) -> Vec<u8> {
    let net: Ipv6Net = net.parse().expect("test prefix");
    let octets = usize::from(net.prefix_len()).div_ceil(8);
    concat(&[&[net.prefix_len()], &net.network().octets()[..octets]])
}

/// MP_REACH_NLRI (RFC 4760 3) for IPv6 unicast with the given next hop
/// octets (normally 16) and NLRI octets.
pub fn mp_reach_v6(next_hop: &[u8], nlri: &[u8]) -> Vec<u8> {
    let [a0, a1] = AFI_IPV6.to_be_bytes();
    let nh_len = u8::try_from(next_hop.len()).expect("fits");
    let value = concat(&[&[a0, a1, SAFI_UNICAST, nh_len], next_hop, &[0], nlri]);
    attr(OPTIONAL, 14, &value)
}

/// MP_UNREACH_NLRI (RFC 4760 4) for IPv6 unicast.
pub fn mp_unreach_v6(withdrawn: &[u8]) -> Vec<u8> {
    let [a0, a1] = AFI_IPV6.to_be_bytes();
    let value = concat(&[&[a0, a1, SAFI_UNICAST], withdrawn]);
    attr(OPTIONAL, 15, &value)
}

pub fn v6_next_hop() -> [u8; 16] {
    "2001:db8::2".parse::<Ipv6Addr>().expect("address").octets()
}

// ---------------------------------------------------------------- reading

/// One message as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub ty: u8,
    /// Everything after the 19-octet header.
    pub body: Vec<u8>,
}

impl Msg {
    pub fn name(&self) -> String {
        match self.ty {
            OPEN => "OPEN".into(),
            UPDATE => "UPDATE".into(),
            NOTIFICATION => match self.notification() {
                Some(n) => format!("NOTIFICATION {n}"),
                None => "NOTIFICATION (truncated)".into(),
            },
            KEEPALIVE => "KEEPALIVE".into(),
            ROUTE_REFRESH => "ROUTE-REFRESH".into(),
            t => format!("message type {t}"),
        }
    }

    pub fn notification(&self) -> Option<Notif> {
        match (self.ty, self.body.as_slice()) {
            (NOTIFICATION, [code, subcode, data @ ..]) => Some(Notif {
                code: *code,
                subcode: *subcode,
                data: data.to_vec(),
            }),
            _ => None,
        }
    }

    /// An OPEN's hold time (RFC 4271 4.2: octets 3..5 of the body).
    pub fn open_hold_time(&self) -> Option<u16> {
        match (self.ty, self.body.get(3..5)) {
            (OPEN, Some([h0, h1])) => Some(u16::from_be_bytes([*h0, *h1])),
            _ => None,
        }
    }
}

/// A NOTIFICATION's code, subcode and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notif {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl std::fmt::Display for Notif {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.code, self.subcode)?;
        if self.data.is_empty() {
            write!(f, " (no data)")
        } else {
            write!(f, " data {}", hex::encode(&self.data))
        }
    }
}

/// Splits one whole message off the front of `buf`; `Ok(None)` until one
/// has fully arrived. vipd must only ever send well-framed messages.
pub fn split(buf: &mut Vec<u8>) -> Result<Option<Msg>, String> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if header[..16] != MARKER {
        return Err(format!("vipd sent a bad marker: {}", hex::encode(header)));
    }
    let len = usize::from(u16::from_be_bytes([header[16], header[17]]));
    let ty = header[18];
    if !(HEADER_LEN..=MAX_LEN).contains(&len) {
        return Err(format!("vipd sent a message of length {len}"));
    }
    if buf.len() < len {
        return Ok(None);
    }
    let frame: Vec<u8> = buf.drain(..len).collect();
    Ok(Some(Msg {
        ty,
        body: frame[HEADER_LEN..].to_vec(),
    }))
}

/// What an UPDATE from vipd says, for the families vipd announces.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpdateSummary {
    pub announced: Vec<IpNet>,
    pub withdrawn: Vec<IpNet>,
    /// `Some(afi)` for an End-of-RIB marker (RFC 4724 2).
    pub end_of_rib: Option<u16>,
}

/// Reads the prefixes out of an UPDATE body (RFC 4271 4.3, RFC 4760).
pub fn summarize_update(body: &[u8]) -> Result<UpdateSummary, String> {
    let take = |b: &[u8], at: usize, n: usize| -> Result<Vec<u8>, String> {
        b.get(at..at + n)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("UPDATE from vipd is truncated: {}", hex::encode(b)))
    };
    let wlen = usize::from(u16::from_be_bytes(
        take(body, 0, 2)?.try_into().unwrap_or([0, 0]),
    ));
    let withdrawn = take(body, 2, wlen)?;
    let alen_at = 2 + wlen;
    let alen = usize::from(u16::from_be_bytes(
        take(body, alen_at, 2)?.try_into().unwrap_or([0, 0]),
    ));
    let attrs = take(body, alen_at + 2, alen)?;
    let nlri = body.get(alen_at + 2 + alen..).unwrap_or_default();

    let mut s = UpdateSummary {
        withdrawn: prefixes(&withdrawn, 4)?,
        announced: prefixes(nlri, 4)?,
        end_of_rib: None,
    };
    let mut rest = attrs.as_slice();
    let mut only_unreach_empty = None;
    let mut attr_count = 0;
    while !rest.is_empty() {
        let (flags, ty) = match rest {
            [f, t, ..] => (*f, *t),
            _ => return Err("attribute header truncated".into()),
        };
        let (len, hdr) = if flags & EXTENDED != 0 {
            let l = take(rest, 2, 2)?;
            (usize::from(u16::from_be_bytes([l[0], l[1]])), 4)
        } else {
            (
                usize::from(*rest.get(2).ok_or("attribute length missing")?),
                3,
            )
        };
        let value = take(rest, hdr, len)?;
        rest = &rest[hdr + len..];
        attr_count += 1;
        match (ty, value.as_slice()) {
            (14, [a0, a1, _safi, nh_len, rest @ ..]) => {
                let afi = u16::from_be_bytes([*a0, *a1]);
                // Next hop, then the reserved octet, then the NLRI.
                let nlri = rest.get(usize::from(*nh_len) + 1..).unwrap_or_default();
                s.announced.extend(prefixes(nlri, afi_width(afi))?);
            }
            (15, [a0, a1, _safi, w @ ..]) => {
                let afi = u16::from_be_bytes([*a0, *a1]);
                if w.is_empty() {
                    only_unreach_empty = Some(afi);
                }
                s.withdrawn.extend(prefixes(w, afi_width(afi))?);
            }
            (14 | 15, _) => return Err(format!("MP attribute too short: {}", hex::encode(&value))),
            _ => {}
        }
    }
    if s.announced.is_empty() && s.withdrawn.is_empty() {
        s.end_of_rib = match (attr_count, only_unreach_empty) {
            (0, _) => Some(AFI_IPV4),
            (1, Some(afi)) => Some(afi),
            _ => None,
        };
    }
    Ok(s)
}

/// How many prefixes the classic NLRI field of an UPDATE body announces
/// (cheap: for counting replies to a flood).
pub fn count_nlri(body: &[u8]) -> usize {
    let field = |at: usize| {
        body.get(at..at + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
    };
    let Some(wlen) = field(0) else { return 0 };
    let Some(alen) = field(2 + wlen) else {
        return 0;
    };
    let mut nlri = body.get(4 + wlen + alen..).unwrap_or_default();
    let mut n = 0;
    while let Some((&bits, rest)) = nlri.split_first() {
        n += 1;
        nlri = rest
            .get(usize::from(bits).div_ceil(8)..)
            .unwrap_or_default();
    }
    n
}

fn afi_width(afi: u16) -> usize {
    if afi == AFI_IPV6 { 16 } else { 4 }
}

fn prefixes(mut b: &[u8], width: usize) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    while let Some((&bits, rest)) = b.split_first() {
        let n = usize::from(bits).div_ceil(8);
        let Some(addr) = rest.get(..n) else {
            return Err(format!("prefix overruns its field: {}", hex::encode(b)));
        };
        let mut full = [0u8; 16];
        full[..n].copy_from_slice(addr);
        let net = if width == 4 {
            let a = Ipv4Addr::new(full[0], full[1], full[2], full[3]);
            Ipv4Net::new(a, bits).map(IpNet::V4)
        } else {
            Ipv6Net::new(Ipv6Addr::from(full), bits).map(IpNet::V6)
        }
        .map_err(|e| format!("bad prefix from vipd: {e}"))?;
        out.push(net);
        b = &rest[n..];
    }
    Ok(out)
}
