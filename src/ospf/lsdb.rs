//! The link state database (RFC 2328 12, 14): every LSA of the area, of
//! the AS and of each link, with the time it was installed so its age can be
//! read at any instant.
//!
//! The database knows nothing of neighbors or flooding; `flood.rs` decides
//! what goes in and `instance.rs` sweeps out MaxAge LSAs once nobody still
//! needs them (RFC 2328 14).

use std::collections::BTreeMap;
use std::time::Instant;

use super::interface::IfaceId;
use super::wire::iana::{constants::MAX_AGE, ls_type};
use super::wire::{Lsa, LsaHeader, LsaKey, Version};

/// Where an LSA is flooded and stored (RFC 5340 4.5.2; in OSPFv2 types 5
/// and 11 are AS-wide, type 9 link-local, the rest area-wide).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Scope {
    Link(IfaceId),
    Area,
    As,
}

/// An LSA's identity in the database: its scope and its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct DbKey {
    pub(crate) scope: Scope,
    pub(crate) key: LsaKey,
}

impl std::fmt::Display for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.scope {
            Scope::Link(i) => write!(f, "{} (link {i})", self.key),
            Scope::Area => write!(f, "{}", self.key),
            Scope::As => write!(f, "{} (AS)", self.key),
        }
    }
}

/// The flooding scope of an LS type received on (or originated for) `iface`.
pub(crate) fn scope_of(version: Version, t: u16, iface: IfaceId) -> Scope {
    match version {
        Version::V2 => match t {
            ls_type::V2_AS_EXTERNAL | ls_type::V2_OPAQUE_AS => Scope::As,
            ls_type::V2_OPAQUE_LINK => Scope::Link(iface),
            _ => Scope::Area,
        },
        Version::V3 => {
            // RFC 5340 4.5.1: an unknown type with the U-bit clear is
            // treated as link-local; reserved scope bits likewise.
            let known = super::wire::lsa::is_v3_known(t);
            if !known && t & ls_type::V3_U_BIT == 0 {
                return Scope::Link(iface);
            }
            match t & ls_type::V3_SCOPE_MASK {
                ls_type::V3_SCOPE_AREA => Scope::Area,
                ls_type::V3_SCOPE_AS => Scope::As,
                _ => Scope::Link(iface),
            }
        }
    }
}

/// One installed LSA.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// As installed: `lsa.header.age` is the age at `installed`.
    pub(crate) lsa: Lsa,
    pub(crate) installed: Instant,
    /// Set when the instance came in by flooding (RFC 2328 13 step 5a
    /// applies MinLSArrival to those only).
    pub(crate) received_by_flooding: bool,
    /// The instance has been reflooded at MaxAge (RFC 2328 14).
    pub(crate) max_age_flooded: bool,
    /// When this instance was last sent back to a neighbor that had an older
    /// one (RFC 2328 13 step 8, at most once per MinLSArrival).
    pub(crate) last_sent_back: Option<Instant>,
}

impl Entry {
    /// The LS age now: the installed age plus the seconds since, up to MaxAge.
    pub(crate) fn age(&self, now: Instant) -> u16 {
        let installed = self.lsa.header.age;
        if installed >= MAX_AGE {
            return MAX_AGE;
        }
        let elapsed = now.saturating_duration_since(self.installed).as_secs();
        let age = u64::from(installed) + elapsed;
        age.min(u64::from(MAX_AGE)) as u16
    }

    /// The header with the current age.
    pub(crate) fn header(&self, now: Instant) -> LsaHeader {
        LsaHeader {
            age: self.age(now),
            ..self.lsa.header
        }
    }

    /// The LSA as it should be sent now: current age plus `extra`
    /// (InfTransDelay), capped at MaxAge (RFC 2328 13.3).
    pub(crate) fn to_send(&self, now: Instant, extra: u16) -> Lsa {
        let age = self.age(now).saturating_add(extra).min(MAX_AGE);
        self.lsa.with_age(age)
    }

    pub(crate) fn is_max_age(&self, now: Instant) -> bool {
        self.age(now) >= MAX_AGE
    }
}

/// The database of one OSPF instance (one area).
#[derive(Debug, Default)]
pub(crate) struct Lsdb {
    entries: BTreeMap<DbKey, Entry>,
}

impl Lsdb {
    pub(crate) fn get(&self, key: &DbKey) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &DbKey) -> Option<&mut Entry> {
        self.entries.get_mut(key)
    }

    /// Installs `lsa`, replacing any older instance (RFC 2328 13.2).
    pub(crate) fn install(&mut self, key: DbKey, lsa: Lsa, now: Instant, by_flooding: bool) {
        self.entries.insert(
            key,
            Entry {
                lsa,
                installed: now,
                received_by_flooding: by_flooding,
                max_age_flooded: false,
                last_sent_back: None,
            },
        );
    }

    pub(crate) fn remove(&mut self, key: &DbKey) -> Option<Entry> {
        self.entries.remove(key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&DbKey, &Entry)> {
        self.entries.iter()
    }

    /// The LSAs a neighbor on `iface` should hear about: area and AS scope,
    /// and this link's link-scoped ones.
    pub(crate) fn visible_from(&self, iface: IfaceId) -> impl Iterator<Item = (&DbKey, &Entry)> {
        self.entries.iter().filter(move |(k, _)| match k.scope {
            Scope::Link(i) => i == iface,
            Scope::Area | Scope::As => true,
        })
    }

    /// Drops every link-scoped LSA of an interface that went down.
    pub(crate) fn forget_link(&mut self, iface: IfaceId) {
        self.entries.retain(|k, _| k.scope != Scope::Link(iface));
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;
    use crate::ospf::wire::lsa::LsaBody;

    fn lsa(age: u16) -> Lsa {
        let header = LsaHeader {
            age,
            options: 2,
            ls_type: 1,
            lsid: Ipv4Addr::new(10, 255, 0, 1),
            adv_router: Ipv4Addr::new(10, 255, 0, 1),
            seq: 0x8000_0001,
            checksum: 0,
            length: 0,
        };
        Lsa::build(Version::V2, header, &LsaBody::Unknown(vec![0, 0, 0, 0]))
    }

    #[test]
    fn age_grows_with_time_and_stops_at_max_age() {
        let t0 = Instant::now();
        let mut db = Lsdb::default();
        let key = DbKey {
            scope: Scope::Area,
            key: lsa(0).key(),
        };
        db.install(key, lsa(10), t0, true);
        let e = db.get(&key).unwrap();
        assert_eq!(e.age(t0), 10);
        assert_eq!(e.age(t0 + Duration::from_millis(2500)), 12);
        assert_eq!(e.age(t0 + Duration::from_secs(7200)), MAX_AGE);
        assert_eq!(e.to_send(t0, 1).header.age, 11);
        assert!(e.is_max_age(t0 + Duration::from_secs(3590)));
    }

    #[test]
    fn scopes_follow_the_ls_type() {
        assert_eq!(scope_of(Version::V2, 1, 3), Scope::Area);
        assert_eq!(scope_of(Version::V2, 5, 3), Scope::As);
        assert_eq!(scope_of(Version::V2, 9, 3), Scope::Link(3));
        assert_eq!(scope_of(Version::V3, 0x0008, 3), Scope::Link(3));
        assert_eq!(scope_of(Version::V3, 0x2001, 3), Scope::Area);
        assert_eq!(scope_of(Version::V3, 0x4005, 3), Scope::As);
        // Unknown: U clear -> link-local whatever the S bits; U set -> by S bits.
        assert_eq!(scope_of(Version::V3, 0x400f, 3), Scope::Link(3));
        assert_eq!(scope_of(Version::V3, 0xc00f, 3), Scope::As);
        assert_eq!(scope_of(Version::V3, 0xa00f, 3), Scope::Area);
    }
}
