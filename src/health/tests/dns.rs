//! The dns probe against a tiny authoritative responder on 127.0.0.1 that
//! answers from a script, over UDP and TCP on one port.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, MX, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use super::super::probe::{ProbeResult, Prober};
use super::check;
use crate::config::{CheckConfig, CheckKind, DnsCheck, Endpoint};

/// What the responder does with each query.
#[derive(Clone)]
enum Script {
    /// Answer with this rcode and these answer records.
    Answer(ResponseCode, Vec<Record>),
    /// Over UDP: TC set and no records; over TCP: NOERROR with the records.
    Truncated(Vec<Record>),
    /// Over UDP: first a response with another ID, then the real one.
    WrongIdFirst(Vec<Record>),
    /// Never answer.
    Silent,
}

struct DnsServer {
    addr: SocketAddr,
    udp_queries: Arc<AtomicUsize>,
    tcp_queries: Arc<AtomicUsize>,
    /// The question of the latest query.
    asked: Arc<Mutex<Option<(Name, RecordType, bool)>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl DnsServer {
    async fn start(script: Script) -> Self {
        // UDP and TCP on the same port, as a real server.
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let udp_queries = Arc::new(AtomicUsize::new(0));
        let tcp_queries = Arc::new(AtomicUsize::new(0));
        let asked = Arc::new(Mutex::new(None));
        let udp_task = {
            let (script, count, asked) = (script.clone(), udp_queries.clone(), asked.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let Ok((n, from)) = udp.recv_from(&mut buf).await else {
                        continue;
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    let query = Message::from_vec(&buf[..n]).unwrap();
                    record_question(&asked, &query);
                    for reply in replies(&script, &query, false) {
                        udp.send_to(&reply, from).await.unwrap();
                    }
                }
            })
        };
        let tcp_task = {
            let (script, count) = (script, tcp_queries.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((mut stream, _)) = tcp.accept().await else {
                        continue;
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    let Ok(length) = stream.read_u16().await else {
                        continue;
                    };
                    let mut buf = vec![0u8; usize::from(length)];
                    if stream.read_exact(&mut buf).await.is_err() {
                        continue;
                    }
                    let query = Message::from_vec(&buf).unwrap();
                    for reply in replies(&script, &query, true) {
                        let mut framed = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
                        framed.extend_from_slice(&reply);
                        let _ = stream.write_all(&framed).await;
                    }
                }
            })
        };
        DnsServer {
            addr,
            udp_queries,
            tcp_queries,
            asked,
            tasks: vec![udp_task, tcp_task],
        }
    }

    fn queries(&self) -> (usize, usize) {
        (
            self.udp_queries.load(Ordering::SeqCst),
            self.tcp_queries.load(Ordering::SeqCst),
        )
    }
}

fn record_question(asked: &Mutex<Option<(Name, RecordType, bool)>>, query: &Message) {
    let q = &query.queries[0];
    *asked.lock().unwrap() = Some((
        q.name.clone(),
        q.query_type,
        query.metadata.recursion_desired,
    ));
}

/// The encoded responses to `query`, in the order they are sent.
fn replies(script: &Script, query: &Message, tcp: bool) -> Vec<Vec<u8>> {
    let response = |rcode: ResponseCode, records: &[Record], truncated: bool| {
        let mut r = Message::response(query.metadata.id, OpCode::Query);
        r.metadata.authoritative = true;
        r.metadata.response_code = rcode;
        r.metadata.truncation = truncated;
        r.add_queries(query.queries.clone());
        if !truncated {
            r.add_answers(records.iter().cloned());
        }
        r
    };
    let messages = match script {
        Script::Answer(rcode, records) => vec![response(*rcode, records, false)],
        Script::Truncated(records) => vec![response(ResponseCode::NoError, records, !tcp)],
        Script::WrongIdFirst(records) => {
            let mut stray = response(ResponseCode::ServFail, &[], false);
            stray.metadata.id = query.metadata.id.wrapping_add(1);
            vec![stray, response(ResponseCode::NoError, records, false)]
        }
        Script::Silent => vec![],
    };
    messages.iter().map(|m| m.to_vec().unwrap()).collect()
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn a(owner: &str, ip: [u8; 4]) -> Record {
    Record::from_rdata(name(owner), 60, RData::A(A(Ipv4Addr::from(ip))))
}

fn dns_check(server: SocketAddr, qtype: RecordType, expect_answer: Option<&str>) -> DnsCheck {
    DnsCheck {
        server: Endpoint::Addr(server),
        name: name("www.example.com."),
        qtype,
        expect_rcode: ResponseCode::NoError,
        expect_answer: expect_answer.map(String::from),
    }
}

fn config(d: DnsCheck, timeout_ms: u64) -> CheckConfig {
    check("resolver", CheckKind::Dns(d), timeout_ms * 2, timeout_ms)
}

async fn probe(d: DnsCheck) -> ProbeResult {
    let result = Prober::new(&config(d, 500)).run().await;
    eprintln!("dns: {result:?}");
    result
}

fn verdict(result: &ProbeResult) -> (bool, &str) {
    (result.ok, result.detail.as_str())
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_a_query_passes_when_the_answer_has_the_expected_address() {
    let server = DnsServer::start(Script::Answer(
        ResponseCode::NoError,
        vec![
            a("www.example.com.", [198, 18, 0, 11]),
            a("www.example.com.", [198, 18, 0, 10]),
        ],
    ))
    .await;
    let result = probe(dns_check(server.addr, RecordType::A, Some("198.18.0.10"))).await;
    assert_eq!(verdict(&result), (true, "answer has 198.18.0.10"));
    assert_eq!(
        *server.asked.lock().unwrap(),
        Some((name("www.example.com."), RecordType::A, true)),
        "the name as configured, type A, recursion desired"
    );
    assert_eq!(server.queries(), (1, 0), "UDP only");
}

#[tokio::test]
async fn an_answer_without_the_expected_record_fails_and_shows_what_came() {
    let server = DnsServer::start(Script::Answer(
        ResponseCode::NoError,
        vec![a("www.example.com.", [198, 18, 0, 11])],
    ))
    .await;
    let result = probe(dns_check(server.addr, RecordType::A, Some("198.18.0.10"))).await;
    assert_eq!(
        verdict(&result),
        (false, "answer 198.18.0.11 lacks 198.18.0.10")
    );

    let empty = DnsServer::start(Script::Answer(ResponseCode::NoError, vec![])).await;
    let result = probe(dns_check(empty.addr, RecordType::A, Some("198.18.0.10"))).await;
    assert_eq!(
        verdict(&result),
        (false, "answer (empty) lacks 198.18.0.10")
    );
}

#[tokio::test]
async fn without_expect_answer_the_rcode_alone_decides() {
    let server = DnsServer::start(Script::Answer(
        ResponseCode::NoError,
        vec![a("www.example.com.", [198, 18, 0, 11])],
    ))
    .await;
    let result = probe(dns_check(server.addr, RecordType::A, None)).await;
    assert_eq!(verdict(&result), (true, "rcode NOERROR, 1 record"));

    let failing = DnsServer::start(Script::Answer(ResponseCode::ServFail, vec![])).await;
    let result = probe(dns_check(failing.addr, RecordType::A, None)).await;
    assert_eq!(verdict(&result), (false, "rcode SERVFAIL"));

    let refusing = DnsServer::start(Script::Answer(ResponseCode::Refused, vec![])).await;
    let result = probe(dns_check(refusing.addr, RecordType::A, Some("198.18.0.10"))).await;
    assert_eq!(verdict(&result), (false, "rcode REFUSED"));
}

#[tokio::test]
async fn an_expected_nxdomain_passes_and_a_noerror_then_fails() {
    let gone = DnsServer::start(Script::Answer(ResponseCode::NXDomain, vec![])).await;
    let mut d = dns_check(gone.addr, RecordType::A, None);
    d.expect_rcode = ResponseCode::NXDomain;
    let result = probe(d.clone()).await;
    assert_eq!(verdict(&result), (true, "rcode NXDOMAIN, 0 records"));

    let there = DnsServer::start(Script::Answer(
        ResponseCode::NoError,
        vec![a("www.example.com.", [198, 18, 0, 10])],
    ))
    .await;
    d.server = Endpoint::Addr(there.addr);
    let result = probe(d).await;
    assert_eq!(verdict(&result), (false, "rcode NOERROR"));
}

#[tokio::test]
async fn a_truncated_udp_answer_is_asked_again_over_tcp() {
    let server = DnsServer::start(Script::Truncated(vec![a(
        "www.example.com.",
        [198, 18, 0, 10],
    )]))
    .await;
    let result = probe(dns_check(server.addr, RecordType::A, Some("198.18.0.10"))).await;
    assert_eq!(verdict(&result), (true, "answer has 198.18.0.10"));
    assert_eq!(server.queries(), (1, 1), "once over UDP, once over TCP");
}

#[tokio::test]
async fn a_truncated_answer_with_no_tcp_service_says_so() {
    // A UDP-only responder: the TCP listener is gone.
    let server = DnsServer::start(Script::Truncated(vec![])).await;
    server.tasks[1].abort();
    while !server.tasks[1].is_finished() {
        tokio::task::yield_now().await;
    }
    let result = probe(dns_check(server.addr, RecordType::A, None)).await;
    assert_eq!(
        verdict(&result),
        (false, "truncated over UDP; over TCP: connection refused")
    );
}

#[tokio::test]
async fn a_response_with_another_id_is_skipped() {
    let server = DnsServer::start(Script::WrongIdFirst(vec![a(
        "www.example.com.",
        [198, 18, 0, 10],
    )]))
    .await;
    let result = probe(dns_check(server.addr, RecordType::A, Some("198.18.0.10"))).await;
    assert_eq!(verdict(&result), (true, "answer has 198.18.0.10"));
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let server = DnsServer::start(Script::Silent).await;
    let config = config(dns_check(server.addr, RecordType::A, None), 200);
    let result = Prober::new(&config).run().await;
    assert_eq!(verdict(&result), (false, "timeout after 200ms"));
    assert_eq!(server.queries(), (1, 0));
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    // The kernel answers a datagram to a closed port with ICMP port
    // unreachable, which the connected socket reports.
    let port = {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.local_addr().unwrap()
    };
    let result = probe(dns_check(port, RecordType::A, None)).await;
    assert_eq!(verdict(&result), (false, "connection refused"));
}

#[tokio::test]
async fn other_types_are_compared_in_their_zone_file_form() {
    let n = name;
    let cases: Vec<(RecordType, Record, &str)> = vec![
        (
            RecordType::MX,
            Record::from_rdata(
                n("www.example.com."),
                60,
                RData::MX(MX::new(10, n("mail.example.com."))),
            ),
            "10 mail.example.com",
        ),
        (
            RecordType::TXT,
            Record::from_rdata(
                n("www.example.com."),
                60,
                RData::TXT(TXT::new(vec!["status=ok".into()])),
            ),
            "status=ok",
        ),
        (
            RecordType::SRV,
            Record::from_rdata(
                n("www.example.com."),
                60,
                RData::SRV(SRV::new(0, 5, 5060, n("sip.example.com."))),
            ),
            "0 5 5060 sip.example.com.",
        ),
        (
            RecordType::SOA,
            Record::from_rdata(
                n("www.example.com."),
                60,
                RData::SOA(SOA::new(
                    n("ns1.example.com."),
                    n("hostmaster.example.com."),
                    2024010101,
                    3600,
                    600,
                    86400,
                    60,
                )),
            ),
            "ns1.example.com. hostmaster.example.com. 2024010101 3600 600 86400 60",
        ),
        (
            RecordType::CNAME,
            Record::from_rdata(
                n("www.example.com."),
                60,
                RData::CNAME(CNAME(n("Web.Example.com."))),
            ),
            "web.example.com",
        ),
    ];
    for (qtype, record, expect) in cases {
        let server = DnsServer::start(Script::Answer(ResponseCode::NoError, vec![record])).await;
        let result = probe(dns_check(server.addr, qtype, Some(expect))).await;
        assert_eq!(
            verdict(&result),
            (true, format!("answer has {expect}").as_str()),
            "{qtype}"
        );
        assert_eq!(server.asked.lock().unwrap().as_ref().unwrap().1, qtype);
    }
}

#[tokio::test]
async fn txt_strings_compare_with_their_letter_case() {
    let server = DnsServer::start(Script::Answer(
        ResponseCode::NoError,
        vec![Record::from_rdata(
            name("www.example.com."),
            60,
            RData::TXT(TXT::new(vec!["Status=OK".into()])),
        )],
    ))
    .await;
    let result = probe(dns_check(server.addr, RecordType::TXT, Some("status=ok"))).await;
    assert_eq!(
        verdict(&result),
        (false, "answer Status=OK lacks status=ok")
    );
}

#[tokio::test]
async fn a_server_name_is_resolved_at_each_probe() {
    let server = DnsServer::start(Script::Answer(
        ResponseCode::NoError,
        vec![a("www.example.com.", [198, 18, 0, 10])],
    ))
    .await;
    let mut d = dns_check(server.addr, RecordType::A, Some("198.18.0.10"));
    d.server = Endpoint::Name {
        host: "localhost".into(),
        port: server.addr.port(),
    };
    let result = probe(d).await;
    // The first address of localhost is asked; it may be ::1, where nothing listens.
    let first = tokio::net::lookup_host(("localhost", server.addr.port()))
        .await
        .unwrap()
        .next()
        .unwrap();
    if first == server.addr {
        assert_eq!(verdict(&result), (true, "answer has 198.18.0.10"));
    } else {
        assert_eq!(verdict(&result), (false, "connection refused"));
    }
    d = dns_check(server.addr, RecordType::A, None);
    d.server = Endpoint::Name {
        host: "nonexistent.invalid".into(),
        port: 53,
    };
    let result = probe(d).await;
    assert!(!result.ok);
    assert!(
        result
            .detail
            .starts_with("cannot resolve nonexistent.invalid: "),
        "{result:?}"
    );
}
