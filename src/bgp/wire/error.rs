//! Decode errors and the RFC 7606 outcome of decoding an UPDATE.
//!
//! One error tree, one conversion to a NOTIFICATION: `From<&DecodeError> for
//! Notification` is the only place that knows code/subcode/data. Everything
//! that RFC 7606 lets a speaker survive (treat-as-withdraw, attribute discard)
//! is *not* a `DecodeError`: it is an [`AttributeError`] recorded on the
//! decoded [`Update`](super::Update).

use std::net::Ipv4Addr;

use bytes::Bytes;

use super::iana::{
    ErrorCode, MessageHeaderSubcode, OpenSubcode, RouteRefreshSubcode, UpdateSubcode,
};
use super::notification::Notification;

/// A message that cannot be accepted: the session must send the NOTIFICATION
/// given by `Notification::from(&err)` and close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message header error: {0}")]
    Header(#[from] HeaderError),
    #[error("OPEN message error: {0}")]
    Open(#[from] OpenError),
    #[error("UPDATE message error: {0}")]
    Update(#[from] UpdateError),
    #[error("ROUTE-REFRESH message error: {0}")]
    RouteRefresh(#[from] RouteRefreshError),
}

/// RFC 4271 6.1 Message Header error handling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The marker is not all ones.
    #[error("connection not synchronized (marker is not all ones)")]
    ConnectionNotSynchronized,
    /// Length < 19, > 4096, or wrong for the message type. Data: the length.
    #[error("bad message length {length}")]
    BadMessageLength { length: u16 },
    /// Data: the type octet.
    #[error("bad message type {message_type}")]
    BadMessageType { message_type: u8 },
}

/// RFC 4271 6.2 OPEN message error handling (the checks the codec can make
/// alone; peer-AS and hold-time policy belong to the session).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported version number {version}")]
    UnsupportedVersion { version: u8 },
    #[error("bad BGP identifier {bgp_id}")]
    BadBgpIdentifier { bgp_id: Ipv4Addr },
    #[error("unacceptable hold time {hold_time}")]
    UnacceptableHoldTime { hold_time: u16 },
    /// Optional parameter or capability framing is broken (2/0 Unspecific).
    #[error("malformed: {reason}")]
    Malformed { reason: &'static str },
}

/// RFC 4271 6.3 / RFC 7606 errors that force a session reset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// 3/1: Withdrawn Routes Length or Total Path Attribute Length overrun
    /// (RFC 7606 4), or MP_REACH/MP_UNREACH more than once (RFC 7606 3.g).
    #[error("malformed attribute list: {reason}")]
    MalformedAttributeList { reason: &'static str },
    /// 3/2: optional bit clear but type unknown. Data: the attribute
    /// (flags, type, length, value).
    #[error("unrecognized well-known attribute")]
    UnrecognizedWellKnownAttribute { attribute: Bytes },
    /// 3/9: an MP_REACH_NLRI / MP_UNREACH_NLRI that cannot be parsed
    /// (RFC 4760 7, RFC 7606 7.11). Data: the attribute.
    #[error("optional attribute error in type {type_code}: {reason}")]
    OptionalAttributeError {
        type_code: u8,
        attribute: Bytes,
        reason: &'static str,
    },
    /// 3/10: the withdrawn routes or NLRI field does not parse (RFC 7606 5.3).
    #[error("invalid network field: {reason}")]
    InvalidNetworkField { reason: &'static str },
}

/// RFC 7313 5 ROUTE-REFRESH error handling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteRefreshError {
    /// 7/1. Data: the complete ROUTE-REFRESH message.
    #[error("invalid message length {}", message.len())]
    InvalidMessageLength { message: Bytes },
}

impl DecodeError {
    pub(crate) fn bad_length(length: usize) -> Self {
        HeaderError::BadMessageLength {
            length: u16::try_from(length).unwrap_or(u16::MAX),
        }
        .into()
    }

    pub(crate) fn open(reason: &'static str) -> Self {
        OpenError::Malformed { reason }.into()
    }
}

/// The one conversion from a decode error to the NOTIFICATION to send.
impl From<&DecodeError> for Notification {
    fn from(err: &DecodeError) -> Self {
        let (code, subcode, data): (ErrorCode, u8, Bytes) = match err {
            DecodeError::Header(h) => {
                let (sub, data) = match h {
                    HeaderError::ConnectionNotSynchronized => (
                        MessageHeaderSubcode::ConnectionNotSynchronized,
                        Bytes::new(),
                    ),
                    // RFC 4271 6.1: "the Data field MUST contain the erroneous Length field".
                    HeaderError::BadMessageLength { length } => (
                        MessageHeaderSubcode::BadMessageLength,
                        Bytes::copy_from_slice(&length.to_be_bytes()),
                    ),
                    // RFC 4271 6.1: "the Data field MUST contain the erroneous Type field".
                    HeaderError::BadMessageType { message_type } => (
                        MessageHeaderSubcode::BadMessageType,
                        Bytes::copy_from_slice(&[*message_type]),
                    ),
                };
                (ErrorCode::MessageHeader, sub.into(), data)
            }
            DecodeError::Open(o) => {
                let (sub, data) = match o {
                    // RFC 4271 6.2: data is the largest locally supported version
                    // below the bid, else the smallest supported: we only speak 4.
                    OpenError::UnsupportedVersion { .. } => (
                        OpenSubcode::UnsupportedVersionNumber,
                        Bytes::from_static(&[0, 4]),
                    ),
                    OpenError::BadBgpIdentifier { .. } => {
                        (OpenSubcode::BadBgpIdentifier, Bytes::new())
                    }
                    OpenError::UnacceptableHoldTime { .. } => {
                        (OpenSubcode::UnacceptableHoldTime, Bytes::new())
                    }
                    OpenError::Malformed { .. } => (OpenSubcode::Unspecific, Bytes::new()),
                };
                (ErrorCode::Open, sub.into(), data)
            }
            DecodeError::Update(u) => {
                let (sub, data) = match u {
                    // RFC 4271 6.3: no data for Malformed Attribute List.
                    UpdateError::MalformedAttributeList { .. } => {
                        (UpdateSubcode::MalformedAttributeList, Bytes::new())
                    }
                    UpdateError::UnrecognizedWellKnownAttribute { attribute } => (
                        UpdateSubcode::UnrecognizedWellKnownAttribute,
                        attribute.clone(),
                    ),
                    UpdateError::OptionalAttributeError { attribute, .. } => {
                        (UpdateSubcode::OptionalAttributeError, attribute.clone())
                    }
                    UpdateError::InvalidNetworkField { .. } => {
                        (UpdateSubcode::InvalidNetworkField, Bytes::new())
                    }
                };
                (ErrorCode::Update, sub.into(), data)
            }
            DecodeError::RouteRefresh(RouteRefreshError::InvalidMessageLength { message }) => (
                ErrorCode::RouteRefresh,
                RouteRefreshSubcode::InvalidMessageLength.into(),
                message.clone(),
            ),
        };
        Notification {
            code,
            subcode,
            data,
        }
    }
}

/// RFC 7606 2: the approaches to a malformed UPDATE, weakest first, so that
/// `max()` picks the one to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Rfc7606Action {
    /// Nothing was wrong.
    #[default]
    None,
    /// The attribute was dropped; the routes stand.
    AttributeDiscard,
    /// Every route the UPDATE announces must be handled as withdrawn.
    TreatAsWithdraw,
    /// The session must be reset (never recorded on a decoded UPDATE: the
    /// decoder returns a [`DecodeError`] instead).
    SessionReset,
}

/// One attribute-level problem found while decoding an UPDATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeError {
    /// The attribute type that was malformed, missing or duplicated.
    pub type_code: u8,
    pub action: Rfc7606Action,
    pub reason: String,
}

impl std::fmt::Display for AttributeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "attribute type {}: {} ({:?})",
            self.type_code, self.reason, self.action
        )
    }
}

impl AttributeError {
    pub(crate) fn new(type_code: u8, action: Rfc7606Action, reason: impl Into<String>) -> Self {
        AttributeError {
            type_code,
            action,
            reason: reason.into(),
        }
    }
}
