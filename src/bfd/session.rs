//! One BFD session's state machine (RFC 5880 section 6.8), sans-IO.
//!
//! The driver feeds a [`Session`] the packets the demultiplexer accepted for
//! it and the current time, sends the packets it returns, and sleeps until
//! [`Session::poll_timeout`]. Nothing here touches a socket or a clock, so the
//! detection time, the jitter and the Poll Sequence are tested on a virtual
//! clock.
//!
//! Asynchronous mode only: vipd never asks for Demand mode, never sends Echo
//! packets and configures no authentication; it honours a peer's Demand mode
//! as RFC 5880 6.8.7 requires of every system.

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::BfdState;
use super::packet::{ControlPacket, Diag, State, from_micros, to_micros};
use super::timers::{Timer, Timers};

/// RFC 5880 6.8.3: while the session is not Up, bfd.DesiredMinTxInterval is
/// at least one second.
pub const SLOW_TX_INTERVAL: Duration = Duration::from_secs(1);

/// RFC 5880 6.8.1: bfd.RemoteMinRxInterval "MUST be initialized to 1" (µs).
const INITIAL_REMOTE_MIN_RX: Duration = Duration::from_micros(1);

/// What the session needs to know; the timers are RFC 5880 6.8.1's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// bfd.LocalDiscr: nonzero and unique on this system (the demux hands it out).
    pub local_discriminator: u32,
    /// bfd.DesiredMinTxInterval once Up.
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval.
    pub required_min_rx: Duration,
    /// bfd.DetectMult, nonzero.
    pub detect_mult: u8,
    /// Seeds the transmit jitter, so tests are repeatable.
    pub jitter_seed: u64,
}

/// Events from outside the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A Control packet that passed RFC 5880 6.8.6 items 1 to 11 and was
    /// demultiplexed to this session.
    Received(ControlPacket),
    /// RFC 5880 6.8.16: take the session administratively down, giving `Diag`.
    AdminDown(Diag),
    /// RFC 5880 6.8.16: enable the session again (to Down).
    AdminUp,
    /// New timers from the configuration (RFC 5880 6.8.3).
    SetTimers {
        desired_min_tx: Duration,
        required_min_rx: Duration,
    },
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this packet to the peer now.
    Transmit(ControlPacket),
    /// The session changed state; publish it.
    StateChange { from: BfdState, to: BfdState },
}

/// One BFD session: RFC 5880 6.8.1's state variables, the Poll Sequence
/// (6.5) and the two timers.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    // RFC 5880 6.8.1 state variables, named as there.
    session_state: State,
    remote_session_state: State,
    remote_discr: u32,
    local_diag: Diag,
    /// bfd.DesiredMinTxInterval as advertised now.
    desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval as advertised now.
    required_min_rx: Duration,
    remote_min_rx: Duration,
    remote_demand_mode: bool,
    // From the last packet received: the Detection Time inputs (6.8.4).
    remote_desired_min_tx: Duration,
    remote_detect_mult: u8,
    /// A Poll Sequence is under way: P is set until a packet with F arrives.
    polling: bool,
    /// RFC 5880 6.8.3: the TX interval and RX interval actually used, which
    /// lag the advertised ones while a Poll Sequence confirms an increase of
    /// the first or a decrease of the second.
    tx_in_effect: Duration,
    rx_in_effect: Duration,
    last_tx: Option<Instant>,
    /// Fraction of the transmit interval drawn for the next periodic packet.
    jitter: f64,
    /// A state change the peer has not been told yet.
    announce: bool,
    /// When the last packet that counts for the Detection Time arrived.
    last_rx: Option<Instant>,
    timers: Timers,
    rng: SmallRng,
}

impl Session {
    /// A session in Down state whose first packet is due at `now`.
    pub fn new(cfg: SessionConfig, now: Instant) -> Session {
        let slow = cfg.desired_min_tx.max(SLOW_TX_INTERVAL);
        let mut session = Session {
            session_state: State::Down,
            remote_session_state: State::Down,
            remote_discr: 0,
            local_diag: Diag::NoDiagnostic,
            desired_min_tx: slow,
            required_min_rx: cfg.required_min_rx,
            remote_min_rx: INITIAL_REMOTE_MIN_RX,
            remote_demand_mode: false,
            remote_desired_min_tx: Duration::ZERO,
            remote_detect_mult: 0,
            polling: false,
            tx_in_effect: slow,
            rx_in_effect: cfg.required_min_rx,
            last_tx: None,
            jitter: 1.0,
            announce: false,
            last_rx: None,
            timers: Timers::default(),
            rng: SmallRng::seed_from_u64(cfg.jitter_seed),
            cfg,
        };
        session.timers.set(Timer::Transmit, Some(now));
        session
    }

    /// The state as published to the rest of vipd.
    pub fn state(&self) -> BfdState {
        match self.session_state {
            State::AdminDown => BfdState::AdminDown,
            State::Down => BfdState::Down {
                diag: self.local_diag,
            },
            State::Init => BfdState::Init,
            State::Up => BfdState::Up,
        }
    }

    /// bfd.DetectMult.
    pub fn detect_mult(&self) -> u8 {
        self.cfg.detect_mult
    }

    pub fn local_discriminator(&self) -> u32 {
        self.cfg.local_discriminator
    }

    /// bfd.RemoteDiscr: zero until the peer is heard, and again after a
    /// Detection Time of silence.
    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }

    /// The interval between periodic packets before jitter (RFC 5880 6.8.7).
    pub fn transmit_interval(&self) -> Duration {
        self.tx_in_effect.max(self.remote_min_rx)
    }

    /// RFC 5880 6.8.4, Asynchronous mode: the peer's Detect Mult times the
    /// agreed interval of the peer's transmissions. `None` until heard from.
    pub fn detection_time(&self) -> Option<Duration> {
        (self.remote_detect_mult > 0).then(|| {
            self.rx_in_effect.max(self.remote_desired_min_tx) * u32::from(self.remote_detect_mult)
        })
    }

    /// A Poll Sequence is under way.
    pub fn polling(&self) -> bool {
        self.polling
    }

    /// When [`Session::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub fn handle(&mut self, now: Instant, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::Received(packet) => self.receive(now, packet, &mut out),
            Input::AdminDown(diag) => {
                // RFC 5880 6.8.16: "Set bfd.SessionState to AdminDown, set
                // bfd.LocalDiag to an appropriate value". Detection stops:
                // nothing the peer sends changes an AdminDown session.
                if self.session_state != State::AdminDown {
                    self.last_rx = None;
                    self.change_state(now, State::AdminDown, diag, &mut out);
                }
            }
            Input::AdminUp => {
                // RFC 5880 6.8.16: "If enabling session, set bfd.SessionState to Down".
                if self.session_state == State::AdminDown {
                    let diag = self.local_diag;
                    self.change_state(now, State::Down, diag, &mut out);
                }
            }
            Input::SetTimers {
                desired_min_tx,
                required_min_rx,
            } => {
                self.cfg.desired_min_tx = desired_min_tx;
                self.cfg.required_min_rx = required_min_rx;
                self.apply_timers();
            }
        }
        self.reschedule(now);
        out
    }

    /// Fires whichever timers are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        if self.timers.expired(Timer::Detect, now) {
            self.detection_time_expired(now, &mut out);
            // Going Down may have sent a packet just now.
            self.reschedule(now);
        }
        if self.timers.expired(Timer::Transmit, now) {
            let packet = self.packet(false);
            self.sent(now);
            out.push(Output::Transmit(packet));
        }
        self.reschedule(now);
        out
    }

    /// RFC 5880 6.8.6, from "Set bfd.RemoteDiscr" on: the packet has passed
    /// every discard rule before it.
    fn receive(&mut self, now: Instant, packet: ControlPacket, out: &mut Vec<Output>) {
        self.remote_discr = packet.my_discriminator;
        self.remote_session_state = packet.state;
        self.remote_demand_mode = packet.demand;
        self.remote_min_rx = from_micros(packet.required_min_rx_us);
        // Kept for the Detection Time (6.8.4), which also uses Detect Mult.
        self.remote_desired_min_tx = from_micros(packet.desired_min_tx_us);
        self.remote_detect_mult = packet.detect_mult;
        // "If the Required Min Echo RX Interval field is zero, the
        // transmission of Echo packets, if any, MUST cease": we send none.

        // "If a Poll Sequence is being transmitted by the local system and
        // the Final (F) bit in the received packet is set, the Poll Sequence
        // MUST be terminated."
        if self.polling && packet.final_ {
            self.polling = false;
            // 6.8.3: the new values take effect once the peer has them.
            self.tx_in_effect = self.desired_min_tx;
            self.rx_in_effect = self.required_min_rx;
        }
        // "Update the transmit interval" and "Update the Detection Time":
        // both are computed from the fields above in `reschedule`.

        // "If bfd.SessionState is AdminDown: Discard the packet."
        if self.session_state == State::AdminDown {
            return;
        }
        if packet.state == State::AdminDown {
            // "If received state is AdminDown: If bfd.SessionState is not
            // Down, set bfd.LocalDiag to 3 (Neighbor signaled session down),
            // set bfd.SessionState to Down."
            if self.session_state != State::Down {
                self.change_state(now, State::Down, Diag::NeighborSignaledSessionDown, out);
            }
        } else {
            match (self.session_state, packet.state) {
                // "If bfd.SessionState is Down: If received State is Down,
                // set bfd.SessionState to Init; Else if received State is
                // Init, set bfd.SessionState to Up."
                (State::Down, State::Down) => {
                    self.change_state(now, State::Init, self.local_diag, out)
                }
                (State::Down, State::Init) => {
                    self.change_state(now, State::Up, Diag::NoDiagnostic, out)
                }
                // "Else if bfd.SessionState is Init: If received State is
                // Init or Up, set bfd.SessionState to Up."
                (State::Init, State::Init | State::Up) => {
                    self.change_state(now, State::Up, Diag::NoDiagnostic, out)
                }
                // "Else (bfd.SessionState is Up): If received State is Down,
                // set bfd.LocalDiag to 3 (Neighbor signaled session down),
                // set bfd.SessionState to Down."
                (State::Up, State::Down) => {
                    self.change_state(now, State::Down, Diag::NeighborSignaledSessionDown, out)
                }
                _ => {}
            }
        }
        // "If the Poll (P) bit is set, send a BFD Control packet to the remote
        // system with the Poll (P) bit clear, and the Final (F) bit set"
        // (6.8.7: at once, whatever the transmit timer says).
        if packet.poll {
            out.push(Output::Transmit(self.packet(true)));
        }
        // "If the packet was not discarded, it has been received for purposes
        // of the Detection Time expiration rules in section 6.8.4."
        self.last_rx = Some(now);
    }

    /// RFC 5880 6.8.4: a Detection Time passed without a packet.
    fn detection_time_expired(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.last_rx = None;
        // 6.8.1: bfd.RemoteDiscr "MUST be set to zero" after a silent
        // Detection Time; 6.8.18: the peer's Required Min RX no longer binds
        // us, so bfd.RemoteMinRxInterval goes back to its initial value.
        self.remote_discr = 0;
        self.remote_min_rx = INITIAL_REMOTE_MIN_RX;
        self.remote_session_state = State::Down;
        self.remote_demand_mode = false;
        self.remote_detect_mult = 0;
        // "If bfd.SessionState is Init or Up, the session has gone down: set
        // bfd.SessionState to Down and bfd.LocalDiag to 1 (Control Detection
        // Time Expired)."
        if matches!(self.session_state, State::Init | State::Up) {
            self.change_state(now, State::Down, Diag::ControlDetectionTimeExpired, out);
        }
    }

    /// Moves to `to` with `diag`, adjusts the timers for the new state and
    /// tells the peer at once.
    fn change_state(&mut self, now: Instant, to: State, diag: Diag, out: &mut Vec<Output>) {
        let from = self.state();
        self.session_state = to;
        self.local_diag = diag;
        self.apply_timers();
        out.push(Output::StateChange {
            from,
            to: self.state(),
        });
        // Not waiting for the periodic timer: the peer acts on our state, and
        // at the slow rate it would wait up to a second (FRR's bfdd sends at
        // once on a state change too). Still never sooner after the previous
        // packet than the peer's Required Min RX allows: then it goes out as
        // soon as that has passed (see `reschedule`).
        self.announce = true;
        if self.announce_due(now).is_some_and(|at| at <= now) {
            out.push(Output::Transmit(self.packet(false)));
            self.sent(now);
        }
    }

    /// When a pending state change may be sent (`now` if nothing was sent yet).
    fn announce_due(&self, now: Instant) -> Option<Instant> {
        if !self.announce || self.remote_min_rx.is_zero() {
            return None;
        }
        Some(self.last_tx.map_or(now, |last| last + self.remote_min_rx))
    }

    /// RFC 5880 6.8.3: the slow rate while not Up, the configured timers once
    /// Up, and a Poll Sequence whenever the timers change while Up.
    fn apply_timers(&mut self) {
        let desired_min_tx = if self.session_state == State::Up {
            self.cfg.desired_min_tx
        } else {
            self.cfg.desired_min_tx.max(SLOW_TX_INTERVAL)
        };
        let required_min_rx = self.cfg.required_min_rx;
        if self.session_state != State::Up {
            // Nothing to confirm: the peer is not relying on our timers.
            self.polling = false;
            self.desired_min_tx = desired_min_tx;
            self.required_min_rx = required_min_rx;
            self.tx_in_effect = desired_min_tx;
            self.rx_in_effect = required_min_rx;
            return;
        }
        if (desired_min_tx, required_min_rx) == (self.desired_min_tx, self.required_min_rx) {
            return;
        }
        self.desired_min_tx = desired_min_tx;
        self.required_min_rx = required_min_rx;
        // "If bfd.DesiredMinTxInterval is increased and bfd.SessionState is
        // Up, the actual transmission interval used MUST NOT change until the
        // Poll Sequence described above has terminated." A decrease is safe
        // at once: the peer only sees packets sooner.
        self.tx_in_effect = self.tx_in_effect.min(desired_min_tx);
        // "If bfd.RequiredMinRxInterval is reduced and bfd.SessionState is
        // Up, the previous value of bfd.RequiredMinRxInterval MUST be used
        // when calculating the Detection Time for the remote system until
        // the Poll Sequence described above has terminated."
        self.rx_in_effect = self.rx_in_effect.max(required_min_rx);
        // "If either bfd.DesiredMinTxInterval or bfd.RequiredMinRxInterval is
        // changed, a Poll Sequence MUST be initiated (see section 6.5)."
        self.polling = true;
    }

    /// Records a transmission at `now` and draws the next jitter.
    fn sent(&mut self, now: Instant) {
        self.last_tx = Some(now);
        self.announce = false;
        // RFC 5880 6.8.7: "the interval MUST be reduced by a random value of
        // 0 to 25%"; with bfd.DetectMult 1, "no more than 90% of the
        // negotiated transmission interval, and MUST be no less than 75%".
        self.jitter = if self.cfg.detect_mult == 1 {
            self.rng.gen_range(0.75..=0.9)
        } else {
            self.rng.gen_range(0.75..1.0)
        };
    }

    /// RFC 5880 6.8.7: whether periodic transmission is allowed at all.
    fn periodic_transmission(&self) -> bool {
        // "MUST NOT periodically transmit BFD Control packets if
        // bfd.RemoteMinRxInterval is zero."
        if self.remote_min_rx.is_zero() {
            return false;
        }
        // "MUST NOT periodically transmit BFD Control packets if Demand mode
        // is active on the remote system (bfd.RemoteDemandMode is 1,
        // bfd.SessionState is Up, and bfd.RemoteSessionState is Up) and a
        // Poll Sequence is not being transmitted."
        let remote_demand = self.remote_demand_mode
            && self.session_state == State::Up
            && self.remote_session_state == State::Up;
        !remote_demand || self.polling
    }

    /// Recomputes both deadlines from the state variables.
    fn reschedule(&mut self, now: Instant) {
        let periodic = self.periodic_transmission().then(|| match self.last_tx {
            Some(last) => last + self.transmit_interval().mul_f64(self.jitter),
            None => now,
        });
        let transmit = match (periodic, self.announce_due(now)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.timers.set(Timer::Transmit, transmit);
        let detect = match (self.last_rx, self.detection_time()) {
            (Some(last), Some(time)) => Some(last + time),
            _ => None,
        };
        self.timers.set(Timer::Detect, detect);
    }

    /// RFC 5880 6.8.7: the contents of a Control packet we send now; `final_`
    /// answers a Poll.
    fn packet(&self, final_: bool) -> ControlPacket {
        ControlPacket {
            diag: self.local_diag,
            state: self.session_state,
            // "Poll (P): Set to 1 if the local system is sending a Poll
            // Sequence, or 0 if not"; a Final answer carries P clear.
            poll: self.polling && !final_,
            final_,
            // C clear: our BFD shares fate with vipd's control plane, which is
            // the point: a frozen vipd must look down.
            control_plane_independent: false,
            demand: false,
            multipoint: false,
            detect_mult: self.cfg.detect_mult,
            my_discriminator: self.cfg.local_discriminator,
            your_discriminator: self.remote_discr,
            desired_min_tx_us: to_micros(self.desired_min_tx),
            required_min_rx_us: to_micros(self.required_min_rx),
            // We do not receive Echo packets.
            required_min_echo_rx_us: 0,
            auth: None,
        }
    }
}
