//! The one way into the running daemon: [`ControlRequest`]s on its channel.
//!
//! The control socket, SIGHUP, the metrics endpoint and the watchdog all go
//! through a [`DaemonLink`], so an operator action is logged and counted in
//! one place ([`DaemonLink::serve`]), and every reload, whatever asked for
//! it, is bracketed by `RELOADING=1` / `READY=1` for systemd.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ipnet::IpNet;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::notify::Notifier;
use super::protocol::{LeaseAnswer, LeaseRequest, Now, Request, Response, Status};
use crate::app::{ControlRequest, ReloadReport, StatusReport};
use crate::config::{self, Config, ConfigErrors};

/// How long a status snapshot may take (it asks every task for its state).
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a reload may take: reading the file, then stopping the sessions
/// it removes (bounded by the daemon's own shutdown budget).
const RELOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a drain may take to be accepted (it only queues inputs).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a lease renewal may take (it only writes a watch channel).
const LEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which checks each VIP depends on, for status output.
pub type VipChecks = BTreeMap<IpNet, Vec<String>>;

/// Who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A client of the control socket (`vipd status`, ...).
    Socket,
    /// SIGHUP (`systemctl reload vipd`).
    Sighup,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Socket => "socket",
            Source::Sighup => "sighup",
        }
    }
}

/// Why the daemon could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("vipd is shutting down")]
    Stopped,
    #[error("vipd did not answer within {0:?}")]
    Timeout(Duration),
}

/// Labels of `vipd_control_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) command: String,
    pub(crate) source: String,
    pub(crate) result: String,
}

/// A cheap handle on the running daemon.
#[derive(Clone)]
pub struct DaemonLink {
    requests: mpsc::Sender<ControlRequest>,
    notifier: Notifier,
    config_path: Option<PathBuf>,
    vip_checks: Arc<RwLock<VipChecks>>,
    /// `vipd_control_requests_total{command,source,result}`.
    pub(crate) requests_total: Family<RequestLabels, Counter>,
}

impl DaemonLink {
    pub fn new(
        requests: mpsc::Sender<ControlRequest>,
        notifier: Notifier,
        config: &Config,
        config_path: Option<PathBuf>,
    ) -> DaemonLink {
        DaemonLink {
            requests,
            notifier,
            config_path,
            vip_checks: Arc::new(RwLock::new(vip_checks(config))),
            requests_total: Family::default(),
        }
    }

    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Serves one operator request: the one place operator actions are
    /// counted and logged.
    pub async fn serve(&self, request: Request, source: Source) -> Response {
        let command = request.command();
        let (response, unavailable) = match self.answer(request, source).await {
            Ok(response) => (response, None),
            Err(e) => (Response::error(e.to_string()), Some(e)),
        };
        let result = if response.ok { "ok" } else { "error" };
        self.requests_total
            .get_or_create(&RequestLabels {
                command: command.into(),
                source: source.as_str().into(),
                result: result.into(),
            })
            .inc();
        let source = source.as_str();
        match (command, unavailable, &response.error) {
            (_, Some(e), _) => warn!(command, source, error = %e, "control request failed"),
            // The daemon logs a reload's outcome, change by change.
            ("reload", None, _) => {}
            // Applications renew leases every few seconds: not worth a line each.
            ("status" | "lease", None, None) => {
                debug!(command, source, "control request served")
            }
            (_, None, None) => info!(
                command,
                source,
                prefixes = ?response.prefixes.as_deref().unwrap_or_default(),
                "control request served"
            ),
            (_, None, Some(error)) => warn!(command, source, %error, "control request refused"),
        }
        response
    }

    async fn answer(&self, request: Request, source: Source) -> Result<Response, Unavailable> {
        let (targets, drain) = match request {
            Request::Status => {
                let report = self.status().await?;
                return Ok(Response::status(self.view(&report)));
            }
            Request::Reload => {
                return Ok(match self.reload(source).await? {
                    Ok(report) => Response::changes(report.changes),
                    Err(errors) => {
                        Response::config_errors(errors.0.iter().map(ToString::to_string).collect())
                    }
                });
            }
            Request::Lease(lease) => return self.lease(lease).await,
            Request::Drain(targets) => (targets, true),
            Request::Undrain(targets) => (targets, false),
        };
        let prefixes = match targets.resolve() {
            Ok(prefixes) => prefixes,
            Err(e) => return Ok(Response::error(e)),
        };
        Ok(match self.drain(prefixes, drain).await? {
            Ok(applied) => Response::prefixes(&applied),
            Err(e) => Response::error(e),
        })
    }

    /// A snapshot of every peer, VIP and check.
    pub async fn status(&self) -> Result<StatusReport, Unavailable> {
        self.ask(ControlRequest::Status, STATUS_TIMEOUT).await
    }

    /// The snapshot as the protocol shows it.
    pub fn view(&self, report: &StatusReport) -> Status {
        let vip_checks = self
            .vip_checks
            .read()
            .map(|m| m.clone())
            .unwrap_or_default();
        Status::from_report(report, &vip_checks, Now::current())
    }

    /// Drain (or undrain) `prefixes`, or every VIP when empty.
    pub async fn drain(
        &self,
        prefixes: Vec<IpNet>,
        drain: bool,
    ) -> Result<Result<Vec<IpNet>, String>, Unavailable> {
        self.ask(
            |reply| ControlRequest::Drain {
                prefixes,
                drain,
                reply,
            },
            DRAIN_TIMEOUT,
        )
        .await
    }

    /// Renews or releases a lease check.
    async fn lease(&self, request: LeaseRequest) -> Result<Response, Unavailable> {
        let ttl = match request.ttl() {
            Ok(ttl) => ttl,
            Err(e) => return Ok(Response::error(e)),
        };
        let name = request.name.clone();
        let release = request.release;
        let result = self
            .ask(
                |reply| ControlRequest::Lease {
                    name: request.name,
                    ttl,
                    release,
                    reply,
                },
                LEASE_TIMEOUT,
            )
            .await?;
        Ok(match result {
            Ok(granted) => Response::lease(LeaseAnswer {
                name,
                held: !release,
                ttl_seconds: granted.as_secs_f64(),
            }),
            Err(e) => Response::error(e),
        })
    }

    /// Re-read the config file and apply the difference, telling systemd.
    pub async fn reload(
        &self,
        source: Source,
    ) -> Result<Result<ReloadReport, ConfigErrors>, Unavailable> {
        info!(source = source.as_str(), "reloading the config");
        self.notifier.reloading();
        let result = self.ask(ControlRequest::Reload, RELOAD_TIMEOUT).await;
        if let Ok(Ok(_)) = &result {
            self.refresh_vip_checks();
        }
        // Whatever happened, the daemon runs on (with the old or the new
        // config), so systemd hears READY again.
        self.notifier.ready();
        result
    }

    async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<T>) -> ControlRequest,
        limit: Duration,
    ) -> Result<T, Unavailable> {
        let (reply, answer) = oneshot::channel();
        let exchange = async {
            self.requests
                .send(request(reply))
                .await
                .map_err(|_| Unavailable::Stopped)?;
            answer.await.map_err(|_| Unavailable::Stopped)
        };
        tokio::time::timeout(limit, exchange)
            .await
            .unwrap_or(Err(Unavailable::Timeout(limit)))
    }

    /// The daemon applied the file: take the VIPs' check lists from it too.
    fn refresh_vip_checks(&self) {
        let Some(path) = &self.config_path else {
            return;
        };
        // The daemon has just loaded this file successfully; if it changed
        // again in between, only status output lags until the next reload.
        match config::load(path) {
            Ok(config) => {
                if let Ok(mut map) = self.vip_checks.write() {
                    *map = vip_checks(&config);
                }
            }
            Err(errors) => debug!(%errors, "cannot re-read the config for status output"),
        }
    }
}

fn vip_checks(config: &Config) -> VipChecks {
    config
        .vips
        .iter()
        .map(|v| (v.prefix, v.checks.clone()))
        .collect()
}
