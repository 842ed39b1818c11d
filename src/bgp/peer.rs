//! The tokio shell around one peer's [`Session`]: the only BGP code that
//! touches sockets and the clock.
//!
//! One task per configured peer owns its session, its outbound RIB and its
//! connections. Each connection has a reader task (bytes in -> events) and a
//! writer task (a queue of whole messages -> socket), so a slow peer never
//! blocks this task. The task sleeps until the session's next deadline.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{Instrument, debug, info, info_span, warn};

use super::adj_rib_out::{AdjRibOut, PeerRouting};
use super::session::{
    ConnId, Input, MessageCounts, Negotiated, Output, Session, SessionConfig, State,
};
use super::sockopt;
use super::wire::{Afi, CeaseSubcode};
use crate::bfd::{BfdSession, BfdState};
use crate::config::{PeerConfig, Speaker};
use crate::vip::{Changes, DesiredReader};

/// How long shutdown waits for the final messages to leave.
const SHUTDOWN_FLUSH: Duration = Duration::from_millis(500);
/// How long shutdown waits for BFD's AdminDown to leave (it may have to wait
/// for the peer's Required Min RX after the previous packet).
const BFD_GOODBYE: Duration = Duration::from_millis(300);

/// The way in for connections accepted on the shared listening socket.
pub type InboundSender = mpsc::Sender<TcpStream>;

/// The listener's routing table: configured peer address -> its task.
/// Reload changes it while the listener runs.
pub type InboundMap = std::sync::Arc<std::sync::RwLock<HashMap<IpAddr, InboundSender>>>;

/// Why a peer task is told to stop, and which Cease subcode says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStop {
    pub reason: String,
    pub cease: CeaseSubcode,
    /// A stop for a restart: if the peer negotiated Graceful Restart, close
    /// the connection without a NOTIFICATION and withdraw nothing, so it
    /// keeps our routes (RFC 4724 4.2) until we are back.
    pub keep_routes: bool,
}

/// What a peer task reports from its connections.
/// The most one read takes from the socket.
const READ_CHUNK: usize = 64 * 1024;
/// Reads of one connection that may wait to be handled: with [`READ_CHUNK`],
/// at most 1 MiB of a peer's messages is buffered in vipd, however fast it
/// sends (a full Internet table costs no more memory than a few UPDATEs).
const READS_IN_FLIGHT: usize = 16;

enum Event {
    Connected {
        attempt: u64,
        result: io::Result<TcpStream>,
    },
    /// Bytes read; the permit returns to the reader once they are handled,
    /// so at most [`READS_IN_FLIGHT`] reads wait and a peer that sends
    /// faster than we decode is slowed down by TCP, not buffered here.
    Read(ConnId, Bytes, OwnedSemaphorePermit),
    Closed(ConnId, Option<String>),
    /// RFC 9687: a write made no progress for the send hold time.
    SendStuck(ConnId),
}

enum WriterCmd {
    Send(Bytes),
    Close,
}

struct ConnIo {
    writer: mpsc::UnboundedSender<WriterCmd>,
    /// The send hold time in milliseconds, 0 until the session is up.
    send_hold_ms: Arc<AtomicU64>,
    reader: JoinHandle<()>,
    writer_task: JoinHandle<()>,
}

/// What one peer looks like from outside, kept current by its task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    pub name: String,
    pub address: IpAddr,
    pub remote_asn: u32,
    pub local_asn: u32,
    pub state: State,
    /// When `state` last changed.
    pub since: std::time::SystemTime,
    /// Why the last session or connection attempt ended.
    pub last_error: Option<String>,
    pub prefixes_announced: usize,
    /// Prefixes announced to us in this session (counted, never stored).
    pub prefixes_received: u64,
    pub messages_sent: MessageCounts,
    pub messages_received: MessageCounts,
}

/// A running peer task.
pub struct PeerHandle {
    /// Where the listener hands this peer's inbound connections.
    pub inbound: InboundSender,
    pub task: JoinHandle<()>,
    pub status: watch::Receiver<PeerStatus>,
}

/// Counters of what one session received.
#[derive(Debug, Default, Clone, Copy)]
struct Received {
    updates: u64,
    announced: u64,
    withdrawn: u64,
    malformed: u64,
}

/// A running BFD session and how to stop it.
struct Bfd {
    session: BfdSession,
    state: watch::Receiver<BfdState>,
    stop: watch::Sender<Option<String>>,
    was_up: bool,
}

impl Bfd {
    /// Ends the session: AdminDown (RFC 5880 6.8.16). Returns the handle to
    /// wait on with [`bfd_goodbye`].
    fn end(self, reason: &str) -> BfdSession {
        let _ = self.stop.send(Some(reason.to_string()));
        self.session
    }
}

/// Waits (bounded) until an ended BFD session's AdminDown has left, so the
/// peer hears that the session was taken down on purpose before vipd exits.
async fn bfd_goodbye(session: Option<BfdSession>) {
    if let Some(session) = session
        && !session.admin_down_sent(BFD_GOODBYE).await
    {
        debug!("BFD AdminDown not sent yet; the peer will time the session out");
    }
}

/// Everything one peer task needs.
pub struct PeerTask {
    cfg: PeerConfig,
    /// We advertise Graceful Restart: End-of-RIB waits for `ready`.
    graceful_restart: bool,
    /// Every health check has given its first verdict.
    ready: watch::Receiver<bool>,
    /// End-of-RIB is owed once `ready` turns true.
    eor_pending: bool,
    /// The established session's peer advertised Graceful Restart: it
    /// keeps our routes when the connection closes without a NOTIFICATION.
    peer_helps_restart: bool,
    /// The BFD session watching the path to this peer, once started.
    bfd: Option<Bfd>,
    session: Session,
    rib: Option<AdjRibOut>,
    desired: DesiredReader,
    /// The last desired-set change this session has sent (see [`crate::vip::ChangeLog`]).
    desired_seen: u64,
    conns: HashMap<ConnId, ConnIo>,
    next_conn: u64,
    connect_attempt: Option<(u64, JoinHandle<()>)>,
    /// Writers flushing their last messages before closing.
    closing: Vec<JoinHandle<()>>,
    /// What this session received: counted, never stored (vipd imports nothing).
    received: Received,
    status: watch::Sender<PeerStatus>,
    events_tx: mpsc::UnboundedSender<Event>,
    events_rx: mpsc::UnboundedReceiver<Event>,
}

/// Spawn the task for one peer. Setting `stop` to `Some(..)` withdraws
/// everything, sends the Cease NOTIFICATION and ends the task.
pub fn spawn(
    cfg: PeerConfig,
    speaker: &Speaker,
    desired: DesiredReader,
    ready: watch::Receiver<bool>,
    stop: watch::Receiver<Option<PeerStop>>,
) -> PeerHandle {
    let session = Session::new(SessionConfig {
        local_asn: cfg.local_asn,
        remote_asn: cfg.remote_asn,
        router_id: speaker.router_id,
        hold_time: cfg.hold_time,
        passive: cfg.passive,
        connect_retry: cfg.connect_retry,
        connect_retry_max: cfg.connect_retry_max,
        graceful_restart_time: speaker.graceful_restart_time,
        jitter_seed: rand::random(),
        max_prefixes: cfg.max_prefixes,
        max_prefixes_restart: cfg.max_prefixes_restart,
    });
    let (inbound_tx, inbound_rx) = mpsc::channel(4);
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let span = info_span!("peer", peer = %cfg.address);
    let (status, status_rx) = watch::channel(PeerStatus {
        name: cfg.name.clone(),
        address: cfg.address,
        remote_asn: cfg.remote_asn,
        local_asn: cfg.local_asn,
        state: State::Idle,
        since: std::time::SystemTime::now(),
        last_error: None,
        prefixes_announced: 0,
        prefixes_received: 0,
        messages_sent: MessageCounts::default(),
        messages_received: MessageCounts::default(),
    });
    let task = PeerTask {
        graceful_restart: speaker.graceful_restart_time.is_some(),
        ready,
        eor_pending: false,
        peer_helps_restart: false,
        bfd: None,
        cfg,
        session,
        rib: None,
        desired,
        desired_seen: 0,
        conns: HashMap::new(),
        next_conn: 0,
        connect_attempt: None,
        closing: Vec::new(),
        received: Received::default(),
        status,
        events_tx,
        events_rx,
    };
    let task = tokio::spawn(task.run(inbound_rx, stop).instrument(span));
    PeerHandle {
        inbound: inbound_tx,
        task,
        status: status_rx,
    }
}

impl PeerTask {
    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<TcpStream>,
        mut stop: watch::Receiver<Option<PeerStop>>,
    ) {
        if self.cfg.enabled {
            let outs = self
                .session
                .handle(std::time::Instant::now(), Input::ManualStart);
            self.apply(outs);
        }
        loop {
            let deadline = self.session.poll_timeout().map(Instant::from_std);
            tokio::select! {
                _ = sleep_until(deadline) => {
                    // What the peer already sent counts before its hold timer
                    // does: a busy runtime may have kept this task from
                    // reading for a while (bounded, so our own KEEPALIVEs
                    // still go out under a flood).
                    for _ in 0..64 {
                        match self.events_rx.try_recv() {
                            Ok(event) => self.on_event(event),
                            Err(_) => break,
                        }
                    }
                    let outs = self.session.handle_timeout(std::time::Instant::now());
                    self.apply(outs);
                }
                Some(event) = self.events_rx.recv() => self.on_event(event),
                Some(stream) = inbound.recv() => self.on_accept(stream),
                Some(state) = bfd_changed(&mut self.bfd) => self.on_bfd(state),
                Ok(()) = self.ready.changed(), if self.eor_pending => {
                    self.send_eor_if_ready();
                }
                Ok(()) = self.desired.changed(), if self.rib.is_some() => self.sync_desired(),
                _ = stop.changed() => {
                    let why = stop.borrow().clone().unwrap_or(PeerStop {
                        reason: "vipd shutting down".into(),
                        cease: CeaseSubcode::AdministrativeShutdown,
                        keep_routes: false,
                    });
                    self.stop(why).await;
                    return;
                }
            }
        }
    }

    /// RFC 5882: a BFD session that was Up and went Down takes the BGP
    /// session with it; BGP reconnects as usual.
    fn on_bfd(&mut self, state: BfdState) {
        let Some(bfd) = self.bfd.as_mut() else { return };
        match state {
            BfdState::Up => {
                if !bfd.was_up {
                    info!("BFD up");
                }
                bfd.was_up = true;
            }
            BfdState::Down { diag } if bfd.was_up => {
                bfd.was_up = false;
                warn!(?diag, "BFD down: closing the BGP session");
                let input = Input::BfdDown {
                    diag: format!("{diag:?}"),
                };
                let outs = self.session.handle(std::time::Instant::now(), input);
                self.apply(outs);
            }
            _ => {}
        }
    }

    /// Start BFD once the session's local address is known.
    fn start_bfd(&mut self, n: &Negotiated) {
        let Some(cfg) = self.cfg.bfd else {
            return;
        };
        if self.bfd.is_some() {
            return;
        }
        let (stop, stop_rx) = watch::channel(None);
        match BfdSession::start(n.local.ip(), n.remote.ip(), cfg, stop_rx) {
            Ok(session) => {
                self.bfd = Some(Bfd {
                    state: session.state(),
                    session,
                    stop,
                    was_up: false,
                })
            }
            Err(e) => warn!(error = %e, "cannot start BFD; the session runs without it"),
        }
    }

    /// Withdraw everything, say goodbye, and wait (bounded) for it to leave.
    async fn stop(&mut self, why: PeerStop) {
        if why.keep_routes && self.graceful_restart && self.peer_helps_restart {
            return self.close_for_restart(&why.reason).await;
        }
        let bfd = self.bfd.take().map(|bfd| bfd.end(&why.reason));
        if let Some(rib) = self.rib.as_mut() {
            let msgs = rib.withdraw_all();
            self.send_updates(msgs);
        }
        let input = Input::ManualStop {
            reason: why.reason,
            cease: why.cease,
        };
        let outs = self.session.handle(std::time::Instant::now(), input);
        self.apply(outs);
        let writers: Vec<JoinHandle<()>> = self.closing.drain(..).collect();
        let flushed = tokio::time::timeout(SHUTDOWN_FLUSH, async {
            for w in writers {
                let _ = w.await;
            }
        });
        let _ = tokio::join!(flushed, bfd_goodbye(bfd));
    }

    /// RFC 4724 4.2: a connection that closes without a NOTIFICATION makes
    /// a helper keep our routes, marked stale, for our Restart Time, and
    /// drop them only if the restarted vipd does not announce them again
    /// before its End-of-RIB. So: no withdrawal, no NOTIFICATION, just FIN.
    /// BFD (if any) still says AdminDown, which RFC 5882 3.2 says is no
    /// forwarding failure.
    async fn close_for_restart(&mut self, reason: &str) {
        info!(
            %reason,
            "closing the session without a NOTIFICATION: the peer keeps our routes (graceful restart)"
        );
        let bfd = self.bfd.take().map(|bfd| bfd.end(reason));
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            if let Some(io) = self.conns.remove(&conn) {
                let _ = io.writer.send(WriterCmd::Close);
                io.reader.abort();
                self.closing.push(io.writer_task);
            }
        }
        let writers: Vec<JoinHandle<()>> = self.closing.drain(..).collect();
        let flushed = tokio::time::timeout(SHUTDOWN_FLUSH, async {
            for w in writers {
                let _ = w.await;
            }
        });
        let _ = tokio::join!(flushed, bfd_goodbye(bfd));
    }

    fn on_event(&mut self, event: Event) {
        let now = std::time::Instant::now();
        let outs = match event {
            Event::Connected { attempt, result } => {
                if self.connect_attempt.as_ref().map(|(a, _)| *a) != Some(attempt) {
                    return; // an attempt we already abandoned
                }
                self.connect_attempt = None;
                match result {
                    Ok(stream) => {
                        let Some((conn, local, remote)) = self.adopt(stream) else {
                            return;
                        };
                        self.session.handle(
                            now,
                            Input::TcpConnected {
                                conn,
                                local,
                                remote,
                            },
                        )
                    }
                    Err(e) => self.session.handle(
                        now,
                        Input::TcpConnectFailed {
                            error: e.to_string(),
                        },
                    ),
                }
            }
            Event::Read(conn, bytes, _permit) => {
                self.session.handle(now, Input::Received { conn, bytes })
            }
            Event::SendStuck(conn) => self
                .session
                .handle(now, Input::SendHoldTimerExpired { conn }),
            Event::Closed(conn, error) => {
                if let Some(io) = self.conns.remove(&conn) {
                    io.reader.abort();
                    io.writer_task.abort();
                }
                self.session.handle(now, Input::TcpClosed { conn, error })
            }
        };
        self.apply(outs);
    }

    fn on_accept(&mut self, stream: TcpStream) {
        if let Err(e) = self.secure(&stream, stream.peer_addr().map(|a| unmap(a).is_ipv6())) {
            if e.kind() == io::ErrorKind::PermissionDenied {
                warn!(error = %e, "accepted connection refused by GTSM (RFC 5082)");
            } else {
                warn!(error = %e, "cannot set TTL/GTSM on accepted connection; dropping it");
            }
            return;
        }
        let Some((conn, local, remote)) = self.adopt(stream) else {
            return;
        };
        debug!(%conn, %remote, "accepted connection");
        let outs = self.session.handle(
            std::time::Instant::now(),
            Input::TcpAccepted {
                conn,
                local,
                remote,
            },
        );
        self.apply(outs);
    }

    /// Give a connected stream an id and its reader and writer tasks.
    fn adopt(&mut self, stream: TcpStream) -> Option<(ConnId, SocketAddr, SocketAddr)> {
        let (local, remote) = match (stream.local_addr(), stream.peer_addr()) {
            (Ok(l), Ok(r)) => (unmap(l), unmap(r)),
            (Err(e), _) | (_, Err(e)) => {
                warn!(error = %e, "connection vanished before it could be used");
                return None;
            }
        };
        let _ = stream.set_nodelay(true);
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        let (mut rd, mut wr) = stream.into_split();
        let events = self.events_tx.clone();
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; READ_CHUNK];
            let credit = Arc::new(Semaphore::new(READS_IN_FLIGHT));
            loop {
                // Wait until the session has handled enough of what came
                // before: the kernel's receive buffer then fills and TCP
                // flow control holds the sender back.
                let Ok(permit) = credit.clone().acquire_owned().await else {
                    return;
                };
                match rd.read(&mut buf).await {
                    Ok(0) => {
                        let _ = events.send(Event::Closed(conn, None));
                        return;
                    }
                    Ok(n) => {
                        let bytes = Bytes::copy_from_slice(&buf[..n]);
                        if events.send(Event::Read(conn, bytes, permit)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = events.send(Event::Closed(conn, Some(e.to_string())));
                        return;
                    }
                }
            }
        });
        let (writer, mut queue) = mpsc::unbounded_channel::<WriterCmd>();
        let events = self.events_tx.clone();
        let send_hold_ms = Arc::new(AtomicU64::new(0));
        let hold = send_hold_ms.clone();
        let writer_task = tokio::spawn(async move {
            while let Some(cmd) = queue.recv().await {
                match cmd {
                    WriterCmd::Send(bytes) => {
                        let limit = hold.load(Ordering::Relaxed);
                        let written = if limit == 0 {
                            wr.write_all(&bytes).await
                        } else {
                            let limit = Duration::from_millis(limit);
                            match tokio::time::timeout(limit, wr.write_all(&bytes)).await {
                                Ok(result) => result,
                                Err(_) => {
                                    let _ = events.send(Event::SendStuck(conn));
                                    return;
                                }
                            }
                        };
                        if let Err(e) = written {
                            let _ = events.send(Event::Closed(conn, Some(e.to_string())));
                            return;
                        }
                    }
                    WriterCmd::Close => {
                        let _ = wr.shutdown().await;
                        return;
                    }
                }
            }
        });
        self.conns.insert(
            conn,
            ConnIo {
                writer,
                send_hold_ms,
                reader,
                writer_task,
            },
        );
        Some((conn, local, remote))
    }

    fn apply(&mut self, outs: Vec<Output>) {
        // A burst of ROUTE-REFRESH in one read is answered once per family.
        let mut refresh: Vec<Afi> = Vec::new();
        for out in outs {
            match out {
                Output::Connect => self.connect(),
                Output::AbortConnect => {
                    if let Some((_, task)) = self.connect_attempt.take() {
                        task.abort();
                    }
                }
                Output::Send { conn, bytes } => {
                    if let Some(io) = self.conns.get(&conn) {
                        let _ = io.writer.send(WriterCmd::Send(bytes));
                    }
                }
                Output::Close { conn } => {
                    if let Some(io) = self.conns.remove(&conn) {
                        let _ = io.writer.send(WriterCmd::Close);
                        io.reader.abort();
                        self.closing.push(io.writer_task);
                    }
                }
                Output::ConnectFailed { error, retry_in } => {
                    warn!(%error, retry_in = ?retry_in, "connect failed");
                    self.status
                        .send_modify(|s| s.last_error = Some(format!("connect failed: {error}")));
                }
                Output::StateChanged { from, to } => {
                    debug!(%from, %to, "state changed");
                }
                Output::Established(n) => self.on_established(n),
                Output::Closed {
                    conn,
                    reason,
                    was_established,
                } => {
                    self.status
                        .send_modify(|s| s.last_error = Some(reason.to_string()));
                    if was_established {
                        self.rib = None;
                        self.eor_pending = false;
                        self.peer_helps_restart = false;
                        let r = std::mem::take(&mut self.received);
                        warn!(
                            %conn,
                            %reason,
                            updates_received = r.updates,
                            prefixes_received = r.announced,
                            withdrawals_received = r.withdrawn,
                            malformed_updates = r.malformed,
                            "session closed"
                        );
                    } else {
                        info!(%conn, %reason, "connection closed");
                    }
                }
                Output::CollisionResolved {
                    kept,
                    kept_direction,
                    closed,
                } => {
                    info!(%kept, ?kept_direction, %closed, "connection collision resolved");
                }
                Output::UpdateReceived {
                    announced,
                    withdrawn,
                    end_of_rib,
                    errors,
                } => {
                    self.received.updates += 1;
                    self.received.announced += announced as u64;
                    self.received.withdrawn += withdrawn as u64;
                    if !errors.is_empty() {
                        self.received.malformed += 1;
                    }
                    for error in &errors {
                        warn!(%error, "malformed UPDATE from peer handled per RFC 7606");
                    }
                    debug!(announced, withdrawn, ?end_of_rib, "UPDATE received");
                }
                Output::RouteRefreshRequested { afi, safi } => {
                    debug!(?afi, ?safi, "ROUTE-REFRESH received");
                    if !refresh.contains(&afi) {
                        refresh.push(afi);
                    }
                }
            }
        }
        for afi in refresh {
            let desired = self.desired.current();
            if let Some(rib) = self.rib.as_mut() {
                let msgs = rib.refresh(&desired, afi);
                self.send_updates(msgs);
            }
        }
        // Reap writers that finished closing.
        self.closing.retain(|w| !w.is_finished());
        self.publish();
    }

    /// Bring the published status up to date (only notifies on change).
    fn publish(&self) {
        let state = self.session.state();
        let (sent, received) = self.session.message_counts();
        let announced = self.rib.as_ref().map_or(0, AdjRibOut::advertised_count);
        let prefixes_received = self.received.announced;
        self.status.send_if_modified(|s| {
            let before = s.clone();
            if s.state != state {
                s.state = state;
                s.since = std::time::SystemTime::now();
            }
            s.prefixes_announced = announced;
            s.prefixes_received = prefixes_received;
            s.messages_sent = sent;
            s.messages_received = received;
            *s != before
        });
    }

    fn on_established(&mut self, n: Negotiated) {
        self.peer_helps_restart = n.peer_graceful_restart;
        self.start_bfd(&n);
        // RFC 9687: the larger of 8 minutes and twice the hold time, unless
        // configured; not used when the hold time is zero.
        let send_hold = match (self.cfg.send_hold_time, n.hold_time) {
            (Some(t), _) => t,
            (None, 0) => Duration::ZERO,
            (None, h) => Duration::from_secs(480).max(Duration::from_secs(2 * u64::from(h))),
        };
        if let Some(io) = self.conns.get(&n.conn) {
            io.send_hold_ms
                .store(send_hold.as_millis() as u64, Ordering::Relaxed);
        }
        let (next_hop_v4, next_hop_v6) = next_hops(&self.cfg, &n);
        let next_hop_v6_link_local = on_link_link_local(n.local.ip(), n.remote.ip());

        info!(
            remote_as = n.peer_asn,
            peer_id = %n.peer_id,
            hold_time = n.hold_time,
            local = %n.local,
            ?next_hop_v4,
            ?next_hop_v6,
            ?next_hop_v6_link_local,
            "session established"
        );
        let mut rib = AdjRibOut::new(PeerRouting {
            ebgp: self.cfg.is_ebgp(),
            local_asn: self.cfg.local_asn,
            four_octet_as: n.four_octet_as,
            ipv4_unicast: n.ipv4_unicast,
            ipv6_unicast: n.ipv6_unicast,
            extended_nexthop_ipv4: n.extended_nexthop_ipv4,
            next_hop_v4,
            next_hop_v6,
            next_hop_v6_link_local,
        });
        let snapshot = self.desired.snapshot();
        self.desired_seen = snapshot.seq;
        let msgs = rib.initial_routes(&snapshot.set);
        info!(prefixes = rib.advertised_count(), "announced");
        self.rib = Some(rib);
        self.log_unsendable();
        self.send_updates(msgs);
        self.eor_pending = true;
        self.send_eor_if_ready();
    }

    /// RFC 4724: after a restart, End-of-RIB tells a helper to drop every
    /// stale route not announced again, so it waits until the health checks
    /// have given their first verdicts (VIPs whose checks are still rising
    /// keep their stale routes until then).
    fn send_eor_if_ready(&mut self) {
        if !self.eor_pending || (self.graceful_restart && !*self.ready.borrow()) {
            return;
        }
        self.eor_pending = false;
        // Whatever the desired set gained meanwhile goes out before the
        // End-of-RIB that closes the initial table.
        if self.desired.has_changed() {
            self.sync_desired();
        }
        if let Some(rib) = &self.rib {
            let msgs = rib.end_of_rib();
            info!(prefixes = rib.advertised_count(), "End-of-RIB sent");
            self.send_updates(msgs);
        }
    }

    /// Converge the peer on the latest desired set: just the prefixes that
    /// changed, or the whole set if this session fell behind the change log.
    fn sync_desired(&mut self) {
        let (snapshot, changes) = self.desired.changes_since(self.desired_seen);
        self.desired_seen = snapshot.seq;
        if let Some(rib) = self.rib.as_mut() {
            let msgs = match changes {
                Changes::Some(prefixes) => rib.apply_changes(&snapshot.set, &prefixes),
                Changes::Resync => rib.sync(&snapshot.set),
            };
            self.log_unsendable();
            self.send_updates(msgs);
        }
    }

    fn log_unsendable(&self) {
        if let Some(rib) = &self.rib {
            for u in rib.unsendable() {
                warn!(prefix = %u.prefix, reason = u.reason, "VIP not announced to this peer");
            }
        }
    }

    fn send_updates(&mut self, msgs: Vec<Bytes>) {
        if msgs.is_empty() {
            return;
        }
        let outs = self
            .session
            .handle(std::time::Instant::now(), Input::SendUpdates(msgs));
        self.apply(outs);
    }

    /// TTL or GTSM on an accepted socket (MD5 is set on the listener).
    fn secure(&self, stream: &TcpStream, ipv6: io::Result<bool>) -> io::Result<()> {
        let ipv6 = ipv6?;
        if self.cfg.ttl_security {
            let hops = self.cfg.multihop.unwrap_or(1);
            // RFC 5082 3: the shared listener cannot drop a far SYN for this
            // peer alone; check the TTL it arrived with instead.
            if let Some(ttl) = sockopt::syn_ttl(stream)?
                && !sockopt::gtsm_allows(ttl, hops)
            {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "its SYN arrived with TTL {ttl}, below {} ({hops} hop(s) allowed)",
                        256 - u16::from(hops.max(1))
                    ),
                ));
            }
            sockopt::set_gtsm(stream, ipv6, hops)
        } else {
            set_ttl(stream, self.ttl())
        }
    }

    fn ttl(&self) -> u32 {
        match self.cfg.multihop {
            Some(hops) => u32::from(hops),
            // eBGP peers are directly connected unless told otherwise, as on routers.
            None if self.cfg.is_ebgp() => 1,
            None => 64,
        }
    }

    fn connect(&mut self) {
        self.next_conn += 1;
        let attempt = self.next_conn;
        let remote = self.cfg.remote();
        let local = self.cfg.local_address;
        let security = Security {
            ttl: self.ttl(),
            gtsm_hops: self
                .cfg
                .ttl_security
                .then(|| self.cfg.multihop.unwrap_or(1)),
            md5_key: self.cfg.password.clone(),
            ao_keys: self.cfg.tcp_ao.clone(),
        };
        let events = self.events_tx.clone();
        let task = tokio::spawn(async move {
            let result = connect(remote, local, &security).await;
            let _ = events.send(Event::Connected { attempt, result });
        });
        if let Some((_, old)) = self.connect_attempt.replace((attempt, task)) {
            old.abort();
        }
    }
}

/// The next BFD state, when there is a session and it changed.
async fn bfd_changed(bfd: &mut Option<Bfd>) -> Option<BfdState> {
    match bfd {
        Some(b) => match b.state.changed().await {
            Ok(()) => Some(*b.state.borrow_and_update()),
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// How an outgoing socket is protected.
struct Security {
    ttl: u32,
    /// RFC 5082: accept segments from at most this many hops away.
    gtsm_hops: Option<u8>,
    /// RFC 2385 key.
    md5_key: Option<String>,
    /// RFC 5925 keys, the first one current.
    ao_keys: Vec<crate::config::TcpAoKey>,
}

async fn connect(
    remote: SocketAddr,
    local: Option<IpAddr>,
    security: &Security,
) -> io::Result<TcpStream> {
    let socket = match remote {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    match security.gtsm_hops {
        Some(hops) => sockopt::set_gtsm(&socket, remote.is_ipv6(), hops)?,
        None => {
            let sock = socket2::SockRef::from(&socket);
            match remote {
                SocketAddr::V4(_) => sock.set_ttl(security.ttl)?,
                SocketAddr::V6(_) => sock.set_unicast_hops_v6(security.ttl)?,
            }
        }
    }
    if let Some(key) = &security.md5_key {
        sockopt::set_tcp_md5(&socket, remote.ip(), key.as_bytes())?;
    }
    if !security.ao_keys.is_empty() {
        sockopt::set_tcp_ao(&socket, remote.ip(), &security.ao_keys, false)
            .map_err(io::Error::other)?;
    }
    if let Some(ip) = local {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.connect(remote).await
}

fn set_ttl(stream: &TcpStream, ttl: u32) -> io::Result<()> {
    let sock = socket2::SockRef::from(stream);
    match stream.local_addr()? {
        SocketAddr::V4(_) => sock.set_ttl(ttl),
        SocketAddr::V6(a) if a.ip().to_ipv4_mapped().is_some() => sock.set_ttl(ttl),
        SocketAddr::V6(_) => sock.set_unicast_hops_v6(ttl),
    }
}

/// A dual-stack socket reports IPv4 peers as `::ffff:a.b.c.d`.
fn unmap(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => addr,
        },
        v4 => v4,
    }
}

/// The next hops for this session: the configured override, else the
/// session's own local address, else an address of the other family on the
/// same interface.
fn next_hops(cfg: &PeerConfig, n: &Negotiated) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let local = n.local.ip();
    let v4 = cfg.next_hop_ipv4.or(match local {
        IpAddr::V4(a) => Some(a),
        // RFC 8950: with extended next hop, IPv4 routes use the IPv6 next hop.
        IpAddr::V6(_) if n.extended_nexthop_ipv4 => None,
        IpAddr::V6(_) => sibling_address(local, false).and_then(|a| match a {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        }),
    });
    let v6 = cfg.next_hop_ipv6.or(match local {
        IpAddr::V6(a) if !is_link_local(&a) => Some(a),
        _ => sibling_address(local, true).and_then(|a| match a {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }),
    });
    (v4, v6)
}

/// RFC 2545 3: when the peer shares the link (its address is inside one of
/// the prefixes of the interface that holds `local`), our link-local address
/// on that interface.
fn on_link_link_local(local: IpAddr, remote: IpAddr) -> Option<Ipv6Addr> {
    let addrs = if_addrs::get_if_addrs().ok()?;
    let name = addrs.iter().find(|i| i.ip() == local)?.name.clone();
    let on_link = addrs
        .iter()
        .filter(|i| i.name == name)
        .any(|i| match (&i.addr, remote) {
            (if_addrs::IfAddr::V4(a), IpAddr::V4(r)) => {
                let mask = u32::from(a.netmask);
                mask != u32::MAX && u32::from(a.ip) & mask == u32::from(r) & mask
            }
            (if_addrs::IfAddr::V6(a), IpAddr::V6(r)) => {
                let mask = u128::from(a.netmask);
                mask != u128::MAX && u128::from(a.ip) & mask == u128::from(r) & mask
            }
            _ => false,
        });
    if !on_link {
        return None;
    }
    // getifaddrs (and so if_addrs) leaves link-local addresses out; the
    // kernel lists every IPv6 address in /proc/net/if_inet6.
    let table = std::fs::read_to_string("/proc/net/if_inet6").ok()?;
    link_local_in(&table, &name)
}

/// The first link-local address of interface `name` in the text of
/// /proc/net/if_inet6 (`ADDRESS IFINDEX PREFIXLEN SCOPE FLAGS NAME` per line,
/// the address as 32 hex digits).
fn link_local_in(table: &str, name: &str) -> Option<Ipv6Addr> {
    table.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (hex, ifname) = (fields.first()?, fields.get(5)?);
        if *ifname != name || hex.len() != 32 {
            return None;
        }
        let a = Ipv6Addr::from(u128::from_str_radix(hex, 16).ok()?);
        is_link_local(&a).then_some(a)
    })
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// An address of the wanted family on the interface that holds `local`.
fn sibling_address(local: IpAddr, want_v6: bool) -> Option<IpAddr> {
    let addrs = if_addrs::get_if_addrs().ok()?;
    let name = addrs.iter().find(|i| i.ip() == local)?.name.clone();
    addrs
        .iter()
        .filter(|i| i.name == name)
        .map(|i| i.ip())
        .find(|ip| match ip {
            IpAddr::V6(a) => want_v6 && !is_link_local(a) && !a.is_loopback(),
            IpAddr::V4(a) => !want_v6 && !a.is_loopback(),
        })
}

/// Accept BGP connections and hand each to its peer's task; refuse (and log)
/// any address that is not a configured peer.
pub async fn listen(
    listener: TcpListener,
    peers: InboundMap,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let remote = unmap(remote);
                    let tx = peers.read().ok().and_then(|m| m.get(&remote.ip()).cloned());
                    match tx {
                        Some(tx) => {
                            if tx.try_send(stream).is_err() {
                                warn!(%remote, "peer task busy; connection dropped");
                            }
                        }
                        None => warn!(%remote, "refused connection from an address that is not a configured peer"),
                    }
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Bind the listening socket (dual-stack for `[::]`).
pub fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    sockopt::prepare_listener(&socket, addr.is_ipv6())?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(64)?;
    TcpListener::from_std(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_is_read_from_the_kernel_address_table() {
        let table = "\
fd00025500090000000000000000000002 03 40 00 80     eth1
fe8000000000000018d895fffe0a9644 03 40 20 80     eth1
00000000000000000000000000000001 01 80 10 80       lo
";
        assert_eq!(
            link_local_in(table, "eth1"),
            Some("fe80::18d8:95ff:fe0a:9644".parse().unwrap())
        );
        assert_eq!(link_local_in(table, "lo"), None);
        assert_eq!(link_local_in(table, "eth9"), None);
    }

    #[test]
    fn dual_stack_sockets_report_ipv4_peers_unmapped() {
        let mapped: SocketAddr = "[::ffff:10.255.1.1]:179".parse().unwrap();
        assert_eq!(
            unmap(mapped),
            "10.255.1.1:179".parse::<SocketAddr>().unwrap()
        );
        let v6: SocketAddr = "[fd00::1]:179".parse().unwrap();
        assert_eq!(unmap(v6), v6);
    }
}
