//! Session FSM: states and events named after RFC 4271 section 8.

use std::collections::HashSet;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::timers::{Timer, Timers};
use crate::bgp::wire::{
    self, AS_TRANS, Afi, Capability, CeaseSubcode, DecodeOptions, ExtendedNextHopEntry, FsmSubcode,
    GrFamily, GracefulRestart, Message, Notification, Open, OpenSubcode, Rfc7606Action,
    RouteRefresh, Safi, Update,
};

/// RFC 4271 section 8.2.2: "a large value" for the HoldTimer while waiting for
/// the peer's OPEN; 4 minutes is the suggested value.
const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// Identifies one TCP connection; chosen by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Who opened a TCP connection: needed to resolve collisions (RFC 4271 6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We connected to the peer.
    Outbound,
    /// The peer connected to our listening socket.
    Inbound,
}

/// RFC 4271 section 8.2.2 states, as seen from outside the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        })
    }
}

/// What the session needs to know about the peer and ourselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    pub local_asn: u32,
    pub remote_asn: u32,
    pub router_id: Ipv4Addr,
    /// Proposed hold time in seconds: 0 or at least 3.
    pub hold_time: u16,
    /// Never connect; wait for the peer to connect to us.
    pub passive: bool,
    /// First connect-retry delay; doubles on each failure up to `connect_retry_max`.
    pub connect_retry: Duration,
    pub connect_retry_max: Duration,
    /// Advertise the Graceful Restart capability (RFC 4724) with this restart time.
    pub graceful_restart_time: Option<u16>,
    /// Seeds the jitter of the connect-retry backoff.
    pub jitter_seed: u64,
    /// RFC 4486: close the session when the peer sends more prefixes than
    /// this; `None` = no limit (prefixes are counted, never stored).
    pub max_prefixes: Option<u32>,
    /// How long to wait before reconnecting after the limit tripped.
    pub max_prefixes_restart: Duration,
}

/// What both sides agreed on when the session reached Established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub conn: ConnId,
    pub direction: Direction,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub peer_asn: u32,
    pub peer_id: Ipv4Addr,
    /// Negotiated hold time in seconds (RFC 4271 4.2: the smaller of both); 0 = none.
    pub hold_time: u16,
    /// RFC 6793: both sides sent the 4-octet AS capability.
    pub four_octet_as: bool,
    /// The peer accepts IPv4 unicast routes (RFC 4760; implied when it sent no
    /// Multiprotocol capability at all).
    pub ipv4_unicast: bool,
    pub ipv6_unicast: bool,
    /// RFC 8950: the peer accepts IPv4 unicast NLRI with an IPv6 next hop.
    pub extended_nexthop_ipv4: bool,
    /// RFC 2918: the peer may send ROUTE-REFRESH.
    pub route_refresh: bool,
    /// The peer advertised Graceful Restart (RFC 4724).
    pub peer_graceful_restart: bool,
}

impl Negotiated {
    /// Decoding options for messages after the OPEN exchange.
    pub fn decode_options(&self) -> DecodeOptions {
        DecodeOptions {
            four_octet_as: self.four_octet_as,
            extended_nexthop_ipv4: self.extended_nexthop_ipv4,
        }
    }
}

/// Inputs to the session, named after RFC 4271 section 8.1 events.
#[derive(Debug, Clone)]
pub enum Input {
    /// Event 1/4: ManualStart (passive when configured so).
    ManualStart,
    /// Event 2: ManualStop with a Cease subcode (RFC 4486): Administrative
    /// Shutdown on exit, Peer De-configured or Other Configuration Change on
    /// reload. For the two administrative subcodes the reason goes into the
    /// RFC 9003 shutdown communication.
    ManualStop { reason: String, cease: CeaseSubcode },
    /// Event 16: Tcp_CR_Acked, our outgoing connection is up.
    TcpConnected {
        conn: ConnId,
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// Event 17: TcpConnectionConfirmed, the peer connected to us.
    TcpAccepted {
        conn: ConnId,
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// Event 18: TcpConnectionFails for our pending outgoing connection.
    TcpConnectFailed { error: String },
    /// Event 18 for an open connection: the peer closed it, or it broke.
    TcpClosed { conn: ConnId, error: Option<String> },
    /// Bytes read from a connection (any fragment of the stream).
    Received { conn: ConnId, bytes: Bytes },
    /// Framed UPDATE messages to send on the Established connection.
    SendUpdates(Vec<Bytes>),
    /// RFC 9687: the peer accepted none of our data for the send hold time.
    SendHoldTimerExpired { conn: ConnId },
    /// BFD saw the forwarding path to the peer fail (RFC 5882, RFC 9384).
    BfdDown { diag: String },
}

/// Why a connection or session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// Event 10: HoldTimer_Expires; we sent NOTIFICATION 4/0.
    HoldTimerExpired,
    /// The peer sent us this NOTIFICATION.
    NotificationReceived(Notification),
    /// We found an error and sent this NOTIFICATION.
    NotificationSent(Notification),
    /// The TCP connection closed or broke.
    TcpClosed(Option<String>),
    /// ManualStop: we sent Cease/Administrative Shutdown.
    AdminStop(String),
    /// We lost a connection collision (RFC 4271 6.8) and closed this one.
    Collision,
    /// RFC 9687: the peer stopped reading what we send.
    SendHoldTimerExpired,
    /// BFD declared the path down; we sent Cease/BFD Down (RFC 9384).
    BfdDown(String),
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::HoldTimerExpired => f.write_str("hold timer expired"),
            DownReason::NotificationReceived(n) => write!(f, "received NOTIFICATION {n}"),
            DownReason::NotificationSent(n) => write!(f, "sent NOTIFICATION {n}"),
            DownReason::TcpClosed(None) => f.write_str("connection closed by peer"),
            DownReason::TcpClosed(Some(e)) => write!(f, "connection failed: {e}"),
            DownReason::AdminStop(r) => write!(f, "administrative shutdown: {r}"),
            DownReason::Collision => f.write_str("connection collision"),
            DownReason::BfdDown(diag) => write!(f, "BFD down: {diag}"),
            DownReason::SendHoldTimerExpired => {
                f.write_str("send hold timer expired: the peer stopped reading")
            }
        }
    }
}

/// Actions and events for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a TCP connection to the peer, then report TcpConnected or
    /// TcpConnectFailed.
    Connect,
    /// Abandon the pending outgoing connection attempt.
    AbortConnect,
    /// Write these bytes (whole messages) to the connection, in order.
    Send { conn: ConnId, bytes: Bytes },
    /// Flush what was queued for this connection, then close it.
    Close { conn: ConnId },
    /// The outgoing connection failed; the next attempt is in `retry_in`.
    ConnectFailed { error: String, retry_in: Duration },
    /// The reported session state changed.
    StateChanged { from: State, to: State },
    /// The session reached Established: send the whole desired route set.
    Established(Negotiated),
    /// A connection ended; `was_established` means the session went down.
    Closed {
        conn: ConnId,
        reason: DownReason,
        was_established: bool,
    },
    /// Two connections met; `closed` lost (RFC 4271 6.8).
    CollisionResolved {
        kept: ConnId,
        kept_direction: Direction,
        closed: ConnId,
    },
    /// An UPDATE arrived (counted, never stored: vipd imports nothing).
    UpdateReceived {
        announced: usize,
        withdrawn: usize,
        end_of_rib: Option<(Afi, Safi)>,
        /// RFC 7606 errors, already handled by discarding or treating as withdraw.
        errors: Vec<String>,
    },
    /// The peer asked for our routes again (RFC 2918).
    RouteRefreshRequested { afi: Afi, safi: Safi },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ConnState {
    OpenSent,
    OpenConfirm,
    Established,
}

impl From<ConnState> for State {
    fn from(s: ConnState) -> State {
        match s {
            ConnState::OpenSent => State::OpenSent,
            ConnState::OpenConfirm => State::OpenConfirm,
            ConnState::Established => State::Established,
        }
    }
}

#[derive(Debug)]
struct Conn {
    id: ConnId,
    direction: Direction,
    state: ConnState,
    local: SocketAddr,
    remote: SocketAddr,
    rx: BytesMut,
    timers: Timers,
    /// Set once the peer's OPEN was accepted on this connection.
    negotiated: Option<Negotiated>,
    keepalive_interval: Option<Duration>,
    hold: Option<Duration>,
}

/// Messages by type (RFC 4271 4.1 type codes 1..=5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    pub open: u64,
    pub update: u64,
    pub notification: u64,
    pub keepalive: u64,
    pub route_refresh: u64,
}

impl MessageCounts {
    fn count(&mut self, msg_type: u8) {
        match msg_type {
            1 => self.open += 1,
            2 => self.update += 1,
            3 => self.notification += 1,
            4 => self.keepalive += 1,
            5 => self.route_refresh += 1,
            _ => {}
        }
    }

    pub fn total(&self) -> u64 {
        self.open + self.update + self.notification + self.keepalive + self.route_refresh
    }
}

/// One configured peer's BGP session.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    admin_up: bool,
    conns: Vec<Conn>,
    /// An outgoing connection attempt is in flight.
    connecting: bool,
    timers: Timers,
    /// Consecutive failed attempts since the last Established.
    failures: u32,
    rng: SmallRng,
    reported: State,
    sent: MessageCounts,
    received: MessageCounts,
    /// Some session reached Established since this process started.
    ever_established: bool,
    /// With a prefix limit: what the peer announced in this session (at most
    /// limit + 1 entries). Without one this stays empty.
    received_prefixes: HashSet<IpNet>,
}

impl Session {
    pub fn new(cfg: SessionConfig) -> Self {
        let rng = SmallRng::seed_from_u64(cfg.jitter_seed);
        Session {
            cfg,
            admin_up: false,
            conns: Vec::new(),
            connecting: false,
            timers: Timers::default(),
            failures: 0,
            rng,
            reported: State::Idle,
            sent: MessageCounts::default(),
            received: MessageCounts::default(),
            ever_established: false,
            received_prefixes: HashSet::new(),
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    pub fn state(&self) -> State {
        self.reported
    }

    /// Messages sent and received, by type, since the session was created.
    pub fn message_counts(&self) -> (MessageCounts, MessageCounts) {
        (self.sent, self.received)
    }

    /// What was negotiated, while the session is Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.established().and_then(|c| c.negotiated.as_ref())
    }

    /// The earliest instant at which [`Session::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let conn_next = self.conns.iter().filter_map(|c| c.timers.next()).min();
        match (self.timers.next(), conn_next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Feed one input; returns what to do, in order.
    pub fn handle(&mut self, now: Instant, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::ManualStart => self.manual_start(now, &mut out),
            Input::ManualStop { reason, cease } => self.manual_stop(reason, cease, &mut out),
            Input::TcpConnected {
                conn,
                local,
                remote,
            } => self.tcp_up(now, conn, Direction::Outbound, local, remote, &mut out),
            Input::TcpAccepted {
                conn,
                local,
                remote,
            } => self.tcp_up(now, conn, Direction::Inbound, local, remote, &mut out),
            Input::TcpConnectFailed { error } => self.connect_failed(now, error, &mut out),
            Input::TcpClosed { conn, error } => {
                if self.find(conn).is_some() {
                    self.drop_conn(now, conn, DownReason::TcpClosed(error), None, &mut out);
                }
            }
            Input::Received { conn, bytes } => self.received(now, conn, &bytes, &mut out),
            Input::SendUpdates(messages) => self.send_updates(now, messages, &mut out),
            Input::BfdDown { diag } => {
                let ids: Vec<ConnId> = self.conns.iter().map(|c| c.id).collect();
                for id in ids {
                    let n = Notification::cease(CeaseSubcode::BfdDown);
                    let reason = DownReason::BfdDown(diag.clone());
                    self.drop_conn(now, id, reason, Some(n), &mut out);
                }
            }
            Input::SendHoldTimerExpired { conn } => {
                if self.find(conn).is_some() {
                    // RFC 9687 4: send NOTIFICATION 8 (it may never get
                    // through) and close the connection.
                    let n = Notification::send_hold_timer_expired();
                    let reason = DownReason::SendHoldTimerExpired;
                    self.drop_conn(now, conn, reason, Some(n), &mut out);
                }
            }
        }
        self.report_state(&mut out);
        self.count_sent(&out);
        out
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        // Per-connection timers first: a hold timer that expired must close its
        // connection before anything else is sent on it.
        let ids: Vec<ConnId> = self.conns.iter().map(|c| c.id).collect();
        for id in ids {
            let Some(i) = self.find(id) else { continue };
            if self.conns[i].timers.take_expired(Timer::Hold, now) {
                // RFC 4271 8.2.2, Event 10: send NOTIFICATION Hold Timer Expired.
                let n = Notification::hold_timer_expired();
                self.drop_conn(now, id, DownReason::HoldTimerExpired, Some(n), &mut out);
                continue;
            }
            if self.conns[i].timers.take_expired(Timer::Keepalive, now) {
                self.send_keepalive(now, i, &mut out);
            }
        }
        if self.timers.take_expired(Timer::ConnectRetry, now) {
            // Event 9: ConnectRetryTimer_Expires.
            if self.connecting {
                self.connecting = false;
                out.push(Output::AbortConnect);
            }
            if self.admin_up && !self.cfg.passive && self.conns.is_empty() {
                self.start_connect(now, &mut out);
            }
        }
        self.report_state(&mut out);
        self.count_sent(&out);
        out
    }

    fn count_sent(&mut self, out: &[Output]) {
        for o in out {
            if let Output::Send { bytes, .. } = o
                && let Some(t) = bytes.get(18)
            {
                self.sent.count(*t);
            }
        }
    }

    fn manual_start(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.admin_up {
            return;
        }
        self.admin_up = true;
        self.failures = 0;
        if !self.cfg.passive {
            self.start_connect(now, out);
        }
    }

    fn manual_stop(&mut self, reason: String, cease: CeaseSubcode, out: &mut Vec<Output>) {
        self.admin_up = false;
        self.timers = Timers::default();
        if self.connecting {
            self.connecting = false;
            out.push(Output::AbortConnect);
        }
        // RFC 4271 8.2.2 Event 2: send NOTIFICATION Cease, release resources.
        for conn in std::mem::take(&mut self.conns) {
            let n = match cease {
                CeaseSubcode::AdministrativeShutdown => Notification::cease_admin_shutdown(&reason),
                CeaseSubcode::AdministrativeReset => Notification::cease_admin_reset(&reason),
                other => Notification::cease(other),
            };
            push_send(
                out,
                conn.id,
                &Message::Notification(n),
                DecodeOptions::default(),
            );
            out.push(Output::Close { conn: conn.id });
            out.push(Output::Closed {
                conn: conn.id,
                reason: DownReason::AdminStop(reason.clone()),
                was_established: conn.state == ConnState::Established,
            });
        }
    }

    fn start_connect(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.connecting = true;
        out.push(Output::Connect);
        // RFC 4271 8.2.2 Connect state: the ConnectRetryTimer bounds the attempt.
        let wait = self.cfg.connect_retry.max(Duration::from_secs(1));
        self.timers.set(Timer::ConnectRetry, now + wait);
    }

    /// Exponential backoff with jitter (RFC 4271 10: jitter 0.75..1.0).
    fn backoff(&mut self) -> Duration {
        let base = self.cfg.connect_retry.max(Duration::from_millis(100));
        let max = self.cfg.connect_retry_max.max(base);
        let exp = self.failures.min(16);
        let raw = base.saturating_mul(1u32 << exp).min(max);
        self.failures = self.failures.saturating_add(1);
        raw.mul_f64(self.rng.gen_range(0.75..=1.0))
    }

    fn connect_failed(&mut self, now: Instant, error: String, out: &mut Vec<Output>) {
        if !self.connecting {
            return;
        }
        self.connecting = false;
        if !self.admin_up || !self.conns.is_empty() {
            return;
        }
        // RFC 4271 8.2.2 Connect, Event 18: restart the ConnectRetryTimer, go Active.
        let retry_in = self.backoff();
        self.timers.set(Timer::ConnectRetry, now + retry_in);
        out.push(Output::ConnectFailed { error, retry_in });
    }

    fn tcp_up(
        &mut self,
        now: Instant,
        id: ConnId,
        direction: Direction,
        local: SocketAddr,
        remote: SocketAddr,
        out: &mut Vec<Output>,
    ) {
        if direction == Direction::Outbound {
            self.connecting = false;
        }
        if !self.admin_up {
            // RFC 4486: Cease/Connection Rejected for a peer we do not talk to now.
            if direction == Direction::Inbound {
                let n = Notification::cease(CeaseSubcode::ConnectionRejected);
                push_send(out, id, &Message::Notification(n), DecodeOptions::default());
            }
            out.push(Output::Close { conn: id });
            return;
        }
        if self.established().is_some() {
            // RFC 4271 6.8: a new connection never replaces an Established one.
            if direction == Direction::Inbound {
                let n = Notification::cease(CeaseSubcode::ConnectionCollisionResolution);
                push_send(out, id, &Message::Notification(n), DecodeOptions::default());
            }
            out.push(Output::Close { conn: id });
            return;
        }
        // A second connection in the same direction replaces a stale first one
        // (a peer that reconnects after losing its side of the old connection).
        if let Some(old) = self
            .conns
            .iter()
            .find(|c| c.direction == direction)
            .map(|c| c.id)
        {
            self.remove_conn(old, DownReason::TcpClosed(Some("replaced".into())), out);
        }
        if !self.connecting {
            // The timer still bounds an outgoing attempt that is in flight.
            self.timers.stop(Timer::ConnectRetry);
        }
        let mut timers = Timers::default();
        timers.set(Timer::Hold, now + OPEN_HOLD_TIME);
        self.conns.push(Conn {
            id,
            direction,
            state: ConnState::OpenSent,
            local,
            remote,
            rx: BytesMut::new(),
            timers,
            negotiated: None,
            keepalive_interval: None,
            hold: None,
        });
        let open = self.our_open();
        push_send(out, id, &Message::Open(open), DecodeOptions::default());
    }

    fn our_open(&self) -> Open {
        let mut capabilities = vec![
            Capability::Multiprotocol {
                afi: Afi::Ipv4,
                safi: Safi::Unicast,
            },
            Capability::Multiprotocol {
                afi: Afi::Ipv6,
                safi: Safi::Unicast,
            },
            Capability::RouteRefresh,
            Capability::FourOctetAs(self.cfg.local_asn),
            // RFC 8950: we accept (and ignore) IPv4 routes with IPv6 next hops,
            // and may send them when the peer says the same.
            Capability::ExtendedNextHop(vec![ExtendedNextHopEntry {
                nlri_afi: Afi::Ipv4,
                nlri_safi: Safi::Unicast,
                nexthop_afi: Afi::Ipv6,
            }]),
        ];
        if let Some(time) = self.cfg.graceful_restart_time {
            // RFC 4724 3: the R bit says we restarted (true of the first
            // session after vipd starts); the F bit says forwarding survived
            // it, which is true: the service kept serving while vipd restarted.
            let family = |afi| GrFamily {
                afi,
                safi: Safi::Unicast,
                forwarding_state: true,
            };
            capabilities.push(Capability::GracefulRestart(GracefulRestart {
                restart_state: !self.ever_established,
                notification: false,
                restart_time: time.min(4095),
                families: vec![family(Afi::Ipv4), family(Afi::Ipv6)],
            }));
        }
        Open {
            version: 4,
            // RFC 6793 4.1: AS_TRANS in the 2-octet field when our AS does not fit.
            my_as: u16::try_from(self.cfg.local_asn).unwrap_or(AS_TRANS),
            hold_time: self.cfg.hold_time,
            bgp_id: self.cfg.router_id,
            capabilities,
            unknown_params: Vec::new(),
        }
    }

    fn received(&mut self, now: Instant, id: ConnId, bytes: &[u8], out: &mut Vec<Output>) {
        let Some(i) = self.find(id) else { return };
        self.conns[i].rx.extend_from_slice(bytes);
        loop {
            let Some(i) = self.find(id) else { return };
            let frame = match wire::split_frame(&mut self.conns[i].rx) {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(e) => {
                    let n = Notification::from(&e);
                    self.reject(now, id, n, out);
                    return;
                }
            };
            let opts = self.conns[i]
                .negotiated
                .as_ref()
                .map(Negotiated::decode_options)
                .unwrap_or_default();
            match wire::decode_message(&frame, opts) {
                Ok(msg) => {
                    if let Some(t) = frame.get(18) {
                        self.received.count(*t);
                    }
                    self.on_message(now, id, msg, out)
                }
                Err(e) => {
                    let n = Notification::from(&e);
                    self.reject(now, id, n, out);
                    return;
                }
            }
        }
    }

    fn on_message(&mut self, now: Instant, id: ConnId, msg: Message, out: &mut Vec<Output>) {
        let Some(i) = self.find(id) else { return };
        let state = self.conns[i].state;
        if let Message::Notification(n) = msg {
            // Event 24/25: NOTIFICATION received; no reply, just close.
            self.drop_conn(now, id, DownReason::NotificationReceived(n), None, out);
            return;
        }
        // RFC 4271 8.2.2: KEEPALIVE and UPDATE restart the HoldTimer (in
        // OpenConfirm and Established; in OpenSent an OPEN sets it anew).
        if let (true, Some(hold)) = (state != ConnState::OpenSent, self.conns[i].hold) {
            self.conns[i].timers.set(Timer::Hold, now + hold);
        }
        let msg_type = u8::from(msg.message_type());
        match (state, msg) {
            (ConnState::OpenSent, Message::Open(open)) => self.on_open(now, id, open, out),
            (ConnState::OpenConfirm, Message::Keepalive) => self.on_established(id, out),
            (ConnState::Established, Message::Keepalive) => {}
            (ConnState::Established, Message::Update(update)) => {
                self.on_update(now, id, &update, out)
            }
            // RFC 7313 5: a reserved subtype is ignored.
            (ConnState::Established, Message::RouteRefresh(rr)) if rr.subtype <= 2 => {
                on_route_refresh(&rr, out);
            }
            (ConnState::Established, Message::RouteRefresh(_)) => {}
            (state, _) => {
                // RFC 6608 4: Receive Unexpected Message in <state>, with the
                // type of the unexpected message as the data.
                let subcode = match state {
                    ConnState::OpenSent => FsmSubcode::UnexpectedMessageInOpenSent,
                    ConnState::OpenConfirm => FsmSubcode::UnexpectedMessageInOpenConfirm,
                    ConnState::Established => FsmSubcode::UnexpectedMessageInEstablished,
                };
                let n = Notification::new(
                    wire::ErrorCode::Fsm,
                    subcode,
                    Bytes::copy_from_slice(&[msg_type]),
                );
                self.reject(now, id, n, out);
            }
        }
    }

    /// RFC 4271 8.2.2 OpenSent, Event 19 (BGPOpen): check the OPEN, resolve
    /// collisions, negotiate, answer with KEEPALIVE and go to OpenConfirm.
    fn on_open(&mut self, now: Instant, id: ConnId, open: Open, out: &mut Vec<Output>) {
        if let Err(n) = self.check_open(&open) {
            self.reject(now, id, n, out);
            return;
        }
        // RFC 4271 6.8: another connection that already knows the peer's
        // Identifier (OpenConfirm) collides with this one.
        if let Some(other) = self
            .conns
            .iter()
            .find(|c| c.id != id && c.state >= ConnState::OpenConfirm)
            .map(|c| (c.id, c.direction))
        {
            let (other_id, other_dir) = other;
            let this_dir = match self.find(id) {
                Some(i) => self.conns[i].direction,
                None => return,
            };
            // The connection initiated by the side with the higher BGP
            // Identifier survives (compared as unsigned 32-bit integers).
            let we_win = u32::from(self.cfg.router_id) > u32::from(open.bgp_id);
            let keep_dir = if we_win {
                Direction::Outbound
            } else {
                Direction::Inbound
            };
            let (kept, closed) = if this_dir == keep_dir && other_dir != keep_dir {
                (id, other_id)
            } else {
                (other_id, id)
            };
            out.push(Output::CollisionResolved {
                kept,
                kept_direction: keep_dir,
                closed,
            });
            let n = Notification::cease(CeaseSubcode::ConnectionCollisionResolution);
            self.drop_conn(now, closed, DownReason::Collision, Some(n), out);
            if closed == id {
                return;
            }
        }
        let Some(i) = self.find(id) else { return };
        let conn = &mut self.conns[i];
        let hold_time = self.cfg.hold_time.min(open.hold_time);
        let peer_mp = open.multiprotocol();
        let has = |afi, safi| peer_mp.contains(&(afi, safi));
        let negotiated = Negotiated {
            conn: id,
            direction: conn.direction,
            local: conn.local,
            remote: conn.remote,
            peer_asn: open.asn(),
            peer_id: open.bgp_id,
            hold_time,
            four_octet_as: open.four_octet_as().is_some(),
            // RFC 4760 section 8: no Multiprotocol capability means IPv4 unicast.
            ipv4_unicast: peer_mp.is_empty() || has(Afi::Ipv4, Safi::Unicast),
            ipv6_unicast: has(Afi::Ipv6, Safi::Unicast),
            extended_nexthop_ipv4: open.capabilities.iter().any(|c| {
                matches!(c, Capability::ExtendedNextHop(entries) if entries.iter().any(|e| {
                    e.nlri_afi == Afi::Ipv4 && e.nlri_safi == Safi::Unicast && e.nexthop_afi == Afi::Ipv6
                }))
            }),
            route_refresh: open
                .capabilities
                .iter()
                .any(|c| matches!(c, Capability::RouteRefresh | Capability::EnhancedRouteRefresh)),
            peer_graceful_restart: open
                .capabilities
                .iter()
                .any(|c| matches!(c, Capability::GracefulRestart(_))),
        };
        conn.negotiated = Some(negotiated);
        conn.state = ConnState::OpenConfirm;
        if hold_time == 0 {
            // RFC 4271 4.4: a hold time of zero means no KEEPALIVEs at all.
            conn.hold = None;
            conn.keepalive_interval = None;
            conn.timers.stop(Timer::Hold);
        } else {
            let hold = Duration::from_secs(u64::from(hold_time));
            conn.hold = Some(hold);
            // RFC 4271 10: KeepaliveTime is one third of the HoldTime.
            conn.keepalive_interval = Some(hold / 3);
            conn.timers.set(Timer::Hold, now + hold);
        }
        self.send_keepalive(now, i, out);
    }

    fn check_open(&self, open: &Open) -> Result<(), Notification> {
        let open_error =
            |subcode: OpenSubcode| Notification::new(wire::ErrorCode::Open, subcode, Bytes::new());
        let peer_asn = open.asn();
        // RFC 7607: AS 0 is never acceptable; RFC 4271 6.2: Bad Peer AS.
        if peer_asn == 0 || peer_asn != self.cfg.remote_asn {
            return Err(open_error(OpenSubcode::BadPeerAs));
        }
        // RFC 4271 6.2 and RFC 6286: an iBGP peer may not share our Identifier.
        if open.bgp_id == Ipv4Addr::UNSPECIFIED
            || (peer_asn == self.cfg.local_asn && open.bgp_id == self.cfg.router_id)
        {
            return Err(open_error(OpenSubcode::BadBgpIdentifier));
        }
        // RFC 4271 6.2: a hold time of one or two seconds MUST be rejected.
        if open.hold_time == 1 || open.hold_time == 2 {
            return Err(open_error(OpenSubcode::UnacceptableHoldTime));
        }
        // RFC 4271 6.2: an optional parameter we do not know is refused
        // (capabilities, parameter 2, are the only kind we know).
        if !open.unknown_params.is_empty() {
            return Err(open_error(OpenSubcode::UnsupportedOptionalParameter));
        }
        Ok(())
    }

    /// Count (never store) what the peer sends; enforce the prefix limit.
    fn on_update(&mut self, now: Instant, id: ConnId, update: &Update, out: &mut Vec<Output>) {
        let ebgp = self.cfg.local_asn != self.cfg.remote_asn;
        let mut outcome = Rfc7606Action::None;
        let mut errors = Vec::new();
        for e in &update.errors {
            // RFC 7606 7.5: a malformed LOCAL_PREF from an external peer is
            // discarded (it carries no meaning there), not treat-as-withdraw.
            let action = if ebgp && e.type_code == 5 {
                Rfc7606Action::AttributeDiscard
            } else {
                e.action
            };
            outcome = outcome.max(action);
            errors.push(format!("{e} ({action:?})"));
        }
        // RFC 5065 5 and RFC 7606 7.2: confederation segments from a peer
        // outside our confederation (we have none) make AS_PATH malformed.
        if update
            .as_path()
            .is_some_and(|p| p.segments.iter().any(|s| s.kind.is_confederation()))
        {
            outcome = outcome.max(Rfc7606Action::TreatAsWithdraw);
            errors.push(
                "attribute type 2: AS_PATH carries confederation segments (TreatAsWithdraw)".into(),
            );
        }
        out.push(Output::UpdateReceived {
            announced: update.announced().count(),
            withdrawn: update.withdrawn_all().count(),
            end_of_rib: update.is_end_of_rib(),
            errors,
        });
        let Some(limit) = self.cfg.max_prefixes else {
            return;
        };
        for p in update.withdrawn_all() {
            self.received_prefixes.remove(&p);
        }
        // RFC 7606: treat-as-withdraw routes count as withdrawn.
        let withdraw = outcome >= Rfc7606Action::TreatAsWithdraw;
        for p in update.announced() {
            if withdraw {
                self.received_prefixes.remove(&p);
            } else {
                self.received_prefixes.insert(p);
            }
            if self.received_prefixes.len() > limit as usize {
                // RFC 4486 4: the data is AFI, SAFI and the limit.
                let afi: u16 = match p {
                    IpNet::V4(_) => 1,
                    IpNet::V6(_) => 2,
                };
                let mut data = Vec::with_capacity(7);
                data.extend_from_slice(&afi.to_be_bytes());
                data.push(1);
                data.extend_from_slice(&limit.to_be_bytes());
                let n = Notification::new(
                    wire::ErrorCode::Cease,
                    CeaseSubcode::MaximumNumberOfPrefixesReached,
                    Bytes::from(data),
                );
                self.reject(now, id, n, out);
                if self.admin_up && !self.cfg.passive {
                    self.timers
                        .set(Timer::ConnectRetry, now + self.cfg.max_prefixes_restart);
                }
                return;
            }
        }
    }

    /// RFC 4271 8.2.2 OpenConfirm, Event 26 (KeepAliveMsg): Established.
    fn on_established(&mut self, id: ConnId, out: &mut Vec<Output>) {
        let Some(i) = self.find(id) else { return };
        self.conns[i].state = ConnState::Established;
        self.ever_established = true;
        self.received_prefixes.clear();
        self.failures = 0;
        self.timers.stop(Timer::ConnectRetry);
        if self.connecting {
            self.connecting = false;
            out.push(Output::AbortConnect);
        }
        // Any other connection still in OpenSent lost the race.
        let kept_direction = self.conns[i].direction;
        let others: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|c| c.id != id)
            .map(|c| c.id)
            .collect();
        for other in others {
            push_send(
                out,
                other,
                &Message::Notification(Notification::cease(
                    CeaseSubcode::ConnectionCollisionResolution,
                )),
                DecodeOptions::default(),
            );
            out.push(Output::CollisionResolved {
                kept: id,
                kept_direction,
                closed: other,
            });
            self.remove_conn(other, DownReason::Collision, out);
        }
        if let Some(n) = self.find(id).and_then(|i| self.conns[i].negotiated.clone()) {
            out.push(Output::Established(n));
        }
    }

    fn send_updates(&mut self, now: Instant, messages: Vec<Bytes>, out: &mut Vec<Output>) {
        let Some(i) = self
            .conns
            .iter()
            .position(|c| c.state == ConnState::Established)
        else {
            return;
        };
        let id = self.conns[i].id;
        if messages.is_empty() {
            return;
        }
        for bytes in messages {
            out.push(Output::Send { conn: id, bytes });
        }
        // RFC 4271 10: sending an UPDATE restarts the KeepaliveTimer.
        if let Some(k) = self.conns[i].keepalive_interval {
            self.conns[i].timers.set(Timer::Keepalive, now + k);
        }
    }

    fn send_keepalive(&mut self, now: Instant, i: usize, out: &mut Vec<Output>) {
        let conn = &mut self.conns[i];
        push_send(out, conn.id, &Message::Keepalive, DecodeOptions::default());
        match conn.keepalive_interval {
            Some(k) => conn.timers.set(Timer::Keepalive, now + k),
            None => conn.timers.stop(Timer::Keepalive),
        }
    }

    /// Close one connection (sending `notification` first if given) and, when
    /// it was the last, schedule the next attempt.
    fn drop_conn(
        &mut self,
        now: Instant,
        id: ConnId,
        reason: DownReason,
        notification: Option<Notification>,
        out: &mut Vec<Output>,
    ) {
        if let Some(n) = notification {
            push_send(out, id, &Message::Notification(n), DecodeOptions::default());
        }
        let was_established = self.remove_conn(id, reason, out);
        if self.conns.is_empty() && self.admin_up && !self.connecting {
            if was_established {
                // Start over from the first retry step after a working session.
                self.failures = 0;
            }
            if !self.cfg.passive {
                let retry_in = self.backoff();
                self.timers.set(Timer::ConnectRetry, now + retry_in);
            }
        }
    }

    /// We found an error: send `n` and close the connection (RFC 4271 6).
    fn reject(&mut self, now: Instant, id: ConnId, n: Notification, out: &mut Vec<Output>) {
        let reason = DownReason::NotificationSent(n.clone());
        self.drop_conn(now, id, reason, Some(n), out);
    }

    fn remove_conn(&mut self, id: ConnId, reason: DownReason, out: &mut Vec<Output>) -> bool {
        let Some(i) = self.find(id) else { return false };
        let conn = self.conns.remove(i);
        let was_established = conn.state == ConnState::Established;
        out.push(Output::Close { conn: id });
        out.push(Output::Closed {
            conn: id,
            reason,
            was_established,
        });
        was_established
    }

    fn report_state(&mut self, out: &mut Vec<Output>) {
        let now = if let Some(s) = self.conns.iter().map(|c| c.state).max() {
            State::from(s)
        } else if self.connecting {
            State::Connect
        } else if self.admin_up {
            State::Active
        } else {
            State::Idle
        };
        if now != self.reported {
            out.push(Output::StateChanged {
                from: self.reported,
                to: now,
            });
            self.reported = now;
        }
    }

    fn find(&self, id: ConnId) -> Option<usize> {
        self.conns.iter().position(|c| c.id == id)
    }

    fn established(&self) -> Option<&Conn> {
        self.conns
            .iter()
            .find(|c| c.state == ConnState::Established)
    }
}

fn push_send(out: &mut Vec<Output>, conn: ConnId, msg: &Message, opts: DecodeOptions) {
    let mut buf = BytesMut::new();
    wire::encode_message(msg, opts, &mut buf);
    out.push(Output::Send {
        conn,
        bytes: buf.freeze(),
    });
}

fn on_route_refresh(rr: &RouteRefresh, out: &mut Vec<Output>) {
    out.push(Output::RouteRefreshRequested {
        afi: rr.afi,
        safi: rr.safi,
    });
}
