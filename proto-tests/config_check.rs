//! `vipd check` accepts every vipd config shipped under `configs/` and rejects
//! a broken copy with exit status 2, naming the offending key.
//!
//! ```text
//!   configs/**.toml (those with a [speaker] table) --> vipd check --config FILE
//! ```
//!
//! 1. Find every vipd config under `configs/` (TOML files with `[speaker]`).
//! 2. `vipd check --config FILE` exits 0 on each.
//! 3. Broken copies of one of them (an unknown key, a hold time of 2, a port
//!    that is not a number) make it exit 2 and name the key on stderr.

use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::vipd_check;

#[test]
fn vipd_check_accepts_every_shipped_config_and_names_the_key_in_a_broken_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let configs = vipd_configs(&root);
    assert!(
        configs.len() >= 6,
        "expected the interop vipd configs under {}, found {configs:?}",
        root.display()
    );
    for config in &configs {
        let out = vipd_check(config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "vipd check {} must pass:\n{}{}",
            config.display(),
            out.stdout,
            out.stderr
        );
        println!(
            "ok  vipd check {}",
            config.strip_prefix(&root).unwrap_or(config).display()
        );
    }

    let good = root.join("interop-bird/vipd-ebgp/vipd.toml");
    let text = fs::read_to_string(&good).unwrap_or_else(|e| panic!("{}: {e}", good.display()));
    let broken = [
        (
            "unknown key",
            "[speaker]\n",
            "[speaker]\nbogus_key = 1\n",
            "bogus_key",
        ),
        (
            "hold time 2",
            "hold_time = 9\n",
            "hold_time = 2\n",
            "hold_time",
        ),
        (
            "wrong type",
            "connect_retry = 1\n",
            "connect_retry = \"soon\"\n",
            "connect_retry",
        ),
    ];
    let dir = std::env::temp_dir().join(format!("vipd-proto-check-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (what, from, to, key) in broken {
        assert!(
            text.contains(from),
            "{} has no `{}` to break",
            good.display(),
            from.trim()
        );
        let path = dir.join(format!("{}.toml", what.replace(' ', "-")));
        fs::write(&path, text.replacen(from, to, 1))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let out = vipd_check(&path).unwrap_or_else(|e| panic!("{e}"));
        let _ = fs::remove_file(&path);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{what}: vipd check must exit 2:\n{}{}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stderr.contains(key),
            "{what}: the error must name `{key}`:\n{}",
            out.stderr
        );
        println!(
            "ok  {what}: exit 2, {}",
            out.stderr.lines().next().unwrap_or_default()
        );
    }
    let _ = fs::remove_dir(&dir);
}

/// TOML files under `dir` that have a `[speaker]` table, sorted.
fn vipd_configs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") && is_vipd_config(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn is_vipd_config(path: &Path) -> bool {
    fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|doc| doc.contains_key("speaker"))
}
