//! What the chaos scenarios (`chaos_*`) share: one vipd and one BIRD or FRR
//! router, either on a direct veth or through a middle namespace (where
//! `chaos_loss_delay` impairs the link), and the process and log readings
//! their assertions rest on (RSS, CPU time, log timestamps, panics).
//!
//! ```text
//!   node (vipd, AS 65001)                        router (AS 65000)
//!   eth1 10.255.1.2  ---------------------------  eth1 10.255.1.1      Link::Direct
//!   eth1 10.255.1.2  --- eth1 [mid] eth2 -------  eth1 10.255.1.1      Link::Through
//!   VIP 198.18.1.1/32
//! ```
//!
//! The router side is [`SecRouter`] from the security scenarios: one eBGP
//! neighbour (hold 9 s, connect retry 1 s), import all, export none.

use std::net::IpAddr;
use std::time::Duration;

use crate::harness::{Lab, Netns, Router, RouterKind, check_absent, wait_until};
use crate::security_lab::{Neighbor, SecRouter, SecVipd};

pub const VIPD_ADDR: &str = "10.255.1.2";
pub const ROUTER_ADDR: &str = "10.255.1.1";
pub const ROUTER_ID: &str = "10.255.1.1";
pub const VIP: &str = "198.18.1.1/32";
/// How long a session and its VIP may take to come (back) up: connect
/// retries of up to 8 s on vipd's side, a busy 2-core machine.
pub const UP_DEADLINE: Duration = Duration::from_secs(60);
/// How long a dead session's VIP may take to leave the router: the
/// router's hold timer is at most 9 s here, so this is generous.
pub const GONE_DEADLINE: Duration = Duration::from_secs(30);

/// How vipd's node reaches the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// One veth pair.
    Direct,
    /// Two veth pairs through a middle namespace `mid` (eth1 toward the
    /// node, eth2 toward the router) that forwards nothing by itself.
    Through,
}

pub struct ChaosLab {
    pub node: Netns,
    pub router_ns: Netns,
    pub router: SecRouter,
    pub vipd: SecVipd,
    /// Dropped last (fields drop in order): it kills the processes and
    /// removes the namespaces.
    _lab: Lab,
}

impl ChaosLab {
    /// Builds the namespaces and links; `before_routers` runs before either
    /// daemon starts (to put an impairment in `mid`); then starts the
    /// router and vipd with the config `vipd_config` writes (it gets the
    /// lab, for paths in its dir).
    pub fn up(
        kind: RouterKind,
        link: Link,
        vipd_config: impl FnOnce(&Lab) -> String,
        before_routers: impl FnOnce(&Lab, Option<&Netns>),
    ) -> ChaosLab {
        let lab = Lab::new();
        let node = lab.add_netns("node");
        let router_ns = lab.add_netns("router");
        let mid = match link {
            Link::Direct => {
                lab.link(&node, "eth1", &router_ns, "eth1");
                None
            }
            Link::Through => {
                let mid = lab.add_netns("mid");
                lab.link(&node, "eth1", &mid, "eth1");
                lab.link(&mid, "eth2", &router_ns, "eth1");
                Some(mid)
            }
        };
        node.ip(&["addr", "add", &format!("{VIPD_ADDR}/24"), "dev", "eth1"])
            .unwrap_or_else(|e| panic!("{e}"));
        router_ns
            .ip(&["addr", "add", &format!("{ROUTER_ADDR}/24"), "dev", "eth1"])
            .unwrap_or_else(|e| panic!("{e}"));
        before_routers(&lab, mid.as_ref());
        let router = SecRouter::start(
            kind,
            &router_ns,
            ROUTER_ID,
            vec![Neighbor::new("vipd", VIPD_ADDR, ROUTER_ADDR)],
            "",
        );
        let vipd = SecVipd::start(&node, "node", &vipd_config(&lab));
        ChaosLab {
            node,
            router_ns,
            router,
            vipd,
            _lab: lab,
        }
    }

    pub fn kind(&self) -> RouterKind {
        self.router.kind()
    }

    fn router(&self) -> &dyn Router {
        self.router.router()
    }

    /// Ok when the router has the session Established and the VIP from vipd.
    pub fn vip_at_router(&self) -> Result<(), String> {
        let vipd = crate::ip(VIPD_ADDR);
        if !self.router().session_established(vipd)? {
            return Err(format!(
                "{} session with vipd not Established: {}",
                self.kind(),
                self.router().describe_session(vipd).unwrap_or_default()
            ));
        }
        let vip = VIP.parse().map_err(|e| format!("{VIP}: {e}"))?;
        if self
            .router()
            .routes()?
            .iter()
            .any(|r| r.prefix == vip && r.peer == vipd)
        {
            Ok(())
        } else {
            Err(format!("{} has no {VIP} from vipd", self.kind()))
        }
    }

    /// Whether the router has `prefix` from vipd.
    pub fn router_has(&self, prefix: &str) -> Result<bool, String> {
        let prefix: ipnet::IpNet = prefix.parse().map_err(|e| format!("{prefix}: {e}"))?;
        let vipd = crate::ip(VIPD_ADDR);
        Ok(self
            .router()
            .routes()?
            .iter()
            .any(|r| r.prefix == prefix && r.peer == vipd))
    }

    /// Ok when the router has no route for the VIP from vipd.
    pub fn vip_gone(&self) -> Result<(), String> {
        let vip = VIP.parse().map_err(|e| format!("{VIP}: {e}"))?;
        check_absent(&self.router().routes()?, vip, crate::ip(VIPD_ADDR))
    }

    pub fn wait_vip(&self, when: &str) {
        wait_until(UP_DEADLINE, || self.vip_at_router())
            .unwrap_or_else(|e| panic!("{} {when}: {e}", self.kind()));
    }

    /// The router, to stop and start it.
    pub fn router_mut(&mut self) -> &mut dyn Router {
        match &mut self.router {
            SecRouter::Bird { bird, .. } => bird,
            SecRouter::Frr { frr } => frr,
        }
    }

    /// vipd's pid; panics if it is not running.
    pub fn vipd_pid(&self) -> u32 {
        self.vipd
            .vipd
            .pid()
            .unwrap_or_else(|| panic!("vipd is not running"))
    }

    /// Fails if vipd's log shows a panic, or vipd is not running.
    pub fn assert_vipd_healthy(&self) {
        let log = self.vipd.vipd.log();
        assert!(
            !log.contains("panicked"),
            "{}: vipd panicked:\n{log}",
            self.kind()
        );
        let pid = self.vipd_pid();
        assert!(
            process_alive(pid),
            "{}: vipd (pid {pid}) is not running any more",
            self.kind()
        );
    }
}

/// vipd's config: one eBGP peer, one unconditional VIP unless `vips` says
/// otherwise (it replaces the `[[vip]]` part).
pub fn vipd_config(test: &str, hold_time: u16, connect_retry_max: u16, vips: &str) -> String {
    let vips = if vips.is_empty() {
        format!("[[vip]]\nprefix = \"{VIP}\"\n")
    } else {
        vips.to_string()
    };
    format!(
        r#"# {test}
[speaker]
asn = 65001
router_id = "{VIPD_ADDR}"
hold_time = {hold_time}
connect_retry = 1
connect_retry_max = {connect_retry_max}

[[peer]]
address = "{ROUTER_ADDR}"
remote_asn = 65000
local_address = "{VIPD_ADDR}"

{vips}"#
    )
}

pub fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no VmRSS in {path}"))
}

/// utime + stime of `pid` (all its threads), as a duration.
pub fn cpu_time(pid: u32) -> Result<Duration, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // The command name is in parentheses and may hold spaces: count fields
    // after the last ')'. utime and stime are fields 14 and 15 of the line,
    // so the 12th and 13th after the name.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| format!("{path}: no command name"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("{path}: field {i} after the name"))
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(Duration::from_secs_f64(
        (ticks(11)? + ticks(12)?) as f64 / hz,
    ))
}

/// The timestamp at the start of a tracing line
/// (`2026-11-23T22:11:58.062096Z ...`), as seconds since the epoch.
pub fn log_time(line: &str) -> Option<f64> {
    let stamp = line.split_whitespace().next()?;
    let (date, time) = stamp.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.splitn(3, ':');
    let (hh, mm) = (
        t.next()?.parse::<f64>().ok()?,
        t.next()?.parse::<f64>().ok()?,
    );
    let ss = t.next()?.parse::<f64>().ok()?;
    // Days from the civil date (proleptic Gregorian), 1970-01-01 = 0.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + hh * 3600.0 + mm * 60.0 + ss)
}

/// Lines of vipd's log since byte offset `mark` that contain `message` and
/// name `peer`, with their timestamps.
pub fn timed_peer_lines(
    lab: &ChaosLab,
    mark: usize,
    message: &str,
    peer: IpAddr,
) -> Vec<(f64, String)> {
    lab.vipd
        .vipd
        .peer_lines(mark, message, peer)
        .into_iter()
        .filter_map(|l| Some((log_time(&l)?, l)))
        .collect()
}

/// Lines of vipd's log since byte offset `mark` that contain `needle`.
pub fn lines_since(lab: &ChaosLab, mark: usize, needle: &str) -> Vec<String> {
    let log = lab.vipd.vipd.log();
    log.get(mark..)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn log_time_reads_tracing_timestamps() {
    let t = log_time("2026-11-23T22:11:58.062096Z  WARN x").unwrap_or_default();
    // 2026-11-23 is day 20780 since the epoch.
    let expected = 20_780.0 * 86_400.0 + 22.0 * 3600.0 + 11.0 * 60.0 + 58.062096;
    assert!((t - expected).abs() < 1e-3, "{t} != {expected}");
    let a = log_time("2026-02-28T23:59:59.5Z x").unwrap_or_default();
    let b = log_time("2026-03-01T00:00:00.5Z x").unwrap_or_default();
    assert!((b - a - 1.0).abs() < 1e-6, "{a} {b}");
    assert_eq!(log_time("no timestamp"), None);
}
