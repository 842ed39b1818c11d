//! `[[vip]] interface = "lo"`: vipd puts the VIP's address on the interface
//! at start and takes it away at exit, after the withdrawal; an address that
//! was already there is left alone at both ends.
//!
//! ```text
//!   node (vipd, no peers): lo gets 198.18.0.20/32 and fd00:198:18::20/128
//! ```
//!
//! 1. Put 198.18.0.21/32 on lo by hand (pre-existing).
//! 2. Start vipd with VIPs .20, .21 and ::20, each with `interface = "lo"`.
//! 3. All three addresses are on lo.
//! 4. SIGTERM: vipd exits 0; .20 and ::20 are gone, .21 (not vipd's) stays.

use std::time::Duration;

use crate::harness::{Lab, Vipd, require_root, wait_until};

fn lo_addresses(ns: &crate::harness::Netns) -> String {
    ns.ip(&["-o", "addr", "show", "dev", "lo"])
        .map(|o| o.stdout)
        .unwrap_or_default()
}

#[test]
fn vip_addresses_come_and_go_with_vipd_and_foreign_ones_stay() {
    require_root();
    let lab = Lab::new();
    let ns = lab.add_netns("node");
    ns.ip(&["link", "set", "lo", "up"]).unwrap();
    ns.ip(&["addr", "add", "198.18.0.21/32", "dev", "lo"])
        .unwrap();
    let config = lab.dir().join("vipd.toml");
    std::fs::write(
        &config,
        r#"
[speaker]
asn = 65001
router_id = "10.255.70.2"

[[vip]]
prefix = "198.18.0.20/32"
interface = "lo"
[[vip]]
prefix = "198.18.0.21/32"
interface = "lo"
[[vip]]
prefix = "fd00:198:18::20/128"
interface = "lo"
"#,
    )
    .unwrap();
    let mut vipd = Vipd::new(ns.clone(), "node", config);
    vipd.start().unwrap();
    wait_until(Duration::from_secs(10), || {
        let a = lo_addresses(&ns);
        for want in ["198.18.0.20/32", "198.18.0.21/32", "fd00:198:18::20/128"] {
            if !a.contains(want) {
                return Err(format!("{want} not on lo yet: {a}"));
            }
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", vipd.log()));

    let (status, took) = vipd.terminate().unwrap();
    assert!(status.success(), "vipd exited {status:?}\n{}", vipd.log());
    println!("vipd stopped in {took:?}");
    let a = lo_addresses(&ns);
    assert!(!a.contains("198.18.0.20/32"), "vipd left its address: {a}");
    assert!(
        !a.contains("fd00:198:18::20/128"),
        "vipd left its address: {a}"
    );
    assert!(
        a.contains("198.18.0.21/32"),
        "vipd removed an address it did not add: {a}"
    );
}
