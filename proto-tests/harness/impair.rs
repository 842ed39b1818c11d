//! A userspace link impairment: an Ethernet relay in a middle namespace that
//! bridges two of its veths, dropping a share of the frames and delaying
//! every other one. It stands in for `tc qdisc ... netem` on kernels built
//! without `sch_netem` (this one: "Specified qdisc kind is unknown").
//!
//! ```text
//!   a:eth1 ---- eth1 [ relay: drop p, delay d ] eth2 ---- b:eth1
//!                         (middle namespace, no addresses)
//! ```
//!
//! Each interface gets one `AF_PACKET`/`SOCK_RAW` socket for every
//! protocol, opened with `PACKET_VNET_HDR`: every frame comes with its
//! virtio-net header (checksum still to do, GSO segment size), and the
//! relay hands that header back to the kernel when it sends the frame on
//! the other side. So a veth's unfinished TCP checksums and large GSO
//! segments cross the relay as the kernel would have passed them, without
//! ethtool (not installed here) to turn the offloads off. Frames the socket
//! sees leaving its own interface (`PACKET_OUTGOING`: the relay's own
//! sends) are not relayed back.
//!
//! Per direction one thread reads, drops with probability `loss` and queues
//! the rest with a due time `delay` ahead; a second thread sends each frame
//! when it is due. The delay is the same for every frame, so the queue stays
//! in order. Everything stops when the [`Impairment`] is dropped.

use std::fs::File;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::lab::Netns;

/// `linux/if_packet.h`.
const PACKET_VNET_HDR: libc::c_int = 15;
/// `linux/if_ether.h`: every protocol.
const ETH_P_ALL: u16 = 0x0003;
/// sizeof(struct virtio_net_hdr).
const VNET_HDR_LEN: usize = 10;
/// A 64 KiB GSO segment plus its header.
const FRAME_BUF: usize = 65_536 + VNET_HDR_LEN + 64;
/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// The most frames one direction holds in its delay line; beyond that new
/// frames are dropped (and counted as overflow), so memory stays bounded.
const MAX_QUEUED: usize = 10_000;

/// What one direction of the relay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Frames read from the ingress interface.
    pub received: u64,
    /// Dropped on purpose (the loss ratio).
    pub dropped: u64,
    /// Sent on the egress interface.
    pub sent: u64,
    /// Could not be sent, or did not fit in the delay line.
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    dropped: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> DirectionStats {
        DirectionStats {
            received: self.received.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// A running relay between two interfaces of one namespace.
pub struct Impairment {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// `[a -> b, b -> a]`.
    counters: [Arc<Counters>; 2],
}

impl Impairment {
    /// Relays between `if_a` and `if_b` of `ns` (both up, no addresses),
    /// dropping each frame with probability `loss` and delaying the others
    /// by `delay`. `seed` makes the drops repeatable.
    pub fn start(
        ns: &Netns,
        if_a: &str,
        if_b: &str,
        loss: f64,
        delay: Duration,
        seed: u64,
    ) -> Result<Impairment, String> {
        assert!((0.0..1.0).contains(&loss), "loss {loss} is not in [0, 1)");
        // The middle namespace must stay out of the traffic: no IPv6
        // link-local chatter of its own, and every frame reaches the socket.
        ns.exec("sysctl", &["-qw", "net.ipv6.conf.all.disable_ipv6=1"])?;
        for ifname in [if_a, if_b] {
            ns.ip(&["link", "set", ifname, "promisc", "on"])?;
        }
        let (a, b) = open_in(&ns.name, if_a, if_b)?;
        let (a, b) = (Arc::new(a), Arc::new(b));
        let stop = Arc::new(AtomicBool::new(false));
        let counters = [Arc::new(Counters::default()), Arc::new(Counters::default())];
        let mut threads = Vec::new();
        for (dir, (from, to)) in [(a.clone(), b.clone()), (b, a)].into_iter().enumerate() {
            let (tx, rx) = mpsc::sync_channel::<(Instant, Vec<u8>)>(MAX_QUEUED);
            let c = counters[dir].clone();
            let s = stop.clone();
            let mut rng = SmallRng::seed_from_u64(seed.wrapping_add(dir as u64));
            threads.push(thread::spawn(move || {
                read_loop(&from, &s, &c, |frame| {
                    if rng.r#gen::<f64>() < loss {
                        c.dropped.fetch_add(1, Ordering::Relaxed);
                    } else if tx.try_send((Instant::now() + delay, frame)).is_err() {
                        c.failed.fetch_add(1, Ordering::Relaxed);
                    }
                })
            }));
            let c = counters[dir].clone();
            let s = stop.clone();
            threads.push(thread::spawn(move || send_loop(&to, &s, &c, &rx)));
        }
        Ok(Impairment {
            stop,
            threads,
            counters,
        })
    }

    /// `[a -> b, b -> a]` so far.
    pub fn stats(&self) -> [DirectionStats; 2] {
        [self.counters[0].snapshot(), self.counters[1].snapshot()]
    }
}

impl Drop for Impairment {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One raw socket per interface, created inside `netns` by a thread that
/// enters it (setns changes only the calling thread).
fn open_in(netns: &str, if_a: &str, if_b: &str) -> Result<(OwnedFd, OwnedFd), String> {
    let netns = netns.to_string();
    let (if_a, if_b) = (if_a.to_string(), if_b.to_string());
    thread::spawn(move || {
        enter_netns(&netns)?;
        Ok((raw_socket(&if_a)?, raw_socket(&if_b)?))
    })
    .join()
    .unwrap_or_else(|_| Err("the socket thread panicked".to_string()))
}

/// Moves the calling thread into the named network namespace.
pub fn enter_netns(name: &str) -> Result<(), String> {
    let path = format!("/run/netns/{name}");
    let file = File::open(&path).map_err(|e| format!("cannot open {path}: {e}"))?;
    // SAFETY: setns on a namespace fd we hold open; CLONE_NEWNET changes only
    // this thread's network namespace.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns({path}): {}", io::Error::last_os_error()));
    }
    Ok(())
}

fn os_err(what: &str, ifname: &str) -> String {
    format!("{what} on {ifname}: {}", io::Error::last_os_error())
}

/// An `AF_PACKET` socket bound to `ifname`, every protocol, with virtio-net
/// headers and a receive timeout of [`POLL`].
fn raw_socket(ifname: &str) -> Result<OwnedFd, String> {
    let name = std::ffi::CString::new(ifname).map_err(|e| format!("{ifname}: {e}"))?;
    // SAFETY: if_nametoindex reads a NUL-terminated string we own.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(os_err("if_nametoindex", ifname));
    }
    let proto = ETH_P_ALL.to_be();
    // SAFETY: plain socket(2); the fd is owned right away.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, libc::c_int::from(proto)) };
    if fd < 0 {
        return Err(os_err("socket(AF_PACKET)", ifname));
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let on: libc::c_int = 1;
    setsockopt(fd.as_raw_fd(), libc::SOL_PACKET, PACKET_VNET_HDR, &on)
        .map_err(|e| format!("PACKET_VNET_HDR on {ifname}: {e}"))?;
    let timeout = libc::timeval {
        tv_sec: 0,
        tv_usec: POLL.as_micros() as libc::suseconds_t,
    };
    setsockopt(
        fd.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_RCVTIMEO,
        &timeout,
    )
    .map_err(|e| format!("SO_RCVTIMEO on {ifname}: {e}"))?;
    let buf: libc::c_int = 4 << 20;
    setsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, &buf)
        .map_err(|e| format!("SO_RCVBUF on {ifname}: {e}"))?;
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as libc::c_ushort;
    addr.sll_protocol = proto;
    addr.sll_ifindex = index as libc::c_int;
    // SAFETY: addr is a valid sockaddr_ll of the length passed.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const addr).cast::<libc::sockaddr>(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(os_err("bind", ifname));
    }
    Ok(fd)
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: value points to a live T of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads frames (virtio-net header included) until `stop`, skipping the
/// ones leaving this interface, and hands each to `relay`.
fn read_loop(fd: &OwnedFd, stop: &AtomicBool, c: &Counters, mut relay: impl FnMut(Vec<u8>)) {
    let mut buf = vec![0u8; FRAME_BUF];
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut from: libc::sockaddr_ll = unsafe { mem::zeroed() };
        let mut from_len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: buf and from are valid for the lengths passed.
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast::<libc::c_void>(),
                buf.len(),
                0,
                (&raw mut from).cast::<libc::sockaddr>(),
                &mut from_len,
            )
        };
        if n < 0 {
            // EAGAIN at the receive timeout, EINTR: look at `stop` again.
            continue;
        }
        if from.sll_pkttype == libc::PACKET_OUTGOING as libc::c_uchar {
            continue;
        }
        c.received.fetch_add(1, Ordering::Relaxed);
        relay(buf[..n as usize].to_vec());
    }
}

/// Sends each queued frame when it is due, until `stop`.
fn send_loop(
    fd: &OwnedFd,
    stop: &AtomicBool,
    c: &Counters,
    rx: &mpsc::Receiver<(Instant, Vec<u8>)>,
) {
    while !stop.load(Ordering::Relaxed) {
        let (due, frame) = match rx.recv_timeout(POLL) {
            Ok(item) => item,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Sleep in short steps so a stop is not held up by a long delay.
        loop {
            let now = Instant::now();
            if now >= due || stop.load(Ordering::Relaxed) {
                break;
            }
            thread::sleep((due - now).min(POLL));
        }
        // SAFETY: frame is a valid buffer of the length passed; the socket is
        // bound, so send(2) needs no address.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                frame.as_ptr().cast::<libc::c_void>(),
                frame.len(),
                0,
            )
        };
        if n == frame.len() as isize {
            c.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            c.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
