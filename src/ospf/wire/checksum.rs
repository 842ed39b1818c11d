//! The two OSPF checksums.
//!
//! - Packets: the Internet checksum (RFC 1071). OSPFv2 computes it over the
//!   whole packet except the 64-bit authentication field (RFC 2328 D.4.1);
//!   OSPFv3 over an IPv6 pseudo-header and the packet (RFC 5340 A.3.1), which
//!   the kernel does for us with `IPV6_CHECKSUM`.
//! - LSAs: the Fletcher checksum of ISO 8473 / RFC 905 annex B, over the
//!   whole LSA except the LS age (RFC 2328 12.1.7), the same in both versions.

use std::net::Ipv6Addr;

/// Offset of the LS checksum field from the start of an LSA.
pub const LSA_CHECKSUM_OFFSET: usize = 16;
/// The LS age field (2 octets) is left out of the LSA checksum.
const LSA_AGE_LEN: usize = 2;

/// The one's complement of the one's complement sum of `data` as 16-bit
/// words (an odd last octet padded with zero), with `initial` folded in.
fn ones_complement_sum(data: &[u8], initial: u32) -> u32 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// RFC 1071 Internet checksum of `data`.
pub fn internet(data: &[u8]) -> u16 {
    !(ones_complement_sum(data, 0) as u16)
}

/// OSPFv2 packet checksum (RFC 2328 D.4.1): over the packet with the
/// checksum field (offset 12) taken as zero and the authentication field
/// (offsets 16..24) left out.
pub fn ospfv2_packet(packet: &[u8]) -> u16 {
    if packet.len() < 24 {
        return 0;
    }
    let sum = ones_complement_sum(&packet[..12], 0);
    let sum = ones_complement_sum(&packet[14..16], sum);
    !(ones_complement_sum(&packet[24..], sum) as u16)
}

/// OSPFv3 packet checksum (RFC 5340 A.3.1, RFC 8200 8.1): over the IPv6
/// pseudo-header and the packet with its checksum field (offset 12) as zero.
/// The kernel computes and verifies it (`IPV6_CHECKSUM`); tests use this to
/// compare captured packets octet for octet.
pub fn ospfv3_packet(src: Ipv6Addr, dst: Ipv6Addr, packet: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&(packet.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 89]);
    let sum = ones_complement_sum(&pseudo, 0);
    let sum = ones_complement_sum(&packet[..packet.len().min(12)], sum);
    let sum = ones_complement_sum(packet.get(14..).unwrap_or_default(), sum);
    !(sum as u16)
}

/// Fletcher checksum (RFC 905 annex B) for an LSA: `lsa` is the whole LSA;
/// the result goes at [`LSA_CHECKSUM_OFFSET`]. The age and the current
/// checksum field are not read.
pub fn fletcher(lsa: &[u8]) -> u16 {
    if lsa.len() < LSA_CHECKSUM_OFFSET + 2 {
        return 0;
    }
    let data = &lsa[LSA_AGE_LEN..];
    let offset = LSA_CHECKSUM_OFFSET - LSA_AGE_LEN;
    let (mut c0, mut c1) = (0i64, 0i64);
    for (i, &b) in data.iter().enumerate() {
        let b = if i == offset || i == offset + 1 { 0 } else { b };
        c0 = (c0 + i64::from(b)) % 255;
        c1 = (c1 + c0) % 255;
    }
    // The check octets X and Y make both running sums zero over the whole
    // data with X at `offset` and Y right after it.
    let len = data.len() as i64;
    let mut x = ((len - offset as i64 - 1) * c0 - c1).rem_euclid(255);
    if x == 0 {
        x = 255;
    }
    let mut y = 510 - c0 - x;
    if y > 255 {
        y -= 255;
    }
    ((x as u16) << 8) | (y as u16 & 0xff)
}

/// True when the LSA's checksum field is right (a zero field never is: RFC
/// 2328 12.1.7 has no "no checksum" value for LSAs).
pub fn fletcher_ok(lsa: &[u8]) -> bool {
    if lsa.len() < LSA_CHECKSUM_OFFSET + 2 {
        return false;
    }
    let field = u16::from_be_bytes([lsa[LSA_CHECKSUM_OFFSET], lsa[LSA_CHECKSUM_OFFSET + 1]]);
    if field == 0 {
        return false;
    }
    let (mut c0, mut c1) = (0u32, 0u32);
    for &b in &lsa[LSA_AGE_LEN..] {
        c0 = (c0 + u32::from(b)) % 255;
        c1 = (c1 + c0) % 255;
    }
    c0 == 0 && c1 == 0
}

/// Computes the LSA's checksum and writes it into its field.
pub fn seal_lsa(lsa: &mut [u8]) {
    if lsa.len() >= LSA_CHECKSUM_OFFSET + 2 {
        let sum = fletcher(lsa);
        lsa[LSA_CHECKSUM_OFFSET..LSA_CHECKSUM_OFFSET + 2].copy_from_slice(&sum.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 section 3's worked example.
    #[test]
    fn internet_checksum_matches_rfc_1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet(&data), !0xddf2);
    }

    #[test]
    fn internet_checksum_pads_an_odd_octet() {
        assert_eq!(internet(&[0x12]), !0x1200);
    }

    /// RFC 905 / ISO 8473 property: the sums over the sealed data are zero,
    /// whatever the age, and any single-octet change is caught.
    #[test]
    fn fletcher_ignores_age_and_catches_single_octet_changes() {
        let mut lsa: Vec<u8> = (0u8..48).map(|i| i.wrapping_mul(37)).collect();
        seal_lsa(&mut lsa);
        assert!(fletcher_ok(&lsa));
        lsa[0] = 0xff;
        lsa[1] = 0xee;
        assert!(fletcher_ok(&lsa), "the age is not covered");
        for i in 2..lsa.len() {
            let mut bad = lsa.clone();
            bad[i] ^= 0x01;
            assert!(!fletcher_ok(&bad), "flip at {i} went unnoticed");
        }
    }

    /// Known answer, computed with RFC 1008's formulation of the same
    /// algorithm (X = ((L-n)*C0 - C1) mod 255, Y = ((L-n+1)*(-C0) + C1) mod
    /// 255), which is written differently from ours.
    #[test]
    fn fletcher_known_answer_from_rfc_1008_formulation() {
        // Router-LSA: age 1, options E, type 1, LSID and advertising router
        // 10.255.1.1, seq 0x80000001, length 36, one stub link
        // 10.255.1.0/24 metric 10.
        let mut lsa = hex::decode(
            "000102010aff01010aff010180000001000000240000000\
             10aff0100ffffff000300000a",
        )
        .unwrap();
        seal_lsa(&mut lsa);
        assert_eq!(u16::from_be_bytes([lsa[16], lsa[17]]), 0xcf56);
        assert!(fletcher_ok(&lsa));
    }

    #[test]
    fn a_zero_checksum_field_is_never_valid() {
        let lsa = [0u8; 20];
        assert!(!fletcher_ok(&lsa));
    }
}
