//! Reads a tcpdump capture file for timings no CLI shows: when each BGP
//! UPDATE crossed an interface, and when a TCP segment (a probe's SYN, the
//! RST refusing it) did. Timestamps are the kernel's, in wall-clock time, so
//! captures from different namespaces and `SystemTime` readings in the test
//! compare directly.
//!
//! Deliberately small and independent of vipd's own codec: it decodes only
//! what a timing needs (prefixes withdrawn and announced, communities) and
//! skips everything else.

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;

/// TCP flags, as in the header.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;

/// One TCP segment of a capture.
#[derive(Clone, Debug)]
pub struct Segment {
    pub at: SystemTime,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub flags: u8,
    pub payload: Vec<u8>,
}

impl Segment {
    pub fn has(&self, flags: u8) -> bool {
        self.flags & flags == flags
    }
}

/// One BGP UPDATE, stamped with the capture time of the segment that
/// completed it.
#[derive(Clone, Debug)]
pub struct Update {
    pub at: SystemTime,
    /// The speaker that sent it.
    pub from: IpAddr,
    /// Withdrawn Routes and MP_UNREACH_NLRI.
    pub withdrawn: Vec<IpNet>,
    /// NLRI and MP_REACH_NLRI.
    pub announced: Vec<IpNet>,
    /// COMMUNITIES, as `asn:value`.
    pub communities: Vec<String>,
}

/// Every TCP segment in a pcap file (Ethernet, Linux cooked v1 or v2).
pub fn segments(path: &Path) -> Result<Vec<Segment>, String> {
    let data = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let shown = path.display();
    let header = data
        .get(..24)
        .ok_or_else(|| format!("{shown}: no pcap header"))?;
    let magic = [header[0], header[1], header[2], header[3]];
    let (little, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        _ => return Err(format!("{shown}: not a pcap file (magic {magic:02x?})")),
    };
    let word = |b: &[u8]| {
        let b = [b[0], b[1], b[2], b[3]];
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let link = word(&header[20..24]);
    let mut out = Vec::new();
    let mut at = 24;
    while let Some(record) = data.get(at..at + 16) {
        let (secs, frac, len) = (
            word(&record[0..4]),
            word(&record[4..8]),
            word(&record[8..12]),
        );
        let start = at + 16;
        let end = start + len as usize;
        // The last record may be cut short when tcpdump is still writing.
        let Some(frame) = data.get(start..end) else {
            break;
        };
        at = end;
        let sub = if nanos {
            Duration::from_nanos(frac.into())
        } else {
            Duration::from_micros(frac.into())
        };
        let when = UNIX_EPOCH + Duration::from_secs(secs.into()) + sub;
        if let Some(segment) = decode_frame(link, frame, when) {
            out.push(segment);
        }
    }
    Ok(out)
}

/// Every BGP UPDATE in a pcap file, in capture order. Each direction of each
/// connection is reassembled by sequence number; a message is parsed once
/// complete.
pub fn updates(path: &Path) -> Result<Vec<Update>, String> {
    let mut streams: BTreeMap<(SocketAddr, SocketAddr), Stream> = BTreeMap::new();
    let mut out = Vec::new();
    for segment in segments(path)? {
        if segment.src.port() != 179 && segment.dst.port() != 179 {
            continue;
        }
        let stream = streams.entry((segment.src, segment.dst)).or_default();
        if segment.has(SYN) {
            *stream = Stream {
                next_seq: Some(segment.seq.wrapping_add(1)),
                buffer: Vec::new(),
            };
            continue;
        }
        if segment.payload.is_empty() {
            continue;
        }
        for message in stream.push(&segment) {
            if let Some(update) = decode_update(&message, &segment) {
                out.push(update);
            }
        }
    }
    Ok(out)
}

#[derive(Default)]
struct Stream {
    next_seq: Option<u32>,
    buffer: Vec<u8>,
}

impl Stream {
    /// Adds a segment's payload in sequence order; returns the BGP messages
    /// it completed.
    fn push(&mut self, segment: &Segment) -> Vec<Vec<u8>> {
        let payload = &segment.payload;
        let next = *self.next_seq.get_or_insert(segment.seq);
        // Signed distance in sequence space (RFC 793 arithmetic).
        let ahead = segment.seq.wrapping_sub(next) as i32;
        if ahead > 0 {
            // A gap: the capture missed data. Start over at this segment.
            self.buffer.clear();
        } else if ahead < 0 {
            // A retransmission: keep only what is new.
            let old = ahead.unsigned_abs() as usize;
            if old >= payload.len() {
                return Vec::new();
            }
            self.buffer.extend_from_slice(&payload[old..]);
            self.next_seq = Some(segment.seq.wrapping_add(payload.len() as u32));
            return self.split();
        }
        self.buffer.extend_from_slice(payload);
        self.next_seq = Some(segment.seq.wrapping_add(payload.len() as u32));
        self.split()
    }

    fn split(&mut self) -> Vec<Vec<u8>> {
        let mut messages = Vec::new();
        loop {
            if self.buffer.len() < 19 {
                return messages;
            }
            if self.buffer[..16].iter().any(|b| *b != 0xff) {
                // Not at a message boundary (the capture began mid-stream):
                // drop data until the next marker.
                let skip = (1..self.buffer.len())
                    .find(|i| self.buffer[*i..].iter().take(16).all(|b| *b == 0xff))
                    .unwrap_or(self.buffer.len());
                self.buffer.drain(..skip);
                continue;
            }
            let len = usize::from(u16::from_be_bytes([self.buffer[16], self.buffer[17]]));
            if !(19..=65535).contains(&len) {
                self.buffer.clear();
                return messages;
            }
            if self.buffer.len() < len {
                return messages;
            }
            messages.push(self.buffer.drain(..len).collect());
        }
    }
}

fn decode_frame(link: u32, frame: &[u8], at: SystemTime) -> Option<Segment> {
    let (ethertype, ip) = match link {
        // EN10MB (also Linux `lo`), with one optional 802.1Q tag.
        1 => {
            let et = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
            if et == 0x8100 {
                (
                    u16::from_be_bytes([*frame.get(16)?, *frame.get(17)?]),
                    frame.get(18..)?,
                )
            } else {
                (et, frame.get(14..)?)
            }
        }
        // LINUX_SLL (`-i any`).
        113 => (
            u16::from_be_bytes([*frame.get(14)?, *frame.get(15)?]),
            frame.get(16..)?,
        ),
        // LINUX_SLL2.
        276 => (
            u16::from_be_bytes([*frame.first()?, *frame.get(1)?]),
            frame.get(20..)?,
        ),
        _ => return None,
    };
    let (src, dst, tcp) = match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            if *ip.get(9)? != 6 {
                return None;
            }
            let src = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(12..16)?).ok()?));
            let dst = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(16..20)?).ok()?));
            (src, dst, ip.get(ihl..total.min(ip.len()))?)
        }
        0x86dd => {
            // No extension headers in a lab's TCP.
            if *ip.get(6)? != 6 {
                return None;
            }
            let payload = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip.get(8..24)?).ok()?));
            let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip.get(24..40)?).ok()?));
            (src, dst, ip.get(40..(40 + payload).min(ip.len()))?)
        }
        _ => return None,
    };
    let port = |at: usize| Some(u16::from_be_bytes([*tcp.get(at)?, *tcp.get(at + 1)?]));
    let offset = usize::from(tcp.get(12)? >> 4) * 4;
    Some(Segment {
        at,
        src: SocketAddr::new(src, port(0)?),
        dst: SocketAddr::new(dst, port(2)?),
        seq: u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?),
        flags: *tcp.get(13)?,
        payload: tcp.get(offset..)?.to_vec(),
    })
}

/// Path attribute type codes (RFC 4271, 1997, 4760).
const COMMUNITIES: u8 = 8;
const MP_REACH_NLRI: u8 = 14;
const MP_UNREACH_NLRI: u8 = 15;

fn decode_update(message: &[u8], segment: &Segment) -> Option<Update> {
    // RFC 4271 4.1: type 2 is UPDATE.
    if *message.get(18)? != 2 {
        return None;
    }
    let body = message.get(19..)?;
    let withdrawn_len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let withdrawn_v4 = body.get(2..2 + withdrawn_len)?;
    let rest = body.get(2 + withdrawn_len..)?;
    let attrs_len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    let mut attrs = rest.get(2..2 + attrs_len)?;
    let nlri_v4 = rest.get(2 + attrs_len..)?;

    let mut update = Update {
        at: segment.at,
        from: segment.src.ip(),
        withdrawn: prefixes(withdrawn_v4, false)?,
        announced: prefixes(nlri_v4, false)?,
        communities: Vec::new(),
    };
    while !attrs.is_empty() {
        let flags = *attrs.first()?;
        let code = *attrs.get(1)?;
        let (len, header) = if flags & 0x10 != 0 {
            (
                usize::from(u16::from_be_bytes([*attrs.get(2)?, *attrs.get(3)?])),
                4,
            )
        } else {
            (usize::from(*attrs.get(2)?), 3)
        };
        let value = attrs.get(header..header + len)?;
        attrs = attrs.get(header + len..)?;
        match code {
            COMMUNITIES => {
                for c in value.chunks_exact(4) {
                    let asn = u16::from_be_bytes([c[0], c[1]]);
                    let local = u16::from_be_bytes([c[2], c[3]]);
                    update.communities.push(format!("{asn}:{local}"));
                }
            }
            MP_REACH_NLRI => {
                let afi = u16::from_be_bytes([*value.first()?, *value.get(1)?]);
                let nh_len = usize::from(*value.get(3)?);
                // AFI, SAFI, next hop length, next hop, one reserved byte.
                let nlri = value.get(4 + nh_len + 1..)?;
                update.announced.extend(prefixes(nlri, afi == 2)?);
            }
            MP_UNREACH_NLRI => {
                let afi = u16::from_be_bytes([*value.first()?, *value.get(1)?]);
                update
                    .withdrawn
                    .extend(prefixes(value.get(3..)?, afi == 2)?);
            }
            _ => {}
        }
    }
    Some(update)
}

/// RFC 4271 4.3 prefix encoding: a length in bits, then just enough bytes.
fn prefixes(mut data: &[u8], v6: bool) -> Option<Vec<IpNet>> {
    let mut out = Vec::new();
    while let Some((&bits, rest)) = data.split_first() {
        let bytes = usize::from(bits).div_ceil(8);
        let addr = rest.get(..bytes)?;
        data = rest.get(bytes..)?;
        let net = if v6 {
            let mut full = [0u8; 16];
            full.get_mut(..bytes)?.copy_from_slice(addr);
            IpNet::new(IpAddr::V6(Ipv6Addr::from(full)), bits).ok()?
        } else {
            let mut full = [0u8; 4];
            full.get_mut(..bytes)?.copy_from_slice(addr);
            IpNet::new(IpAddr::V4(Ipv4Addr::from(full)), bits).ok()?
        };
        out.push(net);
    }
    Some(out)
}
