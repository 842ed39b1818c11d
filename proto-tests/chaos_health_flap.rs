//! A health check whose target flips faster than rise/fall can follow: a
//! `file` check with rise 3 and fall 3, its file created and removed every
//! probe interval for 20 s. Against BIRD and FRR.
//!
//! Must never happen:
//! - route flapping beyond what rise/fall allow: no probe streak reaches 3,
//!   so the check never changes state (vipd logs no `check up`/`check down`)
//!   and the router sees no UPDATE for the VIP during the flapping (counted
//!   on the router's interface with tcpdump). The toggling thread's own
//!   timing is recorded: a gap of 2.5 intervals or more (a stalled test on
//!   a busy machine) could let 3 probes agree, and each such gap allows one
//!   transition (and two UPDATEs); the count of those gaps is printed;
//! - a check that does not drive the route at all (which would pass the
//!   above trivially): vipd logged failed probes during the flapping, and
//!   removing the file for good withdraws the VIP;
//! - a lost VIP: after the flapping (file present) the VIP is still at the
//!   router.
//!
//! `fast_interval` is set to the interval: by default vipd probes 4 times
//! faster while a change is pending, and a target flipping once per
//! interval would then look steady to it.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::chaos_lab::{ChaosLab, GONE_DEADLINE, Link, VIP, VIPD_ADDR, lines_since, vipd_config};
use crate::harness::pcap;
use crate::harness::{Capture, RouterKind, wait_until};

const INTERVAL: Duration = Duration::from_millis(500);
const FLAPPING: Duration = Duration::from_secs(20);
const RISE_FALL: u32 = 3;

#[test]
fn chaos_flapping_check_sends_bird_no_update_beyond_rise_fall() {
    flapping_check(RouterKind::Bird);
}

#[test]
fn chaos_flapping_check_sends_frr_no_update_beyond_rise_fall() {
    flapping_check(RouterKind::Frr);
}

fn vips(file: &Path) -> String {
    format!(
        r#"[[vip]]
prefix = "{VIP}"
checks = ["flappy"]

[check.flappy]
kind = "file"
path = "{}"
healthy_when = "present"
on_fail = "withdraw"
interval = "{}ms"
fast_interval = "{}ms"
timeout = "100ms"
rise = {RISE_FALL}
fall = {RISE_FALL}
"#,
        file.display(),
        INTERVAL.as_millis(),
        INTERVAL.as_millis()
    )
}

fn flapping_check(kind: RouterKind) {
    let mut file = std::path::PathBuf::new();
    let lab = ChaosLab::up(
        kind,
        Link::Direct,
        |lab| {
            file = lab.dir().join("flappy.present");
            vipd_config("chaos_health_flap", 9, 4, &vips(&file))
        },
        |_, _| {},
    );
    std::fs::write(&file, b"").unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    lab.wait_vip("with the file present");

    let capture =
        Capture::start(&lab.router_ns, "eth1", "router-bgp").unwrap_or_else(|e| panic!("{e}"));
    let mark = lab.vipd.vipd.log_len();
    let start = Instant::now();
    let mut toggles = Vec::new();
    let mut present = true;
    while start.elapsed() < FLAPPING {
        thread::sleep(INTERVAL);
        present = !present;
        if present {
            std::fs::write(&file, b"")
        } else {
            std::fs::remove_file(&file)
        }
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        toggles.push(Instant::now());
    }
    if !present {
        std::fs::write(&file, b"").unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        toggles.push(Instant::now());
    }
    // Any transition the last flips caused would show within rise probes.
    thread::sleep(INTERVAL * (RISE_FALL + 1));
    let pcap = capture.stop();

    let stalls = toggles
        .windows(2)
        .filter(|w| w[1].duration_since(w[0]) >= INTERVAL * 5 / 2)
        .count();
    let vip: IpNet = VIP.parse().unwrap_or_else(|e| panic!("{e}"));
    let updates: Vec<pcap::Update> = pcap::updates(&pcap)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|u| {
            u.from == crate::ip(VIPD_ADDR)
                && (u.announced.contains(&vip) || u.withdrawn.contains(&vip))
        })
        .collect();
    let transitions: Vec<String> = lines_since(&lab, mark, "check=flappy")
        .into_iter()
        .filter(|l| l.contains("check up") || l.contains("check down"))
        .collect();
    let failed_probes = lines_since(&lab, mark, "probe failed")
        .into_iter()
        .filter(|l| l.contains("check=flappy"))
        .count();
    println!(
        "{kind}: {} flips in {FLAPPING:?} (interval {INTERVAL:?}, rise/fall {RISE_FALL}); \
         toggler stalls >= 2.5 intervals: {stalls}; failed probes logged: {failed_probes}; \
         check transitions: {}; UPDATEs for {VIP} at the router: {}",
        toggles.len(),
        transitions.len(),
        updates.len()
    );
    assert!(
        failed_probes >= 5,
        "{kind}: vipd logged only {failed_probes} failed probes while the file flipped: \
         the check did not see the flapping"
    );
    assert!(
        transitions.len() <= stalls,
        "{kind}: the check changed state {} times with no streak of {RISE_FALL} possible \
         ({stalls} stalls of the toggler):\n{}",
        transitions.len(),
        transitions.join("\n")
    );
    assert!(
        updates.len() <= 2 * stalls,
        "{kind}: the router got {} UPDATEs for {VIP} while the check flapped faster than \
         rise/fall ({stalls} stalls of the toggler): {updates:#?}",
        updates.len()
    );
    lab.vip_at_router()
        .unwrap_or_else(|e| panic!("{kind}: after the flapping: {e}"));

    // The check does drive the route: the file gone for good withdraws it.
    std::fs::remove_file(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let removed = Instant::now();
    wait_until(GONE_DEADLINE, || lab.vip_gone())
        .unwrap_or_else(|e| panic!("{kind}: the VIP stayed with its check down: {e}"));
    println!(
        "{kind}: file removed for good: VIP withdrawn {:.1}s later (fall {RISE_FALL} x \
         {INTERVAL:?})",
        removed.elapsed().as_secs_f64()
    );
    lab.assert_vipd_healthy();
}
