//! The `dns`, `grpc` and `lease` checks drive real announcements: each VIP
//! (one /32 and one /128 per check) is at the router while its service is
//! healthy, leaves it when the service fails in that kind's own way, and
//! comes back when it recovers. A `hold_down` keeps a VIP that just went down
//! away from the router for that long even when its check recovers at once.
//!
//! ```text
//!   router (BIRD, AS 65000) 10.255.61.1 ---- eth1 ---- node (vipd, AS 65001) 10.255.61.2
//!                                                      lo: 127.0.0.1:5353  DNS responder (test)
//!                                                          127.0.0.1:50051 gRPC health (tonic)
//! ```
//!
//! The DNS responder and the gRPC server run in the test process, on threads
//! that entered the node's namespace, so the test flips their answers
//! directly:
//! 1. dns: `A www.vip.test.` answered with 198.18.0.53 → up; the responder
//!    answers SERVFAIL → withdrawn (cause names the rcode); answers again →
//!    back; goes silent → withdrawn at the probe timeout.
//! 2. grpc: `grpc.health.v1.Health/Check` for service `vip.test` SERVING →
//!    up; NOT_SERVING → withdrawn; SERVING → back; server stopped → withdrawn.
//! 3. lease: never renewed → not announced; `vipd lease app --ttl 1s` renewed
//!    in a loop → up; renewals stop (a hung application) → withdrawn about a
//!    ttl after the last renewal; `--release` takes it down at once.
//! 4. hold_down: a lease VIP with `hold_down = "2s"` is released and renewed
//!    right away: the router does not see it again before 2 s have passed.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use ipnet::IpNet;
use tonic_health::ServingStatus;

use crate::harness::{Bird, Lab, Netns, Router, Vipd, wait_until};

/// Time for a change to reach the router (checks probe every 200 ms).
const DEADLINE: Duration = Duration::from_secs(15);

const DNS_V4: &str = "198.18.0.53/32";
const DNS_V6: &str = "fd00:198:18::53/128";
const GRPC_V4: &str = "198.18.0.54/32";
const GRPC_V6: &str = "fd00:198:18::54/128";
const LEASE_V4: &str = "198.18.0.55/32";
const LEASE_V6: &str = "fd00:198:18::55/128";
const HELD_V4: &str = "198.18.0.56/32";

const VIPD_CONFIG: &str = r#"
[speaker]
asn = 65001
router_id = "10.255.61.2"

[[peer]]
name = "router"
address = "10.255.61.1"
remote_asn = 65000
hold_time = 9
connect_retry = 1
next_hop_ipv6 = "fd00:255:61::2"

[check.dns]
kind = "dns"
server = "127.0.0.1:5353"
name = "www.vip.test."
qtype = "A"
expect_answer = "198.18.0.53"
interval = "200ms"
timeout = "150ms"
rise = 1
fall = 1

[check.grpc]
kind = "grpc"
address = "127.0.0.1:50051"
service = "vip.test"
interval = "200ms"
timeout = "150ms"
rise = 1
fall = 1

[check.app]
kind = "lease"
ttl = "5s"

[check.held]
kind = "lease"
ttl = "30s"

[[vip]]
prefix = "198.18.0.53/32"
checks = ["dns"]
[[vip]]
prefix = "fd00:198:18::53/128"
checks = ["dns"]
[[vip]]
prefix = "198.18.0.54/32"
checks = ["grpc"]
[[vip]]
prefix = "fd00:198:18::54/128"
checks = ["grpc"]
[[vip]]
prefix = "198.18.0.55/32"
checks = ["app"]
[[vip]]
prefix = "fd00:198:18::55/128"
checks = ["app"]
[[vip]]
prefix = "198.18.0.56/32"
checks = ["held"]
hold_down = "2s"
"#;

const BIRD_CONFIG: &str = r#"
router id 10.255.61.1;
log stderr all;
protocol device {}
protocol bgp node {
  local as 65000;
  neighbor 10.255.61.2 as 65001;
  source address 10.255.61.1;
  hold time 9;
  connect retry time 1;
  error wait time 1, 5;
  ipv4 { import all; export none; };
  ipv6 { import all; export none; };
}
"#;

struct Topology {
    _lab: Lab,
    node: Netns,
    bird: Bird,
    vipd: Vipd,
}

fn deploy() -> Topology {
    let lab = Lab::new();
    let router = lab.add_netns("router");
    let node = lab.add_netns("node");
    lab.link(&router, "eth1", &node, "eth1");
    for (ns, v4, v6) in [
        (&router, "10.255.61.1/24", "fd00:255:61::1/64"),
        (&node, "10.255.61.2/24", "fd00:255:61::2/64"),
    ] {
        ns.ip(&["addr", "add", v4, "dev", "eth1"]).unwrap();
        ns.ip(&["addr", "add", v6, "dev", "eth1", "nodad"]).unwrap();
    }
    let bird_config = lab.dir().join("bird.conf");
    std::fs::write(&bird_config, BIRD_CONFIG).unwrap();
    let mut bird = Bird::new(router.clone(), "router", bird_config);
    bird.start().unwrap_or_else(|e| panic!("BIRD: {e}"));
    let vipd_config = lab.dir().join("vipd.toml");
    std::fs::write(&vipd_config, VIPD_CONFIG).unwrap();
    let mut vipd = Vipd::new(node.clone(), "node", vipd_config);
    vipd.start().unwrap_or_else(|e| panic!("vipd: {e}"));
    Topology {
        _lab: lab,
        node,
        bird,
        vipd,
    }
}

impl Topology {
    fn at_router(&self) -> Vec<IpNet> {
        self.bird
            .routes()
            .map(|routes| routes.into_iter().map(|r| r.prefix).collect())
            .unwrap_or_default()
    }

    /// Waits until each of `present` is at the router and none of `absent`.
    fn wait(&self, what: &str, present: &[&str], absent: &[&str]) -> Duration {
        let start = Instant::now();
        wait_until(DEADLINE, || {
            let routes = self.at_router();
            for p in present {
                if !routes.contains(&p.parse().unwrap()) {
                    return Err(format!("{p} not at the router: {routes:?}"));
                }
            }
            for p in absent {
                if routes.contains(&p.parse().unwrap()) {
                    return Err(format!("{p} still at the router: {routes:?}"));
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{what}: {e}\nvipd log:\n{}", self.vipd.log()));
        start.elapsed()
    }

    /// The cause vipd logged for `prefix`'s latest withdrawal after `mark`.
    fn withdrawal_cause(&self, mark: usize, prefix: &str) -> String {
        let log = self.vipd.log();
        log.get(mark..)
            .unwrap_or_default()
            .lines()
            .rev()
            .find(|l| l.contains("VIP down: withdrawn") && l.contains(&format!("prefix={prefix}")))
            .unwrap_or_else(|| panic!("no withdrawal of {prefix} logged:\n{log}"))
            .to_string()
    }

    fn lease(&self, args: &[&str]) -> String {
        let mut full = vec!["lease"];
        full.extend_from_slice(args);
        let out = self.vipd.ctl(&full).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "vipd {full:?}: {}{}",
            out.stdout,
            out.stderr
        );
        out.stdout
    }
}

/// What the DNS responder does.
const DNS_ANSWER: u8 = 0;
const DNS_SERVFAIL: u8 = 1;
const DNS_SILENT: u8 = 2;

/// A UDP DNS responder on 127.0.0.1:5353 in the node's namespace that
/// answers every query as `mode` says, until `stop`.
fn dns_responder(ns: &Netns, mode: Arc<AtomicU8>, stop: Arc<AtomicBool>) -> JoinHandle<usize> {
    ns.thread(move || {
        let socket = UdpSocket::bind("127.0.0.1:5353").expect("bind the DNS responder");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut answered = 0;
        let mut buf = [0u8; 512];
        while !stop.load(Ordering::Relaxed) {
            let Ok((len, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let Ok(query) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            let mode = mode.load(Ordering::Relaxed);
            if mode == DNS_SILENT {
                continue;
            }
            let mut response = Message::response(query.metadata.id, OpCode::Query);
            response.metadata.authoritative = true;
            response.add_queries(query.queries.clone());
            if mode == DNS_SERVFAIL {
                response.metadata.response_code = ResponseCode::ServFail;
            } else if let Some(q) = query.queries.first()
                && q.query_type == RecordType::A
            {
                response.add_answer(Record::from_rdata(
                    q.name.clone(),
                    60,
                    RData::A(A(Ipv4Addr::new(198, 18, 0, 53))),
                ));
            }
            if let Ok(bytes) = response.to_vec() {
                let _ = socket.send_to(&bytes, from);
                answered += 1;
            }
        }
        answered
    })
}

/// Commands for the gRPC server thread.
enum Grpc {
    Set(ServingStatus),
    Stop,
}

/// tonic's health service on 127.0.0.1:50051 in the node's namespace.
fn grpc_server(ns: &Netns) -> mpsc::Sender<Grpc> {
    let (tx, rx) = mpsc::channel::<Grpc>();
    ns.thread(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (reporter, service) = tonic_health::server::health_reporter();
            reporter
                .set_service_status("vip.test", ServingStatus::Serving)
                .await;
            let addr: SocketAddr = "127.0.0.1:50051".parse().unwrap();
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .expect("bind the gRPC server");
            let server = tokio::spawn(tonic::transport::Server::builder().serve_with_incoming(
                service,
                tonic::transport::server::TcpIncoming::from(listener),
            ));
            let (cmd_tx, mut cmd_rx) = tokio::sync::mpsc::unbounded_channel();
            std::thread::spawn(move || {
                while let Ok(cmd) = rx.recv() {
                    let stop = matches!(cmd, Grpc::Stop);
                    let _ = cmd_tx.send(cmd);
                    if stop {
                        break;
                    }
                }
            });
            while let Some(cmd) = cmd_rx.recv().await {
                match cmd {
                    Grpc::Set(status) => reporter.set_service_status("vip.test", status).await,
                    Grpc::Stop => break,
                }
            }
            server.abort();
            let _ = server.await;
        });
    });
    tx
}

#[test]
fn dns_grpc_and_lease_checks_announce_and_withdraw_at_the_router() {
    let lab = deploy();
    let dns_mode = Arc::new(AtomicU8::new(DNS_ANSWER));
    let stop = Arc::new(AtomicBool::new(false));
    let dns = dns_responder(&lab.node, dns_mode.clone(), stop.clone());
    let grpc = grpc_server(&lab.node);

    // Every healthy VIP arrives; the lease VIPs were never renewed.
    lab.wait(
        "the dns and grpc VIPs at the router",
        &[DNS_V4, DNS_V6, GRPC_V4, GRPC_V6],
        &[LEASE_V4, LEASE_V6, HELD_V4],
    );

    // dns: SERVFAIL, then an answer again, then silence.
    let mark = lab.vipd.log_len();
    dns_mode.store(DNS_SERVFAIL, Ordering::Relaxed);
    let took = lab.wait("dns SERVFAIL withdraws", &[GRPC_V4], &[DNS_V4, DNS_V6]);
    let cause = lab.withdrawal_cause(mark, DNS_V4);
    println!("dns SERVFAIL: withdrawn at the router after {took:?}; vipd: {cause}");
    assert!(
        cause.contains("SERVFAIL"),
        "the cause names the rcode: {cause}"
    );
    dns_mode.store(DNS_ANSWER, Ordering::Relaxed);
    let took = lab.wait("dns answers again", &[DNS_V4, DNS_V6], &[]);
    println!("dns answering again: back at the router after {took:?}");
    let mark = lab.vipd.log_len();
    dns_mode.store(DNS_SILENT, Ordering::Relaxed);
    let took = lab.wait(
        "a silent DNS server withdraws",
        &[GRPC_V4],
        &[DNS_V4, DNS_V6],
    );
    let cause = lab.withdrawal_cause(mark, DNS_V4);
    println!("dns silent: withdrawn at the router after {took:?}; vipd: {cause}");
    assert!(
        cause.contains("timeout"),
        "the cause names the timeout: {cause}"
    );
    dns_mode.store(DNS_ANSWER, Ordering::Relaxed);
    lab.wait("dns back", &[DNS_V4, DNS_V6], &[]);

    // grpc: NOT_SERVING, SERVING, then the server goes away.
    let mark = lab.vipd.log_len();
    grpc.send(Grpc::Set(ServingStatus::NotServing)).unwrap();
    let took = lab.wait("grpc NOT_SERVING withdraws", &[DNS_V4], &[GRPC_V4, GRPC_V6]);
    let cause = lab.withdrawal_cause(mark, GRPC_V4);
    println!("grpc NOT_SERVING: withdrawn at the router after {took:?}; vipd: {cause}");
    assert!(
        cause.contains("NOT_SERVING"),
        "the cause names the status: {cause}"
    );
    grpc.send(Grpc::Set(ServingStatus::Serving)).unwrap();
    let took = lab.wait("grpc SERVING again", &[GRPC_V4, GRPC_V6], &[]);
    println!("grpc SERVING again: back at the router after {took:?}");
    grpc.send(Grpc::Stop).unwrap();
    let took = lab.wait(
        "a stopped gRPC server withdraws",
        &[DNS_V4],
        &[GRPC_V4, GRPC_V6],
    );
    println!("grpc server stopped: withdrawn at the router after {took:?}");

    // lease: renewed by an "application" loop, which then hangs.
    assert_eq!(
        lab.lease(&["app", "--ttl", "1s"]),
        "lease app: held for 1s\n"
    );
    lab.wait("a renewed lease announces", &[LEASE_V4, LEASE_V6], &[]);
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(400));
        lab.lease(&["app", "--ttl", "1s"]);
        let routes = lab.at_router();
        assert!(
            routes.contains(&LEASE_V4.parse().unwrap()),
            "a lease renewed every 400 ms with ttl 1s must stay announced: {routes:?}"
        );
    }
    let last_renewal = Instant::now();
    let mark = lab.vipd.log_len();
    let took = lab.wait(
        "a lease nobody renews withdraws",
        &[DNS_V4],
        &[LEASE_V4, LEASE_V6],
    );
    let cause = lab.withdrawal_cause(mark, LEASE_V4);
    println!(
        "lease not renewed: withdrawn at the router {:?} after the last renewal (ttl 1s); vipd: {cause}",
        last_renewal.elapsed()
    );
    assert!(
        last_renewal.elapsed() >= Duration::from_secs(1),
        "withdrawn before the ttl ran out ({took:?})"
    );
    lab.lease(&["app"]);
    lab.wait(
        "the lease renewed with its own ttl",
        &[LEASE_V4, LEASE_V6],
        &[],
    );
    assert_eq!(lab.lease(&["app", "--release"]), "lease app: released\n");
    let took = lab.wait("a released lease withdraws", &[], &[LEASE_V4, LEASE_V6]);
    println!("lease released: withdrawn at the router after {took:?}");
    let unknown = lab.vipd.ctl(&["lease", "nope"]).unwrap();
    assert_eq!(unknown.status.code(), Some(1), "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("no lease check named \"nope\""),
        "{}",
        unknown.stderr
    );

    // hold_down: down, recovered at once, yet away from the router for 2 s.
    lab.lease(&["held"]);
    lab.wait("the held VIP announced", &[HELD_V4], &[]);
    let released = Instant::now();
    lab.lease(&["held", "--release"]);
    lab.lease(&["held"]);
    lab.wait("the held VIP withdrawn", &[], &[HELD_V4]);
    lab.wait("the held VIP back after its hold_down", &[HELD_V4], &[]);
    let away = released.elapsed();
    println!("hold_down 2s: released and renewed at once; back at the router after {away:?}");
    assert!(
        away >= Duration::from_secs(2),
        "back at the router after {away:?}, before its 2 s hold_down"
    );

    stop.store(true, Ordering::Relaxed);
    let answered = dns.join().expect("the DNS responder");
    assert!(answered > 0, "the DNS responder answered nothing");
    let (status, took) = lab_terminate(lab);
    println!("vipd stopped ({status}) in {took:?}");
}

fn lab_terminate(mut lab: Topology) -> (String, Duration) {
    let (status, took) = lab.vipd.terminate().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "vipd exit: {status}");
    (status.to_string(), took)
}
