//! A client's steady stream of HTTP requests to a VIP, from inside a lab
//! namespace: each request a new TCP connection (so ECMP spreads them over
//! the nodes), sent on a fixed schedule whatever the previous ones did, each
//! recorded with its start time and outcome.
//!
//! Worker threads enter the client's network namespace with setns(2), which
//! changes only the calling thread, so the test process itself stays where
//! it is. They start no processes.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::lab::Netns;

/// Connect, write and read timeout of one request. Generous: a request that
/// needs it has failed already (on a lab link everything takes microseconds).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// Threads sending requests: one slow request does not delay the others.
const WORKERS: usize = 4;
/// The most a response may hold (a node name).
const MAX_RESPONSE: u64 = 4096;

/// What one request got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// HTTP 200 from this node (the body).
    Served(String),
    /// What went wrong, in a few words ("connect: connection refused").
    Failed(String),
}

#[derive(Clone, Debug)]
pub struct Request {
    /// When the request was sent (its connection attempt began).
    pub at: SystemTime,
    pub took: Duration,
    pub outcome: Outcome,
}

impl Request {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }
}

/// A running load; stopped (and its threads joined) when dropped.
pub struct Load {
    target: SocketAddr,
    stop: Arc<AtomicBool>,
    results: Arc<Mutex<Vec<Request>>>,
    workers: Vec<thread::JoinHandle<Result<(), String>>>,
}

impl Load {
    /// Starts `rate` requests per second from `client` to `target`
    /// (`GET / HTTP/1.0`), for at most `limit`.
    pub fn start(client: &Netns, target: SocketAddr, rate: u32, limit: Duration) -> Load {
        assert!((1..=10_000).contains(&rate), "rate {rate}/s out of range");
        let period = Duration::from_secs(1) / rate;
        let stop = Arc::new(AtomicBool::new(false));
        let results = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicU64::new(0));
        let start = Instant::now() + Duration::from_millis(10);
        let workers = (0..WORKERS)
            .map(|i| {
                let netns = client.name.clone();
                let (stop, results, next) = (stop.clone(), results.clone(), next.clone());
                thread::Builder::new()
                    .name(format!("load-{i}"))
                    .spawn(move || {
                        enter_netns(&netns)?;
                        loop {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            let offset = period * u32::try_from(n).unwrap_or(u32::MAX);
                            if stop.load(Ordering::Relaxed) || offset >= limit {
                                return Ok(());
                            }
                            let due = start + offset;
                            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                                thread::sleep(wait);
                            }
                            if stop.load(Ordering::Relaxed) {
                                return Ok(());
                            }
                            let request = send(target);
                            lock(&results).push(request);
                        }
                    })
                    .unwrap_or_else(|e| panic!("cannot start a load thread: {e}"))
            })
            .collect();
        Load {
            target,
            stop,
            results,
            workers,
        }
    }

    /// Every request finished so far, in no particular order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.results).clone()
    }

    /// Requests sent in `[from, to)`.
    pub fn between(&self, from: SystemTime, to: SystemTime) -> Vec<Request> {
        lock(&self.results)
            .iter()
            .filter(|r| r.at >= from && r.at < to)
            .cloned()
            .collect()
    }

    /// Stops sending, waits for the requests in flight, returns them all.
    pub fn stop(mut self) -> Result<Vec<Request>, String> {
        self.join()?;
        Ok(lock(&self.results).clone())
    }

    fn join(&mut self) -> Result<(), String> {
        self.stop.store(true, Ordering::Relaxed);
        let mut errors = Vec::new();
        for worker in self.workers.drain(..) {
            match worker.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(e),
                Err(_) => errors.push("a load thread panicked".to_string()),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("load to {}: {}", self.target, errors.join("; ")))
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

/// Failed requests, as text for a message: how many, and each one's time
/// relative to `origin` and error.
pub fn describe_failures(requests: &[Request], origin: SystemTime) -> String {
    let mut failed: Vec<&Request> = requests.iter().filter(|r| r.failed()).collect();
    failed.sort_by_key(|r| r.at);
    let lines: Vec<String> = failed
        .iter()
        .map(|r| {
            let offset = match r.at.duration_since(origin) {
                Ok(d) => format!("+{:.1} ms", d.as_secs_f64() * 1e3),
                Err(e) => format!("-{:.1} ms", e.duration().as_secs_f64() * 1e3),
            };
            let Outcome::Failed(what) = &r.outcome else {
                unreachable!("filtered on failed()")
            };
            format!("\n    {offset}: {what}")
        })
        .collect();
    format!(
        "{} failed of {}{}",
        failed.len(),
        requests.len(),
        lines.concat()
    )
}

/// How many requests each node served, by node name, sorted.
pub fn served_by(requests: &[Request]) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for r in requests {
        if let Outcome::Served(node) = &r.outcome {
            *counts.entry(node.clone()).or_insert(0) += 1;
        }
    }
    counts.into_iter().collect()
}

/// Opens a TCP connection to `target` from inside `ns` and hands it back (a
/// socket stays in the namespace it was created in). The connect runs on a
/// short-lived thread that enters the namespace.
pub fn connect_in(ns: &Netns, target: SocketAddr) -> Result<TcpStream, String> {
    let netns = ns.name.clone();
    thread::spawn(move || {
        enter_netns(&netns)?;
        TcpStream::connect_timeout(&target, REQUEST_TIMEOUT)
            .map_err(|e| format!("connect to {target} in {netns}: {}", brief(&e)))
    })
    .join()
    .unwrap_or_else(|_| Err("the connecting thread panicked".to_string()))
}

fn lock(results: &Mutex<Vec<Request>>) -> MutexGuard<'_, Vec<Request>> {
    results.lock().unwrap_or_else(|p| p.into_inner())
}

/// Moves the calling thread into the named network namespace.
fn enter_netns(name: &str) -> Result<(), String> {
    let path = format!("/run/netns/{name}");
    let file = File::open(&path).map_err(|e| format!("cannot open {path}: {e}"))?;
    // SAFETY: setns on a namespace fd we hold open; CLONE_NEWNET changes only
    // this thread's network namespace.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!(
            "setns({path}): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// One request on a new connection.
fn send(target: SocketAddr) -> Request {
    let at = SystemTime::now();
    let start = Instant::now();
    let outcome = match exchange(target) {
        Ok(node) => Outcome::Served(node),
        Err(what) => Outcome::Failed(what),
    };
    Request {
        at,
        took: start.elapsed(),
        outcome,
    }
}

fn exchange(target: SocketAddr) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&target, REQUEST_TIMEOUT)
        .map_err(|e| format!("connect: {}", brief(&e)))?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(REQUEST_TIMEOUT)))
        .map_err(|e| format!("socket options: {}", brief(&e)))?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
        .map_err(|e| format!("write: {}", brief(&e)))?;
    let mut response = Vec::new();
    (&mut stream)
        .take(MAX_RESPONSE)
        .read_to_end(&mut response)
        .map_err(|e| format!("read: {}", brief(&e)))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("incomplete response ({} bytes)", response.len()))?;
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("status {status:?}"));
    }
    Ok(body.trim().to_string())
}

/// "connection refused", not "Connection refused (os error 111)".
fn brief(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    text.to_lowercase()
}
