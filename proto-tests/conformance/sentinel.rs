//! The other session: a well-behaved peer of the same vipd that must not
//! notice anything while another peer misbehaves. It records every
//! KEEPALIVE (the largest gap must stay below the hold time), any
//! withdrawal, NOTIFICATION or close, and at the end asks for the table
//! again (ROUTE-REFRESH) to see every VIP still announced.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use super::node::{HOLD_TIME, Node, PeerKind};
use super::peer::{Event, RawPeer, describe};
use super::wire;

/// The sentinel watches at least one hold time and a half: with no gap of a
/// hold time allowed, KEEPALIVEs must have kept coming after the case.
pub const MIN_WATCH: Duration = Duration::from_millis(1500 * HOLD_TIME as u64);

/// How long the closing ROUTE-REFRESH may take to bring the table back.
const REFRESH_DEADLINE: Duration = Duration::from_secs(5);

pub struct Sentinel {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<SentinelReport>,
    started: Instant,
}

/// What the sentinel saw.
#[derive(Debug, Clone, Default)]
pub struct SentinelReport {
    pub watched: Duration,
    pub keepalives: usize,
    pub max_gap: Duration,
    pub withdrawn: Vec<IpNet>,
    /// The session ended (NOTIFICATION, close) or broke.
    pub down: Option<String>,
    /// After ROUTE-REFRESH: the VIPs that did not come back.
    pub missing_after_refresh: Vec<IpNet>,
}

impl SentinelReport {
    /// Everything that shows the other session was disturbed.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Some(down) = &self.down {
            p.push(format!("other session went down: {down}"));
        }
        let hold = Duration::from_secs(u64::from(HOLD_TIME));
        if self.max_gap >= hold {
            p.push(format!(
                "other session: no KEEPALIVE for {:.1}s (hold time {hold:?})",
                self.max_gap.as_secs_f64()
            ));
        }
        if !self.withdrawn.is_empty() {
            p.push(format!(
                "other session: VIPs withdrawn: {}",
                few(&self.withdrawn)
            ));
        }
        if !self.missing_after_refresh.is_empty() {
            p.push(format!(
                "other session: VIPs not announced after ROUTE-REFRESH: {}",
                few(&self.missing_after_refresh)
            ));
        }
        p
    }

    pub fn summary(&self) -> String {
        format!(
            "{} KEEPALIVEs in {:.1}s, largest gap {:.1}s",
            self.keepalives,
            self.watched.as_secs_f64(),
            self.max_gap.as_secs_f64()
        )
    }
}

/// At most three prefixes, and how many there are.
fn few(prefixes: &[IpNet]) -> String {
    let shown: Vec<String> = prefixes.iter().take(3).map(ToString::to_string).collect();
    if prefixes.len() > 3 {
        format!("{}, ... ({} in all)", shown.join(", "), prefixes.len())
    } else {
        shown.join(", ")
    }
}

impl Sentinel {
    /// Establishes the sentinel session and starts watching it.
    pub fn start(node: &Node) -> Result<Sentinel, String> {
        let (peer, table) = node.establish(PeerKind::Sentinel)?;
        let vips: BTreeSet<IpNet> = node.vips.iter().copied().collect();
        let got: BTreeSet<IpNet> = table.into_iter().collect();
        if got != vips {
            return Err(format!(
                "sentinel: vipd announced {got:?}, configured VIPs are {vips:?}"
            ));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || watch(peer, &flag, vips));
        Ok(Sentinel {
            stop,
            handle,
            started: Instant::now(),
        })
    }

    /// Stops watching (after at least [`MIN_WATCH`]) and returns what was
    /// seen.
    pub fn finish(self) -> SentinelReport {
        if let Some(rest) = MIN_WATCH.checked_sub(self.started.elapsed()) {
            thread::sleep(rest);
        }
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_else(|_| SentinelReport {
            down: Some("sentinel thread panicked".into()),
            ..SentinelReport::default()
        })
    }
}

fn watch(mut peer: RawPeer, stop: &AtomicBool, vips: BTreeSet<IpNet>) -> SentinelReport {
    let start = Instant::now();
    let mut last_keepalive = start;
    let mut report = SentinelReport::default();
    while !stop.load(Ordering::Relaxed) {
        match peer.next(Instant::now() + Duration::from_millis(200)) {
            Some(Event::Message(m)) => match m.ty {
                wire::KEEPALIVE => {
                    report.keepalives += 1;
                    report.max_gap = report.max_gap.max(last_keepalive.elapsed());
                    last_keepalive = Instant::now();
                }
                wire::UPDATE => match wire::summarize_update(&m.body) {
                    Ok(s) => report.withdrawn.extend(s.withdrawn),
                    Err(e) => report.down = Some(format!("unreadable UPDATE: {e}")),
                },
                _ => {
                    report.down = Some(describe(&m));
                    break;
                }
            },
            Some(Event::Closed) => {
                report.down = Some("vipd closed the connection".into());
                break;
            }
            Some(Event::Broken(e)) => {
                report.down = Some(format!("connection broken: {e}"));
                break;
            }
            None => {}
        }
    }
    report.watched = start.elapsed();
    report.max_gap = report.max_gap.max(last_keepalive.elapsed());
    if report.down.is_none() {
        report.missing_after_refresh = refresh(&mut peer, &vips).unwrap_or_else(|e| {
            report.down = Some(e);
            Vec::new()
        });
    }
    report
}

/// ROUTE-REFRESH for both families; the VIPs that do not come back.
fn refresh(peer: &mut RawPeer, vips: &BTreeSet<IpNet>) -> Result<Vec<IpNet>, String> {
    let rr = wire::concat(&[
        &wire::route_refresh(wire::AFI_IPV4, 0, wire::SAFI_UNICAST),
        &wire::route_refresh(wire::AFI_IPV6, 0, wire::SAFI_UNICAST),
    ]);
    peer.send(&rr)
        .map_err(|e| format!("sending ROUTE-REFRESH: {e}"))?;
    let deadline = Instant::now() + REFRESH_DEADLINE;
    let mut missing: BTreeSet<IpNet> = vips.clone();
    while !missing.is_empty() {
        match peer.next(deadline) {
            Some(Event::Message(m)) if m.ty == wire::UPDATE => {
                for p in wire::summarize_update(&m.body)?.announced {
                    missing.remove(&p);
                }
            }
            Some(Event::Message(m)) if m.ty == wire::KEEPALIVE => {}
            Some(Event::Message(m)) => {
                return Err(format!("after ROUTE-REFRESH: {}", describe(&m)));
            }
            Some(Event::Closed) => return Err("vipd closed the connection".into()),
            Some(Event::Broken(e)) => return Err(format!("connection broken: {e}")),
            None => break,
        }
    }
    Ok(missing.into_iter().collect())
}
