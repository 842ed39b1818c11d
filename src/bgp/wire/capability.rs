//! RFC 5492 capabilities, carried in the OPEN optional parameter of type 2.
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! ~                              ~
//! +------------------------------+
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16, be_u32};

use super::error::DecodeError;
use super::iana::{Afi, CapabilityCode, Safi};

/// One capability advertised in an OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// RFC 4760 8.
    /// ```text
    /// 0       7      15      23      31
    /// +-------+-------+-------+-------+
    /// |      AFI      | Res.  | SAFI  |
    /// +-------+-------+-------+-------+
    /// ```
    Multiprotocol { afi: Afi, safi: Safi },
    /// RFC 2918 (empty value).
    RouteRefresh,
    /// RFC 7313 (empty value).
    EnhancedRouteRefresh,
    /// RFC 6793: the speaker's 4-octet AS number.
    FourOctetAs(u32),
    /// RFC 4724 3 / RFC 8538.
    GracefulRestart(GracefulRestart),
    /// RFC 8950 3.
    ExtendedNextHop(Vec<ExtendedNextHopEntry>),
    /// Any capability we do not interpret, kept verbatim so it round-trips.
    Unknown { code: u8, value: Bytes },
}

/// RFC 4724 3 Graceful Restart capability value.
/// ```text
/// +--------------------------------------------------+
/// | Restart Flags (4 bits)                           |
/// +--------------------------------------------------+
/// | Restart Time in seconds (12 bits)                |
/// +--------------------------------------------------+
/// | Address Family Identifier (16 bits)              |
/// +--------------------------------------------------+
/// | Subsequent Address Family Identifier (8 bits)    |
/// +--------------------------------------------------+
/// | Flags for Address Family (8 bits)                |
/// +--------------------------------------------------+
/// | ...  (AFI, SAFI, flags repeated)                 |
/// +--------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted.
    pub restart_state: bool,
    /// N bit (RFC 8538): the sender supports graceful NOTIFICATION.
    pub notification: bool,
    /// 12 bits; larger values are truncated on encode.
    pub restart_time: u16,
    pub families: Vec<GrFamily>,
}

/// One (AFI, SAFI) of a Graceful Restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrFamily {
    pub afi: Afi,
    pub safi: Safi,
    /// F bit: forwarding state was preserved.
    pub forwarding_state: bool,
}

/// RFC 8950 3 Extended Next Hop Encoding capability entry.
/// ```text
/// +-----------------------------------------------------+
/// | NLRI AFI - 1 (2 octets)                             |
/// +-----------------------------------------------------+
/// | NLRI SAFI - 1 (2 octets)                            |
/// +-----------------------------------------------------+
/// | Nexthop AFI - 1 (2 octets)                          |
/// +-----------------------------------------------------+
/// | ....                                                |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtendedNextHopEntry {
    pub nlri_afi: Afi,
    pub nlri_safi: Safi,
    pub nexthop_afi: Afi,
}

const GR_RESTART_STATE: u16 = 0x8000;
const GR_NOTIFICATION: u16 = 0x4000;
const GR_TIME_MASK: u16 = 0x0FFF;
const GR_FORWARDING: u8 = 0x80;

fn malformed(reason: &'static str) -> DecodeError {
    DecodeError::open(reason)
}

/// Decodes the value of an optional parameter of type 2: one or more
/// capabilities back to back.
pub(crate) fn decode_capabilities(
    mut input: &[u8],
    out: &mut Vec<Capability>,
) -> Result<(), DecodeError> {
    while !input.is_empty() {
        let (rest, code) = be_u8::<_, ()>(input).map_err(|_| malformed("capability code"))?;
        let (rest, len) =
            be_u8::<_, ()>(rest).map_err(|_| malformed("capability length missing"))?;
        // RFC 5492 practice: a capability overrunning its parameter is 2/0.
        let (rest, value) = take::<_, _, ()>(len)(rest)
            .map_err(|_| malformed("capability overruns its parameter"))?;
        out.push(Capability::decode(code, value)?);
        input = rest;
    }
    Ok(())
}

impl Capability {
    pub fn code(&self) -> CapabilityCode {
        match self {
            Capability::Multiprotocol { .. } => CapabilityCode::Multiprotocol,
            Capability::RouteRefresh => CapabilityCode::RouteRefresh,
            Capability::EnhancedRouteRefresh => CapabilityCode::EnhancedRouteRefresh,
            Capability::FourOctetAs(_) => CapabilityCode::FourOctetAs,
            Capability::GracefulRestart(_) => CapabilityCode::GracefulRestart,
            Capability::ExtendedNextHop(_) => CapabilityCode::ExtendedNextHop,
            Capability::Unknown { code, .. } => CapabilityCode::from(*code),
        }
    }

    fn decode(code: u8, value: &[u8]) -> Result<Capability, DecodeError> {
        Ok(match CapabilityCode::from(code) {
            CapabilityCode::Multiprotocol => {
                let [a0, a1, _reserved, safi] = value else {
                    return Err(malformed("multiprotocol capability length is not 4"));
                };
                Capability::Multiprotocol {
                    afi: Afi::from(u16::from_be_bytes([*a0, *a1])),
                    safi: Safi::from(*safi),
                }
            }
            CapabilityCode::RouteRefresh if value.is_empty() => Capability::RouteRefresh,
            CapabilityCode::EnhancedRouteRefresh if value.is_empty() => {
                Capability::EnhancedRouteRefresh
            }
            CapabilityCode::RouteRefresh | CapabilityCode::EnhancedRouteRefresh => {
                return Err(malformed("route refresh capability is not empty"));
            }
            CapabilityCode::FourOctetAs => {
                let (_, asn) = nom::combinator::all_consuming(be_u32::<_, ()>)(value)
                    .map_err(|_| malformed("4-octet AS capability length is not 4"))?;
                Capability::FourOctetAs(asn)
            }
            CapabilityCode::GracefulRestart => {
                Capability::GracefulRestart(GracefulRestart::decode(value)?)
            }
            CapabilityCode::ExtendedNextHop => match decode_extended_next_hop(value)? {
                Some(entries) => Capability::ExtendedNextHop(entries),
                // A SAFI wider than one octet: keep the value verbatim.
                None => Capability::Unknown {
                    code,
                    value: Bytes::copy_from_slice(value),
                },
            },
            _ => Capability::Unknown {
                code,
                value: Bytes::copy_from_slice(value),
            },
        })
    }

    /// Writes code, length and value.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let mut value = BytesMut::new();
        match self {
            Capability::Multiprotocol { afi, safi } => {
                value.put_u16((*afi).into());
                value.put_u8(0);
                value.put_u8((*safi).into());
            }
            Capability::RouteRefresh | Capability::EnhancedRouteRefresh => {}
            Capability::FourOctetAs(asn) => value.put_u32(*asn),
            Capability::GracefulRestart(gr) => gr.encode(&mut value),
            Capability::ExtendedNextHop(entries) => {
                for e in entries {
                    value.put_u16(e.nlri_afi.into());
                    value.put_u16(u8::from(e.nlri_safi).into());
                    value.put_u16(e.nexthop_afi.into());
                }
            }
            Capability::Unknown { value: v, .. } => value.put_slice(v),
        }
        out.put_u8(self.code().into());
        // A capability value never exceeds 255 octets unless the caller built
        // an impossible one; clamp rather than write a lying length.
        let len = value.len().min(255);
        out.put_u8(len as u8);
        out.put_slice(&value[..len]);
    }
}

impl GracefulRestart {
    fn decode(value: &[u8]) -> Result<GracefulRestart, DecodeError> {
        let (mut rest, head) = be_u16::<_, ()>(value)
            .map_err(|_| malformed("graceful restart capability too short"))?;
        if !rest.len().is_multiple_of(4) {
            return Err(malformed(
                "graceful restart capability has a partial family",
            ));
        }
        let mut families = Vec::with_capacity(rest.len() / 4);
        while let [a0, a1, safi, flags, tail @ ..] = rest {
            families.push(GrFamily {
                afi: Afi::from(u16::from_be_bytes([*a0, *a1])),
                safi: Safi::from(*safi),
                forwarding_state: flags & GR_FORWARDING != 0,
            });
            rest = tail;
        }
        Ok(GracefulRestart {
            restart_state: head & GR_RESTART_STATE != 0,
            notification: head & GR_NOTIFICATION != 0,
            restart_time: head & GR_TIME_MASK,
            families,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        let mut head = self.restart_time & GR_TIME_MASK;
        if self.restart_state {
            head |= GR_RESTART_STATE;
        }
        if self.notification {
            head |= GR_NOTIFICATION;
        }
        out.put_u16(head);
        for f in &self.families {
            out.put_u16(f.afi.into());
            out.put_u8(f.safi.into());
            out.put_u8(if f.forwarding_state { GR_FORWARDING } else { 0 });
        }
    }
}

/// `Ok(None)` when an entry's SAFI does not fit our one-octet [`Safi`].
fn decode_extended_next_hop(
    value: &[u8],
) -> Result<Option<Vec<ExtendedNextHopEntry>>, DecodeError> {
    if !value.len().is_multiple_of(6) {
        return Err(malformed(
            "extended next hop capability length is not a multiple of 6",
        ));
    }
    let mut entries = Vec::with_capacity(value.len() / 6);
    for chunk in value.chunks_exact(6) {
        let [a0, a1, s0, s1, n0, n1] = chunk else {
            continue;
        };
        let safi = u16::from_be_bytes([*s0, *s1]);
        let Ok(safi) = u8::try_from(safi) else {
            return Ok(None);
        };
        entries.push(ExtendedNextHopEntry {
            nlri_afi: Afi::from(u16::from_be_bytes([*a0, *a1])),
            nlri_safi: Safi::from(safi),
            nexthop_afi: Afi::from(u16::from_be_bytes([*n0, *n1])),
        });
    }
    Ok(Some(entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(cap: Capability, wire: &[u8]) {
        let mut out = BytesMut::new();
        cap.encode(&mut out);
        assert_eq!(&out[..], wire, "encode {cap:?}");
        let mut back = Vec::new();
        decode_capabilities(wire, &mut back).unwrap();
        assert_eq!(back, vec![cap]);
    }

    #[test]
    fn each_capability_round_trips() {
        round_trip(
            Capability::Multiprotocol {
                afi: Afi::Ipv6,
                safi: Safi::Unicast,
            },
            &[1, 4, 0, 2, 0, 1],
        );
        round_trip(Capability::RouteRefresh, &[2, 0]);
        round_trip(Capability::EnhancedRouteRefresh, &[70, 0]);
        round_trip(
            Capability::FourOctetAs(4_200_000_001),
            &[65, 4, 0xFA, 0x56, 0xEA, 0x01],
        );
        round_trip(
            Capability::GracefulRestart(GracefulRestart {
                restart_state: true,
                notification: true,
                restart_time: 120,
                families: vec![GrFamily {
                    afi: Afi::Ipv4,
                    safi: Safi::Unicast,
                    forwarding_state: true,
                }],
            }),
            // R|N|time=120 -> 0xC078, then AFI 1 SAFI 1 flags 0x80.
            &[64, 6, 0xC0, 0x78, 0, 1, 1, 0x80],
        );
        round_trip(
            Capability::ExtendedNextHop(vec![ExtendedNextHopEntry {
                nlri_afi: Afi::Ipv4,
                nlri_safi: Safi::Unicast,
                nexthop_afi: Afi::Ipv6,
            }]),
            &[5, 6, 0, 1, 0, 1, 0, 2],
        );
        round_trip(
            Capability::Unknown {
                code: 73,
                value: Bytes::from_static(b"\x03abc\x00"),
            },
            &[73, 5, 3, b'a', b'b', b'c', 0],
        );
    }

    #[test]
    fn extended_next_hop_with_wide_safi_is_kept_verbatim() {
        let wire = [5, 6, 0, 1, 0x01, 0x80, 0, 2];
        let mut back = Vec::new();
        decode_capabilities(&wire, &mut back).unwrap();
        assert!(matches!(back[0], Capability::Unknown { code: 5, .. }));
        let mut out = BytesMut::new();
        back[0].encode(&mut out);
        assert_eq!(&out[..], &wire[..]);
    }

    #[test]
    fn malformed_capabilities_are_open_unspecific() {
        for wire in [
            &[1u8, 5, 0, 1, 0, 1][..], // overruns
            &[1, 3, 0, 1, 0][..],      // MP too short
            &[65, 2, 0, 1][..],        // 4-octet AS too short
            &[64, 3, 0, 1, 0][..],     // GR partial family
            &[5, 4, 0, 1, 0, 1][..],   // ENH not multiple of 6
            &[2, 1, 0][..],            // route refresh with a value
            &[2][..],                  // length missing
        ] {
            let mut back = Vec::new();
            assert!(
                matches!(
                    decode_capabilities(wire, &mut back),
                    Err(DecodeError::Open(
                        super::super::error::OpenError::Malformed { .. }
                    ))
                ),
                "{wire:?}"
            );
        }
    }
}
