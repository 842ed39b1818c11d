//! Event sources that make the runner re-probe at once instead of at the next
//! interval.
//!
//! - tcp/http with `watch = true`: one idle TCP connection to the service.
//!   When the service dies its kernel closes the connection, and a read on
//!   ours returns 0 (FIN) or an error (RST): for a local service that is
//!   microseconds, where polling would take up to an interval. Data the
//!   service sends (a banner) is read and ignored.
//! - process: a pidfd of the process named by the pidfile, which becomes
//!   readable the moment the process exits.
//! - interface: the kernel's RTNLGRP_LINK notifications for the link, in
//!   both directions (see `link`).
//!
//! An event only triggers a probe; the probe's result goes through rise/fall
//! like any other, so a false alarm (a service that closes idle connections)
//! costs one extra probe, not a state change.

use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::TcpStream;

use super::link::LinkWatch;
use super::probe::{connect, io_detail, pidfd_open, read_pid};
use super::runner::Watch;
use crate::config::{CheckConfig, CheckKind, Endpoint};

pub(crate) enum Watcher {
    /// The check is polled only.
    Off,
    Connection {
        endpoint: Endpoint,
        /// For opening the idle connection.
        timeout: Duration,
        stream: Option<TcpStream>,
    },
    Process {
        pidfile: PathBuf,
        /// The pid and its pidfd.
        watched: Option<(libc::pid_t, AsyncFd<OwnedFd>)>,
    },
    /// Always armed: a link coming up matters as much as one going down.
    Link(LinkWatch),
}

impl Watcher {
    pub(crate) fn new(check: &CheckConfig) -> Self {
        let connection = |endpoint| Watcher::Connection {
            endpoint,
            timeout: check.timeout,
            stream: None,
        };
        match &check.kind {
            CheckKind::Tcp(t) if t.watch => connection(t.address.clone()),
            CheckKind::Http(h) if h.watch => match h.endpoint() {
                Some(endpoint) => connection(endpoint),
                None => Watcher::Off,
            },
            CheckKind::Process(p) => Watcher::Process {
                pidfile: p.pidfile.clone(),
                watched: None,
            },
            CheckKind::Interface(i) => Watcher::Link(LinkWatch::new(&i.name)),
            _ => Watcher::Off,
        }
    }
}

impl Watch for Watcher {
    async fn arm(&mut self) {
        match self {
            Watcher::Off | Watcher::Link(_) => {}
            Watcher::Connection {
                endpoint,
                timeout,
                stream,
            } => {
                if stream.is_none() {
                    *stream = tokio::time::timeout(*timeout, connect(endpoint))
                        .await
                        .ok()
                        .and_then(Result::ok);
                }
            }
            Watcher::Process { pidfile, watched } => {
                let Ok(pid) = read_pid(pidfile).await else {
                    *watched = None;
                    return;
                };
                if watched.as_ref().is_some_and(|(p, _)| *p == pid) {
                    return;
                }
                *watched = pidfd_open(pid)
                    .and_then(|fd| {
                        // SAFETY: an OwnedFd stays open and returns the same
                        // descriptor until it is dropped with the AsyncFd.
                        unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
                            .map_err(io::Error::from)
                    })
                    .ok()
                    .map(|fd| (pid, fd));
            }
        }
    }

    fn disarm(&mut self) {
        match self {
            Watcher::Off | Watcher::Link(_) => {}
            Watcher::Connection { stream, .. } => *stream = None,
            Watcher::Process { watched, .. } => *watched = None,
        }
    }

    async fn fired(&mut self) -> String {
        match self {
            Watcher::Off => std::future::pending().await,
            Watcher::Connection { stream, .. } => {
                let Some(s) = stream else {
                    return std::future::pending().await;
                };
                let what = closed(s).await;
                *stream = None;
                what
            }
            Watcher::Process { watched, .. } => {
                let Some((pid, fd)) = watched else {
                    return std::future::pending().await;
                };
                let pid = *pid;
                // A pidfd is readable exactly when the process has exited;
                // an error here also means it cannot be watched any more.
                let _ = fd.readable().await;
                *watched = None;
                format!("process {pid} exited")
            }
            Watcher::Link(link) => link.changed().await,
        }
    }
}

/// Resolves when the peer closes or resets the connection. Cancel-safe.
async fn closed(stream: &TcpStream) -> String {
    let mut buf = [0u8; 1024];
    loop {
        if let Err(e) = stream.readable().await {
            return format!("watched connection failed: {}", io_detail(&e));
        }
        match stream.try_read(&mut buf) {
            Ok(0) => return "watched connection closed".into(),
            // A banner or other unsolicited data: not our business.
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                return format!("watched connection failed: {}", io_detail(&e));
            }
        }
    }
}
