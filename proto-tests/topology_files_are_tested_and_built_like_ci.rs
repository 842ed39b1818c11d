//! What ships under `containerlab/` is what CI runs, and the image the
//! topologies use is built the way CI builds vipd.
//!
//! - Every `containerlab/*.clab.yml` parses, binds only files that exist, and
//!   is named (as the string literal `"<name>"`) by a proto-test source that
//!   `main.rs` compiles in: a topology that no proto-test deploys fails here.
//! - The `Dockerfile` is multi-stage, pins every base image to a version (no
//!   `latest`, no bare name), builds with exactly the release build command
//!   of `proto-tests/test-all.sh`, gives the binary its file capabilities,
//!   and runs as a non-root user. (CI also lints it with hadolint, in
//!   test-all.sh; there is no Docker daemon in CI to build it.)

use std::fs;
use std::path::{Path, PathBuf};

use crate::clab::{TopologyFile, topology_dir};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.rs` files the proto-test binary compiles: `main.rs`, each top-level
/// file it names with `mod`, and everything under `harness/`.
fn compiled_sources() -> Vec<PathBuf> {
    let dir = repo().join("proto-tests");
    let main = fs::read_to_string(dir.join("main.rs")).expect("read proto-tests/main.rs");
    let mut files = vec![dir.join("main.rs")];
    for line in main.lines() {
        if let Some(module) = line
            .trim()
            .strip_prefix("mod ")
            .and_then(|m| m.strip_suffix(';'))
        {
            let file = dir.join(format!("{module}.rs"));
            if file.is_file() {
                files.push(file);
            }
        }
    }
    if main.lines().any(|l| l.trim() == "mod harness;") {
        let harness = dir.join("harness");
        for entry in fs::read_dir(&harness).expect("read proto-tests/harness") {
            let path = entry.expect("harness entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn every_topology_is_deployed_by_a_proto_test() {
    let this_file = repo().join(file!().trim_start_matches("./"));
    let sources: Vec<(PathBuf, String)> = compiled_sources()
        .into_iter()
        .filter(|f| !f.ends_with(this_file.file_name().expect("file name")))
        .map(|f| {
            let text = fs::read_to_string(&f).expect("read source");
            (f, text)
        })
        .collect();
    let mut topologies: Vec<String> = fs::read_dir(topology_dir())
        .expect("read containerlab/")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".clab.yml").map(str::to_string)
        })
        .collect();
    topologies.sort();
    assert!(
        topologies.len() >= 5,
        "containerlab/ has only {topologies:?}"
    );
    let mut untested = Vec::new();
    for name in &topologies {
        let file = TopologyFile::load(name);
        assert_eq!(
            &file.name, name,
            "containerlab/{name}.clab.yml: `name:` must be {name}"
        );
        for (node, def) in &file.topology.nodes {
            for bind in &def.binds {
                let source = topology_dir().join(bind.split(':').next().unwrap_or(bind));
                assert!(
                    source.is_file(),
                    "{name}: node {node} binds {}, which does not exist",
                    source.display()
                );
            }
        }
        let literal = format!("\"{name}\"");
        let users: Vec<String> = sources
            .iter()
            .filter(|(_, text)| text.contains(&literal))
            .map(|(f, _)| {
                f.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        if users.is_empty() {
            untested.push(name.clone());
        } else {
            println!("{name}: deployed by {}", users.join(", "));
        }
    }
    assert!(
        untested.is_empty(),
        "no proto-test deploys {untested:?}: a topology that is not tested is not shipped \
         (add a proto-test that deploys it by name, or remove it)"
    );
}

#[test]
fn dockerfile_matches_ci() {
    let dockerfile =
        fs::read_to_string(repo().join("Dockerfile")).expect("the repository has a Dockerfile");
    // Join continuation lines so each instruction is one line.
    let joined = dockerfile.replace("\\\n", " ");
    let instructions: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();

    let froms: Vec<&str> = instructions
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .copied()
        .collect();
    assert!(
        froms.len() >= 2,
        "the Dockerfile must be multi-stage: {froms:?}"
    );
    for from in &froms {
        let image = from.split_whitespace().nth(1).unwrap_or_default();
        let tag = image.rsplit_once(':').map(|(_, t)| t);
        assert!(
            tag.is_some_and(|t| !t.is_empty() && t != "latest") || image.contains("@sha256:"),
            "base image {image:?} must be pinned to a version (not latest, not bare)"
        );
    }
    assert!(
        froms
            .last()
            .is_some_and(|f| f.contains("debian:bookworm-slim")),
        "the runtime stage must be debian:bookworm-slim: {froms:?}"
    );

    let build = instructions
        .iter()
        .find_map(|l| {
            let at = l.find("cargo build")?;
            let command = l[at..].split("&&").next().unwrap_or_default().trim();
            Some(command.to_string())
        })
        .expect("the Dockerfile builds vipd with `cargo build`");
    let test_all = fs::read_to_string(repo().join("proto-tests/test-all.sh"))
        .expect("read proto-tests/test-all.sh");
    assert!(
        test_all.lines().any(|l| l.trim() == build),
        "the Dockerfile builds with `{build}`, which proto-tests/test-all.sh never runs: \
         CI must build the image's binary the same way"
    );
    assert!(
        build.contains("--locked") && build.contains("--release"),
        "`{build}`: the image's build must use Cargo.lock and the release profile"
    );
    println!("Dockerfile and test-all.sh both run `{build}`");

    let runtime = joined
        .rsplit_once("\nFROM ")
        .map(|(_, last)| last)
        .expect("a runtime stage");
    let setcap = runtime
        .lines()
        .find(|l| l.contains("setcap") && l.contains("/usr/local/bin/vipd"))
        .expect("the runtime stage gives vipd its capabilities with setcap");
    for cap in ["cap_net_admin", "cap_net_raw", "cap_net_bind_service"] {
        assert!(setcap.contains(cap), "setcap must grant {cap}: {setcap}");
    }
    let user = runtime
        .lines()
        .map(str::trim)
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets a USER");
    let user = user.split(':').next().unwrap_or_default().trim();
    assert!(
        !user.is_empty() && user != "root" && user != "0",
        "vipd must not run as root in the image (USER {user})"
    );
    assert!(
        runtime.contains("ENTRYPOINT [\"/usr/local/bin/vipd\"]"),
        "the topologies' `cmd: run --config ...` needs the entrypoint to be vipd"
    );
    let ignore = fs::read_to_string(repo().join(".dockerignore")).expect("read .dockerignore");
    assert!(
        ignore.lines().any(|l| l.trim() == "target"),
        ".dockerignore must leave out target/"
    );
}
