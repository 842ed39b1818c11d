//! What a benchmark report says about the machine it ran on; shared by the
//! failover benchmark (`failover.rs`) and the performance benchmarks
//! (`main.rs`).

use std::process::Command;

/// The first line `program ARGS` prints (stdout, then stderr), or why it
/// could not run.
pub fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned()
                + &String::from_utf8_lossy(&o.stderr);
            text.lines().next().unwrap_or_default().trim().to_string()
        })
        .unwrap_or_else(|e| format!("({program}: {e})"))
}

/// The CPU model from /proc/cpuinfo.
pub fn cpu_model() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, m)| m.trim())
        .to_string()
}

/// "release", or a warning that the figures of a debug build mean little.
pub fn build() -> String {
    if cfg!(debug_assertions) {
        "debug (figures are meaningless; use --release)".into()
    } else {
        "release".into()
    }
}
