//! ExaBGP with its bundled healthcheck application (Debian package `exabgp`:
//! `/usr/sbin/exabgp`, `/usr/bin/exabgp-healthcheck`), configured like vipd
//! in the comparison: the same VIP and session, an HTTP probe every second,
//! rise 1, fall 1, the route withdrawn when the service is down
//! (`--withdraw-on-down`), and the node disabled (route withdrawn) while the
//! maintenance file exists.

use std::time::Duration;

use crate::anycast::{AnycastLab, NODES, VIP4, prefix};
use crate::failover_measure::{FALL, INTERVAL, MAINTENANCE, RISE, node_number};
use crate::harness::require_binary;

const EXABGP: &str = "/usr/sbin/exabgp";
const HEALTHCHECK: &str = "/usr/bin/exabgp-healthcheck";
const CURL: &str = "curl";
/// The probe's own timeout, as vipd's http check has it.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// exabgp.conf for `node`: one eBGP session to the router, the healthcheck
/// as an API process.
fn config(node: &str) -> String {
    let n = node_number(node);
    let vip = prefix(VIP4);
    let interval = INTERVAL.as_secs_f64();
    // The healthcheck's --timeout is whole seconds; curl's --max-time bounds
    // the probe as vipd's `timeout` does.
    format!(
        r#"# Failover benchmark: {node}, ExaBGP's healthcheck.
process watch-web {{
    run {HEALTHCHECK} --no-syslog --interval {interval} --fast-interval {interval} --rise {RISE} --fall {FALL} --timeout 1 --withdraw-on-down --no-ip-setup --ip {vip} --next-hop 10.255.{n}.2 --disable /etc/vipd/{MAINTENANCE} --cmd "{CURL} -sf -o /dev/null --max-time {timeout} http://{addr}/";
    encoder text;
}}

neighbor 10.255.{n}.1 {{
    router-id 10.255.{n}.2;
    local-address 10.255.{n}.2;
    local-as 65001;
    peer-as 65000;
    family {{
        ipv4 unicast;
    }}
    api {{
        processes [ watch-web ];
    }}
}}
"#,
        timeout = PROBE_TIMEOUT.as_secs_f64(),
        addr = vip.addr(),
    )
}

/// ExaBGP running on every node of a lab. Each runs in a session of its own
/// (`setsid`), which its healthcheck and the healthcheck's probes join
/// although ExaBGP gives each a process group of its own: stopping goes by
/// that session id, so no probe outlives the benchmark even if the lab is
/// gone first.
pub struct Exabgp {
    sessions: Vec<libc::pid_t>,
}

/// How long a stopped ExaBGP gets to end its healthcheck before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Exabgp {
    /// Starts ExaBGP on every node of `lab`.
    pub fn start(lab: &AnycastLab) -> Exabgp {
        require_binary(EXABGP, "exabgp");
        require_binary(HEALTHCHECK, "exabgp");
        require_binary(CURL, "curl");
        let mut sessions = Vec::new();
        for node in NODES {
            let path = lab.node_file(node, "exabgp.conf");
            std::fs::write(&path, config(node))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            let path = path
                .to_str()
                .unwrap_or_else(|| panic!("non-UTF-8 path {path:?}"));
            // `setsid` and `env` exec, so the pid is ExaBGP's and its
            // session's id. Settings: stay root in the namespace (it would
            // drop to `nobody`), no CLI pipes under /run, log to the lab.
            let pid = lab
                .ns(node)
                .spawn(
                    &format!("{node}-exabgp"),
                    "setsid",
                    &[
                        "env",
                        "exabgp_daemon_user=root",
                        "exabgp_api_cli=false",
                        "exabgp_log_destination=stdout",
                        EXABGP,
                        path,
                    ],
                )
                .unwrap_or_else(|e| panic!("cannot start ExaBGP on {node}: {e}"));
            sessions.push(libc::pid_t::try_from(pid).unwrap_or_else(|e| panic!("pid {pid}: {e}")));
        }
        Exabgp { sessions }
    }

    /// SIGTERM to every ExaBGP (it stops its healthcheck, which withdraws
    /// its routes), then SIGKILL to whatever of their sessions is left after
    /// a grace period.
    pub fn stop(&mut self) {
        for sid in &self.sessions {
            // SAFETY: kill(2) on the session leader we started; its pid
            // cannot be reused while it is a session id in use.
            unsafe { libc::kill(*sid, libc::SIGTERM) };
        }
        let start = std::time::Instant::now();
        while !self.members().is_empty() && start.elapsed() < STOP_GRACE {
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in self.members() {
            // SAFETY: a live process of a session we started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        self.sessions.clear();
    }

    /// Live (not zombie) processes of our sessions, from /proc.
    fn members(&self) -> Vec<libc::pid_t> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
            .filter(|pid| {
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                    return false;
                };
                // pid (comm) state ppid pgrp session ...; comm may hold spaces.
                let Some((_, after)) = stat.rsplit_once(')') else {
                    return false;
                };
                let fields: Vec<&str> = after.split_whitespace().collect();
                let state = fields.first().copied().unwrap_or("Z");
                let session = fields.get(4).and_then(|s| s.parse::<libc::pid_t>().ok());
                state != "Z" && session.is_some_and(|s| self.sessions.contains(&s))
            })
            .collect()
    }
}

impl Drop for Exabgp {
    fn drop(&mut self) {
        self.stop();
    }
}
