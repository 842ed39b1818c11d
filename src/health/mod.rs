//! Health checks: probe each `[check.NAME]`, turn results into up/down, and
//! publish every change.
//!
//! Three layers, one file each, so that scheduling and state can be tested on
//! virtual time without sockets:
//! - [`tracker`]: the pure rise/fall machine (no I/O, no clock);
//! - `probe`: one probe of each kind, bounded by the check's timeout, and
//!   `watch`: the event sources (a watched idle connection closing, a watched
//!   process exiting) that trigger an immediate re-probe;
//! - `runner`: one task per check: interval plus jitter, `fast_interval` while
//!   a change is pending, an immediate re-probe on events; publishes
//!   [`CheckEvent`]s and the latest [`CheckStatus`] of every check.
//!
//! Checks feed the VIP state machine (`crate::vip`), which decides what is
//! announced; nothing here knows about VIPs or BGP.

mod probe;
mod runner;
pub mod tracker;
mod watch;

#[cfg(test)]
mod tests;

pub use probe::ProbeResult;
mod manager;
pub use manager::Checks;
pub use runner::{CheckEvent, CheckStatus, StatusMap, spawn, spawn_with_status};
pub use tracker::{Tracker, Transition};
