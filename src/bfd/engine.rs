//! The BFD engine: the only BFD code that touches sockets and the clock.
//!
//! It runs on its own OS thread ("vipd-bfd") with its own current-thread
//! tokio runtime, so packets are sent and detection times checked on a timer
//! path that a busy main runtime cannot delay. Everything crosses the thread
//! boundary through channels: a command to start a session, a `watch` of its
//! state and a few atomic counters back.
//!
//! One engine serves every session: it owns the [`Demux`], one receive socket
//! per local address (shared by every peer on that address), one transmit
//! socket per session, and sleeps until the earliest session deadline.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::io::Interest;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::demux::{Demux, Dropped};
use super::packet::{Diag, State};
use super::session::{Input, Output, SLOW_TX_INTERVAL, Session, SessionConfig};
use super::socket::{bind_receive, bind_transmit, recv_with_ttl};
use super::{BfdState, Counters};
use crate::config::BfdConfig;

/// Larger than any BFD Control packet (Length is one octet).
const RECEIVE_BUFFER: usize = 512;

/// What the engine thread is asked to do, or told about.
enum Event {
    Start(Start),
    /// A datagram read from the receive socket of `local`.
    Datagram {
        local: IpAddr,
        source: SocketAddr,
        ttl: Option<u8>,
        payload: Vec<u8>,
    },
    /// The session's shutdown watch changed: AdminDown, linger, end.
    Shutdown(SessionId),
    /// The receive socket of `local` failed; its sessions will time out.
    ReceiveFailed {
        local: IpAddr,
        error: io::Error,
    },
    /// The handle was dropped (test engines only).
    Stop,
}

struct Start {
    local: IpAddr,
    peer: IpAddr,
    cfg: BfdConfig,
    shutdown: watch::Receiver<Option<String>>,
    reply: std::sync::mpsc::SyncSender<io::Result<Started>>,
}

/// What [`EngineHandle::start_session`] returns.
pub(crate) struct Started {
    pub(crate) state: watch::Receiver<BfdState>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) local_discriminator: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SessionId(u64);

/// The way into a running engine thread.
pub(crate) struct EngineHandle {
    events: mpsc::UnboundedSender<Event>,
    /// Test engines stop when their handle is dropped; the process-wide one
    /// lives as long as the process.
    stop_on_drop: bool,
}

impl EngineHandle {
    /// Starts an engine thread whose sessions listen on and send to `port`
    /// (3784 in vipd; tests pick a free one).
    pub(crate) fn start(port: u16, stop_on_drop: bool) -> io::Result<EngineHandle> {
        let (events, receiver) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let engine_events = events.clone();
        thread::Builder::new()
            .name("vipd-bfd".to_string())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                runtime.block_on(Engine::new(port, engine_events).run(receiver));
            })?;
        ready_rx
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the BFD engine thread died at start")))?;
        Ok(EngineHandle {
            events,
            stop_on_drop,
        })
    }

    /// Asks the engine to start a session and waits for its answer. The wait
    /// is for the engine to bind two sockets: microseconds, so calling this
    /// from an async task is harmless.
    pub(crate) fn start_session(
        &self,
        local: IpAddr,
        peer: IpAddr,
        cfg: BfdConfig,
        shutdown: watch::Receiver<Option<String>>,
    ) -> io::Result<Started> {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.events
            .send(Event::Start(Start {
                local,
                peer,
                cfg,
                shutdown,
                reply,
            }))
            .map_err(|_| io::Error::other("the BFD engine thread is gone"))?;
        answer
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the BFD engine thread is gone")))
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        if self.stop_on_drop {
            let _ = self.events.send(Event::Stop);
        }
    }
}

struct Entry {
    local: IpAddr,
    peer: IpAddr,
    session: Session,
    socket: UdpSocket,
    destination: SocketAddr,
    state: watch::Sender<BfdState>,
    counters: Arc<Counters>,
    shutdown_watcher: JoinHandle<()>,
    /// After shutdown: AdminDown is being sent until then (RFC 5880 6.8.16).
    linger_until: Option<Instant>,
    /// The last send error, so a dead link is logged once, not per packet.
    send_error: Option<io::ErrorKind>,
}

struct Engine {
    port: u16,
    demux: Demux<SessionId>,
    sessions: HashMap<SessionId, Entry>,
    receivers: HashMap<IpAddr, JoinHandle<()>>,
    events: mpsc::UnboundedSender<Event>,
    next_id: u64,
    rng: SmallRng,
}

impl Engine {
    fn new(port: u16, events: mpsc::UnboundedSender<Event>) -> Engine {
        Engine {
            port,
            demux: Demux::default(),
            sessions: HashMap::new(),
            receivers: HashMap::new(),
            events,
            next_id: 0,
            rng: SmallRng::from_entropy(),
        }
    }

    async fn run(mut self, mut events: mpsc::UnboundedReceiver<Event>) {
        loop {
            // Due timers first, every turn, so a flood of datagrams can never
            // hold back a transmission or a detection.
            self.fire_timers(Instant::now());
            let deadline = self.next_deadline();
            tokio::select! {
                biased;
                () = sleep_until(deadline) => {}
                event = events.recv() => match event {
                    Some(Event::Stop) | None => return,
                    Some(event) => self.handle(event),
                },
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.sessions
            .values()
            .flat_map(|e| [e.session.poll_timeout(), e.linger_until])
            .flatten()
            .min()
    }

    fn fire_timers(&mut self, now: Instant) {
        let due: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, e)| e.session.poll_timeout().is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(entry) = self.sessions.get_mut(&id) {
                let outputs = entry.session.handle_timeout(now);
                entry.execute(outputs);
            }
        }
        let ended: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, e)| e.linger_until.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in ended {
            self.remove(id);
        }
    }

    fn handle(&mut self, event: Event) {
        let now = Instant::now();
        match event {
            Event::Start(start) => {
                let result = self.start(now, start.local, start.peer, start.cfg, start.shutdown);
                let _ = start.reply.send(result);
            }
            Event::Datagram {
                local,
                source,
                ttl,
                payload,
            } => self.receive(now, local, source, ttl, &payload),
            Event::Shutdown(id) => self.shut_down(now, id),
            Event::ReceiveFailed { local, error } => {
                warn!(%local, %error, "BFD receive socket failed; its sessions will go down");
                self.receivers.remove(&local);
            }
            Event::Stop => {}
        }
    }

    fn start(
        &mut self,
        now: Instant,
        local: IpAddr,
        peer: IpAddr,
        cfg: BfdConfig,
        shutdown: watch::Receiver<Option<String>>,
    ) -> io::Result<Started> {
        check_addresses(local, peer)?;
        // A session for the same pair that is only lingering after its
        // shutdown makes way at once (a peer removed and added by a reload).
        let lingering = self.sessions.iter().find_map(|(id, e)| {
            (e.local == local && e.peer == peer && e.linger_until.is_some()).then_some(*id)
        });
        if let Some(id) = lingering {
            self.remove(id);
        }
        if self.demux.contains(local, peer) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("a BFD session from {local} to {peer} already runs"),
            ));
        }
        let socket = bind_transmit(local, &mut self.rng)?;
        if !self.receivers.contains_key(&local) {
            let socket = bind_receive(local, self.port)?;
            let task = tokio::spawn(read_datagrams(local, socket, self.events.clone())?);
            self.receivers.insert(local, task);
        }
        let discriminator = self.demux.allocate_discriminator(&mut self.rng);
        let id = SessionId(self.next_id);
        self.next_id += 1;
        self.demux
            .insert(local, peer, discriminator, id)
            .map_err(|d| {
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("a BFD session from {} to {} already runs", d.local, d.peer),
                )
            })?;
        let session = Session::new(
            SessionConfig {
                local_discriminator: discriminator,
                desired_min_tx: cfg.min_interval,
                required_min_rx: cfg.min_interval,
                detect_mult: cfg.multiplier,
                jitter_seed: self.rng.r#gen(),
            },
            now,
        );
        let (state, state_rx) = watch::channel(session.state());
        let counters = Arc::new(Counters::default());
        let events = self.events.clone();
        let shutdown_watcher = tokio::spawn(async move {
            let mut shutdown = shutdown;
            // Ends on a change, on the sender going away, or at once if
            // shutdown was already under way.
            if shutdown.borrow_and_update().is_none() {
                let _ = shutdown.changed().await;
            }
            let _ = events.send(Event::Shutdown(id));
        });
        info!(%peer, %local, discriminator, interval = ?cfg.min_interval, multiplier = cfg.multiplier,
            "BFD session started");
        self.sessions.insert(
            id,
            Entry {
                local,
                peer,
                session,
                socket,
                destination: SocketAddr::new(peer, self.port),
                state,
                counters: counters.clone(),
                shutdown_watcher,
                linger_until: None,
                send_error: None,
            },
        );
        Ok(Started {
            state: state_rx,
            counters,
            local_discriminator: discriminator,
        })
    }

    fn receive(
        &mut self,
        now: Instant,
        local: IpAddr,
        source: SocketAddr,
        ttl: Option<u8>,
        payload: &[u8],
    ) {
        match self.demux.classify(local, source.ip(), ttl, payload) {
            Ok((id, packet)) => {
                if let Some(entry) = self.sessions.get_mut(&id) {
                    entry.counters.received.fetch_add(1, Ordering::Relaxed);
                    let outputs = entry.session.handle(now, Input::Received(packet));
                    entry.execute(outputs);
                }
            }
            Err(Dropped { reason, session }) => {
                let peer = session.and_then(|id| self.sessions.get(&id)).map(|entry| {
                    entry.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    entry.peer
                });
                debug!(%local, %source, ?peer, %reason, "BFD packet dropped");
            }
        }
    }

    fn shut_down(&mut self, now: Instant, id: SessionId) {
        let Some(entry) = self.sessions.get_mut(&id) else {
            return;
        };
        if entry.linger_until.is_some() {
            return;
        }
        let outputs = entry
            .session
            .handle(now, Input::AdminDown(Diag::AdministrativelyDown));
        entry.execute(outputs);
        // RFC 5880 6.8.16: "BFD Control packets SHOULD be transmitted for at
        // least a Detection Time after transitioning to AdminDown state". The
        // first goes out now, or as soon as the peer's Required Min RX
        // allows after the previous packet; AdminDown is not Up, so the rest
        // follow at the slow rate (6.8.3) for the peer's Detection Time at
        // that rate.
        let linger = SLOW_TX_INTERVAL * u32::from(entry.session.detect_mult());
        entry.linger_until = Some(now + linger);
    }

    fn remove(&mut self, id: SessionId) {
        let Some(entry) = self.sessions.remove(&id) else {
            return;
        };
        entry.shutdown_watcher.abort();
        self.demux
            .remove(entry.local, entry.peer, entry.session.local_discriminator());
        info!(peer = %entry.peer, local = %entry.local, "BFD session ended");
        if !self.demux.uses_local(entry.local)
            && let Some(reader) = self.receivers.remove(&entry.local)
        {
            reader.abort();
        }
    }
}

impl Entry {
    /// Carries out what the session asked for.
    fn execute(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Transmit(packet) => {
                    match self.socket.send_to(&packet.encode(), self.destination) {
                        Ok(_) => {
                            self.counters.sent.fetch_add(1, Ordering::Relaxed);
                            if packet.state == State::AdminDown {
                                self.counters
                                    .admin_down_sent
                                    .fetch_add(1, Ordering::Relaxed);
                            }
                            if self.send_error.take().is_some() {
                                info!(peer = %self.peer, "BFD packets leave again");
                            }
                        }
                        Err(error) => {
                            self.counters.send_errors.fetch_add(1, Ordering::Relaxed);
                            if self.send_error != Some(error.kind()) {
                                warn!(peer = %self.peer, %error, "cannot send BFD packets");
                                self.send_error = Some(error.kind());
                            }
                        }
                    }
                }
                Output::StateChange { from, to } => {
                    if from == BfdState::Up {
                        self.counters.went_down.fetch_add(1, Ordering::Relaxed);
                    }
                    info!(peer = %self.peer, local = %self.local, %from, %to,
                        "BFD session state changed");
                    self.state.send_replace(to);
                }
            }
        }
    }
}

/// Makes the receive socket async and returns the task that forwards its
/// datagrams to the engine until the socket fails.
fn read_datagrams(
    local: IpAddr,
    socket: UdpSocket,
    events: mpsc::UnboundedSender<Event>,
) -> io::Result<impl Future<Output = ()>> {
    let socket = tokio::net::UdpSocket::from_std(socket)?;
    Ok(async move {
        let mut buf = [0u8; RECEIVE_BUFFER];
        loop {
            let fd = socket.as_raw_fd();
            let result = socket
                .async_io(Interest::READABLE, || recv_with_ttl(&Fd(fd), &mut buf))
                .await;
            let event = match result {
                Ok(datagram) => Event::Datagram {
                    local,
                    source: datagram.source,
                    ttl: datagram.ttl,
                    payload: buf[..datagram.len].to_vec(),
                },
                // ICMP errors and the like concern one datagram, not the socket.
                Err(e) if is_transient(&e) => continue,
                Err(error) => {
                    let _ = events.send(Event::ReceiveFailed { local, error });
                    return;
                }
            };
            if events.send(event).is_err() {
                return;
            }
        }
    })
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::InvalidData
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
    )
}

/// A borrowed raw descriptor, for `recv_with_ttl` inside `async_io`.
struct Fd(std::os::fd::RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0
    }
}

/// Refuses address pairs a single-hop session cannot use.
fn check_addresses(local: IpAddr, peer: IpAddr) -> io::Result<()> {
    let invalid = |message: String| Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    if local.is_ipv4() != peer.is_ipv4() {
        return invalid(format!(
            "BFD local {local} and peer {peer} differ in family"
        ));
    }
    for addr in [local, peer] {
        if addr.is_unspecified() || addr.is_multicast() {
            return invalid(format!("{addr} cannot be a BFD session address"));
        }
        if let IpAddr::V6(v6) = addr
            && v6.is_unicast_link_local()
        {
            return invalid(format!(
                "{addr}: link-local BFD sessions need an interface, which is not supported"
            ));
        }
    }
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
