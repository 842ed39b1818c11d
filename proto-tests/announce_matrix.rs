//! Every VIP reaches the router over every session with the attributes vipd
//! was configured with: router x {eBGP, iBGP} x {IPv4, IPv6 transport} x
//! {/32, /128}, against each of BIRD, FRR and GoBGP.
//!
//! ```text
//!   vipd-ebgp (AS 65001) --eth1-- router (AS 65000) --eth2-- vipd-ibgp (AS 65000)
//!   2 sessions (v4, v6 transport)                      2 sessions (v4, v6 transport)
//!   VIPs /32 + /128                                    VIPs /32 + /128
//! ```
//!
//! 1. Deploy `containerlab/interop-<router>.clab.yml`: router, then both vipds.
//! 2. The router shows all four sessions Established.
//! 3. For each of the 8 cells the router shows the VIP from that session with
//!    the expected next hop, AS path, origin, MED, communities, large
//!    communities and (iBGP) LOCAL_PREF (see `interop.rs` for the rules).
//! 4. Print the matrix of cells checked.

use crate::clab::Deployment;
use crate::harness::RouterKind;
use crate::interop::{Cell, Role, VipdNode, topology, wait_cells, wait_sessions};

#[test]
fn every_cell_shows_on_bird_with_its_attributes() {
    every_cell_shows_with_its_attributes(RouterKind::Bird);
}

#[test]
fn every_cell_shows_on_frr_with_its_attributes() {
    every_cell_shows_with_its_attributes(RouterKind::Frr);
}

#[test]
fn every_cell_shows_on_gobgp_with_its_attributes() {
    every_cell_shows_with_its_attributes(RouterKind::Gobgp);
}

fn every_cell_shows_with_its_attributes(kind: RouterKind) {
    let nodes = Role::ALL.map(|role| VipdNode::load(kind, role));
    let cells: Vec<Cell> = nodes.iter().flat_map(|n| n.cells(kind)).collect();
    assert_eq!(
        cells.len(),
        8,
        "the matrix has 2 roles x 2 transports x 2 VIPs"
    );

    let lab = Deployment::up(topology(kind));
    wait_sessions(&lab, &nodes.iter().collect::<Vec<_>>())
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    wait_cells(&lab, &cells).unwrap_or_else(|e| panic!("{kind} matrix: {e}"));

    println!("{kind} announce matrix: {} cells", cells.len());
    for cell in &cells {
        let e = &cell.expected;
        println!(
            "  ok  {}  nh {}  path {:?}  med {:?}  lp {:?}  {:?} {:?}",
            cell.label(),
            e.next_hop,
            e.as_path,
            e.med,
            e.local_pref,
            e.communities,
            e.large_communities
        );
    }
}
