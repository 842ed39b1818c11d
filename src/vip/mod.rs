//! The desired route set: which VIPs should be announced right now, and how.
//!
//! Whatever decides VIP state (static config today, health checks later)
//! changes the set through an [`Originator`]; every BGP peer watches the set
//! and converges its advertisements onto it. Announcing or withdrawing one
//! VIP at runtime is a single call: [`Originator::announce`] /
//! [`Originator::withdraw`]. Peers see only the latest set (level-triggered),
//! so a burst of changes is never replayed one by one to a slow peer.

use std::collections::BTreeMap;
use std::sync::Arc;

use ipnet::IpNet;
use tokio::sync::watch;

use crate::bgp::wire::{Community, LargeCommunity};
use crate::config::VipConfig;

pub mod address;
pub mod state;
pub mod task;

/// One VIP route with the attributes vipd attaches to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipRoute {
    pub prefix: IpNet,
    pub communities: Vec<Community>,
    pub large_communities: Vec<LargeCommunity>,
    pub med: Option<u32>,
    /// Sent on iBGP sessions only (RFC 4271 5.1.5).
    pub local_pref: Option<u32>,
    /// Extra copies of our AS on eBGP sessions.
    pub as_path_prepend: u8,
}

impl From<&VipConfig> for VipRoute {
    fn from(v: &VipConfig) -> Self {
        VipRoute {
            prefix: v.prefix,
            communities: v.communities.clone(),
            large_communities: v.large_communities.clone(),
            med: v.med,
            local_pref: v.local_pref,
            as_path_prepend: v.as_path_prepend,
        }
    }
}

/// The whole set of routes that should be announced, keyed by prefix.
pub type DesiredSet = Arc<BTreeMap<IpNet, VipRoute>>;

/// The single writer of the desired set.
#[derive(Debug, Clone)]
pub struct Originator {
    tx: Arc<watch::Sender<DesiredSet>>,
}

impl Default for Originator {
    fn default() -> Self {
        Self::new()
    }
}

impl Originator {
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(DesiredSet::default());
        Originator { tx: Arc::new(tx) }
    }

    /// A receiver that always sees the latest set.
    pub fn subscribe(&self) -> watch::Receiver<DesiredSet> {
        self.tx.subscribe()
    }

    pub fn current(&self) -> DesiredSet {
        self.tx.borrow().clone()
    }

    /// Announce `route` (or change its attributes) on every peer.
    pub fn announce(&self, route: VipRoute) {
        self.tx.send_if_modified(|set| {
            if set.get(&route.prefix) == Some(&route) {
                return false;
            }
            Arc::make_mut(set).insert(route.prefix, route);
            true
        });
    }

    /// Withdraw `prefix` from every peer.
    pub fn withdraw(&self, prefix: IpNet) {
        self.tx.send_if_modified(|set| {
            if !set.contains_key(&prefix) {
                return false;
            }
            Arc::make_mut(set).remove(&prefix);
            true
        });
    }

    /// Withdraw everything (shutdown).
    pub fn withdraw_all(&self) {
        self.tx.send_if_modified(|set| {
            if set.is_empty() {
                return false;
            }
            *set = DesiredSet::default();
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(p: &str) -> VipRoute {
        VipRoute {
            prefix: p.parse().unwrap(),
            communities: vec![],
            large_communities: vec![],
            med: None,
            local_pref: None,
            as_path_prepend: 0,
        }
    }

    #[test]
    fn announce_and_withdraw_are_single_calls_seen_by_subscribers() {
        let o = Originator::new();
        let mut rx = o.subscribe();
        o.announce(route("198.18.0.10/32"));
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().len(), 1);
        // Announcing the same route again is not a change.
        o.announce(route("198.18.0.10/32"));
        assert!(!rx.has_changed().unwrap());
        o.withdraw("198.18.0.10/32".parse().unwrap());
        assert!(rx.has_changed().unwrap());
        assert!(rx.borrow_and_update().is_empty());
        // Withdrawing what is not there is not a change either.
        o.withdraw("198.18.0.10/32".parse().unwrap());
        assert!(!rx.has_changed().unwrap());
    }
}
