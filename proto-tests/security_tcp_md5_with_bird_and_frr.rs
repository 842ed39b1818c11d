//! TCP-MD5 (RFC 2385) against BIRD and FRR: the right key brings the
//! session up whichever side connects; a wrong or missing key on either side
//! keeps it down, with the kernel dropping the segments, vipd running and
//! answering, its log quiet, and another keyed session untouched. vipd's
//! listener also refuses an address that is not a configured peer.
//!
//! ```text
//!   router (BIRD or FRR, AS 65000)             vipd (AS 65001, listen [::]:179)
//!   eth1 10.255.1.1      --------------------  eth1 10.255.1.2       session under test
//!        fd00:255:1::1                              fd00:255:1::2    control session,
//!                                                                    always keyed right
//!   VIPs 198.18.1.1/32 (learned over IPv4), fd00:198:18:1::1/128 (over IPv6)
//! ```
//!
//! 1. Both sessions keyed right, vipd connecting (the router passive):
//!    both Established, each VIP at the router.
//! 2. The IPv4 session keyed right with vipd passive (the router connects):
//!    Established again.
//! 3. For each of: vipd's key wrong, vipd without a key, the router without
//!    a key, once with vipd connecting and once with vipd accepting: the
//!    session stays down for a quiet window while the kernel of one end
//!    counts dropped MD5 segments; vipd answers `vipd status` throughout and
//!    logs at most a few lines; the IPv6 session stays Established with the
//!    same `since`.
//! 4. The right key again: Established again.
//! 5. A TCP connection to vipd from 10.255.1.99 (not a peer) is closed
//!    without a byte, and vipd logs the refusal.
//!
//! vipd's side is changed with `vipd reload` (only the changed peer
//! restarts); the router's with a live reconfiguration of one neighbour.

use std::time::Instant;

use crate::harness::{Lab, RouterKind};
use crate::security_lab::{Neighbor, SecRouter, SecVipd, quiet_window};

const RIGHT: &str = "vipd-md5-key-1";
const WRONG: &str = "not-the-key";
const CONTROL_KEY: &str = "control-key-6";
const ROUTER_ID: &str = "10.255.1.1";

#[test]
fn tcp_md5_with_bird_right_key_up_wrong_or_missing_key_down() {
    tcp_md5(RouterKind::Bird);
}

#[test]
fn tcp_md5_with_frr_right_key_up_wrong_or_missing_key_down() {
    tcp_md5(RouterKind::Frr);
}

/// The IPv4 session's settings in one phase.
#[derive(Clone, Copy, Debug)]
struct Case {
    what: &'static str,
    vipd_key: Option<&'static str>,
    router_key: Option<&'static str>,
    vipd_passive: bool,
}

fn tcp_md5(kind: RouterKind) {
    let lab = Lab::new();
    let router_ns = lab.add_netns("router");
    let vipd_ns = lab.add_netns("vipd");
    lab.link(&router_ns, "eth1", &vipd_ns, "eth1");
    for (ns, v4, v6) in [
        (&router_ns, "10.255.1.1/24", "fd00:255:1::1/64"),
        (&vipd_ns, "10.255.1.2/24", "fd00:255:1::2/64"),
    ] {
        ns.ip(&["addr", "add", v4, "dev", "eth1"])
            .unwrap_or_else(|e| panic!("{e}"));
        ns.ip(&["addr", "add", v6, "dev", "eth1", "nodad"])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let router_v4 = crate::ip("10.255.1.1");
    let router_v6 = crate::ip("fd00:255:1::1");
    let vipd_v4 = crate::ip("10.255.1.2");
    let vipd_v6 = crate::ip("fd00:255:1::2");

    let first = Case {
        what: "right key, vipd connects",
        vipd_key: Some(RIGHT),
        router_key: Some(RIGHT),
        vipd_passive: false,
    };
    let mut control = Neighbor::new("vipd6", "fd00:255:1::2", "fd00:255:1::1");
    control.password = Some(CONTROL_KEY.to_string());
    let mut router = SecRouter::start(
        kind,
        &router_ns,
        ROUTER_ID,
        vec![router_side(first), control],
        "",
    );
    let vipd = SecVipd::start(&vipd_ns, "vipd", &vipd_config(first));

    // 1. Both sessions up with the right keys.
    let start = Instant::now();
    router
        .wait_route(vipd_v6, "fd00:198:18:1::1/128")
        .unwrap_or_else(|e| panic!("{kind}: control session: {e}"));
    router
        .wait_route(vipd_v4, "198.18.1.1/32")
        .unwrap_or_else(|e| panic!("{kind}: {}: {e}", first.what));
    println!(
        "{kind}: {}: Established, VIP at the router, {:.1}s after start",
        first.what,
        start.elapsed().as_secs_f64()
    );
    let control_mark = Instant::now();

    let phase = |what, vipd_key, router_key, vipd_passive| Case {
        what,
        vipd_key,
        router_key,
        vipd_passive,
    };
    let cases = [
        phase(
            "right key, the router connects",
            Some(RIGHT),
            Some(RIGHT),
            true,
        ),
        phase(
            "vipd's key wrong, vipd connects",
            Some(WRONG),
            Some(RIGHT),
            false,
        ),
        phase(
            "vipd's key wrong, the router connects",
            Some(WRONG),
            Some(RIGHT),
            true,
        ),
        phase(
            "vipd without a key, vipd connects",
            None,
            Some(RIGHT),
            false,
        ),
        phase(
            "vipd without a key, the router connects",
            None,
            Some(RIGHT),
            true,
        ),
        phase(
            "the router without a key, vipd connects",
            Some(RIGHT),
            None,
            false,
        ),
        phase(
            "the router without a key, the router connects",
            Some(RIGHT),
            None,
            true,
        ),
        phase(
            "right key again, vipd connects",
            Some(RIGHT),
            Some(RIGHT),
            false,
        ),
    ];
    for case in cases {
        let mark = Instant::now();
        router.set_neighbor(router_side(case), ROUTER_ID);
        vipd.reload(&vipd_config(case));
        let start = Instant::now();
        if case.vipd_key == case.router_key {
            // 2. and 4.: a new session, not the previous one.
            vipd.wait_new_session(router_v4, mark)
                .unwrap_or_else(|e| panic!("{kind}: {}: {e}", case.what));
            router
                .wait_route(vipd_v4, "198.18.1.1/32")
                .unwrap_or_else(|e| panic!("{kind}: {}: {e}", case.what));
            println!(
                "{kind}: {}: Established, VIP at the router, {:.1}s after the change",
                case.what,
                start.elapsed().as_secs_f64()
            );
        } else {
            // 3.
            router.wait_down(vipd_v4);
            let quiet = quiet_window(&router, &vipd, router_v4, vipd_v4, &[&router_ns, &vipd_ns]);
            println!(
                "{kind}: {}: no session for {:?}; kernel MD5 drops: {} unexpected, {} not \
                 found, {} failed; vipd log: {} lines, {} about this peer",
                case.what,
                crate::security_lab::QUIET_WINDOW,
                quiet.drops.md5_unexpected,
                quiet.drops.md5_not_found,
                quiet.drops.md5_failure,
                quiet.log_lines,
                quiet.peer_log_lines
            );
            assert!(
                quiet.drops.md5_total() > 0,
                "{kind}: {}: no segment was dropped for its MD5 signature, so nothing \
                 tried to connect: the window proves nothing",
                case.what
            );
        }
        // The control session never noticed.
        assert!(
            router.established(vipd_v6),
            "{kind}: {}: the control session went down",
            case.what
        );
        vipd.unbroken_since(router_v6, control_mark)
            .unwrap_or_else(|e| panic!("{kind}: {}: the control session: {e}", case.what));
    }

    // 5. An address that is not a configured peer.
    router_ns
        .ip(&["addr", "add", "10.255.1.99/24", "dev", "eth1"])
        .unwrap_or_else(|e| panic!("{e}"));
    let log_start = vipd.vipd.log_len();
    let out = router_ns
        .exec(
            "/usr/bin/python3",
            &[
                "-c",
                "import socket\n\
                 s = socket.create_connection(('10.255.1.2', 179), timeout=5, \
                 source_address=('10.255.1.99', 0))\n\
                 s.settimeout(5)\n\
                 print(repr(s.recv(100)))",
            ],
        )
        .unwrap_or_else(|e| panic!("{kind}: connecting from 10.255.1.99: {e}"));
    assert_eq!(
        out.stdout.trim(),
        "b''",
        "vipd must close a connection from a non-peer without a byte"
    );
    let refused = crate::harness::wait_until(std::time::Duration::from_secs(10), || {
        let log = vipd.vipd.log();
        let new = log.get(log_start..).unwrap_or_default();
        new.lines()
            .find(|l| l.contains("not a configured peer") && l.contains("10.255.1.99"))
            .map(|l| println!("vipd: {l}"))
            .ok_or_else(|| "no refusal logged".to_string())
    });
    refused.unwrap_or_else(|e| panic!("{kind}: connection from 10.255.1.99: {e}"));
    assert!(router.established(vipd_v4) && router.established(vipd_v6));
}

/// The router's IPv4 neighbour for `case`: passive whenever vipd connects,
/// so each phase tests exactly one direction.
fn router_side(case: Case) -> Neighbor {
    let mut n = Neighbor::new("vipd4", "10.255.1.2", "10.255.1.1");
    n.password = case.router_key.map(str::to_string);
    n.passive = !case.vipd_passive;
    n
}

fn vipd_config(case: Case) -> String {
    let mut v4 = String::new();
    if let Some(key) = case.vipd_key {
        v4.push_str(&format!("password = \"{key}\"\n"));
    }
    if case.vipd_passive {
        v4.push_str("passive = true\n");
    }
    format!(
        r#"# security_tcp_md5_with_bird_and_frr: {what}
[speaker]
asn = 65001
router_id = "10.255.1.2"
listen = "[::]:179"
hold_time = 9
connect_retry = 1
connect_retry_max = 4

# The control session: always the right key.
[[peer]]
address = "fd00:255:1::1"
remote_asn = 65000
local_address = "fd00:255:1::2"
password = "{CONTROL_KEY}"

# The session under test.
[[peer]]
address = "10.255.1.1"
remote_asn = 65000
local_address = "10.255.1.2"
{v4}
[[vip]]
prefix = "198.18.1.1/32"

[[vip]]
prefix = "fd00:198:18:1::1/128"
"#,
        what = case.what
    )
}
