//! ROUTE-REFRESH message: RFC 2918 3, with the RFC 7313 3 subtype.
//!
//! ```text
//!  0       7      15      23      31
//!  +-------+-------+-------+-------+
//!  |      AFI      |SubType| SAFI  |
//!  +-------+-------+-------+-------+
//! ```
//! Subtype 0 is a normal route refresh, 1 Beginning of Route Refresh
//! (BoRR), 2 End of Route Refresh (EoRR). RFC 7313 4 says other subtypes
//! are ignored by the receiver; the codec keeps them.

use bytes::{BufMut, BytesMut};

use super::iana::{Afi, Safi};

/// Body length of every ROUTE-REFRESH (RFC 7313 5).
pub(crate) const ROUTE_REFRESH_BODY_LEN: usize = 4;

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    pub afi: Afi,
    pub safi: Safi,
    pub subtype: u8,
}

impl RouteRefresh {
    pub const NORMAL: u8 = 0;
    pub const BEGIN: u8 = 1;
    pub const END: u8 = 2;

    /// A normal (RFC 2918) request for `afi`/`safi`.
    pub fn request(afi: Afi, safi: Safi) -> RouteRefresh {
        RouteRefresh {
            afi,
            safi,
            subtype: Self::NORMAL,
        }
    }

    /// Decodes a 4-octet body; `None` for any other length.
    pub(crate) fn decode(body: &[u8]) -> Option<RouteRefresh> {
        let [a0, a1, subtype, safi] = body else {
            return None;
        };
        Some(RouteRefresh {
            afi: Afi::from(u16::from_be_bytes([*a0, *a1])),
            safi: Safi::from(*safi),
            subtype: *subtype,
        })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.afi.into());
        out.put_u8(self.subtype);
        out.put_u8(self.safi.into());
    }
}
