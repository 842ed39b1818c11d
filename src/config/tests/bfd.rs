//! `[[peer]]` BFD keys: `bfd`, `bfd_min_interval`, `bfd_multiplier`.

use super::*;

/// A peer whose table starts on line 4; `body` starts on line 7.
fn peer(body: &str) -> String {
    with_speaker(&format!(
        "[[peer]]\naddress = \"10.255.1.1\"\nremote_asn = 65000\n{body}"
    ))
}

fn the_bfd(text: &str) -> Option<BfdConfig> {
    let config = ok(text);
    assert_eq!(config.peers.len(), 1, "{config:#?}");
    config.peers[0].bfd
}

#[test]
fn bfd_is_off_unless_asked_for() {
    assert_eq!(the_bfd(&peer("")), None);
    assert_eq!(the_bfd(&peer("bfd = false\nbfd_multiplier = 5\n")), None);
}

#[test]
fn bfd_on_gets_50ms_times_3_by_default() {
    assert_eq!(
        the_bfd(&peer("bfd = true\n")),
        Some(BfdConfig {
            min_interval: Duration::from_millis(50),
            multiplier: 3,
        })
    );
}

#[test]
fn bfd_timers_are_taken_as_written() {
    assert_eq!(
        the_bfd(&peer(
            "bfd = true\nbfd_min_interval = \"300ms\"\nbfd_multiplier = 5\n"
        )),
        Some(BfdConfig {
            min_interval: Duration::from_millis(300),
            multiplier: 5,
        })
    );
}

#[test]
fn bfd_timers_out_of_range_are_refused_even_with_bfd_off() {
    assert_eq!(
        errors(&peer("bfd_min_interval = \"5ms\"\nbfd_multiplier = 0\n")),
        [
            "vipd.toml:7:20: peer[0].bfd_min_interval: 5ms is below the minimum of 10ms",
            "vipd.toml:8:18: peer[0].bfd_multiplier: 0 is out of range (1..=255)",
        ]
    );
    assert_eq!(
        errors(&peer("bfd = true\nbfd_min_interval = \"2m\"\n")),
        ["vipd.toml:8:20: peer[0].bfd_min_interval: 2m is too long for BFD (at most 1m)"]
    );
    assert_eq!(
        errors(&peer("bfd = true\nbfd_min_interval = \"fast\"\n")),
        [
            "vipd.toml:8:20: peer[0].bfd_min_interval: \"fast\" is not a duration \
             (e.g. \"500ms\", \"2s\", \"1m\")"
        ]
    );
}

#[test]
fn bfd_is_single_hop_only() {
    assert_eq!(
        errors(&peer("multihop = 2\nbfd = true\n")),
        [
            "vipd.toml:8:7: peer[0].bfd: BFD here is single-hop (RFC 5881) but this peer \
             is multihop = 2; multihop BFD (RFC 5883) is not supported"
        ]
    );
    assert!(the_bfd(&peer("multihop = 1\nbfd = true\n")).is_some());
}
