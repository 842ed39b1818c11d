//! The dns check: one query, over UDP (RFC 1035 4.2.1) and again over TCP
//! (RFC 1035 4.2.2) when the UDP answer comes back truncated (RFC 7766 5: TC
//! set means retry over TCP), then a verdict on its rcode and answer section.
//!
//! hickory-proto builds and parses the messages; the I/O is ours, so the
//! probe has the same short details as the others ("connection refused",
//! "timeout after 500ms") and keeps no state between probes.

use std::fmt::Write;
use std::io;
use std::net::SocketAddr;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::Record;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

use super::probe::{connect, io_detail};
use crate::config::{DnsCheck, Endpoint, rcode_name};

/// RFC 1035 4.2.1 allows 512 bytes without EDNS; a server may still send
/// more, and a UDP datagram is never longer than this.
const MAX_UDP: usize = 65_535;

/// One probe: its verdict and detail. The caller bounds it with the timeout.
pub(super) async fn probe(d: &DnsCheck) -> (bool, String) {
    let server = match resolve(&d.server).await {
        Ok(server) => server,
        Err(detail) => return (false, detail),
    };
    let (id, query) = match build_query(d) {
        Ok(q) => q,
        Err(detail) => return (false, detail),
    };
    let response = match over_udp(server, id, &query).await {
        Ok(r) if r.metadata.truncation => match over_tcp(server, id, &query).await {
            Ok(r) => r,
            Err(detail) => return (false, format!("truncated over UDP; over TCP: {detail}")),
        },
        Ok(r) => r,
        Err(detail) => return (false, detail),
    };
    judge(d, &response)
}

async fn resolve(server: &Endpoint) -> Result<SocketAddr, String> {
    match server {
        Endpoint::Addr(addr) => Ok(*addr),
        Endpoint::Name { host, port } => {
            match tokio::net::lookup_host((host.as_str(), *port)).await {
                Ok(mut addrs) => addrs
                    .next()
                    .ok_or_else(|| format!("cannot resolve {host}: no address")),
                Err(e) => Err(format!("cannot resolve {host}: {}", io_detail(&e))),
            }
        }
    }
}

/// A recursive query (RD set, so a resolver answers too; an authoritative
/// server ignores it) with a random ID, and that ID.
pub(super) fn build_query(d: &DnsCheck) -> Result<(u16, Vec<u8>), String> {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(d.name.clone(), d.qtype));
    let id = message.metadata.id;
    message
        .to_vec()
        .map(|bytes| (id, bytes))
        .map_err(|e| format!("cannot build the query: {e}"))
}

/// RFC 5452 9.1: only a response with our ID from the server's address and
/// port is taken; a connected socket drops datagrams from anywhere else, and
/// a datagram with another ID (a late answer to an earlier probe, a spoof) is
/// skipped while waiting for the right one.
async fn over_udp(server: SocketAddr, id: u16, query: &[u8]) -> Result<Message, String> {
    let local: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await.map_err(|e| io_detail(&e))?;
    socket.connect(server).await.map_err(|e| io_detail(&e))?;
    socket.send(query).await.map_err(|e| io_detail(&e))?;
    let mut buf = vec![0u8; MAX_UDP];
    loop {
        // An ICMP port unreachable comes back as ECONNREFUSED here.
        let n = socket.recv(&mut buf).await.map_err(|e| io_detail(&e))?;
        if let Some(response) = response_to(id, &buf[..n])? {
            return Ok(response);
        }
    }
}

/// RFC 1035 4.2.2: each message is preceded by its length in two bytes.
async fn over_tcp(server: SocketAddr, id: u16, query: &[u8]) -> Result<Message, String> {
    let mut stream = connect(&Endpoint::Addr(server))
        .await
        .map_err(|e| io_detail(&e))?;
    let length = u16::try_from(query.len()).map_err(|_| "query too long".to_string())?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await.map_err(|e| io_detail(&e))?;
    let tcp_error = |e: io::Error| match e.kind() {
        io::ErrorKind::UnexpectedEof => "connection closed before the answer".to_string(),
        _ => io_detail(&e),
    };
    let length = stream.read_u16().await.map_err(tcp_error)?;
    let mut buf = vec![0u8; usize::from(length)];
    stream.read_exact(&mut buf).await.map_err(tcp_error)?;
    response_to(id, &buf)?.ok_or_else(|| "answer to another query".to_string())
}

/// The response in `bytes` if it answers query `id`; `None` for a message
/// that is not ours to judge (another ID, or a query).
fn response_to(id: u16, bytes: &[u8]) -> Result<Option<Message>, String> {
    if bytes.len() < 2 || u16::from_be_bytes([bytes[0], bytes[1]]) != id {
        return Ok(None);
    }
    let message = Message::from_vec(bytes).map_err(|e| format!("malformed answer: {e}"))?;
    if message.metadata.message_type != hickory_proto::op::MessageType::Response {
        return Ok(None);
    }
    Ok(Some(message))
}

/// The verdict on a response: the rcode first, then `expect_answer`.
pub(super) fn judge(d: &DnsCheck, response: &Message) -> (bool, String) {
    let rcode = response.metadata.response_code;
    if rcode != d.expect_rcode {
        return (false, format!("rcode {}", rcode_name(rcode)));
    }
    let Some(expect) = &d.expect_answer else {
        let n = response.answers.len();
        let records = if n == 1 { "record" } else { "records" };
        return (true, format!("rcode {}, {n} {records}", rcode_name(rcode)));
    };
    let answers: Vec<String> = response.answers.iter().map(presentation).collect();
    let found = response
        .answers
        .iter()
        .zip(&answers)
        .any(|(record, text)| d.answer_matches(record.record_type(), text));
    if found {
        (true, format!("answer has {expect}"))
    } else if answers.is_empty() {
        (false, format!("answer (empty) lacks {expect}"))
    } else {
        (
            false,
            format!("answer {} lacks {expect}", answers.join(", ")),
        )
    }
}

/// A record's data as in a zone file ("198.18.0.10", "10 mail.example.com.");
/// hickory cannot show some (an OPT), which are named by their type instead.
fn presentation(record: &Record) -> String {
    let mut text = String::new();
    if write!(text, "{}", record.data).is_err() {
        text = format!("<{}>", record.record_type());
    }
    text
}
