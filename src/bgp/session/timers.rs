//! The session's timers as a small table of deadlines.
//!
//! The FSM never sleeps: it records when each timer is due, the driver sleeps
//! until [`Timers::next`], and then feeds `now` back in. Tests move `now`
//! forward by hand, so a 90-second hold timer is tested in microseconds.

use std::time::Instant;

/// RFC 4271 section 10 timers, plus RFC 9687's send hold timer, for one
/// connection or for the session as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Session-wide: when to try the next outgoing connection (RFC 4271
    /// ConnectRetryTimer, with our exponential backoff folded in).
    ConnectRetry = 0,
    /// Per connection: the peer must send something before this.
    Hold = 1,
    /// Per connection: when we owe the peer a KEEPALIVE.
    Keepalive = 2,
}

const SLOTS: usize = 3;

/// Deadlines indexed by [`Timer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Timers {
    due: [Option<Instant>; SLOTS],
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.due[timer as usize] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.due[timer as usize] = None;
    }

    /// True once, and clears the timer, when it is due at `now`.
    pub(crate) fn take_expired(&mut self, timer: Timer, now: Instant) -> bool {
        match self.due[timer as usize] {
            Some(at) if at <= now => {
                self.due[timer as usize] = None;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.due.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn next_is_the_earliest_deadline_and_expiry_clears_it() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        assert_eq!(timers.next(), None);
        timers.set(Timer::Hold, t0 + Duration::from_secs(9));
        timers.set(Timer::Keepalive, t0 + Duration::from_secs(3));
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(3)));
        assert!(!timers.take_expired(Timer::Keepalive, t0));
        assert!(timers.take_expired(Timer::Keepalive, t0 + Duration::from_secs(3)));
        assert!(!timers.take_expired(Timer::Keepalive, t0 + Duration::from_secs(4)));
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(9)));
        timers.stop(Timer::Hold);
        assert_eq!(timers.next(), None);
    }
}
