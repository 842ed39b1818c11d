//! Scenario tests: the session state machine on a virtual clock, then the
//! engine thread with real sockets on loopback.

use std::time::{Duration, Instant};

use super::BfdState;
use super::packet::{ControlPacket, Diag, State};
use super::session::{Input, Output, Session, SessionConfig};

const OURS: u32 = 0x0000_1111;
const THEIRS: u32 = 0x0000_2222;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(discriminator: u32, seed: u64) -> SessionConfig {
    SessionConfig {
        local_discriminator: discriminator,
        desired_min_tx: ms(50),
        required_min_rx: ms(50),
        detect_mult: 3,
        jitter_seed: seed,
    }
}

fn transmitted(out: &[Output]) -> Vec<ControlPacket> {
    out.iter()
        .filter_map(|o| match o {
            Output::Transmit(p) => Some(p.clone()),
            Output::StateChange { .. } => None,
        })
        .collect()
}

fn changes(out: &[Output]) -> Vec<BfdState> {
    out.iter()
        .filter_map(|o| match o {
            Output::StateChange { to, .. } => Some(*to),
            Output::Transmit(_) => None,
        })
        .collect()
}

/// What the peer sends: its discriminator, `state`, echoing `your`, at the
/// slow rate until `fast` (as RFC 5880 6.8.3 has it while not Up).
fn from_peer(state: State, your: u32, fast: bool) -> ControlPacket {
    ControlPacket {
        diag: Diag::NoDiagnostic,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        my_discriminator: THEIRS,
        your_discriminator: your,
        desired_min_tx_us: if fast { 50_000 } else { 1_000_000 },
        required_min_rx_us: 50_000,
        required_min_echo_rx_us: 0,
        auth: None,
    }
}

/// A session at `t0` that has sent its first packet.
fn started(t0: Instant) -> Session {
    let mut s = Session::new(config(OURS, 1), t0);
    let first = transmitted(&s.handle_timeout(t0));
    assert_eq!(first.len(), 1, "the first packet goes out at once");
    s
}

/// Runs the session's timers up to `until`; the packets it sent, and when.
fn run(s: &mut Session, until: Instant) -> Vec<(Instant, ControlPacket)> {
    let mut sent = Vec::new();
    while let Some(at) = s.poll_timeout().filter(|t| *t <= until) {
        sent.extend(
            transmitted(&s.handle_timeout(at))
                .into_iter()
                .map(|p| (at, p)),
        );
    }
    sent
}

/// A session that a scripted peer brought Up before `t0`: our Poll for the
/// fast timers is answered, and at `t0` the peer polls to its own fast rate.
fn up(t0: Instant) -> Session {
    let start = t0 - ms(500);
    let mut s = started(start);
    s.handle(
        start + ms(10),
        Input::Received(from_peer(State::Down, 0, false)),
    );
    run(&mut s, start + ms(60));
    s.handle(
        start + ms(60),
        Input::Received(from_peer(State::Up, OURS, false)),
    );
    let sent = run(&mut s, start + ms(110));
    assert!(sent.iter().any(|(_, p)| p.state == State::Up && p.poll));
    let answer = ControlPacket {
        final_: true,
        ..from_peer(State::Up, OURS, false)
    };
    s.handle(start + ms(110), Input::Received(answer));
    run(&mut s, t0);
    let poll = ControlPacket {
        poll: true,
        ..from_peer(State::Up, OURS, true)
    };
    s.handle(t0, Input::Received(poll));
    assert_eq!(s.state(), BfdState::Up);
    assert!(!s.polling());
    assert_eq!(s.transmit_interval(), ms(50));
    assert_eq!(s.detection_time(), Some(ms(150)));
    s
}

// ---------------------------------------------------------------------------
// The three-way handshake (RFC 5880 6.2)

#[test]
fn three_way_handshake_down_init_up() {
    let t0 = Instant::now();
    let mut s = Session::new(config(OURS, 1), t0);
    assert_eq!(s.poll_timeout(), Some(t0));
    let first = transmitted(&s.handle_timeout(t0));
    assert_eq!(first[0].state, State::Down);
    assert_eq!(first[0].your_discriminator, 0);
    assert_eq!(first[0].my_discriminator, OURS);
    // RFC 5880 6.8.3: one second while not Up.
    assert_eq!(first[0].desired_min_tx_us, 1_000_000);
    assert_eq!(first[0].required_min_rx_us, 50_000);

    // The peer says Down: we go to Init and tell it at once, echoing its
    // discriminator.
    let out = s.handle(
        t0 + ms(300),
        Input::Received(from_peer(State::Down, 0, false)),
    );
    assert_eq!(changes(&out), [BfdState::Init]);
    let init = transmitted(&out);
    assert_eq!(init.len(), 1);
    assert_eq!(init[0].state, State::Init);
    assert_eq!(init[0].your_discriminator, THEIRS);
    assert!(!init[0].poll);

    // The peer says Up: we are Up, and poll to move to the fast timers. We
    // just sent Init and the peer wants 50 ms between packets: the news goes
    // out within 50 ms of the Init (sooner if the jittered fast interval
    // comes first).
    let out = s.handle(
        t0 + ms(310),
        Input::Received(from_peer(State::Up, OURS, false)),
    );
    assert_eq!(changes(&out), [BfdState::Up]);
    assert_eq!(transmitted(&out), []);
    let at = s.poll_timeout().expect("a packet is due");
    assert!(at > t0 + ms(310) && at <= t0 + ms(350), "{:?}", at - t0);
    let up = transmitted(&s.handle_timeout(at));
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].state, State::Up);
    assert!(up[0].poll, "the switch to the fast rate is a Poll Sequence");
    assert_eq!(up[0].desired_min_tx_us, 50_000);
    assert_eq!(up[0].diag, Diag::NoDiagnostic);
}

#[test]
fn a_down_session_goes_straight_up_when_the_peer_is_in_init() {
    let t0 = Instant::now();
    let mut s = started(t0);
    let out = s.handle(t0, Input::Received(from_peer(State::Init, OURS, false)));
    assert_eq!(changes(&out), [BfdState::Up]);
}

#[test]
fn a_down_session_ignores_a_peer_that_claims_up() {
    let t0 = Instant::now();
    let mut s = started(t0);
    let out = s.handle(t0, Input::Received(from_peer(State::Up, OURS, false)));
    assert_eq!(changes(&out), []);
    assert_eq!(
        s.state(),
        BfdState::Down {
            diag: Diag::NoDiagnostic
        }
    );
}

/// Two sessions back to back on a virtual clock, packets delivered at once.
struct Pair {
    a: Session,
    b: Session,
    now: Instant,
    sent: [u64; 2],
    history: [Vec<BfdState>; 2],
}

impl Pair {
    fn new(t0: Instant) -> Pair {
        Pair {
            a: Session::new(config(OURS, 7), t0),
            b: Session::new(config(THEIRS, 8), t0 + ms(400)),
            now: t0,
            sent: [0, 0],
            history: [Vec::new(), Vec::new()],
        }
    }

    fn run_until(&mut self, end: Instant) {
        while let Some(next) = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .filter(|t| *t <= end)
        {
            self.now = next;
            let mut queue: Vec<(usize, Vec<Output>)> = vec![
                (0, self.a.handle_timeout(next)),
                (1, self.b.handle_timeout(next)),
            ];
            while let Some((from, out)) = queue.pop() {
                self.history[from].extend(changes(&out));
                for packet in transmitted(&out) {
                    self.sent[from] += 1;
                    let to = if from == 0 { &mut self.b } else { &mut self.a };
                    queue.push((1 - from, to.handle(next, Input::Received(packet))));
                }
            }
        }
        self.now = end;
    }
}

#[test]
fn two_sessions_back_to_back_come_up_and_stay_up_for_a_minute() {
    let t0 = Instant::now();
    let mut pair = Pair::new(t0);
    pair.run_until(t0 + Duration::from_secs(2));
    assert_eq!(pair.a.state(), BfdState::Up, "{:?}", pair.history);
    assert_eq!(pair.b.state(), BfdState::Up, "{:?}", pair.history);
    let before = pair.sent;
    pair.run_until(t0 + Duration::from_secs(62));
    for (i, s) in [&pair.a, &pair.b].into_iter().enumerate() {
        assert_eq!(pair.history[i].last(), Some(&BfdState::Up));
        assert!(
            !pair.history[i]
                .iter()
                .any(|st| matches!(st, BfdState::Down { .. })),
            "{:?}",
            pair.history
        );
        assert!(!s.polling());
        assert_eq!(s.transmit_interval(), ms(50));
        assert_eq!(s.detection_time(), Some(ms(150)));
        // 60 s at 50 ms less 0-25 % jitter: 1200 to 1600 packets.
        let sent = pair.sent[i] - before[i];
        assert!((1200..=1600).contains(&sent), "side {i} sent {sent}");
    }
}

// ---------------------------------------------------------------------------
// Going down (RFC 5880 6.8.4, 6.8.6)

#[test]
fn detection_time_expiry_takes_the_session_down_with_diag_1() {
    let t0 = Instant::now();
    let mut s = up(t0);
    // Packets every 50 ms keep it up.
    for i in 1..=10 {
        let at = t0 + ms(50 * i);
        s.handle_timeout(at);
        s.handle(at, Input::Received(from_peer(State::Up, OURS, true)));
    }
    let last = t0 + ms(500);
    assert_eq!(s.poll_timeout().map(|t| t <= last + ms(150)), Some(true));
    // Silence: just before the detection time nothing happens...
    let out = s.handle_timeout(last + ms(149));
    assert_eq!(changes(&out), []);
    assert_eq!(s.state(), BfdState::Up);
    // ... and at it the session is Down: 3 x 50 ms.
    let out = s.handle_timeout(last + ms(150));
    assert_eq!(
        changes(&out),
        [BfdState::Down {
            diag: Diag::ControlDetectionTimeExpired
        }]
    );
    let down = transmitted(&out);
    assert_eq!(down[0].state, State::Down);
    assert_eq!(down[0].diag, Diag::ControlDetectionTimeExpired);
    // RFC 5880 6.8.1: the peer's discriminator is forgotten, and 6.8.3: slow again.
    assert_eq!(down[0].your_discriminator, 0);
    assert_eq!(down[0].desired_min_tx_us, 1_000_000);
    assert!(!down[0].poll);
}

#[test]
fn a_peer_signalling_admin_down_takes_the_session_down_with_diag_3() {
    let t0 = Instant::now();
    let mut s = up(t0);
    let admin_down = ControlPacket {
        diag: Diag::AdministrativelyDown,
        ..from_peer(State::AdminDown, OURS, false)
    };
    let out = s.handle(t0 + ms(10), Input::Received(admin_down.clone()));
    assert_eq!(
        changes(&out),
        [BfdState::Down {
            diag: Diag::NeighborSignaledSessionDown
        }]
    );
    // Told within the peer's Required Min RX, not at the slow rate.
    let (at, told) = run(&mut s, t0 + ms(60)).remove(0);
    assert!(at <= t0 + ms(50), "told {:?} late", at - t0);
    assert_eq!(told.state, State::Down);
    assert_eq!(told.diag, Diag::NeighborSignaledSessionDown);
    // More AdminDown packets change nothing: Down stays Down.
    let out = s.handle(t0 + ms(70), Input::Received(admin_down));
    assert_eq!(changes(&out), []);
}

#[test]
fn a_peer_that_goes_down_while_up_gives_diag_3() {
    let t0 = Instant::now();
    let mut s = up(t0);
    let out = s.handle(
        t0 + ms(10),
        Input::Received(from_peer(State::Down, 0, false)),
    );
    assert_eq!(
        changes(&out),
        [BfdState::Down {
            diag: Diag::NeighborSignaledSessionDown
        }]
    );
}

#[test]
fn silence_while_down_forgets_the_peer() {
    let t0 = Instant::now();
    let mut s = started(t0);
    s.handle(t0, Input::Received(from_peer(State::Down, 0, false)));
    assert_eq!(s.state(), BfdState::Init);
    // Init with a slow peer: 3 x 1 s.
    assert_eq!(s.detection_time(), Some(Duration::from_secs(3)));
    let out = s.handle_timeout(t0 + Duration::from_secs(3));
    assert_eq!(
        changes(&out),
        [BfdState::Down {
            diag: Diag::ControlDetectionTimeExpired
        }]
    );
    assert_eq!(s.remote_discriminator(), 0);
    assert_eq!(s.detection_time(), None);
}

// ---------------------------------------------------------------------------
// Timers (RFC 5880 6.5, 6.8.3, 6.8.7)

#[test]
fn packets_go_out_about_once_a_second_while_down() {
    let t0 = Instant::now();
    let mut s = Session::new(config(OURS, 3), t0);
    let mut times = Vec::new();
    while let Some(at) = s
        .poll_timeout()
        .filter(|t| *t < t0 + Duration::from_secs(30))
    {
        for packet in transmitted(&s.handle_timeout(at)) {
            assert_eq!(packet.desired_min_tx_us, 1_000_000);
            times.push(at);
        }
    }
    assert!(times.len() >= 30, "{} packets in 30 s", times.len());
    for gap in times.windows(2).map(|w| w[1] - w[0]) {
        // 1 s less 0-25 % jitter.
        assert!(gap >= ms(750) && gap < ms(1000), "gap {gap:?}");
    }
}

#[test]
fn jitter_stays_within_75_to_90_percent_with_detect_mult_1() {
    let t0 = Instant::now();
    let cfg = SessionConfig {
        detect_mult: 1,
        ..config(OURS, 11)
    };
    let mut s = Session::new(cfg, t0);
    let mut last = None;
    let mut gaps = Vec::new();
    while let Some(at) = s
        .poll_timeout()
        .filter(|t| *t < t0 + Duration::from_secs(200))
    {
        if !transmitted(&s.handle_timeout(at)).is_empty() {
            if let Some(previous) = last {
                gaps.push(at - previous);
            }
            last = Some(at);
        }
    }
    assert!(gaps.len() > 150);
    for gap in gaps {
        assert!(gap >= ms(750) && gap <= ms(900), "gap {gap:?}");
    }
}

#[test]
fn a_slower_interval_waits_for_the_final_of_its_poll_sequence() {
    let t0 = Instant::now();
    let mut s = up(t0);
    s.handle(
        t0,
        Input::SetTimers {
            desired_min_tx: ms(300),
            required_min_rx: ms(300),
        },
    );
    assert!(s.polling());
    // RFC 5880 6.8.3: the actual interval stays 50 ms until the Final.
    assert_eq!(s.transmit_interval(), ms(50));
    let at = s.poll_timeout().expect("a packet is due");
    assert!(at <= t0 + ms(50));
    let polls = transmitted(&s.handle_timeout(at));
    assert!(polls[0].poll);
    assert_eq!(polls[0].desired_min_tx_us, 300_000);
    assert_eq!(polls[0].required_min_rx_us, 300_000);
    // A larger Required Min RX lengthens our detection time at once.
    assert_eq!(s.detection_time(), Some(ms(900)));

    let final_ = ControlPacket {
        final_: true,
        ..from_peer(State::Up, OURS, true)
    };
    s.handle(at, Input::Received(final_));
    assert!(!s.polling());
    assert_eq!(s.transmit_interval(), ms(300));
    let next = transmitted(&s.handle_timeout(s.poll_timeout().expect("due")));
    assert!(!next[0].poll, "the Poll Sequence is over");
}

#[test]
fn a_smaller_rx_interval_counts_for_detection_only_after_the_final() {
    let t0 = Instant::now();
    let mut s = up(t0);
    // The peer may send every 10 ms now.
    let fast_peer = ControlPacket {
        desired_min_tx_us: 10_000,
        ..from_peer(State::Up, OURS, true)
    };
    s.handle(t0, Input::Received(fast_peer.clone()));
    assert_eq!(s.detection_time(), Some(ms(150)));
    s.handle(
        t0,
        Input::SetTimers {
            desired_min_tx: ms(50),
            required_min_rx: ms(20),
        },
    );
    assert!(s.polling());
    // RFC 5880 6.8.3: the previous Required Min RX until the Poll ends.
    assert_eq!(s.detection_time(), Some(ms(150)));
    s.handle(
        t0 + ms(5),
        Input::Received(ControlPacket {
            final_: true,
            ..fast_peer
        }),
    );
    assert_eq!(s.detection_time(), Some(ms(60)));
}

#[test]
fn a_poll_from_the_peer_is_answered_at_once_with_final() {
    let t0 = Instant::now();
    let mut s = up(t0);
    let poll = ControlPacket {
        poll: true,
        ..from_peer(State::Up, OURS, true)
    };
    let out = s.handle(t0 + ms(1), Input::Received(poll));
    let answer = transmitted(&out);
    assert_eq!(answer.len(), 1);
    assert!(answer[0].final_);
    assert!(!answer[0].poll);
}

#[test]
fn no_periodic_packets_when_the_peer_asks_for_none() {
    let t0 = Instant::now();
    let mut s = up(t0);
    let quiet = ControlPacket {
        required_min_rx_us: 0,
        ..from_peer(State::Up, OURS, true)
    };
    s.handle(t0, Input::Received(quiet));
    // Only the detection timer is left.
    assert_eq!(s.poll_timeout(), Some(t0 + ms(150)));
}

#[test]
fn a_peer_in_demand_mode_stops_our_periodic_packets() {
    let t0 = Instant::now();
    let mut s = up(t0);
    let demand = ControlPacket {
        demand: true,
        ..from_peer(State::Up, OURS, true)
    };
    s.handle(t0, Input::Received(demand));
    assert_eq!(s.poll_timeout(), Some(t0 + ms(150)));
}

// ---------------------------------------------------------------------------
// Administrative control (RFC 5880 6.8.16)

#[test]
fn admin_down_sends_diag_7_and_ignores_the_peer() {
    let t0 = Instant::now();
    let mut s = up(t0);
    let out = s.handle(t0 + ms(1), Input::AdminDown(Diag::AdministrativelyDown));
    assert_eq!(changes(&out), [BfdState::AdminDown]);
    let sent: Vec<ControlPacket> = run(&mut s, t0 + ms(60))
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(sent.len(), 1, "one AdminDown, then the slow rate");
    assert_eq!(sent[0].state, State::AdminDown);
    assert_eq!(sent[0].diag, Diag::AdministrativelyDown);
    // Not Up: the slow rate, and no detection any more.
    assert_eq!(sent[0].desired_min_tx_us, 1_000_000);
    let out = s.handle(
        t0 + ms(70),
        Input::Received(from_peer(State::Up, OURS, true)),
    );
    assert_eq!(out, []);
    let out = s.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(changes(&out), []);
    assert_eq!(transmitted(&out)[0].state, State::AdminDown);

    let out = s.handle(t0 + Duration::from_secs(6), Input::AdminUp);
    assert_eq!(
        changes(&out),
        [BfdState::Down {
            diag: Diag::AdministrativelyDown
        }]
    );
}

// ---------------------------------------------------------------------------
// The engine: real sockets on loopback, its own thread.

mod engine {
    use std::net::{IpAddr, UdpSocket};
    use std::time::{Duration, Instant};

    use tokio::sync::watch;

    use crate::bfd::engine::{EngineHandle, Started};
    use crate::bfd::{BfdState, Diag};
    use crate::config::BfdConfig;

    const A: &str = "127.0.0.1";
    const B: &str = "127.0.0.2";

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    fn cfg() -> BfdConfig {
        BfdConfig {
            min_interval: Duration::from_millis(20),
            multiplier: 3,
        }
    }

    /// An engine on a port that is free on both loopback addresses, with a
    /// session each way.
    fn two_sessions() -> (
        EngineHandle,
        [Started; 2],
        [watch::Sender<Option<String>>; 2],
    ) {
        for _ in 0..20 {
            let port = UdpSocket::bind((ip(A), 0))
                .and_then(|s| s.local_addr())
                .map(|a| a.port())
                .expect("a free port");
            let engine = EngineHandle::start(port, true).expect("engine thread");
            let (stop_a, rx_a) = watch::channel(None);
            let (stop_b, rx_b) = watch::channel(None);
            let (Ok(a), Ok(b)) = (
                engine.start_session(ip(A), ip(B), cfg(), rx_a),
                engine.start_session(ip(B), ip(A), cfg(), rx_b),
            ) else {
                continue; // the port was taken in between; try another
            };
            return (engine, [a, b], [stop_a, stop_b]);
        }
        panic!("no free UDP port on 127.0.0.1 and 127.0.0.2");
    }

    /// Waits (in real time, bounded) for `state` to satisfy `want`.
    fn wait_for(
        state: &watch::Receiver<BfdState>,
        want: impl Fn(BfdState) -> bool,
    ) -> Result<Duration, BfdState> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            let now = *state.borrow();
            if want(now) {
                return Ok(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Err(*state.borrow())
    }

    #[test]
    fn two_sessions_on_loopback_come_up_and_shut_down_with_admin_down() {
        let (_engine, [a, b], [stop_a, _stop_b]) = two_sessions();
        for s in [&a, &b] {
            let took = wait_for(&s.state, BfdState::is_up).expect("Up");
            println!("Up after {took:?}");
        }
        assert_ne!(a.local_discriminator, b.local_discriminator);
        assert_eq!(a.counters.snapshot().admin_down_sent, 0);
        stop_a.send_replace(Some("test over".into()));
        wait_for(&a.state, |s| s == BfdState::AdminDown).expect("a AdminDown");
        wait_for(&b.state, |s| {
            s == BfdState::Down {
                diag: Diag::NeighborSignaledSessionDown,
            }
        })
        .expect("b Down, neighbor signalled");
        // What vipd's shutdown waits for before it exits.
        assert!(a.counters.snapshot().admin_down_sent >= 1);
        let counters = b.counters.snapshot();
        assert!(counters.sent > 0 && counters.received > 0, "{counters:?}");
        assert_eq!(counters.dropped, 0);
        assert_eq!(counters.went_down, 1);
    }

    #[test]
    fn a_blocked_caller_runtime_does_not_hold_back_the_engine() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let (_engine, [a, b], _stops) = two_sessions();
            for s in [&a, &b] {
                wait_for(&s.state, BfdState::is_up).expect("Up");
            }
            let before = a.counters.snapshot().sent;
            // The caller's only runtime thread is stuck for 20 intervals...
            std::thread::sleep(Duration::from_millis(400));
            // ... yet packets went out all along, and nothing timed out.
            let sent = a.counters.snapshot().sent - before;
            assert!(sent >= 10, "only {sent} packets in 400 ms");
            assert_eq!(*a.state.borrow(), BfdState::Up);
            assert_eq!(*b.state.borrow(), BfdState::Up);
        });
    }

    #[test]
    fn a_second_session_for_the_same_pair_is_refused() {
        let (engine, _sessions, _stops) = two_sessions();
        let (_stop, rx) = watch::channel(None);
        let again = engine.start_session(ip(A), ip(B), cfg(), rx);
        assert_eq!(
            again.map(|_| ()).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::AlreadyExists)
        );
    }

    #[test]
    fn addresses_a_single_hop_session_cannot_use_are_refused() {
        let engine = EngineHandle::start(0, true).expect("engine thread");
        for (local, peer) in [
            ("127.0.0.1", "::1"),
            ("0.0.0.0", "127.0.0.1"),
            ("fe80::1", "fe80::2"),
            ("127.0.0.1", "224.0.0.1"),
        ] {
            let (_stop, rx) = watch::channel(None);
            let result = engine.start_session(ip(local), ip(peer), cfg(), rx);
            assert_eq!(
                result.map(|_| ()).map_err(|e| e.kind()),
                Err(std::io::ErrorKind::InvalidInput),
                "{local} -> {peer}"
            );
        }
    }
}
