//! The README's demo, `sudo proto-tests/demo.sh`, runs end to end on the
//! anycast-ecmp topology and cleans up after itself.
//!
//! Runs the script as a user would (with `DEMO_PAUSE=0`), then checks its
//! exit status, that each step printed its outcome (three servers in the
//! router's table, node1 leaving and coming back, the drain of node2 with
//! zero failed requests, the undrain), and that no `vipd-demo-*` namespace,
//! `/etc/netns` entry or FRR run directory is left behind.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::require_root;

/// Includes `cargo build --locked --release` (nothing to do when CI built
/// it already, minutes on a fresh tree).
const DEADLINE: Duration = Duration::from_secs(1200);

#[test]
fn demo_runs_anycast_ecmp_end_to_end() {
    require_root();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("vipd-demo-test-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let out_path = dir.join("demo.out");
    let out = File::create(&out_path).unwrap_or_else(|e| panic!("{e}"));
    let err = out.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg(repo.join("proto-tests/demo.sh"))
        .env("DEMO_PAUSE", "0")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run demo.sh: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        if started.elapsed() > DEADLINE {
            // SIGTERM: its trap cleans up; then make sure it is gone.
            // SAFETY: kill(2) on the child we started and have not reaped.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            thread::sleep(Duration::from_secs(10));
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "demo.sh still running after {DEADLINE:?}:\n{}",
                fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(200));
    };
    let output = fs::read_to_string(&out_path).unwrap_or_default();
    let _ = fs::remove_dir_all(&dir);
    println!("{output}");
    println!("demo.sh took {:.1} s", started.elapsed().as_secs_f64());
    assert!(status.success(), "demo.sh failed ({status}):\n{output}");
    for line in [
        "The router now sends VIP traffic to 3 server(s): node1, node2, node3",
        "node1 left the router's table",
        "The router now sends VIP traffic to 2 server(s): node2, node3",
        "node1 is back in the router's table",
        "Drained node2 with 0 failed requests",
        "node2 is back in the router's table",
        "Cleaned up: processes, namespaces and temporary files are gone.",
    ] {
        assert!(
            output.contains(line),
            "demo.sh did not print {line:?}:\n{output}"
        );
    }

    let namespaces = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap_or_else(|e| panic!("ip netns list: {e}"));
    let left: Vec<String> = String::from_utf8_lossy(&namespaces.stdout)
        .lines()
        .filter(|l| l.starts_with("vipd-demo-"))
        .map(str::to_string)
        .collect();
    assert!(left.is_empty(), "demo.sh left namespaces behind: {left:?}");
    let etc_left: Vec<String> = fs::read_dir("/etc/netns")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("vipd-demo-"))
        .collect();
    assert!(
        etc_left.is_empty(),
        "demo.sh left /etc/netns entries: {etc_left:?}"
    );
    assert!(
        !Path::new("/var/run/frr/vipddemo").exists(),
        "demo.sh left /var/run/frr/vipddemo"
    );
}
