//! OSPFv3 LSA bodies (RFC 5340 A.4.3-A.4.10), after the 20-octet header.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::Ipv6Net;

use super::{DecodeError, Put, Reader};

/// An IPv6 prefix as OSPFv3 carries it (RFC 5340 A.4.1), with the 16 bits
/// that precede the address: a metric, a referenced LS type or zero,
/// depending on the LSA.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  PrefixLength | PrefixOptions |   (metric / 0 / ref. type)    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Address Prefix                         |
/// |                 (PrefixLength bits, padded to 32)             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    pub prefix: Ipv6Net,
    /// [`super::iana::prefix_options`].
    pub options: u8,
    /// The 16-bit field between the options and the address.
    pub field: u16,
}

impl Prefix {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let length = r.u8()?;
        let options = r.u8()?;
        let field = r.u16()?;
        let addr = prefix_address(r, length)?;
        Ok(Prefix {
            prefix: Ipv6Net::new(addr, length)
                .map_err(|_| DecodeError::BadPrefixLength { length })?,
            options,
            field,
        })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_u8(self.prefix.prefix_len());
        buf.put_u8(self.options);
        buf.put_u16(self.field);
        put_prefix_address(buf, &self.prefix);
    }
}

/// Reads the address part of a prefix: `length` bits in whole 32-bit words.
fn prefix_address(r: &mut Reader<'_>, length: u8) -> Result<Ipv6Addr, DecodeError> {
    if length > 128 {
        return Err(DecodeError::BadPrefixLength { length });
    }
    let words = usize::from(length).div_ceil(32);
    let mut octets = [0u8; 16];
    octets[..words * 4].copy_from_slice(r.bytes(words * 4)?);
    Ok(Ipv6Addr::from(octets))
}

fn put_prefix_address(buf: &mut Vec<u8>, prefix: &Ipv6Net) {
    let words = usize::from(prefix.prefix_len()).div_ceil(32);
    buf.extend_from_slice(&prefix.addr().octets()[..words * 4]);
}

/// One interface of an OSPFv3 Router-LSA.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Type      |       0       |          Metric               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Interface ID                             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   Neighbor Interface ID                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Neighbor Router ID                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterLinkV3 {
    pub link_type: u8,
    pub metric: u16,
    pub interface_id: u32,
    pub neighbor_interface_id: u32,
    pub neighbor_router_id: Ipv4Addr,
}

/// OSPFv3 Router-LSA (0x2001).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  0  |Nt|x|V|E|B|            Options                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   interfaces (RouterLinkV3)...                |
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterLsaV3 {
    pub flags: u8,
    /// 24 bits; [`super::iana::options`].
    pub options: u32,
    pub links: Vec<RouterLinkV3>,
}

impl RouterLsaV3 {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        let options = r.u24()?;
        if !r.remaining().is_multiple_of(16) {
            return Err(DecodeError::BadFieldLength {
                what: "OSPFv3 Router-LSA",
                length: r.remaining(),
            });
        }
        let mut links = Vec::new();
        while !r.is_empty() {
            let link_type = r.u8()?;
            let _zero = r.u8()?;
            links.push(RouterLinkV3 {
                link_type,
                metric: r.u16()?,
                interface_id: r.u32()?,
                neighbor_interface_id: r.u32()?,
                neighbor_router_id: r.ipv4()?,
            });
        }
        Ok(RouterLsaV3 {
            flags,
            options,
            links,
        })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_u8(self.flags);
        buf.put_u24(self.options);
        for l in &self.links {
            buf.put_u8(l.link_type);
            buf.put_u8(0);
            buf.put_u16(l.metric);
            buf.put_u32(l.interface_id);
            buf.put_u32(l.neighbor_interface_id);
            buf.put_ipv4(l.neighbor_router_id);
        }
    }
}

/// OSPFv3 Network-LSA (0x2002).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |       0       |              Options                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Attached Router                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkLsaV3 {
    pub options: u32,
    pub attached: Vec<Ipv4Addr>,
}

impl NetworkLsaV3 {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let _zero = r.u8()?;
        let options = r.u24()?;
        if !r.remaining().is_multiple_of(4) {
            return Err(DecodeError::BadFieldLength {
                what: "OSPFv3 Network-LSA",
                length: r.remaining(),
            });
        }
        let mut attached = Vec::new();
        while !r.is_empty() {
            attached.push(r.ipv4()?);
        }
        Ok(NetworkLsaV3 { options, attached })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_u8(0);
        buf.put_u24(self.options);
        for a in &self.attached {
            buf.put_ipv4(*a);
        }
    }
}

/// Inter-Area-Prefix-LSA (0x2003).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |       0       |                  Metric                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  PrefixLength | PrefixOptions |              0                |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Address Prefix                         |
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterAreaPrefixLsa {
    pub metric: u32,
    pub prefix: Prefix,
}

impl InterAreaPrefixLsa {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let _zero = r.u8()?;
        let metric = r.u24()?;
        Ok(InterAreaPrefixLsa {
            metric,
            prefix: Prefix::decode(r)?,
        })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_u8(0);
        buf.put_u24(self.metric);
        self.prefix.encode(buf);
    }
}

/// Inter-Area-Router-LSA (0x2004).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |       0       |                 Options                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |       0       |                 Metric                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                Destination Router ID                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterAreaRouterLsa {
    pub options: u32,
    pub metric: u32,
    pub destination: Ipv4Addr,
}

impl InterAreaRouterLsa {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let _zero = r.u8()?;
        let options = r.u24()?;
        let _zero = r.u8()?;
        Ok(InterAreaRouterLsa {
            options,
            metric: r.u24()?,
            destination: r.ipv4()?,
        })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_u8(0);
        buf.put_u24(self.options);
        buf.put_u8(0);
        buf.put_u24(self.metric);
        buf.put_ipv4(self.destination);
    }
}

/// AS-External-LSA (0x4005) and NSSA-LSA (0x2007).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         |E|F|T|                Metric                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  PrefixLength | PrefixOptions |     Referenced LS Type        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Address Prefix                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                Forwarding Address (optional, 128 bits)        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |              External Route Tag (optional)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |               Referenced Link State ID (optional)             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalLsaV3 {
    /// E: a type 2 external metric.
    pub type2: bool,
    /// 24 bits.
    pub metric: u32,
    /// `field` is the Referenced LS Type.
    pub prefix: Prefix,
    /// F-bit set iff present.
    pub forwarding: Option<Ipv6Addr>,
    /// T-bit set iff present.
    pub tag: Option<u32>,
    /// Present iff the Referenced LS Type is not zero.
    pub referenced_lsid: Option<Ipv4Addr>,
}

const EXT_E: u8 = 0x04;
const EXT_F: u8 = 0x02;
const EXT_T: u8 = 0x01;

impl ExternalLsaV3 {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        let metric = r.u24()?;
        let prefix = Prefix::decode(r)?;
        let forwarding = if flags & EXT_F != 0 {
            Some(r.ipv6()?)
        } else {
            None
        };
        let tag = if flags & EXT_T != 0 {
            Some(r.u32()?)
        } else {
            None
        };
        let referenced_lsid = if prefix.field != 0 {
            Some(r.ipv4()?)
        } else {
            None
        };
        Ok(ExternalLsaV3 {
            type2: flags & EXT_E != 0,
            metric,
            prefix,
            forwarding,
            tag,
            referenced_lsid,
        })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        let mut flags = 0;
        if self.type2 {
            flags |= EXT_E;
        }
        if self.forwarding.is_some() {
            flags |= EXT_F;
        }
        if self.tag.is_some() {
            flags |= EXT_T;
        }
        buf.put_u8(flags);
        buf.put_u24(self.metric);
        self.prefix.encode(buf);
        if let Some(f) = self.forwarding {
            buf.put_ipv6(f);
        }
        if let Some(t) = self.tag {
            buf.put_u32(t);
        }
        if let Some(id) = self.referenced_lsid {
            buf.put_ipv4(id);
        }
    }
}

/// Link-LSA (0x0008), link-local flooding scope.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Rtr Priority  |                Options                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                Link-local Interface Address (128 bits)        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         # prefixes                            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  PrefixLength | PrefixOptions |             0                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                Address Prefix ...                             |
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkLsa {
    pub priority: u8,
    pub options: u32,
    pub link_local: Ipv6Addr,
    pub prefixes: Vec<Prefix>,
}

impl LinkLsa {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let priority = r.u8()?;
        let options = r.u24()?;
        let link_local = r.ipv6()?;
        let count = r.u32()?;
        let mut prefixes = Vec::new();
        for _ in 0..count {
            prefixes.push(Prefix::decode(r)?);
        }
        Ok(LinkLsa {
            priority,
            options,
            link_local,
            prefixes,
        })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_u8(self.priority);
        buf.put_u24(self.options);
        buf.put_ipv6(self.link_local);
        buf.put_u32(self.prefixes.len() as u32);
        for p in &self.prefixes {
            p.encode(buf);
        }
    }
}

/// Intra-Area-Prefix-LSA (0x2009).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         # Prefixes            |     Referenced LS Type        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                  Referenced Link State ID                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |               Referenced Advertising Router                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  PrefixLength | PrefixOptions |          Metric               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Address Prefix ...                      |
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntraAreaPrefixLsa {
    pub referenced_ls_type: u16,
    pub referenced_lsid: Ipv4Addr,
    pub referenced_adv_router: Ipv4Addr,
    /// `field` is the metric.
    pub prefixes: Vec<Prefix>,
}

impl IntraAreaPrefixLsa {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let count = r.u16()?;
        let referenced_ls_type = r.u16()?;
        let referenced_lsid = r.ipv4()?;
        let referenced_adv_router = r.ipv4()?;
        let mut prefixes = Vec::new();
        for _ in 0..count {
            prefixes.push(Prefix::decode(r)?);
        }
        Ok(IntraAreaPrefixLsa {
            referenced_ls_type,
            referenced_lsid,
            referenced_adv_router,
            prefixes,
        })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_u16(self.prefixes.len() as u16);
        buf.put_u16(self.referenced_ls_type);
        buf.put_ipv4(self.referenced_lsid);
        buf.put_ipv4(self.referenced_adv_router);
        for p in &self.prefixes {
            p.encode(buf);
        }
    }
}
