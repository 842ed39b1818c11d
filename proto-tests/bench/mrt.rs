//! A TABLE_DUMP_V2 MRT file (RFC 6396 4.3) of host routes, for `gobgp mrt
//! inject global`: GoBGP's fastest way to load many routes (the client
//! streams them over gRPC `AddPathStream`).

use std::net::Ipv4Addr;

/// RFC 6396 4.3: TABLE_DUMP_V2 and its subtypes.
const TABLE_DUMP_V2: u16 = 13;
const PEER_INDEX_TABLE: u16 = 1;
const RIB_IPV4_UNICAST: u16 = 2;

fn record(out: &mut Vec<u8>, subtype: u16, body: &[u8]) {
    out.extend_from_slice(&0u32.to_be_bytes()); // timestamp
    out.extend_from_slice(&TABLE_DUMP_V2.to_be_bytes());
    out.extend_from_slice(&subtype.to_be_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
}

/// Records repeating the first route at the end of the file. `gobgp mrt
/// inject` (3.10) exits without waiting for its send queue (1024 paths by
/// default) to drain, so the file's last routes never reach gobgpd; these
/// repeats of a route already sent take their place and change nothing.
pub const TAIL_PADDING: u32 = 4096;

/// One RIB entry per host in `hosts`, from one peer (`peer`, AS `asn`), with
/// ORIGIN IGP, an empty AS_PATH (locally originated) and NEXT_HOP `next_hop`,
/// then [`TAIL_PADDING`] repeats of the first.
pub fn host_routes(
    hosts: impl Iterator<Item = Ipv4Addr>,
    peer: Ipv4Addr,
    asn: u32,
    next_hop: Ipv4Addr,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = Vec::new();
    body.extend_from_slice(&peer.octets()); // collector BGP ID
    body.extend_from_slice(&0u16.to_be_bytes()); // view name length
    body.extend_from_slice(&1u16.to_be_bytes()); // peer count
    body.push(0x02); // peer type: IPv4 address, 4-octet AS
    body.extend_from_slice(&peer.octets());
    body.extend_from_slice(&peer.octets());
    body.extend_from_slice(&asn.to_be_bytes());
    record(&mut out, PEER_INDEX_TABLE, &body);

    // ORIGIN IGP, AS_PATH empty, NEXT_HOP.
    let mut attrs = vec![0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4];
    attrs.extend_from_slice(&next_hop.octets());
    let mut hosts = hosts.peekable();
    let first = hosts.peek().copied();
    let padding = first.into_iter().cycle().take(TAIL_PADDING as usize);
    for (seq, host) in hosts.chain(padding).enumerate() {
        body.clear();
        body.extend_from_slice(&(seq as u32).to_be_bytes());
        body.push(32);
        body.extend_from_slice(&host.octets());
        body.extend_from_slice(&1u16.to_be_bytes()); // entry count
        body.extend_from_slice(&0u16.to_be_bytes()); // peer index
        body.extend_from_slice(&0u32.to_be_bytes()); // originated time
        body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        body.extend_from_slice(&attrs);
        record(&mut out, RIB_IPV4_UNICAST, &body);
    }
    out
}
