//! Prefix encoding shared by the withdrawn routes field, the NLRI field and
//! the MP_REACH_NLRI / MP_UNREACH_NLRI attributes.
//!
//! RFC 4271 4.3:
//! ```text
//! +---------------------------+
//! |   Length (1 octet)        |
//! +---------------------------+
//! |   Prefix (variable)       |
//! +---------------------------+
//! ```
//! Length is in bits; the prefix is the minimum number of octets that hold
//! it, and the value of the trailing bits is irrelevant (we clear them).

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use nom::bytes::complete::take;
use nom::number::complete::be_u8;

use super::iana::Afi;

/// Splits one (length, prefix bytes) pair off `input`, with `max_bits` the
/// address width. Returns the prefix bytes left-aligned in a 16-byte array.
fn one_prefix(input: &[u8], max_bits: u8) -> Result<(&[u8], u8, [u8; 16]), &'static str> {
    let (rest, bits) = be_u8::<_, ()>(input).map_err(|_| "prefix length missing")?;
    if bits > max_bits {
        return Err("prefix length longer than the address");
    }
    let octets = usize::from(bits).div_ceil(8);
    let (rest, body) = take::<_, _, ()>(octets)(rest).map_err(|_| "prefix overruns its field")?;
    let mut addr = [0u8; 16];
    for (dst, src) in addr.iter_mut().zip(body) {
        *dst = *src;
    }
    Ok((rest, bits, addr))
}

/// Decodes a field that holds only IPv4 prefixes.
pub(crate) fn decode_ipv4_prefixes(mut input: &[u8]) -> Result<Vec<Ipv4Net>, &'static str> {
    // Each prefix takes at least one octet: the capacity is bounded by the input.
    let mut out = Vec::with_capacity(input.len().min(1024));
    while !input.is_empty() {
        let (rest, bits, a) = one_prefix(input, 32)?;
        let addr = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
        let net = Ipv4Net::new(addr, bits).map_err(|_| "prefix length longer than the address")?;
        out.push(net.trunc());
        input = rest;
    }
    Ok(out)
}

/// Decodes a field that holds only IPv6 prefixes.
pub(crate) fn decode_ipv6_prefixes(mut input: &[u8]) -> Result<Vec<Ipv6Net>, &'static str> {
    let mut out = Vec::with_capacity(input.len().min(1024));
    while !input.is_empty() {
        let (rest, bits, a) = one_prefix(input, 128)?;
        let net = Ipv6Net::new(Ipv6Addr::from(a), bits)
            .map_err(|_| "prefix length longer than the address")?;
        out.push(net.trunc());
        input = rest;
    }
    Ok(out)
}

/// Decodes the prefixes of an MP attribute whose AFI is IPv4 or IPv6.
/// Returns `None` for any other AFI (the caller keeps those bytes raw).
pub(crate) fn decode_prefixes(afi: Afi, input: &[u8]) -> Option<Result<Vec<IpNet>, &'static str>> {
    match afi {
        Afi::Ipv4 => {
            Some(decode_ipv4_prefixes(input).map(|v| v.into_iter().map(IpNet::V4).collect()))
        }
        Afi::Ipv6 => {
            Some(decode_ipv6_prefixes(input).map(|v| v.into_iter().map(IpNet::V6).collect()))
        }
        Afi::Unknown(_) => None,
    }
}

/// Octets `prefix` takes on the wire (length octet included).
pub(crate) fn prefix_wire_len(prefix: &IpNet) -> usize {
    1 + usize::from(prefix.prefix_len()).div_ceil(8)
}

/// Writes one prefix in the RFC 4271 4.3 encoding.
pub(crate) fn encode_prefix(prefix: &IpNet, out: &mut BytesMut) {
    let bits = prefix.prefix_len();
    let octets = usize::from(bits).div_ceil(8);
    out.put_u8(bits);
    match prefix.trunc() {
        IpNet::V4(p) => out.put_slice(&p.addr().octets()[..octets.min(4)]),
        IpNet::V6(p) => out.put_slice(&p.addr().octets()[..octets.min(16)]),
    }
}

pub(crate) fn encode_ipv4_prefixes(prefixes: &[Ipv4Net], out: &mut BytesMut) {
    for p in prefixes {
        encode_prefix(&IpNet::V4(*p), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_use_the_minimum_number_of_octets() {
        let mut out = BytesMut::new();
        for p in ["0.0.0.0/0", "10.0.0.0/8", "192.0.2.0/23", "192.0.2.1/32"] {
            encode_prefix(&p.parse().unwrap(), &mut out);
        }
        assert_eq!(&out[..], &[0, 8, 10, 23, 192, 0, 2, 32, 192, 0, 2, 1][..]);
        let back = decode_ipv4_prefixes(&out).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back[2], "192.0.2.0/23".parse::<Ipv4Net>().unwrap());
    }

    #[test]
    fn trailing_bits_are_cleared_on_decode() {
        // 10.255.0.0/9 on the wire with junk in the low bits of the 2nd octet.
        let v = decode_ipv4_prefixes(&[9, 10, 0xff]).unwrap();
        assert_eq!(v, vec!["10.128.0.0/9".parse::<Ipv4Net>().unwrap()]);
    }

    #[test]
    fn bad_prefixes_are_rejected() {
        assert!(decode_ipv4_prefixes(&[33, 1, 2, 3, 4, 5]).is_err());
        assert!(decode_ipv4_prefixes(&[24, 10, 0]).is_err());
        assert!(decode_ipv6_prefixes(&[129]).is_err());
        assert!(decode_ipv6_prefixes(&[64, 0x20, 0x01]).is_err());
    }

    #[test]
    fn ipv6_prefix_round_trips() {
        let p: IpNet = "2001:db8:1::/48".parse().unwrap();
        let mut out = BytesMut::new();
        encode_prefix(&p, &mut out);
        assert_eq!(&out[..], &[48, 0x20, 0x01, 0x0d, 0xb8, 0, 1][..]);
        assert_eq!(prefix_wire_len(&p), 7);
        assert_eq!(decode_prefixes(Afi::Ipv6, &out).unwrap().unwrap(), vec![p]);
    }
}
