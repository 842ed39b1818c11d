//! The router configurations in `docs/routers.md` work as written: each is
//! taken from the page, loaded into the real daemon (BIRD 2, FRR with bfdd)
//! and peered with a vipd that runs the page's node configuration.
//!
//! ```text
//!   node: vipd (AS 65001) --eth1-- router: BIRD or FRR (AS 65000) --eth2-- node2: vipd (AS 65002)
//!   10.255.1.2, fd00:255:1::2        10.255.1.1, fd00:255:1::1            10.255.2.2 (IPv4 only)
//!                                    10.255.2.1
//! ```
//!
//! node2 is added with the page's "one more node" snippets and runs the
//! page's node config moved to its AS and addresses.
//!
//! 1. Both sessions come up: the router's TCP-MD5 key and GTSM match the
//!    node's `password` and `ttl_security` (a mismatch on either keeps the
//!    session down).
//! 2. The router has both VIPs; vipd also announces a /24 inside the VIP
//!    range and a /32 outside it (vipd's status says it sent all four), and
//!    the router's prefix filter drops both.
//!    Both nodes are next hops of the IPv4 VIP in the router's kernel (ECMP
//!    across two ASes: `maximum-paths` with `multipath-relax`, or BIRD's
//!    `merge paths`).
//! 3. BFD is up on every session.
//! 4. `vipd drain` on the IPv4 VIP: the router sees GRACEFUL_SHUTDOWN on it
//!    and its filter sets LOCAL_PREF 0.
//! 5. The settings the page shows are in the running configuration
//!    (BIRD: the receive limits; FRR: maximum-prefix, graceful-restart-helper,
//!    ttl-security, maximum-paths, the prefix lists).
//! 6. A reload makes the node announce 150 more prefixes: the router's limit
//!    of 100 ends the session. For BIRD they are all outside the VIP range,
//!    so the filter refuses them and `receive limit` (with `import keep
//!    filtered`) must count them anyway; FRR's `maximum-prefix` counts
//!    accepted prefixes only, so for FRR they are inside the range.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
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
/// The second node, for ECMP (AS 65002, IPv4 only).
const ROUTER2: &str = "10.255.2.1";
const NODE2: &str = "10.255.2.2";
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
    node2: Netns,
    router: Netns,
}

fn setup() -> Setup {
    require_root();
    let lab = Lab::new();
    let router = lab.add_netns("router");
    let node = lab.add_netns("node");
    let node2 = lab.add_netns("node2");
    lab.link(&router, "eth1", &node, "eth1");
    lab.link(&router, "eth2", &node2, "eth1");
    for (ns, v4, v6) in [(&router, ROUTER4, ROUTER6), (&node, NODE4, NODE6)] {
        ns.ip(&["addr", "add", &format!("{v4}/24"), "dev", "eth1"])
            .unwrap_or_else(|e| panic!("{e}"));
        ns.ip(&["addr", "add", &format!("{v6}/64"), "dev", "eth1", "nodad"])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for (ns, dev, v4) in [(&router, "eth2", ROUTER2), (&node2, "eth1", NODE2)] {
        ns.ip(&["addr", "add", &format!("{v4}/24"), "dev", dev])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    Setup {
        lab,
        node,
        node2,
        router,
    }
}

/// The second node: the page's node configuration moved to AS 65002 on
/// 10.255.2.0/24, with its IPv4 session only.
fn start_vipd2(s: &Setup) -> Vipd {
    let page = block("# vipd.toml");
    let (speaker_and_v4, _) = page
        .split_once("[[peer]]\nname = \"router-v6\"")
        .expect("the page's node config has the router-v6 peer");
    let vips = &page[page
        .find("[[vip]]")
        .expect("the page's node config has VIPs")..];
    let text = format!("{speaker_and_v4}{vips}")
        .replace("asn = 65001", "asn = 65002")
        .replace(NODE4, NODE2)
        .replace(ROUTER4, ROUTER2);
    let path = s.lab.dir().join("vipd2.toml");
    std::fs::write(&path, text).unwrap();
    let mut vipd = Vipd::new(s.node2.clone(), "node2", path);
    vipd.start().unwrap_or_else(|e| panic!("{e}"));
    vipd
}

/// The page's node configuration, plus the two VIPs the router must refuse.
fn start_vipd(s: &Setup) -> (Vipd, PathBuf) {
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
    let mut vipd = Vipd::new(s.node.clone(), "node", path.clone());
    vipd.start().unwrap_or_else(|e| panic!("{e}"));
    (vipd, path)
}

/// Step 6: the node announces 150 more prefixes by a reload and the
/// router's limit of 100 must end the IPv4 session. With `refused`, they are
/// all outside the VIP range: the filter refuses every one, and the limit
/// must count them anyway (BIRD with `import keep filtered`).
fn exceed_the_limit(router: &dyn Router, vipd: &Vipd, config: &Path, refused: bool) {
    let mut text = std::fs::read_to_string(config).unwrap();
    for i in 0..150 {
        // Outside the VIP range (the filter refuses them), or inside it.
        let prefix = if refused {
            format!("198.19.1.{i}/32")
        } else {
            format!("198.18.0.{}/32", 100 + i)
        };
        text.push_str(&format!("\n[[vip]]\nprefix = \"{prefix}\"\n"));
    }
    std::fs::write(config, text).unwrap();
    let since = vipd.log_len();
    let out = vipd.ctl(&["reload"]).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "vipd reload: {}{}",
        out.stdout,
        out.stderr
    );
    // The router says so (its own words), or vipd logs the router's
    // NOTIFICATION; BFD may report the session down to vipd first.
    let mut evidence = String::new();
    wait_until(SESSION_DEADLINE, || {
        let log = vipd.log();
        let new = log.get(since..).unwrap_or_default();
        let said = router.describe_session(ip(NODE4))?;
        let lower = said.to_lowercase();
        if lower.contains("limit exceeded") || lower.contains("maximum number of prefixes") {
            let line = said
                .lines()
                .find(|l| {
                    let l = l.to_lowercase();
                    l.contains("limit exceeded") || l.contains("maximum number of prefixes")
                })
                .unwrap_or(&said);
            evidence = format!("the router says: {}", line.trim());
            Ok(())
        } else if new.contains("Maximum Number of Prefixes Reached") {
            evidence = "vipd received Cease/Maximum Number of Prefixes Reached".to_string();
            Ok(())
        } else {
            Err(format!(
                "no sign of the prefix limit yet; the router says: {said}"
            ))
        }
    })
    .unwrap_or_else(|e| panic!("{}: {e}\n--- vipd log:\n{}", router.kind(), vipd.log()));
    println!(
        "{}: 150 more prefixes ({}) tripped the limit of 100; {evidence}",
        router.kind(),
        if refused {
            "all refused by the filter"
        } else {
            "inside the VIP range"
        }
    );
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
fn exercise(router: &dyn Router, router_ns: &Netns, vipd: &Vipd) {
    let neighbors: [IpAddr; 3] = [ip(NODE4), ip(NODE6), ip(NODE2)];
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
        "{}: all three sessions Established (TCP-MD5 and GTSM agree on both ends)",
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

    // ECMP: the router's kernel has both nodes as next hops of the VIP.
    let vip4 = VIP4.trim_end_matches("/32");
    wait_until(ROUTE_DEADLINE, || {
        let out = router_ns.ip(&["route", "show", vip4])?;
        let text = out.stdout;
        if [NODE4, NODE2]
            .iter()
            .all(|n| text.contains(&format!("nexthop via {n} ")))
        {
            Ok(())
        } else {
            Err(format!("not both nodes as next hops yet: {text}"))
        }
    })
    .unwrap_or_else(|e| panic!("{}: {e}", router.kind()));
    println!(
        "{}: ECMP, the kernel route to {vip4} has both nodes (AS 65001 and AS 65002) as next hops",
        router.kind()
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
    println!("{}: BFD Up on all three sessions", router.kind());

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
            .find(|r| r.prefix.to_string() == VIP4 && r.peer == ip(NODE4))
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
fn docs_bird_config_filters_drains_and_limits_vip_routes() {
    let s = setup();
    let text = block("# bird.conf:") + &block("# bird.conf, one more node");
    let config = write_router_config(&s, "bird.conf", &text);
    let mut bird = Bird::new(s.router.clone(), "router", config);
    bird.start()
        .unwrap_or_else(|e| panic!("the page's BIRD config does not load: {e}"));
    let (vipd, vipd_config) = start_vipd(&s);
    let _vipd2 = start_vipd2(&s);
    exercise(&bird, &s.router, &vipd);
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
    exceed_the_limit(&bird, &vipd, &vipd_config, true);
}

#[test]
fn docs_frr_config_filters_drains_and_limits_vip_routes() {
    let s = setup();
    let text = block("! frr.conf:") + &block("! frr.conf, one more node");
    let config = write_router_config(&s, "frr.conf", &text);
    let mut frr = Frr::new(s.router.clone(), "router", config).with_bfdd(true);
    frr.start()
        .unwrap_or_else(|e| panic!("the page's FRR config does not load: {e}"));
    let (vipd, vipd_config) = start_vipd(&s);
    let _vipd2 = start_vipd2(&s);
    exercise(&frr, &s.router, &vipd);
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
    exceed_the_limit(&frr, &vipd, &vipd_config, false);
}
