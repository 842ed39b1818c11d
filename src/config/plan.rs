//! `vipd check`: what this configuration will do, in words.

use std::fmt::Write;

use super::{
    CheckConfig, CheckKind, CheckPolicy, Config, FileState, OnFail, PeerConfig, Speaker, VipConfig,
    rcode_name,
};

impl Config {
    /// A human-readable summary: the speaker, each peer, each VIP with its attributes.
    pub fn plan(&self) -> String {
        let mut out = String::new();
        speaker(&mut out, &self.speaker);
        out.push_str(&format!("peers ({}):\n", self.peers.len()));
        if self.peers.is_empty() {
            out.push_str("  none: no BGP sessions\n");
        }
        for p in &self.peers {
            peer(&mut out, p);
        }
        let total: u64 = self.vips.iter().map(|v| u64::from(v.count.max(1))).sum();
        if total == self.vips.len() as u64 {
            out.push_str(&format!("vips ({}):\n", self.vips.len()));
        } else {
            out.push_str(&format!(
                "vips ({total}, in {} entries):\n",
                self.vips.len()
            ));
        }
        if self.vips.is_empty() {
            out.push_str("  none: nothing is announced\n");
        }
        for v in &self.vips {
            vip(&mut out, v, self);
        }
        if !self.checks.is_empty() {
            out.push_str(&format!("checks ({}):\n", self.checks.len()));
        }
        for c in self.checks.values() {
            check(&mut out, c, self);
        }
        out
    }
}

// `write!` into a String cannot fail; the results are ignored on purpose.

fn speaker(out: &mut String, s: &Speaker) {
    let _ = writeln!(out, "speaker: AS {}, router ID {}", s.asn, s.router_id);
    let _ = match s.listen {
        Some(addr) => writeln!(out, "  listens on {addr}"),
        None => writeln!(out, "  does not listen: connects out only"),
    };
    let _ = writeln!(
        out,
        "  default hold time {}, connect retry {}s doubling up to {}s",
        hold_time(s.hold_time),
        s.connect_retry.as_secs(),
        s.connect_retry_max.as_secs()
    );
    let _ = match s.graceful_restart_time {
        Some(t) => writeln!(out, "  graceful restart: advertised, restart time {t}s"),
        None => writeln!(out, "  graceful restart: not advertised"),
    };
    if let Some(d) = s.startup_delay {
        let _ = writeln!(out, "  announces nothing for {} after start", show(d));
    }
    if s.shutdown_drain {
        let _ = writeln!(out, "  on shutdown: drains every VIP before withdrawing it");
    }
}

fn peer(out: &mut String, p: &PeerConfig) {
    let kind = if p.is_ebgp() { "eBGP" } else { "iBGP" };
    let family = if p.address.is_ipv4() { "IPv4" } else { "IPv6" };
    let _ = write!(out, "  {} ", p.name);
    if p.name != p.address.to_string() {
        let _ = write!(out, "({}) ", p.address);
    }
    let _ = writeln!(
        out,
        "{kind}: AS {} <-> local AS {}, {family} transport{}",
        p.remote_asn,
        p.local_asn,
        if p.enabled { "" } else { ", DISABLED" }
    );
    if let Some(d) = &p.description {
        let _ = writeln!(out, "    description: {d}");
    }
    let mode = if p.passive {
        "passive: waits for the peer to connect".to_string()
    } else {
        format!("active: connects to {}", p.remote())
    };
    let _ = write!(out, "    {mode}");
    if let Some(local) = p.local_address {
        let _ = write!(out, " from {local}");
    }
    let _ = writeln!(out);
    let _ = write!(
        out,
        "    hold time {}, connect retry {}s doubling up to {}s",
        hold_time(p.hold_time),
        p.connect_retry.as_secs(),
        p.connect_retry_max.as_secs()
    );
    if let Some(ttl) = p.multihop {
        let _ = write!(out, ", multihop TTL {ttl}");
    }
    let _ = writeln!(out);
    if let Some(nh) = p.next_hop_ipv4 {
        let _ = writeln!(out, "    IPv4 next hop {nh}");
    }
    if let Some(nh) = p.next_hop_ipv6 {
        let _ = writeln!(out, "    IPv6 next hop {nh}");
    }
    // Keys are never shown: only that they are there.
    let mut security = Vec::new();
    if p.password.is_some() {
        security.push("TCP-MD5 key set".to_string());
    }
    if let Some(first) = p.tcp_ao.first() {
        let algorithm = match first.algorithm {
            crate::config::TcpAoAlgorithm::HmacSha1 => "HMAC-SHA-1-96",
            crate::config::TcpAoAlgorithm::AesCmac128 => "AES-128-CMAC-96",
        };
        security.push(format!(
            "TCP-AO, sends with key {}/{} ({algorithm}) of {}",
            first.send_id,
            first.recv_id,
            p.tcp_ao.len()
        ));
    }
    if p.ttl_security {
        let hops = p.multihop.unwrap_or(1);
        security.push(format!(
            "GTSM: sends with TTL 255, the peer at most {hops} hop{} away",
            if hops == 1 { "" } else { "s" }
        ));
    }
    if !security.is_empty() {
        let _ = writeln!(out, "    {}", security.join("; "));
    }
    if let Some(b) = p.bfd {
        let _ = writeln!(
            out,
            "    BFD every {}, down after {} missed",
            show(b.min_interval),
            b.multiplier
        );
    }
    let _ = match p.max_prefixes {
        Some(n) => writeln!(
            out,
            "    max prefixes {n}: past it, Cease and reconnect after {}",
            show(p.max_prefixes_restart)
        ),
        None => writeln!(
            out,
            "    no prefix limit (received routes are counted, never stored)"
        ),
    };
}

fn vip(out: &mut String, v: &VipConfig, config: &Config) {
    let _ = write!(out, "  {}", v.prefix);
    if v.count > 1
        && let Some(last) = crate::vip::nth_host(v.prefix, v.count - 1)
    {
        let _ = write!(out, " .. {last} ({} VIPs)", v.count);
    }
    if v.name != v.prefix.to_string() {
        let _ = write!(out, " ({})", v.name);
    }
    let _ = writeln!(out);
    if !v.communities.is_empty() {
        let list: Vec<String> = v.communities.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "    communities {}", list.join(" "));
    }
    if !v.large_communities.is_empty() {
        let list: Vec<String> = v
            .large_communities
            .iter()
            .map(ToString::to_string)
            .collect();
        let _ = writeln!(out, "    large communities {}", list.join(" "));
    }
    if let Some(med) = v.med {
        let _ = writeln!(out, "    MED {med}");
    }
    if let Some(lp) = v.local_pref {
        let _ = writeln!(out, "    local preference {lp} (iBGP peers only)");
    }
    if v.as_path_prepend > 0 {
        let _ = writeln!(
            out,
            "    AS path prepended {} extra times",
            v.as_path_prepend
        );
    }
    let _ = match (v.checks.len(), v.check_policy) {
        (0, _) => writeln!(out, "    always announced (no checks)"),
        (1, _) | (_, CheckPolicy::All) => writeln!(
            out,
            "    announced while checks pass: {}",
            v.checks.join(", ")
        ),
        (_, CheckPolicy::Any) => writeln!(
            out,
            "    announced while any check passes: {}",
            v.checks.join(", ")
        ),
    };
    if let Some(d) = v.hold_down {
        let _ = writeln!(out, "    hold-down {}", show(d));
    }
    let drains = config.speaker.shutdown_drain
        || v.checks.iter().any(|name| {
            config
                .checks
                .get(name)
                .is_some_and(|c| c.on_fail == OnFail::Drain)
        });
    if drains {
        let _ = write!(out, "    drain: announced for {}", show(v.drain_time));
        if let Some(med) = v.drain_med {
            let _ = write!(out, " with MED {med}");
        }
        if v.drain_prepend > 0 {
            let _ = write!(out, ", AS path prepended {} extra times", v.drain_prepend);
        }
        let _ = writeln!(out, ", then withdrawn");
    }
}

fn check(out: &mut String, c: &CheckConfig, config: &Config) {
    let _ = write!(out, "  {}: {} ", c.name, c.kind.name());
    let _ = match &c.kind {
        CheckKind::Tcp(t) => write!(out, "connect to {}", t.address),
        CheckKind::Http(h) => {
            let _ = write!(out, "GET {}", h.url);
            if let Some(host) = &h.host {
                let _ = write!(out, " (Host: {host})");
            }
            let _ = if h.expect_status.is_empty() {
                write!(out, ", expect 2xx")
            } else {
                let codes: Vec<String> = h.expect_status.iter().map(ToString::to_string).collect();
                write!(out, ", expect {}", codes.join(" or "))
            };
            if let Some(body) = &h.expect_body {
                let _ = write!(out, " with {body:?} in the body");
            }
            if !h.tls_verify {
                let _ = write!(out, ", certificate NOT verified");
            }
            Ok(())
        }
        CheckKind::Exec(e) => write!(out, "run {:?}, pass on exit 0", e.argv),
        CheckKind::File(f) => write!(
            out,
            "{} must be {}",
            f.path.display(),
            match f.healthy_when {
                FileState::Absent => "absent",
                FileState::Present => "present",
            }
        ),
        CheckKind::Process(p) => write!(out, "pid in {} must be running", p.pidfile.display()),
        CheckKind::Dns(d) => {
            let _ = write!(
                out,
                "query {} {} at {}, expect {}",
                d.name,
                d.qtype,
                d.server,
                rcode_name(d.expect_rcode)
            );
            if let Some(answer) = &d.expect_answer {
                let _ = write!(out, " with {answer:?} in the answer");
            }
            Ok(())
        }
        CheckKind::Grpc(g) => {
            let _ = write!(out, "grpc.health.v1 Check");
            if !g.service.is_empty() {
                let _ = write!(out, " of {:?}", g.service);
            }
            let _ = write!(out, " at {}", g.address);
            let _ = match (g.tls, g.tls_verify) {
                (false, _) => write!(out, " (plaintext h2c)"),
                (true, true) => write!(out, " (TLS)"),
                (true, false) => write!(out, " (TLS, certificate NOT verified)"),
            };
            write!(out, ", expect SERVING")
        }
        CheckKind::Lease(l) => {
            let _ = write!(out, "renewed by the application (`vipd lease {}`", c.name);
            if let Some(http) = l.http {
                let _ = write!(out, " or POST http://{http}/lease/{}", c.name);
            }
            write!(out, "), each renewal good for {}", show(l.ttl))
        }
        CheckKind::Interface(i) => write!(out, "{} must be {}", i.name, i.require.name()),
    };
    let _ = writeln!(out);
    let _ = if let CheckKind::Lease(_) = c.kind {
        writeln!(
            out,
            "    up from each renewal, down when ttl passes without one or at a release"
        )
    } else {
        writeln!(
            out,
            "    every {} ({} while changing), timeout {}, up after {}, down after {}",
            show(c.interval),
            show(c.pending_interval()),
            show(c.timeout),
            count(c.rise, "pass", "passes"),
            count(c.fall, "failure", "failures")
        )
    };
    let watched = match &c.kind {
        CheckKind::Tcp(t) if t.watch => Some(t.address.to_string()),
        CheckKind::Http(h) if h.watch => h.endpoint().map(|e| e.to_string()),
        _ => None,
    };
    if let Some(endpoint) = watched {
        let _ = writeln!(
            out,
            "    watches an idle connection to {endpoint}: re-probed at once when it closes"
        );
    }
    if let CheckKind::Process(_) = c.kind {
        let _ = writeln!(out, "    re-probed at once when the process exits");
    }
    if let CheckKind::Interface(_) = c.kind {
        let _ = writeln!(
            out,
            "    re-probed at once on every netlink event for the link"
        );
    }
    let users: Vec<&str> = config
        .vips
        .iter()
        .filter(|v| v.checks.contains(&c.name))
        .map(|v| v.name.as_str())
        .collect();
    let action = match c.on_fail {
        OnFail::Withdraw => "withdraws",
        OnFail::Drain => "drains",
    };
    let _ = if users.is_empty() {
        writeln!(out, "    not used by any VIP")
    } else {
        writeln!(out, "    failing {action} {}", users.join(", "))
    };
}

/// "1 pass", "2 passes".
fn count(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn show(d: std::time::Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}

fn hold_time(seconds: u16) -> String {
    if seconds == 0 {
        "0 (no keepalives)".to_string()
    } else {
        format!("{seconds}s")
    }
}
