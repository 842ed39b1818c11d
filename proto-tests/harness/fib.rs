//! What a router forwards with: the next hops of a route in a namespace's
//! kernel table (where traffic really goes), and a timestamped record of
//! every change to that table (`ip -ts monitor route`), for timings.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use serde_json::Value;

use super::lab::Netns;
use super::wait_until;

/// One next hop of a route in a forwarding table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NextHop {
    /// The gateway, if the route has one (an IPv6 route may show the
    /// neighbor's link-local address here).
    pub gateway: Option<IpAddr>,
    /// The interface out: names the neighbor whatever address family or
    /// next-hop flavor the router picked.
    pub interface: String,
}

/// Interfaces of `next_hops`, sorted, for comparisons and messages.
pub fn interfaces(next_hops: &[NextHop]) -> Vec<String> {
    let mut names: Vec<String> = next_hops.iter().map(|n| n.interface.clone()).collect();
    names.sort();
    names.dedup();
    names
}

impl Netns {
    /// The kernel's next hops for exactly `prefix` in the main table
    /// (`ip -j route show exact`); empty when there is no such route.
    pub fn kernel_next_hops(&self, prefix: IpNet) -> Result<Vec<NextHop>, String> {
        let family = if prefix.addr().is_ipv4() { "-4" } else { "-6" };
        let out = self.ip(&["-j", family, "route", "show", "exact", &prefix.to_string()])?;
        let routes: Value = serde_json::from_str(out.stdout.trim())
            .map_err(|e| format!("`ip -j route show` gave non-JSON ({e}): {}", out.stdout))?;
        let mut hops = Vec::new();
        for route in routes.as_array().into_iter().flatten() {
            match route.get("nexthops").and_then(Value::as_array) {
                Some(list) => hops.extend(list.iter().filter_map(json_next_hop)),
                None => hops.extend(json_next_hop(route)),
            }
        }
        hops.sort();
        Ok(hops)
    }
}

fn json_next_hop(value: &Value) -> Option<NextHop> {
    Some(NextHop {
        gateway: value
            .get("gateway")
            .and_then(Value::as_str)
            .and_then(|g| g.parse().ok()),
        interface: value.get("dev")?.as_str()?.to_string(),
    })
}

/// One change to a kernel routing table, as `ip monitor route` printed it.
#[derive(Clone, Debug)]
pub struct RouteChange {
    /// When `ip` received the kernel's notification.
    pub at: SystemTime,
    pub prefix: IpNet,
    pub deleted: bool,
    /// The route's next hops after the change (none when deleted).
    pub next_hops: Vec<NextHop>,
}

/// `ip -ts monitor route` running in a namespace.
pub struct RouteMonitor {
    ns: Netns,
    log: String,
    pid: u32,
}

/// A route no test uses, added and removed to see that the monitor listens.
const PROBE_ROUTE: &str = "10.255.255.254/32";
const START_DEADLINE: Duration = Duration::from_secs(10);

impl RouteMonitor {
    /// Starts monitoring `ns`'s routes; returns once the monitor has seen a
    /// change, so none after this call is missed.
    pub fn start(ns: &Netns, name: &str) -> Result<RouteMonitor, String> {
        let log = format!("{name}-routes");
        // -ts prints local time; pin it to UTC so it reads back unambiguously.
        let pid = ns.spawn(&log, "sh", &["-c", "TZ=UTC exec ip -ts monitor route"])?;
        let monitor = RouteMonitor {
            ns: ns.clone(),
            log,
            pid,
        };
        let probe: IpNet = PROBE_ROUTE.parse().map_err(|e| format!("{e}"))?;
        let mut attempt = 0;
        wait_until(START_DEADLINE, || {
            attempt += 1;
            // Each attempt is a new change; one of them arrives once it listens.
            ns.ip(&[
                "route",
                "replace",
                "blackhole",
                PROBE_ROUTE,
                "metric",
                &attempt.to_string(),
            ])?;
            ns.ip(&[
                "route",
                "del",
                "blackhole",
                PROBE_ROUTE,
                "metric",
                &attempt.to_string(),
            ])?;
            if monitor.changes().iter().any(|c| c.prefix == probe) {
                Ok(())
            } else {
                Err("ip monitor shows no change yet".to_string())
            }
        })
        .map_err(|e| format!("route monitor in {}: {e}", ns.name))?;
        Ok(monitor)
    }

    /// Every change seen so far, in order.
    pub fn changes(&self) -> Vec<RouteChange> {
        parse_monitor(&self.ns.lab().read_log(&self.log))
    }

    /// The first change to `prefix` at or after `since` whose next hops
    /// satisfy `test` (a deletion has none).
    pub fn first_change(
        &self,
        prefix: IpNet,
        since: SystemTime,
        test: impl Fn(&[NextHop]) -> bool,
    ) -> Option<RouteChange> {
        self.changes()
            .into_iter()
            .find(|c| c.prefix == prefix && c.at >= since && test(&c.next_hops))
    }
}

impl Drop for RouteMonitor {
    fn drop(&mut self) {
        self.ns.lab().stop(self.pid);
    }
}

/// Parses `ip -ts monitor route` output: each message starts with
/// `[YYYY-MM-DDTHH:MM:SS.uuuuuu]`; multipath next hops follow on
/// tab-indented `nexthop via ADDR dev IFACE ...` lines.
fn parse_monitor(text: &str) -> Vec<RouteChange> {
    let mut messages: Vec<(SystemTime, String)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            let Some((stamp, body)) = rest.split_once(']') else {
                continue;
            };
            if let Some(at) = parse_utc(stamp) {
                messages.push((at, body.trim().to_string()));
            }
        } else if let Some((_, body)) = messages.last_mut() {
            body.push('\n');
            body.push_str(line.trim());
        }
    }
    messages
        .into_iter()
        .filter_map(|(at, body)| parse_route(at, &body))
        .collect()
}

fn parse_route(at: SystemTime, body: &str) -> Option<RouteChange> {
    let mut lines = body.lines();
    let mut words = lines.next()?.split_whitespace().peekable();
    let deleted = words.next_if_eq(&"Deleted").is_some();
    // A route type other than unicast comes first.
    let _ = words.next_if(|w| ROUTE_TYPES.contains(w));
    let dst = words.next()?;
    let prefix: IpNet = match dst.parse() {
        Ok(net) => net,
        Err(_) => IpNet::from(dst.parse::<IpAddr>().ok()?),
    };
    let mut next_hops = Vec::new();
    let rest: Vec<&str> = words.collect();
    next_hops.extend(next_hop_in(&rest));
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"nexthop") {
            next_hops.extend(next_hop_in(&words));
        }
    }
    if deleted {
        next_hops.clear();
    }
    next_hops.sort();
    Some(RouteChange {
        at,
        prefix,
        deleted,
        next_hops,
    })
}

/// Route types `ip route` prints before the destination (rtnetlink's RTN_*).
const ROUTE_TYPES: [&str; 10] = [
    "unicast",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "nat",
];

/// `via ADDR dev IFACE` (either part optional) among `words`.
fn next_hop_in(words: &[&str]) -> Option<NextHop> {
    let after = |key: &str| {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1))
            .copied()
    };
    Some(NextHop {
        gateway: after("via").and_then(|g| g.parse().ok()),
        interface: after("dev")?.to_string(),
    })
}

/// `2026-11-23T22:24:05.158941` (UTC) as a time.
fn parse_utc(stamp: &str) -> Option<SystemTime> {
    let (date, time) = stamp.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<u64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    let micros: u64 = format!("{fraction:0<6}").get(..6)?.parse().ok()?;
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_output_reads_back_as_changes() {
        let text = "[2026-11-23T22:24:05.158941] fd00:198:18::10 proto bird metric 32 pref medium\n\
                    \tnexthop via fd00:255:1::2 dev eth2 weight 1 \n\
                    \tnexthop via fd00:255:2::2 dev eth3 weight 1 \n\
                    [2026-11-23T22:24:05.159098] 198.18.0.10 via 10.255.1.2 dev eth2 proto bird metric 32 \n\
                    [2026-11-23T22:24:06.000001] Deleted 198.18.0.10 proto bird metric 32 \n\
                    [2026-11-23T22:24:07.000001] blackhole 10.255.255.254 metric 1 \n";
        let changes = parse_monitor(text);
        assert_eq!(changes.len(), 4);
        assert_eq!(changes[3].prefix.to_string(), "10.255.255.254/32");
        assert_eq!(
            interfaces(&changes[0].next_hops),
            vec!["eth2".to_string(), "eth3".to_string()]
        );
        assert_eq!(changes[1].prefix.to_string(), "198.18.0.10/32");
        assert_eq!(interfaces(&changes[1].next_hops), vec!["eth2".to_string()]);
        assert!(changes[2].deleted && changes[2].next_hops.is_empty());
        let at = changes[1]
            .at
            .duration_since(UNIX_EPOCH)
            .expect("after 1970");
        assert_eq!(at, Duration::from_micros(1_795_472_645_159_098));
    }
}
