//! `/metrics` of a node peering with BIRD, scraped over HTTP inside its
//! namespace and parsed as Prometheus text: every documented series is
//! there, and the values agree with the sessions BIRD has.
//!
//! ```text
//!   vipd-ebgp (AS 65001) --eth1-- router: BIRD (AS 65000)
//!   metrics = "127.0.0.1:9179", one VIP behind a file check
//! ```
//!
//! 1. Deploy `containerlab/interop-bird.clab.yml` with only vipd-ebgp,
//!    from a copy of its config with `metrics` set and the /128 VIP behind a
//!    file check; wait for its sessions and cells.
//! 2. `curl http://127.0.0.1:9179/metrics` in vipd-ebgp's namespace parses;
//!    build info; per peer: up, Established one-hot, OPENs and UPDATEs
//!    counted, both VIPs announced; per VIP: up, state one-hot, a transition
//!    to up; the check: up, its probe latencies in the histogram.
//! 3. `vipd drain 198.18.1.1`: the next scrape shows it draining, one
//!    transition to draining, and the drain request counted.

use std::net::IpAddr;

use prometheus_parse::{Sample, Scrape, Value};

use crate::clab::Deployment;
use crate::control_node::deploy;
use crate::harness::{RouterKind, wait_until};
use crate::interop::{ROUTE_DEADLINE, Role, VipdNode, wait_cells, wait_sessions};

const METRICS: &str = "127.0.0.1:9179";

#[test]
fn metrics_of_a_node_peering_with_bird_parse_and_match_its_sessions() {
    let kind = RouterKind::Bird;
    let node = VipdNode::load(kind, Role::Ebgp);
    let cells = node.cells(kind);
    let (lab, vipd) = deploy(kind, Role::Ebgp, |text, dir| {
        let edited = text
            .replacen(
                "[speaker]\n",
                &format!("[speaker]\nmetrics = \"{METRICS}\"\n"),
                1,
            )
            .replacen(
                "prefix = \"fd00:198:18:1::1/128\"\n",
                "prefix = \"fd00:198:18:1::1/128\"\nchecks = [\"maintenance\"]\n",
                1,
            );
        // Up while this file is absent; it never exists.
        let flag = dir.join("maintenance");
        format!(
            "{edited}\n[check.maintenance]\nkind = \"file\"\npath = \"{}\"\n\
             interval = \"200ms\"\ntimeout = \"100ms\"\n",
            flag.display()
        )
    });
    wait_sessions(&lab, &[&node]).unwrap_or_else(|e| panic!("{e}"));
    wait_cells(&lab, &cells).unwrap_or_else(|e| panic!("{e}"));

    // 2. Every series, agreeing with the sessions on BIRD.
    let peers: Vec<IpAddr> = node.sessions.iter().map(|s| s.router_address).collect();
    let mut scrape = None;
    wait_until(ROUTE_DEADLINE, || {
        let s = scrape_metrics(&lab)?;
        for p in &peers {
            let peer = p.to_string();
            if value(&s, "vipd_peer_up", &[("peer", &peer)])? != 1.0 {
                return Err(format!("vipd_peer_up{{peer={peer}}} is not 1 yet"));
            }
            if value(&s, "vipd_peer_prefixes_announced", &[("peer", &peer)])? != 2.0 {
                return Err(format!("not both VIPs announced to {peer} yet"));
            }
        }
        scrape = Some(s);
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let s = scrape.unwrap_or_else(|| panic!("no scrape"));
    let get = |metric: &str, labels: &[(&str, &str)]| {
        value(&s, metric, labels).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(
        get("vipd_build_info", &[("version", env!("CARGO_PKG_VERSION"))]),
        1.0
    );
    for p in &peers {
        let peer = p.to_string();
        let peer = peer.as_str();
        for state in [
            "Idle",
            "Connect",
            "Active",
            "OpenSent",
            "OpenConfirm",
            "Established",
        ] {
            let want = if state == "Established" { 1.0 } else { 0.0 };
            assert_eq!(
                get("vipd_peer_state", &[("peer", peer), ("state", state)]),
                want,
                "{peer} {state}"
            );
        }
        let messages = |direction: &str, kind: &str| {
            get(
                "vipd_peer_messages_total",
                &[("peer", peer), ("direction", direction), ("type", kind)],
            )
        };
        assert_eq!(messages("sent", "open"), 1.0);
        assert_eq!(messages("received", "open"), 1.0);
        assert!(messages("sent", "update") >= 1.0);
        assert!(messages("received", "keepalive") >= 1.0);
        assert_eq!(
            get("vipd_peer_prefixes_received", &[("peer", peer)]),
            0.0,
            "BIRD exports nothing"
        );
    }
    for v in &node.vips {
        let vip = v.prefix.to_string();
        let vip = vip.as_str();
        assert_eq!(get("vipd_vip_up", &[("vip", vip)]), 1.0);
        assert_eq!(get("vipd_vip_state", &[("vip", vip), ("state", "up")]), 1.0);
        assert_eq!(
            get("vipd_vip_state", &[("vip", vip), ("state", "down")]),
            0.0
        );
        assert!(get("vipd_vip_transitions_total", &[("vip", vip), ("to", "up")]) >= 1.0);
    }
    assert_eq!(get("vipd_check_up", &[("check", "maintenance")]), 1.0);
    let histogram = sample(
        &s,
        "vipd_check_duration_seconds",
        &[("check", "maintenance")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    match &histogram.value {
        Value::Histogram(buckets) => assert!(
            buckets.last().is_some_and(|b| b.count >= 1.0),
            "{buckets:?}"
        ),
        other => panic!("vipd_check_duration_seconds is not a histogram: {other:?}"),
    }
    println!("every series present; both sessions up, both VIPs announced");

    // 3. A drain shows.
    vipd.ctl_ok(&["drain", "198.18.1.1"]);
    let s = scrape_metrics(&lab).unwrap_or_else(|e| panic!("{e}"));
    let get = |metric: &str, labels: &[(&str, &str)]| {
        value(&s, metric, labels).unwrap_or_else(|e| panic!("{e}"))
    };
    let vip = [("vip", "198.18.1.1/32")];
    assert_eq!(get("vipd_vip_up", &vip), 0.0);
    assert_eq!(
        get(
            "vipd_vip_state",
            &[("vip", "198.18.1.1/32"), ("state", "draining")]
        ),
        1.0
    );
    assert_eq!(
        get(
            "vipd_vip_transitions_total",
            &[("vip", "198.18.1.1/32"), ("to", "draining")]
        ),
        1.0
    );
    assert_eq!(
        get(
            "vipd_control_requests_total",
            &[("command", "drain"), ("source", "socket"), ("result", "ok")]
        ),
        1.0
    );
}

/// `curl` inside vipd-ebgp's namespace (the endpoint is on its loopback).
fn scrape_metrics(lab: &Deployment) -> Result<Scrape, String> {
    let url = format!("http://{METRICS}/metrics");
    let out = lab
        .ns(Role::Ebgp.node())
        .exec("curl", &["-sS", "--max-time", "5", &url])?;
    Scrape::parse(out.stdout.lines().map(|l| Ok(l.to_string()))).map_err(|e| {
        format!(
            "{url} does not parse as Prometheus text: {e}\n{}",
            out.stdout
        )
    })
}

fn sample<'a>(
    scrape: &'a Scrape,
    metric: &str,
    labels: &[(&str, &str)],
) -> Result<&'a Sample, String> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .ok_or_else(|| {
            let names: Vec<String> = scrape
                .samples
                .iter()
                .map(|s| format!("{}{:?}", s.metric, s.labels))
                .collect();
            format!("no {metric}{labels:?}; series: {names:#?}")
        })
}

fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Result<f64, String> {
    match &sample(scrape, metric, labels)?.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Ok(*v),
        other => Err(format!("{metric} is not a number: {other:?}")),
    }
}
