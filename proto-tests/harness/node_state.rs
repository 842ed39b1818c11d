//! What a lab namespace holds besides its network: its own `/etc` files, and
//! the processes running in it.
//!
//! Per-namespace `/etc` directories are what a container gets from a bind
//! mount.
//! `ip netns exec NAME` bind-mounts every entry of `/etc/netns/NAME/` over
//! `/etc/<entry>` for the program it runs (iproute2's convention for
//! per-namespace configuration, see ip-netns(8)). Every process a lab starts
//! goes through `ip netns exec`, so with `/etc/netns/NAME/vipd` each node has
//! its own `/etc/vipd`, just as a containerlab node does, and node configs can
//! name paths such as `/etc/vipd/maintenance` that mean a different file on
//! every node, in every lab running in parallel.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::lab::Netns;

/// Where iproute2 looks for per-namespace `/etc` entries.
pub(crate) const NETNS_ETC: &str = "/etc/netns";

impl Netns {
    /// This namespace's own `/etc/<entry>` directory, created empty, as the
    /// host path the test itself can read and write. Processes started in the
    /// namespace see it as `/etc/<entry>`. Removed with the lab.
    ///
    /// The host's `/etc/<entry>` must exist to be mounted over, so it is
    /// created (empty) if missing and left in place: other labs running at
    /// the same time mount over it too.
    pub fn etc_dir(&self, entry: &str) -> Result<PathBuf, String> {
        assert!(
            !entry.is_empty() && !entry.contains('/') && entry != "." && entry != "..",
            "an /etc entry is one plain name, got {entry:?}"
        );
        let mountpoint = Path::new("/etc").join(entry);
        fs::create_dir_all(&mountpoint)
            .map_err(|e| format!("cannot create {}: {e}", mountpoint.display()))?;
        let own = Path::new(NETNS_ETC).join(&self.name);
        let dir = own.join(entry);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        self.lab().add_run_dir(own);
        Ok(dir)
    }
}

impl Netns {
    /// Every process in this namespace, as `(pid, command line)`
    /// (`ip netns pids`, then `/proc/PID/cmdline`; a process that exits in
    /// between is skipped).
    pub fn processes(&self) -> Result<Vec<(u32, String)>, String> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map_err(|e| format!("cannot run ip netns pids: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ip netns pids {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let pids = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
            .collect::<Vec<_>>();
        Ok(pids
            .into_iter()
            .filter_map(|pid| {
                let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let words: Vec<String> = raw
                    .split(|b| *b == 0)
                    .filter(|w| !w.is_empty())
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect();
                Some((pid, words.join(" ")))
            })
            .collect())
    }
}
