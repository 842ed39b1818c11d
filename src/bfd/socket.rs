//! The UDP sockets of RFC 5881: one receive socket on port 3784 per local
//! address, reporting each datagram's TTL / Hop Limit, and one transmit
//! socket per session on a port in 49152..=65535 sending with TTL 255.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

use rand::Rng;
use socket2::{Domain, Protocol, Socket, Type};

use super::demux::REQUIRED_TTL;

/// RFC 5881 4: the destination port of single-hop BFD Control packets.
pub const CONTROL_PORT: u16 = 3784;
/// RFC 5881 4: "The source port MUST be in the range 49152 through 65535."
const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;
/// Tries before giving up on finding a free source port.
const SOURCE_PORT_TRIES: usize = 64;
/// IP precedence 6 (Internetwork Control), as routing protocols use, so BFD
/// is not queued behind data when the link is busy.
const TOS_INTERNETWORK_CONTROL: u32 = 0xc0;

/// One datagram with what the socket knew about it.
#[derive(Debug)]
pub struct Datagram {
    pub len: usize,
    pub source: SocketAddr,
    /// The IPv4 TTL or IPv6 Hop Limit it arrived with, if the kernel said.
    pub ttl: Option<u8>,
}

fn new_socket(local: IpAddr) -> io::Result<Socket> {
    let domain = if local.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    // Binding to an address the host does not have (yet) succeeds: a session
    // started before its interface is configured stays Down until it is,
    // instead of failing to start.
    if local.is_ipv6() {
        socket.set_only_v6(true)?;
        socket.set_freebind_ipv6(true)?;
    } else {
        socket.set_freebind(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

fn set_int_option(
    socket: &Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` outlives the call and its size is passed with it.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The receive socket for `local`: bound to `local:port`, with the kernel
/// asked to report each datagram's TTL (RFC 5881 5 needs it).
pub fn bind_receive(local: IpAddr, port: u16) -> io::Result<UdpSocket> {
    let socket = new_socket(local)?;
    match local {
        IpAddr::V4(_) => set_int_option(&socket, libc::IPPROTO_IP, libc::IP_RECVTTL, 1)?,
        IpAddr::V6(_) => set_int_option(&socket, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?,
    }
    socket.bind(&SocketAddr::new(local, port).into())?;
    Ok(socket.into())
}

/// A session's transmit socket: bound to `local` and a free port in
/// 49152..=65535 (RFC 5881 4), sending with TTL / Hop Limit 255 (RFC 5881 5).
pub fn bind_transmit(local: IpAddr, rng: &mut impl Rng) -> io::Result<UdpSocket> {
    let socket = new_socket(local)?;
    match local {
        IpAddr::V4(_) => {
            socket.set_ttl(u32::from(REQUIRED_TTL))?;
            socket.set_tos(TOS_INTERNETWORK_CONTROL)?;
        }
        IpAddr::V6(_) => {
            socket.set_unicast_hops_v6(u32::from(REQUIRED_TTL))?;
            set_int_option(
                &socket,
                libc::IPPROTO_IPV6,
                libc::IPV6_TCLASS,
                TOS_INTERNETWORK_CONTROL as libc::c_int,
            )?;
        }
    }
    let mut last_error = None;
    for _ in 0..SOURCE_PORT_TRIES {
        let port = rng.gen_range(SOURCE_PORTS);
        match socket.bind(&SocketAddr::new(local, port).into()) {
            Ok(()) => return Ok(socket.into()),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse)))
}

/// `recvmsg(2)` on a nonblocking socket: the datagram into `buf`, its source
/// and its TTL / Hop Limit from the control messages.
pub fn recv_with_ttl(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<Datagram> {
    // SAFETY: all-zero is a valid sockaddr_storage and msghdr.
    let mut source: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64 words keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&mut source as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control);
    // SAFETY: every pointer in `msg` points at a live buffer of the size given.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
    let Ok(len) = usize::try_from(n) else {
        return Err(io::Error::last_os_error());
    };
    let source = socket_addr(&source).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, "datagram from a non-IP address")
    })?;
    let mut ttl = None;
    // SAFETY: `msg` was filled in by recvmsg; the CMSG macros walk within
    // msg_controllen, and each header is checked before its data is read.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let (level, kind) = ((*cmsg).cmsg_level, (*cmsg).cmsg_type);
            let is_ttl = (level == libc::IPPROTO_IP && kind == libc::IP_TTL)
                || (level == libc::IPPROTO_IPV6 && kind == libc::IPV6_HOPLIMIT);
            if is_ttl {
                let value = libc::CMSG_DATA(cmsg).cast::<libc::c_int>().read_unaligned();
                ttl = u8::try_from(value).ok();
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(Datagram {
        len: len.min(buf.len()),
        source,
        ttl,
    })
}

fn socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: ss_family says the storage holds a sockaddr_in, and
            // sockaddr_storage is large and aligned enough for it.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn a_datagram_arrives_with_its_source_and_ttl_255() {
        let mut rng = SmallRng::seed_from_u64(1);
        let local: IpAddr = Ipv4Addr::LOCALHOST.into();
        let rx = bind_receive(local, 0).expect("bind receive socket");
        let rx_addr = rx.local_addr().expect("local addr");
        let tx = bind_transmit(local, &mut rng).expect("bind transmit");
        let tx_addr = tx.local_addr().expect("local addr");
        assert!(SOURCE_PORTS.contains(&tx_addr.port()), "{tx_addr}");
        tx.send_to(b"hello", rx_addr).expect("send");
        let mut buf = [0u8; 64];
        let datagram = (0..200)
            .find_map(|_| match recv_with_ttl(&rx, &mut buf) {
                Ok(d) => Some(d),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    None
                }
                Err(e) => panic!("recvmsg: {e}"),
            })
            .expect("the datagram within a second");
        assert_eq!(&buf[..datagram.len], b"hello");
        assert_eq!(datagram.source, tx_addr);
        assert_eq!(datagram.ttl, Some(255));
    }
}
