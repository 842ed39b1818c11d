//! The OSPF packet header and the five packet types (RFC 2328 A.3, RFC 5340
//! A.3).
//!
//! [`Packet::encode`] leaves the checksum field zero: the caller seals the
//! packet for the interface ([`super::auth::seal`] for OSPFv2, the kernel
//! for OSPFv3). [`Packet::decode`] checks framing only; the caller verifies
//! checksum and authentication first ([`super::auth::verify`]).

use std::net::Ipv4Addr;

use super::lsa::{LSA_HEADER_LEN, Lsa, LsaHeader};
use super::{DecodeError, Put, Reader, Version, patch_u16};

pub const V2_HEADER_LEN: usize = 24;
pub const V3_HEADER_LEN: usize = 16;

/// RFC 2328 A.3.1 packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PacketType {
    Hello = 1,
    DbDesc = 2,
    LsRequest = 3,
    LsUpdate = 4,
    LsAck = 5,
}

impl PacketType {
    fn from_u8(t: u8) -> Result<Self, DecodeError> {
        Ok(match t {
            1 => PacketType::Hello,
            2 => PacketType::DbDesc,
            3 => PacketType::LsRequest,
            4 => PacketType::LsUpdate,
            5 => PacketType::LsAck,
            _ => return Err(DecodeError::UnknownPacketType { packet_type: t }),
        })
    }
}

/// The OSPFv2 authentication fields of the header (RFC 2328 D.3).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Checksum            |             AuType            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |              0                |    Key ID     | Auth Data Len |  (AuType 2)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Cryptographic sequence number                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthHeader {
    /// AuType 0 (and every OSPFv3 packet, which has no such field).
    Null,
    /// AuType 1: a clear-text password.
    Simple([u8; 8]),
    /// AuType 2: the digest follows the packet.
    Crypto { key_id: u8, auth_len: u8, seq: u32 },
    /// Any other AuType, kept so it round-trips (and is refused).
    Other { au_type: u16, data: [u8; 8] },
}

/// The common header (RFC 2328 A.3.1 / RFC 5340 A.3.1) and one body.
///
/// ```text
/// OSPFv2:
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Version #   |     Type      |         Packet length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                          Router ID                            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           Area ID                             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Checksum            |             AuType            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Authentication (64 bits)                |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// OSPFv3:
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Version #   |     Type      |         Packet Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Router ID                             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                          Area ID                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          Checksum             |  Instance ID  |      0        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub version: Version,
    pub router_id: Ipv4Addr,
    pub area_id: Ipv4Addr,
    /// OSPFv3 only; 0 in OSPFv2.
    pub instance_id: u8,
    /// OSPFv2 only; [`AuthHeader::Null`] in OSPFv3.
    pub auth: AuthHeader,
    pub body: Body,
}

/// The five packet types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Hello(Hello),
    DbDesc(DbDesc),
    LsRequest(Vec<LsRequest>),
    /// LSAs as received: framing checked, contents not yet validated.
    LsUpdate(Vec<Lsa>),
    LsAck(Vec<LsaHeader>),
}

impl Body {
    pub fn packet_type(&self) -> PacketType {
        match self {
            Body::Hello(_) => PacketType::Hello,
            Body::DbDesc(_) => PacketType::DbDesc,
            Body::LsRequest(_) => PacketType::LsRequest,
            Body::LsUpdate(_) => PacketType::LsUpdate,
            Body::LsAck(_) => PacketType::LsAck,
        }
    }
}

/// Hello (RFC 2328 A.3.2 / RFC 5340 A.3.2).
///
/// ```text
/// OSPFv2:                                 OSPFv3:
/// +-------------------------------+       +-------------------------------+
/// |         Network Mask          |       |         Interface ID          |
/// +---------------+-------+-------+       +-------+-----------------------+
/// | HelloInterval |Options|Rtr Pri|       |Rtr Pri|        Options        |
/// +---------------+-------+-------+       +-------+-------+---------------+
/// |      RouterDeadInterval       |       | HelloInterval |RouterDeadIntvl|
/// +-------------------------------+       +---------------+---------------+
/// |     Designated Router         |       |   Designated Router ID        |
/// |  Backup Designated Router     |       | Backup Designated Router ID   |
/// |         Neighbor ...          |       |       Neighbor ID ...         |
/// +-------------------------------+       +-------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// OSPFv2 only.
    pub network_mask: Ipv4Addr,
    /// OSPFv3 only.
    pub interface_id: u32,
    pub hello_interval: u16,
    /// 8 bits in OSPFv2, 24 in OSPFv3.
    pub options: u32,
    pub priority: u8,
    /// 32 bits in OSPFv2, 16 in OSPFv3.
    pub dead_interval: u32,
    /// OSPFv2: an interface address; OSPFv3: a Router ID.
    pub dr: Ipv4Addr,
    pub bdr: Ipv4Addr,
    /// Router IDs of every neighbor heard recently.
    pub neighbors: Vec<Ipv4Addr>,
}

/// The I, M and MS bits of a Database Description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DdFlags(pub u8);

impl DdFlags {
    /// Init: the first packet of the sequence.
    pub const I: u8 = 0x04;
    /// More: more packets follow.
    pub const M: u8 = 0x02;
    /// Master/Slave: set by the master.
    pub const MS: u8 = 0x01;

    pub fn init(self) -> bool {
        self.0 & Self::I != 0
    }
    pub fn more(self) -> bool {
        self.0 & Self::M != 0
    }
    pub fn master(self) -> bool {
        self.0 & Self::MS != 0
    }
}

/// Database Description (RFC 2328 A.3.3 / RFC 5340 A.3.3).
///
/// ```text
/// OSPFv2:                                 OSPFv3:
/// +---------------+-------+-------+       +-------+-----------------------+
/// | Interface MTU |Options|00000IMM|      |   0   |        Options        |
/// +---------------+-------+-------+       +-------+-------+-------+-------+
/// |      DD sequence number       |       | Interface MTU |   0   |00000IMM|
/// +-------------------------------+       +---------------+-------+-------+
/// |       LSA headers ...         |       |      DD sequence number       |
/// +-------------------------------+       |       LSA headers ...         |
///                                         +-------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbDesc {
    pub mtu: u16,
    pub options: u32,
    pub flags: DdFlags,
    pub seq: u32,
    pub headers: Vec<LsaHeader>,
}

/// One entry of a Link State Request (RFC 2328 A.3.4 / RFC 5340 A.3.4).
///
/// ```text
/// OSPFv2:                                 OSPFv3:
/// +-------------------------------+       +---------------+---------------+
/// |           LS type             |       |       0       |    LS Type    |
/// +-------------------------------+       +---------------+---------------+
/// |        Link State ID          |       |        Link State ID          |
/// |      Advertising Router       |       |      Advertising Router       |
/// +-------------------------------+       +-------------------------------+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LsRequest {
    pub ls_type: u16,
    pub lsid: Ipv4Addr,
    pub adv_router: Ipv4Addr,
}

impl Packet {
    /// Decodes one packet: `bytes` is the IP payload, which may be longer
    /// than the packet (an OSPFv2 digest or an OSPFv3 trailer follows it).
    pub fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
        let version = match bytes.first() {
            Some(2) => Version::V2,
            Some(3) => Version::V3,
            Some(&got) => return Err(DecodeError::BadVersion { got }),
            None => return Err(DecodeError::Truncated { what: "header" }),
        };
        let header_len = match version {
            Version::V2 => V2_HEADER_LEN,
            Version::V3 => V3_HEADER_LEN,
        };
        if bytes.len() < header_len {
            return Err(DecodeError::Truncated { what: "header" });
        }
        let mut r = Reader::new(bytes, "header");
        let _version = r.u8()?;
        let packet_type = PacketType::from_u8(r.u8()?)?;
        let length = usize::from(r.u16()?);
        if length < header_len || length > bytes.len() {
            return Err(DecodeError::BadLength {
                field: length,
                actual: bytes.len(),
            });
        }
        let router_id = r.ipv4()?;
        let area_id = r.ipv4()?;
        let _checksum = r.u16()?;
        let (instance_id, auth) = match version {
            Version::V2 => {
                let au_type = r.u16()?;
                let data = r.bytes(8)?;
                (0, AuthHeader::decode(au_type, data))
            }
            Version::V3 => {
                let instance = r.u8()?;
                let _zero = r.u8()?;
                (instance, AuthHeader::Null)
            }
        };
        let mut r = Reader::new(&bytes[header_len..length], "packet body");
        let body = match packet_type {
            PacketType::Hello => Body::Hello(Hello::decode(version, &mut r)?),
            PacketType::DbDesc => Body::DbDesc(DbDesc::decode(version, &mut r)?),
            PacketType::LsRequest => {
                let mut entries = Vec::new();
                while !r.is_empty() {
                    entries.push(LsRequest::decode(version, &mut r)?);
                }
                Body::LsRequest(entries)
            }
            PacketType::LsUpdate => {
                let count = r.u32()?;
                let mut lsas = Vec::new();
                for _ in 0..count {
                    lsas.push(Lsa::decode(version, &mut r)?);
                }
                if !r.is_empty() {
                    return Err(DecodeError::BadFieldLength {
                        what: "LS Update",
                        length: length - header_len,
                    });
                }
                Body::LsUpdate(lsas)
            }
            PacketType::LsAck => Body::LsAck(headers(version, &mut r)?),
        };
        Ok(Packet {
            version,
            router_id,
            area_id,
            instance_id,
            auth,
            body,
        })
    }

    /// Encodes the packet with its length set and its checksum zero.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(128);
        buf.put_u8(self.version.number());
        buf.put_u8(self.body.packet_type() as u8);
        buf.put_u16(0);
        buf.put_ipv4(self.router_id);
        buf.put_ipv4(self.area_id);
        buf.put_u16(0);
        match self.version {
            Version::V2 => self.auth.encode(&mut buf),
            Version::V3 => {
                buf.put_u8(self.instance_id);
                buf.put_u8(0);
            }
        }
        match &self.body {
            Body::Hello(h) => h.encode(self.version, &mut buf),
            Body::DbDesc(d) => d.encode(self.version, &mut buf),
            Body::LsRequest(entries) => {
                for e in entries {
                    e.encode(self.version, &mut buf);
                }
            }
            Body::LsUpdate(lsas) => {
                buf.put_u32(lsas.len() as u32);
                for l in lsas {
                    buf.extend_from_slice(&l.raw);
                }
            }
            Body::LsAck(hs) => {
                for h in hs {
                    h.encode(self.version, &mut buf);
                }
            }
        }
        let len = buf.len() as u16;
        patch_u16(&mut buf, 2, len);
        buf
    }

    /// Octets of the header, by version.
    pub fn header_len(version: Version) -> usize {
        match version {
            Version::V2 => V2_HEADER_LEN,
            Version::V3 => V3_HEADER_LEN,
        }
    }
}

fn headers(version: Version, r: &mut Reader<'_>) -> Result<Vec<LsaHeader>, DecodeError> {
    if !r.remaining().is_multiple_of(LSA_HEADER_LEN) {
        return Err(DecodeError::BadFieldLength {
            what: "LSA header list",
            length: r.remaining(),
        });
    }
    let mut out = Vec::with_capacity(r.remaining() / LSA_HEADER_LEN);
    while !r.is_empty() {
        out.push(LsaHeader::decode(version, r)?);
    }
    Ok(out)
}

impl AuthHeader {
    fn decode(au_type: u16, data: &[u8]) -> Self {
        let mut d = [0u8; 8];
        d.copy_from_slice(data);
        match au_type {
            0 => AuthHeader::Null,
            1 => AuthHeader::Simple(d),
            // The first two octets are zero; RFC 2328 D.3 does not say to
            // refuse otherwise, and nobody sends anything else.
            2 => AuthHeader::Crypto {
                key_id: d[2],
                auth_len: d[3],
                seq: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
            },
            _ => AuthHeader::Other { au_type, data: d },
        }
    }

    fn encode(&self, buf: &mut Vec<u8>) {
        match self {
            AuthHeader::Null => {
                buf.put_u16(0);
                buf.extend_from_slice(&[0; 8]);
            }
            AuthHeader::Simple(p) => {
                buf.put_u16(1);
                buf.extend_from_slice(p);
            }
            AuthHeader::Crypto {
                key_id,
                auth_len,
                seq,
            } => {
                buf.put_u16(2);
                buf.put_u16(0);
                buf.put_u8(*key_id);
                buf.put_u8(*auth_len);
                buf.put_u32(*seq);
            }
            AuthHeader::Other { au_type, data } => {
                buf.put_u16(*au_type);
                buf.extend_from_slice(data);
            }
        }
    }
}

impl Hello {
    fn decode(version: Version, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut h = match version {
            Version::V2 => Hello {
                network_mask: r.ipv4()?,
                interface_id: 0,
                hello_interval: r.u16()?,
                options: u32::from(r.u8()?),
                priority: r.u8()?,
                dead_interval: r.u32()?,
                dr: r.ipv4()?,
                bdr: r.ipv4()?,
                neighbors: Vec::new(),
            },
            Version::V3 => {
                let interface_id = r.u32()?;
                let priority = r.u8()?;
                let options = r.u24()?;
                Hello {
                    network_mask: Ipv4Addr::UNSPECIFIED,
                    interface_id,
                    priority,
                    options,
                    hello_interval: r.u16()?,
                    dead_interval: u32::from(r.u16()?),
                    dr: r.ipv4()?,
                    bdr: r.ipv4()?,
                    neighbors: Vec::new(),
                }
            }
        };
        if !r.remaining().is_multiple_of(4) {
            return Err(DecodeError::BadFieldLength {
                what: "Hello neighbor list",
                length: r.remaining(),
            });
        }
        while !r.is_empty() {
            h.neighbors.push(r.ipv4()?);
        }
        Ok(h)
    }

    fn encode(&self, version: Version, buf: &mut Vec<u8>) {
        match version {
            Version::V2 => {
                buf.put_ipv4(self.network_mask);
                buf.put_u16(self.hello_interval);
                buf.put_u8(self.options as u8);
                buf.put_u8(self.priority);
                buf.put_u32(self.dead_interval);
            }
            Version::V3 => {
                buf.put_u32(self.interface_id);
                buf.put_u8(self.priority);
                buf.put_u24(self.options);
                buf.put_u16(self.hello_interval);
                buf.put_u16(self.dead_interval as u16);
            }
        }
        buf.put_ipv4(self.dr);
        buf.put_ipv4(self.bdr);
        for n in &self.neighbors {
            buf.put_ipv4(*n);
        }
    }
}

impl DbDesc {
    fn decode(version: Version, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (mtu, options, flags) = match version {
            Version::V2 => {
                let mtu = r.u16()?;
                let options = u32::from(r.u8()?);
                (mtu, options, r.u8()?)
            }
            Version::V3 => {
                let _zero = r.u8()?;
                let options = r.u24()?;
                let mtu = r.u16()?;
                let _zero = r.u8()?;
                (mtu, options, r.u8()?)
            }
        };
        Ok(DbDesc {
            mtu,
            options,
            flags: DdFlags(flags),
            seq: r.u32()?,
            headers: headers(version, r)?,
        })
    }

    fn encode(&self, version: Version, buf: &mut Vec<u8>) {
        match version {
            Version::V2 => {
                buf.put_u16(self.mtu);
                buf.put_u8(self.options as u8);
                buf.put_u8(self.flags.0);
            }
            Version::V3 => {
                buf.put_u8(0);
                buf.put_u24(self.options);
                buf.put_u16(self.mtu);
                buf.put_u8(0);
                buf.put_u8(self.flags.0);
            }
        }
        buf.put_u32(self.seq);
        for h in &self.headers {
            h.encode(version, buf);
        }
    }
}

impl LsRequest {
    fn decode(version: Version, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ls_type = match version {
            Version::V2 => {
                let t = r.u32()?;
                u16::try_from(t).map_err(|_| DecodeError::UnknownLsaType { ls_type: 0xffff })?
            }
            Version::V3 => {
                let _zero = r.u16()?;
                r.u16()?
            }
        };
        Ok(LsRequest {
            ls_type,
            lsid: r.ipv4()?,
            adv_router: r.ipv4()?,
        })
    }

    fn encode(&self, version: Version, buf: &mut Vec<u8>) {
        match version {
            Version::V2 => buf.put_u32(u32::from(self.ls_type)),
            Version::V3 => {
                buf.put_u16(0);
                buf.put_u16(self.ls_type);
            }
        }
        buf.put_ipv4(self.lsid);
        buf.put_ipv4(self.adv_router);
    }

    pub fn key(&self) -> super::LsaKey {
        super::LsaKey {
            ls_type: self.ls_type,
            lsid: self.lsid,
            adv_router: self.adv_router,
        }
    }
}

/// Octets one LS Request entry takes.
pub const LS_REQUEST_LEN: usize = 12;
