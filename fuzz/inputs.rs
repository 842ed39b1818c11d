//! How the fuzz targets turn their raw input into what they decode. Shared
//! (through `#[path]`) by the targets in `fuzz_targets/` and by the
//! regression test `src/bgp/wire/tests/regressions.rs`, so a file under
//! `fuzz/regressions/<target>/` or `fuzz/seeds/<target>/` replays exactly
//! what the fuzzer ran. Plain std: it builds octets, the callers decode.

#![allow(dead_code)]

/// RFC 4271 4.1.
const HEADER_LEN: usize = 19;
const MAX_MESSAGE_LEN: usize = 4096;
/// 198.18.0.0/15 as one NLRI entry.
const NLRI: [u8; 4] = [15, 198, 18, 0];

/// A whole BGP message and the decoder options to read it with.
pub struct BgpInput {
    pub four_octet_as: bool,
    pub extended_nexthop_ipv4: bool,
    pub message: Vec<u8>,
}

fn header(len: usize, message_type: u8) -> Vec<u8> {
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(&[0xff; 16]);
    msg.extend_from_slice(&(len as u16).to_be_bytes());
    msg.push(message_type);
    msg
}

/// `update_attributes`: a control octet, then the Path Attributes field.
/// Control bit 0 = four-octet ASNs, bit 1 = RFC 8950 extended next hop for
/// IPv4, bit 2 = append one IPv4 NLRI prefix (so the RFC 7606
/// mandatory-attribute checks run too). The attributes are cut to what fits
/// in one 4096-octet message.
pub fn update_attributes(data: &[u8]) -> Option<BgpInput> {
    let (&control, attrs) = data.split_first()?;
    let nlri: &[u8] = if control & 4 != 0 { &NLRI } else { &[] };
    let room = MAX_MESSAGE_LEN - HEADER_LEN - 4 - nlri.len();
    let attrs = &attrs[..attrs.len().min(room)];
    let len = HEADER_LEN + 4 + attrs.len() + nlri.len();
    let mut msg = header(len, 2);
    msg.extend_from_slice(&[0, 0]);
    msg.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    msg.extend_from_slice(attrs);
    msg.extend_from_slice(nlri);
    Some(BgpInput {
        four_octet_as: control & 1 != 0,
        extended_nexthop_ipv4: control & 2 != 0,
        message: msg,
    })
}

/// `open_capabilities`: a control octet, then the Optional Parameters.
/// Control bit 0 = RFC 9072 encoding (Opt Parm Len 255, Non-Ext OP Type
/// 255, a two-octet Extended Opt. Parm. Length; the parameters then carry
/// two-octet lengths), else the RFC 4271 one-octet length (kept mod 256
/// for longer inputs: a deliberate mismatch); bit 1 = four-octet ASNs.
/// The fixed part is valid: version 4, AS 65001, hold time 90, BGP
/// Identifier 10.255.0.1.
pub fn open_capabilities(data: &[u8]) -> Option<BgpInput> {
    let (&control, params) = data.split_first()?;
    let extended = control & 1 != 0;
    let fixed = [4, 0xfd, 0xe9, 0, 90, 10, 255, 0, 1];
    let length_octets = if extended { 4 } else { 1 };
    let room = MAX_MESSAGE_LEN - HEADER_LEN - fixed.len() - length_octets;
    let params = &params[..params.len().min(room)];
    let len = HEADER_LEN + fixed.len() + length_octets + params.len();
    let mut msg = header(len, 1);
    msg.extend_from_slice(&fixed);
    if extended {
        msg.extend_from_slice(&[255, 255]);
        msg.extend_from_slice(&(params.len() as u16).to_be_bytes());
    } else {
        msg.push(params.len() as u8);
    }
    msg.extend_from_slice(params);
    Some(BgpInput {
        four_octet_as: control & 2 != 0,
        extended_nexthop_ipv4: false,
        message: msg,
    })
}

/// `ospf_packet`: the first octet (mod 3) picks the entry point.
pub enum OspfInput<'a> {
    /// 0: `Packet::decode` on an IP payload.
    Packet(&'a [u8]),
    /// 1: `auth::verify` (keyed and not), then `Packet::decode`.
    Authenticated(&'a [u8]),
    /// 2: an LSA body of the LS type in the next two octets, through
    /// `LsaBody::decode` for both versions.
    LsaBody { ls_type: u16, body: &'a [u8] },
}

/// The key `ospf_packet` verifies with (the one the captured vectors use).
pub const OSPF_KEY: &[u8] = b"vipdtest";

pub fn ospf(data: &[u8]) -> Option<OspfInput<'_>> {
    let (&mode, rest) = data.split_first()?;
    match mode % 3 {
        0 => Some(OspfInput::Packet(rest)),
        1 => Some(OspfInput::Authenticated(rest)),
        _ => {
            let [t0, t1, body @ ..] = rest else {
                return None;
            };
            Some(OspfInput::LsaBody {
                ls_type: u16::from_be_bytes([*t0, *t1]),
                body,
            })
        }
    }
}
