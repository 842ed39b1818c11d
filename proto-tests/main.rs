//! Interop tests ("proto-tests"): vipd against real BIRD, FRR and GoBGP, each
//! in its own network namespaces, one scenario per file.
//!
//! Run as root: `cargo test --test proto`. Every scenario deploys a topology
//! from `containerlab/` with the configs in `configs/` (the same files
//! `containerlab deploy` uses), asserts on the router's own CLI output, and
//! tears everything down even when it fails, printing every log first.
//!
//! Set `VIPD_PROTO_KEEP=1` to keep each lab's logs (under
//! `$TMPDIR/vipd-proto/`) after a passing test too.
//!
//! Layout:
//! - `harness/`: namespaces and processes ([`harness::Lab`]), the routers
//!   behind [`harness::Router`], the vipd process ([`harness::Vipd`]), and a
//!   tcpdump [`harness::Capture`].
//! - `clab.rs`: containerlab topology files instantiated in namespaces.
//! - `interop.rs`: the `interop-<router>` topologies and the routes their
//!   vipd configs must produce on the router.
//! - one file per scenario, named for what it shows.
//! - `tools/`: the recorder that captured `src/bgp/wire/testdata/*.hex`.

mod clab;
mod harness;
mod interop;

mod announce_matrix;
mod bfd_router_notices_a_frozen_or_cut_off_node;
mod collision_both_connect;
mod config_check;
mod conformance;
mod harness_routers_peer_with_each_other;
mod router_restart_reconnects;
mod shutdown_withdraws;
mod silent_router_hold_timer;
mod vip_address_on_interface;

use std::net::IpAddr;

/// Parses an address written in a test; a typo is a bug in the test.
fn ip(text: &str) -> IpAddr {
    text.parse()
        .unwrap_or_else(|e| panic!("bad address {text:?} in test: {e}"))
}
