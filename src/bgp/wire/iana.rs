//! IANA code points used on the wire.
//!
//! Every enum has an `Unknown` catch-all so that a value we do not name still
//! decodes and encodes back to the same number. Note that `Unknown(n)` for a
//! value `n` that *is* named decodes back to the named variant: construct the
//! named variant, never `Unknown` of a known number.

/// Declares a code-point enum with `From<repr>` both ways.
macro_rules! code_points {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this implementation does not name; kept so it round-trips.
            Unknown($repr),
        }

        impl From<$repr> for $name {
            fn from(value: $repr) -> Self {
                match value {
                    $( $value => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> $repr {
                match value {
                    $( $name::$variant => $value, )*
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

code_points! {
    /// RFC 4271 4.1 message types, RFC 2918 ROUTE-REFRESH.
    pub enum MessageType: u8 {
        Open = 1,
        Update = 2,
        Notification = 3,
        Keepalive = 4,
        RouteRefresh = 5,
    }
}

code_points! {
    /// IANA Address Family Numbers (only the ones BGP unicast needs are named).
    pub enum Afi: u16 {
        Ipv4 = 1,
        Ipv6 = 2,
    }
}

code_points! {
    /// IANA Subsequent Address Family Identifiers (RFC 4760).
    pub enum Safi: u8 {
        Unicast = 1,
        Multicast = 2,
    }
}

code_points! {
    /// IANA BGP Capability Codes (RFC 5492 registry).
    pub enum CapabilityCode: u8 {
        /// RFC 4760
        Multiprotocol = 1,
        /// RFC 2918
        RouteRefresh = 2,
        /// RFC 8950
        ExtendedNextHop = 5,
        /// RFC 8654
        ExtendedMessage = 6,
        /// RFC 9234
        BgpRole = 9,
        /// RFC 4724
        GracefulRestart = 64,
        /// RFC 6793
        FourOctetAs = 65,
        /// RFC 7911
        AddPath = 69,
        /// RFC 7313
        EnhancedRouteRefresh = 70,
        /// RFC 9494
        LongLivedGracefulRestart = 71,
        /// draft-walton-bgp-hostname-capability
        Fqdn = 73,
        /// Pre-standard Cisco route refresh.
        RouteRefreshCisco = 128,
    }
}

code_points! {
    /// RFC 4271 4.2 / RFC 9072 optional parameter types.
    pub enum OptionalParameterType: u8 {
        /// RFC 5492
        Capabilities = 2,
        /// RFC 9072: marks the extended optional parameters length encoding.
        ExtendedLength = 255,
    }
}

code_points! {
    /// IANA BGP Path Attribute type codes.
    pub enum AttributeType: u8 {
        /// RFC 4271
        Origin = 1,
        /// RFC 4271
        AsPath = 2,
        /// RFC 4271
        NextHop = 3,
        /// RFC 4271
        MultiExitDisc = 4,
        /// RFC 4271
        LocalPref = 5,
        /// RFC 4271
        AtomicAggregate = 6,
        /// RFC 4271
        Aggregator = 7,
        /// RFC 1997
        Communities = 8,
        /// RFC 4456
        OriginatorId = 9,
        /// RFC 4456
        ClusterList = 10,
        /// RFC 4760
        MpReachNlri = 14,
        /// RFC 4760
        MpUnreachNlri = 15,
        /// RFC 4360
        ExtendedCommunities = 16,
        /// RFC 6793
        As4Path = 17,
        /// RFC 6793
        As4Aggregator = 18,
        /// RFC 8092
        LargeCommunities = 32,
    }
}

code_points! {
    /// RFC 4271 4.5 NOTIFICATION error codes.
    pub enum ErrorCode: u8 {
        MessageHeader = 1,
        Open = 2,
        Update = 3,
        HoldTimerExpired = 4,
        /// RFC 4271 / RFC 6608
        Fsm = 5,
        Cease = 6,
        /// RFC 7313
        RouteRefresh = 7,
        /// RFC 9687
        SendHoldTimerExpired = 8,
    }
}

code_points! {
    /// RFC 4271 6.1 Message Header Error subcodes.
    pub enum MessageHeaderSubcode: u8 {
        Unspecific = 0,
        ConnectionNotSynchronized = 1,
        BadMessageLength = 2,
        BadMessageType = 3,
    }
}

code_points! {
    /// RFC 4271 6.2 OPEN Message Error subcodes, RFC 5492, RFC 9234.
    pub enum OpenSubcode: u8 {
        Unspecific = 0,
        UnsupportedVersionNumber = 1,
        BadPeerAs = 2,
        BadBgpIdentifier = 3,
        UnsupportedOptionalParameter = 4,
        /// Deprecated (RFC 4271 Appendix A).
        AuthenticationFailure = 5,
        UnacceptableHoldTime = 6,
        /// RFC 5492
        UnsupportedCapability = 7,
        /// RFC 9234
        RoleMismatch = 11,
    }
}

code_points! {
    /// RFC 4271 6.3 UPDATE Message Error subcodes.
    pub enum UpdateSubcode: u8 {
        Unspecific = 0,
        MalformedAttributeList = 1,
        UnrecognizedWellKnownAttribute = 2,
        MissingWellKnownAttribute = 3,
        AttributeFlagsError = 4,
        AttributeLengthError = 5,
        InvalidOriginAttribute = 6,
        /// Deprecated (RFC 4271 Appendix A).
        AsRoutingLoop = 7,
        InvalidNextHopAttribute = 8,
        OptionalAttributeError = 9,
        InvalidNetworkField = 10,
        MalformedAsPath = 11,
    }
}

code_points! {
    /// RFC 6608 Finite State Machine Error subcodes.
    pub enum FsmSubcode: u8 {
        Unspecified = 0,
        UnexpectedMessageInOpenSent = 1,
        UnexpectedMessageInOpenConfirm = 2,
        UnexpectedMessageInEstablished = 3,
    }
}

code_points! {
    /// RFC 4486 Cease subcodes, RFC 8538 Hard Reset, RFC 9384 BFD Down.
    pub enum CeaseSubcode: u8 {
        Unspecific = 0,
        MaximumNumberOfPrefixesReached = 1,
        AdministrativeShutdown = 2,
        PeerDeConfigured = 3,
        AdministrativeReset = 4,
        ConnectionRejected = 5,
        OtherConfigurationChange = 6,
        ConnectionCollisionResolution = 7,
        OutOfResources = 8,
        /// RFC 8538
        HardReset = 9,
        /// RFC 9384
        BfdDown = 10,
    }
}

code_points! {
    /// RFC 7313 ROUTE-REFRESH Message Error subcodes.
    pub enum RouteRefreshSubcode: u8 {
        Reserved = 0,
        InvalidMessageLength = 1,
    }
}

/// RFC 6793: the 2-octet AS number that stands in for a 4-octet one.
pub const AS_TRANS: u16 = 23456;

/// RFC 4271 4.3 path attribute flag bits.
pub mod attr_flags {
    pub const OPTIONAL: u8 = 0x80;
    pub const TRANSITIVE: u8 = 0x40;
    pub const PARTIAL: u8 = 0x20;
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

impl AttributeType {
    /// The Optional and Transitive bits the defining RFC requires, for the
    /// attributes we know (RFC 7606 3.c checks exactly these two bits).
    pub fn expected_flags(self) -> Option<u8> {
        use attr_flags::{OPTIONAL, TRANSITIVE};
        Some(match self {
            Self::Origin
            | Self::AsPath
            | Self::NextHop
            | Self::LocalPref
            | Self::AtomicAggregate => TRANSITIVE,
            Self::MultiExitDisc
            | Self::OriginatorId
            | Self::ClusterList
            | Self::MpReachNlri
            | Self::MpUnreachNlri => OPTIONAL,
            Self::Aggregator
            | Self::Communities
            | Self::ExtendedCommunities
            | Self::As4Path
            | Self::As4Aggregator
            | Self::LargeCommunities => OPTIONAL | TRANSITIVE,
            Self::Unknown(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_code_points_round_trip() {
        assert_eq!(Afi::from(25u16), Afi::Unknown(25));
        assert_eq!(u16::from(Afi::Unknown(25)), 25);
        assert_eq!(Safi::from(128u8), Safi::Unknown(128));
        assert_eq!(u8::from(CapabilityCode::from(73u8)), 73);
        assert_eq!(CapabilityCode::from(73u8), CapabilityCode::Fqdn);
        assert_eq!(ErrorCode::from(8u8), ErrorCode::SendHoldTimerExpired);
        assert_eq!(CeaseSubcode::from(10u8), CeaseSubcode::BfdDown);
        assert_eq!(u8::from(AttributeType::LargeCommunities), 32);
    }
}
