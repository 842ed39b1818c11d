//! OSPF: originate the healthy VIPs into an OSPF area, as a host that never
//! carries transit traffic (feature `ospf`).
//!
//! vipd speaks OSPFv2 (RFC 2328) for IPv4 VIPs and OSPFv3 (RFC 5340) for
//! IPv6 VIPs on point-to-point and broadcast interfaces: Hellos, the full
//! neighbor state machine, the Database Exchange, reliable flooding and a
//! complete area database kept as the RFC requires (LSA checksums, aging,
//! sequence numbers, MaxAge, MinLSArrival). It runs no SPF and installs no
//! routes. Router Priority 0: never DR or BDR. No transit: every link to
//! another router carries MaxLinkMetric (RFC 6987), and the Router-LSA sets
//! the H-bit (RFC 8770, OSPFv2) or clears the R-bit (OSPFv3).
//!
//! # Layout
//! - [`wire`]: the codec (packets, LSAs, checksums, authentication).
//! - `instance.rs`: one sans-IO instance per version, `handle(now, input)
//!   -> outputs` and `poll_timeout()`; `interface.rs` (RFC 2328 9),
//!   `neighbor.rs` (10.1-10.4), `exchange.rs` (10.6-10.9), `flood.rs` (13),
//!   `origin.rs` (12.4, 14.1), `lsdb.rs` (12, 14).
//! - `io.rs`: the tokio driver, raw IP protocol 89 sockets.
//!
//! # How a VIP is originated
//! `[ospf] vip_lsa` chooses; unset, each version takes its own default:
//! - `"external"` (OSPFv2 default): one AS-External-LSA per VIP (type 5,
//!   or 0x4005 in OSPFv3), metric `ospf_cost` (default 1), type 2 unless
//!   `external_type = 1`, no forwarding address (traffic goes to vipd).
//!   vipd's Router-LSA sets the E-bit (ASBR). In OSPFv3 this also sets the
//!   R-bit: RFC 5340 routers compute no AS-external route through an ASBR
//!   whose R-bit is clear (FRR's ospf6d skips such border routers), so
//!   there MaxLinkMetric alone keeps transit traffic away.
//! - `"stub"` (OSPFv3 default): OSPFv2: a stub link (mask 255.255.255.255,
//!   metric `ospf_cost`) per VIP in vipd's Router-LSA; OSPFv3: one
//!   Intra-Area-Prefix-LSA per VIP referencing the Router-LSA, LA bit set,
//!   R-bit clear.
//!
//! A withdrawn VIP is flushed (its own LSA re-flooded at MaxAge) or, in
//! OSPFv2 stub mode, dropped from a new Router-LSA instance. Two vipd nodes
//! announcing one VIP at equal cost give routers ECMP; BIRD needs `merge
//! external yes` to balance AS-external routes from two ASBRs (without it
//! BIRD keeps the higher Router ID's), FRR does it by default.
//!
//! # Latency: a failed health check leaves the router within a second
//! From the moment the desired set loses a VIP, the RFC timers bound what
//! OSPF adds:
//! - MinLSInterval (5 s, RFC 2328 12.4): two instances of the *same* LSA
//!   are at least 5 s apart. With `"stub"` in OSPFv2 every VIP lives in the
//!   one Router-LSA, so a withdrawal within 5 s of *any* earlier change (any
//!   VIP, an adjacency, a refresh) waits up to 5 s. That misses the 1 s goal
//!   (measured against FRR: 4.7 s for a second failure 0.3 s after a first).
//! - MinLSArrival (1 s, RFC 2328 13 step 5a): a router discards a newer
//!   instance that arrives within 1 s of the previous one and only takes it
//!   on our retransmission, RxmtInterval (5 s) later. vipd therefore holds a
//!   flush until 1 s after the instance it withdraws, rather than lose 5 s.
//! - With one LSA per VIP (OSPFv2 `"external"`, OSPFv3 either) each VIP has
//!   its own timers: a VIP announced more than 1 s ago is flushed the moment
//!   it fails, whatever happens to other VIPs. The bound is 0 s plus one
//!   packet, or under 1 s for a VIP that flaps within a second of coming up.
//!   This is why OSPFv2 defaults to `"external"`: it is the only choice
//!   that meets the requirement there for every pattern of failures. Its
//!   costs: the area must not be stub/NSSA (AS-external LSAs are not flooded
//!   there), vipd is an ASBR, and external routes lose to intra-area ones
//!   for the same prefix. OSPFv3 gets per-VIP LSAs without those costs, so
//!   it defaults to `"stub"`.
//! - A lost packet costs RxmtInterval (default 5 s, per interface).
//! - Then the router's own route calculation: FRR runs it within tens of
//!   milliseconds; BIRD recomputes on its `tick` (1 s by default).
//!   Measured by the proto-tests with `vipd run` (a file check probed
//!   every 50 ms failing, to the route leaving the router's table, CLI
//!   polled every 20 ms): FRR 26-243 ms, BIRD 0.26-1.06 s (its tick), in
//!   both versions, also for a second VIP failing 0.3 s after the first;
//!   `docs/ospf.md` has the table.
//!
//! Shutdown flushes every LSA vipd originated (premature aging), waits up to
//! 500 ms for the acknowledgments (retransmitting every 150 ms), then sends a
//! Hello listing no neighbors so that routers drop the adjacency at once. A
//! flush within MinLSArrival of the instance it ages out is held until then
//! (routers would discard it), and the wait starts when it is sent.

mod exchange;
mod flood;
mod instance;
mod interface;
mod io;
mod lsdb;
mod neighbor;
mod origin;
mod status;
pub mod wire;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use ipnet::IpNet;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{OspfAuthAlgorithm, OspfConfig, OspfExternalType, OspfNetwork, OspfVipLsa};
use crate::vip::DesiredSet;
use instance::InstanceConfig;
pub use instance::VipLsa;
use interface::InterfaceConfig;
pub use interface::NetworkType;
pub use status::{OspfNeighborStatus, OspfStatus};
use wire::Version;
use wire::auth::{Algorithm, AuthKey};

/// Why OSPF could not run.
#[derive(Debug, thiserror::Error)]
pub enum OspfError {
    #[error("{version}: cannot open a raw IP protocol 89 socket{}: {source} (vipd needs CAP_NET_RAW)", iface.as_deref().map(|i| format!(" on {i}")).unwrap_or_default())]
    Socket {
        version: Version,
        iface: Option<String>,
        source: std::io::Error,
    },
}

/// OSPF as the daemon runs it: started from `[ospf]`, changed by a reload,
/// stopped with the daemon.
pub struct Ospf {
    config: OspfConfig,
    vips: watch::Sender<BTreeMap<IpNet, u32>>,
    stop: watch::Sender<Option<String>>,
}

impl Ospf {
    /// Spawns [`run`] with `config`. It flushes and returns when
    /// `daemon_stop` turns `Some` (or closes), or at [`Ospf::stop`].
    pub fn spawn(
        config: OspfConfig,
        desired: watch::Receiver<DesiredSet>,
        mut daemon_stop: watch::Receiver<Option<String>>,
        status: watch::Sender<Vec<OspfStatus>>,
    ) -> (Ospf, JoinHandle<()>) {
        let (vips, vips_rx) = watch::channel(config.vips.clone());
        let (stop, stop_rx) = watch::channel(None);
        let forward = stop.clone();
        let run_config = config.clone();
        let task = tokio::spawn(async move {
            // The daemon's stop becomes ours; then wait for the flush.
            let follow = async move {
                loop {
                    if let Some(reason) = daemon_stop.borrow_and_update().clone() {
                        forward.send_replace(Some(reason));
                        break;
                    }
                    if daemon_stop.changed().await.is_err() {
                        forward.send_replace(Some("vipd is stopping".into()));
                        break;
                    }
                }
                std::future::pending::<()>().await
            };
            tokio::select! {
                result = run(run_config, vips_rx, desired, stop_rx, status) => {
                    if let Err(e) = result {
                        tracing::error!(error = %e, "OSPF stopped");
                    }
                }
                () = follow => {}
            }
        });
        (Ospf { config, vips, stop }, task)
    }

    /// Whether `new` can be applied to the running OSPF in place: only the
    /// VIPs in OSPF, or their costs, changed. Anything else (Router ID,
    /// area, interfaces, timers, keys, LSA types) needs a restart.
    pub fn applies_in_place(&self, new: &OspfConfig) -> bool {
        let without_vips = |c: &OspfConfig| OspfConfig {
            vips: BTreeMap::new(),
            ..c.clone()
        };
        without_vips(&self.config) == without_vips(new)
    }

    /// Originates `new`'s VIPs (with their costs) from now on; what changed,
    /// for the reload report (nothing: empty).
    pub fn set_vips(&mut self, new: &OspfConfig) -> Vec<String> {
        let mut changes = Vec::new();
        for (prefix, cost) in &new.vips {
            match self.config.vips.get(prefix) {
                None => changes.push(format!("OSPF: VIP {prefix} added (cost {cost})")),
                Some(old) if old != cost => {
                    changes.push(format!("OSPF: VIP {prefix} cost {old} -> {cost}"))
                }
                Some(_) => {}
            }
        }
        for prefix in self.config.vips.keys() {
            if !new.vips.contains_key(prefix) {
                changes.push(format!("OSPF: VIP {prefix} removed"));
            }
        }
        if !changes.is_empty() {
            self.config.vips = new.vips.clone();
            self.vips.send_replace(new.vips.clone());
        }
        changes
    }

    /// Flushes everything this OSPF originated and stops it (its task
    /// finishes when the routers acknowledged, or half a second later).
    pub fn stop(self, reason: &str) {
        self.stop.send_replace(Some(reason.to_string()));
    }
}

/// Runs OSPFv2 on every configured interface and OSPFv3 on those with
/// `ipv6 = true`, originating exactly the VIPs in `desired` that are in
/// `vips` (a VIP's cost is its value there), and reacting to every change of
/// either at once. When `shutdown` turns `Some`, flushes everything vipd
/// originated and returns. Each instance keeps its entry in `status`
/// current (neighbors, database, counters).
pub async fn run(
    config: OspfConfig,
    vips: watch::Receiver<BTreeMap<IpNet, u32>>,
    desired: watch::Receiver<DesiredSet>,
    shutdown: watch::Receiver<Option<String>>,
    status: watch::Sender<Vec<OspfStatus>>,
) -> Result<(), OspfError> {
    let v2 = instance_config(&config, Version::V2);
    let v3 = instance_config(&config, Version::V3);
    let run = |cfg: Option<InstanceConfig>| {
        let (vips, desired, shutdown, status) = (
            vips.clone(),
            desired.clone(),
            shutdown.clone(),
            status.clone(),
        );
        async move {
            match cfg {
                Some(cfg) => io::run_instance(cfg, vips, desired, shutdown, status).await,
                None => Ok(()),
            }
        }
    };
    tokio::try_join!(run(v2), run(v3)).map(|_| ())
}

/// The instance for one version, or `None` if no interface runs it.
fn instance_config(config: &OspfConfig, version: Version) -> Option<InstanceConfig> {
    let interfaces: Vec<InterfaceConfig> = config
        .interfaces
        .iter()
        .filter(|i| version == Version::V2 || i.ipv6)
        .map(|i| InterfaceConfig {
            name: i.name.clone(),
            network: match i.network {
                OspfNetwork::PointToPoint => NetworkType::PointToPoint,
                OspfNetwork::Broadcast => NetworkType::Broadcast,
            },
            cost: i.cost,
            hello_interval: i.hello_interval,
            dead_interval: u32::from(i.dead_interval),
            retransmit_interval: i.retransmit_interval,
            // OSPFv3 relies on IPsec or RFC 7166 trailers, neither of which
            // vipd implements; `auth` applies to OSPFv2.
            auth: match version {
                Version::V2 => i.auth.as_ref().map(|a| AuthKey {
                    algorithm: match a.algorithm {
                        OspfAuthAlgorithm::Md5 => Algorithm::Md5,
                        OspfAuthAlgorithm::HmacSha1 => Algorithm::HmacSha1,
                        OspfAuthAlgorithm::HmacSha256 => Algorithm::HmacSha256,
                        OspfAuthAlgorithm::HmacSha384 => Algorithm::HmacSha384,
                        OspfAuthAlgorithm::HmacSha512 => Algorithm::HmacSha512,
                    },
                    key_id: a.key_id,
                    key: a.key.clone(),
                }),
                Version::V3 => None,
            },
            instance_id: 0,
        })
        .collect();
    if interfaces.is_empty() {
        return None;
    }
    Some(InstanceConfig {
        version,
        router_id: config.router_id,
        area_id: config.area,
        // Unset: stub in both versions (a stub link in the OSPFv2
        // Router-LSA; one Intra-Area-Prefix-LSA per VIP in OSPFv3).
        vip_lsa: match config.vip_lsa {
            Some(OspfVipLsa::External) => VipLsa::External,
            Some(OspfVipLsa::Stub) | None => VipLsa::Stub,
        },
        external_type2: config.external_type == OspfExternalType::Type2,
        interfaces,
    })
}
