//! Community value types shared by the codec and the config.
//!
//! RFC 1997 communities and RFC 8092 large communities.

use std::fmt;
use std::str::FromStr;

/// RFC 1997 community: a 32-bit value, written `ASN:VALUE` with two 16-bit halves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Community(pub u32);

impl Community {
    /// RFC 8326: GRACEFUL_SHUTDOWN.
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// RFC 1997 well-known NO_EXPORT.
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// RFC 1997 well-known NO_ADVERTISE.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);

    pub fn new(high: u16, low: u16) -> Self {
        Community(((high as u32) << 16) | low as u32)
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xFFFF)
    }
}

/// Error for a community string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a community (expected ASN:VALUE with each part 0..=65535)")]
pub struct BadCommunity(pub String);

impl FromStr for Community {
    type Err = BadCommunity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadCommunity(s.to_string());
        let (a, b) = s.split_once(':').ok_or_else(bad)?;
        let high: u16 = a.trim().parse().map_err(|_| bad())?;
        let low: u16 = b.trim().parse().map_err(|_| bad())?;
        Ok(Community::new(high, low))
    }
}

/// RFC 8092 large community: three 32-bit values, written `GLOBAL:LOCAL1:LOCAL2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity {
    pub global_admin: u32,
    pub local_data1: u32,
    pub local_data2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.global_admin, self.local_data1, self.local_data2
        )
    }
}

/// Error for a large community string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a large community (expected GLOBAL:LOCAL1:LOCAL2, each 0..=4294967295)")]
pub struct BadLargeCommunity(pub String);

impl FromStr for LargeCommunity {
    type Err = BadLargeCommunity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadLargeCommunity(s.to_string());
        let mut parts = s.split(':');
        let mut next = || -> Result<u32, BadLargeCommunity> {
            parts
                .next()
                .ok_or_else(bad)?
                .trim()
                .parse()
                .map_err(|_| bad())
        };
        let lc = LargeCommunity {
            global_admin: next()?,
            local_data1: next()?,
            local_data2: next()?,
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(lc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_round_trips_through_text() {
        let c: Community = "65000:100".parse().unwrap();
        assert_eq!(c, Community(65000 << 16 | 100));
        assert_eq!(c.to_string(), "65000:100");
        assert!("65536:1".parse::<Community>().is_err());
        assert!("1".parse::<Community>().is_err());
    }

    #[test]
    fn large_community_round_trips_through_text() {
        let c: LargeCommunity = "4200000000:1:2".parse().unwrap();
        assert_eq!(c.global_admin, 4_200_000_000);
        assert_eq!(c.to_string(), "4200000000:1:2");
        assert!("1:2".parse::<LargeCommunity>().is_err());
        assert!("1:2:3:4".parse::<LargeCommunity>().is_err());
    }
}
