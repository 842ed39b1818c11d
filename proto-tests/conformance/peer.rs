//! The scripted peer: a blocking TCP connection into vipd's namespace that
//! sends exactly the bytes a case gives it and reports, message by message,
//! what vipd does about them.
//!
//! The socket is created by a short-lived thread that first joins the lab's
//! network namespace (`setns`), so the test process itself never leaves the
//! host namespace; the socket keeps its namespace wherever it is used after.

use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use super::wire::{self, Msg, Notif};

/// How long vipd gets to answer anything (it answers in milliseconds).
pub const REPLY_DEADLINE: Duration = Duration::from_secs(3);
/// Read timeout slice: how often a waiting peer looks at its own schedule.
const READ_SLICE: Duration = Duration::from_millis(100);

/// What the connection did next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Message(Msg),
    /// vipd closed the connection (FIN).
    Closed,
    /// The connection broke (RST or another error).
    Broken(String),
}

/// One scripted BGP connection to vipd.
pub struct RawPeer {
    stream: TcpStream,
    rx: Vec<u8>,
    last_sent: Instant,
    /// Once Established: send a KEEPALIVE whenever this long has passed
    /// without sending anything, so vipd's hold timer never fires while
    /// the peer waits.
    keepalive_every: Option<Duration>,
    /// Every message sent and received, for the failure report.
    pub transcript: Vec<String>,
    closed: bool,
}

/// Runs `f` on a thread that has joined network namespace `ns`.
pub fn in_netns<T, F>(ns: &str, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let path = format!("/var/run/netns/{ns}");
    let handle = thread::spawn(move || -> io::Result<T> {
        let file = File::open(&path)?;
        // SAFETY: setns on a namespace file descriptor we hold open; it only
        // changes this (short-lived) thread's network namespace.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        f()
    });
    handle
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("netns helper thread panicked")))
}

impl RawPeer {
    /// Connects from `local` (any port) to vipd at `server`, inside `ns`;
    /// `rcvbuf` shrinks our receive buffer (and so the window vipd sees).
    pub fn connect(
        ns: &str,
        local: Ipv4Addr,
        server: SocketAddr,
        rcvbuf: Option<usize>,
    ) -> io::Result<RawPeer> {
        let stream = in_netns(ns, move || {
            let socket = socket2::Socket::new(
                socket2::Domain::IPV4,
                socket2::Type::STREAM,
                Some(socket2::Protocol::TCP),
            )?;
            if let Some(size) = rcvbuf {
                socket.set_recv_buffer_size(size)?;
            }
            socket.bind(&SocketAddr::V4(SocketAddrV4::new(local, 0)).into())?;
            socket.connect_timeout(&server.into(), Duration::from_secs(3))?;
            Ok(TcpStream::from(socket))
        })?;
        stream.set_nodelay(true)?;
        Ok(RawPeer {
            stream,
            rx: Vec::new(),
            last_sent: Instant::now(),
            keepalive_every: None,
            transcript: Vec::new(),
            closed: false,
        })
    }

    /// Start (or stop) sending KEEPALIVEs on our own while waiting.
    pub fn keep_alive(&mut self, every: Option<Duration>) {
        self.keepalive_every = every;
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.last_sent = Instant::now();
        self.note_sent(bytes);
        Ok(())
    }

    /// Sends `bytes` one octet per write, `gap` apart.
    pub fn dribble(&mut self, bytes: &[u8], gap: Duration) -> io::Result<()> {
        for b in bytes {
            self.stream.write_all(std::slice::from_ref(b))?;
            self.stream.flush()?;
            thread::sleep(gap);
        }
        self.last_sent = Instant::now();
        self.note_sent(bytes);
        Ok(())
    }

    fn note_sent(&mut self, bytes: &[u8]) {
        let shown = if bytes.len() > 64 {
            format!("{}... ({} octets)", hex::encode(&bytes[..64]), bytes.len())
        } else {
            hex::encode(bytes)
        };
        self.transcript.push(format!("-> {shown}"));
    }

    /// The next message, close or break before `deadline`; `None` if
    /// nothing happened by then.
    pub fn next(&mut self, deadline: Instant) -> Option<Event> {
        loop {
            match wire::split(&mut self.rx) {
                Ok(Some(msg)) => {
                    self.transcript.push(format!("<- {}", describe(&msg)));
                    return Some(Event::Message(msg));
                }
                Ok(None) => {}
                Err(e) => return Some(Event::Broken(e)),
            }
            if self.closed {
                return Some(Event::Closed);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            if let Some(every) = self.keepalive_every
                && self.last_sent.elapsed() >= every
                && let Err(e) = self.send(&wire::keepalive())
            {
                return Some(Event::Broken(format!("sending KEEPALIVE: {e}")));
            }
            let slice = READ_SLICE.min(deadline - now).max(Duration::from_millis(1));
            if let Err(e) = self.stream.set_read_timeout(Some(slice)) {
                return Some(Event::Broken(e.to_string()));
            }
            let mut buf = [0u8; 65536];
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.transcript.push("<- (connection closed)".into());
                    self.closed = true;
                }
                Ok(n) => self.rx.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.transcript.push(format!("<- (connection broken: {e})"));
                    return Some(Event::Broken(e.to_string()));
                }
            }
        }
    }

    /// The next message of type `ty`, skipping KEEPALIVEs; anything else
    /// (another type, a NOTIFICATION, a close) is an error that says what
    /// came instead.
    pub fn expect(&mut self, ty: u8, within: Duration) -> Result<Msg, String> {
        let deadline = Instant::now() + within;
        loop {
            match self.next(deadline) {
                Some(Event::Message(m)) if m.ty == ty => return Ok(m),
                Some(Event::Message(m)) if m.ty == wire::KEEPALIVE => continue,
                Some(Event::Message(m)) => return Err(format!("got {} instead", describe(&m))),
                Some(Event::Closed) => return Err("vipd closed the connection".into()),
                Some(Event::Broken(e)) => return Err(format!("connection broken: {e}")),
                None => return Err(format!("nothing within {within:?}")),
            }
        }
    }

    /// Reads UPDATEs until End-of-RIB has arrived for every AFI in `afis`;
    /// returns every prefix announced on the way.
    pub fn read_table(&mut self, afis: &[u16], within: Duration) -> Result<Vec<IpNet>, String> {
        let deadline = Instant::now() + within;
        let mut announced = Vec::new();
        let mut pending: Vec<u16> = afis.to_vec();
        while !pending.is_empty() {
            let msg = match self.next(deadline) {
                Some(Event::Message(m)) => m,
                Some(Event::Closed) => return Err("vipd closed the connection".into()),
                Some(Event::Broken(e)) => return Err(format!("connection broken: {e}")),
                None => {
                    return Err(format!(
                        "no End-of-RIB for AFI {pending:?} within {within:?}"
                    ));
                }
            };
            match msg.ty {
                wire::KEEPALIVE => {}
                wire::UPDATE => {
                    let s = wire::summarize_update(&msg.body)?;
                    announced.extend(s.announced);
                    if let Some(afi) = s.end_of_rib {
                        pending.retain(|a| *a != afi);
                    }
                }
                _ => return Err(format!("got {} while reading the table", describe(&msg))),
            }
        }
        Ok(announced)
    }

    /// Stops reading (for the stalled-peer case): hands out the stream.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

/// One line for the transcript.
pub fn describe(msg: &Msg) -> String {
    match msg.ty {
        wire::UPDATE => match wire::summarize_update(&msg.body) {
            Ok(s) if s.end_of_rib.is_some() => format!("UPDATE End-of-RIB AFI {:?}", s.end_of_rib),
            Ok(s) => format!(
                "UPDATE announcing {} and withdrawing {} prefixes",
                s.announced.len(),
                s.withdrawn.len()
            ),
            Err(e) => format!("UPDATE ({e})"),
        },
        _ => msg.name(),
    }
}

/// What vipd answered to a case that must reset the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reset {
    /// A NOTIFICATION, whether the connection then closed, and what vipd
    /// sent before it.
    Notification {
        notif: Notif,
        closed: bool,
        after: Vec<String>,
    },
    /// The connection closed (or broke) without a NOTIFICATION.
    ClosedSilently(String),
    /// No NOTIFICATION and no close within the deadline: the session is
    /// still up. Lists what vipd sent meanwhile.
    NoReaction(Vec<String>),
}

impl RawPeer {
    /// Waits for vipd's reaction to an error: a NOTIFICATION (then the
    /// close that must follow it), or a bare close.
    pub fn await_reset(&mut self) -> Reset {
        let deadline = Instant::now() + REPLY_DEADLINE;
        let mut seen = Vec::new();
        loop {
            match self.next(deadline) {
                Some(Event::Message(m)) => {
                    if let Some(notif) = m.notification() {
                        let closed = self.await_close(REPLY_DEADLINE);
                        return Reset::Notification {
                            notif,
                            closed,
                            after: seen,
                        };
                    }
                    seen.push(describe(&m));
                }
                Some(Event::Closed) => return Reset::ClosedSilently("FIN".into()),
                Some(Event::Broken(e)) => return Reset::ClosedSilently(e),
                None => return Reset::NoReaction(seen),
            }
        }
    }

    /// True if the connection closes (FIN or RST) within `within`, whatever
    /// else arrives first.
    pub fn await_close(&mut self, within: Duration) -> bool {
        self.keepalive_every = None;
        let deadline = Instant::now() + within;
        loop {
            match self.next(deadline) {
                Some(Event::Message(_)) => {}
                Some(Event::Closed | Event::Broken(_)) => return true,
                None => return false,
            }
        }
    }
}
