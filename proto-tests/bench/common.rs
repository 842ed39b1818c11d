//! What every benchmark shares: a two-namespace topology with a BIRD router,
//! a BIRD control-socket client cheap enough to poll every few
//! milliseconds, CPU and memory readings from /proc, vipd started with a
//! generated config, and small statistics.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{Bird, Lab, Netns, Router};

/// The vipd binary cargo built with this benchmark (release with `--release`).
pub const VIPD: &str = env!("CARGO_BIN_EXE_vipd");

pub const ROUTER_ASN: u32 = 65000;
pub const SPEAKER_ASN: u32 = 65001;
pub const ROUTER_IP: Ipv4Addr = Ipv4Addr::new(10, 255, 1, 1);
pub const SPEAKER_IP: Ipv4Addr = Ipv4Addr::new(10, 255, 1, 2);
/// The router's BGP protocol facing the speaker, as `birdc` names it.
pub const SPEAKER_PROTOCOL: &str = "spk";

/// A router namespace (`rtr`, BIRD) linked to a speaker namespace (`spk`)
/// over `eth1`, 10.255.1.1/24 and 10.255.1.2/24.
pub struct Pair {
    pub lab: Lab,
    pub rtr: Netns,
    pub spk: Netns,
}

impl Pair {
    pub fn new() -> Result<Pair, String> {
        let lab = Lab::new();
        let rtr = lab.add_netns("rtr");
        let spk = lab.add_netns("spk");
        lab.link(&rtr, "eth1", &spk, "eth1");
        rtr.ip(&["addr", "add", &format!("{ROUTER_IP}/24"), "dev", "eth1"])?;
        spk.ip(&["addr", "add", &format!("{SPEAKER_IP}/24"), "dev", "eth1"])?;
        Ok(Pair { lab, rtr, spk })
    }

    /// Writes `text` to `<lab dir>/<name>` and returns the path.
    pub fn file(&self, name: &str, text: &[u8]) -> Result<PathBuf, String> {
        let path = self.lab.dir().join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// Starts BIRD in `rtr` with `config`; returns it and a control client.
    pub fn start_router(&self, config: &str) -> Result<(Bird, BirdCtl), String> {
        let path = self.file("rtr.bird.conf", config.as_bytes())?;
        let mut bird = Bird::new(self.rtr.clone(), "rtr", path);
        bird.start()?;
        let ctl = BirdCtl::connect(&self.lab.dir().join("rtr.bird.ctl"))?;
        Ok((bird, ctl))
    }
}

/// The router's side of one BGP session: `passive` waits for the speaker to
/// connect; otherwise BIRD connects at once (`connect delay time 0`).
pub struct RouterSession {
    pub name: &'static str,
    pub local: Ipv4Addr,
    pub neighbor: Ipv4Addr,
    pub asn: u32,
    pub passive: bool,
    pub disabled: bool,
    /// `hold time` to propose (BIRD's default is 240 s).
    pub hold: Option<u16>,
}

/// A BIRD router config that imports everything from each session and
/// exports nothing; no kernel protocol, so no route reaches a FIB.
pub fn router_config(sessions: &[RouterSession]) -> String {
    let mut text = format!("router id {ROUTER_IP};\nprotocol device {{}}\n");
    for s in sessions {
        text.push_str(&format!(
            "protocol bgp {name} {{\n  {disabled}local {local} as {ROUTER_ASN};\n  neighbor {neighbor} as {asn};\n  {passive}\n  connect delay time 0;\n  connect retry time 1;\n  {hold}\n  ipv4 {{ import all; export none; }};\n  ipv6 {{ import all; export none; }};\n}}\n",
            name = s.name,
            disabled = if s.disabled { "disabled;\n  " } else { "" },
            local = s.local,
            neighbor = s.neighbor,
            asn = s.asn,
            passive = if s.passive { "passive on;" } else { "" },
            hold = s
                .hold
                .map(|h| format!("hold time {h}; keepalive time {};", (h / 3).max(1)))
                .unwrap_or_default(),
        ));
    }
    text
}

/// A client of BIRD's control socket, kept open between commands: polling
/// it costs BIRD one short command and the benchmark no process spawn.
pub struct BirdCtl {
    path: PathBuf,
    reader: BufReader<UnixStream>,
}

impl BirdCtl {
    pub fn connect(path: &Path) -> Result<BirdCtl, String> {
        let stream =
            UnixStream::connect(path).map_err(|e| format!("connect {}: {e}", path.display()))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let mut ctl = BirdCtl {
            path: path.to_path_buf(),
            reader: BufReader::new(stream),
        };
        ctl.read_reply()?; // the "0001 BIRD ... ready." greeting
        Ok(ctl)
    }

    /// Runs one command and returns its reply lines, codes included; if
    /// BIRD dropped the connection, reconnects once and retries.
    pub fn cmd(&mut self, line: &str) -> Result<String, String> {
        match self.cmd_once(line) {
            Err(e) if !e.starts_with("BIRD: ") => {
                *self = BirdCtl::connect(&self.path.clone())?;
                self.cmd_once(line)
            }
            other => other,
        }
    }

    fn cmd_once(&mut self, line: &str) -> Result<String, String> {
        self.reader
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|e| format!("birdc {line}: {e}"))?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> Result<String, String> {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|e| format!("BIRD control socket: {e}"))?;
            if n == 0 {
                return Err("BIRD closed its control socket".into());
            }
            reply.push_str(&line);
            // A reply ends with a 0xxx (done), 8xxx or 9xxx (error) line.
            let b = line.as_bytes();
            if b.len() >= 5
                && b[..4].iter().all(u8::is_ascii_digit)
                && b[4] == b' '
                && matches!(b[0], b'0' | b'8' | b'9')
            {
                if matches!(b[0], b'8' | b'9') {
                    return Err(format!("BIRD: {}", reply.trim()));
                }
                return Ok(reply);
            }
        }
    }

    /// `Routes: N imported` of protocol `name`, and its BGP state.
    pub fn imported(&mut self, name: &str) -> Result<(u64, String), String> {
        let reply = self.cmd(&format!("show protocols all {name}"))?;
        let mut routes = 0;
        let mut state = String::new();
        for line in reply.lines() {
            let text = line.get(5..).unwrap_or(line).trim();
            if let Some(rest) = text.strip_prefix("Routes:") {
                // Summed over channels (IPv4 and IPv6 both say `Routes:`).
                routes += rest
                    .split_whitespace()
                    .next()
                    .and_then(|w| w.parse::<u64>().ok())
                    .unwrap_or(0);
            } else if let Some(rest) = text.strip_prefix("BGP state:") {
                state = rest.trim().to_string();
            }
        }
        Ok((routes, state))
    }
}

/// CPU and memory of one process, from /proc.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// utime + stime, seconds.
    pub cpu: f64,
    /// VmRSS, KiB (0 for an exited, unreaped process).
    pub rss_kb: u64,
    /// VmHWM: peak RSS, KiB.
    pub hwm_kb: u64,
}

pub fn usage(pid: u32) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields after the comm: state is field 3, so utime (14) and stime (15)
    // are at 11 and 12 here.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some(Usage {
        cpu: ticks / hz.max(1.0),
        rss_kb: kb("VmRSS:"),
        hwm_kb: kb("VmHWM:"),
    })
}

/// Keeps the highest readings of a process across samples, so a process
/// that has exited (and is no longer readable) keeps its last figures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Peak {
    pub cpu: f64,
    pub hwm_kb: u64,
}

impl Peak {
    pub fn sample(&mut self, pid: u32) {
        if let Some(u) = usage(pid) {
            self.cpu = self.cpu.max(u.cpu);
            self.hwm_kb = self.hwm_kb.max(u.hwm_kb).max(u.rss_kb);
        }
    }
}

/// A vipd started by the benchmark itself (at `log_level`, not the
/// proto-tests' `debug`), with its control socket in the lab dir.
pub struct BenchVipd {
    pub pid: u32,
    pub socket: PathBuf,
}

pub fn spawn_vipd(
    ns: &Netns,
    lab: &Lab,
    name: &str,
    config: &Path,
    log_level: &str,
) -> Result<BenchVipd, String> {
    let socket = lab.dir().join(format!("{name}.vipd.sock"));
    let pid = ns.spawn(
        &format!("{name}-vipd"),
        VIPD,
        &[
            "run",
            "--config",
            path_str(config)?,
            "--log-level",
            log_level,
            "--control-socket",
            path_str(&socket)?,
        ],
    )?;
    Ok(BenchVipd { pid, socket })
}

impl BenchVipd {
    /// `vipd status --json`.
    pub fn status(&self) -> Result<serde_json::Value, String> {
        let out = Command::new(VIPD)
            .args(["status", "--json", "--socket"])
            .arg(&self.socket)
            .output()
            .map_err(|e| format!("vipd status: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "vipd status: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("vipd status --json: {e}"))
    }
}

pub fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("non-UTF-8 path {}", path.display()))
}

/// Whether this vipd understands `[[vip]] count = N` (N consecutive host
/// prefixes); without it the benchmarks write N `[[vip]]` tables.
pub fn vipd_has_vip_count(dir: &Path) -> bool {
    let path = dir.join("count-probe.toml");
    let text = "[speaker]\nasn = 65001\nrouter_id = \"10.255.1.2\"\n\n[[vip]]\nprefix = \"198.18.0.0/32\"\ncount = 2\n";
    if std::fs::write(&path, text).is_err() {
        return false;
    }
    Command::new(VIPD)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The `i`th of `n` consecutive host addresses: from 198.18.0.0 while
/// 198.18.0.0/15 holds them all, otherwise from 10.0.0.0 (10.0.0.0/12 holds
/// 1M). These exist only as BGP routes in the lab's BIRD tables.
pub fn host(i: u32, n: u32) -> Ipv4Addr {
    let base = if n <= 1 << 17 {
        u32::from(Ipv4Addr::new(198, 18, 0, 0))
    } else {
        u32::from(Ipv4Addr::new(10, 0, 0, 0))
    };
    Ipv4Addr::from(base + i)
}

/// `[[vip]]` tables for hosts `0..n` with `extra` keys on each; one table
/// with `count` when vipd has it and `extra` is empty.
pub fn vip_tables(n: u32, use_count: bool, extra: impl Fn(u32) -> String) -> String {
    let mut text = String::with_capacity(n as usize * 40);
    if use_count && extra(0).is_empty() && n > 0 {
        text.push_str(&format!(
            "[[vip]]\nprefix = \"{}/32\"\ncount = {n}\n",
            host(0, n)
        ));
        return text;
    }
    for i in 0..n {
        text.push_str(&format!(
            "[[vip]]\nprefix = \"{}/32\"\n{}",
            host(i, n),
            extra(i)
        ));
    }
    text
}

/// Runs `f` on a thread that has joined network namespace `ns`; sockets it
/// creates stay in that namespace wherever they are used afterwards.
pub fn in_netns<T, F>(ns: &Netns, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let path = format!("/var/run/netns/{}", ns.name);
    thread::spawn(move || -> io::Result<T> {
        let file = File::open(&path)?;
        // SAFETY: setns on a namespace file we hold open; it moves only this
        // short-lived thread.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        f()
    })
    .join()
    .unwrap_or_else(|_| Err(io::Error::other("netns thread panicked")))
    .map_err(|e| format!("in namespace {}: {e}", ns.name))
}

/// Connects to `addr` inside `ns` (one attempt, 1 s).
pub fn connect_in(ns: &Netns, addr: SocketAddr) -> Result<TcpStream, String> {
    in_netns(ns, move || {
        TcpStream::connect_timeout(&addr, Duration::from_secs(1))
    })
}

/// Sleeps until `deadline` (no-op if past).
pub fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        thread::sleep(deadline - now);
    }
}

/// The `q` quantile (0..=1) of sorted values, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Busy CPU time of the whole machine so far (every process, every
/// helper on this shared machine), in seconds, from /proc/stat.
pub fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let ticks: Vec<f64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy is all but
    // idle and iowait.
    let busy: f64 = ticks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    // SAFETY: sysconf has no preconditions.
    busy / (unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64).max(1.0)
}
