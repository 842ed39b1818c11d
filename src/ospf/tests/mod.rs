//! Scenario tests of the sans-IO instance on a virtual clock: a scripted
//! router ([`Peer`]) sends packets, the test reads what vipd sent back.
//!
//! - `adjacency`: Hello, 2-Way, ExStart, Exchange, Loading, Full; dead
//!   timer; MTU mismatch; DD retransmission; broadcast DR election.
//! - `flooding`: updates, acks, retransmission, MinLSArrival.
//! - `origination`: VIPs as LSAs, withdrawal, MinLSInterval, shutdown.
//! - `malformed`: what is dropped and counted.
//! - `v3`: OSPFv3 adjacency and LSAs.

mod adjacency;
mod flooding;
mod malformed;
mod origination;
mod reload;
mod v3;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use super::instance::{Event, Input, Instance, InstanceConfig, Output, VipLsa};
use super::interface::{InterfaceAddrs, InterfaceConfig, NetworkType};
use super::neighbor::NbrState;
use super::wire::auth::{self, AuthKey};
use super::wire::iana::options;
use super::wire::lsa::LsaBody;
use super::wire::{
    AuthHeader, Body, DbDesc, DdFlags, Hello, LsRequest, Lsa, LsaHeader, Packet, Version,
};

/// vipd's Router ID in every scenario; peers above it are master.
pub(super) const ME: Ipv4Addr = Ipv4Addr::new(10, 255, 0, 2);
pub(super) const MY_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
pub(super) const IFINDEX: u32 = 7;
pub(super) const SEED: u32 = 1000;

/// The instance under test and its virtual clock.
pub(super) struct Lab {
    pub(super) inst: Instance,
    pub(super) now: Instant,
    pub(super) version: Version,
}

pub(super) fn iface_config(network: NetworkType) -> InterfaceConfig {
    InterfaceConfig {
        name: "eth1".into(),
        network,
        cost: 10,
        hello_interval: 10,
        dead_interval: 40,
        retransmit_interval: 5,
        auth: None,
        instance_id: 0,
    }
}

impl Lab {
    pub(super) fn new(version: Version, network: NetworkType, vip_lsa: VipLsa) -> Lab {
        Lab::with_interface(version, iface_config(network), vip_lsa)
    }

    pub(super) fn with_interface(version: Version, iface: InterfaceConfig, vip_lsa: VipLsa) -> Lab {
        let t0 = Instant::now();
        let cfg = InstanceConfig {
            version,
            router_id: ME,
            area_id: Ipv4Addr::UNSPECIFIED,
            vip_lsa,
            external_type2: true,
            interfaces: vec![iface],
        };
        let mut lab = Lab {
            inst: Instance::new(cfg, t0, SEED),
            now: t0,
            version,
        };
        let addrs = InterfaceAddrs {
            ifindex: IFINDEX,
            mtu: 1500,
            ipv4: Some("10.255.1.2/24".parse().unwrap()),
            link_local: Some(MY_LINK_LOCAL),
            ipv6_prefixes: vec!["fd00:255:1::2/64".parse().unwrap()],
        };
        lab.input(Input::InterfaceUp { iface: 0, addrs });
        lab
    }

    pub(super) fn input(&mut self, input: Input<'_>) -> Vec<Output> {
        self.inst.handle(self.now, input)
    }

    /// Moves the clock forward by `d`, firing every deadline on the way.
    pub(super) fn advance(&mut self, d: Duration) -> Vec<Output> {
        let target = self.now + d;
        let mut out = Vec::new();
        for _ in 0..10_000 {
            match self.inst.poll_timeout() {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    out.extend(self.inst.handle_timeout(self.now));
                }
                _ => break,
            }
        }
        self.now = target;
        out
    }

    /// Delivers a packet from `peer`.
    pub(super) fn receive(&mut self, peer: &Peer, body: Body) -> Vec<Output> {
        let data = peer.seal(body);
        self.receive_raw(peer, &data)
    }

    pub(super) fn receive_raw(&mut self, peer: &Peer, data: &[u8]) -> Vec<Output> {
        let dst = match self.version {
            Version::V2 => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 5)),
            Version::V3 => "ff02::5".parse().unwrap(),
        };
        self.inst.handle(
            self.now,
            Input::Packet {
                iface: 0,
                src: peer.addr,
                dst,
                data,
            },
        )
    }

    pub(super) fn state_of(&self, peer: &Peer) -> Option<NbrState> {
        self.inst.ifaces[0]
            .neighbors
            .get(&peer.rid)
            .map(|n| n.state)
    }

    pub(super) fn vips(&mut self, vips: &[(&str, u32)]) -> Vec<Output> {
        let map: BTreeMap<IpNet, u32> =
            vips.iter().map(|(p, c)| (p.parse().unwrap(), *c)).collect();
        self.input(Input::Vips(map))
    }

    /// Takes `peer` from nothing to Full, vipd as slave when the peer's
    /// Router ID is higher, and returns what was sent on the way.
    pub(super) fn bring_up(&mut self, peer: &Peer) -> Vec<Output> {
        let mut out = self.receive(peer, peer.hello(&[ME]));
        assert_eq!(self.state_of(peer), Some(NbrState::ExStart));
        let my_first = dds(&out).last().cloned().expect("initial DD");
        let their_lsas = peer.lsas.clone();
        let headers: Vec<LsaHeader> = their_lsas.iter().map(|l| l.header).collect();
        if peer.rid > ME {
            out.extend(self.receive(
                peer,
                peer.dd(DdFlags::I | DdFlags::M | DdFlags::MS, 5000, vec![]),
            ));
            out.extend(self.receive(peer, peer.dd(DdFlags::MS, 5001, headers)));
        } else {
            // vipd is master: acknowledge its first packet, then its next.
            out.extend(self.receive(peer, peer.dd(0, my_first.seq, headers)));
            let next = dds(&out).last().cloned().expect("second DD");
            out.extend(self.receive(peer, peer.dd(0, next.seq, vec![])));
        }
        if !their_lsas.is_empty() {
            out.extend(self.receive(peer, Body::LsUpdate(their_lsas)));
        }
        assert_eq!(self.state_of(peer), Some(NbrState::Full), "{out:#?}");
        out
    }
}

/// A scripted neighbor.
#[derive(Clone)]
pub(super) struct Peer {
    pub(super) version: Version,
    pub(super) rid: Ipv4Addr,
    pub(super) addr: IpAddr,
    pub(super) priority: u8,
    pub(super) dr: Ipv4Addr,
    pub(super) bdr: Ipv4Addr,
    pub(super) mtu: u16,
    pub(super) auth: Option<AuthKey>,
    pub(super) crypto_seq: std::cell::Cell<u32>,
    /// What it has in its database (described and sent during exchange).
    pub(super) lsas: Vec<Lsa>,
}

impl Peer {
    pub(super) fn new(version: Version, rid: [u8; 4], host: u8) -> Peer {
        let addr = match version {
            Version::V2 => IpAddr::V4(Ipv4Addr::new(10, 255, 1, host)),
            Version::V3 => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(host))),
        };
        let rid = Ipv4Addr::from(rid);
        let mut p = Peer {
            version,
            rid,
            addr,
            priority: 1,
            dr: Ipv4Addr::UNSPECIFIED,
            bdr: Ipv4Addr::UNSPECIFIED,
            mtu: 1500,
            auth: None,
            crypto_seq: std::cell::Cell::new(1),
            lsas: Vec::new(),
        };
        p.lsas = vec![p.router_lsa(0x8000_0001, 10)];
        p
    }

    /// Its identity in DR/BDR fields.
    pub(super) fn id(&self) -> Ipv4Addr {
        match self.addr {
            IpAddr::V4(a) if self.version == Version::V2 => a,
            _ => self.rid,
        }
    }

    pub(super) fn router_lsa(&self, seq: u32, age: u16) -> Lsa {
        let (t, lsid, options, body) = match self.version {
            Version::V2 => (
                1,
                self.rid,
                2,
                LsaBody::Router(super::wire::lsa_v2::RouterLsa {
                    flags: 0,
                    links: vec![],
                }),
            ),
            Version::V3 => (
                0x2001,
                Ipv4Addr::UNSPECIFIED,
                0,
                LsaBody::RouterV3(super::wire::lsa_v3::RouterLsaV3 {
                    flags: 0,
                    options: 0x13,
                    links: vec![],
                }),
            ),
        };
        let h = LsaHeader {
            age,
            options,
            ls_type: t,
            lsid,
            adv_router: self.rid,
            seq,
            checksum: 0,
            length: 0,
        };
        Lsa::build(self.version, h, &body)
    }

    pub(super) fn packet(&self, body: Body) -> Packet {
        let auth = match &self.auth {
            Some(k) => {
                let seq = self.crypto_seq.get() + 1;
                self.crypto_seq.set(seq);
                AuthHeader::Crypto {
                    key_id: k.key_id,
                    auth_len: k.algorithm.digest_len() as u8,
                    seq,
                }
            }
            None => AuthHeader::Null,
        };
        Packet {
            version: self.version,
            router_id: self.rid,
            area_id: Ipv4Addr::UNSPECIFIED,
            instance_id: 0,
            auth,
            body,
        }
    }

    pub(super) fn seal(&self, body: Body) -> Vec<u8> {
        let p = self.packet(body);
        let mut data = p.encode();
        if self.version == Version::V2 {
            let seq = match p.auth {
                AuthHeader::Crypto { seq, .. } => seq,
                _ => 0,
            };
            auth::seal(&mut data, self.auth.as_ref(), seq);
        }
        data
    }

    pub(super) fn hello(&self, neighbors: &[Ipv4Addr]) -> Body {
        let (e, v6) = match self.version {
            Version::V2 => (options::V2_E, 0),
            Version::V3 => (options::V3_E, options::V3_V6 | options::V3_R),
        };
        Body::Hello(Hello {
            network_mask: match self.version {
                Version::V2 => Ipv4Addr::new(255, 255, 255, 0),
                Version::V3 => Ipv4Addr::UNSPECIFIED,
            },
            interface_id: 3,
            hello_interval: 10,
            options: e | v6,
            priority: self.priority,
            dead_interval: 40,
            dr: self.dr,
            bdr: self.bdr,
            neighbors: neighbors.to_vec(),
        })
    }

    pub(super) fn dd(&self, flags: u8, seq: u32, headers: Vec<LsaHeader>) -> Body {
        let options = match self.version {
            Version::V2 => options::V2_E,
            Version::V3 => options::V3_E | options::V3_V6 | options::V3_R,
        };
        Body::DbDesc(DbDesc {
            mtu: self.mtu,
            options,
            flags: DdFlags(flags),
            seq,
            headers,
        })
    }
}

/// Every packet vipd sent, decoded, with its destination.
pub(super) fn sent(out: &[Output]) -> Vec<(IpAddr, Packet)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { dst, data, .. } => Some((
                *dst,
                Packet::decode(data).expect("vipd sent a packet it cannot decode"),
            )),
            _ => None,
        })
        .collect()
}

pub(super) fn dds(out: &[Output]) -> Vec<DbDesc> {
    sent(out)
        .into_iter()
        .filter_map(|(_, p)| match p.body {
            Body::DbDesc(d) => Some(d),
            _ => None,
        })
        .collect()
}

pub(super) fn hellos(out: &[Output]) -> Vec<Hello> {
    sent(out)
        .into_iter()
        .filter_map(|(_, p)| match p.body {
            Body::Hello(h) => Some(h),
            _ => None,
        })
        .collect()
}

/// Every LSA vipd sent in LS Updates, with the destination.
pub(super) fn updates(out: &[Output]) -> Vec<(IpAddr, Lsa)> {
    sent(out)
        .into_iter()
        .flat_map(|(dst, p)| match p.body {
            Body::LsUpdate(l) => l.into_iter().map(|l| (dst, l)).collect(),
            _ => Vec::new(),
        })
        .collect()
}

pub(super) fn acks(out: &[Output]) -> Vec<(IpAddr, LsaHeader)> {
    sent(out)
        .into_iter()
        .flat_map(|(dst, p)| match p.body {
            Body::LsAck(h) => h.into_iter().map(|h| (dst, h)).collect(),
            _ => Vec::new(),
        })
        .collect()
}

pub(super) fn requests(out: &[Output]) -> Vec<LsRequest> {
    sent(out)
        .into_iter()
        .flat_map(|(_, p)| match p.body {
            Body::LsRequest(r) => r,
            _ => Vec::new(),
        })
        .collect()
}

pub(super) fn events(out: &[Output]) -> Vec<Event> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn dropped(out: &[Output]) -> Vec<&'static str> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            Event::PacketDropped { reason, .. } => Some(reason),
            _ => None,
        })
        .collect()
}

/// The database copy of vipd's own LSA of this type and ID, decoded.
pub(super) fn own(lab: &Lab, ls_type: u16, lsid: Ipv4Addr) -> Option<(LsaHeader, LsaBody)> {
    lab.inst
        .lsdb
        .iter()
        .find(|(k, _)| k.key.ls_type == ls_type && k.key.lsid == lsid && k.key.adv_router == ME)
        .map(|(_, e)| (e.header(lab.now), e.lsa.decode_body(lab.version).unwrap()))
}

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) fn ms(s: u64) -> Duration {
    Duration::from_millis(s)
}
