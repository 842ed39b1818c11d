//! The grpc probe against tonic-health's own server on 127.0.0.1, in
//! plaintext (h2c) and over TLS with a self-signed certificate.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tonic::transport::Server;
use tonic::transport::server::{Connected, TcpIncoming};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::super::probe::{ProbeResult, Prober};
use super::check;
use super::probes::self_signed_config;
use crate::config::{CheckConfig, CheckKind, Endpoint, GrpcCheck};

/// A gRPC server with only the health service; its reporter sets what
/// Check answers.
struct GrpcServer {
    addr: SocketAddr,
    reporter: HealthReporter,
    task: JoinHandle<()>,
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GrpcServer {
    async fn plaintext() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (reporter, service) = tonic_health::server::health_reporter();
        let task = tokio::spawn(async move {
            let _ = Server::builder()
                .serve_with_incoming(service, TcpIncoming::from(listener))
                .await;
        });
        GrpcServer {
            addr,
            reporter,
            task,
        }
    }

    /// TLS with a self-signed certificate for 127.0.0.1 and localhost, h2
    /// by ALPN.
    async fn tls() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = self_signed_config();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let incoming = futures_util::stream::unfold(listener, move |listener| {
            let acceptor = acceptor.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    stream.set_nodelay(true).unwrap();
                    // A client that refuses the certificate ends here.
                    if let Ok(tls) = acceptor.accept(stream).await {
                        return Some((Ok::<_, io::Error>(Tls(tls)), listener));
                    }
                }
            }
        });
        let (reporter, service) = tonic_health::server::health_reporter();
        let task = tokio::spawn(async move {
            let _ = Server::builder()
                .serve_with_incoming(service, incoming)
                .await;
        });
        GrpcServer {
            addr,
            reporter,
            task,
        }
    }

    async fn set(&self, service: &str, status: ServingStatus) {
        self.reporter.set_service_status(service, status).await;
    }
}

/// A TLS connection for tonic's server, which wants its `Connected`.
struct Tls(tokio_rustls::server::TlsStream<TcpStream>);

impl Connected for Tls {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Tls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

fn grpc(address: Endpoint, service: &str) -> GrpcCheck {
    GrpcCheck {
        address,
        service: service.into(),
        tls: false,
        tls_verify: true,
    }
}

fn config(g: GrpcCheck, timeout_ms: u64) -> CheckConfig {
    check("rpc", CheckKind::Grpc(g), timeout_ms * 2, timeout_ms)
}

async fn probe(g: GrpcCheck) -> ProbeResult {
    let result = Prober::new(&config(g, 2000)).run().await;
    eprintln!("grpc: {result:?}");
    result
}

fn verdict(result: &ProbeResult) -> (bool, &str) {
    (result.ok, result.detail.as_str())
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn serving_passes_and_not_serving_fails() {
    let server = GrpcServer::plaintext().await;
    let check = grpc(Endpoint::Addr(server.addr), "");
    // tonic-health's server starts with "" SERVING.
    assert_eq!(verdict(&probe(check.clone()).await), (true, "SERVING"));
    server.set("", ServingStatus::NotServing).await;
    assert_eq!(verdict(&probe(check.clone()).await), (false, "NOT_SERVING"));
    server.set("", ServingStatus::Serving).await;
    assert_eq!(verdict(&probe(check).await), (true, "SERVING"));
}

#[tokio::test]
async fn a_named_service_is_asked_about_by_name() {
    let server = GrpcServer::plaintext().await;
    server.set("api.v1.Orders", ServingStatus::NotServing).await;
    let orders = grpc(Endpoint::Addr(server.addr), "api.v1.Orders");
    assert_eq!(
        verdict(&probe(orders.clone()).await),
        (false, "NOT_SERVING")
    );
    server.set("api.v1.Orders", ServingStatus::Unknown).await;
    assert_eq!(verdict(&probe(orders.clone()).await), (false, "UNKNOWN"));
    server.set("api.v1.Orders", ServingStatus::Serving).await;
    assert_eq!(verdict(&probe(orders).await), (true, "SERVING"));
}

#[tokio::test]
async fn an_unknown_service_fails_with_the_status_the_server_gives() {
    // grpc/grpc doc/health-checking.md: NOT_FOUND for a service it does not know.
    let server = GrpcServer::plaintext().await;
    let result = probe(grpc(Endpoint::Addr(server.addr), "nope.v1.Missing")).await;
    assert_eq!(
        verdict(&result),
        (false, "status NotFound: service not registered")
    );
}

#[tokio::test]
async fn nothing_listening_is_connection_refused() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let result = probe(grpc(Endpoint::Addr(addr), "")).await;
    assert_eq!(verdict(&result), (false, "connection refused"));
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let result = Prober::new(&config(grpc(Endpoint::Addr(addr), ""), 300))
        .run()
        .await;
    assert_eq!(verdict(&result), (false, "timeout after 300ms"));
}

#[tokio::test]
async fn tls_without_verification_takes_a_self_signed_certificate() {
    let server = GrpcServer::tls().await;
    let mut check = grpc(Endpoint::Addr(server.addr), "");
    check.tls = true;
    check.tls_verify = false;
    assert_eq!(verdict(&probe(check.clone()).await), (true, "SERVING"));
    server.set("", ServingStatus::NotServing).await;
    assert_eq!(verdict(&probe(check).await), (false, "NOT_SERVING"));
}

#[tokio::test]
async fn tls_with_verification_refuses_a_self_signed_certificate() {
    let server = GrpcServer::tls().await;
    let mut check = grpc(
        Endpoint::Name {
            host: "localhost".into(),
            port: server.addr.port(),
        },
        "",
    );
    check.tls = true;
    let result = probe(check).await;
    assert!(!result.ok);
    assert!(
        result.detail.contains("invalid peer certificate"),
        "{result:?}"
    );
}

#[tokio::test]
async fn plaintext_to_a_tls_server_fails() {
    let server = GrpcServer::tls().await;
    let result = Prober::new(&config(grpc(Endpoint::Addr(server.addr), ""), 500))
        .run()
        .await;
    // The TLS server drops the connection at our HTTP/2 preface; the
    // detail is that cause, not tonic's bare "transport error".
    assert!(!result.ok);
    assert!(
        result.detail.starts_with("status Unknown: ") && !result.detail.contains("transport error"),
        "{result:?}"
    );
}
