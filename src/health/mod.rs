//! Health checks: probe each `[check.NAME]`, turn results into up/down, and
//! publish every change.
//!
//! Three layers, one file each, so that scheduling and state can be tested on
//! virtual time without sockets:
//! - [`tracker`]: the pure rise/fall machine (no I/O, no clock);
//! - `probe`: one probe of each kind, bounded by the check's timeout (the
//!   dns, grpc and interface kinds in `dns`, `grpc` and `link`), and
//!   `watch`: the event sources (a watched idle connection closing, a watched
//!   process exiting, a netlink link notification) that trigger an immediate
//!   re-probe;
//! - `runner`: one task per check: interval plus jitter, `fast_interval` while
//!   a change is pending, an immediate re-probe on events; publishes
//!   [`CheckEvent`]s and the latest [`CheckStatus`] of every check.
//!
//! Lease checks are not probed: the application renews them (`lease`, through
//! a [`LeaseHandle`] or the `lease_http` endpoint), and one task per lease
//! keeps a timer at its expiry instant.
//!
//! Checks feed the VIP state machine (`crate::vip`), which decides what is
//! announced; nothing here knows about VIPs or BGP.

mod dns;
mod grpc;
mod lease;
mod lease_http;
mod link;
mod probe;
mod runner;
pub mod tracker;
mod watch;

#[cfg(test)]
mod tests;

pub use probe::ProbeResult;
mod manager;
pub use lease::{LeaseError, LeaseHandle, LeaseState};
pub use manager::Checks;
pub use runner::{CheckEvent, CheckStatus, StatusMap, spawn, spawn_with_status};
pub use tracker::{Tracker, Transition};
