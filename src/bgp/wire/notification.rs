//! NOTIFICATION message: RFC 4271 4.5, with the RFC 8203/9003 shutdown
//! communication for Cease/Administrative Shutdown and Reset.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  | Error code    | Error subcode |   Data (variable)             |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  RFC 9003 Data for Cease subcodes 2 and 4:
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  | Length        | Shutdown Communication (UTF-8, Length octets) |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::iana::{
    CeaseSubcode, ErrorCode, FsmSubcode, MessageHeaderSubcode, OpenSubcode, RouteRefreshSubcode,
    UpdateSubcode,
};

/// RFC 9003 2: the longest shutdown communication.
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

/// A NOTIFICATION message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub code: ErrorCode,
    pub subcode: u8,
    pub data: Bytes,
}

/// A subcode interpreted in the registry of its error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subcode {
    MessageHeader(MessageHeaderSubcode),
    Open(OpenSubcode),
    Update(UpdateSubcode),
    Fsm(FsmSubcode),
    Cease(CeaseSubcode),
    RouteRefresh(RouteRefreshSubcode),
    /// Codes without a subcode registry (Hold Timer Expired, Send Hold Timer
    /// Expired, unknown codes).
    Other(u8),
}

impl Notification {
    pub fn new(code: ErrorCode, subcode: impl Into<u8>, data: Bytes) -> Notification {
        Notification {
            code,
            subcode: subcode.into(),
            data,
        }
    }

    /// Cease/Administrative Shutdown with an RFC 9003 shutdown communication.
    /// An empty reason sends no data.
    pub fn cease_admin_shutdown(reason: &str) -> Notification {
        Self::cease_with_communication(CeaseSubcode::AdministrativeShutdown, reason)
    }

    /// Cease/Administrative Reset with an RFC 9003 shutdown communication.
    pub fn cease_admin_reset(reason: &str) -> Notification {
        Self::cease_with_communication(CeaseSubcode::AdministrativeReset, reason)
    }

    /// Any Cease subcode without data.
    pub fn cease(subcode: CeaseSubcode) -> Notification {
        Notification::new(ErrorCode::Cease, subcode, Bytes::new())
    }

    /// RFC 4271 6.5: Hold Timer Expired, no subcode.
    pub fn hold_timer_expired() -> Notification {
        Notification::new(ErrorCode::HoldTimerExpired, 0, Bytes::new())
    }

    /// RFC 9687: Send Hold Timer Expired, no subcode.
    pub fn send_hold_timer_expired() -> Notification {
        Notification::new(ErrorCode::SendHoldTimerExpired, 0, Bytes::new())
    }

    /// RFC 6608: an unexpected message in the given state.
    pub fn fsm(subcode: FsmSubcode) -> Notification {
        Notification::new(ErrorCode::Fsm, subcode, Bytes::new())
    }

    fn cease_with_communication(subcode: CeaseSubcode, reason: &str) -> Notification {
        if reason.is_empty() {
            return Self::cease(subcode);
        }
        // RFC 9003 2: at most 255 octets; cut at a character boundary so the
        // communication stays valid UTF-8.
        let mut end = reason.len().min(MAX_SHUTDOWN_COMMUNICATION);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let text = reason.as_bytes().get(..end).unwrap_or_default();
        let mut data = BytesMut::with_capacity(1 + text.len());
        data.put_u8(text.len() as u8);
        data.put_slice(text);
        Notification::new(ErrorCode::Cease, subcode, data.freeze())
    }

    /// The subcode in its code's registry.
    pub fn subcode_kind(&self) -> Subcode {
        let s = self.subcode;
        match self.code {
            ErrorCode::MessageHeader => Subcode::MessageHeader(s.into()),
            ErrorCode::Open => Subcode::Open(s.into()),
            ErrorCode::Update => Subcode::Update(s.into()),
            ErrorCode::Fsm => Subcode::Fsm(s.into()),
            ErrorCode::Cease => Subcode::Cease(s.into()),
            ErrorCode::RouteRefresh => Subcode::RouteRefresh(s.into()),
            _ => Subcode::Other(s),
        }
    }

    /// RFC 9003: the shutdown communication of a Cease/Administrative
    /// Shutdown or Reset, if it is present and well formed (length within
    /// the data, valid UTF-8). Octets after it are ignored.
    pub fn shutdown_communication(&self) -> Option<String> {
        match self.subcode_kind() {
            Subcode::Cease(
                CeaseSubcode::AdministrativeShutdown | CeaseSubcode::AdministrativeReset,
            ) => {}
            _ => return None,
        }
        let (len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(*len))?;
        std::str::from_utf8(text).ok().map(str::to_owned)
    }

    /// Decodes the body (everything after the header); framing has already
    /// ensured at least two octets.
    pub(crate) fn decode(body: &[u8]) -> Option<Notification> {
        let (code, rest) = body.split_first()?;
        let (subcode, data) = rest.split_first()?;
        Some(Notification {
            code: ErrorCode::from(*code),
            subcode: *subcode,
            data: Bytes::copy_from_slice(data),
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.code.into());
        out.put_u8(self.subcode);
        out.put_slice(&self.data);
    }
}

fn code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::MessageHeader => "Message Header Error",
        ErrorCode::Open => "OPEN Message Error",
        ErrorCode::Update => "UPDATE Message Error",
        ErrorCode::HoldTimerExpired => "Hold Timer Expired",
        ErrorCode::Fsm => "Finite State Machine Error",
        ErrorCode::Cease => "Cease",
        ErrorCode::RouteRefresh => "ROUTE-REFRESH Message Error",
        ErrorCode::SendHoldTimerExpired => "Send Hold Timer Expired",
        ErrorCode::Unknown(_) => "Unknown Error",
    }
}

fn subcode_name(sub: Subcode) -> Option<&'static str> {
    use CeaseSubcode as C;
    use MessageHeaderSubcode as H;
    use OpenSubcode as O;
    use UpdateSubcode as U;
    Some(match sub {
        Subcode::MessageHeader(H::Unspecific)
        | Subcode::Open(O::Unspecific)
        | Subcode::Update(U::Unspecific)
        | Subcode::Cease(C::Unspecific) => "Unspecific",
        Subcode::MessageHeader(H::ConnectionNotSynchronized) => "Connection Not Synchronized",
        Subcode::MessageHeader(H::BadMessageLength) => "Bad Message Length",
        Subcode::MessageHeader(H::BadMessageType) => "Bad Message Type",
        Subcode::Open(O::UnsupportedVersionNumber) => "Unsupported Version Number",
        Subcode::Open(O::BadPeerAs) => "Bad Peer AS",
        Subcode::Open(O::BadBgpIdentifier) => "Bad BGP Identifier",
        Subcode::Open(O::UnsupportedOptionalParameter) => "Unsupported Optional Parameter",
        Subcode::Open(O::AuthenticationFailure) => "Authentication Failure",
        Subcode::Open(O::UnacceptableHoldTime) => "Unacceptable Hold Time",
        Subcode::Open(O::UnsupportedCapability) => "Unsupported Capability",
        Subcode::Open(O::RoleMismatch) => "Role Mismatch",
        Subcode::Update(U::MalformedAttributeList) => "Malformed Attribute List",
        Subcode::Update(U::UnrecognizedWellKnownAttribute) => "Unrecognized Well-known Attribute",
        Subcode::Update(U::MissingWellKnownAttribute) => "Missing Well-known Attribute",
        Subcode::Update(U::AttributeFlagsError) => "Attribute Flags Error",
        Subcode::Update(U::AttributeLengthError) => "Attribute Length Error",
        Subcode::Update(U::InvalidOriginAttribute) => "Invalid ORIGIN Attribute",
        Subcode::Update(U::AsRoutingLoop) => "AS Routing Loop",
        Subcode::Update(U::InvalidNextHopAttribute) => "Invalid NEXT_HOP Attribute",
        Subcode::Update(U::OptionalAttributeError) => "Optional Attribute Error",
        Subcode::Update(U::InvalidNetworkField) => "Invalid Network Field",
        Subcode::Update(U::MalformedAsPath) => "Malformed AS_PATH",
        Subcode::Fsm(FsmSubcode::Unspecified) => "Unspecified",
        Subcode::Fsm(FsmSubcode::UnexpectedMessageInOpenSent) => "Unexpected Message in OpenSent",
        Subcode::Fsm(FsmSubcode::UnexpectedMessageInOpenConfirm) => {
            "Unexpected Message in OpenConfirm"
        }
        Subcode::Fsm(FsmSubcode::UnexpectedMessageInEstablished) => {
            "Unexpected Message in Established"
        }
        Subcode::Cease(C::MaximumNumberOfPrefixesReached) => "Maximum Number of Prefixes Reached",
        Subcode::Cease(C::AdministrativeShutdown) => "Administrative Shutdown",
        Subcode::Cease(C::PeerDeConfigured) => "Peer De-configured",
        Subcode::Cease(C::AdministrativeReset) => "Administrative Reset",
        Subcode::Cease(C::ConnectionRejected) => "Connection Rejected",
        Subcode::Cease(C::OtherConfigurationChange) => "Other Configuration Change",
        Subcode::Cease(C::ConnectionCollisionResolution) => "Connection Collision Resolution",
        Subcode::Cease(C::OutOfResources) => "Out of Resources",
        Subcode::Cease(C::HardReset) => "Hard Reset",
        Subcode::Cease(C::BfdDown) => "BFD Down",
        Subcode::RouteRefresh(RouteRefreshSubcode::InvalidMessageLength) => {
            "Invalid Message Length"
        }
        _ => return None,
    })
}

/// `Cease/Administrative Shutdown: "reason"`, or
/// `UPDATE Message Error/Malformed Attribute List`, with the data in hex when
/// it is not a shutdown communication.
impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(code_name(self.code))?;
        if let ErrorCode::Unknown(c) = self.code {
            write!(f, " {c}")?;
        }
        match subcode_name(self.subcode_kind()) {
            Some(name) => write!(f, "/{name}")?,
            None if self.subcode != 0 => write!(f, "/subcode {}", self.subcode)?,
            None => {}
        }
        if let Some(text) = self.shutdown_communication() {
            return write!(f, ": {text:?}");
        }
        if !self.data.is_empty() {
            f.write_str(" (data ")?;
            for b in self.data.iter() {
                write!(f, "{b:02x}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_communication_round_trips_and_displays() {
        let n = Notification::cease_admin_shutdown("maintenance window 42");
        assert_eq!(n.code, ErrorCode::Cease);
        assert_eq!(n.subcode, 2);
        assert_eq!(n.data[0], 21);
        assert_eq!(
            n.shutdown_communication().as_deref(),
            Some("maintenance window 42")
        );
        assert_eq!(
            n.to_string(),
            "Cease/Administrative Shutdown: \"maintenance window 42\""
        );
        let r = Notification::cease_admin_reset("x");
        assert_eq!(r.subcode, 4);
        assert_eq!(&r.data[..], b"\x01x");
    }

    #[test]
    fn long_communication_is_cut_at_a_char_boundary() {
        // 127 two-octet characters = 254 octets, then one more: 256 octets.
        let reason: String = "é".repeat(128);
        let n = Notification::cease_admin_shutdown(&reason);
        assert_eq!(n.data[0], 254);
        assert_eq!(n.data.len(), 255);
        assert_eq!(n.shutdown_communication().unwrap().chars().count(), 127);
        let ascii = "a".repeat(300);
        let n = Notification::cease_admin_shutdown(&ascii);
        assert_eq!(n.data[0], 255);
        assert_eq!(n.data.len(), 256);
    }

    #[test]
    fn empty_or_broken_communications_read_as_none() {
        assert_eq!(Notification::cease_admin_shutdown("").data.len(), 0);
        assert_eq!(
            Notification::cease_admin_shutdown("").shutdown_communication(),
            None
        );
        let overrun = Notification::new(
            ErrorCode::Cease,
            CeaseSubcode::AdministrativeShutdown,
            Bytes::from_static(b"\x05ab"),
        );
        assert_eq!(overrun.shutdown_communication(), None);
        let bad_utf8 = Notification::new(
            ErrorCode::Cease,
            CeaseSubcode::AdministrativeShutdown,
            Bytes::from_static(b"\x02\xff\xfe"),
        );
        assert_eq!(bad_utf8.shutdown_communication(), None);
        let wrong_subcode = Notification::new(
            ErrorCode::Cease,
            CeaseSubcode::PeerDeConfigured,
            Bytes::from_static(b"\x01a"),
        );
        assert_eq!(wrong_subcode.shutdown_communication(), None);
    }

    #[test]
    fn display_names_code_subcode_and_data() {
        let n = Notification::new(
            ErrorCode::MessageHeader,
            MessageHeaderSubcode::BadMessageLength,
            Bytes::from_static(&[0x10, 0x01]),
        );
        assert_eq!(
            n.to_string(),
            "Message Header Error/Bad Message Length (data 1001)"
        );
        assert_eq!(
            Notification::hold_timer_expired().to_string(),
            "Hold Timer Expired"
        );
        assert_eq!(
            Notification::new(ErrorCode::Unknown(42), 7, Bytes::new()).to_string(),
            "Unknown Error 42/subcode 7"
        );
        assert_eq!(
            Notification::cease(CeaseSubcode::HardReset).to_string(),
            "Cease/Hard Reset"
        );
    }
}
