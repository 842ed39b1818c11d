//! A small HTTP/1.1 server inside a lab namespace that answers `200 ok` to
//! everything and records when each `/h/<id>` request arrived: the
//! health-check fan-out measures vipd's probe schedule from these arrivals.
//! Keep-alive is honoured, so a client that reuses connections may.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::common::in_netns;
use crate::harness::Netns;

pub struct Httpd {
    pub hits: Arc<Mutex<Vec<(u32, Instant)>>>,
    /// Dropped (and with it every task) when the server is.
    _runtime: tokio::runtime::Runtime,
}

impl Httpd {
    /// Listens on `addr` inside `ns`.
    pub fn start(ns: &Netns, addr: SocketAddr) -> Result<Httpd, String> {
        let listener = in_netns(ns, move || {
            let socket = socket2::Socket::new(
                socket2::Domain::for_address(addr),
                socket2::Type::STREAM,
                None,
            )?;
            socket.set_reuse_address(true)?;
            socket.bind(&addr.into())?;
            socket.listen(4096)?;
            socket.set_nonblocking(true)?;
            Ok(std::net::TcpListener::from(socket))
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let hits = Arc::new(Mutex::new(Vec::new()));
        let task_hits = hits.clone();
        runtime.spawn(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve(stream, task_hits.clone()));
            }
        });
        Ok(Httpd {
            hits,
            _runtime: runtime,
        })
    }

    /// Every `(id, arrival)` so far.
    pub fn take_hits(&self) -> Vec<(u32, Instant)> {
        self.hits
            .lock()
            .map(|h| h.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

async fn serve(stream: tokio::net::TcpStream, hits: Arc<Mutex<Vec<(u32, Instant)>>>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let at = Instant::now();
        let id = line
            .split_whitespace()
            .nth(1)
            .and_then(|path| path.strip_prefix("/h/"))
            .and_then(|id| id.parse::<u32>().ok());
        // The headers, up to the empty line; requests have no body.
        loop {
            let mut header = String::new();
            match reader.read_line(&mut header).await {
                Ok(0) | Err(_) => return,
                Ok(_) if header.trim().is_empty() => break,
                Ok(_) => {}
            }
        }
        if let Some(id) = id
            && let Ok(mut h) = hits.lock()
        {
            h.push((id, at));
        }
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
