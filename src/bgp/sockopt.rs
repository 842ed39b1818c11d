//! Socket options for BGP session security: TCP-MD5 (RFC 2385), GTSM
//! (RFC 5082) and TCP-AO (RFC 5925, Linux 6.7+), set on both outgoing and
//! listening sockets.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

use crate::config::{TcpAoAlgorithm, TcpAoKey};

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

/// Linux `TCP_SAVE_SYN` and `TCP_SAVED_SYN` (not in every libc release).
const TCP_SAVE_SYN: libc::c_int = 27;
const TCP_SAVED_SYN: libc::c_int = 28;

/// On the listening socket: SYN-ACKs go out with TTL (hop limit) 255, or a
/// peer running GTSM drops them and never connects; and the kernel keeps
/// each SYN's headers, so the TTL it arrived with can be checked per peer
/// after accept ([`syn_ttl`]): `IP_MINTTL` on a listener would apply to every
/// peer alike. Accepted sockets get each peer's own TTL and GTSM settings.
pub fn prepare_listener(socket: &impl AsRawFd, ipv6: bool) -> io::Result<()> {
    let ttl: libc::c_int = 255;
    let on: libc::c_int = 1;
    // A dual-stack socket sends IPv4 with IP_TTL and IPv6 with the hop limit.
    setsockopt(socket, libc::IPPROTO_IP, libc::IP_TTL, &ttl)?;
    if ipv6 {
        setsockopt(socket, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)?;
    }
    setsockopt(socket, libc::IPPROTO_TCP, TCP_SAVE_SYN, &on)
}

/// The TTL (IPv6: hop limit) the SYN of an accepted connection arrived
/// with, read from the headers its listener saved ([`prepare_listener`]);
/// `None` when there are none (the kernel hands them out once).
pub fn syn_ttl(stream: &impl AsRawFd) -> io::Result<Option<u8>> {
    // IP header (IPv6: 40 bytes and extension headers) and TCP header.
    let mut buf = [0u8; 512];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` is writable for `len` bytes and the kernel writes at
    // most that many, storing the length it wrote in `len`.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            TCP_SAVED_SYN,
            buf.as_mut_ptr().cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(header_ttl(&buf[..(len as usize).min(buf.len())]))
}

/// The TTL field of an IPv4 header (byte 8) or the Hop Limit of an IPv6
/// header (byte 7) at the start of `packet`.
fn header_ttl(packet: &[u8]) -> Option<u8> {
    match packet.first()? >> 4 {
        4 if packet.len() >= 20 => Some(packet[8]),
        6 if packet.len() >= 40 => Some(packet[7]),
        _ => None,
    }
}

/// RFC 5082 3: whether a packet that arrived with `ttl` came from at most
/// `hops` hops away, i.e. was sent with 255 and decremented at most
/// `hops` - 1 times.
pub fn gtsm_allows(ttl: u8, hops: u8) -> bool {
    u16::from(ttl) >= 256 - u16::from(hops.max(1))
}

// TCP-AO (RFC 5925). The libc crate does not define the socket options or
// their structs yet; these follow include/uapi/linux/tcp.h of Linux 6.7.

/// Linux `TCP_AO_ADD_KEY`: add a Master Key Tuple.
const TCP_AO_ADD_KEY: libc::c_int = 38;
/// Linux `TCP_AO_DEL_KEY`: delete one.
const TCP_AO_DEL_KEY: libc::c_int = 39;
/// Linux `TCP_AO_MAXKEYLEN`.
pub const TCP_AO_MAX_KEY_LEN: usize = 80;
/// RFC 5926 2: both algorithms truncate the MAC to 96 bits.
const TCP_AO_MAC_LEN: u8 = 12;

/// The `set_current` and `set_rnext` bit-fields, the first two bits of a
/// `__u32`: the lowest bits on a little-endian target, the highest on a
/// big-endian one (how GCC lays out bit-fields).
#[cfg(target_endian = "little")]
const AO_SET_CURRENT: u32 = 1 << 0;
#[cfg(target_endian = "little")]
const AO_SET_RNEXT: u32 = 1 << 1;
#[cfg(target_endian = "big")]
const AO_SET_CURRENT: u32 = 1 << 31;
#[cfg(target_endian = "big")]
const AO_SET_RNEXT: u32 = 1 << 30;

/// Linux `struct tcp_ao_add` (setsockopt `TCP_AO_ADD_KEY`).
#[repr(C, align(8))]
struct TcpAoAdd {
    /// The peer; port 0.
    addr: libc::sockaddr_storage,
    /// Kernel crypto name, NUL-terminated.
    alg_name: [u8; 64],
    ifindex: i32,
    /// `set_current:1, set_rnext:1, reserved:30`.
    flags: u32,
    reserved2: u16,
    /// Prefix length of `addr`: the full address, one peer.
    prefix: u8,
    sndid: u8,
    rcvid: u8,
    maclen: u8,
    keyflags: u8,
    keylen: u8,
    key: [u8; TCP_AO_MAX_KEY_LEN],
}

/// Linux `struct tcp_ao_del` (setsockopt `TCP_AO_DEL_KEY`).
#[repr(C, align(8))]
struct TcpAoDel {
    addr: libc::sockaddr_storage,
    ifindex: i32,
    /// `set_current:1, set_rnext:1, del_async:1, reserved:29`.
    flags: u32,
    reserved2: u16,
    prefix: u8,
    sndid: u8,
    rcvid: u8,
    current_key: u8,
    rnext: u8,
    keyflags: u8,
}

impl TcpAoAlgorithm {
    /// The name the kernel's crypto API knows it by. `cmac(aes128)` is the
    /// kernel's alias for RFC 5926's AES-128-CMAC with its key derivation
    /// (a master key that is not 16 bytes is first reduced to one).
    fn kernel_name(self) -> &'static str {
        match self {
            TcpAoAlgorithm::HmacSha1 => "hmac(sha1)",
            TcpAoAlgorithm::AesCmac128 => "cmac(aes128)",
        }
    }
}

/// Why TCP-AO keys could not be put on a socket.
#[derive(Debug, thiserror::Error)]
pub enum TcpAoError {
    /// The kernel has no TCP-AO at all.
    #[error(
        "TCP-AO is not supported by this kernel (it needs Linux 6.7+ built with CONFIG_TCP_AO)"
    )]
    Unsupported,
    #[error(
        "the kernel refused TCP-AO key {index} (send_id {send_id}, recv_id {recv_id}): {source}"
    )]
    Refused {
        index: usize,
        send_id: u8,
        recv_id: u8,
        source: io::Error,
    },
}

/// RFC 5925: authenticate every segment to and from `peer` with `keys`.
/// The first key is the one sent with (`Current_key`), and the peer is
/// asked to send with it too (`RNextKeyID`); the others are accepted on
/// receive, which is what lets a key be rolled over. On a `listening`
/// socket the keys apply to the connections accepted from `peer`, and Linux
/// has no current key there: each accepted connection starts with the key
/// the peer's SYN asked for. Keys with the same IDs that the socket already
/// had for `peer` are replaced.
pub fn set_tcp_ao(
    socket: &impl AsRawFd,
    peer: IpAddr,
    keys: &[TcpAoKey],
    listening: bool,
) -> Result<(), TcpAoError> {
    for (index, key) in keys.iter().enumerate() {
        let refused = |source: io::Error| {
            if source.raw_os_error() == Some(libc::ENOPROTOOPT) {
                TcpAoError::Unsupported
            } else {
                TcpAoError::Refused {
                    index,
                    send_id: key.send_id,
                    recv_id: key.recv_id,
                    source,
                }
            }
        };
        // A reload gives a changed peer its keys again: drop the old ones
        // first (there are none on a new socket: ENOENT).
        match del_tcp_ao_key(socket, peer, key.send_id, key.recv_id) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(refused(e)),
        }
        add_tcp_ao_key(socket, peer, key, index == 0 && !listening).map_err(refused)?;
    }
    Ok(())
}

/// Whether this kernel takes `keys` for `peer`: they are tried on a scratch
/// socket of the peer's family, so a missing TCP-AO, an algorithm the kernel
/// lacks or a key it refuses is found before any session starts.
pub fn check_tcp_ao(peer: IpAddr, keys: &[TcpAoKey]) -> Result<(), TcpAoError> {
    let domain = match peer {
        IpAddr::V4(_) => socket2::Domain::IPV4,
        IpAddr::V6(_) => socket2::Domain::IPV6,
    };
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, None).map_err(|source| {
        TcpAoError::Refused {
            index: 0,
            send_id: keys.first().map_or(0, |k| k.send_id),
            recv_id: keys.first().map_or(0, |k| k.recv_id),
            source,
        }
    })?;
    set_tcp_ao(&socket, peer, keys, false)
}

/// Takes `keys` for `peer` off a socket again (a listener, when the peer
/// is removed or changed); keys that are not there are no error.
pub fn del_tcp_ao(socket: &impl AsRawFd, peer: IpAddr, keys: &[TcpAoKey]) -> io::Result<()> {
    for key in keys {
        match del_tcp_ao_key(socket, peer, key.send_id, key.recv_id) {
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn sockaddr_storage(peer: IpAddr) -> libc::sockaddr_storage {
    // SAFETY: all-zero bytes are a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let addr = socket2::SockAddr::from(SocketAddr::new(peer, 0));
    // SAFETY: `addr` holds a sockaddr of `addr.len()` bytes, which fits in a
    // sockaddr_storage; the regions do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            addr.as_ptr().cast::<u8>(),
            (&mut storage as *mut libc::sockaddr_storage).cast::<u8>(),
            addr.len() as usize,
        );
    }
    storage
}

fn prefix_len(peer: IpAddr) -> u8 {
    if peer.is_ipv4() { 32 } else { 128 }
}

fn add_tcp_ao_key(
    socket: &impl AsRawFd,
    peer: IpAddr,
    key: &TcpAoKey,
    current: bool,
) -> io::Result<()> {
    let secret = key.key.as_bytes();
    if secret.is_empty() || secret.len() > TCP_AO_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a TCP-AO key is 1 to {TCP_AO_MAX_KEY_LEN} bytes long"),
        ));
    }
    // SAFETY: all-zero bytes are a valid value of this plain C struct, and
    // zero is what every reserved field must be.
    let mut add: TcpAoAdd = unsafe { std::mem::zeroed() };
    add.addr = sockaddr_storage(peer);
    let name = key.algorithm.kernel_name().as_bytes();
    add.alg_name[..name.len()].copy_from_slice(name);
    add.flags = if current {
        AO_SET_CURRENT | AO_SET_RNEXT
    } else {
        0
    };
    add.prefix = prefix_len(peer);
    add.sndid = key.send_id;
    add.rcvid = key.recv_id;
    add.maclen = TCP_AO_MAC_LEN;
    add.keylen = secret.len() as u8;
    add.key[..secret.len()].copy_from_slice(secret);
    setsockopt(socket, libc::IPPROTO_TCP, TCP_AO_ADD_KEY, &add)
}

fn del_tcp_ao_key(socket: &impl AsRawFd, peer: IpAddr, send_id: u8, recv_id: u8) -> io::Result<()> {
    // SAFETY: as in `add_tcp_ao_key`.
    let mut del: TcpAoDel = unsafe { std::mem::zeroed() };
    del.addr = sockaddr_storage(peer);
    del.prefix = prefix_len(peer);
    del.sndid = send_id;
    del.rcvid = recv_id;
    setsockopt(socket, libc::IPPROTO_TCP, TCP_AO_DEL_KEY, &del)
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
    fn gtsm_accepts_exactly_the_ttls_of_its_hop_count() {
        assert!(gtsm_allows(255, 1));
        assert!(!gtsm_allows(254, 1));
        assert!(gtsm_allows(254, 2));
        assert!(!gtsm_allows(253, 2));
        assert!(gtsm_allows(1, 255));
        assert!(!gtsm_allows(0, 255));
        // 0 hops is read as 1 (directly connected).
        assert!(!gtsm_allows(254, 0));
    }

    #[test]
    fn the_ttl_is_read_from_an_ipv4_or_ipv6_header() {
        let mut v4 = [0u8; 20];
        v4[0] = 0x45;
        v4[8] = 254;
        assert_eq!(header_ttl(&v4), Some(254));
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[7] = 253;
        assert_eq!(header_ttl(&v6), Some(253));
        assert_eq!(header_ttl(&v4[..19]), None);
        assert_eq!(header_ttl(&[]), None);
        assert_eq!(header_ttl(&[0x50; 40]), None);
    }

    /// Over loopback: the TTL a SYN was sent with (nothing decrements it
    /// there) can be read once from the accepted socket.
    #[test]
    fn a_prepared_listener_saves_the_syn_ttl_of_each_connection() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        prepare_listener(&l, false).unwrap();
        let addr = l.local_addr().unwrap();
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_ttl(200).unwrap();
        s.connect(&addr.into()).unwrap();
        let (accepted, _) = l.accept().unwrap();
        assert_eq!(syn_ttl(&accepted).unwrap(), Some(200));
        assert_eq!(syn_ttl(&accepted).unwrap(), None);
        let dual = std::net::TcpListener::bind("[::1]:0").unwrap();
        prepare_listener(&dual, true).unwrap();
    }

    /// The offsets and sizes of include/uapi/linux/tcp.h (Linux 6.7).
    #[test]
    fn tcp_ao_structs_have_the_kernel_layout() {
        use std::mem::{align_of, offset_of, size_of};
        assert_eq!(size_of::<libc::sockaddr_storage>(), 128);
        assert_eq!(offset_of!(TcpAoAdd, alg_name), 128);
        assert_eq!(offset_of!(TcpAoAdd, ifindex), 192);
        assert_eq!(offset_of!(TcpAoAdd, flags), 196);
        assert_eq!(offset_of!(TcpAoAdd, reserved2), 200);
        assert_eq!(offset_of!(TcpAoAdd, prefix), 202);
        assert_eq!(offset_of!(TcpAoAdd, sndid), 203);
        assert_eq!(offset_of!(TcpAoAdd, rcvid), 204);
        assert_eq!(offset_of!(TcpAoAdd, maclen), 205);
        assert_eq!(offset_of!(TcpAoAdd, keyflags), 206);
        assert_eq!(offset_of!(TcpAoAdd, keylen), 207);
        assert_eq!(offset_of!(TcpAoAdd, key), 208);
        assert_eq!(size_of::<TcpAoAdd>(), 288);
        assert_eq!(align_of::<TcpAoAdd>(), 8);
        assert_eq!(offset_of!(TcpAoDel, ifindex), 128);
        assert_eq!(offset_of!(TcpAoDel, flags), 132);
        assert_eq!(offset_of!(TcpAoDel, reserved2), 136);
        assert_eq!(offset_of!(TcpAoDel, prefix), 138);
        assert_eq!(offset_of!(TcpAoDel, sndid), 139);
        assert_eq!(offset_of!(TcpAoDel, rcvid), 140);
        assert_eq!(offset_of!(TcpAoDel, current_key), 141);
        assert_eq!(offset_of!(TcpAoDel, rnext), 142);
        assert_eq!(offset_of!(TcpAoDel, keyflags), 143);
        assert_eq!(size_of::<TcpAoDel>(), 144);
    }

    fn ao_key(send_id: u8, recv_id: u8, algorithm: TcpAoAlgorithm) -> TcpAoKey {
        TcpAoKey {
            send_id,
            recv_id,
            algorithm,
            key: "an AO master key".into(),
        }
    }

    /// Whichever the kernel: where TCP-AO exists both algorithms are taken,
    /// a second round replaces the keys (as a reload does), and only the
    /// right key opens a connection; where it does not, the answer is
    /// `Unsupported`, never another error.
    #[test]
    fn tcp_ao_keys_are_taken_or_the_kernel_says_it_has_no_tcp_ao() {
        let keys = [
            ao_key(1, 1, TcpAoAlgorithm::HmacSha1),
            ao_key(2, 2, TcpAoAlgorithm::AesCmac128),
        ];
        for peer in ["127.0.0.1", "::1"] {
            let peer: IpAddr = peer.parse().unwrap();
            match check_tcp_ao(peer, &keys) {
                Ok(()) => {
                    let l = std::net::TcpListener::bind(SocketAddr::new(peer, 0)).unwrap();
                    set_tcp_ao(&l, peer, &keys, true).unwrap();
                    set_tcp_ao(&l, peer, &keys, true).unwrap();
                    let addr = l.local_addr().unwrap();
                    let connect = |keys: &[TcpAoKey]| {
                        let s = socket2::Socket::new(
                            socket2::Domain::for_address(addr),
                            socket2::Type::STREAM,
                            None,
                        )
                        .unwrap();
                        set_tcp_ao(&s, peer, keys, false).unwrap();
                        s.connect_timeout(&addr.into(), std::time::Duration::from_millis(500))
                    };
                    assert!(connect(&keys).is_ok(), "{peer}: the right keys");
                    let mut wrong = keys.clone();
                    wrong[0].key = "another key".into();
                    wrong[1].key = "another key".into();
                    assert!(connect(&wrong).is_err(), "{peer}: wrong keys");
                }
                Err(TcpAoError::Unsupported) => {
                    let l = std::net::TcpListener::bind(SocketAddr::new(peer, 0)).unwrap();
                    assert!(matches!(
                        set_tcp_ao(&l, peer, &keys, true),
                        Err(TcpAoError::Unsupported)
                    ));
                }
                Err(e) => panic!("{peer}: {e}"),
            }
        }
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
