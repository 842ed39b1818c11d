//! The BGP session state machine (RFC 4271 section 8), sans-IO.
//!
//! A [`Session`] is one configured peer. The driver feeds it [`Input`]s with
//! the current time and carries out the [`Output`]s it returns: open or close
//! a TCP connection, send bytes. It sleeps until [`Session::poll_timeout`] and
//! then calls [`Session::handle_timeout`]. Nothing here touches a socket or a
//! clock, so every timer and race is tested on a virtual clock.
//!
//! One session may own two TCP connections at once (ours and the peer's) until
//! the collision is resolved by BGP Identifier (RFC 4271 section 6.8).

mod fsm;
pub(crate) mod timers;

pub use fsm::{
    ConnId, Direction, DownReason, Input, MessageCounts, Negotiated, Output, Session,
    SessionConfig, State,
};

#[cfg(test)]
mod tests;
