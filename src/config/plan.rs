//! `vipd check`: what this configuration will do, in words.

use std::fmt::Write;

use super::{Config, PeerConfig, Speaker, VipConfig};

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
        out.push_str(&format!("vips ({}):\n", self.vips.len()));
        if self.vips.is_empty() {
            out.push_str("  none: nothing is announced\n");
        }
        for v in &self.vips {
            vip(&mut out, v);
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
}

fn vip(out: &mut String, v: &VipConfig) {
    let _ = write!(out, "  {}", v.prefix);
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
    let _ = if v.checks.is_empty() {
        writeln!(out, "    always announced (no checks)")
    } else {
        writeln!(
            out,
            "    announced while checks pass: {}",
            v.checks.join(", ")
        )
    };
}

fn hold_time(seconds: u16) -> String {
    if seconds == 0 {
        "0 (no keepalives)".to_string()
    } else {
        format!("{seconds}s")
    }
}
