//! What the session-security scenarios (`security_*`) share: a BIRD or FRR
//! router whose BGP neighbours a test rewrites while it runs (only the
//! changed neighbour restarts, so a second session shows it is unaffected),
//! a vipd run from a config file in the lab dir (changed with `vipd reload`),
//! the kernel's TCP drop counters of a namespace, and a quiet-window check
//! that a refused session stays down without flooding vipd's log.
//!
//! The router configs are written here rather than bound from `configs/`:
//! every phase of these scenarios needs a different key or TTL setting on
//! the router, and the point is to change one neighbour at a time.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::control_node::peer;
use crate::harness::{Bird, Frr, Netns, Router, RouterKind, Vipd, wait_until};

/// How long a session that should come up may take (connect retry 1-2 s on
/// both ends; a busy 2-core machine).
pub const UP_DEADLINE: Duration = Duration::from_secs(60);
/// How long a refused session is watched: long enough for several connect
/// attempts from either side (retry timers of 1-2 s, SYN retransmits at 1 s
/// and 3 s).
pub const QUIET_WINDOW: Duration = Duration::from_secs(8);
/// The most lines vipd may log during one quiet window, over every peer,
/// besides the lines about the window's own `vipd status` requests. A
/// connect attempt that fails costs a few lines; a log storm would be
/// hundreds.
pub const MAX_LOG_LINES_PER_WINDOW: usize = 20;

/// The router's side of one BGP neighbour.
#[derive(Clone, Debug)]
pub struct Neighbor {
    /// BIRD protocol name.
    pub name: &'static str,
    /// vipd's address.
    pub address: IpAddr,
    /// The router's own source address for this session.
    pub local: IpAddr,
    pub remote_asn: u32,
    pub password: Option<String>,
    /// Never connect out; wait for vipd.
    pub passive: bool,
    /// eBGP multihop TTL (`None`: directly connected).
    pub multihop: Option<u8>,
    /// GTSM (RFC 5082) with `multihop` hops (1 when not set).
    pub ttl_security: bool,
}

impl Neighbor {
    pub fn new(name: &'static str, address: &str, local: &str) -> Neighbor {
        Neighbor {
            name,
            address: crate::ip(address),
            local: crate::ip(local),
            remote_asn: 65001,
            password: None,
            passive: false,
            multihop: None,
            ttl_security: false,
        }
    }

    fn afi(&self) -> &'static str {
        if self.address.is_ipv4() {
            "ipv4"
        } else {
            "ipv6"
        }
    }

    fn bird(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "protocol bgp {} {{", self.name);
        let _ = writeln!(s, "  local {} as 65000;", self.local);
        let _ = writeln!(s, "  neighbor {} as {};", self.address, self.remote_asn);
        s.push_str("  hold time 9;\n  connect retry time 1;\n  error wait time 1, 5;\n");
        if let Some(pw) = &self.password {
            let _ = writeln!(s, "  password \"{pw}\";");
        }
        if self.passive {
            s.push_str("  passive on;\n");
        }
        if let Some(hops) = self.multihop {
            let _ = writeln!(s, "  multihop {hops};");
        }
        if self.ttl_security {
            s.push_str("  ttl security on;\n");
        }
        let _ = writeln!(s, "  {} {{ import all; export none; }};", self.afi());
        s.push_str("}\n");
        s
    }

    /// The `router bgp` lines for this neighbour (without activation).
    fn frr(&self) -> String {
        let a = self.address;
        let mut s = String::new();
        let _ = writeln!(s, " neighbor {a} remote-as {}", self.remote_asn);
        let _ = writeln!(s, " neighbor {a} update-source {}", self.local);
        let _ = writeln!(s, " neighbor {a} timers 3 9");
        let _ = writeln!(s, " neighbor {a} timers connect 1");
        if let Some(pw) = &self.password {
            let _ = writeln!(s, " neighbor {a} password {pw}");
        }
        if self.passive {
            let _ = writeln!(s, " neighbor {a} passive");
        }
        match (self.multihop, self.ttl_security) {
            (hops, true) => {
                let _ = writeln!(s, " neighbor {a} ttl-security hops {}", hops.unwrap_or(1));
            }
            (Some(hops), false) => {
                let _ = writeln!(s, " neighbor {a} ebgp-multihop {hops}");
            }
            (None, false) => {}
        }
        s
    }

    fn frr_activate(&self) -> String {
        format!(
            " address-family {} unicast\n  neighbor {} activate\n exit-address-family\n",
            self.afi(),
            self.address
        )
    }
}

/// BIRD or FRR, with its neighbours rewritable while it runs.
pub enum SecRouter {
    Bird {
        bird: Bird,
        config: PathBuf,
        /// Extra lines (e.g. a static route) kept in every rewrite.
        extra: String,
        neighbors: Vec<Neighbor>,
    },
    Frr {
        frr: Frr,
    },
}

impl SecRouter {
    /// Writes the config for `neighbors` and starts the router in `ns`.
    /// `bird_extra` goes into BIRD's config as is (FRR learns the
    /// namespace's kernel routes through zebra and needs nothing).
    pub fn start(
        kind: RouterKind,
        ns: &Netns,
        router_id: &str,
        neighbors: Vec<Neighbor>,
        bird_extra: &str,
    ) -> SecRouter {
        let dir = ns.lab().dir().to_path_buf();
        let mut router = match kind {
            RouterKind::Bird => {
                let config = dir.join("router.bird.conf");
                let r = SecRouter::Bird {
                    bird: Bird::new(ns.clone(), "router", config.clone()),
                    config,
                    extra: bird_extra.to_string(),
                    neighbors,
                };
                r.write_bird(router_id);
                r
            }
            RouterKind::Frr => {
                let config = dir.join("router.frr.conf");
                let mut text = format!(
                    "frr defaults traditional\nhostname router\n!\ndebug bgp neighbor-events\n!\n\
                     router bgp 65000\n bgp router-id {router_id}\n bgp log-neighbor-changes\n \
                     no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n"
                );
                for n in &neighbors {
                    text.push_str(&n.frr());
                }
                for n in &neighbors {
                    text.push_str(&n.frr_activate());
                }
                text.push_str("!\n");
                std::fs::write(&config, text)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
                SecRouter::Frr {
                    frr: Frr::new(ns.clone(), "router", config),
                }
            }
            RouterKind::Gobgp => panic!("the security scenarios run against BIRD and FRR"),
        };
        router
            .router_mut()
            .start()
            .unwrap_or_else(|e| panic!("cannot start {kind}: {e}"));
        router
    }

    fn write_bird(&self, router_id: &str) {
        if let SecRouter::Bird {
            config,
            extra,
            neighbors,
            ..
        } = self
        {
            std::fs::write(config, bird_text(router_id, extra, neighbors))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        }
    }

    pub fn router(&self) -> &dyn Router {
        match self {
            SecRouter::Bird { bird, .. } => bird,
            SecRouter::Frr { frr } => frr,
        }
    }

    fn router_mut(&mut self) -> &mut dyn Router {
        match self {
            SecRouter::Bird { bird, .. } => bird,
            SecRouter::Frr { frr } => frr,
        }
    }

    pub fn kind(&self) -> RouterKind {
        self.router().kind()
    }

    /// Replaces the neighbour for `n.address` live: BIRD re-reads its config
    /// (`configure` restarts only the protocol that changed); FRR gets the
    /// neighbour deleted and defined again. Other sessions keep running.
    pub fn set_neighbor(&mut self, n: Neighbor, router_id: &str) {
        match self {
            SecRouter::Bird {
                bird,
                config,
                extra,
                neighbors,
            } => {
                let slot = neighbors
                    .iter_mut()
                    .find(|old| old.address == n.address)
                    .unwrap_or_else(|| panic!("no BIRD neighbour {}", n.address));
                *slot = n;
                std::fs::write(&*config, bird_text(router_id, extra, neighbors))
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
                let out = bird
                    .birdc(&["configure"])
                    .unwrap_or_else(|e| panic!("birdc configure: {e}"));
                // "Reconfiguration in progress": a changed protocol is still
                // shutting down; BIRD finishes it on its own.
                assert!(
                    out.contains("Reconfigured") || out.contains("Reconfiguration in progress"),
                    "birdc configure: {out}"
                );
            }
            SecRouter::Frr { frr } => {
                // vtysh runs each line of one `-c` in turn.
                let mut commands = format!(
                    "configure terminal\nrouter bgp 65000\nno neighbor {}\n",
                    n.address
                );
                commands.push_str(&n.frr());
                commands.push_str(&n.frr_activate());
                commands.push_str("end\n");
                let commands: Vec<&str> = commands.lines().map(str::trim).collect();
                let out = frr
                    .vtysh(&commands.join("\n"))
                    .unwrap_or_else(|e| panic!("FRR reconfiguration: {e}"));
                assert!(
                    !out.contains('%'),
                    "FRR refused a command of {commands:?}: {out}"
                );
            }
        }
    }

    pub fn established(&self, neighbor: IpAddr) -> bool {
        self.router().session_established(neighbor).unwrap_or(false)
    }

    /// Waits until the session with `neighbor` is Established and the
    /// router has `prefix` from it.
    pub fn wait_route(&self, neighbor: IpAddr, prefix: &str) -> Result<(), String> {
        let prefix: IpNet = prefix.parse().map_err(|e| format!("{prefix}: {e}"))?;
        wait_until(UP_DEADLINE, || {
            if !self.router().session_established(neighbor)? {
                return Err(format!(
                    "{} session with {neighbor} not Established: {}",
                    self.kind(),
                    self.router().describe_session(neighbor).unwrap_or_default()
                ));
            }
            let routes = self.router().routes()?;
            if routes
                .iter()
                .any(|r| r.prefix == prefix && r.peer == neighbor)
            {
                Ok(())
            } else {
                Err(format!("{} has no {prefix} from {neighbor}", self.kind()))
            }
        })
    }

    /// Waits until the session with `neighbor` is not Established.
    pub fn wait_down(&self, neighbor: IpAddr) {
        wait_until(UP_DEADLINE, || {
            if self.established(neighbor) {
                Err(format!("{} still Established with {neighbor}", self.kind()))
            } else {
                Ok(())
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

fn bird_text(router_id: &str, extra: &str, neighbors: &[Neighbor]) -> String {
    let mut text = format!(
        "router id {router_id};\nlog stderr all;\ndebug protocols {{ states, events }};\n\
         protocol device {{}}\n{extra}\n"
    );
    for n in neighbors {
        text.push_str(&n.bird());
    }
    text
}

/// The TCP-MD5 and GTSM drop counters of a namespace (`/proc/net/netstat`
/// is per network namespace).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpDrops {
    /// Signed segment, but no key for that peer.
    pub md5_unexpected: u64,
    /// A key for that peer, but the segment is unsigned.
    pub md5_not_found: u64,
    /// Signed with another key.
    pub md5_failure: u64,
    /// Below `IP_MINTTL` / `IPV6_MINHOPCOUNT` (GTSM).
    pub min_ttl: u64,
}

impl TcpDrops {
    pub fn read(ns: &Netns) -> TcpDrops {
        let out = ns
            .exec("cat", &["/proc/net/netstat"])
            .unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = out.stdout.lines().collect();
        let mut drops = TcpDrops::default();
        // Pairs of lines: `TcpExt: Name Name ...` then `TcpExt: 1 2 ...`.
        for pair in lines.chunks(2) {
            let [names, values] = pair else { continue };
            if !names.starts_with("TcpExt:") {
                continue;
            }
            for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
                let value = value.parse().unwrap_or(0);
                match name {
                    "TCPMD5Unexpected" => drops.md5_unexpected = value,
                    "TCPMD5NotFound" => drops.md5_not_found = value,
                    "TCPMD5Failure" => drops.md5_failure = value,
                    "TCPMinTTLDrop" => drops.min_ttl = value,
                    _ => {}
                }
            }
        }
        drops
    }

    pub fn since(self, before: TcpDrops) -> TcpDrops {
        TcpDrops {
            md5_unexpected: self.md5_unexpected - before.md5_unexpected,
            md5_not_found: self.md5_not_found - before.md5_not_found,
            md5_failure: self.md5_failure - before.md5_failure,
            min_ttl: self.min_ttl - before.min_ttl,
        }
    }

    pub fn md5_total(self) -> u64 {
        self.md5_unexpected + self.md5_not_found + self.md5_failure
    }
}

/// A vipd run from a config file of the lab dir, reloaded after each change.
pub struct SecVipd {
    pub vipd: Vipd,
    pub config: PathBuf,
}

impl SecVipd {
    pub fn start(ns: &Netns, name: &str, text: &str) -> SecVipd {
        let config = ns.lab().dir().join(format!("{name}.vipd.toml"));
        std::fs::write(&config, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let mut vipd = Vipd::new(ns.clone(), name, config.clone());
        vipd.start()
            .unwrap_or_else(|e| panic!("cannot start vipd {name}: {e}"));
        SecVipd { vipd, config }
    }

    /// Writes `text` and `vipd reload`s it; panics unless the reload is applied.
    pub fn reload(&self, text: &str) {
        std::fs::write(&self.config, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", self.config.display()));
        let out = self.vipd.ctl(&["reload"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "vipd reload failed ({}): {}{}",
            out.status,
            out.stdout,
            out.stderr
        );
    }

    /// `vipd status --json`; an error if the daemon does not answer.
    pub fn status(&self) -> Result<serde_json::Value, String> {
        let out = self.vipd.ctl(&["status", "--json"])?;
        if !out.status.success() {
            return Err(format!(
                "vipd status failed ({}): {}{}",
                out.status, out.stdout, out.stderr
            ));
        }
        serde_json::from_str(&out.stdout).map_err(|e| format!("status JSON: {e}: {}", out.stdout))
    }

    /// The peer at `address` in `vipd status`: whether it is Established,
    /// and for how long it has been in its state, against an `Instant` taken
    /// just before asking (`since` has whole seconds only).
    fn age(&self, address: IpAddr) -> Result<(bool, f64, Instant), String> {
        let asked = Instant::now();
        let p = peer(&self.status()?, address);
        let age = p["for_seconds"]
            .as_f64()
            .ok_or_else(|| format!("no for_seconds: {p}"))?;
        Ok((p["state"] == "Established", age, asked))
    }

    /// Waits until vipd shows the peer at `address` Established in a
    /// session that began after `mark` (take it before the change).
    pub fn wait_new_session(&self, address: IpAddr, mark: Instant) -> Result<(), String> {
        wait_until(UP_DEADLINE, || {
            let (up, age, asked) = self.age(address)?;
            let since_mark = asked.duration_since(mark).as_secs_f64();
            if up && age < since_mark {
                Ok(())
            } else {
                Err(format!(
                    "no Established session with {address} newer than {since_mark:.1}s                      (Established: {up}, for {age:.1}s)"
                ))
            }
        })
    }

    /// Whether the session with `address` is Established and has been since
    /// before `mark`.
    pub fn unbroken_since(&self, address: IpAddr, mark: Instant) -> Result<(), String> {
        let (up, age, asked) = self.age(address)?;
        let since_mark = asked.duration_since(mark).as_secs_f64();
        if up && age >= since_mark {
            Ok(())
        } else {
            Err(format!(
                "the session with {address} restarted or went down in the last                  {since_mark:.1}s (Established: {up}, for {age:.1}s)"
            ))
        }
    }
}

/// What one quiet window saw.
pub struct Quiet {
    pub drops: TcpDrops,
    /// What vipd logged meanwhile, without its `vipd status` requests.
    pub lines: Vec<String>,
    pub log_lines: usize,
    pub peer_log_lines: usize,
}

/// Watches a session that must not come up for [`QUIET_WINDOW`]: the router
/// never shows it Established, vipd keeps answering `vipd status` (and never
/// shows it Established either), and vipd logs at most
/// [`MAX_LOG_LINES_PER_WINDOW`] lines. Returns the kernel drops counted in
/// `namespaces` meanwhile and the log lines.
pub fn quiet_window(
    router: &SecRouter,
    vipd: &SecVipd,
    peer_address: IpAddr,
    router_neighbor: IpAddr,
    namespaces: &[&Netns],
) -> Quiet {
    let before: Vec<TcpDrops> = namespaces.iter().map(|ns| TcpDrops::read(ns)).collect();
    let log_start = vipd.vipd.log_len();
    let start = Instant::now();
    while start.elapsed() < QUIET_WINDOW {
        assert!(
            !router.established(router_neighbor),
            "{} brought the session with {router_neighbor} up: {}",
            router.kind(),
            router
                .router()
                .describe_session(router_neighbor)
                .unwrap_or_default()
        );
        let status = vipd
            .status()
            .unwrap_or_else(|e| panic!("vipd stopped answering: {e}"));
        let state = peer(&status, peer_address)["state"].clone();
        assert_ne!(state, "Established", "vipd Established with {peer_address}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let drops = namespaces
        .iter()
        .zip(&before)
        .map(|(ns, b)| TcpDrops::read(ns).since(*b))
        .fold(TcpDrops::default(), |a, d| TcpDrops {
            md5_unexpected: a.md5_unexpected + d.md5_unexpected,
            md5_not_found: a.md5_not_found + d.md5_not_found,
            md5_failure: a.md5_failure + d.md5_failure,
            min_ttl: a.min_ttl + d.min_ttl,
        });
    let log = vipd.vipd.log();
    let window = log.get(log_start..).unwrap_or_default();
    // Not the window's own `vipd status` requests (two debug lines each).
    let lines: Vec<String> = window
        .lines()
        .filter(|l| !l.contains("control request"))
        .map(str::to_string)
        .collect();
    let log_lines = lines.len();
    let peer_log_lines = vipd.vipd.peer_lines(log_start, "", peer_address).len();
    assert!(
        log_lines <= MAX_LOG_LINES_PER_WINDOW,
        "vipd logged {log_lines} lines in {QUIET_WINDOW:?} (at most \
         {MAX_LOG_LINES_PER_WINDOW}):\n{window}"
    );
    Quiet {
        drops,
        lines,
        log_lines,
        peer_log_lines,
    }
}
