//! sd_notify(3): tell systemd when vipd is ready, reloading or stopping, and
//! feed its watchdog.
//!
//! The protocol is one datagram of `KEY=VALUE` lines to the Unix socket named
//! by `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket). Without
//! that variable (not started by systemd with `Type=notify`) every call does
//! nothing. Children (exec checks) inherit the variable, but with the default
//! `NotifyAccess=main` systemd ignores whatever they send.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, warn};

/// Sends notifications to systemd, if it asked for them.
#[derive(Clone, Default)]
pub struct Notifier {
    target: Option<Arc<Target>>,
}

struct Target {
    /// As given, for messages.
    name: String,
    addr: SocketAddr,
    socket: UnixDatagram,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`; a notifier that does nothing without it.
    pub fn from_env() -> Notifier {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(name) if !name.is_empty() => Notifier::to_socket(&name).unwrap_or_else(|e| {
                warn!(socket = %name, error = %e, "cannot use NOTIFY_SOCKET; not notifying systemd");
                Notifier::default()
            }),
            _ => Notifier::default(),
        }
    }

    /// Notifies the socket named `name` (`/path` or `@abstract`).
    pub fn to_socket(name: &str) -> io::Result<Notifier> {
        let addr = match name.strip_prefix('@') {
            Some(abstract_name) => abstract_addr(abstract_name.as_bytes())?,
            None if name.starts_with('/') => SocketAddr::from_pathname(name)?,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "neither an absolute path nor an @abstract name",
                ));
            }
        };
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        Ok(Notifier {
            target: Some(Arc::new(Target {
                name: name.to_string(),
                addr,
                socket,
            })),
        })
    }

    /// Whether systemd listens.
    pub fn is_active(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one notification (`READY=1`, several lines allowed). Best
    /// effort: systemd going away must not stop vipd.
    pub fn notify(&self, state: &str) {
        let Some(target) = &self.target else {
            return;
        };
        match target.socket.send_to_addr(state.as_bytes(), &target.addr) {
            Ok(_) => debug!(state = %state.replace('\n', " "), "sd_notify"),
            Err(e) => warn!(socket = %target.name, error = %e, "sd_notify failed"),
        }
    }

    /// The config is loaded, every socket bound, every task started.
    pub fn ready(&self) {
        self.notify("READY=1");
    }

    /// A reload begins; `READY=1` ends it. systemd (253 and later) wants the
    /// monotonic time with it.
    pub fn reloading(&self) {
        self.notify(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    }

    /// Shutdown begins (VIPs are withdrawn, sessions closed).
    pub fn stopping(&self, reason: &str) {
        self.notify(&format!("STOPPING=1\nSTATUS={}", one_line(reason)));
    }

    /// The free-text line `systemctl status` shows.
    pub fn status(&self, text: &str) {
        self.notify(&format!("STATUS={}", one_line(text)));
    }

    pub fn watchdog(&self) {
        self.notify("WATCHDOG=1");
    }
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC` (as
/// sd_watchdog_enabled(3) advises), if the watchdog is on and meant for this
/// process (`$WATCHDOG_PID`, when set, is our pid).
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.trim().parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    (usec > 0).then(|| Duration::from_micros(usec) / 2)
}

fn abstract_addr(name: &[u8]) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

fn one_line(text: &str) -> String {
    text.replace('\n', " ")
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd compares against.
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass and nothing
    // else; CLOCK_MONOTONIC is always available on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or_default();
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or_default();
    secs * 1_000_000 + nanos / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn notifications_reach_a_socket_named_by_path() {
        let dir = super::super::tests::TempDir::new("notify-path");
        let path = dir.path().join("notify.sock");
        let systemd = UnixDatagram::bind(&path).expect("bind");
        let notifier = Notifier::to_socket(path.to_str().expect("utf-8")).expect("notifier");
        assert!(notifier.is_active());
        notifier.ready();
        assert_eq!(received(&systemd), "READY=1");
        notifier.stopping("vipd stopped (SIGTERM)");
        assert_eq!(
            received(&systemd),
            "STOPPING=1\nSTATUS=vipd stopped (SIGTERM)"
        );
        notifier.reloading();
        let reloading = received(&systemd);
        assert!(
            reloading.starts_with("RELOADING=1\nMONOTONIC_USEC=")
                && reloading["RELOADING=1\nMONOTONIC_USEC=".len()..]
                    .parse::<u64>()
                    .is_ok_and(|t| t > 0),
            "{reloading:?}"
        );
    }

    #[test]
    fn notifications_reach_an_abstract_socket() {
        let name = format!("vipd-test-notify-{}", std::process::id());
        let systemd = UnixDatagram::bind_addr(&abstract_addr(name.as_bytes()).expect("addr"))
            .expect("bind abstract");
        let notifier = Notifier::to_socket(&format!("@{name}")).expect("notifier");
        notifier.watchdog();
        assert_eq!(received(&systemd), "WATCHDOG=1");
    }

    #[test]
    fn without_a_socket_nothing_is_sent_and_nothing_fails() {
        let notifier = Notifier::default();
        assert!(!notifier.is_active());
        notifier.ready();
        assert!(Notifier::to_socket("relative/notify.sock").is_err());
    }
}
