//! OPEN message: RFC 4271 4.2, with RFC 9072 extended optional parameters.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+
//!  |    Version    |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |     My Autonomous System      |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |           Hold Time           |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                         BGP Identifier                        |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  | Opt Parm Len  |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |             Optional Parameters (variable)                    |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  Each optional parameter:  Parm. Type (1) | Parm. Length (1) | Value
//!
//!  RFC 9072: when the parameters do not fit in 255 octets,
//!  Opt Parm Len = 255, then a Non-Ext OP Type octet of 255, then a
//!  2-octet Extended Opt. Parm. Length; each parameter then has a
//!  2-octet Parm. Length.
//! ```

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16, be_u32};

use super::capability::{Capability, ExtendedNextHopEntry, GracefulRestart, decode_capabilities};
use super::error::{DecodeError, OpenError};
use super::iana::{AS_TRANS, Afi, OptionalParameterType, Safi};

/// The only BGP version there is.
pub const BGP_VERSION: u8 = 4;

/// Fixed part of the OPEN body (after the 19-octet header).
pub(crate) const OPEN_FIXED_LEN: usize = 10;

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    pub version: u8,
    /// 2-octet AS; AS_TRANS when the real AS needs 4 octets (RFC 6793).
    pub my_as: u16,
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    /// All capabilities from every type-2 optional parameter, in order.
    pub capabilities: Vec<Capability>,
    /// Optional parameters other than capabilities (type, value), kept so
    /// that the session can refuse them (2/4) or ignore them.
    pub unknown_params: Vec<(u8, Bytes)>,
}

/// RFC 4271 4.2: a hold time of zero or at least three seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HoldTime(u16);

impl HoldTime {
    /// Keepalives and the hold timer are disabled.
    pub const DISABLED: HoldTime = HoldTime(0);

    /// `None` for 1 and 2 seconds, which RFC 4271 4.2 forbids.
    pub fn new(seconds: u16) -> Option<HoldTime> {
        (seconds == 0 || seconds >= 3).then_some(HoldTime(seconds))
    }

    pub fn seconds(self) -> u16 {
        self.0
    }

    /// RFC 4271 4.2: the session uses the smaller of the two.
    pub fn negotiate(self, peer: HoldTime) -> HoldTime {
        self.min(peer)
    }
}

impl Open {
    /// An OPEN for `asn`, writing AS_TRANS in My AS when `asn` needs 4
    /// octets. The caller lists the capabilities, including
    /// [`Capability::FourOctetAs`].
    pub fn new(
        asn: u32,
        hold_time: HoldTime,
        bgp_id: Ipv4Addr,
        capabilities: Vec<Capability>,
    ) -> Open {
        Open {
            version: BGP_VERSION,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time: hold_time.seconds(),
            bgp_id,
            capabilities,
            unknown_params: Vec::new(),
        }
    }

    /// The AS from the RFC 6793 capability, if the peer sent one.
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs(asn) => Some(*asn),
            _ => None,
        })
    }

    /// The speaker's AS: the 4-octet capability value if present, else My AS.
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    /// (AFI, SAFI) pairs of the RFC 4760 capabilities, in order.
    pub fn multiprotocol(&self) -> Vec<(Afi, Safi)> {
        self.capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol { afi, safi } => Some((*afi, *safi)),
                _ => None,
            })
            .collect()
    }

    pub fn supports_route_refresh(&self) -> bool {
        self.capabilities.contains(&Capability::RouteRefresh)
    }

    pub fn supports_enhanced_route_refresh(&self) -> bool {
        self.capabilities
            .contains(&Capability::EnhancedRouteRefresh)
    }

    pub fn graceful_restart(&self) -> Option<&GracefulRestart> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr),
            _ => None,
        })
    }

    /// All RFC 8950 entries from every Extended Next Hop capability.
    pub fn extended_next_hop(&self) -> Vec<ExtendedNextHopEntry> {
        self.capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::ExtendedNextHop(e) => Some(e.iter().copied()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The validated hold time (decode already refuses 1 and 2).
    pub fn validated_hold_time(&self) -> Option<HoldTime> {
        HoldTime::new(self.hold_time)
    }

    /// Decodes the body (everything after the 19-octet header).
    pub(crate) fn decode(body: &[u8]) -> Result<Open, DecodeError> {
        let short = |_| DecodeError::bad_length(super::HEADER_LEN + body.len());
        let (rest, version) = be_u8::<_, ()>(body).map_err(short)?;
        if version != BGP_VERSION {
            return Err(OpenError::UnsupportedVersion { version }.into());
        }
        let (rest, my_as) = be_u16::<_, ()>(rest).map_err(short)?;
        let (rest, hold_time) = be_u16::<_, ()>(rest).map_err(short)?;
        let (rest, bgp_id) = be_u32::<_, ()>(rest).map_err(short)?;
        let (rest, opt_len) = be_u8::<_, ()>(rest).map_err(short)?;
        let bgp_id = Ipv4Addr::from(bgp_id);

        // RFC 4271 6.2: hold time 1 or 2 is unacceptable.
        if HoldTime::new(hold_time).is_none() {
            return Err(OpenError::UnacceptableHoldTime { hold_time }.into());
        }
        // RFC 4271 6.2 / RFC 6286: the identifier must be a non-zero unicast
        // value; we also refuse the limited broadcast address.
        if bgp_id.is_unspecified() || bgp_id.is_multicast() || bgp_id.is_broadcast() {
            return Err(OpenError::BadBgpIdentifier { bgp_id }.into());
        }

        let mut open = Open {
            version,
            my_as,
            hold_time,
            bgp_id,
            capabilities: Vec::new(),
            unknown_params: Vec::new(),
        };

        if opt_len == 255 && rest.first() == Some(&u8::from(OptionalParameterType::ExtendedLength))
        {
            // RFC 9072 2: extended encoding.
            let (rest, _) =
                be_u8::<_, ()>(rest).map_err(|_| DecodeError::open("ext. opt. params"))?;
            let (rest, ext_len) = be_u16::<_, ()>(rest)
                .map_err(|_| DecodeError::open("extended optional parameters length missing"))?;
            if usize::from(ext_len) != rest.len() {
                return Err(DecodeError::open(
                    "extended optional parameters length does not match the message",
                ));
            }
            open.decode_params(rest, true)?;
        } else {
            if usize::from(opt_len) != rest.len() {
                return Err(DecodeError::open(
                    "optional parameters length does not match the message",
                ));
            }
            open.decode_params(rest, false)?;
        }
        Ok(open)
    }

    fn decode_params(&mut self, mut input: &[u8], extended: bool) -> Result<(), DecodeError> {
        while !input.is_empty() {
            let (rest, ptype) =
                be_u8::<_, ()>(input).map_err(|_| DecodeError::open("parameter type"))?;
            let (rest, plen) = if extended {
                be_u16::<_, ()>(rest)
            } else {
                be_u8::<_, ()>(rest).map(|(r, l)| (r, u16::from(l)))
            }
            .map_err(|_| DecodeError::open("optional parameter length missing"))?;
            let (rest, value) = take::<_, _, ()>(plen)(rest)
                .map_err(|_| DecodeError::open("optional parameter overruns the parameters"))?;
            match OptionalParameterType::from(ptype) {
                OptionalParameterType::Capabilities => {
                    decode_capabilities(value, &mut self.capabilities)?
                }
                _ => self
                    .unknown_params
                    .push((ptype, Bytes::copy_from_slice(value))),
            }
            input = rest;
        }
        Ok(())
    }

    /// Writes the body. Capabilities go into as few type-2 parameters as the
    /// 255-octet parameter length allows; the RFC 9072 encoding is used only
    /// when the parameters do not fit in 255 octets.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.version);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_slice(&self.bgp_id.octets());

        let caps: Vec<BytesMut> = self
            .capabilities
            .iter()
            .map(|c| {
                let mut b = BytesMut::new();
                c.encode(&mut b);
                b
            })
            .collect();

        // Try the classic encoding first.
        let mut params: Vec<(u8, Vec<u8>)> = Vec::new();
        let mut current: Vec<u8> = Vec::new();
        for cap in &caps {
            if current.len() + cap.len() > 255 && !current.is_empty() {
                params.push((
                    OptionalParameterType::Capabilities.into(),
                    std::mem::take(&mut current),
                ));
            }
            current.extend_from_slice(cap);
        }
        if !current.is_empty() {
            params.push((OptionalParameterType::Capabilities.into(), current));
        }
        params.extend(self.unknown_params.iter().map(|(t, v)| (*t, v.to_vec())));
        let classic_len: usize = params.iter().map(|(_, v)| 2 + v.len()).sum();
        // RFC 9072 2: 255 followed by type 255 would read as the extended form.
        let first_is_255 = params.first().is_some_and(|(t, _)| *t == 255);
        let classic_fits = (classic_len < 255 || (classic_len == 255 && !first_is_255))
            && params.iter().all(|(_, v)| v.len() <= 255);

        if classic_fits {
            out.put_u8(classic_len as u8);
            for (t, v) in &params {
                out.put_u8(*t);
                out.put_u8(v.len() as u8);
                out.put_slice(v);
            }
            return;
        }

        // RFC 9072: one capabilities parameter with a 2-octet length.
        let mut params: Vec<(u8, Vec<u8>)> = Vec::new();
        if !caps.is_empty() {
            params.push((
                OptionalParameterType::Capabilities.into(),
                caps.iter().flat_map(|c| c.iter().copied()).collect(),
            ));
        }
        params.extend(self.unknown_params.iter().map(|(t, v)| (*t, v.to_vec())));
        let ext_len: usize = params.iter().map(|(_, v)| 3 + v.len()).sum();
        out.put_u8(255);
        out.put_u8(OptionalParameterType::ExtendedLength.into());
        out.put_u16(u16::try_from(ext_len).unwrap_or(u16::MAX));
        for (t, v) in &params {
            out.put_u8(*t);
            out.put_u16(u16::try_from(v.len()).unwrap_or(u16::MAX));
            out.put_slice(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_time_newtype_refuses_one_and_two() {
        assert_eq!(HoldTime::new(0), Some(HoldTime::DISABLED));
        assert!(HoldTime::new(1).is_none());
        assert!(HoldTime::new(2).is_none());
        assert_eq!(HoldTime::new(3).map(HoldTime::seconds), Some(3));
        let a = HoldTime::new(90).unwrap();
        let b = HoldTime::new(30).unwrap();
        assert_eq!(a.negotiate(b), b);
    }

    #[test]
    fn new_uses_as_trans_for_wide_asns() {
        let o = Open::new(
            4_200_000_000,
            HoldTime::new(90).unwrap(),
            Ipv4Addr::new(192, 0, 2, 1),
            vec![Capability::FourOctetAs(4_200_000_000)],
        );
        assert_eq!(o.my_as, AS_TRANS);
        assert_eq!(o.asn(), 4_200_000_000);
        let o = Open::new(
            65001,
            HoldTime::DISABLED,
            Ipv4Addr::new(192, 0, 2, 1),
            vec![],
        );
        assert_eq!(o.my_as, 65001);
        assert_eq!(o.asn(), 65001);
        assert_eq!(o.four_octet_as(), None);
    }
}
