//! Announce: one speaker originates N distinct /32s to a BIRD router in
//! another namespace. Measured from spawning the speaker's process until
//! the router's protocol reports N routes imported (polled every
//! [`POLL`]), with the speaker's CPU time (utime + stime) and peak RSS
//! (VmHWM) read from /proc along the way.
//!
//! Each speaker is set up the fastest way we found:
//! - vipd: N `[[vip]]` (or one with `count = N`), no checks;
//! - BIRD (the router's own ingest reference): N static blackhole routes
//!   exported over BGP, `connect delay time 0`;
//! - GoBGP: `gobgpd` with the neighbour in its config, routes loaded with
//!   `gobgp mrt inject global` (gRPC AddPathStream) from a TABLE_DUMP_V2
//!   file as soon as its API port opens. GoBGP's own first connect waits a
//!   random 5-10 s, so for it the router connects instead, enabled the
//!   moment the API answers;
//! - ExaBGP: N `route P next-hop ...;` lines in the neighbor's `static`
//!   block, route logging off. `exabgp-api` (not run by default: about ten
//!   times slower) feeds them instead from an API process printing
//!   `announce attributes next-hop ... nlri P1 P2 ...` lines of 500.
//!
//! The router's protocol is also polled for the moment it is Established,
//! so "session up → N held" separates each tool's start-up from the
//! transfer; for the BIRD speaker that is the router's own ingest time.

use std::fmt;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{
    self, Pair, Peak, ROUTER_ASN, ROUTER_IP, RouterSession, SPEAKER_ASN, SPEAKER_IP,
    SPEAKER_PROTOCOL, path_str,
};
use crate::harness::require_binary;

const POLL: Duration = Duration::from_millis(20);
const EXABGP: &str = "/usr/sbin/exabgp";
const GOBGPD: &str = "gobgpd";
const GOBGP: &str = "gobgp";
const BIRD: &str = "/usr/sbin/bird";
/// Prefixes per ExaBGP API line.
const EXABGP_BATCH: u32 = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    Vipd,
    Bird,
    Gobgp,
    Exabgp,
    ExabgpApi,
}

impl Speaker {
    pub fn parse(name: &str) -> Option<Speaker> {
        match name {
            "vipd" => Some(Speaker::Vipd),
            "bird" => Some(Speaker::Bird),
            "gobgp" => Some(Speaker::Gobgp),
            "exabgp" => Some(Speaker::Exabgp),
            "exabgp-api" => Some(Speaker::ExabgpApi),
            _ => None,
        }
    }
}

impl fmt::Display for Speaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Speaker::Vipd => "vipd",
            Speaker::Bird => "BIRD (router ingest ref.)",
            Speaker::Gobgp => "GoBGP (gobgpd + mrt inject)",
            Speaker::Exabgp => "ExaBGP (static routes)",
            Speaker::ExabgpApi => "ExaBGP (API process)",
        })
    }
}

pub struct Result_ {
    pub speaker: Speaker,
    pub n: u32,
    /// Spawn to N held at the router; None if it never got there.
    pub secs: Option<f64>,
    /// Spawn to the router's session Established (polled, as `secs`).
    pub established: Option<f64>,
    /// The speaker daemon's CPU seconds.
    pub cpu: f64,
    /// CPU seconds of the helper feeding it (GoBGP's `gobgp` client).
    pub helper_cpu: f64,
    pub peak_rss_kb: u64,
    /// Routes the router held at the end.
    pub held: u64,
}

/// How long a run may take before it counts as failed.
fn deadline(n: u32) -> Duration {
    Duration::from_secs(60) + Duration::from_micros(300) * n
}

pub fn run(speaker: Speaker, n: u32) -> Result<Result_, String> {
    let pair = Pair::new()?;
    let gobgp = speaker == Speaker::Gobgp;
    let (_router, mut ctl) = pair.start_router(&common::router_config(&[RouterSession {
        name: SPEAKER_PROTOCOL,
        local: ROUTER_IP,
        neighbor: SPEAKER_IP,
        asn: SPEAKER_ASN,
        passive: !gobgp,
        disabled: gobgp,
        hold: None,
    }]))?;

    // Everything the speaker reads is written before the clock starts.
    let mut start: Box<dyn FnMut() -> Result<u32, String>> = match speaker {
        Speaker::Vipd => {
            let use_count = common::vipd_has_vip_count(pair.lab.dir());
            let config = format!(
                "[speaker]\nasn = {SPEAKER_ASN}\nrouter_id = \"{SPEAKER_IP}\"\ncontrol_socket = false\n\n[[peer]]\naddress = \"{ROUTER_IP}\"\nremote_asn = {ROUTER_ASN}\n\n{}",
                common::vip_tables(n, use_count, |_| String::new())
            );
            let path = pair.file("vipd.toml", config.as_bytes())?;
            let ns = pair.spk.clone();
            Box::new(move || {
                ns.spawn(
                    "spk-vipd",
                    common::VIPD,
                    &["run", "--config", path_str(&path)?, "--log-level", "info"],
                )
            })
        }
        Speaker::Bird => {
            require_binary(BIRD, "bird2");
            let mut config = format!(
                "router id {SPEAKER_IP};\nprotocol device {{}}\nprotocol static vips {{\n  ipv4;\n"
            );
            for i in 0..n {
                config.push_str(&format!("  route {}/32 blackhole;\n", common::host(i, n)));
            }
            config.push_str(&format!(
                "}}\nprotocol bgp r {{\n  local {SPEAKER_IP} as {SPEAKER_ASN};\n  neighbor {ROUTER_IP} as {ROUTER_ASN};\n  connect delay time 0;\n  ipv4 {{ import none; export all; next hop self; }};\n}}\n"
            ));
            let path = pair.file("spk.bird.conf", config.as_bytes())?;
            let socket = pair.lab.dir().join("spk.bird.ctl");
            let ns = pair.spk.clone();
            Box::new(move || {
                ns.spawn(
                    "spk-bird",
                    BIRD,
                    &["-f", "-c", path_str(&path)?, "-s", path_str(&socket)?],
                )
            })
        }
        Speaker::Gobgp => {
            require_binary(GOBGPD, "gobgpd");
            require_binary(GOBGP, "gobgpd");
            let config = format!(
                "[global.config]\n  as = {SPEAKER_ASN}\n  router-id = \"{SPEAKER_IP}\"\n  local-address-list = [\"{SPEAKER_IP}\"]\n\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{ROUTER_IP}\"\n    peer-as = {ROUTER_ASN}\n  [neighbors.transport.config]\n    passive-mode = true\n    local-address = \"{SPEAKER_IP}\"\n"
            );
            let path = pair.file("gobgpd.toml", config.as_bytes())?;
            let ns = pair.spk.clone();
            Box::new(move || {
                ns.spawn(
                    "spk-gobgpd",
                    GOBGPD,
                    &[
                        "-f",
                        path_str(&path)?,
                        "-t",
                        "toml",
                        "--api-hosts",
                        "127.0.0.1:50051",
                        "--pprof-disable",
                        "--log-plain",
                    ],
                )
            })
        }
        Speaker::Exabgp => {
            require_binary(EXABGP, "exabgp");
            let mut routes = String::with_capacity(n as usize * 50);
            for i in 0..n {
                routes.push_str(&format!(
                    "        route {}/32 next-hop {SPEAKER_IP};\n",
                    common::host(i, n)
                ));
            }
            let config = format!(
                "neighbor {ROUTER_IP} {{\n    router-id {SPEAKER_IP};\n    local-address {SPEAKER_IP};\n    local-as {SPEAKER_ASN};\n    peer-as {ROUTER_ASN};\n    family {{\n        ipv4 unicast;\n    }}\n    static {{\n{routes}    }}\n}}\n"
            );
            let path = pair.file("exabgp.conf", config.as_bytes())?;
            let ns = pair.spk.clone();
            Box::new(move || spawn_exabgp(&ns, &path))
        }
        Speaker::ExabgpApi => {
            require_binary(EXABGP, "exabgp");
            let mut routes = String::with_capacity(n as usize * 16);
            let mut i = 0;
            while i < n {
                routes.push_str(&format!("announce attributes next-hop {SPEAKER_IP} nlri"));
                for j in i..(i + EXABGP_BATCH).min(n) {
                    routes.push_str(&format!(" {}/32", common::host(j, n)));
                }
                routes.push('\n');
                i += EXABGP_BATCH;
            }
            let routes = pair.file("exabgp-routes.txt", routes.as_bytes())?;
            // Prints the routes, then waits for ExaBGP to close its stdin.
            let feed = pair.file(
                "exabgp-feed.sh",
                format!(
                    "#!/bin/sh\ncat {}\nwhile read -r _; do :; done\n",
                    path_str(&routes)?
                )
                .as_bytes(),
            )?;
            std::fs::set_permissions(&feed, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .map_err(|e| format!("chmod {}: {e}", feed.display()))?;
            let config = format!(
                "process feed {{\n    run {};\n    encoder text;\n}}\n\nneighbor {ROUTER_IP} {{\n    router-id {SPEAKER_IP};\n    local-address {SPEAKER_IP};\n    local-as {SPEAKER_ASN};\n    peer-as {ROUTER_ASN};\n    family {{\n        ipv4 unicast;\n    }}\n    api {{\n        processes [ feed ];\n    }}\n}}\n",
                path_str(&feed)?
            );
            let path = pair.file("exabgp.conf", config.as_bytes())?;
            let ns = pair.spk.clone();
            Box::new(move || spawn_exabgp(&ns, &path))
        }
    };
    let mrt = if gobgp {
        let hosts = (0..n).map(|i| common::host(i, n));
        let bytes = crate::mrt::host_routes(hosts, SPEAKER_IP, SPEAKER_ASN, SPEAKER_IP);
        Some(pair.file("routes.mrt", &bytes)?)
    } else {
        None
    };

    let t0 = Instant::now();
    let pid = start()?;
    let mut daemon = Peak::default();
    let mut helper = Peak::default();
    let mut helper_pid = None;
    let mut secs = None;
    let mut established = None;
    let mut held = 0;
    let api: SocketAddr = "127.0.0.1:50051".parse().map_err(|e| format!("{e}"))?;
    while t0.elapsed() < deadline(n) {
        daemon.sample(pid);
        if let Some(h) = helper_pid {
            helper.sample(h);
        }
        if let (Some(mrt), None) = (&mrt, helper_pid)
            && common::connect_in(&pair.spk, api).is_ok()
        {
            ctl.cmd(&format!("enable {SPEAKER_PROTOCOL}"))?;
            helper_pid = Some(pair.spk.spawn(
                "spk-gobgp-inject",
                GOBGP,
                &["mrt", "inject", "global", path_str(mrt)?],
            )?);
        }
        let (routes, state) = ctl.imported(SPEAKER_PROTOCOL)?;
        held = routes;
        if established.is_none() && state.starts_with("Established") {
            established = Some(t0.elapsed().as_secs_f64());
        }
        if routes >= u64::from(n) {
            secs = Some(t0.elapsed().as_secs_f64());
            break;
        }
        if !alive(pid) {
            return Err(format!(
                "{speaker} exited before the router held {n} routes"
            ));
        }
        thread::sleep(POLL);
    }
    daemon.sample(pid);
    if let Some(h) = helper_pid {
        helper.sample(h);
    }
    Ok(Result_ {
        speaker,
        n,
        secs,
        established,
        cpu: daemon.cpu,
        helper_cpu: helper.cpu,
        peak_rss_kb: daemon.hwm_kb,
        held,
    })
}

/// ExaBGP with `config`, as root in the namespace (it would drop to
/// `nobody`), no CLI pipes, logging to the lab, route and packet logging off.
fn spawn_exabgp(ns: &crate::harness::Netns, config: &std::path::Path) -> Result<u32, String> {
    ns.spawn(
        "spk-exabgp",
        "env",
        &[
            "exabgp_daemon_user=root",
            "exabgp_api_cli=false",
            "exabgp_log_destination=stdout",
            "exabgp_log_level=WARNING",
            "exabgp_log_routes=false",
            "exabgp_log_packets=false",
            EXABGP,
            path_str(config)?,
        ],
    )
}

/// Whether `pid` still runs (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, a)| !a.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}
