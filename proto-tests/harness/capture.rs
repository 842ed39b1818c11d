//! tcpdump on a lab interface, for the few facts no router CLI shows (the
//! order of messages on the wire, and when each crossed it: see
//! [`super::pcap`]).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::lab::Netns;
use super::{require_binary, wait_until};

const TCPDUMP: &str = "tcpdump";
const START_DEADLINE: Duration = Duration::from_secs(10);

/// A running `tcpdump -w` of BGP traffic on one interface.
pub struct Capture {
    ns: Netns,
    pid: u32,
    file: PathBuf,
}

impl Capture {
    /// Starts capturing TCP port 179 on `iface` in `ns`; returns once tcpdump
    /// is listening.
    pub fn start(ns: &Netns, iface: &str, name: &str) -> Result<Capture, String> {
        Capture::start_matching(ns, iface, name, &["tcp", "port", "179"])
    }

    /// Starts capturing what the tcpdump `filter` words match on `iface` in
    /// `ns`; returns once tcpdump is listening.
    pub fn start_matching(
        ns: &Netns,
        iface: &str,
        name: &str,
        filter: &[&str],
    ) -> Result<Capture, String> {
        require_binary(TCPDUMP, "tcpdump");
        let lab = ns.lab();
        let file = lab.dir().join(format!("{name}.pcap"));
        let log = format!("{name}-tcpdump");
        let path = file
            .to_str()
            .ok_or_else(|| format!("non-UTF-8 path {}", file.display()))?;
        // -U and --immediate-mode: every packet is written as it arrives, so
        // stopping tcpdump loses nothing.
        let mut args = vec!["-U", "--immediate-mode", "-n", "-i", iface, "-w", path];
        args.extend_from_slice(filter);
        let pid = ns.spawn(&log, TCPDUMP, &args)?;
        wait_until(START_DEADLINE, || {
            if lab.read_log(&log).contains("listening on") {
                Ok(())
            } else {
                Err("tcpdump is not listening yet".to_string())
            }
        })?;
        Ok(Capture {
            ns: ns.clone(),
            pid,
            file,
        })
    }

    /// Stops the capture and returns its file (read it with
    /// [`super::pcap`]).
    pub fn stop(self) -> PathBuf {
        self.ns.lab().stop(self.pid);
        self.file
    }

    /// Stops the capture and returns tcpdump's verbose decode of it.
    pub fn finish(self) -> Result<String, String> {
        self.ns.lab().stop(self.pid);
        let path = self
            .file
            .to_str()
            .ok_or_else(|| format!("non-UTF-8 path {}", self.file.display()))?;
        Ok(self.ns.exec(TCPDUMP, &["-n", "-vv", "-r", path])?.stdout)
    }
}

/// The BGP decode lines (tcpdump's tab-indented lines) of every packet sent
/// from `src` in a `tcpdump -n -vv` text, in capture order.
pub fn decoded_from(decode: &str, src: IpAddr) -> Vec<String> {
    let mut lines = Vec::new();
    let mut from_src = false;
    let mut header_seen = false;
    for line in decode.lines() {
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            // A new packet; IPv6 headers carry the addresses on this line,
            // IPv4 ones on the next (space-indented) line.
            header_seen = line.contains(" > ");
            from_src = header_seen && sender(line) == Some(src);
        } else if line.starts_with('\t') {
            if from_src {
                lines.push(line.trim().to_string());
            }
        } else if !header_seen && line.contains(" > ") {
            header_seen = true;
            from_src = sender(line) == Some(src);
        }
    }
    lines
}

/// `... 10.255.1.2.39603 > 10.255.1.1.179: ...` -> 10.255.1.2.
fn sender(line: &str) -> Option<IpAddr> {
    let (before, _) = line.split_once(" > ")?;
    let endpoint = before.split_whitespace().last()?;
    let (addr, _port) = endpoint.rsplit_once('.')?;
    addr.parse().ok()
}
