//! From a received datagram to the session it belongs to (RFC 5880 6.3 and
//! 6.8.6, RFC 5881 sections 3 and 5), sans-IO.
//!
//! Every session on a local address shares one socket on port 3784, so every
//! packet goes through one [`Demux`]: by Your Discriminator once the peer has
//! echoed ours, by (local address, source address) before that. A packet that
//! is dropped is counted under its [`DropReason`], and against the session
//! its source address names when there is one.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;

use rand::Rng;

use super::packet::{ControlPacket, DecodeError, State};

/// RFC 5881 5: the TTL / Hop Limit every packet is sent with and every
/// unauthenticated packet must arrive with (GTSM, RFC 5082).
pub const REQUIRED_TTL: u8 = 255;

/// Why a datagram was not handed to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// RFC 5880 6.8.6 items 1 to 6 (see [`DecodeError`]).
    Malformed(DecodeError),
    /// Item 7: Your Discriminator names no session of ours.
    UnknownDiscriminator,
    /// Item 8: Your Discriminator is zero but the State is not Down or AdminDown.
    ZeroYourDiscriminator,
    /// Item 9: Your Discriminator is zero and no session is configured for
    /// this (local, source) address pair.
    NoSession,
    /// RFC 5881 5: received TTL / Hop Limit not 255 (or not reported).
    Ttl(Option<u8>),
    /// Item 10: the A bit is set and we configure no authentication.
    AuthNotConfigured,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Malformed(e) => write!(f, "malformed: {e}"),
            DropReason::UnknownDiscriminator => f.write_str("Your Discriminator names no session"),
            DropReason::ZeroYourDiscriminator => {
                f.write_str("Your Discriminator zero in a packet that is not Down or AdminDown")
            }
            DropReason::NoSession => f.write_str("no session for this source address"),
            DropReason::Ttl(Some(ttl)) => write!(f, "TTL {ttl}, not {REQUIRED_TTL}"),
            DropReason::Ttl(None) => f.write_str("TTL not reported by the socket"),
            DropReason::AuthNotConfigured => {
                f.write_str("authentication (A bit) present but not configured")
            }
        }
    }
}

/// A datagram that was dropped, and the session it was meant for if its
/// addresses name one (so per-session counters include it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped<K> {
    pub reason: DropReason,
    pub session: Option<K>,
}

/// Two sessions for one address pair (RFC 5881 3: "a single instance of BFD
/// Control per interface/address pair").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateSession {
    pub local: IpAddr,
    pub peer: IpAddr,
}

/// The session table of one system: who owns which discriminator and which
/// address pair. `K` is the driver's session key.
#[derive(Debug)]
pub struct Demux<K> {
    by_discriminator: HashMap<u32, K>,
    by_addresses: HashMap<(IpAddr, IpAddr), K>,
    dropped: BTreeMap<DropReason, u64>,
}

impl<K> Default for Demux<K> {
    fn default() -> Self {
        Demux {
            by_discriminator: HashMap::new(),
            by_addresses: HashMap::new(),
            dropped: BTreeMap::new(),
        }
    }
}

impl<K: Copy + Eq> Demux<K> {
    /// A fresh bfd.LocalDiscr: nonzero and unique among our sessions (RFC
    /// 5880 6.3). Random rather than sequential, so a restarted vipd does not
    /// reuse the discriminator the peer still remembers.
    pub fn allocate_discriminator(&self, rng: &mut impl Rng) -> u32 {
        loop {
            let discr = rng.r#gen::<u32>();
            if discr != 0 && !self.by_discriminator.contains_key(&discr) {
                return discr;
            }
        }
    }

    pub fn insert(
        &mut self,
        local: IpAddr,
        peer: IpAddr,
        discriminator: u32,
        key: K,
    ) -> Result<(), DuplicateSession> {
        if self.by_addresses.contains_key(&(local, peer)) {
            return Err(DuplicateSession { local, peer });
        }
        self.by_addresses.insert((local, peer), key);
        self.by_discriminator.insert(discriminator, key);
        Ok(())
    }

    pub fn remove(&mut self, local: IpAddr, peer: IpAddr, discriminator: u32) {
        self.by_addresses.remove(&(local, peer));
        self.by_discriminator.remove(&discriminator);
    }

    /// Whether a session for this address pair exists.
    pub fn contains(&self, local: IpAddr, peer: IpAddr) -> bool {
        self.by_addresses.contains_key(&(local, peer))
    }

    /// Whether any session still uses `local` (and so its socket).
    pub fn uses_local(&self, local: IpAddr) -> bool {
        self.by_addresses.keys().any(|(l, _)| *l == local)
    }

    /// How many datagrams were dropped for each reason so far.
    pub fn dropped(&self) -> &BTreeMap<DropReason, u64> {
        &self.dropped
    }

    /// RFC 5880 6.8.6 items 1 to 10 for a datagram that arrived on `local`
    /// from `source` with `ttl`: the session it belongs to and the packet, or
    /// why it was dropped (counted).
    pub fn classify(
        &mut self,
        local: IpAddr,
        source: IpAddr,
        ttl: Option<u8>,
        payload: &[u8],
    ) -> Result<(K, ControlPacket), Dropped<K>> {
        let by_source = self.by_addresses.get(&(local, source)).copied();
        let result = self.select(local, source, ttl, payload);
        result.map_err(|reason| {
            *self.dropped.entry(reason).or_default() += 1;
            Dropped {
                reason,
                session: by_source,
            }
        })
    }

    fn select(
        &self,
        local: IpAddr,
        source: IpAddr,
        ttl: Option<u8>,
        payload: &[u8],
    ) -> Result<(K, ControlPacket), DropReason> {
        let packet = ControlPacket::decode(payload).map_err(DropReason::Malformed)?;
        let key = if packet.your_discriminator != 0 {
            // Item 7: "If the Your Discriminator field is nonzero, it MUST be
            // used to select the session with which this BFD packet is
            // associated. If no session is found, the packet MUST be discarded."
            *self
                .by_discriminator
                .get(&packet.your_discriminator)
                .ok_or(DropReason::UnknownDiscriminator)?
        } else {
            // Item 8: "If the Your Discriminator field is zero and the State
            // field is not Down or AdminDown, the packet MUST be discarded."
            if !matches!(packet.state, State::Down | State::AdminDown) {
                return Err(DropReason::ZeroYourDiscriminator);
            }
            // Item 9, with RFC 5881 3: select by the source address and the
            // address it arrived on.
            *self
                .by_addresses
                .get(&(local, source))
                .ok_or(DropReason::NoSession)?
        };
        // RFC 5881 5: "All received BFD Control packets that are
        // demultiplexed to the session MUST be discarded if the received TTL
        // or Hop Limit is not equal to 255."
        if ttl != Some(REQUIRED_TTL) {
            return Err(DropReason::Ttl(ttl));
        }
        // Item 10: "If the A bit is set and no authentication is in use
        // (bfd.AuthType is zero), the packet MUST be discarded." Item 11 (A
        // clear while authentication is in use) cannot apply: none is.
        if packet.auth.is_some() {
            return Err(DropReason::AuthNotConfigured);
        }
        Ok((key, packet))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfd::packet::Diag;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    const LOCAL: &str = "10.255.1.2";
    const PEER: &str = "10.255.1.1";
    const OURS: u32 = 0x0a0b_0c0d;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    fn demux() -> Demux<u8> {
        let mut demux = Demux::default();
        demux
            .insert(ip(LOCAL), ip(PEER), OURS, 1)
            .expect("first session");
        demux
    }

    fn packet(state: State, your: u32) -> ControlPacket {
        ControlPacket {
            diag: Diag::NoDiagnostic,
            state,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            multipoint: false,
            detect_mult: 3,
            my_discriminator: 77,
            your_discriminator: your,
            desired_min_tx_us: 1_000_000,
            required_min_rx_us: 50_000,
            required_min_echo_rx_us: 0,
            auth: None,
        }
    }

    fn from_peer(demux: &mut Demux<u8>, ttl: u8, p: &ControlPacket) -> Result<u8, Dropped<u8>> {
        demux
            .classify(ip(LOCAL), ip(PEER), Some(ttl), &p.encode())
            .map(|(key, _)| key)
    }

    #[test]
    fn a_first_packet_is_found_by_its_addresses_later_ones_by_discriminator() {
        let mut demux = demux();
        assert_eq!(from_peer(&mut demux, 255, &packet(State::Down, 0)), Ok(1));
        assert_eq!(from_peer(&mut demux, 255, &packet(State::Up, OURS)), Ok(1));
        // RFC 5880 6.3: once our discriminator is echoed, the source address
        // no longer matters.
        let moved = demux.classify(
            ip(LOCAL),
            ip("10.255.9.9"),
            Some(255),
            &packet(State::Up, OURS).encode(),
        );
        assert_eq!(moved.map(|(key, _)| key), Ok(1));
    }

    #[test]
    fn several_peers_share_one_local_address() {
        let mut demux = demux();
        demux
            .insert(ip(LOCAL), ip("10.255.1.3"), 0x99, 2)
            .expect("second peer");
        let second = demux.classify(
            ip(LOCAL),
            ip("10.255.1.3"),
            Some(255),
            &packet(State::Down, 0).encode(),
        );
        assert_eq!(second.map(|(key, _)| key), Ok(2));
        assert_eq!(
            from_peer(&mut demux, 255, &packet(State::Init, 0x99)),
            Ok(2)
        );
        assert_eq!(
            demux.insert(ip(LOCAL), ip(PEER), 0x1234, 3),
            Err(DuplicateSession {
                local: ip(LOCAL),
                peer: ip(PEER)
            })
        );
        demux.remove(ip(LOCAL), ip(PEER), OURS);
        assert!(demux.uses_local(ip(LOCAL)));
        demux.remove(ip(LOCAL), ip("10.255.1.3"), 0x99);
        assert!(!demux.uses_local(ip(LOCAL)));
    }

    #[test]
    fn malformed_packets_are_dropped_and_counted_against_the_session() {
        let mut demux = demux();
        let mut bad_version = packet(State::Down, 0).encode();
        bad_version[0] = 0x40;
        let mut multipoint = packet(State::Down, 0).encode();
        multipoint[1] |= 0x01;
        for bytes in [&bad_version[..], &multipoint[..], &bad_version[..8]] {
            let dropped = demux
                .classify(ip(LOCAL), ip(PEER), Some(255), bytes)
                .expect_err("malformed");
            assert_eq!(dropped.session, Some(1));
        }
        let stranger = demux
            .classify(ip(LOCAL), ip("192.0.2.1"), Some(255), &bad_version)
            .expect_err("malformed");
        assert_eq!(stranger.session, None);
        let counts: Vec<(DropReason, u64)> =
            demux.dropped().iter().map(|(r, n)| (*r, *n)).collect();
        assert_eq!(
            counts,
            [
                (DropReason::Malformed(DecodeError::BadVersion(2)), 3),
                (DropReason::Malformed(DecodeError::Multipoint), 1),
            ]
        );
    }

    #[test]
    fn a_ttl_other_than_255_is_dropped() {
        let mut demux = demux();
        let p = packet(State::Down, 0);
        assert_eq!(
            from_peer(&mut demux, 254, &p),
            Err(Dropped {
                reason: DropReason::Ttl(Some(254)),
                session: Some(1)
            })
        );
        let unknown = demux.classify(ip(LOCAL), ip(PEER), None, &p.encode());
        assert_eq!(
            unknown.map(|(k, _)| k).map_err(|d| d.reason),
            Err(DropReason::Ttl(None))
        );
    }

    #[test]
    fn an_unknown_your_discriminator_is_dropped() {
        let mut demux = demux();
        assert_eq!(
            from_peer(&mut demux, 255, &packet(State::Up, 0x5555)).map_err(|d| d.reason),
            Err(DropReason::UnknownDiscriminator)
        );
    }

    #[test]
    fn your_discriminator_zero_is_only_accepted_from_down_or_admin_down() {
        let mut demux = demux();
        for state in [State::Init, State::Up] {
            assert_eq!(
                from_peer(&mut demux, 255, &packet(state, 0)).map_err(|d| d.reason),
                Err(DropReason::ZeroYourDiscriminator)
            );
        }
        assert_eq!(
            from_peer(&mut demux, 255, &packet(State::AdminDown, 0)),
            Ok(1)
        );
    }

    #[test]
    fn a_packet_from_an_unconfigured_address_is_dropped() {
        let mut demux = demux();
        let stranger = demux.classify(
            ip(LOCAL),
            ip("10.255.7.7"),
            Some(255),
            &packet(State::Down, 0).encode(),
        );
        assert_eq!(
            stranger.map(|(k, _)| k),
            Err(Dropped {
                reason: DropReason::NoSession,
                session: None
            })
        );
    }

    #[test]
    fn a_packet_with_authentication_is_dropped_since_none_is_configured() {
        let mut demux = demux();
        let p = ControlPacket {
            auth: Some(vec![1, 7, 1, b'k', b'e', b'y', b'!']),
            ..packet(State::Down, 0)
        };
        assert_eq!(
            from_peer(&mut demux, 255, &p).map_err(|d| d.reason),
            Err(DropReason::AuthNotConfigured)
        );
    }

    #[test]
    fn discriminators_are_nonzero_and_unique() {
        let mut demux: Demux<u32> = Demux::default();
        let mut rng = SmallRng::seed_from_u64(5);
        let mut seen = std::collections::HashSet::new();
        for i in 0..1000u32 {
            let discr = demux.allocate_discriminator(&mut rng);
            assert_ne!(discr, 0);
            assert!(seen.insert(discr));
            let peer = IpAddr::from(i.to_be_bytes());
            demux
                .insert(ip(LOCAL), peer, discr, i)
                .expect("unique pair");
        }
    }
}
