//! GTSM (RFC 5082) against BIRD and FRR: with `ttl_security = true` vipd
//! peers over a direct link (IPv4 and IPv6) with a router that runs GTSM too;
//! a vipd two hops away with `ttl_security = true` (one hop allowed) is
//! refused, whichever side connects, over IPv4 and IPv6, while the same node
//! with `multihop = 2` connects, without GTSM and with it.
//!
//! ```text
//!   near (vipd, AS 65001)          router (BIRD or FRR, AS 65000)        fwd            far (vipd, AS 65001)
//!   eth1 10.255.1.2     ---------  eth1 10.255.1.1
//!        fd00:255:1::2                  fd00:255:1::1
//!                                  eth2 10.255.2.1 ------------ eth1 10.255.2.2
//!                                       fd00:255:2::1                fd00:255:2::2
//!                                                               eth2 10.255.3.1 ----- eth1 10.255.3.2
//!                                                                    fd00:255:3::1         fd00:255:3::2
//!   VIPs 198.18.1.1/32,                                         (forwards)           VIPs 198.18.3.1/32,
//!        fd00:198:18:1::1/128                                                             fd00:198:18:3::1/128
//! ```
//!
//! 1. near: both sessions with `ttl_security = true` against the router's
//!    GTSM (one hop), near connecting over IPv4 and accepting over IPv6:
//!    Established, the VIPs at the router.
//! 2. far with `ttl_security = true`, the router with GTSM over two hops
//!    (it sends TTL 255, which arrives as 254): no session for a quiet
//!    window, far's kernel counts TTL drops (TCPMinTTLDrop), far keeps
//!    answering and logs little; near's sessions are untouched.
//! 3. The same the other way round: far `passive` (it listens), the router
//!    connecting: the handshake completes on far's listener, and vipd closes
//!    the accepted connection for the TTL its SYN arrived with: no session.
//! 4. far with `multihop = 2` and no GTSM, the router the same: Established.
//! 5. far with `ttl_security = true` and `multihop = 2` (TTL >= 254), the
//!    router with GTSM over two hops: Established.
//! 6. far over IPv6 instead, `ttl_security = true`, one hop: refused (hop
//!    limit 254 below `IPV6_MINHOPCOUNT` 255, counted by far's kernel).
//! 7. far over IPv6 with `multihop = 2`: Established.

use std::time::Instant;

use crate::harness::{Lab, RouterKind};
use crate::security_lab::{Neighbor, QUIET_WINDOW, SecRouter, SecVipd, quiet_window};

const ROUTER_ID: &str = "10.255.1.1";

#[test]
fn gtsm_with_bird_refuses_a_peer_two_hops_away() {
    gtsm(RouterKind::Bird);
}

#[test]
fn gtsm_with_frr_refuses_a_peer_two_hops_away() {
    gtsm(RouterKind::Frr);
}

fn gtsm(kind: RouterKind) {
    let lab = Lab::new();
    let near = lab.add_netns("near");
    let router_ns = lab.add_netns("router");
    let fwd = lab.add_netns("fwd");
    let far = lab.add_netns("far");
    lab.link(&near, "eth1", &router_ns, "eth1");
    lab.link(&router_ns, "eth2", &fwd, "eth1");
    lab.link(&fwd, "eth2", &far, "eth1");
    let setup: [(&crate::harness::Netns, &[&str]); 11] = [
        (&near, &["addr", "add", "10.255.1.2/24", "dev", "eth1"]),
        (
            &near,
            &["addr", "add", "fd00:255:1::2/64", "dev", "eth1", "nodad"],
        ),
        (&router_ns, &["addr", "add", "10.255.1.1/24", "dev", "eth1"]),
        (
            &router_ns,
            &["addr", "add", "fd00:255:1::1/64", "dev", "eth1", "nodad"],
        ),
        (&router_ns, &["addr", "add", "10.255.2.1/24", "dev", "eth2"]),
        (
            &router_ns,
            &["route", "add", "10.255.3.0/24", "via", "10.255.2.2"],
        ),
        (&fwd, &["addr", "add", "10.255.2.2/24", "dev", "eth1"]),
        (&fwd, &["addr", "add", "10.255.3.1/24", "dev", "eth2"]),
        (&far, &["addr", "add", "10.255.3.2/24", "dev", "eth1"]),
        (
            &far,
            &["route", "add", "10.255.2.0/24", "via", "10.255.3.1"],
        ),
        (
            &far,
            &["route", "add", "10.255.1.0/24", "via", "10.255.3.1"],
        ),
    ];
    let setup6: [(&crate::harness::Netns, &[&str]); 6] = [
        (
            &router_ns,
            &["addr", "add", "fd00:255:2::1/64", "dev", "eth2", "nodad"],
        ),
        (
            &router_ns,
            &["route", "add", "fd00:255:3::/64", "via", "fd00:255:2::2"],
        ),
        (
            &fwd,
            &["addr", "add", "fd00:255:2::2/64", "dev", "eth1", "nodad"],
        ),
        (
            &fwd,
            &["addr", "add", "fd00:255:3::1/64", "dev", "eth2", "nodad"],
        ),
        (
            &far,
            &["addr", "add", "fd00:255:3::2/64", "dev", "eth1", "nodad"],
        ),
        (
            &far,
            &["route", "add", "fd00:255:2::/64", "via", "fd00:255:3::1"],
        ),
    ];
    for (ns, args) in setup.into_iter().chain(setup6) {
        ns.ip(args).unwrap_or_else(|e| panic!("{e}"));
    }
    for knob in ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"] {
        fwd.exec("sysctl", &["-qw", knob])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let near_v4 = crate::ip("10.255.1.2");
    let near_v6 = crate::ip("fd00:255:1::2");
    let far_addr = crate::ip("10.255.3.2");
    let router_far = crate::ip("10.255.2.1");
    let far6_addr = crate::ip("fd00:255:3::2");
    let router_far6 = crate::ip("fd00:255:2::1");

    // IPv4: near connects; IPv6: the router connects.
    let mut near4 = Neighbor::new("near4", "10.255.1.2", "10.255.1.1");
    near4.ttl_security = true;
    near4.passive = true;
    let mut near6 = Neighbor::new("near6", "fd00:255:1::2", "fd00:255:1::1");
    near6.ttl_security = true;
    // Unless far is passive, the router never connects to far: every
    // attempt is far's.
    let far_side = |ttl_security: bool, passive: bool| {
        let mut n = Neighbor::new("far", "10.255.3.2", "10.255.2.1");
        n.passive = passive;
        n.multihop = Some(2);
        n.ttl_security = ttl_security;
        n
    };
    // far over IPv6: GTSM over two hops throughout, far always connects.
    let mut far6 = Neighbor::new("far6", "fd00:255:3::2", "fd00:255:2::1");
    far6.passive = true;
    far6.multihop = Some(2);
    far6.ttl_security = true;
    let mut router = SecRouter::start(
        kind,
        &router_ns,
        ROUTER_ID,
        vec![near4, near6, far_side(true, true), far6],
        // BIRD resolves the multihop next hops through its own tables.
        "protocol static { ipv4; route 10.255.3.0/24 via 10.255.2.2; }\n\
         protocol static { ipv6; route fd00:255:3::/64 via fd00:255:2::2; }",
    );

    // 1. Direct link, GTSM on both ends.
    let near_vipd = SecVipd::start(&near, "near", NEAR);
    let start = Instant::now();
    router
        .wait_route(near_v4, "198.18.1.1/32")
        .unwrap_or_else(|e| panic!("{kind}: near over IPv4 with GTSM: {e}"));
    router
        .wait_route(near_v6, "fd00:198:18:1::1/128")
        .unwrap_or_else(|e| panic!("{kind}: near over IPv6 with GTSM: {e}"));
    println!(
        "{kind}: direct link with GTSM on both ends: IPv4 and IPv6 sessions Established, \
         VIPs at the router, {:.1}s after start",
        start.elapsed().as_secs_f64()
    );
    let near_mark = Instant::now();

    // 2. Two hops away with a one-hop GTSM: refused.
    let far_vipd = SecVipd::start(&far, "far", &far_config(false, true, None, false));
    let quiet = quiet_window(&router, &far_vipd, router_far, far_addr, &[&far]);
    println!(
        "{kind}: far (two hops) with ttl_security: no session for {QUIET_WINDOW:?}; far's \
         kernel dropped {} segments below the minimum TTL; far logged {} lines, {} about \
         the router",
        quiet.drops.min_ttl, quiet.log_lines, quiet.peer_log_lines
    );
    assert!(
        quiet.drops.min_ttl > 0,
        "{kind}: far's kernel dropped nothing for its TTL, so the router never answered: \
         the window proves nothing"
    );

    // 3. The router connects to far, which only accepts.
    router.set_neighbor(far_side(true, false), ROUTER_ID);
    far_vipd.reload(&far_config(false, true, None, true));
    let quiet = quiet_window(&router, &far_vipd, router_far, far_addr, &[&far]);
    println!(
        "{kind}: far (two hops) with ttl_security, accepting: no session for \
         {QUIET_WINDOW:?}; far's kernel dropped {} segments below the minimum TTL; far \
         logged {} lines, {} about the router",
        quiet.drops.min_ttl, quiet.log_lines, quiet.peer_log_lines
    );
    // The handshake is the listener's, shared by every peer: vipd refuses
    // the accepted connection for the TTL its SYN arrived with.
    let refused: Vec<&String> = quiet
        .lines
        .iter()
        .filter(|l| l.contains("refused by GTSM") && l.contains("TTL 254"))
        .collect();
    println!(
        "{kind}: far: {} refusals, e.g. {:?}",
        refused.len(),
        refused.first()
    );
    assert!(
        !refused.is_empty(),
        "{kind}: far refused no connection for its TTL, so the router never connected: \
         the window proves nothing"
    );

    // 4. The same node with multihop = 2 and no GTSM: up.
    let mark = Instant::now();
    router.set_neighbor(far_side(false, true), ROUTER_ID);
    far_vipd.reload(&far_config(false, false, Some(2), false));
    let start = Instant::now();
    far_vipd
        .wait_new_session(router_far, mark)
        .unwrap_or_else(|e| panic!("{kind}: far with multihop 2: {e}"));
    router
        .wait_route(far_addr, "198.18.3.1/32")
        .unwrap_or_else(|e| panic!("{kind}: far with multihop 2: {e}"));
    println!(
        "{kind}: far with multihop = 2, no GTSM: Established, VIP at the router, {:.1}s \
         after the change",
        start.elapsed().as_secs_f64()
    );

    // 5. GTSM allowing two hops: up.
    let mark = Instant::now();
    router.set_neighbor(far_side(true, true), ROUTER_ID);
    far_vipd.reload(&far_config(false, true, Some(2), false));
    let start = Instant::now();
    far_vipd
        .wait_new_session(router_far, mark)
        .unwrap_or_else(|e| panic!("{kind}: far with GTSM over two hops: {e}"));
    router
        .wait_route(far_addr, "198.18.3.1/32")
        .unwrap_or_else(|e| panic!("{kind}: far with GTSM over two hops: {e}"));
    println!(
        "{kind}: far with ttl_security and multihop = 2: Established, {:.1}s after the change",
        start.elapsed().as_secs_f64()
    );

    // 6. Over IPv6, one hop allowed: refused.
    far_vipd.reload(&far_config(true, true, None, false));
    let quiet = quiet_window(&router, &far_vipd, router_far6, far6_addr, &[&far]);
    println!(
        "{kind}: far over IPv6 (two hops) with ttl_security: no session for \
         {QUIET_WINDOW:?}; far's kernel dropped {} segments below the minimum hop limit; \
         far logged {} lines, {} about the router",
        quiet.drops.min_ttl, quiet.log_lines, quiet.peer_log_lines
    );
    assert!(
        quiet.drops.min_ttl > 0,
        "{kind}: far's kernel dropped nothing for its hop limit over IPv6: the window \
         proves nothing"
    );

    // 7. Over IPv6 with two hops allowed: up.
    let mark = Instant::now();
    far_vipd.reload(&far_config(true, true, Some(2), false));
    let start = Instant::now();
    far_vipd
        .wait_new_session(router_far6, mark)
        .unwrap_or_else(|e| panic!("{kind}: far over IPv6 with GTSM over two hops: {e}"));
    router
        .wait_route(far6_addr, "fd00:198:18:3::1/128")
        .unwrap_or_else(|e| panic!("{kind}: far over IPv6 with GTSM over two hops: {e}"));
    println!(
        "{kind}: far over IPv6 with ttl_security and multihop = 2: Established, {:.1}s after \
         the change",
        start.elapsed().as_secs_f64()
    );

    // near never noticed any of it.
    assert!(router.established(near_v4) && router.established(near_v6));
    for router_addr in ["10.255.1.1", "fd00:255:1::1"] {
        near_vipd
            .unbroken_since(crate::ip(router_addr), near_mark)
            .unwrap_or_else(|e| panic!("{kind}: near: {e}"));
    }
}

const NEAR: &str = r#"# security_gtsm_refuses_a_peer_two_hops_away: near, GTSM on a direct link
[speaker]
asn = 65001
router_id = "10.255.1.2"
listen = "[::]:179"
hold_time = 9
connect_retry = 1
connect_retry_max = 4

[[peer]]
address = "10.255.1.1"
remote_asn = 65000
local_address = "10.255.1.2"
ttl_security = true

[[peer]]
address = "fd00:255:1::1"
remote_asn = 65000
local_address = "fd00:255:1::2"
ttl_security = true
passive = true

[[vip]]
prefix = "198.18.1.1/32"

[[vip]]
prefix = "fd00:198:18:1::1/128"
"#;

/// far's config: one peer, the router over IPv4 or over IPv6.
fn far_config(ipv6: bool, ttl_security: bool, multihop: Option<u8>, passive: bool) -> String {
    let (address, local) = if ipv6 {
        ("fd00:255:2::1", "fd00:255:3::2")
    } else {
        ("10.255.2.1", "10.255.3.2")
    };
    let multihop = multihop.map_or(String::new(), |h| format!("multihop = {h}\n"));
    let passive = if passive { "passive = true\n" } else { "" };
    format!(
        r#"# security_gtsm_refuses_a_peer_two_hops_away: far, two hops from the router
[speaker]
asn = 65001
router_id = "10.255.3.2"
listen = "[::]:179"
hold_time = 9
connect_retry = 1
connect_retry_max = 4

[[peer]]
address = "{address}"
remote_asn = 65000
local_address = "{local}"
ttl_security = {ttl_security}
{multihop}{passive}
[[vip]]
prefix = "198.18.3.1/32"

[[vip]]
prefix = "fd00:198:18:3::1/128"
"#
    )
}
