//! The router configurations in `docs/routers.md` work as written: each is
//! taken from the page, loaded into the real daemon (BIRD 2, FRR with bfdd)
//! and peered with a vipd that runs the page's node configuration.
//!
//! ```text
//!   node: vipd (AS 65001) --eth1-- router: BIRD or FRR (AS 65000)
//!   10.255.1.2, fd00:255:1::2        10.255.1.1, fd00:255:1::1
//! ```
//!
//! 1. Both sessions come up: the router's TCP-MD5 key and GTSM match the
//!    node's `password` and `ttl_security` (a mismatch on either keeps the
//!    session down).
//! 2. The router has both VIPs; vipd also announces a /24 inside the VIP
//!    range and a /32 outside it (vipd's status says it sent all four), and
//!    the router's prefix filter drops both.
//! 3. BFD is up on both sessions.
//! 4. `vipd drain` on the IPv4 VIP: the router sees GRACEFUL_SHUTDOWN on it
//!    and its filter sets LOCAL_PREF 0.
//! 5. The settings the page shows are in the running configuration
//!    (FRR: maximum-prefix, graceful-restart-helper, maximum-paths).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::harness::{Bird, Frr, Lab, Netns, Router, Vipd, require_root, vipd_check, wait_until};
use crate::ip;

const PAGE: &str = include_str!("../docs/routers.md");
const SESSION_DEADLINE: Duration = Duration::from_secs(60);
const ROUTE_DEADLINE: Duration = Duration::from_secs(30);

const ROUTER4: &str = "10.255.1.1";
const ROUTER6: &str = "fd00:255:1::1";
const NODE4: &str = "10.255.1.2";
const NODE6: &str = "fd00:255:1::2";
const VIP4: &str = "198.18.0.10/32";
const VIP6: &str = "fd00:198:18::10/128";
/// Announced by the test's vipd besides the page's VIPs; the router must
/// refuse both: the right range with the wrong length, and a host route
/// outside the range.
const REFUSED: [&str; 2] = ["198.18.0.0/24", "198.19.0.10/32"];

/// The fenced block of the page whose first line starts with `first`.
fn block(first: &str) -> String {
    let mut lines = PAGE.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("```") {
            continue;
        }
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        if body.first().is_some_and(|l| l.starts_with(first)) {
            return body.join("\n") + "\n";
        }
    }
    panic!("docs/routers.md has no code block starting with {first:?}");
}

struct Setup {
    lab: Lab,
    node: Netns,
    router: Netns,
}

fn setup() -> Setup {
    require_root();
    let lab = Lab::new();
    let router = lab.add_netns("router");
    let node = lab.add_netns("node");
    lab.link(&router, "eth1", &node, "eth1");
    for (ns, v4, v6) in [(&router, ROUTER4, ROUTER6), (&node, NODE4, NODE6)] {
        ns.ip(&["addr", "add", &format!("{v4}/24"), "dev", "eth1"])
            .unwrap_or_else(|e| panic!("{e}"));
        ns.ip(&["addr", "add", &format!("{v6}/64"), "dev", "eth1", "nodad"])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    Setup { lab, node, router }
}

/// The page's node configuration, plus the two VIPs the router must refuse.
fn start_vipd(s: &Setup) -> Vipd {
    let mut text = block("# vipd.toml");
    for prefix in REFUSED {
        text.push_str(&format!("\n[[vip]]\nprefix = \"{prefix}\"\n"));
    }
    let path = s.lab.dir().join("vipd.toml");
    std::fs::write(&path, text).unwrap();
    let checked = vipd_check(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        checked.status.success(),
        "the page's node config does not pass vipd check:\n{}{}",
        checked.stdout,
        checked.stderr
    );
    let mut vipd = Vipd::new(s.node.clone(), "node", path);
    vipd.start().unwrap_or_else(|e| panic!("{e}"));
    vipd
}

fn write_router_config(s: &Setup, name: &str, text: &str) -> PathBuf {
    let path = s.lab.dir().join(name);
    std::fs::write(&path, text).unwrap();
    // FRR's daemons run as the frr user and read nothing themselves (vtysh
    // applies the file), BIRD runs as root: no ownership change is needed.
    path
}

fn status(vipd: &Vipd) -> serde_json::Value {
    let out = vipd
        .ctl(&["status", "--json"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "vipd status: {}{}",
        out.stdout,
        out.stderr
    );
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("status JSON: {e}\n{}", out.stdout))
}

/// Steps 1 to 4, the same for both routers.
fn exercise(router: &dyn Router, vipd: &Vipd) {
    let neighbors: [IpAddr; 2] = [ip(NODE4), ip(NODE6)];
    // 1. Sessions (MD5 and GTSM agree, or they would stay down).
    wait_until(SESSION_DEADLINE, || {
        for n in neighbors {
            if !router.session_established(n)? {
                return Err(format!(
                    "{} session with {n} not Established: {}",
                    router.kind(),
                    router.describe_session(n).unwrap_or_default()
                ));
            }
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}\n--- vipd log:\n{}", vipd.log()));
    println!(
        "{}: both sessions Established (TCP-MD5 and GTSM on both ends)",
        router.kind()
    );

    // 2. The VIPs are in; vipd sent four prefixes in all; two are refused.
    wait_until(ROUTE_DEADLINE, || {
        let routes = router.routes()?;
        for want in [VIP4, VIP6] {
            if !routes.iter().any(|r| r.prefix.to_string() == want) {
                return Err(format!("{want} not on the router yet"));
            }
        }
        let s = status(vipd);
        let sent: u64 = s["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["prefixes_announced"].as_u64())
            .sum();
        // Three IPv4 prefixes on the IPv4 session, one IPv6 on the IPv6 one.
        if sent != 4 {
            return Err(format!("vipd announced {sent} prefixes, not 4 yet: {s:#}"));
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}\n--- vipd log:\n{}", vipd.log()));
    let routes = router.routes().unwrap_or_else(|e| panic!("{e}"));
    for refused in REFUSED {
        assert!(
            !routes.iter().any(|r| r.prefix.to_string() == refused),
            "{} accepted {refused}, which its filter must refuse: {routes:#?}",
            router.kind()
        );
    }
    println!(
        "{}: accepted {VIP4} and {VIP6}; refused {} (vipd sent all four)",
        router.kind(),
        REFUSED.join(", ")
    );

    // 3. BFD.
    wait_until(SESSION_DEADLINE, || {
        for n in neighbors {
            match router.bfd_session(n)? {
                Some(b) if b.state.eq_ignore_ascii_case("up") => {}
                other => return Err(format!("BFD with {n}: {other:?}")),
            }
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    println!("{}: BFD Up with both addresses of the node", router.kind());

    // 4. A drained VIP gets LOCAL_PREF 0 from the page's filter.
    let out = vipd.ctl(&["drain", VIP4]).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "vipd drain: {}{}",
        out.stdout,
        out.stderr
    );
    wait_until(ROUTE_DEADLINE, || {
        let routes = router.routes()?;
        let route = routes
            .iter()
            .find(|r| r.prefix.to_string() == VIP4)
            .ok_or_else(|| format!("{VIP4} gone before its 30 s drain_time was over"))?;
        // FRR writes the well-known community by its name.
        let gshut = route
            .communities
            .iter()
            .any(|c| ["65535:0", "graceful-shutdown", "gracefulShutdown"].contains(&c.as_str()));
        if gshut && route.local_pref == Some(0) {
            Ok(())
        } else {
            Err(format!("not drained yet: {route}"))
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{}: the drained {VIP4} has 65535:0 and LOCAL_PREF 0",
        router.kind()
    );
}

#[test]
fn docs_bird_config_accepts_only_vips_with_bfd_and_drain() {
    let s = setup();
    let config = write_router_config(&s, "bird.conf", &block("# bird.conf"));
    let mut bird = Bird::new(s.router.clone(), "router", config);
    bird.start()
        .unwrap_or_else(|e| panic!("the page's BIRD config does not load: {e}"));
    let vipd = start_vipd(&s);
    exercise(&bird, &vipd);
    // The limit is in force on both channels.
    for protocol in ["node1_v4", "node1_v6"] {
        let text = bird
            .birdc(&["show", "protocols", "all", protocol])
            .unwrap_or_else(|e| panic!("{e}"));
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains("Receive limit: 100 Action: restart"),
            "no receive limit on {protocol}:\n{text}"
        );
    }
}

#[test]
fn docs_frr_config_accepts_only_vips_with_bfd_and_drain() {
    let s = setup();
    let config = write_router_config(&s, "frr.conf", &block("! frr.conf"));
    let mut frr = Frr::new(s.router.clone(), "router", config).with_bfdd(true);
    frr.start()
        .unwrap_or_else(|e| panic!("the page's FRR config does not load: {e}"));
    let vipd = start_vipd(&s);
    exercise(&frr, &vipd);
    let running = frr
        .vtysh("show running-config")
        .unwrap_or_else(|e| panic!("{e}"));
    for line in [
        "neighbor VIPD4 maximum-prefix 100",
        "neighbor VIPD6 maximum-prefix 100",
        "neighbor VIPD4 graceful-restart-helper",
        "neighbor VIPD4 ttl-security hops 1",
        "maximum-paths 16",
        "neighbor VIPD4 prefix-list VIPS4 in",
        "neighbor VIPD6 prefix-list VIPS6 in",
    ] {
        assert!(
            running.contains(line),
            "FRR's running config lacks {line:?}:\n{running}"
        );
    }
}
