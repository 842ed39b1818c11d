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

mod anycast;
mod chaos_lab;
mod clab;
mod failover_measure;
mod harness;
mod interop;
mod security_lab;

mod announce_matrix;
mod bfd_router_notices_a_frozen_or_cut_off_node;
mod bfd_vipd_frozen_or_cut_off_node_leaves_the_router_before_the_hold_timer;
mod chaos_health_flap;
mod chaos_link_flaps;
mod chaos_loss_delay;
mod chaos_router_refuses_connections;
mod chaos_vipd_kill9_and_router_restart;
mod collision_both_connect;
mod config_check;
mod conformance;
mod control_node;
mod control_sd_notify_ready_after_sockets_bound;
mod control_status_shows_bird_sessions_and_vips;
mod docs_router_snippets_load;
mod failover_benchmark_measures_a_vipd_failover;
mod graceful_restart_keeps_routes_across_a_vipd_restart;
mod harness_routers_peer_with_each_other;
mod health_dns_grpc_and_lease_checks_withdraw_at_the_router;
mod health_hung_exec_check_is_killed_at_its_timeout;
mod health_killed_service_leaves_ecmp_and_rejoins;
mod health_maintenance_file_drains_without_a_failed_request;
mod health_sigterm_drains_then_withdraws;
mod health_watch_and_process_checks_react_in_milliseconds;
mod metrics_scraped_from_a_node_peering_with_bird;
mod ospf_reload_applies_vip_and_ospf_changes;
mod ospf_shutdown_flushes_its_lsas;
mod ospf_vips_reach_frr_and_bird;
mod ospf_withdrawal_leaves_the_router_within_a_second;
mod ospf_wrong_authentication_never_forms_an_adjacency;
mod reload_applies_changes_without_resetting_bird_sessions;
mod router_restart_reconnects;
mod security_gtsm_refuses_a_peer_two_hops_away;
mod security_tcp_ao_needs_kernel_support;
mod security_tcp_md5_with_bird_and_frr;
mod shutdown_withdraws;
mod silent_router_hold_timer;
mod topology_demo_runs_anycast_ecmp_end_to_end;
mod topology_dual_homed_loses_no_vip_when_a_router_fails;
mod topology_files_are_tested_and_built_like_ci;
mod topology_ibgp_rr_reflects_every_node_to_every_client;
mod topology_ipv6_only_carries_ipv4_vips_over_ipv6_next_hops;
mod vip_address_on_interface;

use std::net::IpAddr;

/// Parses an address written in a test; a typo is a bug in the test.
fn ip(text: &str) -> IpAddr {
    text.parse()
        .unwrap_or_else(|e| panic!("bad address {text:?} in test: {e}"))
}
