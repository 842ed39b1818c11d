//! An exec check whose command hangs fails at its timeout: vipd kills the
//! command's whole process group (a grandchild included), withdraws the VIP
//! with the timeout as the cause, and leaves no process behind.
//!
//! ```text
//!                                  +-- node1: touch /etc/vipd/hang
//!   client ---- router (BIRD) -----+-- node2     198.18.0.12: exec check
//!                                  +-- node3     `if [ -e /etc/vipd/hang ];
//!                                                 then sleep 300 & sleep 300; fi`
//!                                                 interval 500 ms, timeout 300 ms
//! ```
//!
//! 1. Deploy `containerlab/anycast-ecmp-bird.clab.yml`; the router forwards
//!    198.18.0.12 to all three nodes.
//! 2. `touch /etc/vipd/hang` on node1: its next probe runs two `sleep 300`
//!    (one in the background) and never exits by itself.
//! 3. The router stops forwarding 198.18.0.12 to node1, and node1's vipd
//!    logged the withdrawal with the timeout as its cause.
//! 4. Remove the file: node1 comes back after `rise` passing probes (so every
//!    hung probe has been dealt with by then).
//! 5. No `sleep 300` is left in node1's namespace.

use std::time::SystemTime;

use crate::anycast::{AnycastLab, CHANGE_DEADLINE, NODES, VIP_SCRIPT, ms_between};
use crate::harness::RouterKind;

const HANG: &str = "hang";

#[test]
fn hung_exec_check_is_killed_at_its_timeout_and_withdraws_its_vip() {
    let kind = RouterKind::Bird;
    let lab = AnycastLab::up(kind);
    lab.wait_forwarding(VIP_SCRIPT, &NODES, CHANGE_DEADLINE)
        .unwrap_or_else(|e| panic!("{kind} before the hang: {e}"));
    let mark = lab.deployment.vipd("node1").log_len();

    let hung = lab.touch("node1", HANG);
    lab.wait_forwarding(VIP_SCRIPT, &["node2", "node3"], CHANGE_DEADLINE)
        .unwrap_or_else(|e| panic!("{kind}: a hung check must withdraw {VIP_SCRIPT}: {e}"));
    let gone = SystemTime::now();
    let log = lab.deployment.vipd("node1").log();
    let since = log.get(mark..).unwrap_or_default();
    let withdrawn = since
        .lines()
        .find(|l| l.contains("VIP down: withdrawn") && l.contains(&format!("prefix={VIP_SCRIPT}")))
        .unwrap_or_else(|| panic!("node1's vipd logged no withdrawal of {VIP_SCRIPT}:\n{since}"));
    println!(
        "{kind}: {VIP_SCRIPT} left node1 within {:.0} ms of the touch (polled every 250 ms); \
         node1's vipd: {withdrawn}",
        ms_between(hung, gone)
    );
    assert!(
        withdrawn.contains("timeout"),
        "the withdrawal must name the timeout as its cause: {withdrawn}"
    );

    lab.remove("node1", HANG);
    lab.wait_forwarding(VIP_SCRIPT, &NODES, CHANGE_DEADLINE)
        .unwrap_or_else(|e| panic!("{kind} after the hang ended: {e}"));
    let processes = lab
        .ns("node1")
        .processes()
        .unwrap_or_else(|e| panic!("{e}"));
    let left: Vec<&(u32, String)> = processes
        .iter()
        .filter(|(_, command)| command.contains("sleep"))
        .collect();
    assert!(
        left.is_empty(),
        "the hung check's processes outlived their probe: {left:?}"
    );
    let timeouts = lab
        .deployment
        .vipd("node1")
        .log()
        .get(mark..)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("timeout after"))
        .count();
    println!(
        "{kind}: {timeouts} probe(s) timed out and were killed; node1's namespace runs {:?}",
        processes
            .iter()
            .map(|(_, c)| c.as_str())
            .collect::<Vec<_>>()
    );
}
