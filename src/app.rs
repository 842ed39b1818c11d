//! Wires vipd together: the only place that knows every task and channel.
//!
//! ```text
//!  [check.*] --CheckEvent--> VIP task --announce/withdraw--> Originator
//!                               ^                               | watch (desired set)
//!            control: drain ----+                  +------------+------------+
//!                                                  v            v            v
//!                                              peer task    peer task   (OSPF)
//!                                                  ^
//!                             listener --accepted--+
//! ```
//!
//! The daemon loop itself only serves control requests (status, drain,
//! reload) and waits for shutdown; everything else runs in its own task.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::bgp::peer::{self, InboundMap, PeerStatus, PeerStop};
use crate::bgp::wire::CeaseSubcode;
use crate::config::{self, CheckPolicy, Config, ConfigErrors, OnFail, PeerConfig, VipConfig};
use crate::health;
use crate::vip::address::{AddressError, Addresses};
use crate::vip::state::{CheckSpec, Policy, VipInput, VipMachine, VipSpec, VipStatus};
use crate::vip::task::{self as vip_task, VipCommand};
use crate::vip::{Originator, VipRoute};

/// How long shutdown may take before the remaining tasks are abandoned; the
/// CLI promises an exit within one second of SIGTERM (OSPF may need up to
/// [`OSPF_STOP_BUDGET`]).
const SHUTDOWN_BUDGET: Duration = Duration::from_millis(800);
/// OSPF's share, from the moment it is told to stop: a flush held by
/// MinLSArrival (1 s) plus the wait for its acknowledgment (0.5 s).
const OSPF_STOP_BUDGET: Duration = Duration::from_millis(1700);

/// Why vipd could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot put the VIP addresses in place: {0}")]
    Address(#[from] AddressError),
    /// A peer has `tcp_ao` keys this kernel cannot use.
    #[error("{0}")]
    TcpAo(String),
}

/// Requests from the control socket and from signals.
#[derive(Debug)]
pub enum ControlRequest {
    Status(oneshot::Sender<StatusReport>),
    /// Drain (or undrain) the listed VIPs, or every VIP when the list is empty.
    Drain {
        prefixes: Vec<IpNet>,
        drain: bool,
        reply: oneshot::Sender<Result<Vec<IpNet>, String>>,
    },
    /// Re-read the config file and apply the difference.
    Reload(oneshot::Sender<Result<ReloadReport, ConfigErrors>>),
    /// Renew lease check `name` for `ttl` (its own ttl when `None`), or
    /// release it; the answer is the ttl granted.
    Lease {
        name: String,
        ttl: Option<Duration>,
        release: bool,
        reply: oneshot::Sender<Result<Duration, String>>,
    },
}

/// Everything `vipd status` shows.
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub peers: Vec<PeerStatus>,
    pub vips: Vec<VipStatus>,
    pub checks: health::StatusMap,
    /// Each running OSPF instance (none without `[ospf]`).
    #[cfg(feature = "ospf")]
    pub ospf: Vec<crate::ospf::OspfStatus>,
}

/// What a reload changed, one line per change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    pub changes: Vec<String>,
}

/// How `run_with` is driven from outside.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// Where the config came from: reload reads it again.
    pub config_path: Option<PathBuf>,
    /// Control requests (the control socket and SIGHUP send here).
    pub control: Option<mpsc::Receiver<ControlRequest>>,
}

/// How vipd is told to stop: a reason alone (`String`) is a normal stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shutdown {
    /// Logged, and sent to the peers in the Cease NOTIFICATION (RFC 9003).
    pub reason: String,
    /// Stop for a restart (SIGUSR2): with `graceful_restart_time` set, close
    /// the sessions of peers that support Graceful Restart without a
    /// NOTIFICATION and withdraw nothing, so they keep vipd's routes
    /// (RFC 4724) until it is back; leave the VIP addresses in place.
    pub for_restart: bool,
}

impl From<String> for Shutdown {
    fn from(reason: String) -> Shutdown {
        Shutdown {
            reason,
            for_restart: false,
        }
    }
}

/// Run vipd with `config` until `shutdown` resolves with a reason; then
/// withdraw every VIP (draining first when `shutdown_drain` is set), close
/// every session with Cease/Administrative Shutdown, and return. A
/// [`Shutdown`] `for_restart` keeps the routes at the routers instead.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = impl Into<Shutdown>>,
) -> Result<(), RunError> {
    run_with(config, RunOptions::default(), shutdown).await
}

/// [`run`] with a config path (for reload) and a control channel.
pub async fn run_with(
    config: Config,
    options: RunOptions,
    shutdown: impl Future<Output = impl Into<Shutdown>>,
) -> Result<(), RunError> {
    let mut daemon = Daemon::start(config, options.config_path).await?;
    let mut control = options.control;
    tokio::pin!(shutdown);
    let reason = loop {
        tokio::select! {
            reason = &mut shutdown => break reason,
            Some(request) = recv(&mut control) => daemon.serve(request).await,
        }
    };
    let shutdown: Shutdown = reason.into();
    if shutdown.for_restart {
        daemon.stop_for_restart(shutdown.reason).await;
    } else {
        daemon.stop(shutdown.reason).await;
    }
    Ok(())
}

async fn recv(control: &mut Option<mpsc::Receiver<ControlRequest>>) -> Option<ControlRequest> {
    match control {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

struct RunningPeer {
    config: PeerConfig,
    stop: watch::Sender<Option<PeerStop>>,
    status: watch::Receiver<PeerStatus>,
    task: JoinHandle<()>,
}

struct Daemon {
    config: Config,
    config_path: Option<PathBuf>,
    originator: Originator,
    /// Tells the listener and the health checks to stop.
    stop_tx: watch::Sender<Option<String>>,
    peers: BTreeMap<(IpAddr, u16), RunningPeer>,
    inbound: InboundMap,
    listener: Option<JoinHandle<()>>,
    /// A handle on the listening socket, to give it new peers' MD5 keys.
    listener_keys: Option<(socket2::Socket, SocketAddr)>,
    vip_tx: mpsc::UnboundedSender<VipCommand>,
    vip_task: JoinHandle<()>,
    health: health::Checks,
    checks: watch::Receiver<health::StatusMap>,
    /// VIP addresses vipd put on interfaces (`[[vip]] interface`).
    addresses: Option<Addresses>,
    /// Every check has given its first verdict (see [`vip_task::Readiness`]).
    ready: watch::Receiver<bool>,
    /// The OSPF originator, when `[ospf]` is configured.
    ospf: Option<JoinHandle<()>>,
    /// What the OSPF instances publish for `vipd status`.
    #[cfg(feature = "ospf")]
    ospf_status: watch::Sender<Vec<crate::ospf::OspfStatus>>,
    /// The running OSPF's handle, for reloads (with `ospf` above).
    #[cfg(feature = "ospf")]
    ospf_ctl: Option<crate::ospf::Ospf>,
}

impl Daemon {
    async fn start(config: Config, config_path: Option<PathBuf>) -> Result<Self, RunError> {
        // Before anything starts: a keyed session the kernel cannot key
        // would never come up, and say nothing about why.
        check_tcp_ao(&config.peers).map_err(RunError::TcpAo)?;
        // Addresses first: a VIP is never announced before this node accepts
        // packets for it.
        let mut addresses = None;
        for v in &config.vips {
            if let Some(ifname) = &v.interface {
                let a = match addresses.as_mut() {
                    Some(a) => a,
                    None => addresses.insert(Addresses::new()?),
                };
                a.ensure(ifname, v.prefix).await?;
            }
        }
        let originator = Originator::new();
        let (stop_tx, stop_rx) = watch::channel::<Option<String>>(None);
        let inbound: InboundMap = Arc::new(RwLock::new(HashMap::new()));
        let mut listener_keys = None;

        let listener = match config.speaker.listen {
            Some(addr) => {
                let l = peer::bind_listener(addr)
                    .map_err(|source| RunError::Listen { addr, source })?;
                let keys = socket2::SockRef::from(&l)
                    .try_clone()
                    .map_err(|source| RunError::Listen { addr, source })?;
                listener_keys = Some((keys, addr));
                info!(%addr, "listening for BGP connections");
                Some(tokio::spawn(peer::listen(
                    l,
                    inbound.clone(),
                    stop_rx.clone(),
                )))
            }
            None => None,
        };

        let machine = VipMachine::new(
            std::time::Instant::now(),
            config.vips.iter().map(vip_spec).collect(),
            check_specs(&config),
            config.speaker.startup_delay,
        );
        let (health, check_events, checks) = health::Checks::start(&config.checks);
        let (vip_tx, vip_rx) = mpsc::unbounded_channel();
        let (ready_tx, ready) = watch::channel(false);
        let readiness = vip_task::Readiness {
            status: checks.clone(),
            ready: ready_tx,
            deadline: std::time::Instant::now() + first_verdict_deadline(&config),
        };
        let vip_task = tokio::spawn(vip_task::run(
            machine,
            originator.clone(),
            check_events,
            vip_rx,
            readiness,
        ));

        // OSPF originates the same desired set as the BGP peers.
        #[cfg(feature = "ospf")]
        let (ospf_status, _) = watch::channel(Vec::new());
        #[cfg(feature = "ospf")]
        let (ospf_ctl, ospf) = match config.ospf.clone() {
            Some(ospf_config) => {
                let (ctl, task) = crate::ospf::Ospf::spawn(
                    ospf_config,
                    originator.subscribe(),
                    stop_tx.subscribe(),
                    ospf_status.clone(),
                );
                (Some(ctl), Some(task))
            }
            None => (None, None),
        };
        #[cfg(not(feature = "ospf"))]
        let ospf: Option<JoinHandle<()>> = None;

        let mut daemon = Daemon {
            config,
            config_path,
            originator,
            stop_tx,
            peers: BTreeMap::new(),
            inbound,
            listener,
            listener_keys,
            vip_tx,
            vip_task,
            health,
            checks,
            addresses,
            ready,
            ospf,
            #[cfg(feature = "ospf")]
            ospf_status,
            #[cfg(feature = "ospf")]
            ospf_ctl,
        };
        for p in daemon.config.peers.clone() {
            daemon.start_peer(p);
        }
        info!(
            peers = daemon.config.peers.len(),
            vips = daemon.config.vips.len(),
            checks = daemon.config.checks.len(),
            "vipd running"
        );
        Ok(daemon)
    }

    fn start_peer(&mut self, p: PeerConfig) {
        if !p.enabled {
            return;
        }
        if let Some((socket, addr)) = &self.listener_keys
            && let Err(e) = set_listener_key(socket, *addr, &p)
        {
            warn!(peer = %p.address, error = %e, "cannot set the session keys on the listener");
        }
        let (stop, stop_rx) = watch::channel(None);
        let handle = peer::spawn(
            p.clone(),
            &self.config.speaker,
            self.originator.reader(),
            self.ready.clone(),
            stop_rx,
        );
        if let Ok(mut map) = self.inbound.write() {
            map.insert(p.address, handle.inbound);
        }
        self.peers.insert(
            (p.address, p.port),
            RunningPeer {
                config: p,
                stop,
                status: handle.status,
                task: handle.task,
            },
        );
    }

    /// Stop one peer with the given Cease subcode; returns its task.
    fn stop_peer(
        &mut self,
        key: (IpAddr, u16),
        reason: &str,
        cease: CeaseSubcode,
    ) -> Option<JoinHandle<()>> {
        let running = self.peers.remove(&key)?;
        // Its TCP-AO keys leave the listener with it: a reload may give the
        // peer other keys, or TCP-MD5, which Linux refuses next to AO keys.
        if let Some((socket, addr)) = &self.listener_keys
            && !running.config.tcp_ao.is_empty()
        {
            let peer = listener_peer(*addr, running.config.address);
            let _ = crate::bgp::sockopt::del_tcp_ao(socket, peer, &running.config.tcp_ao);
        }
        if let Ok(mut map) = self.inbound.write() {
            map.remove(&key.0);
        }
        let _ = running.stop.send(Some(PeerStop {
            reason: reason.to_string(),
            cease,
            keep_routes: false,
        }));
        Some(running.task)
    }

    async fn serve(&mut self, request: ControlRequest) {
        match request {
            ControlRequest::Status(reply) => {
                let _ = reply.send(self.status().await);
            }
            ControlRequest::Drain {
                prefixes,
                drain,
                reply,
            } => {
                let _ = reply.send(self.drain(prefixes, drain));
            }
            ControlRequest::Reload(reply) => {
                let result = self.reload().await;
                match &result {
                    Ok(report) => info!(changes = report.changes.len(), "config reloaded"),
                    Err(errors) => warn!(%errors, "reload refused: the running config stays"),
                }
                let _ = reply.send(result);
            }
            ControlRequest::Lease {
                name,
                ttl,
                release,
                reply,
            } => {
                let leases = self.health.leases();
                let result = if release {
                    leases.release(&name).map(|()| Duration::ZERO)
                } else {
                    leases.renew(&name, ttl)
                };
                let _ = reply.send(result.map_err(|e| e.to_string()));
            }
        }
    }

    async fn status(&self) -> StatusReport {
        let (tx, rx) = oneshot::channel();
        let _ = self.vip_tx.send(VipCommand::Status(tx));
        StatusReport {
            peers: self
                .peers
                .values()
                .map(|p| p.status.borrow().clone())
                .collect(),
            vips: rx.await.unwrap_or_default(),
            checks: self.checks.borrow().clone(),
            #[cfg(feature = "ospf")]
            ospf: self.ospf_status.borrow().clone(),
        }
    }

    fn drain(&self, prefixes: Vec<IpNet>, drain: bool) -> Result<Vec<IpNet>, String> {
        let unknown: Vec<String> = prefixes
            .iter()
            .filter(|p| !self.config.vips.iter().any(|v| v.covers(**p)))
            .map(|p| p.to_string())
            .collect();
        if !unknown.is_empty() {
            return Err(format!("not a configured VIP: {}", unknown.join(", ")));
        }
        if prefixes.is_empty() {
            // Every VIP, in one input however many there are.
            let input = VipInput::AdminDrain {
                prefix: None,
                drain,
            };
            let _ = self.vip_tx.send(VipCommand::Input(input));
            return Ok(self.config.vips.iter().flat_map(|v| v.prefixes()).collect());
        }
        let targets = prefixes;
        for p in &targets {
            let input = VipInput::AdminDrain {
                prefix: Some(*p),
                drain,
            };
            let _ = self.vip_tx.send(VipCommand::Input(input));
        }
        Ok(targets)
    }

    /// Live reload: validate the new file, then apply only the difference.
    async fn reload(&mut self) -> Result<ReloadReport, ConfigErrors> {
        let Some(path) = self.config_path.clone() else {
            return Err(ConfigErrors(vec![config::ConfigError {
                file: "-".into(),
                location: None,
                key: None,
                message: "vipd was started without a config file to reload".into(),
            }]));
        };
        let new = config::load(&path)?;
        if let Err(message) = check_tcp_ao(&new.peers) {
            return Err(ConfigErrors(vec![config::ConfigError {
                file: path.display().to_string(),
                location: None,
                key: None,
                message,
            }]));
        }
        let mut report = ReloadReport::default();

        if new.speaker.listen != self.config.speaker.listen {
            report.changes.push(format!(
                "listen changed ({:?} -> {:?}): takes effect at the next restart",
                self.config.speaker.listen, new.speaker.listen
            ));
        }

        // Peers: key by (address, port). Unchanged peers keep their session.
        let session_wide_changed = new.speaker.router_id != self.config.speaker.router_id
            || new.speaker.graceful_restart_time != self.config.speaker.graceful_restart_time;
        let wanted: BTreeMap<(IpAddr, u16), PeerConfig> = new
            .peers
            .iter()
            .filter(|p| p.enabled)
            .map(|p| ((p.address, p.port), p.clone()))
            .collect();
        let mut stopping = Vec::new();
        let keys: Vec<(IpAddr, u16)> = self.peers.keys().copied().collect();
        for key in keys {
            match wanted.get(&key) {
                None => {
                    report.changes.push(format!("peer {} removed", key.0));
                    stopping.extend(self.stop_peer(
                        key,
                        "peer removed from config",
                        CeaseSubcode::PeerDeConfigured,
                    ));
                }
                Some(p)
                    if session_wide_changed
                        || self.peers.get(&key).is_some_and(|r| r.config != *p) =>
                {
                    report
                        .changes
                        .push(format!("peer {} changed: session restarted", key.0));
                    stopping.extend(self.stop_peer(
                        key,
                        "peer settings changed",
                        CeaseSubcode::OtherConfigurationChange,
                    ));
                }
                Some(_) => {}
            }
        }
        // Let the old sessions say goodbye before new ones to the same
        // address begin.
        let _ = tokio::time::timeout(SHUTDOWN_BUDGET, async {
            for t in stopping {
                let _ = t.await;
            }
        })
        .await;
        self.config.speaker = new.speaker.clone();
        for (key, p) in &wanted {
            if !self.peers.contains_key(key) {
                if !self
                    .config
                    .peers
                    .iter()
                    .any(|old| (old.address, old.port) == *key)
                {
                    report.changes.push(format!("peer {} added", key.0));
                }
                self.start_peer(p.clone());
            }
        }

        // VIPs: the machine keeps the state of those that stay.
        let old_vips: BTreeMap<IpNet, &VipConfig> =
            self.config.vips.iter().map(|v| (v.prefix, v)).collect();
        for v in &new.vips {
            match old_vips.get(&v.prefix) {
                None => report.changes.push(format!("VIP {} added", v.prefix)),
                Some(old) if *old != v => report.changes.push(format!("VIP {} changed", v.prefix)),
                Some(_) => {}
            }
        }
        let new_prefixes: std::collections::HashSet<IpNet> =
            new.vips.iter().map(|v| v.prefix).collect();
        for p in old_vips.keys() {
            if !new_prefixes.contains(p) {
                report.changes.push(format!("VIP {p} removed"));
            }
        }
        // Checks: only the changed and new ones start again (from down).
        let restarted = self.health.update(&new.checks);
        for name in &restarted {
            report.changes.push(format!("check {name} (re)started"));
        }
        for name in self.config.checks.keys() {
            if !new.checks.contains_key(name) {
                report.changes.push(format!("check {name} removed"));
            }
        }
        self.reload_addresses(&new, &mut report).await;
        #[cfg(feature = "ospf")]
        self.reload_ospf(new.ospf.clone(), &mut report).await;
        let _ = self.vip_tx.send(VipCommand::Reconfigure {
            vips: new.vips.iter().map(vip_spec).collect(),
            checks: check_specs(&new),
            restarted,
        });
        self.config.peers = new.peers;
        self.config.vips = new.vips;
        self.config.checks = new.checks;
        for change in &report.changes {
            info!(%change, "reload");
        }
        Ok(report)
    }

    /// New VIPs get their address before they can be announced; a removed
    /// VIP's address goes (its withdrawal is sent by the VIP task first).
    /// A reloaded `[ospf]`: VIP changes apply in place; any other change
    /// restarts OSPF (everything flushed, adjacencies formed again).
    #[cfg(feature = "ospf")]
    async fn reload_ospf(&mut self, new: Option<config::OspfConfig>, report: &mut ReloadReport) {
        if let (Some(ctl), Some(new)) = (self.ospf_ctl.as_mut(), new.as_ref())
            && ctl.applies_in_place(new)
        {
            report.changes.extend(ctl.set_vips(new));
            self.config.ospf = Some(new.clone());
            return;
        }
        if self.config.ospf.is_none() && new.is_none() {
            return;
        }
        report.changes.push(match (&self.config.ospf, &new) {
            (None, _) => "OSPF started".to_string(),
            (_, None) => "OSPF stopped: every LSA flushed".to_string(),
            _ => "OSPF restarted ([ospf] changed): every LSA flushed, adjacencies form again"
                .to_string(),
        });
        if let Some(ctl) = self.ospf_ctl.take() {
            ctl.stop("[ospf] changed at reload");
        }
        if let Some(task) = self.ospf.take()
            && tokio::time::timeout(SHUTDOWN_BUDGET, task).await.is_err()
        {
            warn!("the old OSPF did not stop in time");
        }
        self.ospf_status.send_replace(Vec::new());
        if let Some(config) = new.clone() {
            let (ctl, task) = crate::ospf::Ospf::spawn(
                config,
                self.originator.subscribe(),
                self.stop_tx.subscribe(),
                self.ospf_status.clone(),
            );
            self.ospf_ctl = Some(ctl);
            self.ospf = Some(task);
        }
        self.config.ospf = new;
    }

    async fn reload_addresses(&mut self, new: &Config, report: &mut ReloadReport) {
        let old: BTreeMap<IpNet, Option<String>> = self
            .config
            .vips
            .iter()
            .map(|v| (v.prefix, v.interface.clone()))
            .collect();
        for v in &new.vips {
            let Some(ifname) = &v.interface else { continue };
            if old.get(&v.prefix) == Some(&v.interface) {
                continue;
            }
            let a = match self.addresses.as_mut() {
                Some(a) => a,
                None => match Addresses::new() {
                    Ok(a) => self.addresses.insert(a),
                    Err(e) => {
                        report.changes.push(format!("VIP {}: {e}", v.prefix));
                        continue;
                    }
                },
            };
            if let Err(e) = a.ensure(ifname, v.prefix).await {
                report.changes.push(format!("VIP {}: {e}", v.prefix));
            }
        }
        for (prefix, interface) in &old {
            let kept = new
                .vips
                .iter()
                .any(|v| v.prefix == *prefix && v.interface == *interface);
            if interface.is_some()
                && !kept
                && let Some(a) = self.addresses.as_mut()
            {
                a.remove(*prefix).await;
            }
        }
    }

    /// SIGUSR2: stop so that a restarted vipd finds its routes still in
    /// place (RFC 4724). Every peer that negotiated Graceful Restart gets its
    /// connection closed without a NOTIFICATION (a NOTIFICATION would make
    /// it drop our routes at once) and without a withdrawal; the others are
    /// stopped as usual. The VIP addresses stay on their interfaces. The
    /// routers keep the routes for `graceful_restart_time`: vipd must be back
    /// by then, and its End-of-RIB then removes whatever it no longer
    /// announces. Without `graceful_restart_time` no router would keep
    /// anything, so this is a normal stop.
    async fn stop_for_restart(mut self, reason: String) {
        let Some(restart_time) = self.config.speaker.graceful_restart_time else {
            warn!(
                %reason,
                "stop for restart asked, but graceful_restart_time is not set: no router \
                 would keep the routes, so they are withdrawn as on SIGTERM"
            );
            return self.stop(reason).await;
        };
        info!(
            %reason,
            restart_time,
            "stopping for a restart: the routers keep the routes for the restart time"
        );
        // The peers go first, while nothing can change the desired set.
        let keys: Vec<(IpAddr, u16)> = self.peers.keys().copied().collect();
        let mut tasks = Vec::new();
        for key in keys {
            let Some(running) = self.peers.remove(&key) else {
                continue;
            };
            if let Ok(mut map) = self.inbound.write() {
                map.remove(&key.0);
            }
            let _ = running.stop.send(Some(PeerStop {
                reason: reason.clone(),
                cease: CeaseSubcode::AdministrativeShutdown,
                keep_routes: true,
            }));
            tasks.push(running.task);
        }
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_BUDGET, all).await.is_err() {
            warn!("some sessions did not close in time");
        }
        self.vip_task.abort();
        self.health.stop_all();
        let _ = self.stop_tx.send(Some(reason));
        let mut rest: Vec<JoinHandle<()>> = self.listener.take().into_iter().collect();
        // OSPF has no graceful restart here: it flushes what it originated.
        rest.extend(self.ospf.take());
        let all = async {
            for t in rest {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_BUDGET, all).await.is_err() {
            warn!("some tasks did not stop in time");
        }
        info!("stopped for a restart; the VIP addresses stay in place");
    }

    async fn stop(mut self, reason: String) {
        let drain = self.config.speaker.shutdown_drain;
        if drain {
            info!(%reason, "shutting down: draining every VIP first");
        } else {
            info!(%reason, "shutting down: withdrawing every VIP");
        }
        // OSPF flushes first, the LSAs in force as they are: withdrawing the
        // VIPs first would re-originate the Router-LSA (stub VIPs) just
        // before the flush, and routers drop a flush that arrives within
        // MinLSArrival (1 s) of the instance it ages out. OSPF has no
        // drain: flushing at once is how it moves traffic away.
        #[cfg(feature = "ospf")]
        if let Some(ctl) = self.ospf_ctl.take() {
            ctl.stop(&reason);
        }
        let ospf_deadline = tokio::time::Instant::now() + OSPF_STOP_BUDGET;
        let (done_tx, done_rx) = oneshot::channel();
        let _ = self.vip_tx.send(VipCommand::Shutdown {
            drain,
            done: done_tx,
        });
        let _ = done_rx.await;
        let _ = (&mut self.vip_task).await;
        self.health.stop_all();
        let _ = self.stop_tx.send(Some(reason.clone()));
        let keys: Vec<(IpAddr, u16)> = self.peers.keys().copied().collect();
        let mut tasks: Vec<JoinHandle<()>> = keys
            .into_iter()
            .filter_map(|k| self.stop_peer(k, &reason, CeaseSubcode::AdministrativeShutdown))
            .collect();
        tasks.extend(self.listener.take());
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        // OSPF flushes everything it originated when told to stop, on its
        // own budget: since the stop above, not since the drain ended.
        let ospf = async {
            if let Some(t) = self.ospf.take()
                && tokio::time::timeout_at(ospf_deadline, t).await.is_err()
            {
                warn!("OSPF did not finish its flush in time");
            }
        };
        let (sessions, ()) = tokio::join!(tokio::time::timeout(SHUTDOWN_BUDGET, all), ospf);
        if sessions.is_err() {
            warn!("some sessions did not close in time");
        }
        // Only now, with every withdrawal sent and every drain over: packets
        // already on their way were still accepted until here.
        if let Some(a) = self.addresses.as_mut() {
            a.remove_all().await;
        }
        info!("stopped");
    }
}

/// RFC 2385 and RFC 5925: the listener must know each peer's keys, or the
/// kernel drops its signed SYNs. A key the peer no longer has (a reload
/// took its `password` away) is removed, so its unsigned SYNs are accepted.
fn set_listener_key(
    socket: &socket2::Socket,
    listen: SocketAddr,
    p: &PeerConfig,
) -> std::io::Result<()> {
    use crate::bgp::sockopt;
    let peer = listener_peer(listen, p.address);
    match &p.password {
        Some(key) => sockopt::set_tcp_md5(socket, peer, key.as_bytes())?,
        // An empty key deletes; ENOENT: there was none.
        None => match sockopt::set_tcp_md5(socket, peer, b"") {
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => return Err(e),
            _ => {}
        },
    }
    if !p.tcp_ao.is_empty() {
        sockopt::set_tcp_ao(socket, peer, &p.tcp_ao, true).map_err(std::io::Error::other)?;
    }
    Ok(())
}

/// A dual-stack listener sees IPv4 peers as IPv4-mapped addresses.
fn listener_peer(listen: SocketAddr, address: IpAddr) -> IpAddr {
    match (listen, address) {
        (SocketAddr::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
        (_, ip) => ip,
    }
}

/// RFC 5925 on this kernel: every peer's `tcp_ao` keys are tried on a
/// scratch socket. The error names the peer and the key.
fn check_tcp_ao(peers: &[PeerConfig]) -> Result<(), String> {
    use crate::bgp::sockopt::{TcpAoError, check_tcp_ao as check};
    for (i, p) in peers.iter().enumerate() {
        let Some(first) = p.tcp_ao.first() else {
            continue;
        };
        match check(p.address, &p.tcp_ao) {
            Ok(()) => {}
            Err(TcpAoError::Unsupported) => {
                return Err(format!(
                    "TCP-AO is not supported by this kernel (it needs Linux 6.7+ built with \
                     CONFIG_TCP_AO); peer[{i}] {} ({}) has tcp_ao keys (the first: send_id {}, \
                     recv_id {}): remove tcp_ao from it (or use password for TCP-MD5), or run \
                     vipd on a kernel with TCP-AO",
                    p.name, p.address, first.send_id, first.recv_id
                ));
            }
            Err(e) => {
                return Err(format!("peer[{i}] {} ({}): tcp_ao: {e}", p.name, p.address));
            }
        }
    }
    Ok(())
}

/// How long the checks may take to give their first verdicts after a start:
/// `rise` intervals plus a timeout for the slowest check, within 5 s..=120 s,
/// after any startup delay.
fn first_verdict_deadline(config: &Config) -> Duration {
    let slowest = config
        .checks
        .values()
        .map(|c| c.interval * (c.rise + 1) + c.timeout)
        .max()
        .unwrap_or_default();
    config.speaker.startup_delay.unwrap_or_default()
        + slowest.clamp(Duration::from_secs(5), Duration::from_secs(120))
}

fn check_specs(config: &Config) -> BTreeMap<String, CheckSpec> {
    config
        .checks
        .iter()
        .map(|(name, c)| {
            let spec = CheckSpec {
                drain_on_fail: c.on_fail == OnFail::Drain,
            };
            (name.clone(), spec)
        })
        .collect()
}

fn vip_spec(v: &VipConfig) -> VipSpec {
    VipSpec {
        route: VipRoute::from(v),
        count: v.count,
        checks: v.checks.clone(),
        policy: match v.check_policy {
            CheckPolicy::All => Policy::All,
            CheckPolicy::Any => Policy::Any,
        },
        hold_down: v.hold_down,
        drain_time: v.drain_time,
        drain_med: v.drain_med,
        drain_prepend: v.drain_prepend,
    }
}

#[cfg(test)]
mod tests;
