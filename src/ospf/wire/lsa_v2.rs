//! OSPFv2 LSA bodies (RFC 2328 A.4.2-A.4.5), after the 20-octet header.

use std::net::Ipv4Addr;

use super::{DecodeError, Put, Reader};

/// One link of a Router-LSA, with its TOS metrics (unused since RFC 2328,
/// kept so that what was received round-trips).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                          Link ID                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Link Data                             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Type      |     # TOS     |            metric             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      TOS      |        0      |          TOS  metric          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterLink {
    pub link_id: Ipv4Addr,
    pub link_data: Ipv4Addr,
    /// [`super::iana::link_type`].
    pub link_type: u8,
    pub metric: u16,
    pub tos: Vec<(u8, u16)>,
}

/// Router-LSA (type 1).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |H 0 0 N W V E B|        0      |            # links            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      links (RouterLink)...                    |
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterLsa {
    /// [`super::iana::router_flags`]; RFC 8770 puts H in the high bit.
    pub flags: u8,
    pub links: Vec<RouterLink>,
}

impl RouterLsa {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        let _reserved = r.u8()?;
        let count = r.u16()?;
        let mut links = Vec::new();
        for _ in 0..count {
            let link_id = r.ipv4()?;
            let link_data = r.ipv4()?;
            let link_type = r.u8()?;
            let tos_count = r.u8()?;
            let metric = r.u16()?;
            let mut tos = Vec::new();
            for _ in 0..tos_count {
                let t = r.u8()?;
                let _zero = r.u8()?;
                tos.push((t, r.u16()?));
            }
            links.push(RouterLink {
                link_id,
                link_data,
                link_type,
                metric,
                tos,
            });
        }
        Ok(RouterLsa { flags, links })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_u8(self.flags);
        buf.put_u8(0);
        buf.put_u16(self.links.len() as u16);
        for l in &self.links {
            buf.put_ipv4(l.link_id);
            buf.put_ipv4(l.link_data);
            buf.put_u8(l.link_type);
            buf.put_u8(l.tos.len() as u8);
            buf.put_u16(l.metric);
            for (t, m) in &l.tos {
                buf.put_u8(*t);
                buf.put_u8(0);
                buf.put_u16(*m);
            }
        }
    }
}

/// Network-LSA (type 2), originated by a network's DR.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Network Mask                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Attached Router                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                              ...                              |
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkLsa {
    pub mask: Ipv4Addr,
    pub attached: Vec<Ipv4Addr>,
}

impl NetworkLsa {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mask = r.ipv4()?;
        if !r.remaining().is_multiple_of(4) {
            return Err(DecodeError::BadFieldLength {
                what: "Network-LSA",
                length: r.remaining(),
            });
        }
        let mut attached = Vec::new();
        while !r.is_empty() {
            attached.push(r.ipv4()?);
        }
        Ok(NetworkLsa { mask, attached })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_ipv4(self.mask);
        for a in &self.attached {
            buf.put_ipv4(*a);
        }
    }
}

/// Summary-LSA (types 3 and 4), originated by area border routers.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Network Mask                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      0        |                  metric                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     TOS       |                TOS  metric                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryLsa {
    pub mask: Ipv4Addr,
    /// 24 bits.
    pub metric: u32,
    pub tos: Vec<(u8, u32)>,
}

impl SummaryLsa {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mask = r.ipv4()?;
        let _zero = r.u8()?;
        let metric = r.u24()?;
        let mut tos = Vec::new();
        while !r.is_empty() {
            tos.push((r.u8()?, r.u24()?));
        }
        Ok(SummaryLsa { mask, metric, tos })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_ipv4(self.mask);
        buf.put_u8(0);
        buf.put_u24(self.metric);
        for (t, m) in &self.tos {
            buf.put_u8(*t);
            buf.put_u24(*m);
        }
    }
}

/// AS-external-LSA (type 5; NSSA type 7 has the same body).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Network Mask                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |E|     0       |                  metric                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Forwarding address                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      External Route Tag                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |E|    TOS      |                TOS  metric                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Forwarding address                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      External Route Tag                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalLsa {
    pub mask: Ipv4Addr,
    /// The E bit: a type 2 external metric.
    pub type2: bool,
    /// 24 bits.
    pub metric: u32,
    pub forwarding: Ipv4Addr,
    pub tag: u32,
    pub tos: Vec<ExternalTos>,
}

/// One TOS entry of an AS-external-LSA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalTos {
    /// The E bit and the 7-bit TOS, as one octet.
    pub e_tos: u8,
    pub metric: u32,
    pub forwarding: Ipv4Addr,
    pub tag: u32,
}

const E_BIT: u8 = 0x80;

impl ExternalLsa {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mask = r.ipv4()?;
        let e = r.u8()?;
        let metric = r.u24()?;
        let forwarding = r.ipv4()?;
        let tag = r.u32()?;
        let mut tos = Vec::new();
        while !r.is_empty() {
            tos.push(ExternalTos {
                e_tos: r.u8()?,
                metric: r.u24()?,
                forwarding: r.ipv4()?,
                tag: r.u32()?,
            });
        }
        Ok(ExternalLsa {
            mask,
            type2: e & E_BIT != 0,
            metric,
            forwarding,
            tag,
            tos,
        })
    }

    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.put_ipv4(self.mask);
        buf.put_u8(if self.type2 { E_BIT } else { 0 });
        buf.put_u24(self.metric);
        buf.put_ipv4(self.forwarding);
        buf.put_u32(self.tag);
        for t in &self.tos {
            buf.put_u8(t.e_tos);
            buf.put_u24(t.metric);
            buf.put_ipv4(t.forwarding);
            buf.put_u32(t.tag);
        }
    }
}
