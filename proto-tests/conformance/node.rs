//! One vipd under test, alone in a lab namespace, with its three passive
//! peers all on loopback:
//!
//! ```text
//!   namespace <lab>-vipd, lo only
//!   vipd AS 65001, id 10.0.0.1, listens on 127.0.0.1:179
//!     <- sentinel   127.0.0.10  AS 65010 (eBGP, stays well-behaved)
//!     <- case-ebgp  127.0.0.2   AS 65000 (eBGP, sends the case's bytes)
//!     <- case-ibgp  127.0.0.3   AS 65001 (iBGP, for the iBGP-only rules)
//! ```
//!
//! A namespace per vipd lets every case use the same addresses and port 179
//! while cases run in parallel, and reuses the harness's process handling.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::Command;
use std::time::Duration;

use ipnet::IpNet;

use super::peer::{REPLY_DEADLINE, RawPeer};
use super::wire;
use crate::harness::{Lab, Netns, Vipd, wait_until};

pub const VIPD_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
pub const VIPD_ASN: u32 = 65001;
/// Hold time every session proposes, vipd included: KEEPALIVEs every second.
pub const HOLD_TIME: u16 = 3;
/// How often the scripted peers send KEEPALIVEs on their own.
pub const KEEPALIVE_EVERY: Duration = Duration::from_secs(1);
/// How long vipd gets to start listening.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// The three peers vipd is configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    Sentinel,
    Ebgp,
    Ibgp,
}

impl PeerKind {
    pub fn address(self) -> Ipv4Addr {
        match self {
            PeerKind::Sentinel => Ipv4Addr::new(127, 0, 0, 10),
            PeerKind::Ebgp => Ipv4Addr::new(127, 0, 0, 2),
            PeerKind::Ibgp => Ipv4Addr::new(127, 0, 0, 3),
        }
    }

    pub fn asn(self) -> u32 {
        match self {
            PeerKind::Sentinel => 65010,
            PeerKind::Ebgp => 65000,
            PeerKind::Ibgp => VIPD_ASN,
        }
    }

    pub fn router_id(self) -> Ipv4Addr {
        let [_, _, _, last] = self.address().octets();
        Ipv4Addr::new(10, 0, 0, last)
    }

    fn name(self) -> &'static str {
        match self {
            PeerKind::Sentinel => "sentinel",
            PeerKind::Ebgp => "case-ebgp",
            PeerKind::Ibgp => "case-ibgp",
        }
    }
}

/// The VIPs every case's vipd announces: both families, so the sentinel
/// can tell that neither table was disturbed.
pub fn default_vips() -> Vec<IpNet> {
    ["198.51.100.1/32", "198.51.100.2/32", "2001:db8:ffff::1/128"]
        .iter()
        .map(|p| p.parse().expect("test prefix"))
        .collect()
}

/// A running vipd in its own namespace.
pub struct Node {
    // Field order is drop order: the vipd handle goes before its lab.
    pub vipd: Vipd,
    ns: Netns,
    pub vips: Vec<IpNet>,
    _lab: Lab,
}

impl Node {
    /// Writes the config, starts vipd and waits until it listens.
    /// `peer_extra` is appended to the case peers' `[[peer]]` tables.
    pub fn start(vips: Vec<IpNet>, peer_extra: &str) -> Result<Node, String> {
        let lab = Lab::new();
        let ns = lab.add_netns("vipd");
        let config = lab.dir().join("vipd.toml");
        std::fs::write(&config, config_text(&vips, peer_extra))
            .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
        let mut vipd = Vipd::new(ns.clone(), "vipd", config);
        vipd.start()?;
        wait_until(START_DEADLINE, || {
            if vipd.log_contains("listening for BGP connections") {
                Ok(())
            } else {
                Err(format!("vipd is not listening yet; log:\n{}", vipd.log()))
            }
        })?;
        Ok(Node {
            vipd,
            ns,
            vips,
            _lab: lab,
        })
    }

    pub fn server() -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(VIPD_ADDR, 179))
    }

    /// A TCP connection from `kind`'s address to vipd.
    pub fn connect(&self, kind: PeerKind) -> Result<RawPeer, String> {
        self.connect_with(kind, None)
    }

    /// [`Node::connect`] with our receive buffer set to `rcvbuf` octets.
    pub fn connect_with(&self, kind: PeerKind, rcvbuf: Option<usize>) -> Result<RawPeer, String> {
        RawPeer::connect(&self.ns.name, kind.address(), Node::server(), rcvbuf)
            .map_err(|e| format!("{} cannot connect to vipd: {e}", kind.name()))
    }

    /// A well-behaved session as `kind`, up to the end of vipd's initial
    /// table (End-of-RIB for IPv4 and IPv6); returns the table.
    pub fn establish(&self, kind: PeerKind) -> Result<(RawPeer, Vec<IpNet>), String> {
        self.establish_with(kind, None)
    }

    /// [`Node::establish`] with our receive buffer set to `rcvbuf` octets.
    pub fn establish_with(
        &self,
        kind: PeerKind,
        rcvbuf: Option<usize>,
    ) -> Result<(RawPeer, Vec<IpNet>), String> {
        let mut peer = self.connect_with(kind, rcvbuf)?;
        let step = |what: &str, e: String| format!("{}: {what}: {e}", kind.name());
        peer.expect(wire::OPEN, REPLY_DEADLINE)
            .map_err(|e| step("waiting for vipd's OPEN", e))?;
        peer.send(&wire::open(kind.asn(), HOLD_TIME, kind.router_id()))
            .map_err(|e| step("sending OPEN", e.to_string()))?;
        peer.expect(wire::KEEPALIVE, REPLY_DEADLINE)
            .map_err(|e| step("waiting for vipd's KEEPALIVE", e))?;
        peer.send(&wire::keepalive())
            .map_err(|e| step("sending KEEPALIVE", e.to_string()))?;
        peer.keep_alive(Some(KEEPALIVE_EVERY));
        let table = peer
            .read_table(&[wire::AFI_IPV4, wire::AFI_IPV6], Duration::from_secs(10))
            .map_err(|e| step("reading the initial table", e))?;
        Ok((peer, table))
    }

    /// vipd's process id (the only process in its namespace).
    pub fn pid(&self) -> Option<u32> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.ns.name])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "vipd")
            })
    }

    /// Resident memory of vipd in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    }

    /// SIGTERM: vipd must still be running and exit 0.
    pub fn stop(&mut self) -> Result<(), String> {
        let (status, took) = self.vipd.terminate()?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "vipd exited with {status} after SIGTERM ({took:?})"
            ))
        }
    }

    /// The last `n` lines of vipd's log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.vipd.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    pub fn peer_ip(kind: PeerKind) -> IpAddr {
        IpAddr::V4(kind.address())
    }
}

fn config_text(vips: &[IpNet], peer_extra: &str) -> String {
    let mut c = format!(
        "[speaker]\nasn = {VIPD_ASN}\nrouter_id = \"10.0.0.1\"\nlisten = \"{VIPD_ADDR}:179\"\n\
         hold_time = {HOLD_TIME}\nconnect_retry = 1\n"
    );
    for kind in [PeerKind::Sentinel, PeerKind::Ebgp, PeerKind::Ibgp] {
        let _ = write!(
            c,
            "\n[[peer]]\nname = \"{}\"\naddress = \"{}\"\nremote_asn = {}\npassive = true\n\
             next_hop_ipv6 = \"2001:db8::1\"\n",
            kind.name(),
            kind.address(),
            kind.asn()
        );
        if kind != PeerKind::Sentinel {
            c.push_str(peer_extra);
        }
    }
    for v in vips {
        let _ = write!(c, "\n[[vip]]\nprefix = \"{v}\"\n");
    }
    c
}
