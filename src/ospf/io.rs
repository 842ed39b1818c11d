//! The tokio driver: the only OSPF code that touches sockets, interfaces
//! and the clock.
//!
//! One task per OSPF version owns its [`Instance`], a raw IP protocol 89
//! socket per interface (bound to the device, joined to AllSPFRouters, TTL
//! 1), and one `sleep_until` for the instance's next deadline. A reader task
//! per socket turns datagrams into inputs. Interfaces are looked at once a
//! second (operstate, MTU, addresses), and every change becomes an
//! `InterfaceUp`/`InterfaceDown` input.

use std::collections::BTreeMap;
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::OspfError;
use super::instance::{Event, Input, Instance, InstanceConfig, Output};
use super::interface::{IfaceId, InterfaceAddrs};
use super::status::OspfStatus;
use super::wire::Version;
use super::wire::iana::IP_PROTOCOL;
use crate::vip::DesiredSet;

/// How often interfaces are looked at.
const INTERFACE_POLL: Duration = Duration::from_secs(1);
/// How often, at most, the status snapshot is rebuilt.
const STATUS_EVERY: Duration = Duration::from_millis(200);
/// IP precedence "internetwork control" (RFC 2328 A.1), as TOS/traffic class.
const TOS_INTERNETWORK_CONTROL: u32 = 0xc0;
const RECV_BUFFER: usize = 65_535;

/// One received datagram.
struct Datagram {
    iface: IfaceId,
    src: IpAddr,
    dst: IpAddr,
    data: Vec<u8>,
}

/// An interface's socket and its reader task.
struct Link {
    socket: Arc<AsyncFd<Socket>>,
    reader: JoinHandle<()>,
    addrs: InterfaceAddrs,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Runs one instance until shutdown has flushed everything.
pub(crate) async fn run_instance(
    cfg: InstanceConfig,
    mut vip_costs: watch::Receiver<BTreeMap<IpNet, u32>>,
    mut desired: watch::Receiver<DesiredSet>,
    mut shutdown: watch::Receiver<Option<String>>,
    status: watch::Sender<Vec<OspfStatus>>,
) -> Result<(), OspfError> {
    let version = cfg.version;
    // Fail at once, and clearly, without the privilege for raw sockets.
    open_socket(version).map_err(|source| OspfError::Socket {
        version,
        iface: None,
        source,
    })?;
    let names: Vec<String> = cfg.interfaces.iter().map(|i| i.name.clone()).collect();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    let mut inst = Instance::new(cfg, now(), seed);
    let mut said_waiting = vec![false; names.len()];
    let mut links: Vec<Option<Link>> = names.iter().map(|_| None).collect();
    let (tx, mut rx) = mpsc::channel::<Datagram>(1024);
    let mut poll = tokio::time::interval(INTERFACE_POLL);
    let mut desired_open = true;
    let mut shutdown_open = true;
    let mut shutting_down = false;

    let vips = wanted_vips(
        version,
        &vip_costs.borrow_and_update(),
        desired.borrow_and_update().keys(),
    );
    let out = inst.handle(now(), Input::Vips(vips));
    let mut costs_open = true;
    if apply(version, &names, &links, out) {
        return Ok(());
    }
    publish(&status, inst.status(now()));
    let mut published = Instant::now();
    loop {
        let deadline = inst.poll_timeout().map(Instant::from_std);
        // Biased, in this order: shutdown before the VIP changes that follow
        // it (the daemon stops OSPF first, then withdraws the VIPs; taking
        // those first would re-originate an LSA just before its flush, which
        // routers discard under MinLSArrival); VIP changes, timers and the
        // interface poll before packets, so a flood cannot starve them.
        let out = tokio::select! {
            biased;
            changed = shutdown.changed(), if shutdown_open && !shutting_down => {
                let reason = shutdown.borrow().clone();
                if changed.is_err() {
                    shutdown_open = false;
                }
                if reason.is_none() && changed.is_ok() {
                    Vec::new()
                } else {
                    info!(%version, reason = reason.as_deref().unwrap_or("shutdown channel closed"), "OSPF: flushing every LSA vipd originated");
                    shutting_down = true;
                    inst.handle(now(), Input::Shutdown)
                }
            }
            changed = desired.changed(), if desired_open && !shutting_down => {
                if changed.is_err() {
                    desired_open = false;
                }
                let vips = wanted_vips(version, &vip_costs.borrow(), desired.borrow_and_update().keys());
                inst.handle(now(), Input::Vips(vips))
            }
            // A reload changed which VIPs are in OSPF, or their costs.
            changed = vip_costs.changed(), if costs_open && !shutting_down => {
                if changed.is_err() {
                    costs_open = false;
                }
                let vips = wanted_vips(version, &vip_costs.borrow_and_update(), desired.borrow().keys());
                inst.handle(now(), Input::Vips(vips))
            }
            _ = sleep_until(deadline) => inst.handle_timeout(now()),
            _ = poll.tick(), if !shutting_down => {
                let mut out = Vec::new();
                for (id, name) in names.iter().enumerate() {
                    out.extend(refresh_interface(version, &mut inst, &mut links, id, name, &tx, &mut said_waiting[id]));
                }
                out
            }
            Some(d) = rx.recv() => inst.handle(now(), Input::Packet { iface: d.iface, src: d.src, dst: d.dst, data: &d.data }),
        };
        let done = apply(version, &names, &links, out);
        // The snapshot walks the database: at most a few times a second
        // (a flood of packets must not make every packet cost that), and
        // at least every INTERFACE_POLL and at the end.
        if done || published.elapsed() >= STATUS_EVERY {
            publish(&status, inst.status(now()));
            published = Instant::now();
        }
        if done {
            return Ok(());
        }
    }
}

/// Replaces this version's entry in the published status, waking readers
/// only when something changed.
fn publish(status: &watch::Sender<Vec<OspfStatus>>, now: OspfStatus) {
    status.send_if_modified(
        |all| match all.iter_mut().find(|s| s.version == now.version) {
            Some(s) if *s == now => false,
            Some(s) => {
                *s = now;
                true
            }
            None => {
                all.push(now);
                all.sort_by_key(|s| s.version);
                true
            }
        },
    );
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The desired VIPs of this version's family that opted into OSPF.
fn wanted_vips<'a>(
    version: Version,
    costs: &BTreeMap<IpNet, u32>,
    desired: impl Iterator<Item = &'a IpNet>,
) -> BTreeMap<IpNet, u32> {
    desired
        .filter(|p| {
            matches!(
                (version, p),
                (Version::V2, IpNet::V4(_)) | (Version::V3, IpNet::V6(_))
            )
        })
        .filter_map(|p| costs.get(p).map(|c| (*p, *c)))
        .collect()
}

/// Carries out the instance's outputs; true once shutdown is complete.
fn apply(version: Version, names: &[String], links: &[Option<Link>], out: Vec<Output>) -> bool {
    let mut done = false;
    for o in out {
        match o {
            Output::Send { iface, dst, data } => {
                let Some(link) = links.get(iface).and_then(Option::as_ref) else {
                    continue;
                };
                if let Err(e) = send(link, dst, &data) {
                    debug!(%version, iface = %names[iface], %dst, error = %e, "OSPF: send failed (the protocol retransmits)");
                }
            }
            Output::Event(e) => log_event(version, names, e),
            Output::ShutdownComplete => done = true,
        }
    }
    done
}

/// The one place each OSPF event is logged.
fn log_event(version: Version, names: &[String], e: Event) {
    let name = |i: IfaceId| names.get(i).map_or("?", String::as_str);
    match e {
        Event::InterfaceState { iface, from, to } => {
            info!(%version, iface = name(iface), %from, %to, "OSPF interface state")
        }
        Event::NeighborState {
            iface,
            router_id,
            from,
            to,
            event,
        } => {
            info!(%version, iface = name(iface), neighbor = %router_id, %from, %to, %event, "OSPF neighbor state")
        }
        Event::DrElected { iface, dr, bdr } => {
            info!(%version, iface = name(iface), %dr, %bdr, "OSPF DR/BDR")
        }
        Event::PacketDropped {
            iface,
            reason,
            detail,
        } => match reason {
            "authentication"
            | "hello_interval_mismatch"
            | "dead_interval_mismatch"
            | "hello_mask_mismatch"
            | "options_mismatch"
            | "mtu_mismatch"
            | "area_mismatch" => {
                warn!(%version, iface = name(iface), reason, %detail, "OSPF packet dropped")
            }
            _ => debug!(%version, iface = name(iface), reason, %detail, "OSPF packet dropped"),
        },
        Event::Originated { key, seq } => {
            info!(%version, lsa = %key, seq = format_args!("{seq:#010x}"), "OSPF LSA originated")
        }
        Event::OriginationDeferred { key, at } => {
            let wait = at.saturating_duration_since(now());
            info!(%version, lsa = %key, ?wait, "OSPF LSA change held by MinLSInterval")
        }
        Event::Flushed { key } => info!(%version, lsa = %key, "OSPF LSA flushed"),
        Event::FlushUnacknowledged {
            iface,
            router_id,
            lsas,
        } => {
            let lsas: Vec<String> = lsas.iter().map(ToString::to_string).collect();
            warn!(%version, iface = name(iface), neighbor = %router_id, lsas = %lsas.join("; "), "OSPF: shutting down without an acknowledgment of these flushes")
        }
    }
}

/// Looks at one interface and tells the instance what changed.
fn refresh_interface(
    version: Version,
    inst: &mut Instance,
    links: &mut [Option<Link>],
    id: IfaceId,
    name: &str,
    tx: &mpsc::Sender<Datagram>,
    said_waiting: &mut bool,
) -> Vec<Output> {
    let seen = read_interface(version, name);
    if seen.is_some() {
        *said_waiting = false;
    } else if links[id].is_none() && !*said_waiting {
        *said_waiting = true;
        info!(%version, iface = name, "OSPF: interface missing, down, or without the address this version needs; looking again every second");
    }
    let current = links[id].as_ref().map(|l| &l.addrs);
    match (seen, current) {
        (Some(addrs), Some(cur)) if *cur == addrs => Vec::new(),
        (Some(addrs), cur) => {
            let same_socket =
                cur.is_some_and(|c| c.ifindex == addrs.ifindex && c.ipv4 == addrs.ipv4);
            if !same_socket {
                links[id] = None;
                match open_link(version, id, name, &addrs, tx.clone()) {
                    Ok(link) => links[id] = Some(link),
                    Err(e) => {
                        warn!(%version, iface = name, error = %e, "OSPF: cannot open a socket on the interface; retrying");
                        return Vec::new();
                    }
                }
            } else if let Some(l) = links[id].as_mut() {
                l.addrs = addrs.clone();
            }
            inst.handle(now(), Input::InterfaceUp { iface: id, addrs })
        }
        (None, Some(_)) => {
            links[id] = None;
            inst.handle(now(), Input::InterfaceDown { iface: id })
        }
        (None, None) => Vec::new(),
    }
}

/// The interface as the kernel has it, if it is up with what this version
/// needs (an IPv4 address; a link-local IPv6 address). Asked with ioctls
/// and getifaddrs (netlink) rather than read from /sys, which shows the
/// network namespace it was mounted in, not necessarily ours.
fn read_interface(version: Version, name: &str) -> Option<InterfaceAddrs> {
    let probe = Socket::new(Domain::IPV4, Type::DGRAM, None).ok()?;
    let flags = ifreq(&probe, name, libc::SIOCGIFFLAGS).ok()?;
    let flags = i16::from_ne_bytes([flags[0], flags[1]]) as libc::c_int;
    // Administratively up and with carrier.
    if flags & libc::IFF_UP == 0 || flags & libc::IFF_RUNNING == 0 {
        return None;
    }
    let int = |b: [u8; IFREQ_DATA]| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    let mtu =
        int(ifreq(&probe, name, libc::SIOCGIFMTU).ok()?).clamp(68, i32::from(u16::MAX)) as u16;
    let ifindex = u32::try_from(int(ifreq(&probe, name, libc::SIOCGIFINDEX).ok()?)).ok()?;
    // getifaddrs leaves link-local IPv6 addresses out; /proc/thread-self
    // (not /proc/self) shows this thread's network namespace.
    let ipv4 = if_addrs::get_if_addrs()
        .ok()?
        .into_iter()
        .filter(|a| a.name == name)
        .find_map(|a| match a.addr {
            if_addrs::IfAddr::V4(v4) => {
                Ipv4Net::new(v4.ip, u32::from(v4.netmask).count_ones() as u8).ok()
            }
            if_addrs::IfAddr::V6(_) => None,
        });
    let inet6 = std::fs::read_to_string("/proc/thread-self/net/if_inet6").unwrap_or_default();
    let (link_local, mut ipv6_prefixes) = parse_if_inet6(&inet6, name);
    match version {
        Version::V2 if ipv4.is_none() => return None,
        Version::V3 if link_local.is_none() => return None,
        _ => {}
    }
    ipv6_prefixes.sort();
    Some(InterfaceAddrs {
        ifindex,
        mtu,
        ipv4,
        link_local,
        ipv6_prefixes,
    })
}

/// The usable IPv6 addresses of `name` in `/proc/net/if_inet6` format
/// ("fe80000000000000885de6fffe1dde16 02 40 20 80 eth1": address, index,
/// prefix length, scope, flags, name; all hex): its link-local address and
/// its other prefixes. Tentative and DAD-failed addresses are skipped.
fn parse_if_inet6(text: &str, name: &str) -> (Option<Ipv6Addr>, Vec<Ipv6Net>) {
    const IFA_F_TENTATIVE: u32 = 0x40;
    const IFA_F_DADFAILED: u32 = 0x08;
    let mut link_local = None;
    let mut prefixes = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let [addr, _index, len, _scope, flags, ifname] = cols[..] else {
            continue;
        };
        if ifname != name {
            continue;
        }
        let (Ok(addr), Ok(len), Ok(flags)) = (
            u128::from_str_radix(addr, 16),
            u8::from_str_radix(len, 16),
            u32::from_str_radix(flags, 16),
        ) else {
            continue;
        };
        if flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) != 0 {
            continue;
        }
        let addr = Ipv6Addr::from(addr);
        if addr.is_unicast_link_local() {
            link_local = link_local.or(Some(addr));
        } else if !addr.is_loopback() {
            prefixes.extend(Ipv6Net::new(addr, len).ok());
        }
    }
    (link_local, prefixes)
}

/// Linux `struct ifreq`: the name, then a 24-octet union.
const IFREQ_DATA: usize = 24;
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    data: [u8; IFREQ_DATA],
}

/// One `SIOCGIF*` ioctl; returns the union's octets.
fn ifreq(socket: &Socket, name: &str, request: libc::Ioctl) -> io::Result<[u8; IFREQ_DATA]> {
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: [0; IFREQ_DATA],
    };
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name too long",
        ));
    }
    req.name[..bytes.len()].copy_from_slice(bytes);
    // SAFETY: `req` is a live, correctly sized struct ifreq for the
    // SIOCGIF* requests, which only write into it.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), request, &mut req as *mut IfReq) };
    if rc == 0 {
        Ok(req.data)
    } else {
        Err(io::Error::last_os_error())
    }
}

fn open_socket(version: Version) -> io::Result<Socket> {
    let domain = match version {
        Version::V2 => Domain::IPV4,
        Version::V3 => Domain::IPV6,
    };
    let socket = Socket::new(
        domain,
        Type::RAW,
        Some(Protocol::from(i32::from(IP_PROTOCOL))),
    )?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A raw socket for one interface: bound to it, in AllSPFRouters, TTL 1,
/// no loopback of our own multicast.
fn open_link(
    version: Version,
    iface: IfaceId,
    name: &str,
    addrs: &InterfaceAddrs,
    tx: mpsc::Sender<Datagram>,
) -> io::Result<Link> {
    let socket = open_socket(version)?;
    socket.bind_device(Some(name.as_bytes()))?;
    match version {
        Version::V2 => {
            let local = addrs.ipv4.map_or(Ipv4Addr::UNSPECIFIED, |n| n.addr());
            socket.join_multicast_v4_n(
                &Ipv4Addr::new(224, 0, 0, 5),
                &InterfaceIndexOrAddress::Index(addrs.ifindex),
            )?;
            socket.set_multicast_if_v4(&local)?;
            socket.set_multicast_ttl_v4(1)?;
            socket.set_multicast_loop_v4(false)?;
            socket.set_tos(TOS_INTERNETWORK_CONTROL)?;
        }
        Version::V3 => {
            socket.join_multicast_v6(&Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 5), addrs.ifindex)?;
            socket.set_multicast_if_v6(addrs.ifindex)?;
            socket.set_multicast_hops_v6(1)?;
            socket.set_unicast_hops_v6(1)?;
            socket.set_multicast_loop_v6(false)?;
            socket.set_tclass_v6(TOS_INTERNETWORK_CONTROL)?;
            // RFC 5340 A.1: the kernel computes and verifies the checksum at
            // offset 12 (the pseudo-header needs addresses only it knows).
            set_ipv6_checksum(&socket, 12)?;
        }
    }
    // SAFETY: a socket2 Socket owns its descriptor: it stays open and is the
    // same one until the Socket is dropped together with the AsyncFd.
    let socket = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
        .map_err(io::Error::from)?;
    let socket = Arc::new(socket);
    let reader = tokio::spawn(read_loop(version, iface, socket.clone(), tx));
    Ok(Link {
        socket,
        reader,
        addrs: addrs.clone(),
    })
}

fn set_ipv6_checksum(socket: &Socket, offset: libc::c_int) -> io::Result<()> {
    // SAFETY: setsockopt with a pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_CHECKSUM,
            (&offset as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

async fn read_loop(
    version: Version,
    iface: IfaceId,
    socket: Arc<AsyncFd<Socket>>,
    tx: mpsc::Sender<Datagram>,
) {
    let mut buf = vec![MaybeUninit::<u8>::uninit(); RECV_BUFFER];
    loop {
        let Ok(mut guard) = socket.readable().await else {
            return;
        };
        let received = guard.try_io(|s| s.get_ref().recv_from(&mut buf));
        let (n, from) = match received {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                debug!(%version, error = %e, "OSPF: receive failed");
                continue;
            }
            Err(_would_block) => continue,
        };
        // SAFETY: recv_from initialised the first `n` octets.
        let bytes: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
        let datagram = match version {
            // A raw IPv4 socket hands over the IP header too.
            Version::V2 => match split_ipv4(bytes) {
                Some((src, dst, payload)) => Datagram {
                    iface,
                    src: src.into(),
                    dst: dst.into(),
                    data: payload.to_vec(),
                },
                None => continue,
            },
            // IPv6 raw sockets deliver the payload only; the destination is
            // not reported, and only AllSPFRouters and unicast to us arrive
            // (vipd never joins AllDRouters).
            Version::V3 => match from.as_socket() {
                Some(SocketAddr::V6(a)) => Datagram {
                    iface,
                    src: IpAddr::V6(*a.ip()),
                    dst: IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 5)),
                    data: bytes.to_vec(),
                },
                _ => continue,
            },
        };
        if tx.try_send(datagram).is_err() && tx.is_closed() {
            return;
        }
    }
}

/// Source, destination and payload of an IPv4 datagram.
fn split_ipv4(bytes: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, &[u8])> {
    let ihl = usize::from(*bytes.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]));
    if ihl < 20 || bytes.len() < ihl {
        return None;
    }
    let src = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
    let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
    // Linux reports the total length of the reassembled datagram; trust the
    // octets we have if it disagrees.
    let end = if total >= ihl && total <= bytes.len() {
        total
    } else {
        bytes.len()
    };
    Some((src, dst, &bytes[ihl..end]))
}

fn send(link: &Link, dst: IpAddr, data: &[u8]) -> io::Result<()> {
    let addr = match dst {
        IpAddr::V4(a) => SockAddr::from(SocketAddr::new(IpAddr::V4(a), 0)),
        IpAddr::V6(a) => SockAddr::from(SocketAddrV6::new(a, 0, 0, link.addrs.ifindex)),
    };
    link.socket.get_ref().send_to(data, &addr).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_headers_are_split_off_with_options() {
        let mut d = vec![
            0x46, 0, 0, 32, 0, 0, 0, 0, 1, 89, 0, 0, 10, 255, 1, 1, 224, 0, 0, 5, 1, 2, 3, 4,
        ];
        d.extend_from_slice(&[9; 8]);
        let (src, dst, payload) = split_ipv4(&d).unwrap();
        assert_eq!(
            (src, dst, payload),
            (
                Ipv4Addr::new(10, 255, 1, 1),
                Ipv4Addr::new(224, 0, 0, 5),
                &[9u8; 8][..]
            )
        );
        assert!(split_ipv4(&d[..10]).is_none());
    }

    #[test]
    fn if_inet6_lines_give_the_link_local_address_and_settled_prefixes() {
        let text = "fd000255009900000000000000000001 02 40 00 80     eth1\n\
                    fe80000000000000885de6fffe1dde16 02 40 20 80     eth1\n\
                    fd000255009900000000000000000002 02 40 00 c0     eth1\n\
                    fe800000000000000000000000000009 03 40 20 80     eth2\n";
        let (ll, prefixes) = parse_if_inet6(text, "eth1");
        assert_eq!(ll, Some("fe80::885d:e6ff:fe1d:de16".parse().unwrap()));
        assert_eq!(
            prefixes,
            vec!["fd00:255:99::1/64".parse().unwrap()],
            "the tentative one is skipped"
        );
        assert_eq!(parse_if_inet6(text, "eth3"), (None, vec![]));
    }

    #[test]
    fn only_opted_in_vips_of_the_instances_family_are_wanted() {
        let desired: Vec<IpNet> = ["198.18.0.10/32", "198.18.0.11/32", "fd00:198:18::10/128"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        let costs: BTreeMap<IpNet, u32> = [
            ("198.18.0.10/32", 5),
            ("fd00:198:18::10/128", 1),
            ("198.18.0.99/32", 1),
        ]
        .iter()
        .map(|(p, c)| (p.parse().unwrap(), *c))
        .collect();
        let v4 = wanted_vips(Version::V2, &costs, desired.iter());
        assert_eq!(
            v4.into_iter().collect::<Vec<_>>(),
            vec![("198.18.0.10/32".parse().unwrap(), 5)]
        );
        let v6 = wanted_vips(Version::V3, &costs, desired.iter());
        assert_eq!(v6.len(), 1);
    }
}
