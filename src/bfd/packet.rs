//! The BFD Control packet (RFC 5880 section 4.1): decoder and encoder side by
//! side, with the packet-only checks of the reception rules (section 6.8.6,
//! items 1 to 6). The rules that need a session table (Your Discriminator,
//! TTL, authentication) are applied by [`super::demux`].

use std::fmt;
use std::time::Duration;

/// Every BFD Control packet we send and accept is version 1 (RFC 5880 4.1).
pub const VERSION: u8 = 1;
/// Length of the mandatory section; the whole packet when the A bit is clear.
pub const MANDATORY_LEN: usize = 24;
/// RFC 5880 6.8.6 item 2: with the A bit set, Auth Type and Auth Len must fit too.
const MIN_LEN_WITH_AUTH: usize = MANDATORY_LEN + 2;

/// Diag (RFC 5880 4.1): the sender's reason for its last session state change.
/// Values 9..=31 are unassigned; they are kept as [`Diag::Unknown`] so a
/// received packet re-encodes to the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Diag {
    NoDiagnostic,
    ControlDetectionTimeExpired,
    EchoFunctionFailed,
    NeighborSignaledSessionDown,
    ForwardingPlaneReset,
    PathDown,
    ConcatenatedPathDown,
    AdministrativelyDown,
    ReverseConcatenatedPathDown,
    Unknown(u8),
}

impl Diag {
    /// From the 5-bit field; only the low 5 bits of `code` are used.
    pub fn from_code(code: u8) -> Diag {
        match code & 0x1f {
            0 => Diag::NoDiagnostic,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledSessionDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            other => Diag::Unknown(other),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Diag::NoDiagnostic => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledSessionDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Unknown(code) => code & 0x1f,
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diag::NoDiagnostic => f.write_str("No Diagnostic"),
            Diag::ControlDetectionTimeExpired => f.write_str("Control Detection Time Expired"),
            Diag::EchoFunctionFailed => f.write_str("Echo Function Failed"),
            Diag::NeighborSignaledSessionDown => f.write_str("Neighbor Signaled Session Down"),
            Diag::ForwardingPlaneReset => f.write_str("Forwarding Plane Reset"),
            Diag::PathDown => f.write_str("Path Down"),
            Diag::ConcatenatedPathDown => f.write_str("Concatenated Path Down"),
            Diag::AdministrativelyDown => f.write_str("Administratively Down"),
            Diag::ReverseConcatenatedPathDown => f.write_str("Reverse Concatenated Path Down"),
            Diag::Unknown(code) => write!(f, "unassigned diagnostic {code}"),
        }
    }
}

/// Sta (RFC 5880 4.1): the sender's session state. Two bits, all four assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    AdminDown,
    Down,
    Init,
    Up,
}

impl State {
    pub fn from_code(code: u8) -> State {
        match code & 0x3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    pub fn code(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// A BFD Control packet (RFC 5880 section 4.1), version 1:
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       My Discriminator                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Your Discriminator                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Desired Min TX Interval                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   Required Min RX Interval                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Required Min Echo RX Interval                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///
/// An optional Authentication Section MAY be present (A bit set):
///
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Auth Type   |   Auth Len    |    Authentication Data...     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Intervals are in microseconds, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPacket {
    pub diag: Diag,
    pub state: State,
    /// P: the sender asks for a packet with F set in reply (Poll Sequence, 6.5).
    pub poll: bool,
    /// F: the sender answers a packet that had P set.
    pub final_: bool,
    /// C: the sender's BFD does not share fate with its control plane.
    pub control_plane_independent: bool,
    /// D: the sender wants Demand mode.
    pub demand: bool,
    /// M: reserved for multipoint; always clear on the wire (decode refuses it).
    pub multipoint: bool,
    pub detect_mult: u8,
    pub my_discriminator: u32,
    pub your_discriminator: u32,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
    pub required_min_echo_rx_us: u32,
    /// The Authentication Section as received (A bit set), unparsed: vipd
    /// configures no authentication, so such a packet is dropped anyway.
    pub auth: Option<Vec<u8>>,
}

/// Why a datagram is not a usable BFD Control packet (RFC 5880 6.8.6, items 1-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecodeError {
    /// Shorter than the mandatory section: not even the fields can be read.
    Truncated { len: usize },
    /// Item 1: "If the version number is not correct (1), the packet MUST be discarded."
    BadVersion(u8),
    /// Item 2: Length below 24, or below 26 with the A bit set.
    LengthTooShort { length: u8, auth: bool },
    /// Item 3: Length larger than the UDP payload that carried it.
    LengthBeyondPayload { length: u8, payload: usize },
    /// Item 4: Detect Mult is zero.
    ZeroDetectMult,
    /// Item 5: the Multipoint (M) bit is set.
    Multipoint,
    /// Item 6: My Discriminator is zero.
    ZeroMyDiscriminator,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { len } => write!(
                f,
                "{len} bytes, shorter than the {MANDATORY_LEN}-byte mandatory section"
            ),
            DecodeError::BadVersion(v) => write!(f, "version {v}, not {VERSION}"),
            DecodeError::LengthTooShort { length, auth } => write!(
                f,
                "Length {length} below the minimum of {} (A bit {})",
                if *auth {
                    MIN_LEN_WITH_AUTH
                } else {
                    MANDATORY_LEN
                },
                if *auth { "set" } else { "clear" }
            ),
            DecodeError::LengthBeyondPayload { length, payload } => {
                write!(f, "Length {length} beyond the {payload}-byte UDP payload")
            }
            DecodeError::ZeroDetectMult => f.write_str("Detect Mult is zero"),
            DecodeError::Multipoint => f.write_str("Multipoint (M) bit set"),
            DecodeError::ZeroMyDiscriminator => f.write_str("My Discriminator is zero"),
        }
    }
}

impl std::error::Error for DecodeError {}

const FLAG_P: u8 = 0x20;
const FLAG_F: u8 = 0x10;
const FLAG_C: u8 = 0x08;
const FLAG_A: u8 = 0x04;
const FLAG_D: u8 = 0x02;
const FLAG_M: u8 = 0x01;

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

impl ControlPacket {
    /// Decodes one UDP payload, applying RFC 5880 6.8.6 items 1 to 6 in order.
    /// Bytes after Length are not part of the packet and are ignored.
    pub fn decode(payload: &[u8]) -> Result<ControlPacket, DecodeError> {
        if payload.len() < MANDATORY_LEN {
            // Item 1 can still be judged from the first byte, and names the
            // problem better for a stray packet of another protocol.
            if let Some(first) = payload.first()
                && first >> 5 != VERSION
            {
                return Err(DecodeError::BadVersion(first >> 5));
            }
            return Err(DecodeError::Truncated { len: payload.len() });
        }
        let version = payload[0] >> 5;
        if version != VERSION {
            return Err(DecodeError::BadVersion(version));
        }
        let flags = payload[1];
        let auth = flags & FLAG_A != 0;
        let length = payload[3];
        let min = if auth {
            MIN_LEN_WITH_AUTH
        } else {
            MANDATORY_LEN
        };
        if usize::from(length) < min {
            return Err(DecodeError::LengthTooShort { length, auth });
        }
        if usize::from(length) > payload.len() {
            return Err(DecodeError::LengthBeyondPayload {
                length,
                payload: payload.len(),
            });
        }
        let detect_mult = payload[2];
        if detect_mult == 0 {
            return Err(DecodeError::ZeroDetectMult);
        }
        if flags & FLAG_M != 0 {
            return Err(DecodeError::Multipoint);
        }
        let my_discriminator = u32_at(payload, 4);
        if my_discriminator == 0 {
            return Err(DecodeError::ZeroMyDiscriminator);
        }
        Ok(ControlPacket {
            diag: Diag::from_code(payload[0]),
            state: State::from_code(flags >> 6),
            poll: flags & FLAG_P != 0,
            final_: flags & FLAG_F != 0,
            control_plane_independent: flags & FLAG_C != 0,
            demand: flags & FLAG_D != 0,
            multipoint: false,
            detect_mult,
            my_discriminator,
            your_discriminator: u32_at(payload, 8),
            desired_min_tx_us: u32_at(payload, 12),
            required_min_rx_us: u32_at(payload, 16),
            required_min_echo_rx_us: u32_at(payload, 20),
            auth: auth.then(|| payload[MANDATORY_LEN..usize::from(length)].to_vec()),
        })
    }

    /// The packet's bytes; Length covers the Authentication Section if any.
    ///
    /// # Panics
    /// If `auth` is longer than 231 bytes (Length is one octet): never the
    /// case for packets vipd builds, which carry none.
    pub fn encode(&self) -> Vec<u8> {
        let auth = self.auth.as_deref().unwrap_or_default();
        let length = u8::try_from(MANDATORY_LEN + auth.len())
            .expect("BFD authentication section longer than Length can say");
        let mut flags = self.state.code() << 6;
        for (set, bit) in [
            (self.poll, FLAG_P),
            (self.final_, FLAG_F),
            (self.control_plane_independent, FLAG_C),
            (self.auth.is_some(), FLAG_A),
            (self.demand, FLAG_D),
            (self.multipoint, FLAG_M),
        ] {
            if set {
                flags |= bit;
            }
        }
        let mut out = Vec::with_capacity(usize::from(length));
        out.push(VERSION << 5 | self.diag.code());
        out.push(flags);
        out.push(self.detect_mult);
        out.push(length);
        for word in [
            self.my_discriminator,
            self.your_discriminator,
            self.desired_min_tx_us,
            self.required_min_rx_us,
            self.required_min_echo_rx_us,
        ] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out.extend_from_slice(auth);
        out
    }
}

/// An interval for the wire: microseconds, saturating at `u32::MAX` (71 min).
pub fn to_micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

pub fn from_micros(us: u32) -> Duration {
    Duration::from_micros(u64::from(us))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_hex(text: &str) -> Result<ControlPacket, DecodeError> {
        let bytes = hex::decode(text.replace(' ', "")).expect("test vector is hex");
        ControlPacket::decode(&bytes)
    }

    fn both_ways(text: &str, packet: &ControlPacket) {
        let bytes = hex::decode(text.replace(' ', "")).expect("test vector is hex");
        assert_eq!(ControlPacket::decode(&bytes).as_ref(), Ok(packet));
        assert_eq!(hex::encode(packet.encode()), hex::encode(&bytes));
    }

    fn down_packet() -> ControlPacket {
        ControlPacket {
            diag: Diag::NoDiagnostic,
            state: State::Down,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            multipoint: false,
            detect_mult: 3,
            my_discriminator: 0x1122_3344,
            your_discriminator: 0,
            desired_min_tx_us: 1_000_000,
            required_min_rx_us: 50_000,
            required_min_echo_rx_us: 0,
            auth: None,
        }
    }

    #[test]
    fn a_down_packet_with_slow_timers_both_ways() {
        // 0x20: version 1, diag 0. 0x40: Down, no flags. Mult 3, Length 24.
        both_ways(
            "20 40 03 18  11223344  00000000  000f4240  0000c350  00000000",
            &down_packet(),
        );
    }

    #[test]
    fn an_up_packet_polling_for_fast_timers_both_ways() {
        let packet = ControlPacket {
            state: State::Up,
            poll: true,
            your_discriminator: 0xdead_beef,
            desired_min_tx_us: 50_000,
            ..down_packet()
        };
        // 0xe0 = Up (3 << 6) | P (0x20).
        both_ways(
            "20 e0 03 18  11223344  deadbeef  0000c350  0000c350  00000000",
            &packet,
        );
    }

    #[test]
    fn a_final_answer_carries_f_and_not_p() {
        let packet = ControlPacket {
            state: State::Up,
            final_: true,
            your_discriminator: 7,
            ..down_packet()
        };
        both_ways(
            "20 d0 03 18  11223344  00000007  000f4240  0000c350  00000000",
            &packet,
        );
    }

    #[test]
    fn diag_state_and_every_flag_land_in_their_bits() {
        let packet = ControlPacket {
            diag: Diag::NeighborSignaledSessionDown,
            state: State::Init,
            control_plane_independent: true,
            demand: true,
            detect_mult: 255,
            required_min_echo_rx_us: 0x0102_0304,
            ..down_packet()
        };
        // 0x23: version 1, diag 3. 0x8a: Init (2 << 6) | C (0x08) | D (0x02).
        both_ways(
            "23 8a ff 18  11223344  00000000  000f4240  0000c350  01020304",
            &packet,
        );
    }

    #[test]
    fn an_admin_down_packet_with_diag_7_both_ways() {
        let packet = ControlPacket {
            diag: Diag::AdministrativelyDown,
            state: State::AdminDown,
            ..down_packet()
        };
        both_ways(
            "27 00 03 18  11223344  00000000  000f4240  0000c350  00000000",
            &packet,
        );
    }

    /// Packets captured from BIRD 2.0.12 and FRR 8.4.4 bfdd in the
    /// proto-test labs (`tcpdump udp port 3784` in the router's namespace).
    #[test]
    fn packets_captured_from_bird_and_frr_both_ways() {
        let from = |state, diag, poll, final_, mine, yours, tx, rx, echo| ControlPacket {
            diag,
            state,
            poll,
            final_,
            detect_mult: 3,
            my_discriminator: mine,
            your_discriminator: yours,
            desired_min_tx_us: tx,
            required_min_rx_us: rx,
            required_min_echo_rx_us: echo,
            ..down_packet()
        };
        let no_diag = Diag::NoDiagnostic;
        let expired = Diag::ControlDetectionTimeExpired;
        let vectors = [
            // BIRD, Init at the slow rate, answering our Down.
            (
                "20 80 03 18  a23df064  967496a2  000f4240  0000c350  00000000",
                from(
                    State::Init,
                    no_diag,
                    false,
                    false,
                    0xa23d_f064,
                    0x9674_96a2,
                    1_000_000,
                    50_000,
                    0,
                ),
            ),
            // BIRD, Up, Final for our Poll.
            (
                "20 d0 03 18  da443edc  c9d77530  0000c350  0000c350  00000000",
                from(
                    State::Up,
                    no_diag,
                    false,
                    true,
                    0xda44_3edc,
                    0xc9d7_7530,
                    50_000,
                    50_000,
                    0,
                ),
            ),
            // BIRD, Down after our silence: diag 1, our discriminator forgotten.
            (
                "21 40 03 18  a23df064  00000000  000f4240  0000c350  00000000",
                from(
                    State::Down,
                    expired,
                    false,
                    false,
                    0xa23d_f064,
                    0,
                    1_000_000,
                    50_000,
                    0,
                ),
            ),
            // FRR, Init: slow RX too, and it would accept Echo at 50 ms.
            (
                "20 80 03 18  cbfbc2ed  93b8ac85  000f4240  000f4240  0000c350",
                from(
                    State::Init,
                    no_diag,
                    false,
                    false,
                    0xcbfb_c2ed,
                    0x93b8_ac85,
                    1_000_000,
                    1_000_000,
                    50_000,
                ),
            ),
            // FRR, Up, polling for its fast timers.
            (
                "20 e0 03 18  27cdd077  25bbb5e5  0000c350  0000c350  0000c350",
                from(
                    State::Up,
                    no_diag,
                    true,
                    false,
                    0x27cd_d077,
                    0x25bb_b5e5,
                    50_000,
                    50_000,
                    50_000,
                ),
            ),
            // FRR, Down after our silence, still advertising its fast timers.
            (
                "21 40 03 18  cbfbc2ed  00000000  0000c350  0000c350  0000c350",
                from(
                    State::Down,
                    expired,
                    false,
                    false,
                    0xcbfb_c2ed,
                    0,
                    50_000,
                    50_000,
                    50_000,
                ),
            ),
        ];
        for (bytes, packet) in &vectors {
            both_ways(bytes, packet);
        }
    }

    #[test]
    fn an_unassigned_diag_round_trips() {
        let packet = ControlPacket {
            diag: Diag::Unknown(31),
            ..down_packet()
        };
        both_ways(
            "3f 40 03 18  11223344  00000000  000f4240  0000c350  00000000",
            &packet,
        );
    }

    #[test]
    fn an_authentication_section_is_kept_unparsed_and_round_trips() {
        // Simple Password (type 1), Auth Len 7, key id 1, "abcd".
        let packet = ControlPacket {
            auth: Some(vec![1, 7, 1, b'a', b'b', b'c', b'd']),
            ..down_packet()
        };
        both_ways(
            "20 44 03 1f  11223344  00000000  000f4240  0000c350  00000000  01 07 01 61626364",
            &packet,
        );
    }

    #[test]
    fn bytes_after_length_are_ignored() {
        let bytes = hex::decode("204003181122334400000000000f42400000c35000000000cafe")
            .expect("test vector is hex");
        assert_eq!(ControlPacket::decode(&bytes), Ok(down_packet()));
    }

    // RFC 5880 6.8.6, items 1 to 6, one test each.

    #[test]
    fn version_0_or_2_is_discarded() {
        assert_eq!(
            decode_hex("00 40 03 18  11223344  00000000  000f4240  0000c350  00000000"),
            Err(DecodeError::BadVersion(0))
        );
        assert_eq!(
            decode_hex("40 40 03 18  11223344  00000000  000f4240  0000c350  00000000"),
            Err(DecodeError::BadVersion(2))
        );
    }

    #[test]
    fn a_length_below_24_or_26_with_auth_is_discarded() {
        assert_eq!(
            decode_hex("20 40 03 17  11223344  00000000  000f4240  0000c350  00000000"),
            Err(DecodeError::LengthTooShort {
                length: 23,
                auth: false
            })
        );
        assert_eq!(
            decode_hex("20 44 03 18  11223344  00000000  000f4240  0000c350  00000000"),
            Err(DecodeError::LengthTooShort {
                length: 24,
                auth: true
            })
        );
    }

    #[test]
    fn a_length_beyond_the_payload_is_discarded() {
        assert_eq!(
            decode_hex("20 40 03 19  11223344  00000000  000f4240  0000c350  00000000"),
            Err(DecodeError::LengthBeyondPayload {
                length: 25,
                payload: 24
            })
        );
    }

    #[test]
    fn a_datagram_shorter_than_the_mandatory_section_is_discarded() {
        assert_eq!(
            decode_hex("20 40 03 18  11223344"),
            Err(DecodeError::Truncated { len: 8 })
        );
        assert_eq!(decode_hex(""), Err(DecodeError::Truncated { len: 0 }));
    }

    #[test]
    fn detect_mult_zero_is_discarded() {
        assert_eq!(
            decode_hex("20 40 00 18  11223344  00000000  000f4240  0000c350  00000000"),
            Err(DecodeError::ZeroDetectMult)
        );
    }

    #[test]
    fn the_multipoint_bit_is_discarded() {
        assert_eq!(
            decode_hex("20 41 03 18  11223344  00000000  000f4240  0000c350  00000000"),
            Err(DecodeError::Multipoint)
        );
    }

    #[test]
    fn my_discriminator_zero_is_discarded() {
        assert_eq!(
            decode_hex("20 40 03 18  00000000  00000000  000f4240  0000c350  00000000"),
            Err(DecodeError::ZeroMyDiscriminator)
        );
    }

    #[test]
    fn intervals_convert_to_and_from_microseconds() {
        assert_eq!(to_micros(Duration::from_millis(50)), 50_000);
        assert_eq!(to_micros(Duration::from_secs(1 << 40)), u32::MAX);
        assert_eq!(from_micros(1_000_000), Duration::from_secs(1));
    }

    fn any_packet() -> impl Strategy<Value = ControlPacket> {
        (
            (0u8..=31, 0u8..=3, any::<[bool; 5]>(), 1u8..=255),
            (1u32.., any::<u32>(), any::<[u32; 3]>()),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 2..=20)),
        )
            .prop_map(|((diag, state, flags, mult), (my, your, times), auth)| {
                ControlPacket {
                    diag: Diag::from_code(diag),
                    state: State::from_code(state),
                    poll: flags[0],
                    final_: flags[1],
                    control_plane_independent: flags[2],
                    demand: flags[3],
                    multipoint: false,
                    detect_mult: mult,
                    my_discriminator: my,
                    your_discriminator: your,
                    desired_min_tx_us: times[0],
                    required_min_rx_us: times[1],
                    required_min_echo_rx_us: times[2],
                    auth,
                }
            })
    }

    proptest! {
        #[test]
        fn every_valid_packet_round_trips(packet in any_packet()) {
            prop_assert_eq!(ControlPacket::decode(&packet.encode()), Ok(packet));
        }

        #[test]
        fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(packet) = ControlPacket::decode(&bytes) {
                // Whatever decodes re-encodes to a packet that decodes the
                // same (not always to the same bytes: a Length beyond 24
                // without the A bit covers bytes that carry nothing).
                prop_assert_eq!(ControlPacket::decode(&packet.encode()), Ok(packet));
            }
        }
    }
}
