//! vipd: routed virtual IPs.
//!
//! Every node that can serve a VIP announces it as a host route over BGP to
//! its upstream routers and withdraws it when it can no longer serve.
//!
//! # Layout
//! - [`config`]: TOML file -> raw serde structs -> validated, typed [`config::Config`].
//! - [`bgp::wire`]: the BGP-4 codec (framing, one file per message family).
//! - [`bgp::session`]: the sans-IO session FSM of RFC 4271 section 8.
//! - [`bgp::adj_rib_out`]: desired VIP set vs advertised set -> packed UPDATEs.
//! - [`bgp::peer`]: the only BGP code that touches tokio: sockets and one timer.
//! - [`health`]: health checks: probes, the rise/fall tracker, one task per check.
//! - [`vip`]: the desired route set, published on a watch channel.
//! - `ospf` (feature `ospf`): originates the VIPs into an OSPFv2/OSPFv3 area.
//! - [`app`]: wires tasks and channels together.
//! - [`control`]: the operator surface: control socket, `vipd status|drain|reload`,
//!   Prometheus metrics, sd_notify.
//!
//! Data flows one way: VIP state -> desired route set -> every BGP peer.

pub mod app;
pub mod bfd;
pub mod bgp;
pub mod config;
pub mod control;
pub mod health;
#[cfg(feature = "ospf")]
pub mod ospf;
pub mod vip;
