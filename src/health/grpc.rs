//! The grpc check: the standard gRPC health-checking protocol
//! (`grpc.health.v1.Health/Check`, grpc/grpc doc/health-checking.md) over a
//! fresh HTTP/2 connection per probe, plaintext (h2c) or TLS.
//!
//! tonic speaks the protocol with tonic-health's generated client; the
//! connection, and TLS when asked for, come from our own connector, so
//! `tls_verify = false` works (tonic's TLS cannot skip verification) and
//! rustls is the one reqwest already brings.

use std::io;
use std::sync::Arc;

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, RootCertStore};
use tonic::transport::Uri;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::probe::{connect, error_detail};
use crate::config::{Endpoint, GrpcCheck};

/// Probes one grpc check; the TLS setup (trust store, verifier) is built
/// once, the connection anew at every probe.
pub(super) struct GrpcProber {
    check: GrpcCheck,
    /// With `tls`: the client config, or why it could not be built.
    tls: Option<Result<Arc<ClientConfig>, String>>,
}

impl GrpcProber {
    pub(super) fn new(check: &GrpcCheck) -> Self {
        GrpcProber {
            check: check.clone(),
            tls: check.tls.then(|| tls_config(check.tls_verify)),
        }
    }

    /// One Check call; the caller bounds it with the timeout.
    pub(super) async fn probe(&self) -> (bool, String) {
        // The authority (the :authority pseudo-header); the connector
        // decides where the connection really goes.
        let endpoint =
            match tonic::transport::Endpoint::from_shared(format!("http://{}", self.check.address))
            {
                Ok(e) => e,
                Err(e) => return (false, format!("bad address: {}", error_detail(&e))),
            };
        let address = self.check.address.clone();
        let connected = match &self.tls {
            None => {
                let connector = tower::service_fn(move |_: Uri| {
                    let address = address.clone();
                    async move {
                        let stream = connect(&address).await?;
                        // Small HTTP/2 frames must not wait for Nagle and
                        // delayed ACKs: that would add 40ms to each probe.
                        stream.set_nodelay(true)?;
                        io::Result::Ok(hyper_util::rt::TokioIo::new(stream))
                    }
                });
                endpoint.connect_with_connector(connector).await
            }
            Some(Err(e)) => return (false, e.clone()),
            Some(Ok(config)) => {
                let tls = TlsConnector::from(config.clone());
                let connector = tower::service_fn(move |_: Uri| {
                    let (address, tls) = (address.clone(), tls.clone());
                    async move {
                        let server_name = server_name(&address)?;
                        let stream = connect(&address).await?;
                        stream.set_nodelay(true)?;
                        let stream = tls.connect(server_name, stream).await?;
                        io::Result::Ok(hyper_util::rt::TokioIo::new(stream))
                    }
                });
                endpoint.connect_with_connector(connector).await
            }
        };
        let channel = match connected {
            Ok(channel) => channel,
            Err(e) => return (false, error_detail(&e)),
        };
        let request = HealthCheckRequest {
            service: self.check.service.clone(),
        };
        match HealthClient::new(channel).check(request).await {
            Ok(response) => serving(response.into_inner().status()),
            Err(status) => (false, status_detail(&status)),
        }
    }
}

/// Healthy on SERVING only; the detail is the protocol's own name.
fn serving(status: ServingStatus) -> (bool, String) {
    (
        status == ServingStatus::Serving,
        status.as_str_name().into(),
    )
}

/// "status Unavailable: connection reset"; the message is the server's, or
/// tonic's when the call failed on our side, where the innermost cause says
/// more than tonic's "transport error".
fn status_detail(status: &tonic::Status) -> String {
    if let Some(cause) = std::error::Error::source(status) {
        return format!("status {:?}: {}", status.code(), error_detail(cause));
    }
    let message = status.message().trim();
    if message.is_empty() {
        format!("status {:?}", status.code())
    } else {
        format!("status {:?}: {message}", status.code())
    }
}

/// The name the certificate must carry: the host of `address`.
fn server_name(address: &Endpoint) -> io::Result<ServerName<'static>> {
    let host = match address {
        Endpoint::Addr(addr) => addr.ip().to_string(),
        Endpoint::Name { host, .. } => host.trim_end_matches('.').to_string(),
    };
    ServerName::try_from(host).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// HTTP/2 over TLS, negotiated by ALPN (RFC 7540 3.3), verified against the
/// system trust store unless `verify` is false.
fn tls_config(verify: bool) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let mut config = if verify {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            let why = native
                .errors
                .first()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            return Err(format!("no trusted certificates in the system store{why}"));
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// `tls_verify = false`: any certificate is taken, but the handshake is
/// still checked to be signed by its key, so the connection is encrypted to
/// whoever holds it.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
