//! What a reload may change in place (the VIPs in OSPF and their costs) and
//! what restarts OSPF (everything else in `[ospf]`).

use std::collections::BTreeMap;

use tokio::sync::watch;

use crate::config::{OspfConfig, OspfExternalType, OspfInterface, OspfNetwork, OspfVipLsa};
use crate::ospf::Ospf;

fn config(vips: &[(&str, u32)]) -> OspfConfig {
    OspfConfig {
        router_id: "10.255.0.2".parse().unwrap(),
        area: "0.0.0.0".parse().unwrap(),
        vip_lsa: None,
        external_type: OspfExternalType::Type2,
        interfaces: vec![OspfInterface {
            name: "eth1".into(),
            network: OspfNetwork::PointToPoint,
            cost: 10,
            hello_interval: 1,
            dead_interval: 4,
            retransmit_interval: 5,
            auth: None,
            ipv6: true,
        }],
        vips: vips
            .iter()
            .map(|(p, c)| (p.parse().unwrap(), *c))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn running(c: OspfConfig) -> (Ospf, watch::Receiver<BTreeMap<ipnet::IpNet, u32>>) {
    let (vips, rx) = watch::channel(c.vips.clone());
    let (stop, _) = watch::channel(None);
    (
        Ospf {
            config: c,
            vips,
            stop,
        },
        rx,
    )
}

#[test]
fn vip_changes_apply_in_place_and_reach_the_running_instances() {
    let (mut ospf, mut rx) = running(config(&[("198.18.0.1/32", 1), ("198.18.0.2/32", 1)]));
    let new = config(&[("198.18.0.1/32", 50), ("fd00::3/128", 1)]);
    assert!(ospf.applies_in_place(&new));
    let changes = ospf.set_vips(&new);
    assert_eq!(
        changes,
        vec![
            "OSPF: VIP 198.18.0.1/32 cost 1 -> 50",
            "OSPF: VIP fd00::3/128 added (cost 1)",
            "OSPF: VIP 198.18.0.2/32 removed",
        ]
    );
    assert!(rx.has_changed().unwrap());
    assert_eq!(*rx.borrow_and_update(), new.vips);
    // The same again: nothing to report, nothing sent.
    assert!(ospf.set_vips(&new).is_empty());
    assert!(!rx.has_changed().unwrap());
}

#[test]
fn any_other_change_needs_a_restart() {
    let (ospf, _rx) = running(config(&[("198.18.0.1/32", 1)]));
    let base = config(&[("198.18.0.1/32", 1)]);
    let mut changed = Vec::new();
    let mut c = base.clone();
    c.router_id = "10.255.0.9".parse().unwrap();
    changed.push(c);
    let mut c = base.clone();
    c.vip_lsa = Some(OspfVipLsa::Stub);
    changed.push(c);
    let mut c = base.clone();
    c.external_type = OspfExternalType::Type1;
    changed.push(c);
    let mut c = base.clone();
    c.interfaces[0].hello_interval = 2;
    changed.push(c);
    let mut c = base.clone();
    c.interfaces.clear();
    changed.push(c);
    for c in changed {
        assert!(!ospf.applies_in_place(&c), "{c:?}");
    }
    assert!(ospf.applies_in_place(&base));
}
