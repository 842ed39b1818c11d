//! BGP-4 wire codec (RFC 4271 4 and 6, with RFC 7606 error handling).
//!
//! Frame first, then parse: [`split_frame`] checks the 19-octet header and
//! splits exactly one whole message off the read buffer; [`decode_message`]
//! then runs complete (never streaming) parsers on it. nom stays inside this
//! module, behind [`DecodeError`], whose one conversion
//! `Notification::from(&err)` gives the NOTIFICATION to send.
//!
//! Layout:
//! - `iana`: code points, each with an `Unknown` catch-all.
//! - `error`: the decode error tree and the RFC 7606 action enum.
//! - `open`, `capability`: OPEN and RFC 5492 capabilities.
//! - `update`, `attribute`, `mp`, `nlri`: UPDATE, path attributes,
//!   MP_REACH/MP_UNREACH, prefix encoding.
//! - `notification`, `route_refresh`: the other messages.
//! - `pack`: building the fewest UPDATEs for a set of prefixes.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                                                               |
//!  +                                                               +
//!  |                           Marker                              |
//!  +                                                               +
//!  |                                                               |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |          Length               |      Type     |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

pub mod attribute;
pub mod capability;
pub mod community;
pub mod error;
pub mod iana;
pub mod mp;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod pack;
pub mod route_refresh;
pub mod update;

#[cfg(test)]
mod tests;

use bytes::{BufMut, Bytes, BytesMut};

pub use attribute::{AsPath, AsSegment, AsSegmentKind, Origin, PathAttribute};
pub use capability::{Capability, ExtendedNextHopEntry, GrFamily, GracefulRestart};
pub use community::{Community, LargeCommunity};
pub use error::{
    AttributeError, DecodeError, HeaderError, OpenError, Rfc7606Action, RouteRefreshError,
    UpdateError,
};
pub use iana::{
    AS_TRANS, Afi, AttributeType, CapabilityCode, CeaseSubcode, ErrorCode, FsmSubcode,
    MessageHeaderSubcode, MessageType, OpenSubcode, RouteRefreshSubcode, Safi, UpdateSubcode,
};
pub use mp::{MpNextHop, MpReach, MpUnreach};
pub use notification::{Notification, Subcode};
pub use open::{BGP_VERSION, HoldTime, Open};
pub use pack::{Family, pack_announce, pack_announce_with_next_hop, pack_withdraw};
pub use route_refresh::RouteRefresh;
pub use update::Update;

/// RFC 4271 4.1: marker (16) + length (2) + type (1).
pub const HEADER_LEN: usize = 19;
/// RFC 4271 4.1: the largest message (RFC 8654 extended messages are not
/// supported).
pub const MAX_MESSAGE_LEN: usize = 4096;

const MARKER: [u8; 16] = [0xFF; 16];
const MARKER_LEN: usize = 16;

/// One BGP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

impl Message {
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// The framed message as one buffer.
    pub fn to_bytes(&self, opts: DecodeOptions) -> Bytes {
        let mut out = BytesMut::new();
        encode_message(self, opts, &mut out);
        out.freeze()
    }
}

/// What the session negotiated that changes the encoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DecodeOptions {
    /// AS_PATH and AGGREGATOR carry 4-octet ASNs (RFC 6793 capability
    /// exchanged both ways).
    pub four_octet_as: bool,
    /// RFC 8950 Extended Next Hop negotiated for IPv4 unicast: an IPv6 next
    /// hop for IPv4 NLRI is acceptable.
    pub extended_nexthop_ipv4: bool,
}

/// RFC 4271 6.1: the checks on a complete 19-octet header, in the RFC's
/// order. Returns the message length and type.
fn check_header(header: &[u8]) -> Result<(usize, MessageType), DecodeError> {
    let (marker, rest) = header
        .split_at_checked(MARKER_LEN)
        .ok_or(DecodeError::bad_length(header.len()))?;
    if marker != MARKER {
        return Err(HeaderError::ConnectionNotSynchronized.into());
    }
    let [l0, l1, ty, ..] = rest else {
        return Err(DecodeError::bad_length(header.len()));
    };
    let length = usize::from(u16::from_be_bytes([*l0, *l1]));
    let bad_length = || DecodeError::bad_length(length);
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&length) {
        return Err(bad_length());
    }
    let ty = MessageType::from(*ty);
    let body = length - HEADER_LEN;
    let length_ok = match ty {
        MessageType::Open => body >= open::OPEN_FIXED_LEN,
        MessageType::Update => body >= update::UPDATE_MIN_BODY_LEN,
        // Code and subcode.
        MessageType::Notification => body >= 2,
        MessageType::Keepalive => body == 0,
        // RFC 7313 5: a wrong length is a ROUTE-REFRESH error (7/1) carrying
        // the whole message, so it is reported by the decoder.
        MessageType::RouteRefresh => true,
        MessageType::Unknown(message_type) => {
            return Err(HeaderError::BadMessageType { message_type }.into());
        }
    };
    if !length_ok {
        return Err(bad_length());
    }
    Ok((length, ty))
}

/// Splits one whole message (header included) off the front of `buf`.
///
/// The header is checked before anything is allocated; `Ok(None)` means the
/// buffer does not yet hold a whole message (room for it is reserved). On
/// error the buffer is left untouched: the session sends the NOTIFICATION
/// and closes.
pub fn split_frame(buf: &mut BytesMut) -> Result<Option<Bytes>, DecodeError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let (length, _) = check_header(header)?;
    if buf.len() < length {
        buf.reserve(length - buf.len());
        return Ok(None);
    }
    Ok(Some(buf.split_to(length).freeze()))
}

/// Decodes one complete framed message (header included).
pub fn decode_message(frame: &[u8], opts: DecodeOptions) -> Result<Message, DecodeError> {
    let header = frame
        .get(..HEADER_LEN)
        .ok_or(DecodeError::bad_length(frame.len()))?;
    let (length, ty) = check_header(header)?;
    if frame.len() != length {
        return Err(DecodeError::bad_length(length));
    }
    let body = frame.get(HEADER_LEN..).unwrap_or_default();
    Ok(match ty {
        MessageType::Open => Message::Open(Open::decode(body)?),
        MessageType::Update => Message::Update(Update::decode(body, opts)?),
        MessageType::Notification => Message::Notification(
            Notification::decode(body).ok_or(DecodeError::bad_length(length))?,
        ),
        MessageType::Keepalive => Message::Keepalive,
        MessageType::RouteRefresh => {
            if body.len() != route_refresh::ROUTE_REFRESH_BODY_LEN {
                return Err(RouteRefreshError::InvalidMessageLength {
                    message: Bytes::copy_from_slice(frame),
                }
                .into());
            }
            Message::RouteRefresh(
                RouteRefresh::decode(body).ok_or(DecodeError::bad_length(length))?,
            )
        }
        MessageType::Unknown(message_type) => {
            return Err(HeaderError::BadMessageType { message_type }.into());
        }
    })
}

/// Appends the framed message (header and body) to `out`.
///
/// The encoder does not split: an UPDATE built by hand that exceeds
/// [`MAX_MESSAGE_LEN`] is written as is (use [`pack_announce`]).
pub fn encode_message(msg: &Message, opts: DecodeOptions, out: &mut BytesMut) {
    let start = out.len();
    write_header(out, msg.message_type());
    match msg {
        Message::Open(o) => o.encode(out),
        Message::Update(u) => u.encode(opts, out),
        Message::Notification(n) => n.encode(out),
        Message::Keepalive => {}
        Message::RouteRefresh(r) => r.encode(out),
    }
    patch_message_len(out, start);
}

/// Writes a header with a zero length, patched by [`patch_message_len`].
pub(crate) fn write_header(out: &mut BytesMut, ty: MessageType) {
    out.put_slice(&MARKER);
    out.put_u16(0);
    out.put_u8(ty.into());
}

/// Sets the length field of the message that starts at `start`.
pub(crate) fn patch_message_len(out: &mut BytesMut, start: usize) {
    let len = u16::try_from(out.len() - start)
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    if let Some(field) = out.get_mut(start + MARKER_LEN..start + MARKER_LEN + 2) {
        field.copy_from_slice(&len);
    }
}
