//! Prometheus metrics over HTTP (`[speaker] metrics`), at `/metrics`.
//!
//! Design: the daemon's tasks keep no metric objects. Every scrape asks the
//! daemon for a status snapshot (the same one `vipd status` shows) and
//! builds a fresh registry from it, so gauges can never disagree with
//! `vipd status`, and a peer or VIP removed by a reload leaves no stale
//! series behind. The BGP message counts are the peers' own counters. What a
//! single snapshot cannot show is derived from successive snapshots, taken
//! at each scrape and every [`SAMPLE_INTERVAL`] in between:
//! - `vipd_vip_transitions_total`: a VIP whose phase or `since` changed
//!   made at least one transition; counted as one, to its new phase. Two
//!   transitions within one sample interval (up -> draining -> up) count as
//!   one. Exact counts need an event hook in the VIP task.
//! - `vipd_check_duration_seconds`: every probe result seen (its `last_at`
//!   changed) is observed once; probes that finish more often than the
//!   sample interval are sampled, not all counted.
//!
//! The body is OpenMetrics text (`prometheus-client`), which Prometheus
//! scrapes natively.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use ipnet::IpNet;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use super::link::DaemonLink;
use crate::app::StatusReport;
use crate::bgp::session::{MessageCounts, State};
use crate::vip::state::Phase;

/// How often the snapshots behind the derived counters are taken between scrapes.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// Scrapers served at once.
const MAX_CONNECTIONS: usize = 8;
/// A scraper must send its request headers within this long.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A kept-alive scrape connection is closed after this long.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Probe latencies: from sub-millisecond local checks to timeouts of seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const PEER_STATES: [State; 6] = [
    State::Idle,
    State::Connect,
    State::Active,
    State::OpenSent,
    State::OpenConfirm,
    State::Established,
];
const PHASES: [Phase; 3] = [Phase::Up, Phase::Down, Phase::Draining];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabel {
    peer: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerStateLabels {
    peer: String,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    peer: String,
    direction: String,
    r#type: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VipLabel {
    vip: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VipStateLabels {
    vip: String,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VipTransitionLabels {
    vip: String,
    to: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabel {
    check: String,
}

type DurationFamily = Family<CheckLabel, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// What successive snapshots showed: the state behind the derived counters.
struct Observer {
    vips: HashMap<IpNet, (Phase, Instant)>,
    probes: HashMap<String, Instant>,
    transitions: Family<VipTransitionLabels, Counter>,
    durations: DurationFamily,
}

impl Observer {
    fn new() -> Observer {
        Observer {
            vips: HashMap::new(),
            probes: HashMap::new(),
            transitions: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
        }
    }

    fn observe(&mut self, report: &StatusReport) {
        let mut vips = HashMap::new();
        for v in &report.vips {
            let vip = v.prefix.to_string();
            // Every series exists from the start, at 0.
            for to in PHASES {
                let _ = self.transitions.get_or_create(&VipTransitionLabels {
                    vip: vip.clone(),
                    to: to.to_string(),
                });
            }
            let changed = match self.vips.get(&v.prefix) {
                Some(seen) => *seen != (v.phase, v.since),
                // Every VIP starts down: one seen in another phase got there.
                None => v.phase != Phase::Down,
            };
            if changed {
                self.transitions
                    .get_or_create(&VipTransitionLabels {
                        vip,
                        to: v.phase.to_string(),
                    })
                    .inc();
            }
            vips.insert(v.prefix, (v.phase, v.since));
        }
        for gone in self.vips.keys().filter(|p| !vips.contains_key(p)) {
            for to in PHASES {
                self.transitions.remove(&VipTransitionLabels {
                    vip: gone.to_string(),
                    to: to.to_string(),
                });
            }
        }
        self.vips = vips;

        let mut probes = HashMap::new();
        for (name, c) in &report.checks {
            let label = CheckLabel {
                check: name.clone(),
            };
            let histogram = self.durations.get_or_create(&label);
            if let (Some(at), Some(last)) = (c.last_at, &c.last) {
                if self.probes.get(name) != Some(&at) {
                    histogram.observe(last.latency.as_secs_f64());
                }
                probes.insert(name.clone(), at);
            }
        }
        for gone in self
            .probes
            .keys()
            .filter(|n| !report.checks.contains_key(*n))
        {
            self.durations.remove(&CheckLabel {
                check: gone.clone(),
            });
        }
        self.probes = probes;
    }
}

/// Serves `/metrics`.
pub struct Exporter {
    link: DaemonLink,
    observer: Mutex<Observer>,
}

impl Exporter {
    pub fn new(link: DaemonLink) -> Exporter {
        Exporter {
            link,
            observer: Mutex::new(Observer::new()),
        }
    }

    fn observe(&self, report: &StatusReport) {
        if let Ok(mut observer) = self.observer.lock() {
            observer.observe(report);
        }
    }

    /// Takes a snapshot and renders every metric (OpenMetrics text).
    pub async fn scrape(&self) -> Result<String, super::link::Unavailable> {
        let report = self.link.status().await?;
        self.observe(&report);
        let mut registry = Registry::default();
        self.register(&mut registry, &report);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        Ok(text)
    }

    async fn sample_forever(&self) {
        let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Ok(report) = self.link.status().await {
                self.observe(&report);
            }
        }
    }

    fn register(&self, registry: &mut Registry, report: &StatusReport) {
        let build = Family::<VersionLabel, Gauge>::default();
        build
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION").into(),
            })
            .set(1);
        registry.register("vipd_build_info", "vipd's version (always 1)", build);

        let peer_up = Family::<PeerLabel, Gauge>::default();
        let peer_state = Family::<PeerStateLabels, Gauge>::default();
        let messages = Family::<MessageLabels, Counter>::default();
        let received = Family::<PeerLabel, Gauge>::default();
        let announced = Family::<PeerLabel, Gauge>::default();
        for p in &report.peers {
            let peer = PeerLabel {
                peer: p.name.clone(),
            };
            peer_up
                .get_or_create(&peer)
                .set(i64::from(p.state == State::Established));
            for state in PEER_STATES {
                peer_state
                    .get_or_create(&PeerStateLabels {
                        peer: p.name.clone(),
                        state: state.to_string(),
                    })
                    .set(i64::from(p.state == state));
            }
            for (direction, counts) in [
                ("received", &p.messages_received),
                ("sent", &p.messages_sent),
            ] {
                for (kind, n) in message_types(counts) {
                    messages
                        .get_or_create(&MessageLabels {
                            peer: p.name.clone(),
                            direction: direction.into(),
                            r#type: kind.into(),
                        })
                        .inc_by(n);
                }
            }
            received
                .get_or_create(&peer)
                .set(i64::try_from(p.prefixes_received).unwrap_or(i64::MAX));
            announced
                .get_or_create(&peer)
                .set(i64::try_from(p.prefixes_announced).unwrap_or(i64::MAX));
        }
        registry.register(
            "vipd_peer_up",
            "1 while the BGP session is Established",
            peer_up,
        );
        registry.register(
            "vipd_peer_state",
            "BGP FSM state of the session (RFC 4271 8.2.2), one-hot",
            peer_state,
        );
        registry.register(
            "vipd_peer_messages",
            "BGP messages by direction and type, since the peer was started (at start or reload)",
            messages,
        );
        registry.register(
            "vipd_peer_prefixes_received",
            "prefixes the peer announced to us (counted, never used)",
            received,
        );
        registry.register(
            "vipd_peer_prefixes_announced",
            "VIP prefixes announced to the peer",
            announced,
        );

        let vip_up = Family::<VipLabel, Gauge>::default();
        let vip_state = Family::<VipStateLabels, Gauge>::default();
        for v in &report.vips {
            let vip = v.prefix.to_string();
            vip_up
                .get_or_create(&VipLabel { vip: vip.clone() })
                .set(i64::from(v.phase == Phase::Up));
            for phase in PHASES {
                vip_state
                    .get_or_create(&VipStateLabels {
                        vip: vip.clone(),
                        state: phase.to_string(),
                    })
                    .set(i64::from(v.phase == phase));
            }
        }
        registry.register(
            "vipd_vip_up",
            "1 while the VIP is up (announced, not draining)",
            vip_up,
        );
        registry.register(
            "vipd_vip_state",
            "VIP state (up, down, draining), one-hot",
            vip_state,
        );
        if let Ok(observer) = self.observer.lock() {
            registry.register(
                "vipd_vip_transitions",
                "VIP state changes by new state (from successive snapshots)",
                observer.transitions.clone(),
            );
            registry.register(
                "vipd_check_duration_seconds",
                "health probe latency (each probe result seen by a snapshot)",
                observer.durations.clone(),
            );
        }

        let check_up = Family::<CheckLabel, Gauge>::default();
        for (name, c) in &report.checks {
            check_up
                .get_or_create(&CheckLabel {
                    check: name.clone(),
                })
                .set(i64::from(c.up));
        }
        registry.register(
            "vipd_check_up",
            "1 while the health check is up (after rise/fall)",
            check_up,
        );
        registry.register(
            "vipd_control_requests",
            "operator requests (control socket, SIGHUP) by command and result",
            self.link.requests_total.clone(),
        );
        #[cfg(feature = "ospf")]
        register_ospf(registry, &report.ospf);
    }

    async fn respond(&self, request: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let reply = |status: StatusCode, content_type: &str, body: String| {
            Response::builder()
                .status(status)
                .header(hyper::header::CONTENT_TYPE, content_type)
                .body(Full::new(Bytes::from(body)))
                .unwrap_or_default()
        };
        let text = "text/plain; charset=utf-8";
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return reply(
                StatusCode::METHOD_NOT_ALLOWED,
                text,
                "only GET /metrics\n".into(),
            );
        }
        match request.uri().path() {
            "/metrics" => match self.scrape().await {
                Ok(body) => reply(StatusCode::OK, CONTENT_TYPE, body),
                Err(e) => reply(StatusCode::SERVICE_UNAVAILABLE, text, format!("{e}\n")),
            },
            "/" => reply(StatusCode::OK, text, "vipd: metrics at /metrics\n".into()),
            _ => reply(
                StatusCode::NOT_FOUND,
                text,
                "not found; try /metrics\n".into(),
            ),
        }
    }
}

#[cfg(feature = "ospf")]
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OspfLabel {
    version: String,
}

#[cfg(feature = "ospf")]
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OspfNeighborLabels {
    version: String,
    interface: String,
    neighbor: String,
}

#[cfg(feature = "ospf")]
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OspfPacketLabels {
    version: String,
    direction: String,
}

#[cfg(feature = "ospf")]
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OspfDropLabels {
    version: String,
    reason: String,
}

/// The OSPF instances' gauges and counters (the instances' own counters,
/// from start).
#[cfg(feature = "ospf")]
fn register_ospf(registry: &mut Registry, instances: &[crate::ospf::OspfStatus]) {
    if instances.is_empty() {
        return;
    }
    let full = Family::<OspfNeighborLabels, Gauge>::default();
    let lsas = Family::<OspfLabel, Gauge>::default();
    let originated = Family::<OspfLabel, Gauge>::default();
    let packets = Family::<OspfPacketLabels, Counter>::default();
    let dropped = Family::<OspfDropLabels, Counter>::default();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    for o in instances {
        let version = OspfLabel {
            version: o.version.to_string(),
        };
        for n in &o.neighbors {
            full.get_or_create(&OspfNeighborLabels {
                version: o.version.to_string(),
                interface: n.interface.clone(),
                neighbor: n.router_id.to_string(),
            })
            .set(i64::from(n.state == "Full"));
        }
        lsas.get_or_create(&version).set(count(o.lsas));
        originated.get_or_create(&version).set(count(o.originated));
        for (direction, n) in [("received", o.packets_received), ("sent", o.packets_sent)] {
            packets
                .get_or_create(&OspfPacketLabels {
                    version: o.version.to_string(),
                    direction: direction.into(),
                })
                .inc_by(n);
        }
        for (reason, n) in &o.dropped {
            dropped
                .get_or_create(&OspfDropLabels {
                    version: o.version.to_string(),
                    reason: (*reason).to_string(),
                })
                .inc_by(*n);
        }
    }
    registry.register(
        "vipd_ospf_neighbor_full",
        "1 while the OSPF neighbor is Full, 0 in any other state",
        full,
    );
    registry.register("vipd_ospf_lsas", "LSAs in the area database", lsas);
    registry.register(
        "vipd_ospf_lsas_originated",
        "LSAs vipd originated and has not flushed",
        originated,
    );
    registry.register(
        "vipd_ospf_packets",
        "OSPF packets sent and received, since start",
        packets,
    );
    registry.register(
        "vipd_ospf_dropped",
        "OSPF packets and LSAs dropped (malformed, refused), by reason, since start",
        dropped,
    );
}

fn message_types(c: &MessageCounts) -> [(&'static str, u64); 5] {
    [
        ("open", c.open),
        ("update", c.update),
        ("notification", c.notification),
        ("keepalive", c.keepalive),
        ("route_refresh", c.route_refresh),
    ]
}

/// Binds the metrics listener. Must be called within a tokio runtime.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    info!(addr = %listener.local_addr()?, "serving metrics at /metrics");
    Ok(listener)
}

/// Serves scrapes (and samples between them) until the task is dropped.
pub async fn serve(listener: TcpListener, link: DaemonLink) {
    let exporter = Arc::new(Exporter::new(link));
    tokio::select! {
        () = exporter.sample_forever() => {}
        () = accept(listener, exporter.clone()) => {}
    }
}

async fn accept(listener: TcpListener, exporter: Arc<Exporter>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!(error = %e, "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let exporter = exporter.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let exporter = exporter.clone();
                async move { Ok::<_, Infallible>(exporter.respond(request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
                Ok(Ok(())) | Err(_) => {}
                Ok(Err(e)) => debug!(%from, error = %e, "metrics connection ended"),
            }
            drop(slot);
        });
    }
}

#[cfg(all(test, feature = "ospf"))]
mod ospf_tests {
    use super::*;
    use crate::ospf::{OspfNeighborStatus, OspfStatus};

    #[test]
    fn ospf_counters_and_neighbors_become_metrics() {
        let status = OspfStatus {
            version: "OSPFv2",
            router_id: "10.255.36.1".parse().unwrap(),
            area: "0.0.0.0".parse().unwrap(),
            neighbors: vec![OspfNeighborStatus {
                interface: "eth1".into(),
                router_id: "10.255.35.1".parse().unwrap(),
                address: "10.255.30.1".parse().unwrap(),
                state: "Full".into(),
            }],
            lsas: 7,
            originated: 3,
            packets_sent: 120,
            packets_received: 118,
            dropped: [("bad_checksum", 2), ("unknown_lsa_type", 1)]
                .into_iter()
                .collect(),
        };
        let mut registry = Registry::default();
        register_ospf(&mut registry, &[status]);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            r#"vipd_ospf_neighbor_full{version="OSPFv2",interface="eth1",neighbor="10.255.35.1"} 1"#,
            r#"vipd_ospf_lsas{version="OSPFv2"} 7"#,
            r#"vipd_ospf_lsas_originated{version="OSPFv2"} 3"#,
            r#"vipd_ospf_packets_total{version="OSPFv2",direction="received"} 118"#,
            r#"vipd_ospf_dropped_total{version="OSPFv2",reason="bad_checksum"} 2"#,
            r#"vipd_ospf_dropped_total{version="OSPFv2",reason="unknown_lsa_type"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "no {line} in:\n{text}");
        }
    }

    #[test]
    fn without_ospf_there_are_no_ospf_metrics() {
        let mut registry = Registry::default();
        register_ospf(&mut registry, &[]);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(!text.contains("vipd_ospf"), "{text}");
    }
}
