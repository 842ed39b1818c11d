//! BFD: Bidirectional Forwarding Detection (RFC 5880) for single IP hops
//! (RFC 5881), Asynchronous mode.
//!
//! With BFD on a peer, the router notices a dead or frozen vipd within the
//! detection time (50 ms x 3 by default) instead of at BGP hold-timer expiry,
//! and vipd notices a dead router as fast. [`spawn`] starts a session and
//! returns a `watch` of its [`BfdState`]; the BGP peer task reacts to it.
//!
//! # Layout
//! - [`packet`]: the Control packet codec and the packet-only discard rules.
//! - [`demux`]: datagram -> session, with the table-dependent discard rules
//!   and per-reason drop counters; sans-IO.
//! - [`session`]: the per-session state machine; sans-IO,
//!   `handle(now, input) -> outputs`, `poll_timeout()`.
//! - `timers`: the session's two deadlines.
//! - `socket`: the UDP sockets (port 3784, TTL 255, TTL reported on receipt).
//! - `engine`: the only code that touches sockets and the clock; one
//!   dedicated OS thread with its own current-thread runtime for all sessions.
//!
//! # Implemented
//! - RFC 5880 4.1: the Control packet, every field, both directions.
//! - RFC 5880 6.2, 6.8.6: the Down / Init / Up / AdminDown state machine and
//!   its three-way handshake, with the RFC's diagnostics (1 Control Detection
//!   Time Expired, 3 Neighbor Signaled Session Down, 7 Administratively Down).
//! - RFC 5880 6.3, 6.8.6 items 7 to 9, RFC 5881 3: discriminators (random,
//!   nonzero, unique) and demultiplexing by Your Discriminator, or by the
//!   address pair while Your Discriminator is zero; several peers share one
//!   socket per local address.
//! - RFC 5880 6.8.6 items 1 to 10: every discard rule (version, length,
//!   Detect Mult, multipoint, discriminators, A bit), each counted.
//! - RFC 5880 6.5, 6.8.3: Poll Sequences whenever our timers change while
//!   Up (including the switch from the slow rate on reaching Up); a larger TX
//!   interval or a smaller RX interval takes effect only on the Final. A Poll
//!   from the peer is answered at once with Final.
//! - RFC 5880 6.8.3: one second as Desired Min TX while not Up.
//! - RFC 5880 6.8.4: detection time = the peer's Detect Mult x the greater of
//!   our Required Min RX and its Desired Min TX.
//! - RFC 5880 6.8.7: transmit interval = the greater of our Desired Min TX
//!   and the peer's Required Min RX, minus 0-25% jitter (10-25% when Detect
//!   Mult is 1); no periodic packets when the peer asks for none (Required
//!   Min RX 0) or is in Demand mode. A state change is sent without
//!   waiting for the periodic timer, as soon as the peer's Required Min RX
//!   allows after the previous packet.
//! - RFC 5880 6.8.16: AdminDown on shutdown (diag 7), sent for a Detection
//!   Time at the slow rate; RFC 5880 6.8.18: a silent peer's Required Min RX
//!   stops binding us.
//! - RFC 5881 4, 5: destination port 3784, source port in 49152..=65535 (one
//!   per session), TTL / Hop Limit 255 on send, and received packets with
//!   any other TTL dropped. IP precedence 6 on our packets.
//!
//! # Not implemented
//! - The Echo function (RFC 5880 6.4, 6.8.9): we advertise Required Min Echo
//!   RX 0, so the peer never sends us Echo packets.
//! - Demand mode (RFC 5880 6.6, 6.8.8) for ourselves: we never set D (we do
//!   stop periodic packets when the peer is in Demand mode, as 6.8.7 requires).
//! - Authentication (RFC 5880 6.7): none can be configured, so a packet with
//!   the A bit set is dropped (6.8.6 item 10).
//! - Multihop BFD (RFC 5883), multipoint BFD, IPv6 link-local peers (they
//!   need an interface), and the C bit (our BFD shares fate with vipd's
//!   control plane on purpose: a frozen vipd must look down).

pub mod demux;
mod engine;
pub mod packet;
pub mod session;
mod socket;
mod timers;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

pub use packet::Diag;

use crate::config::BfdConfig;
use engine::EngineHandle;

/// A session's state as vipd acts on it (RFC 5880 6.2 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BfdState {
    /// Taken down on purpose, by us (shutdown). A peer that signals
    /// AdminDown shows here as `Down { diag: NeighborSignaledSessionDown }`.
    AdminDown,
    /// Not (or no longer) up; `diag` says why (RFC 5880 4.1 Diag).
    Down { diag: Diag },
    /// The peer is heard, the three-way handshake is under way.
    Init,
    /// Both ends hear each other: the forwarding path works.
    Up,
}

impl BfdState {
    pub fn is_up(self) -> bool {
        self == BfdState::Up
    }
}

impl fmt::Display for BfdState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BfdState::AdminDown => f.write_str("AdminDown"),
            BfdState::Down { diag } => write!(f, "Down ({diag})"),
            BfdState::Init => f.write_str("Init"),
            BfdState::Up => f.write_str("Up"),
        }
    }
}

/// Per-session packet counters, updated by the engine thread.
#[derive(Debug, Default)]
pub struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    /// Datagrams from the peer's address that failed a discard rule.
    dropped: AtomicU64,
    send_errors: AtomicU64,
    /// Times the session left Up, so a watcher that only saw the latest
    /// state can still tell that it flapped.
    went_down: AtomicU64,
    /// AdminDown packets sent after shutdown (RFC 5880 6.8.16).
    admin_down_sent: AtomicU64,
}

/// A copy of [`Counters`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub sent: u64,
    pub received: u64,
    pub dropped: u64,
    pub send_errors: u64,
    pub went_down: u64,
    pub admin_down_sent: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            send_errors: self.send_errors.load(Ordering::Relaxed),
            went_down: self.went_down.load(Ordering::Relaxed),
            admin_down_sent: self.admin_down_sent.load(Ordering::Relaxed),
        }
    }
}

/// A handle on one running session: its state and counters. Dropping it does
/// not end the session; the `shutdown` watch given at start does.
#[derive(Debug, Clone)]
pub struct BfdSession {
    state: watch::Receiver<BfdState>,
    counters: Arc<Counters>,
    local_discriminator: u32,
}

impl BfdSession {
    /// Like [`spawn`], returning the whole handle.
    pub fn start(
        local: IpAddr,
        peer: IpAddr,
        cfg: BfdConfig,
        shutdown: watch::Receiver<Option<String>>,
    ) -> io::Result<BfdSession> {
        let started = with_engine(|engine| engine.start_session(local, peer, cfg, shutdown))?;
        Ok(BfdSession {
            state: started.state,
            counters: started.counters,
            local_discriminator: started.local_discriminator,
        })
    }

    pub fn state(&self) -> watch::Receiver<BfdState> {
        self.state.clone()
    }

    pub fn counters(&self) -> CounterSnapshot {
        self.counters.snapshot()
    }

    /// Our bfd.LocalDiscr, as the router shows it for this session.
    pub fn local_discriminator(&self) -> u32 {
        self.local_discriminator
    }

    /// After the shutdown watch changed: waits (at most `limit`) until the
    /// first AdminDown packet has left, and says whether it has. The engine
    /// sends it no sooner than the peer's Required Min RX after the previous
    /// packet (RFC 5880 6.8.7), so a process that exits right after
    /// asking for the shutdown would leave the peer to time the session out
    /// instead; a peer that hears AdminDown knows it was no failure
    /// (RFC 5882 3.2).
    pub async fn admin_down_sent(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.counters.admin_down_sent.load(Ordering::Relaxed) > 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(ADMIN_DOWN_POLL).await;
        }
    }
}

/// How often [`BfdSession::admin_down_sent`] looks.
const ADMIN_DOWN_POLL: Duration = Duration::from_millis(2);

/// Starts a single-hop BFD session to `peer` from `local` (UDP destination
/// port 3784, source port in 49152..=65535, TTL 255, and received packets
/// must carry TTL 255, RFC 5881 5) and returns a watch of its state.
///
/// The watch is written only when the state changes, so every `changed()`
/// is a real transition; like any watch it keeps only the latest value, so
/// a watcher that looks late may see `Up` again after a short flap: treat a
/// change that leaves you at `Up` after `Up` as a flap (or compare
/// [`BfdSession::counters`]`().went_down`).
///
/// The session runs on the BFD engine thread, shared by every session, so a
/// busy tokio runtime cannot delay its packets. It ends when `shutdown`
/// changes (or its sender is dropped): it then sends AdminDown (diag 7) at
/// once and keeps sending it for a detection time at the slow rate. Fails if
/// the sockets cannot be bound, the addresses cannot form a single-hop
/// session, or a session for the same pair already runs.
pub fn spawn(
    local: IpAddr,
    peer: IpAddr,
    cfg: BfdConfig,
    shutdown: watch::Receiver<Option<String>>,
) -> io::Result<watch::Receiver<BfdState>> {
    BfdSession::start(local, peer, cfg, shutdown).map(|session| session.state())
}

/// The process-wide engine, started on first use.
static ENGINE: Mutex<Option<EngineHandle>> = Mutex::new(None);

fn with_engine<T>(f: impl FnOnce(&EngineHandle) -> io::Result<T>) -> io::Result<T> {
    // A panic elsewhere while holding the lock leaves the handle usable.
    let mut engine = ENGINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if engine.is_none() {
        *engine = Some(EngineHandle::start(socket::CONTROL_PORT, false)?);
    }
    match engine.as_ref() {
        Some(handle) => f(handle),
        None => Err(io::Error::other("the BFD engine did not start")),
    }
}
