//! The HTTP endpoint of lease checks (`http = "127.0.0.1:PORT"`), for
//! applications that would rather `curl` than run `vipd lease`:
//!
//! ```text
//! POST /lease/NAME[?ttl=10s]   renew (PUT too)     200 "NAME renewed for 10s"
//! DELETE /lease/NAME           release: down now   200 "NAME released"
//! GET /lease/NAME              the state           200 "NAME up, 4s 200ms left (ttl 5s)"
//! ```
//!
//! Lease checks naming the same address share one listener; each answers
//! only for the leases that named it (404 for others). The listener is on
//! loopback (the config insists): renewing needs no credentials.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode, header};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::lease::{LeaseError, LeaseHandle};

/// A client that sends no complete request head by then is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 64;

/// One listening endpoint; stops listening when dropped.
pub(crate) struct LeaseServer {
    /// The leases this address answers for.
    names: watch::Sender<BTreeSet<String>>,
    task: JoinHandle<()>,
}

impl Drop for LeaseServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LeaseServer {
    /// Listens on `addr` at once (so a port in use is reported now) and
    /// serves the leases in `names` from `leases`. Must run inside a tokio
    /// runtime.
    pub(crate) fn bind(
        addr: SocketAddr,
        leases: LeaseHandle,
        names: BTreeSet<String>,
    ) -> io::Result<Self> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // A restarted vipd must not wait out TIME_WAIT to take renewals.
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(128)?;
        let (names, names_rx) = watch::channel(names);
        Ok(LeaseServer {
            names,
            task: tokio::spawn(accept(listener, leases, names_rx)),
        })
    }

    /// Answers for these leases from now on (after a reload).
    pub(crate) fn serve(&self, names: BTreeSet<String>) {
        self.names.send_replace(names);
    }
}

async fn accept(
    listener: TcpListener,
    leases: LeaseHandle,
    names: watch::Receiver<BTreeSet<String>>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Owned by this task: aborting it (LeaseServer dropped) closes them all.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and the like: do not spin on them.
                warn!(error = %e, "lease endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (leases, names) = (leases.clone(), names.clone());
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<_>| {
                let response = respond(
                    &leases,
                    &names.borrow(),
                    request.method(),
                    request.uri().path(),
                    request.uri().query(),
                );
                async move { Ok::<_, Infallible>(response) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                debug!(%from, error = %e, "lease endpoint connection ended");
            }
            drop(slot);
        });
        while connections.try_join_next().is_some() {}
    }
}

/// The answer to one request, from its method and target alone (a body is
/// never needed).
pub(super) fn respond(
    leases: &LeaseHandle,
    served: &BTreeSet<String>,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Response<Full<Bytes>> {
    let Some(name) = path.strip_prefix("/lease/").filter(|n| served.contains(*n)) else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no lease check at {path} here (try /lease/NAME)"),
        );
    };
    match *method {
        Method::POST | Method::PUT => {
            let ttl = match ttl(query) {
                Ok(ttl) => ttl,
                Err(message) => return text(StatusCode::BAD_REQUEST, message),
            };
            match leases.renew(name, ttl) {
                Ok(granted) => text(
                    StatusCode::OK,
                    format!("{name} renewed for {}", humantime::format_duration(granted)),
                ),
                Err(e @ LeaseError::Ttl(_)) => text(StatusCode::BAD_REQUEST, e.to_string()),
                Err(e) => text(StatusCode::NOT_FOUND, e.to_string()),
            }
        }
        Method::DELETE => match leases.release(name) {
            Ok(()) => text(StatusCode::OK, format!("{name} released")),
            Err(e) => text(StatusCode::NOT_FOUND, e.to_string()),
        },
        Method::GET | Method::HEAD => match leases.state(name) {
            Ok(state) => {
                let ttl = humantime::format_duration(state.ttl);
                let body = match state.remaining {
                    Some(left) => {
                        // Whole milliseconds: "4s 200ms", not nanoseconds.
                        let left = Duration::from_millis(left.as_millis() as u64);
                        format!(
                            "{name} up, {} left (ttl {ttl})",
                            humantime::format_duration(left)
                        )
                    }
                    None => format!("{name} down (ttl {ttl})"),
                };
                text(StatusCode::OK, body)
            }
            Err(e) => text(StatusCode::NOT_FOUND, e.to_string()),
        },
        _ => {
            let mut response = text(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{method} is not a lease operation (POST or PUT renews, DELETE releases, GET shows)"
                ),
            );
            response.headers_mut().insert(
                header::ALLOW,
                header::HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE"),
            );
            response
        }
    }
}

/// `?ttl=10s`, the only parameter: the ttl of this renewal.
fn ttl(query: Option<&str>) -> Result<Option<Duration>, String> {
    let mut ttl = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key != "ttl" {
            return Err(format!("unknown parameter {key:?} (only ttl is known)"));
        }
        match humantime::parse_duration(value.trim()) {
            Ok(d) => ttl = Some(d),
            Err(_) => {
                return Err(format!(
                    "ttl {value:?} is not a duration (e.g. \"500ms\", \"2s\", \"1m\")"
                ));
            }
        }
    }
    Ok(ttl)
}

fn text(status: StatusCode, mut body: String) -> Response<Full<Bytes>> {
    body.push('\n');
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
