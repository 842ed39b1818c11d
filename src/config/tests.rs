//! Tests for the config module.
use super::*;

#[test]
fn explore() {
    let cases = [
        "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\nfoo = 1\n",
        "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\n[[peer]]\naddress = \"10.0.0.2\"\nremote_asm = 1\n",
        "[speaker]\nasn = \"65001\"\nrouter_id = \"10.0.0.1\"\n",
        "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\n[check.web]\nx = 1\n",
        "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\npeer = 5\n",
        "peer = 5\n",
        "speaker = 5\n",
        "[speaker]\nasn = 65001\nrouter_id = 10.0.0.1\n",
        "[speaker\nasn = 65001\n",
        "[speaker]\nasn = 65001\nasn = 2\n",
        "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\n[[vip]]\nprefix = \"1.2.3.4\"\ncommunities = \"x\"\n",
        "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\n[[vip]]\nprefix = \"1.2.3.4\"\ncommunities = [1]\n",
        "[speaker]\nasn = 1979-05-27\nrouter_id = \"10.0.0.1\"\n",
        "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\n[[peer]]\n[[vip]]\n",
        "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\npassive = true\n",
        "",
        "[speaker]\nasn = 99999999999999999999\n",
        "[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\n[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 65001\nmultihop = 2\npassive = true\n",
    ];
    for c in cases {
        println!("---\n{c}=> {}", parse(c, "vipd.toml").map(|_| "OK".to_string()).unwrap_or_else(|e| e.to_string()));
    }
}
