//! OSPF code points (IANA "OSPFv2 Parameters" and "OSPFv3 Parameters").

/// OSPF's IP protocol number (both versions).
pub const IP_PROTOCOL: u8 = 89;

/// RFC 2328 A.4.1 / RFC 5340 A.4.2.1 LS types. OSPFv2 uses the low octet
/// only; OSPFv3's 16-bit LS function code carries the U, S2 and S1 bits.
pub mod ls_type {
    // OSPFv2 (RFC 2328 A.4.1, RFC 5250 for opaque LSAs).
    pub const V2_ROUTER: u16 = 1;
    pub const V2_NETWORK: u16 = 2;
    pub const V2_SUMMARY_NETWORK: u16 = 3;
    pub const V2_SUMMARY_ASBR: u16 = 4;
    pub const V2_AS_EXTERNAL: u16 = 5;
    pub const V2_NSSA: u16 = 7;
    pub const V2_OPAQUE_LINK: u16 = 9;
    pub const V2_OPAQUE_AREA: u16 = 10;
    pub const V2_OPAQUE_AS: u16 = 11;

    // OSPFv3 (RFC 5340 A.4.2.1).
    pub const V3_ROUTER: u16 = 0x2001;
    pub const V3_NETWORK: u16 = 0x2002;
    pub const V3_INTER_AREA_PREFIX: u16 = 0x2003;
    pub const V3_INTER_AREA_ROUTER: u16 = 0x2004;
    pub const V3_AS_EXTERNAL: u16 = 0x4005;
    pub const V3_NSSA: u16 = 0x2007;
    pub const V3_LINK: u16 = 0x0008;
    pub const V3_INTRA_AREA_PREFIX: u16 = 0x2009;

    /// OSPFv3 U-bit: how to handle an unknown LS type.
    pub const V3_U_BIT: u16 = 0x8000;
    /// OSPFv3 S2/S1 bits: the flooding scope.
    pub const V3_SCOPE_MASK: u16 = 0x6000;
    pub const V3_SCOPE_LINK: u16 = 0x0000;
    pub const V3_SCOPE_AREA: u16 = 0x2000;
    pub const V3_SCOPE_AS: u16 = 0x4000;
}

/// RFC 2328 A.2 / RFC 5340 A.2 Options bits. OSPFv2 has 8 bits, OSPFv3 24.
pub mod options {
    /// OSPFv2: the area is not stub (AS-external-LSAs are flooded).
    pub const V2_E: u32 = 0x02;
    /// OSPFv2 (RFC 5250): opaque LSA capable.
    pub const V2_O: u32 = 0x40;
    /// OSPFv3: the router takes part in IPv6 routing.
    pub const V3_V6: u32 = 0x01;
    /// OSPFv3: the area is not stub.
    pub const V3_E: u32 = 0x02;
    /// OSPFv3: the originator is an active router; clear on a host that
    /// must never carry transit traffic (RFC 5340 A.2).
    pub const V3_R: u32 = 0x10;
}

/// Router-LSA flags (RFC 2328 A.4.2, RFC 5340 A.4.3, RFC 8770 H-bit).
pub mod router_flags {
    /// Area border router.
    pub const B: u8 = 0x01;
    /// AS boundary router: originates AS-external-LSAs.
    pub const E: u8 = 0x02;
    /// Virtual link endpoint.
    pub const V: u8 = 0x04;
    /// RFC 8770: host router, never to be used for transit (OSPFv2).
    pub const H: u8 = 0x80;
}

/// Router-LSA link types (RFC 2328 A.4.2, RFC 5340 A.4.3).
pub mod link_type {
    pub const POINT_TO_POINT: u8 = 1;
    pub const TRANSIT: u8 = 2;
    /// OSPFv2 only.
    pub const STUB: u8 = 3;
    pub const VIRTUAL: u8 = 4;
}

/// OSPFv3 prefix options (RFC 5340 A.4.1.1).
pub mod prefix_options {
    pub const NU: u8 = 0x01;
    /// The prefix is an address of the advertising router (a /128).
    pub const LA: u8 = 0x02;
    pub const P: u8 = 0x08;
    pub const DN: u8 = 0x10;
}

/// OSPFv2 AuType (RFC 2328 D.1).
pub mod au_type {
    pub const NULL: u16 = 0;
    pub const SIMPLE: u16 = 1;
    pub const CRYPTOGRAPHIC: u16 = 2;
}

/// Architectural constants (RFC 2328 appendix B).
pub mod constants {
    use std::time::Duration;

    /// LSRefreshTime: a self-originated LSA is re-originated this often.
    pub const LS_REFRESH_TIME: u16 = 1800;
    /// MinLSInterval: two instances of one LSA are at least this far apart.
    pub const MIN_LS_INTERVAL: Duration = Duration::from_secs(5);
    /// MinLSArrival: a newer instance received sooner than this after the
    /// previous one is discarded.
    pub const MIN_LS_ARRIVAL: Duration = Duration::from_secs(1);
    /// MaxAge: an LSA this old is not used and is flushed.
    pub const MAX_AGE: u16 = 3600;
    /// MaxAgeDiff: two instances whose ages differ by more are different.
    pub const MAX_AGE_DIFF: u16 = 900;
    /// InitialSequenceNumber.
    pub const INITIAL_SEQUENCE_NUMBER: u32 = 0x8000_0001;
    /// MaxSequenceNumber.
    pub const MAX_SEQUENCE_NUMBER: u32 = 0x7fff_ffff;
    /// Reserved, never a valid sequence number (RFC 2328 12.1.6).
    pub const RESERVED_SEQUENCE_NUMBER: u32 = 0x8000_0000;
    /// InfTransDelay, added to an LSA's age each time it is sent.
    pub const INF_TRANS_DELAY: u16 = 1;
    /// RFC 6987: the cost vipd puts on every transit link so that no
    /// shortest path crosses it.
    pub const MAX_LINK_METRIC: u16 = 0xffff;
}
