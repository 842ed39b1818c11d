//! Socket options for BGP session security: TCP-MD5 (RFC 2385) and GTSM
//! (RFC 5082), set on both outgoing and listening sockets.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

/// Linux `TCP_MD5SIG_MAXKEYLEN`.
pub const MD5_MAX_KEY_LEN: usize = 80;

/// Linux `struct tcp_md5sig` (include/uapi/linux/tcp.h).
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: u32,
    key: [u8; MD5_MAX_KEY_LEN],
}

/// RFC 2385: sign every segment to and from `peer` with `key`; an empty key
/// removes the signature. On a listening socket it applies to connections
/// accepted from `peer`.
pub fn set_tcp_md5(socket: &impl AsRawFd, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP-MD5 key longer than {MD5_MAX_KEY_LEN} bytes"),
        ));
    }
    // SAFETY: all-zero bytes are a valid value of this plain C struct.
    let mut sig: TcpMd5Sig = unsafe { std::mem::zeroed() };
    let addr = socket2::SockAddr::from(SocketAddr::new(peer, 0));
    // SAFETY: `addr` holds a sockaddr of `addr.len()` bytes, which fits in a
    // sockaddr_storage; the regions do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            addr.as_ptr().cast::<u8>(),
            (&mut sig.addr as *mut libc::sockaddr_storage).cast::<u8>(),
            addr.len() as usize,
        );
    }
    sig.keylen = key.len() as u16;
    sig.key[..key.len()].copy_from_slice(key);
    setsockopt(socket, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// RFC 5082 GTSM: send with TTL (hop limit) 255 and accept only packets that
/// arrive with at least 255 - `hops` + 1, i.e. from at most `hops` hops away.
pub fn set_gtsm(socket: &impl AsRawFd, ipv6: bool, hops: u8) -> io::Result<()> {
    let min: libc::c_int = 256 - libc::c_int::from(hops.max(1));
    let ttl: libc::c_int = 255;
    if ipv6 {
        setsockopt(socket, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)?;
        setsockopt(socket, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &min)
    } else {
        setsockopt(socket, libc::IPPROTO_IP, libc::IP_TTL, &ttl)?;
        setsockopt(socket, libc::IPPROTO_IP, libc::IP_MINTTL, &min)
    }
}

fn setsockopt<T>(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` points to a live T of the size we pass.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_and_gtsm_options_are_accepted_by_the_kernel() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_tcp_md5(&l, "127.0.0.1".parse().unwrap(), b"secret").unwrap();
        // An empty key removes it again.
        set_tcp_md5(&l, "127.0.0.1".parse().unwrap(), b"").unwrap();
        set_gtsm(&l, false, 1).unwrap();
        assert!(set_tcp_md5(&l, "127.0.0.1".parse().unwrap(), &[0u8; 81]).is_err());
    }

    #[test]
    fn md5_keys_must_match_for_a_connection_to_open() {
        use std::time::Duration;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        set_tcp_md5(&l, "127.0.0.1".parse().unwrap(), b"right").unwrap();
        let connect = |key: &[u8]| {
            let s =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            set_tcp_md5(&s, "127.0.0.1".parse().unwrap(), key).unwrap();
            s.connect_timeout(&addr.into(), Duration::from_millis(500))
        };
        assert!(connect(b"right").is_ok());
        // A wrong key's SYN is dropped by the listener's kernel: no connection.
        assert!(connect(b"wrong").is_err());
    }
}
