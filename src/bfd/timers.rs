//! A BFD session's two timers as a small table of deadlines.
//!
//! The session never sleeps: it records when each timer is due, the driver
//! sleeps until [`Timers::next`] and feeds `now` back in.

use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// RFC 5880 6.8.7: the next periodic Control packet.
    Transmit = 0,
    /// RFC 5880 6.8.4: the Detection Time after the last packet received.
    Detect = 1,
}

const SLOTS: usize = 2;

/// Deadlines indexed by [`Timer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Timers {
    due: [Option<Instant>; SLOTS],
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.due[timer as usize] = at;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.due[timer as usize]
    }

    /// Whether `timer` is due at `now`.
    pub(crate) fn expired(&self, timer: Timer, now: Instant) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
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
    fn next_is_the_earliest_deadline() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        assert_eq!(timers.next(), None);
        timers.set(Timer::Detect, Some(t0 + Duration::from_millis(150)));
        timers.set(Timer::Transmit, Some(t0 + Duration::from_millis(40)));
        assert_eq!(timers.next(), Some(t0 + Duration::from_millis(40)));
        assert!(!timers.expired(Timer::Transmit, t0));
        assert!(timers.expired(Timer::Transmit, t0 + Duration::from_millis(40)));
        timers.set(Timer::Transmit, None);
        assert_eq!(timers.next(), Some(t0 + Duration::from_millis(150)));
    }
}
