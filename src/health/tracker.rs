//! The rise/fall machine: consecutive probe results -> up/down, nothing else.
//!
//! No I/O and no clock: the runner feeds it results and asks whether a change
//! is pending (to probe at `fast_interval`). The same semantics as HAProxy's
//! and ExaBGP's healthcheck `--rise`/`--fall`: a check changes state only
//! after `rise` consecutive successes (down -> up) or `fall` consecutive
//! failures (up -> down); any result that agrees with the current state
//! resets the count, so flapping faster than that never changes the state.

/// A change of state, the only output of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `rise` consecutive successes while down.
    Up,
    /// `fall` consecutive failures while up.
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracker {
    rise: u32,
    fall: u32,
    up: bool,
    /// Consecutive results that disagree with `up`, since the last one that agreed.
    streak: u32,
}

impl Tracker {
    /// Starts down: nothing is up before it has passed `rise` times.
    /// A `rise` or `fall` of 0 is taken as 1 (the config refuses 0).
    pub fn new(rise: u32, fall: u32) -> Self {
        Tracker {
            rise: rise.max(1),
            fall: fall.max(1),
            up: false,
            streak: 0,
        }
    }

    /// Feeds one probe result; returns the transition it completes, if any.
    pub fn record(&mut self, ok: bool) -> Option<Transition> {
        if ok == self.up {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if self.up { self.fall } else { self.rise };
        if self.streak < needed {
            return None;
        }
        self.up = ok;
        self.streak = 0;
        Some(if ok { Transition::Up } else { Transition::Down })
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// A change has started but not completed: at least one result disagreed
    /// with the state and none has agreed since. Probe at `fast_interval`.
    pub fn pending(&self) -> bool {
        self.streak > 0
    }

    /// How many consecutive results disagree with the state so far.
    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// How many disagreeing results in a row change the state from here.
    pub fn needed(&self) -> u32 {
        if self.up { self.fall } else { self.rise }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `results` ("+" pass, "-" fail) and returns what each produced.
    fn feed(t: &mut Tracker, results: &str) -> Vec<Option<Transition>> {
        results.chars().map(|c| t.record(c == '+')).collect()
    }

    fn transitions(rise: u32, fall: u32, results: &str) -> Vec<(usize, Transition)> {
        let mut t = Tracker::new(rise, fall);
        feed(&mut t, results)
            .into_iter()
            .enumerate()
            .filter_map(|(i, tr)| tr.map(|tr| (i, tr)))
            .collect()
    }

    #[test]
    fn a_new_tracker_is_down_with_nothing_pending() {
        let t = Tracker::new(2, 3);
        assert!(!t.is_up());
        assert!(!t.pending());
        assert_eq!((t.streak(), t.needed()), (0, 2));
    }

    #[test]
    fn failures_while_down_change_nothing() {
        let mut t = Tracker::new(2, 2);
        assert_eq!(feed(&mut t, "-----"), [None; 5]);
        assert!(!t.is_up());
        assert!(!t.pending());
    }

    #[test]
    fn rise_consecutive_passes_bring_it_up_on_the_last_one() {
        let mut t = Tracker::new(3, 2);
        assert_eq!(t.record(true), None);
        assert!(t.pending());
        assert_eq!(t.record(true), None);
        assert_eq!((t.streak(), t.needed()), (2, 3));
        assert_eq!(t.record(true), Some(Transition::Up));
        assert!(t.is_up());
        assert!(!t.pending());
        assert_eq!(t.needed(), 2);
    }

    #[test]
    fn fall_consecutive_failures_bring_it_down_on_the_last_one() {
        assert_eq!(
            transitions(1, 3, "+---"),
            [(0, Transition::Up), (3, Transition::Down)]
        );
    }

    #[test]
    fn rise_and_fall_of_one_follow_every_result() {
        assert_eq!(
            transitions(1, 1, "+-+-"),
            [
                (0, Transition::Up),
                (1, Transition::Down),
                (2, Transition::Up),
                (3, Transition::Down)
            ]
        );
    }

    #[test]
    fn one_agreeing_result_breaks_the_streak() {
        let mut t = Tracker::new(3, 3);
        assert_eq!(feed(&mut t, "++-++-++"), [None; 8]);
        assert!(!t.is_up());
        // The streak restarts from the last break: two passes so far.
        assert_eq!(t.streak(), 2);
        assert_eq!(t.record(true), Some(Transition::Up));
    }

    #[test]
    fn flapping_faster_than_rise_never_brings_it_up() {
        for rise in 2..6 {
            let pattern: String = std::iter::repeat_n("+".repeat(rise - 1) + "-", 50).collect();
            assert_eq!(transitions(rise as u32, 1, &pattern), [], "rise {rise}");
        }
    }

    #[test]
    fn flapping_faster_than_fall_never_brings_it_down() {
        for fall in 2..6 {
            let pattern: String = "+".to_string()
                + &std::iter::repeat_n("-".repeat(fall - 1) + "+", 50).collect::<String>();
            assert_eq!(
                transitions(1, fall as u32, &pattern),
                [(0, Transition::Up)],
                "fall {fall}"
            );
        }
    }

    #[test]
    fn pending_is_set_by_the_first_disagreeing_result_and_cleared_by_the_change() {
        let mut t = Tracker::new(2, 2);
        t.record(true);
        assert!(t.pending());
        t.record(true);
        assert!(t.is_up() && !t.pending());
        t.record(true);
        assert!(!t.pending());
        t.record(false);
        assert!(t.pending());
        t.record(true);
        assert!(!t.pending(), "an agreeing result ends the pending change");
        t.record(false);
        t.record(false);
        assert!(!t.is_up() && !t.pending());
    }

    #[test]
    fn zero_rise_or_fall_behaves_as_one() {
        assert_eq!(
            transitions(0, 0, "+-"),
            [(0, Transition::Up), (1, Transition::Down)]
        );
    }

    #[test]
    fn transitions_alternate_and_match_the_state() {
        // Every sequence of up to 10 results, every rise/fall up to 3.
        for rise in 1..=3 {
            for fall in 1..=3 {
                for bits in 0u32..1 << 10 {
                    let mut t = Tracker::new(rise, fall);
                    let mut up = false;
                    let mut run = 0;
                    for i in 0..10 {
                        let ok = bits & (1 << i) != 0;
                        // A reference model: count the run of `ok` values.
                        run = if ok == up { 0 } else { run + 1 };
                        let needed = if up { fall } else { rise };
                        let expected = (run == needed).then(|| {
                            up = ok;
                            run = 0;
                            if ok { Transition::Up } else { Transition::Down }
                        });
                        assert_eq!(
                            t.record(ok),
                            expected,
                            "rise {rise} fall {fall} bits {bits:b}"
                        );
                        assert_eq!(t.is_up(), up);
                        assert_eq!(t.pending(), run > 0);
                    }
                }
            }
        }
    }
}
