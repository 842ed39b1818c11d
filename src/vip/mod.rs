//! The desired route set: which VIPs should be announced right now, and how.
//!
//! Whatever decides VIP state (static config today, health checks later)
//! changes the set through an [`Originator`]; every BGP peer watches the set
//! and converges its advertisements onto it. Announcing or withdrawing one
//! VIP at runtime is a single call: [`Originator::announce`] /
//! [`Originator::withdraw`].
//!
//! Beside the set itself the originator keeps a short [`ChangeLog`]: the
//! prefixes that changed, numbered. A peer that has seen change `n` reads the
//! changes after `n` and looks each prefix up in the current set, so one
//! transition costs it O(log n) however large the set is, and is sent at
//! once. A peer that fell further behind than the log reaches (or a new
//! session) walks the whole set instead. Either way it converges on the
//! latest set (level-triggered): a prefix that flapped twice while the peer
//! was busy is sent once, in its current state.

use std::collections::{BTreeMap, VecDeque};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use ipnet::IpNet;
use tokio::sync::watch;

use crate::bgp::wire::{Community, LargeCommunity};
use crate::config::VipConfig;

pub mod address;
pub mod state;
pub mod task;

/// The attributes vipd attaches to a VIP route, shared by every VIP that has
/// the same ones (a `count` block shares one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RouteAttrs {
    pub communities: Vec<Community>,
    pub large_communities: Vec<LargeCommunity>,
    pub med: Option<u32>,
    /// Sent on iBGP sessions only (RFC 4271 5.1.5).
    pub local_pref: Option<u32>,
    /// Extra copies of our AS on eBGP sessions.
    pub as_path_prepend: u8,
}

/// One VIP route with the attributes vipd attaches to it. The attributes are
/// reached through `Deref` (`route.med`); writing one copies them first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipRoute {
    pub prefix: IpNet,
    pub attrs: Arc<RouteAttrs>,
}

impl VipRoute {
    pub fn new(prefix: IpNet, attrs: RouteAttrs) -> Self {
        VipRoute {
            prefix,
            attrs: Arc::new(attrs),
        }
    }
}

impl Deref for VipRoute {
    type Target = RouteAttrs;
    fn deref(&self) -> &RouteAttrs {
        &self.attrs
    }
}

/// Copy-on-write: changing one route's attributes leaves the others that
/// shared them alone.
impl DerefMut for VipRoute {
    fn deref_mut(&mut self) -> &mut RouteAttrs {
        Arc::make_mut(&mut self.attrs)
    }
}

impl From<&VipConfig> for RouteAttrs {
    fn from(v: &VipConfig) -> Self {
        RouteAttrs {
            communities: v.communities.clone(),
            large_communities: v.large_communities.clone(),
            med: v.med,
            local_pref: v.local_pref,
            as_path_prepend: v.as_path_prepend,
        }
    }
}

impl From<&VipConfig> for VipRoute {
    fn from(v: &VipConfig) -> Self {
        VipRoute::new(v.prefix, RouteAttrs::from(v))
    }
}

/// The `i`-th host prefix of a block starting at host prefix `first`
/// (`None` past the end of the address family).
pub fn nth_host(first: IpNet, i: u32) -> Option<IpNet> {
    match first {
        IpNet::V4(n) => {
            let a = u32::from(n.addr()).checked_add(i)?;
            ipnet::Ipv4Net::new(a.into(), n.prefix_len())
                .ok()
                .map(IpNet::V4)
        }
        IpNet::V6(n) => {
            let a = u128::from(n.addr()).checked_add(u128::from(i))?;
            ipnet::Ipv6Net::new(a.into(), n.prefix_len())
                .ok()
                .map(IpNet::V6)
        }
    }
}

/// The whole set of routes that should be announced, keyed by prefix.
pub type DesiredSet = Arc<BTreeMap<IpNet, VipRoute>>;

/// How many changes the log keeps; a peer further behind resyncs from the
/// whole set. 16k prefixes are about 320 KiB.
pub const CHANGE_LOG_CAPACITY: usize = 16 * 1024;

/// The most recent changes to the desired set, numbered from 1.
#[derive(Debug)]
pub struct ChangeLog {
    /// Sequence number of `entries[0]`.
    first: u64,
    entries: VecDeque<IpNet>,
    capacity: usize,
}

/// What a reader gets from [`ChangeLog::since`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    /// The prefixes that changed after the reader's position (possibly
    /// repeated); look each one up in the current set.
    Some(Vec<IpNet>),
    /// The reader fell behind what the log keeps: compare the whole set.
    Resync,
}

impl ChangeLog {
    pub fn new(capacity: usize) -> Self {
        ChangeLog {
            first: 1,
            entries: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// The number of the last change (0 before any).
    pub fn last(&self) -> u64 {
        self.first + self.entries.len() as u64 - 1
    }

    fn push(&mut self, prefix: IpNet) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
            self.first += 1;
        }
        self.entries.push_back(prefix);
    }

    /// The changes after `seen` (a value of [`ChangeLog::last`]).
    pub fn since(&self, seen: u64) -> Changes {
        if seen + 1 < self.first {
            return Changes::Resync;
        }
        let skip = (seen + 1 - self.first) as usize;
        Changes::Some(self.entries.iter().skip(skip).copied().collect())
    }

    /// Let go of the memory of a burst that is long consumed.
    fn shrink(&mut self) {
        if self.entries.capacity() > 2 * self.entries.len().max(1024) {
            self.entries.shrink_to(self.entries.len().max(1024));
        }
    }
}

/// A consistent view for one peer: the set and the number of the last
/// change it reflects.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub set: DesiredSet,
    pub seq: u64,
}

/// A peer's (or any reader's) handle on the desired set.
#[derive(Debug, Clone)]
pub struct DesiredReader {
    rx: watch::Receiver<DesiredSet>,
    log: Arc<Mutex<ChangeLog>>,
}

impl DesiredReader {
    /// Resolves when the set changed since the last [`DesiredReader::snapshot`].
    pub async fn changed(&mut self) -> Result<(), watch::error::RecvError> {
        self.rx.changed().await
    }

    pub fn has_changed(&self) -> bool {
        self.rx.has_changed().unwrap_or(false)
    }

    /// The current set and its change number; marks it seen.
    pub fn snapshot(&mut self) -> Snapshot {
        let set = self.rx.borrow_and_update();
        // The writer changes the log while it holds the set's write lock, so
        // with the set borrowed the log's last number matches it.
        let seq = self.log.lock().map(|l| l.last()).unwrap_or(0);
        Snapshot {
            set: set.clone(),
            seq,
        }
    }

    /// The current set, the changes after `seen`, and the new position.
    pub fn changes_since(&mut self, seen: u64) -> (Snapshot, Changes) {
        let set = self.rx.borrow_and_update();
        let (seq, changes) = match self.log.lock() {
            Ok(l) => (l.last(), l.since(seen)),
            Err(_) => (0, Changes::Resync),
        };
        (
            Snapshot {
                set: set.clone(),
                seq,
            },
            changes,
        )
    }

    /// The current set, without marking it seen.
    pub fn current(&self) -> DesiredSet {
        self.rx.borrow().clone()
    }

    /// The plain watch receiver (OSPF compares whole sets).
    pub fn watch(&self) -> watch::Receiver<DesiredSet> {
        self.rx.clone()
    }
}

/// The single writer of the desired set.
#[derive(Debug, Clone)]
pub struct Originator {
    tx: Arc<watch::Sender<DesiredSet>>,
    log: Arc<Mutex<ChangeLog>>,
}

impl Default for Originator {
    fn default() -> Self {
        Self::new()
    }
}

/// One change to the desired set: `Some(route)` announces (or changes) it,
/// `None` withdraws `prefix`.
pub type Change = (IpNet, Option<VipRoute>);

impl Originator {
    pub fn new() -> Self {
        Self::with_log_capacity(CHANGE_LOG_CAPACITY)
    }

    pub fn with_log_capacity(capacity: usize) -> Self {
        let (tx, _rx) = watch::channel(DesiredSet::default());
        Originator {
            tx: Arc::new(tx),
            log: Arc::new(Mutex::new(ChangeLog::new(capacity))),
        }
    }

    /// A receiver that always sees the latest set.
    pub fn subscribe(&self) -> watch::Receiver<DesiredSet> {
        self.tx.subscribe()
    }

    /// A reader of the set and its change log (what BGP peers use).
    pub fn reader(&self) -> DesiredReader {
        DesiredReader {
            rx: self.tx.subscribe(),
            log: self.log.clone(),
        }
    }

    pub fn current(&self) -> DesiredSet {
        self.tx.borrow().clone()
    }

    /// Announce `route` (or change its attributes) on every peer.
    pub fn announce(&self, route: VipRoute) {
        self.apply([(route.prefix, Some(route))]);
    }

    /// Withdraw `prefix` from every peer.
    pub fn withdraw(&self, prefix: IpNet) {
        self.apply([(prefix, None)]);
    }

    /// Apply many changes at once: readers wake once for the lot.
    pub fn apply(&self, changes: impl IntoIterator<Item = Change>) {
        let mut changes = changes.into_iter().peekable();
        if changes.peek().is_none() {
            return;
        }
        self.tx.send_if_modified(|set| {
            let mut log = match self.log.lock() {
                Ok(l) => l,
                Err(poisoned) => poisoned.into_inner(),
            };
            if set.is_empty() {
                // The first table (or after withdraw_all): built in bulk, so
                // the tree's nodes are full (half the memory of inserting
                // one by one in order).
                let mut routes: Vec<Change> = changes.collect();
                // The last change of a prefix wins.
                routes.reverse();
                routes.sort_by_key(|(p, _)| *p);
                routes.dedup_by_key(|(p, _)| *p);
                let routes: Vec<(IpNet, VipRoute)> = routes
                    .into_iter()
                    .filter_map(|(prefix, route)| Some((prefix, route?)))
                    .collect();
                for (prefix, _) in &routes {
                    log.push(*prefix);
                }
                let modified = !routes.is_empty();
                *set = Arc::new(routes.into_iter().collect());
                return modified;
            }
            let mut modified = false;
            for (prefix, route) in changes {
                let changed = match route {
                    Some(route) => {
                        if set.get(&prefix) == Some(&route) {
                            false
                        } else {
                            Arc::make_mut(set).insert(prefix, route);
                            true
                        }
                    }
                    None => {
                        set.contains_key(&prefix) && Arc::make_mut(set).remove(&prefix).is_some()
                    }
                };
                if changed {
                    log.push(prefix);
                    modified = true;
                }
            }
            log.shrink();
            modified
        });
    }

    /// Withdraw everything (shutdown).
    pub fn withdraw_all(&self) {
        let prefixes: Vec<IpNet> = self.tx.borrow().keys().copied().collect();
        self.apply(prefixes.into_iter().map(|p| (p, None)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(p: &str) -> VipRoute {
        VipRoute::new(p.parse().unwrap(), RouteAttrs::default())
    }

    fn prefix(p: &str) -> IpNet {
        p.parse().unwrap()
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

    #[test]
    fn a_reader_gets_each_change_once_and_in_order() {
        let o = Originator::new();
        let mut r = o.reader();
        let start = r.snapshot();
        assert_eq!(start.seq, 0);
        o.announce(route("198.18.0.1/32"));
        o.announce(route("198.18.0.2/32"));
        o.withdraw(prefix("198.18.0.1/32"));
        // Not a change: nothing logged.
        o.withdraw(prefix("198.18.0.9/32"));
        let (snap, changes) = r.changes_since(start.seq);
        assert_eq!(snap.seq, 3);
        assert_eq!(
            changes,
            Changes::Some(vec![
                prefix("198.18.0.1/32"),
                prefix("198.18.0.2/32"),
                prefix("198.18.0.1/32")
            ])
        );
        assert_eq!(
            snap.set.keys().copied().collect::<Vec<_>>(),
            [prefix("198.18.0.2/32")]
        );
        let (_, none) = r.changes_since(snap.seq);
        assert_eq!(none, Changes::Some(vec![]));
    }

    #[test]
    fn a_slow_reader_that_falls_behind_the_log_is_told_to_resync() {
        let o = Originator::with_log_capacity(4);
        let mut fast = o.reader();
        let mut slow = o.reader();
        let slow_seen = slow.snapshot().seq;
        let mut fast_seen = fast.snapshot().seq;
        for i in 0..10u32 {
            o.announce(route(&format!("198.18.0.{i}/32")));
            // The fast reader keeps up: it always gets exactly the new change.
            let (snap, changes) = fast.changes_since(fast_seen);
            assert_eq!(
                changes,
                Changes::Some(vec![prefix(&format!("198.18.0.{i}/32"))])
            );
            fast_seen = snap.seq;
        }
        let (snap, changes) = slow.changes_since(slow_seen);
        assert_eq!(changes, Changes::Resync);
        // The resync uses the whole current set, with the latest position.
        assert_eq!(snap.set.len(), 10);
        assert_eq!(snap.seq, 10);
        let (_, after) = slow.changes_since(snap.seq);
        assert_eq!(after, Changes::Some(vec![]));
        // Within the log's reach a reader is served from the log again.
        o.withdraw(prefix("198.18.0.3/32"));
        let (_, changes) = slow.changes_since(snap.seq);
        assert_eq!(changes, Changes::Some(vec![prefix("198.18.0.3/32")]));
    }

    #[test]
    fn a_batch_wakes_readers_once() {
        let o = Originator::new();
        let mut r = o.reader();
        r.snapshot();
        o.apply((0..100u32).map(|i| {
            let p = prefix(&format!("198.18.1.{i}/32"));
            (p, Some(VipRoute::new(p, RouteAttrs::default())))
        }));
        assert!(r.has_changed());
        let (snap, changes) = r.changes_since(0);
        assert_eq!(snap.set.len(), 100);
        assert!(matches!(changes, Changes::Some(c) if c.len() == 100));
        assert!(!r.has_changed());
        o.withdraw_all();
        assert!(o.current().is_empty());
    }
}
