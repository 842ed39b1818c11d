//! A lossy, slow link: 10% of frames lost and 200 ms of delay each way, for
//! 60 s. BGP runs over TCP, which retransmits what is lost; with a 9 s hold
//! time and KEEPALIVEs every 3 s, a session survives unless TCP fails to get
//! one message through for 9 s, which at 10% loss per frame (and RTO
//! backoff from ~0.6 s) takes several losses of the same segment in a row.
//! Against BIRD and FRR.
//!
//! Must never happen:
//! - a session reset (vipd logs no `session closed`, the router's session
//!   stays Established at every look);
//! - an UPDATE that never gets through: a second VIP added (by `vipd
//!   reload`) a third of the way in reaches the router, and its withdrawal
//!   at two thirds does too, within the window;
//! - a lost VIP: the router has it at every look (every 2 s for 60 s);
//! - a panic, or vipd exiting.
//!
//! ```text
//!   node (vipd) eth1 --- eth1 [mid: 10% loss, +200 ms] eth2 --- eth1 router
//! ```
//!
//! The kernel here has no `sch_netem`, so the impairment is
//! [`Impairment`], a userspace relay in the middle namespace; if
//! `tc qdisc add ... netem` works (some CI kernels have it), netem is used
//! instead, on both of mid's interfaces with a bridge between them. Which
//! one ran is printed. The relay itself is tested first: frames pass, the
//! loss ratio is about 10% over 2000 datagrams, and none arrives sooner
//! than the delay.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::chaos_lab::{ChaosLab, Link, ROUTER_ADDR, VIP, timed_peer_lines, vipd_config};
use crate::harness::impair::{Impairment, enter_netns};
use crate::harness::{Lab, Netns, RouterKind};

const LOSS: f64 = 0.10;
const DELAY: Duration = Duration::from_millis(200);
/// How long the sessions run over the impaired link.
const OBSERVE: Duration = Duration::from_secs(60);
const LOOK_EVERY: Duration = Duration::from_secs(2);
const HOLD_TIME: u16 = 9;
/// Datagrams sent through the relay in its own test.
const DATAGRAMS: usize = 2000;
const UDP_PORT: u16 = 40_179;

#[test]
fn chaos_impairment_relay_drops_about_ten_percent_and_delays_every_frame() {
    let lab = Lab::new();
    let a = lab.add_netns("a");
    let mid = lab.add_netns("mid");
    let b = lab.add_netns("b");
    lab.link(&a, "eth1", &mid, "eth1");
    lab.link(&mid, "eth2", &b, "eth1");
    a.ip(&["addr", "add", "10.255.2.1/24", "dev", "eth1"])
        .unwrap_or_else(|e| panic!("{e}"));
    b.ip(&["addr", "add", "10.255.2.2/24", "dev", "eth1"])
        .unwrap_or_else(|e| panic!("{e}"));
    // Static neighbours: ARP through a lossy relay would lose datagrams of
    // its own, and the count must be the relay's loss alone.
    pin_neighbor(&a, "10.255.2.2", &b);
    pin_neighbor(&b, "10.255.2.1", &a);
    let relay =
        Impairment::start(&mid, "eth1", "eth2", LOSS, DELAY, 7).unwrap_or_else(|e| panic!("{e}"));

    let received: Arc<Mutex<Vec<(usize, Instant)>>> = Arc::default();
    let receiver = {
        let received = received.clone();
        let ns = b.name.clone();
        thread::spawn(move || -> Result<(), String> {
            enter_netns(&ns)?;
            let sock = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, UDP_PORT))
                .map_err(|e| format!("bind: {e}"))?;
            sock.set_read_timeout(Some(Duration::from_secs(3)))
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 16];
            // Ends 3 s after the last datagram arrived.
            while let Ok(n) = sock.recv(&mut buf) {
                if n >= 8 {
                    let seq = u64::from_be_bytes(buf[..8].try_into().unwrap_or_default());
                    received
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((seq as usize, Instant::now()));
                }
            }
            Ok(())
        })
    };
    // Let the receiver bind before the first datagram.
    thread::sleep(Duration::from_millis(300));
    let sent_at: Vec<Instant> = {
        let ns = a.name.clone();
        thread::spawn(move || -> Result<Vec<Instant>, String> {
            enter_netns(&ns)?;
            let sock = UdpSocket::bind("10.255.2.1:0").map_err(|e| format!("bind: {e}"))?;
            let mut sent = Vec::with_capacity(DATAGRAMS);
            for seq in 0..DATAGRAMS as u64 {
                sent.push(Instant::now());
                sock.send_to(&seq.to_be_bytes(), ("10.255.2.2", UDP_PORT))
                    .map_err(|e| format!("send: {e}"))?;
                thread::sleep(Duration::from_millis(1));
            }
            Ok(sent)
        })
        .join()
        .unwrap_or_else(|_| Err("the sender panicked".to_string()))
        .unwrap_or_else(|e| panic!("{e}"))
    };
    receiver
        .join()
        .unwrap_or_else(|_| Err("the receiver panicked".to_string()))
        .unwrap_or_else(|e| panic!("{e}"));
    let received = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let stats = relay.stats();
    drop(relay);

    let ratio = received.len() as f64 / DATAGRAMS as f64;
    let delays: Vec<Duration> = received
        .iter()
        .filter_map(|(seq, at)| sent_at.get(*seq).map(|s| at.duration_since(*s)))
        .collect();
    let min = delays.iter().min().copied().unwrap_or_default();
    let max = delays.iter().max().copied().unwrap_or_default();
    println!(
        "relay: {} of {DATAGRAMS} datagrams arrived ({:.1}%), one-way delay {min:?}..{max:?}; \
         a->b {:?}, b->a {:?}",
        received.len(),
        ratio * 100.0,
        stats[0],
        stats[1]
    );
    // Binomial: 2000 trials at 10% has a standard deviation of 0.67%, so
    // +-5 points is over 7 of them.
    assert!(
        (0.85..=0.95).contains(&ratio),
        "relay: {:.1}% of the datagrams arrived, expected about {:.0}%",
        ratio * 100.0,
        (1.0 - LOSS) * 100.0
    );
    assert!(
        min >= DELAY,
        "relay: a datagram arrived {min:?} after it was sent, sooner than the {DELAY:?} delay"
    );
    assert!(
        stats[0].dropped > 0 && stats[0].sent >= received.len() as u64,
        "relay: its counters do not match what arrived: {:?}",
        stats[0]
    );
}

#[test]
fn chaos_bird_session_survives_ten_percent_loss_and_200ms_delay() {
    loss_and_delay(RouterKind::Bird);
}

#[test]
fn chaos_frr_session_survives_ten_percent_loss_and_200ms_delay() {
    loss_and_delay(RouterKind::Frr);
}

/// What impairs the link between the node and the router.
enum Impaired {
    Netem,
    Relay(Impairment),
}

/// Added and removed while the link is impaired.
const EXTRA_VIP: &str = "198.18.1.2/32";

fn config_with_extra(extra: bool) -> String {
    let mut vips = format!("[[vip]]\nprefix = \"{VIP}\"\n");
    if extra {
        vips.push_str(&format!("\n[[vip]]\nprefix = \"{EXTRA_VIP}\"\n"));
    }
    vipd_config("chaos_loss_delay", HOLD_TIME, 8, &vips)
}

fn loss_and_delay(kind: RouterKind) {
    let config = config_with_extra(false);
    let mut impaired = None;
    let lab = ChaosLab::up(
        kind,
        Link::Through,
        |_| config,
        |_, mid| {
            let mid = mid.unwrap_or_else(|| panic!("Link::Through has a middle namespace"));
            impaired = Some(impair(mid));
        },
    );
    let impaired = impaired.unwrap_or_else(|| panic!("no impairment was set up"));
    match &impaired {
        Impaired::Netem => println!("{kind}: impairment by tc netem"),
        Impaired::Relay(_) => {
            println!("{kind}: no netem qdisc in this kernel; impairment by the userspace relay")
        }
    }
    let start = Instant::now();
    lab.wait_vip("over the impaired link");
    println!(
        "{kind}: session up and VIP at the router {:.1}s after start over the impaired link",
        start.elapsed().as_secs_f64()
    );

    let mark = lab.vipd.vipd.log_len();
    let router = crate::ip(ROUTER_ADDR);
    let watch = Instant::now();
    let mut looks = 0;
    // UPDATEs must cross the lossy link too, not only KEEPALIVEs: a second
    // VIP is added a third of the way in and removed at two thirds, and the
    // router must see both changes.
    let mut extra: Option<bool> = None;
    let mut extra_seen = [None, None];
    while watch.elapsed() < OBSERVE {
        thread::sleep(LOOK_EVERY);
        looks += 1;
        lab.vip_at_router().unwrap_or_else(|e| {
            panic!(
                "{kind}: {:.1}s into the impairment the VIP is not at the router: {e}",
                watch.elapsed().as_secs_f64()
            )
        });
        let at = watch.elapsed();
        if extra.is_none() && at >= OBSERVE / 3 {
            lab.vipd.reload(&config_with_extra(true));
            extra = Some(true);
        } else if extra == Some(true) && at >= OBSERVE * 2 / 3 {
            lab.vipd.reload(&config_with_extra(false));
            extra = Some(false);
        }
        let has = lab
            .router_has(EXTRA_VIP)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        match extra {
            Some(true) if has && extra_seen[0].is_none() => extra_seen[0] = Some(at),
            Some(false) if !has && extra_seen[1].is_none() => extra_seen[1] = Some(at),
            _ => {}
        }
    }
    println!(
        "{kind}: {EXTRA_VIP} added at {:?}, at the router by the look at {:?}; removed at \
         {:?}, gone from the router by the look at {:?}",
        OBSERVE / 3,
        extra_seen[0],
        OBSERVE * 2 / 3,
        extra_seen[1]
    );
    assert!(
        extra_seen.iter().all(Option::is_some),
        "{kind}: an UPDATE did not cross the impaired link within the window: \
         {EXTRA_VIP} announced seen {:?}, withdrawn seen {:?}",
        extra_seen[0],
        extra_seen[1]
    );
    let closed = timed_peer_lines(&lab, mark, "session closed", router);
    if let Impaired::Relay(relay) = &impaired {
        let [to_router, to_node] = relay.stats();
        println!("{kind}: relay node->router {to_router:?}, router->node {to_node:?}");
        assert!(
            to_router.dropped > 0 && to_node.dropped > 0,
            "{kind}: the relay dropped nothing, so the link was not impaired"
        );
    }
    println!(
        "{kind}: {looks} looks over {OBSERVE:?}: session Established and VIP at the router \
         every time; vipd session resets: {}",
        closed.len()
    );
    assert!(
        closed.is_empty(),
        "{kind}: the session reset under 10% loss and 200 ms delay: {closed:?}"
    );
    lab.assert_vipd_healthy();
}

/// netem on both of mid's interfaces, bridged; else the userspace relay.
fn impair(mid: &Netns) -> Impaired {
    let netem = |dev: &str| {
        mid.exec_unchecked(
            "tc",
            &[
                "qdisc", "add", "dev", dev, "root", "netem", "loss", "10%", "delay", "200ms",
            ],
        )
        .map(|o| o.status.success())
        .unwrap_or(false)
    };
    if netem("eth1") && netem("eth2") {
        let steps: [&[&str]; 4] = [
            &["link", "add", "br0", "type", "bridge"],
            &["link", "set", "eth1", "master", "br0"],
            &["link", "set", "eth2", "master", "br0"],
            &["link", "set", "br0", "up"],
        ];
        for step in steps {
            mid.ip(step).unwrap_or_else(|e| panic!("{e}"));
        }
        return Impaired::Netem;
    }
    Impaired::Relay(
        Impairment::start(mid, "eth1", "eth2", LOSS, DELAY, 1).unwrap_or_else(|e| panic!("{e}")),
    )
}

/// A permanent neighbour entry in `ns` for `addr`, with the MAC of `owner`'s
/// eth1.
fn pin_neighbor(ns: &Netns, addr: &str, owner: &Netns) {
    let out = owner
        .ip(&["-j", "link", "show", "eth1"])
        .unwrap_or_else(|e| panic!("{e}"));
    let links: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("ip -j link: {e}"));
    let mac = links[0]["address"]
        .as_str()
        .unwrap_or_else(|| panic!("no MAC in {}", out.stdout));
    ns.ip(&[
        "neigh",
        "replace",
        addr,
        "lladdr",
        mac,
        "dev",
        "eth1",
        "nud",
        "permanent",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
}
