//! `vipd status` for people: one table each for peers, VIPs and checks.

use std::fmt::Write;
use std::time::Duration;

use super::protocol::{CheckView, OspfView, PeerView, Status, VipCheckView, VipView};

/// The status document as text tables.
pub fn status(status: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "vipd {}, at {}", status.version, status.time);

    out.push_str("\nPEERS\n");
    if status.peers.is_empty() {
        out.push_str("  (none configured)\n");
    } else {
        out.push_str(&table(
            &[
                "NAME",
                "ADDRESS",
                "AS",
                "STATE",
                "SINCE",
                "FOR",
                "PFX OUT",
                "PFX IN",
                "MSG IN",
                "MSG OUT",
                "LAST ERROR",
            ],
            status.peers.iter().map(peer_row).collect(),
        ));
    }

    out.push_str("\nVIPS\n");
    if status.vips.is_empty() {
        out.push_str("  (none configured)\n");
    } else {
        out.push_str(&table(
            &["PREFIX", "STATE", "SINCE", "FOR", "CHECKS", "CAUSE"],
            status.vips.iter().map(vip_row).collect(),
        ));
    }

    if !status.checks.is_empty() {
        out.push_str("\nCHECKS\n");
        out.push_str(&table(
            &[
                "NAME", "STATE", "SINCE", "FOR", "LAST", "LATENCY", "PENDING", "DETAIL",
            ],
            status.checks.iter().map(check_row).collect(),
        ));
    }

    for o in &status.ospf {
        out.push_str(&ospf_section(o));
    }
    out
}

/// One OSPF instance: a summary line, its neighbors, and what it dropped.
fn ospf_section(o: &OspfView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} (router ID {}, area {}): {} LSAs, {} originated by vipd, packets {} in / {} out",
        o.version, o.router_id, o.area, o.lsas, o.originated, o.packets_received, o.packets_sent
    );
    if o.neighbors.is_empty() {
        out.push_str("  (no neighbors)\n");
    } else {
        out.push_str(&table(
            &["INTERFACE", "NEIGHBOR", "ADDRESS", "STATE"],
            o.neighbors
                .iter()
                .map(|n| {
                    vec![
                        n.interface.clone(),
                        n.router_id.clone(),
                        n.address.clone(),
                        n.state.clone(),
                    ]
                })
                .collect(),
        ));
    }
    if !o.dropped.is_empty() {
        let dropped: Vec<String> = o.dropped.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(out, "  dropped: {}", dropped.join(", "));
    }
    out
}

fn peer_row(p: &PeerView) -> Vec<String> {
    vec![
        p.name.clone(),
        p.address.clone(),
        p.remote_asn.to_string(),
        p.state.clone(),
        p.since.clone(),
        duration(p.for_seconds),
        p.prefixes_announced.to_string(),
        p.prefixes_received.to_string(),
        p.messages_received.total.to_string(),
        p.messages_sent.total.to_string(),
        p.last_error.clone().unwrap_or_else(|| "-".into()),
    ]
}

fn vip_row(v: &VipView) -> Vec<String> {
    let state = if v.admin_drain && v.state != "draining" {
        // Drained by an operator and already withdrawn.
        format!("{} (drained)", v.state)
    } else if v.admin_drain {
        format!("{} (admin)", v.state)
    } else {
        v.state.clone()
    };
    let checks = if v.checks.is_empty() {
        "-".to_string()
    } else {
        v.checks
            .iter()
            .map(vip_check)
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        v.prefix.clone(),
        state,
        v.since.clone(),
        duration(v.for_seconds),
        checks,
        v.cause.clone(),
    ]
}

/// `web up 1.2ms`, `db down (last ok) 3.0ms`, `api down (no result yet)`.
fn vip_check(c: &VipCheckView) -> String {
    let state = if c.up { "up" } else { "down" };
    let last = match c.last_ok {
        None => return format!("{} {state} (no result yet)", c.name),
        Some(ok) if ok == c.up => String::new(),
        Some(true) => " (last ok)".into(),
        Some(false) => " (last failed)".into(),
    };
    let latency = c.latency_ms.map(latency).unwrap_or_default();
    format!("{} {state}{last} {latency}", c.name)
}

fn check_row(c: &CheckView) -> Vec<String> {
    let (last, latency, detail) = match &c.last {
        Some(l) => (
            if l.ok { "ok" } else { "failed" }.to_string(),
            self::latency(l.latency_ms),
            l.detail.clone(),
        ),
        None => ("-".into(), "-".into(), "no result yet".into()),
    };
    let pending = if c.streak > 0 {
        format!(
            "{}/{} to {}",
            c.streak,
            c.needed,
            if c.up { "down" } else { "up" }
        )
    } else {
        "-".into()
    };
    vec![
        c.name.clone(),
        if c.up { "up" } else { "down" }.into(),
        c.since.clone(),
        duration(c.for_seconds),
        last,
        latency,
        pending,
        detail,
    ]
}

/// Columns padded to their widest cell, two spaces apart; the last column
/// is not padded (it holds free text).
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from("  ");
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `3d4h`, `5m12s`, `12s`: the two largest units.
pub fn duration(seconds: f64) -> String {
    let total = Duration::from_secs_f64(seconds.max(0.0)).as_secs();
    let (d, h, m, s) = (
        total / 86_400,
        total / 3_600 % 24,
        total / 60 % 60,
        total % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s}s"),
        (0, _, _) => format!("{h}h{m}m"),
        _ => format!("{d}d{h}h"),
    }
}

/// `0.42ms`, `12.3ms`, `1.25s`.
fn latency(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2}ms")
    } else if ms < 1_000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.2}s", ms / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::{MessageView, ProbeView};

    fn sample() -> Status {
        Status {
            version: "0.1.0".into(),
            time: "2026-01-02T03:04:05Z".into(),
            peers: vec![PeerView {
                name: "tor1".into(),
                address: "10.255.1.1".into(),
                local_asn: 65001,
                remote_asn: 65000,
                state: "Established".into(),
                since: "2026-01-02T02:00:00Z".into(),
                for_seconds: 3845.0,
                last_error: None,
                prefixes_announced: 2,
                prefixes_received: 0,
                messages_received: MessageView {
                    total: 14,
                    ..MessageView::default()
                },
                messages_sent: MessageView {
                    total: 16,
                    ..MessageView::default()
                },
            }],
            vips: vec![
                VipView {
                    prefix: "198.18.0.10/32".into(),
                    state: "up".into(),
                    admin_drain: false,
                    cause: "check web up".into(),
                    since: "2026-01-02T02:01:00Z".into(),
                    for_seconds: 3785.0,
                    checks: vec![VipCheckView {
                        name: "web".into(),
                        up: true,
                        last_ok: Some(true),
                        latency_ms: Some(1.234),
                    }],
                },
                VipView {
                    prefix: "198.18.0.11/32".into(),
                    state: "draining".into(),
                    admin_drain: true,
                    cause: "drained by an operator".into(),
                    since: "2026-01-02T03:04:00Z".into(),
                    for_seconds: 5.0,
                    checks: vec![],
                },
            ],
            checks: vec![CheckView {
                name: "web".into(),
                up: true,
                since: "2026-01-02T02:01:00Z".into(),
                for_seconds: 3785.0,
                last: Some(ProbeView {
                    ok: true,
                    detail: "HTTP 200".into(),
                    latency_ms: 1.234,
                    at: Some("2026-01-02T03:04:05Z".into()),
                }),
                streak: 0,
                needed: 2,
            }],
            ospf: vec![],
        }
    }

    #[test]
    fn ospf_instances_show_their_neighbors_and_drops() {
        let mut s = sample();
        s.ospf = vec![crate::control::protocol::OspfView {
            version: "OSPFv2".into(),
            router_id: "10.255.36.1".into(),
            area: "0.0.0.0".into(),
            neighbors: vec![crate::control::protocol::OspfNeighborView {
                interface: "eth1".into(),
                router_id: "10.255.35.1".into(),
                address: "10.255.30.1".into(),
                state: "Full".into(),
            }],
            lsas: 7,
            originated: 3,
            packets_sent: 120,
            packets_received: 118,
            dropped: [
                ("bad_checksum".to_string(), 2),
                ("unknown_lsa_type".to_string(), 1),
            ]
            .into_iter()
            .collect(),
        }];
        let text = status(&s);
        let ospf = text
            .split_once("\nOSPFv2")
            .map(|(_, o)| o)
            .unwrap_or_default();
        assert_eq!(
            ospf,
            " (router ID 10.255.36.1, area 0.0.0.0): 7 LSAs, 3 originated by vipd, packets 118 in / 120 out
  INTERFACE  NEIGHBOR     ADDRESS      STATE
  eth1       10.255.35.1  10.255.30.1  Full
  dropped: bad_checksum 2, unknown_lsa_type 1
",
            "got:\n{text}"
        );
    }

    #[test]
    fn status_renders_as_aligned_tables() {
        let text = status(&sample());
        let expected = "\
vipd 0.1.0, at 2026-01-02T03:04:05Z

PEERS
  NAME  ADDRESS     AS     STATE        SINCE                 FOR   PFX OUT  PFX IN  MSG IN  MSG OUT  LAST ERROR
  tor1  10.255.1.1  65000  Established  2026-01-02T02:00:00Z  1h4m  2        0       14      16       -

VIPS
  PREFIX          STATE             SINCE                 FOR   CHECKS        CAUSE
  198.18.0.10/32  up                2026-01-02T02:01:00Z  1h3m  web up 1.2ms  check web up
  198.18.0.11/32  draining (admin)  2026-01-02T03:04:00Z  5s    -             drained by an operator

CHECKS
  NAME  STATE  SINCE                 FOR   LAST  LATENCY  PENDING  DETAIL
  web   up     2026-01-02T02:01:00Z  1h3m  ok    1.2ms    -        HTTP 200
";
        assert_eq!(text, expected, "got:\n{text}");
    }

    #[test]
    fn durations_show_their_two_largest_units() {
        assert_eq!(duration(0.4), "0s");
        assert_eq!(duration(59.9), "59s");
        assert_eq!(duration(312.0), "5m12s");
        assert_eq!(duration(3_845.0), "1h4m");
        assert_eq!(duration(277_200.0), "3d5h");
        assert_eq!(duration(-1.0), "0s");
    }

    #[test]
    fn latencies_keep_three_significant_digits_or_so() {
        assert_eq!(latency(0.4213), "0.42ms");
        assert_eq!(latency(12.34), "12.3ms");
        assert_eq!(latency(1_250.0), "1.25s");
    }
}
