//! A lab: network namespaces, veth links and the processes started in them,
//! all torn down when the [`Lab`] is dropped, also when the test panics.
//!
//! Names: every namespace is `vpt-<test pid>-<lab seq>-<node>`, so tests running
//! in parallel never collide, and a later run can tell a namespace left behind
//! by a crashed run (its owner pid is gone) from one in use, and remove it.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Prefix of every namespace, FRR pathspace and lab directory we create.
const PREFIX: &str = "vpt";
/// How long a helper command (birdc, vtysh, gobgp, ip) may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a stopped process gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// A locally administered MAC that no interface in a lab has.
const NOWHERE_MAC: &str = "02:00:00:00:de:ad";
/// Lines of each log printed when a test fails.
const LOG_TAIL_LINES: usize = 300;

/// How the binaries that use this harness start their `comm` (cargo names
/// them `<target>-<hash>`): the proto-tests and the benchmarks.
const HARNESS_BINARIES: [&str; 3] = ["proto-", "failover_bench-", "vipd_bench-"];

/// Set this to keep each lab's configs, sockets and logs after a passing test.
const KEEP_ENV: &str = "VIPD_PROTO_KEEP";

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Owns the namespaces and processes of one test. Dropping it kills every
/// process it started (by pid), deletes its namespaces and, if the test is
/// panicking, prints every log it collected.
pub struct Lab {
    inner: Arc<LabInner>,
}

pub(crate) struct LabInner {
    id: String,
    dir: PathBuf,
    state: Mutex<LabState>,
}

#[derive(Default)]
struct LabState {
    namespaces: Vec<String>,
    children: BTreeMap<u32, Child>,
    logs: Vec<PathBuf>,
    run_dirs: Vec<PathBuf>,
}

/// One network namespace of a lab.
#[derive(Clone)]
pub struct Netns {
    pub name: String,
    lab: Arc<LabInner>,
}

/// Output of a helper command run to completion.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Lab {
    /// Creates an empty lab; first removes what crashed earlier runs left.
    pub fn new() -> Lab {
        super::require_root();
        remove_stale_namespaces();
        remove_stale_run_dirs(Path::new("/var/run/frr"));
        remove_stale_run_dirs(Path::new(super::node_state::NETNS_ETC));
        let id = format!(
            "{PREFIX}-{}-{}",
            std::process::id(),
            NEXT_LAB.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join("vipd-proto").join(&id);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create lab dir {}: {e}", dir.display()));
        Lab {
            inner: Arc::new(LabInner {
                id,
                dir,
                state: Mutex::new(LabState::default()),
            }),
        }
    }

    /// Unique id of this lab (`vpt-<pid>-<seq>`), for names outside namespaces.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Directory for this lab's configs, sockets and logs.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Creates namespace `<lab id>-<node>` with `lo` up.
    pub fn add_netns(&self, node: &str) -> Netns {
        let name = format!("{}-{node}", self.inner.id);
        run_checked(Command::new("ip").args(["netns", "add", &name]))
            .unwrap_or_else(|e| panic!("cannot create namespace {name}: {e}"));
        self.inner.state().namespaces.push(name.clone());
        let ns = Netns {
            name,
            lab: self.inner.clone(),
        };
        ns.ip(&["link", "set", "lo", "up"])
            .unwrap_or_else(|e| panic!("{e}"));
        ns
    }

    /// Connects `a:a_if` to `b:b_if` with a veth pair created directly inside
    /// the two namespaces (so both ends may be called `eth1`), and sets both up.
    pub fn link(&self, a: &Netns, a_if: &str, b: &Netns, b_if: &str) {
        assert!(
            a_if.len() <= 15 && b_if.len() <= 15,
            "interface names are at most 15 bytes: {a_if}, {b_if}"
        );
        run_checked(Command::new("ip").args([
            "link", "add", "name", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if,
            "netns", &b.name,
        ]))
        .unwrap_or_else(|e| panic!("cannot link {}:{a_if} to {}:{b_if}: {e}", a.name, b.name));
        for (ns, ifname) in [(a, a_if), (b, b_if)] {
            ns.ip(&["link", "set", ifname, "up"])
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let failed = thread::panicking();
        let mut state = self.inner.state();
        for (pid, mut child) in std::mem::take(&mut state.children) {
            signal(pid, libc::SIGKILL);
            let _ = child.wait();
        }
        for ns in state.namespaces.drain(..).rev() {
            delete_namespace(&ns);
        }
        for dir in state.run_dirs.drain(..) {
            let _ = fs::remove_dir_all(dir);
        }
        if failed {
            // Logs of daemons that never started do not exist; skip them.
            for log in state.logs.iter().filter(|l| l.exists()) {
                print_log_tail(log);
            }
            eprintln!(
                "=== lab {} failed; configs and logs kept in {}",
                self.inner.id,
                self.inner.dir.display()
            );
        } else if std::env::var_os(KEEP_ENV).is_some() {
            eprintln!(
                "=== {KEEP_ENV} set: lab files kept in {}",
                self.inner.dir.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.inner.dir);
        }
    }
}

impl LabInner {
    fn state(&self) -> MutexGuard<'_, LabState> {
        // A panic while holding the lock must not stop the teardown.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A log file whose tail is printed if the test fails.
    pub(crate) fn log_path(&self, name: &str) -> PathBuf {
        let path = self.dir.join(format!("{name}.log"));
        let mut state = self.state();
        if !state.logs.contains(&path) {
            state.logs.push(path.clone());
        }
        path
    }

    /// The text of `<lab dir>/<name>.log`, empty if there is none yet.
    pub(crate) fn read_log(&self, name: &str) -> String {
        fs::read(self.dir.join(format!("{name}.log")))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    pub(crate) fn add_run_dir(&self, dir: PathBuf) {
        self.state().run_dirs.push(dir);
    }

    /// Sends `sig` to a process this lab started; false if it already exited.
    pub(crate) fn signal(&self, pid: u32, sig: libc::c_int) -> bool {
        let mut state = self.state();
        let running = state
            .children
            .get_mut(&pid)
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)));
        running && signal(pid, sig)
    }

    /// Exit status of a process this lab started, once it has exited.
    pub(crate) fn try_wait(&self, pid: u32) -> Option<ExitStatus> {
        let mut state = self.state();
        let status = state.children.get_mut(&pid)?.try_wait().ok()??;
        state.children.remove(&pid);
        Some(status)
    }

    /// Waits up to `timeout` for a process this lab started to exit.
    pub(crate) fn wait_exit(&self, pid: u32, timeout: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_wait(pid) {
                return Some(status);
            }
            if !self.state().children.contains_key(&pid) || start.elapsed() >= timeout {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGTERM, then SIGKILL after a grace period; returns the exit status.
    pub(crate) fn stop(&self, pid: u32) -> Option<ExitStatus> {
        self.signal(pid, libc::SIGTERM);
        if let Some(status) = self.wait_exit(pid, STOP_GRACE) {
            return Some(status);
        }
        self.signal(pid, libc::SIGKILL);
        self.wait_exit(pid, STOP_GRACE)
    }

    pub(crate) fn is_running(&self, pid: u32) -> bool {
        let mut state = self.state();
        match state.children.get_mut(&pid) {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }
}

impl Netns {
    pub(crate) fn lab(&self) -> &Arc<LabInner> {
        &self.lab
    }

    /// Runs `body` on a new thread that has entered this namespace (setns
    /// moves only that thread), so the test itself can serve or connect
    /// from inside the namespace.
    pub fn thread<T: Send + 'static>(
        &self,
        body: impl FnOnce() -> T + Send + 'static,
    ) -> thread::JoinHandle<T> {
        let path = format!("/run/netns/{}", self.name);
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        thread::spawn(move || {
            use std::os::fd::AsRawFd;
            // SAFETY: setns on a namespace file we hold open; CLONE_NEWNET
            // changes only this thread's network namespace.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            body()
        })
    }

    /// Runs `ip ARGS` in this namespace.
    pub fn ip(&self, args: &[&str]) -> Result<Output, String> {
        run_checked(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// Runs a program in this namespace to completion (bounded by a timeout);
    /// a non-zero exit is an error carrying the output.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        run_checked(&mut self.command(program, args))
    }

    /// Like [`Netns::exec`] but returns the output whatever the exit status.
    pub fn exec_unchecked(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        run(&mut self.command(program, args))
    }

    /// Runs a shell command line in this namespace (containerlab's `exec`).
    pub fn sh(&self, line: &str) -> Result<Output, String> {
        self.exec("sh", &["-c", line])
    }

    /// Pins `addr`'s link-layer address to one no interface has, so whatever
    /// this namespace sends to `addr` is dropped by the receiving end, with no
    /// error for the sender: its TCP just retransmits. Undo with
    /// [`Netns::restore_neighbor`].
    pub fn misdirect(&self, addr: IpAddr) -> Result<(), String> {
        let dev = self.device_for(addr)?;
        self.ip(&[
            "neigh",
            "replace",
            &addr.to_string(),
            "lladdr",
            NOWHERE_MAC,
            "dev",
            &dev,
            "nud",
            "permanent",
        ])
        .map(|_| ())
    }

    /// Forgets a [`Netns::misdirect`]ed entry; the next packet resolves it again.
    pub fn restore_neighbor(&self, addr: IpAddr) -> Result<(), String> {
        let dev = self.device_for(addr)?;
        self.ip(&["neigh", "del", &addr.to_string(), "dev", &dev])
            .map(|_| ())
    }

    /// The interface this namespace would send to `addr` on.
    fn device_for(&self, addr: IpAddr) -> Result<String, String> {
        let out = self.ip(&["-o", "route", "get", &addr.to_string()])?;
        let mut words = out.stdout.split_whitespace();
        words
            .find(|w| *w == "dev")
            .and_then(|_| words.next())
            .map(str::to_string)
            .ok_or_else(|| format!("no route to {addr} in {}: {}", self.name, out.stdout))
    }

    /// Established TCP connections to or from port 179 in this namespace, as
    /// `(local, remote)`, from `ss`.
    pub fn bgp_connections(&self) -> Result<Vec<(SocketAddr, SocketAddr)>, String> {
        let out = self.exec("ss", &["-Htn", "state", "established"])?;
        let mut conns = Vec::new();
        for line in out.stdout.lines() {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(remote)) = (cols.get(2), cols.get(3)) else {
                continue;
            };
            let (Some(local), Some(remote)) = (socket_addr(local), socket_addr(remote)) else {
                return Err(format!("cannot parse ss line {line:?}"));
            };
            if local.port() == 179 || remote.port() == 179 {
                conns.push((local, remote));
            }
        }
        Ok(conns)
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]).args(args);
        cmd
    }

    /// Starts a long-running process in this namespace with stdout and stderr
    /// appended to `<lab dir>/<log_name>.log`, and returns its pid. `ip netns
    /// exec` execs the program, so the pid is the program's own.
    pub fn spawn(&self, log_name: &str, program: &str, args: &[&str]) -> Result<u32, String> {
        let log_path = self.lab.log_path(log_name);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot dup log fd: {e}"))?;
        let mut cmd = self.command(program, args);
        cmd.stdin(Stdio::null()).stdout(log).stderr(log_err);
        // SAFETY: prctl is async-signal-safe. PDEATHSIG makes the kernel kill
        // the process if the test binary dies without running Drop (SIGKILL,
        // abort); it is tied to the spawning thread, so processes must be
        // spawned from the test's own thread, never from a short-lived helper.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {program} in {}: {e}", self.name))?;
        let pid = child.id();
        self.lab.state().children.insert(pid, child);
        Ok(pid)
    }
}

/// Runs a command to completion, reading its output on helper threads so a
/// large output cannot block it, and kills it if it outlives the timeout.
fn run(cmd: &mut Command) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let stdout = read_all_later(child.stdout.take());
    let stderr = read_all_later(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < COMMAND_TIMEOUT => {
                thread::sleep(Duration::from_millis(5))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{shown} did not finish within {COMMAND_TIMEOUT:?}"));
            }
            Err(e) => return Err(format!("cannot wait for {shown}: {e}")),
        }
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

fn run_checked(cmd: &mut Command) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let out = run(cmd)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{shown} failed ({}): {}{}",
            describe_status(out.status),
            out.stdout.trim(),
            out.stderr.trim()
        ))
    }
}

fn read_all_later<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

pub fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => format!("{status}"),
    }
}

/// `10.0.0.1:179`, `[fd00::1]:179`, `[::ffff:10.0.0.1]:179` (as ss prints
/// them; the last is unmapped to IPv4), without any `%iface` scope.
fn socket_addr(text: &str) -> Option<SocketAddr> {
    let (host, port) = text.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = host.split('%').next()?;
    let ip: IpAddr = host.parse().ok()?;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    Some(SocketAddr::new(ip, port.parse().ok()?))
}

fn signal(pid: u32, sig: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) on a pid we started and have not yet reaped, so the pid
    // cannot have been reused by another process.
    unsafe { libc::kill(pid, sig) == 0 }
}

fn delete_namespace(name: &str) {
    let _ = run(Command::new("ip").args(["netns", "del", name]));
}

/// The pid that owns a name we generated (`vpt-<pid>-...` or `vpt<pid>x...`),
/// if that process still runs a binary built from this harness: the
/// proto-tests or the failover benchmark.
fn owner_alive(name: &str) -> bool {
    let digits: String = name
        .trim_start_matches(PREFIX)
        .trim_start_matches('-')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let Ok(pid) = digits.parse::<u32>() else {
        return true; // not one of ours after all; leave it alone
    };
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|comm| HARNESS_BINARIES.iter().any(|b| comm.starts_with(b)))
        .unwrap_or(false)
}

/// Deletes `vpt-*` namespaces whose owning test process is gone, killing the
/// processes still inside them (those were started by that earlier run).
fn remove_stale_namespaces() {
    let Ok(list) = run(Command::new("ip").args(["netns", "list"])) else {
        return;
    };
    for line in list.stdout.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if !name.starts_with(&format!("{PREFIX}-")) || owner_alive(name) {
            continue;
        }
        if let Ok(pids) = run(Command::new("ip").args(["netns", "pids", name])) {
            for pid in pids
                .stdout
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
            {
                signal(pid, libc::SIGKILL);
            }
        }
        delete_namespace(name);
    }
}

fn remove_stale_run_dirs(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(PREFIX) && !owner_alive(&name) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn print_log_tail(path: &Path) {
    let text = match File::open(path) {
        Ok(mut f) => {
            let mut bytes = Vec::new();
            let _ = f.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Err(e) => format!("(cannot read: {e})"),
    };
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(LOG_TAIL_LINES);
    eprintln!(
        "===== {} ({} lines{}) =====",
        path.display(),
        lines.len(),
        if skip > 0 { ", tail" } else { "" }
    );
    for line in &lines[skip..] {
        eprintln!("{line}");
    }
}
