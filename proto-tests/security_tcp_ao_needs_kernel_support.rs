//! TCP-AO (RFC 5925) keys per peer (`tcp_ao`): `vipd check` validates them;
//! `vipd run` finds out at start whether the kernel has TCP-AO. On a kernel
//! without it (CONFIG_TCP_AO unset, or older than Linux 6.7), vipd exits
//! non-zero before starting any session, with an error that names the peer
//! and the key; a reload that adds such a peer is refused and the running
//! config stays. On a kernel with TCP-AO, vipd starts.
//!
//! ```text
//!   vipd (AS 65001) eth1 10.255.1.2 ---- eth1 10.255.1.1 (nothing listens)
//! ```
//!
//! 1. `vipd check` on a config with `tcp_ao` keys: valid, exit 0. With
//!    `tcp_ao` and `password` on one peer, or two keys with one send_id:
//!    exit 2, each error named.
//! 2. Ask the kernel directly (a TCP_AO_ADD_KEY setsockopt from Python)
//!    whether it has TCP-AO.
//! 3. Without: `vipd run` exits with status 1 within seconds, logging
//!    "TCP-AO is not supported by this kernel" with the peer's name and key
//!    IDs, and never "vipd running" nor a connection attempt. With: vipd
//!    runs and tries the session.
//! 4. Without: a vipd running without TCP-AO is asked to reload a config that
//!    adds a `tcp_ao` peer: `vipd reload` exits 2 with the same error, and
//!    vipd keeps running its old config.

use std::time::Duration;

use crate::harness::{Lab, vipd_check};

const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
use crate::security_lab::SecVipd;

const AO_PEER: &str = r#"
[[peer]]
name = "tor-ao"
address = "10.255.1.1"
remote_asn = 65000
local_address = "10.255.1.2"
tcp_ao = [
  { send_id = 7, recv_id = 9, key = "an AO master key", algorithm = "aes-128-cmac" },
  { send_id = 8, recv_id = 10, key = "the next AO key" },
]
"#;

const SPEAKER: &str = r#"# security_tcp_ao_needs_kernel_support
[speaker]
asn = 65001
router_id = "10.255.1.2"
connect_retry = 1
connect_retry_max = 4

[[vip]]
prefix = "198.18.1.1/32"
"#;

#[test]
fn tcp_ao_is_validated_and_refused_clearly_where_the_kernel_lacks_it() {
    let lab = Lab::new();
    let ns = lab.add_netns("vipd");
    let router = lab.add_netns("router");
    lab.link(&ns, "eth1", &router, "eth1");
    ns.ip(&["addr", "add", "10.255.1.2/24", "dev", "eth1"])
        .unwrap_or_else(|e| panic!("{e}"));
    router
        .ip(&["addr", "add", "10.255.1.1/24", "dev", "eth1"])
        .unwrap_or_else(|e| panic!("{e}"));

    // 1. vipd check.
    let with_ao = format!("{SPEAKER}{AO_PEER}");
    let path = lab.dir().join("ao.vipd.toml");
    std::fs::write(&path, &with_ao).unwrap_or_else(|e| panic!("{e}"));
    let out = vipd_check(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "vipd check on a valid tcp_ao config: {}{}",
        out.stdout,
        out.stderr
    );
    let bad = with_ao
        .replace("tcp_ao = [", "password = \"md5\"\ntcp_ao = [")
        .replace("send_id = 8", "send_id = 7");
    let bad_path = lab.dir().join("bad.vipd.toml");
    std::fs::write(&bad_path, &bad).unwrap_or_else(|e| panic!("{e}"));
    let out = vipd_check(&bad_path).unwrap_or_else(|e| panic!("{e}"));
    println!("vipd check on a bad tcp_ao config:\n{}", out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("peer[0].tcp_ao: tcp_ao and password cannot both be set"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "peer[0].tcp_ao[1].send_id: send_id 7 is also the send_id of peer[0].tcp_ao[0]"
        ),
        "{}",
        out.stderr
    );

    // 2. Does this kernel have TCP-AO? A zeroed tcp_ao_add is refused as
    // invalid (EINVAL) where it does, as an unknown option where it does not.
    let probe = ns
        .exec(
            "/usr/bin/python3",
            &[
                "-c",
                "import errno, socket\n\
                 s = socket.socket()\n\
                 try:\n    s.setsockopt(socket.IPPROTO_TCP, 38, bytes(288))\n    print('ok')\n\
                 except OSError as e:\n    print(errno.errorcode[e.errno])",
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let kernel_has_ao = probe.stdout.trim() != "ENOPROTOOPT";
    println!(
        "TCP_AO_ADD_KEY on this kernel: {} (TCP-AO {})",
        probe.stdout.trim(),
        if kernel_has_ao { "present" } else { "missing" }
    );

    // 3. vipd run.
    let config = path.to_str().unwrap_or_default();
    let socket = lab.dir().join("ao.vipd.sock");
    let socket = socket.to_str().unwrap_or_default();
    let pid = ns
        .spawn(
            "ao-vipd",
            VIPD,
            &["run", "--config", config, "--control-socket", socket],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let exited = ns.lab().wait_exit(pid, Duration::from_secs(10));
    let log = ns.lab().read_log("ao-vipd");
    if kernel_has_ao {
        assert!(
            exited.is_none(),
            "vipd exited on a kernel with TCP-AO:\n{log}"
        );
        crate::harness::wait_until(Duration::from_secs(10), || {
            let log = ns.lab().read_log("ao-vipd");
            if log.contains("vipd running") {
                Ok(())
            } else {
                Err(format!("vipd did not start:\n{log}"))
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
        println!("this kernel has TCP-AO: vipd started with tcp_ao keys");
        return;
    }
    let status = exited.unwrap_or_else(|| {
        panic!("vipd kept running with tcp_ao on a kernel without TCP-AO:\n{log}")
    });
    println!("vipd run: {status}; its log:\n{log}");
    assert_eq!(status.code(), Some(1), "{log}");
    for needle in [
        "TCP-AO is not supported by this kernel",
        "Linux 6.7+",
        "CONFIG_TCP_AO",
        "peer[0] tor-ao (10.255.1.1)",
        "send_id 7, recv_id 9",
    ] {
        assert!(log.contains(needle), "no {needle:?} in:\n{log}");
    }
    for absent in ["vipd running", "connect", "session established"] {
        assert!(!log.contains(absent), "{absent:?} in:\n{log}");
    }
    assert!(
        log.lines().count() <= 5,
        "one clear error, not a page:\n{log}"
    );

    // 4. A reload that adds a tcp_ao peer is refused; the old config stays.
    let vipd = SecVipd::start(&ns, "plain", SPEAKER);
    crate::harness::wait_until(Duration::from_secs(10), || vipd.status().map(|_| ()))
        .unwrap_or_else(|e| panic!("vipd without tcp_ao did not start: {e}"));
    std::fs::write(&vipd.config, &with_ao).unwrap_or_else(|e| panic!("{e}"));
    let out = vipd.vipd.ctl(&["reload"]).unwrap_or_else(|e| panic!("{e}"));
    println!("vipd reload: {}{}", out.stdout, out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}{}", out.stdout, out.stderr);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("TCP-AO is not supported by this kernel") && text.contains("tor-ao"),
        "{text}"
    );
    let status = vipd
        .status()
        .unwrap_or_else(|e| panic!("vipd stopped after the refused reload: {e}"));
    assert_eq!(
        status["peers"].as_array().map(Vec::len),
        Some(0),
        "the refused reload added a peer: {status:#}"
    );
}
