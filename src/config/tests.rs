//! Every rule with its exact message, the examples, and a no-panic property.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;

use super::*;

mod bfd;
mod check_kinds;
mod checks;
mod operator;
mod reference;

const FULL: &str = include_str!("../../configs/examples/full.toml");
const MINIMAL: &str = include_str!("../../configs/examples/minimal.toml");

/// Three lines; what `with_speaker` appends starts on line 4.
const SPEAKER: &str = "[speaker]\nasn = 65001\nrouter_id = \"10.255.1.2\"\n";

fn with_speaker(rest: &str) -> String {
    format!("{SPEAKER}{rest}")
}

fn errors(text: &str) -> Vec<String> {
    match parse(text, "vipd.toml") {
        Ok(config) => panic!("expected errors, got {config:#?}"),
        Err(ConfigErrors(errors)) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn ok(text: &str) -> Config {
    parse(text, "vipd.toml").unwrap_or_else(|e| panic!("expected a valid config, got:\n{e}"))
}

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs/examples")
        .join(name)
}

// ---------------------------------------------------------------------------
// Examples and defaults

#[test]
fn the_full_example_loads_to_the_expected_config() {
    let config = load(&example("full.toml")).unwrap_or_else(|e| panic!("{e}"));
    let expected = Config {
        speaker: Speaker {
            asn: 65001,
            router_id: Ipv4Addr::new(10, 255, 1, 2),
            listen: Some("0.0.0.0:179".parse().unwrap()),
            hold_time: 90,
            connect_retry: Duration::from_secs(5),
            connect_retry_max: Duration::from_secs(120),
            graceful_restart_time: Some(120),
            startup_delay: Some(Duration::from_secs(5)),
            shutdown_drain: false,
            control_socket: Some(PathBuf::from("/run/vipd/vipd.sock")),
            metrics: Some("127.0.0.1:9179".parse().unwrap()),
        },
        peers: vec![
            PeerConfig {
                name: "tor1".into(),
                description: Some("top-of-rack switch, rack 12".into()),
                address: IpAddr::V4(Ipv4Addr::new(10, 255, 1, 1)),
                remote_asn: 65000,
                local_asn: 65001,
                local_address: Some(IpAddr::V4(Ipv4Addr::new(10, 255, 1, 2))),
                port: 179,
                hold_time: 9,
                passive: false,
                multihop: Some(1),
                next_hop_ipv4: Some(Ipv4Addr::new(10, 255, 1, 2)),
                next_hop_ipv6: Some("fd00::2".parse().unwrap()),
                connect_retry: Duration::from_secs(5),
                connect_retry_max: Duration::from_secs(120),
                enabled: true,
                bfd: Some(BfdConfig {
                    min_interval: Duration::from_millis(50),
                    multiplier: 3,
                }),
                password: Some("s3cret".into()),
                ttl_security: true,
                tcp_ao: vec![],
                max_prefixes: Some(100),
                max_prefixes_restart: Duration::from_secs(60),
                send_hold_time: None,
            },
            PeerConfig {
                name: "rr1".into(),
                description: None,
                address: "fd00:255::1".parse().unwrap(),
                remote_asn: 65001,
                local_asn: 65001,
                local_address: None,
                port: 179,
                hold_time: 90,
                passive: true,
                multihop: None,
                next_hop_ipv4: None,
                next_hop_ipv6: None,
                connect_retry: Duration::from_secs(5),
                connect_retry_max: Duration::from_secs(120),
                enabled: true,
                bfd: None,
                password: None,
                ttl_security: false,
                tcp_ao: vec![],
                max_prefixes: Some(crate::config::DEFAULT_MAX_PREFIXES),
                max_prefixes_restart: crate::config::DEFAULT_MAX_PREFIXES_RESTART,
                send_hold_time: None,
            },
        ],
        vips: vec![
            VipConfig {
                name: "web".into(),
                prefix: "198.18.0.10/32".parse().unwrap(),
                count: 1,
                communities: vec![Community::new(65000, 100), Community::new(65000, 200)],
                large_communities: vec!["65000:1:1".parse().unwrap()],
                med: Some(10),
                local_pref: Some(100),
                as_path_prepend: 0,
                checks: vec!["web".into(), "maintenance".into()],
                check_policy: CheckPolicy::All,
                hold_down: Some(Duration::from_secs(30)),
                drain_time: Duration::from_secs(10),
                drain_med: Some(1000),
                drain_prepend: 3,
                interface: Some("lo".into()),
                ospf: false,
                ospf_cost: None,
            },
            VipConfig {
                name: "2001:db8:ffff::10/128".into(),
                prefix: "2001:db8:ffff::10/128".parse().unwrap(),
                count: 1,
                communities: vec![],
                large_communities: vec![],
                med: None,
                local_pref: None,
                as_path_prepend: 0,
                checks: vec![],
                check_policy: CheckPolicy::All,
                hold_down: None,
                drain_time: Duration::from_secs(10),
                drain_med: None,
                drain_prepend: 0,
                interface: None,
                ospf: true,
                ospf_cost: Some(10),
            },
        ],
        checks: full_example_checks(),
        ospf: Some(OspfConfig {
            router_id: Ipv4Addr::new(10, 255, 1, 2),
            area: Ipv4Addr::UNSPECIFIED,
            vip_lsa: Some(OspfVipLsa::External),
            external_type: OspfExternalType::Type2,
            interfaces: vec![OspfInterface {
                name: "eth1".into(),
                network: OspfNetwork::PointToPoint,
                cost: 10,
                hello_interval: 10,
                dead_interval: 40,
                retransmit_interval: 5,
                auth: Some(OspfAuth {
                    algorithm: OspfAuthAlgorithm::HmacSha256,
                    key_id: 1,
                    key: b"change-me".to_vec(),
                }),
                ipv6: true,
            }],
            // The web VIP says `ospf = false`.
            vips: BTreeMap::from([("2001:db8:ffff::10/128".parse().unwrap(), 10)]),
        }),
    };
    assert_eq!(config, expected);
    assert_eq!(parse(FULL, "full.toml"), Ok(expected));
}

/// The `[check.NAME]` tables of `full.toml`.
fn full_example_checks() -> BTreeMap<String, CheckConfig> {
    let common = |name: &str, kind: CheckKind| CheckConfig {
        name: name.into(),
        kind,
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(500),
        rise: 2,
        fall: 2,
        fast_interval: None,
        on_fail: OnFail::Withdraw,
    };
    let checks = [
        CheckConfig {
            fast_interval: Some(Duration::from_millis(250)),
            ..common(
                "web",
                CheckKind::Http(HttpCheck {
                    url: "http://127.0.0.1:8080/healthz".parse().unwrap(),
                    expect_status: vec![200, 204],
                    expect_body: Some("ok".into()),
                    host: Some("www.example.com".into()),
                    tls_verify: true,
                    watch: true,
                }),
            )
        },
        common(
            "api",
            CheckKind::Http(HttpCheck {
                url: "https://127.0.0.1:8443/healthz".parse().unwrap(),
                expect_status: vec![],
                expect_body: None,
                host: None,
                tls_verify: false,
                watch: true,
            }),
        ),
        common(
            "db",
            CheckKind::Tcp(TcpCheck {
                address: Endpoint::Addr("127.0.0.1:5432".parse().unwrap()),
                watch: true,
            }),
        ),
        common(
            "script",
            CheckKind::Exec(ExecCheck {
                argv: vec!["/usr/local/bin/check-web".into(), "--quiet".into()],
            }),
        ),
        CheckConfig {
            on_fail: OnFail::Drain,
            ..common(
                "maintenance",
                CheckKind::File(FileCheck {
                    path: "/etc/vipd/maintenance".into(),
                    healthy_when: FileState::Absent,
                }),
            )
        },
        common(
            "nginx",
            CheckKind::Process(ProcessCheck {
                pidfile: "/run/nginx.pid".into(),
            }),
        ),
        common(
            "resolver",
            CheckKind::Dns(DnsCheck {
                server: Endpoint::Addr("127.0.0.1:53".parse().unwrap()),
                name: hickory_proto::rr::Name::from_ascii("www.example.com.").unwrap(),
                qtype: hickory_proto::rr::RecordType::A,
                expect_rcode: hickory_proto::op::ResponseCode::NoError,
                expect_answer: Some("198.18.0.10".into()),
            }),
        ),
        common(
            "grpc-api",
            CheckKind::Grpc(GrpcCheck {
                address: Endpoint::Addr("127.0.0.1:50051".parse().unwrap()),
                service: "api.v1.Orders".into(),
                tls: false,
                tls_verify: true,
            }),
        ),
        CheckConfig {
            rise: 1,
            fall: 1,
            ..common(
                "app-lease",
                CheckKind::Lease(LeaseCheck {
                    ttl: Duration::from_secs(5),
                    http: Some("127.0.0.1:9411".parse().unwrap()),
                }),
            )
        },
        CheckConfig {
            fall: 1,
            ..common(
                "uplink",
                CheckKind::Interface(InterfaceCheck {
                    name: "eth1".into(),
                    require: LinkRequirement::Up,
                }),
            )
        },
    ];
    checks.into_iter().map(|c| (c.name.clone(), c)).collect()
}

#[test]
fn the_minimal_example_loads_with_every_default_resolved() {
    let config = load(&example("minimal.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config, ok(MINIMAL));
    assert_eq!(
        config.speaker,
        Speaker {
            asn: 65001,
            router_id: Ipv4Addr::new(10, 255, 1, 2),
            listen: None,
            hold_time: 90,
            connect_retry: Duration::from_secs(5),
            connect_retry_max: Duration::from_secs(120),
            graceful_restart_time: None,
            startup_delay: None,
            shutdown_drain: false,
            control_socket: Some(PathBuf::from("/run/vipd/vipd.sock")),
            metrics: None,
        }
    );
    let peer = &config.peers[0];
    assert_eq!(peer.name, "10.255.1.1");
    assert_eq!(peer.description, None);
    assert_eq!(peer.local_asn, 65001);
    assert_eq!(peer.port, 179);
    assert_eq!(peer.hold_time, 90);
    assert!(!peer.passive);
    assert_eq!(peer.multihop, None);
    assert_eq!(peer.connect_retry, Duration::from_secs(5));
    assert_eq!(peer.connect_retry_max, Duration::from_secs(120));
    assert!(peer.enabled);
    assert!(peer.is_ebgp());
    assert_eq!(peer.remote(), "10.255.1.1:179".parse().unwrap());
    let vip = &config.vips[0];
    assert_eq!(vip.name, "198.18.0.10/32");
    assert_eq!(vip.as_path_prepend, 0);
    assert_eq!((vip.med, vip.local_pref), (None, None));
    assert!(vip.communities.is_empty() && vip.large_communities.is_empty());
    assert!(vip.checks.is_empty());
    assert_eq!(vip.check_policy, CheckPolicy::All);
    assert_eq!(vip.hold_down, None);
    assert_eq!(vip.drain_time, Duration::from_secs(10));
    assert_eq!((vip.drain_med, vip.drain_prepend), (None, 0));
    assert!(config.checks.is_empty());
}

#[test]
fn a_speaker_alone_is_a_valid_config_with_no_peers_and_no_vips() {
    let config = ok(SPEAKER);
    assert!(config.peers.is_empty());
    assert!(config.vips.is_empty());
    assert!(
        config
            .plan()
            .contains("peers (0):\n  none: no BGP sessions")
    );
    assert!(
        config
            .plan()
            .contains("vips (0):\n  none: nothing is announced")
    );
}

#[test]
fn peers_inherit_speaker_defaults_unless_they_override_them() {
    let config = ok("[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\n\
         hold_time = 30\nconnect_retry = 2\nconnect_retry_max = 60\n\
         [[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 65001\n\
         [[peer]]\naddress = \"10.0.0.3\"\nremote_asn = 65001\nlocal_asn = 65002\n\
         hold_time = 0\nconnect_retry = 10\nport = 1179\nenabled = false\n");
    let [inherits, overrides] = &config.peers[..] else {
        panic!("two peers expected");
    };
    assert_eq!(inherits.hold_time, 30);
    assert_eq!(inherits.connect_retry, Duration::from_secs(2));
    assert_eq!(inherits.connect_retry_max, Duration::from_secs(60));
    assert!(!inherits.is_ebgp());
    assert_eq!(overrides.local_asn, 65002);
    assert!(overrides.is_ebgp());
    assert_eq!(overrides.hold_time, 0);
    assert_eq!(overrides.connect_retry, Duration::from_secs(10));
    assert_eq!(overrides.remote(), "10.0.0.3:1179".parse().unwrap());
    assert!(!overrides.enabled);
}

#[test]
fn a_bare_address_is_a_host_route() {
    let config = ok(&with_speaker(
        "[[vip]]\nprefix = \"198.18.0.10\"\n[[vip]]\nprefix = \"2001:db8::1\"\n",
    ));
    assert_eq!(config.vips[0].prefix, "198.18.0.10/32".parse().unwrap());
    assert_eq!(config.vips[0].name, "198.18.0.10/32");
    assert_eq!(config.vips[1].prefix, "2001:db8::1/128".parse().unwrap());
}

#[test]
fn a_listen_address_without_a_port_means_port_179() {
    let config = ok("[speaker]\nasn = 1\nrouter_id = \"10.0.0.1\"\nlisten = \"::\"\n");
    assert_eq!(
        config.speaker.listen,
        Some(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 179))
    );
}

// ---------------------------------------------------------------------------
// Reading and parsing

#[test]
fn an_unreadable_file_is_a_config_error() {
    let e = load(Path::new("/nonexistent/vipd.toml")).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].location, None);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/vipd.toml: cannot read the file: "),
        "{e}"
    );
}

#[test]
fn toml_syntax_errors_give_the_line_and_column() {
    assert_eq!(
        errors("[speaker]\nasn = 65001\nrouter_id = 10.255.1.2\n"),
        ["vipd.toml:3:19: invalid TOML: expected newline, `#`"]
    );
    assert_eq!(
        errors("[speaker\nasn = 65001\n"),
        ["vipd.toml:1:9: invalid TOML: invalid table header; expected `.`, `]`"]
    );
    assert_eq!(
        errors("[speaker]\nasn = 65001\nasn = 65002\n"),
        ["vipd.toml:3:1: invalid TOML: duplicate key `asn` in table `speaker`"]
    );
}

#[test]
fn unknown_keys_are_named_with_their_table_and_line() {
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\naddress = \"10.0.0.2\"\nremote_asm = 1\n"
        )),
        ["vipd.toml:6:1: peer[0].remote_asm: unknown key `remote_asm`; did you mean `remote_asn`?"]
    );
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\ncolour = \"red\"\n"
        )),
        [
            "vipd.toml:6:1: vip[0].colour: unknown key `colour` (known keys here: name, prefix, count, \
             communities, large_communities, med, local_pref, as_path_prepend, checks, \
             check_policy, hold_down, drain_time, drain_med, drain_prepend, interface, ospf, ospf_cost)"
        ]
    );
    assert_eq!(
        errors("[speaker]\nasn = 65001\nrouter_id = \"10.0.0.1\"\nrouter-id = \"x\"\n"),
        ["vipd.toml:4:1: speaker.router-id: unknown key `router-id`; did you mean `router_id`?"]
    );
    assert_eq!(
        errors(&format!("[bgp]\nx = 1\n{SPEAKER}")),
        [
            "vipd.toml:1:2: bgp: unknown key `bgp` (known keys here: speaker, peer, vip, check, ospf)"
        ]
    );
}

#[test]
fn an_unknown_key_in_a_check_table_is_named_with_the_check() {
    assert_eq!(
        errors(&with_speaker("[check.web]\nprotocol = \"http\"\n")),
        [
            "vipd.toml:5:1: check.web.protocol: unknown key `protocol` (known keys here: kind, \
             interval, timeout, rise, fall, fast_interval, on_fail, address, watch, url, \
             expect_status, expect_body, host, tls_verify, command, shell, path, healthy_when, \
             pidfile, server, qtype, expect_rcode, expect_answer, name, service, tls, ttl, http, \
             require)"
        ]
    );
    assert_eq!(
        errors(&with_speaker(
            "[check.web]\nkind = \"tcp\"\nadress = \"127.0.0.1:80\"\n"
        )),
        ["vipd.toml:6:1: check.web.adress: unknown key `adress`; did you mean `address`?"]
    );
}

#[test]
fn values_of_the_wrong_type_are_named_with_their_key() {
    assert_eq!(
        errors("[speaker]\nasn = \"65001\"\nrouter_id = \"10.0.0.1\"\n"),
        ["vipd.toml:2:7: speaker.asn: invalid type: string \"65001\", expected an integer"]
    );
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\ncommunities = \"65000:1\"\n"
        )),
        ["vipd.toml:6:15: vip[0].communities: invalid type: string \"65000:1\", expected an array"]
    );
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\ncommunities = [\"65000:1\", 7]\n"
        )),
        ["vipd.toml:6:27: vip[0].communities[1]: invalid type: integer `7`, expected a string"]
    );
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\npassive = \"yes\"\n"
        )),
        ["vipd.toml:7:11: peer[0].passive: invalid type: string \"yes\", expected a boolean"]
    );
    // toml hands a date-time to serde as a table without spans, which the
    // key-path index cannot follow; the line and column are still right.
    assert_eq!(
        errors("[speaker]\nasn = 1979-05-27\nrouter_id = \"10.0.0.1\"\n"),
        ["vipd.toml:2:7: invalid type: table or date-time, expected an integer"]
    );
    assert_eq!(
        errors("speaker = 5\n"),
        ["vipd.toml:1:11: speaker: invalid type: integer `5`, expected a table"]
    );
}

#[test]
fn dotted_keys_are_accepted_and_errors_still_have_a_line() {
    let config = ok("speaker.asn = 65001\nspeaker.router_id = \"10.0.0.1\"\n");
    assert_eq!(config.speaker.asn, 65001);
    assert_eq!(
        errors("speaker.asn = 65001\nspeaker.router_id = \"10.0.0.1\"\nspeaker.x = 1\n"),
        [
            "vipd.toml:3:9: speaker.x: unknown key `x` (known keys here: asn, router_id, listen, \
          hold_time, connect_retry, connect_retry_max, graceful_restart_time, startup_delay, \
          shutdown_drain, control_socket, metrics)"
        ]
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\ndescription = \"café\" ; address = \"10.0.0.2\"\n"
        )),
        ["vipd.toml:5:22: invalid TOML: expected newline, `#`"]
    );
}

// ---------------------------------------------------------------------------
// [speaker]

#[test]
fn a_missing_speaker_table_is_reported() {
    assert_eq!(
        errors("[[vip]]\nprefix = \"198.18.0.1\"\n"),
        ["vipd.toml: speaker: missing the [speaker] table (it sets at least asn and router_id)"]
    );
}

#[test]
fn speaker_asn_and_router_id_are_required() {
    assert_eq!(
        errors("\n[speaker]\n"),
        [
            "vipd.toml:2:2: speaker: missing required key `asn`",
            "vipd.toml:2:2: speaker: missing required key `router_id`",
        ]
    );
}

#[test]
fn as_0_and_as_trans_are_refused() {
    assert_eq!(
        errors("[speaker]\nasn = 0\nrouter_id = \"10.0.0.1\"\n"),
        ["vipd.toml:2:7: speaker.asn: AS 0 is reserved and cannot be used (RFC 7607)"]
    );
    assert_eq!(
        errors("[speaker]\nasn = 23456\nrouter_id = \"10.0.0.1\"\n"),
        [
            "vipd.toml:2:7: speaker.asn: AS 23456 is AS_TRANS, a placeholder for 4-octet AS \
             numbers that must not be configured (RFC 6793)"
        ]
    );
}

#[test]
fn as_numbers_must_fit_in_32_bits() {
    assert_eq!(
        errors("[speaker]\nasn = 4294967296\nrouter_id = \"10.0.0.1\"\n"),
        ["vipd.toml:2:7: speaker.asn: 4294967296 is not an AS number (1..=4294967295)"]
    );
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = -1\n"
        )),
        ["vipd.toml:6:14: peer[0].remote_asn: -1 is not an AS number (1..=4294967295)"]
    );
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nlocal_asn = 23456\n"
        )),
        [
            "vipd.toml:7:13: peer[0].local_asn: AS 23456 is AS_TRANS, a placeholder for \
             4-octet AS numbers that must not be configured (RFC 6793)"
        ]
    );
    let config = ok("[speaker]\nasn = 4294967295\nrouter_id = \"10.0.0.1\"\n");
    assert_eq!(config.speaker.asn, u32::MAX);
}

#[test]
fn the_router_id_must_be_a_unicast_ipv4_address() {
    let cases = [
        ("\"10.0.0\"", "\"10.0.0\" is not an IPv4 address"),
        ("\"fd00::1\"", "\"fd00::1\" is not an IPv4 address"),
        (
            "\"0.0.0.0\"",
            "0.0.0.0 cannot be the router ID: the BGP Identifier must be non-zero (RFC 6286 2.1)",
        ),
        (
            "\"224.0.0.5\"",
            "224.0.0.5 cannot be the router ID: it is a multicast address",
        ),
        (
            "\"255.255.255.255\"",
            "255.255.255.255 cannot be the router ID: it is the broadcast address",
        ),
    ];
    for (value, message) in cases {
        assert_eq!(
            errors(&format!("[speaker]\nasn = 1\nrouter_id = {value}\n")),
            [format!("vipd.toml:3:13: speaker.router_id: {message}")]
        );
    }
}

#[test]
fn hold_times_of_one_and_two_seconds_are_refused() {
    for bad in [1, 2, -1, 65536] {
        assert_eq!(
            errors(&format!("{SPEAKER}hold_time = {bad}\n")),
            [format!(
                "vipd.toml:4:13: speaker.hold_time: {bad} is not a valid hold time: use 0 \
                 (no keepalives) or 3..=65535 seconds (RFC 4271 4.2)"
            )]
        );
    }
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nhold_time = 2\n"
        )),
        [
            "vipd.toml:7:13: peer[0].hold_time: 2 is not a valid hold time: use 0 \
             (no keepalives) or 3..=65535 seconds (RFC 4271 4.2)"
        ]
    );
    for good in [0, 3, 65535] {
        assert_eq!(
            ok(&format!("{SPEAKER}hold_time = {good}\n"))
                .speaker
                .hold_time,
            good
        );
    }
}

#[test]
fn the_listen_address_must_be_an_address_and_a_usable_port() {
    assert_eq!(
        errors(&format!("{SPEAKER}listen = \"0.0.0.0:bgp\"\n")),
        [
            "vipd.toml:4:10: speaker.listen: \"0.0.0.0:bgp\" is not a listen address \
             (expected ADDRESS:PORT such as \"0.0.0.0:179\" or \"[::]:179\")"
        ]
    );
    assert_eq!(
        errors(&format!("{SPEAKER}listen = \"0.0.0.0:0\"\n")),
        ["vipd.toml:4:10: speaker.listen: port 0 is not usable (1..=65535)"]
    );
}

#[test]
fn connect_retry_times_are_between_one_second_and_65535() {
    assert_eq!(
        errors(&format!("{SPEAKER}connect_retry = 0\n")),
        ["vipd.toml:4:17: speaker.connect_retry: 0 is out of range (1..=65535 seconds)"]
    );
    assert_eq!(
        errors(&format!("{SPEAKER}connect_retry_max = 65536\n")),
        ["vipd.toml:4:21: speaker.connect_retry_max: 65536 is out of range (1..=65535 seconds)"]
    );
}

#[test]
fn connect_retry_max_may_not_be_below_connect_retry() {
    assert_eq!(
        errors(&format!(
            "{SPEAKER}connect_retry = 30\nconnect_retry_max = 10\n"
        )),
        [
            "vipd.toml:5:21: speaker.connect_retry_max: connect_retry_max (10s) is less than \
             connect_retry (30s); the retry time starts at connect_retry and doubles up to \
             connect_retry_max"
        ]
    );
    // Against the default maximum of 120 s, the error is on the key the user wrote.
    assert_eq!(
        errors(&format!("{SPEAKER}connect_retry = 300\n")),
        [
            "vipd.toml:4:17: speaker.connect_retry: connect_retry_max (120s) is less than \
             connect_retry (300s); the retry time starts at connect_retry and doubles up to \
             connect_retry_max"
        ]
    );
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nconnect_retry = 200\n"
        )),
        [
            "vipd.toml:7:17: peer[0].connect_retry: 200s is more than [speaker] \
             connect_retry_max (120s)"
        ]
    );
}

#[test]
fn graceful_restart_time_fits_the_12_bit_field() {
    for bad in [0, 4096] {
        assert_eq!(
            errors(&format!("{SPEAKER}graceful_restart_time = {bad}\n")),
            [format!(
                "vipd.toml:4:25: speaker.graceful_restart_time: {bad} is out of range \
                 (1..=4095 seconds)"
            )]
        );
    }
    let config = ok(&format!("{SPEAKER}graceful_restart_time = 4095\n"));
    assert_eq!(config.speaker.graceful_restart_time, Some(4095));
}

// ---------------------------------------------------------------------------
// [[peer]]

#[test]
fn peer_address_and_remote_asn_are_required() {
    assert_eq!(
        errors(&with_speaker("\n[[peer]]\nname = \"x\"\n")),
        [
            "vipd.toml:5:1: peer[0]: missing required key `address`",
            "vipd.toml:5:1: peer[0]: missing required key `remote_asn`",
        ]
    );
}

#[test]
fn peer_addresses_must_be_unicast_addresses() {
    let cases = [
        ("\"10.0.0.256\"", "\"10.0.0.256\" is not an IP address"),
        (
            "\"0.0.0.0\"",
            "0.0.0.0 cannot be a peer address: it is unspecified",
        ),
        (
            "\"ff02::1\"",
            "ff02::1 cannot be a peer address: it is a multicast address",
        ),
        (
            "\"255.255.255.255\"",
            "255.255.255.255 cannot be a peer address: it is the broadcast address",
        ),
    ];
    for (value, message) in cases {
        assert_eq!(
            errors(&with_speaker(&format!(
                "[[peer]]\naddress = {value}\nremote_asn = 1\n"
            ))),
            [format!("vipd.toml:5:11: peer[0].address: {message}")]
        );
    }
}

#[test]
fn port_zero_is_refused() {
    for bad in [0, 65536] {
        assert_eq!(
            errors(&with_speaker(&format!(
                "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nport = {bad}\n"
            ))),
            [format!(
                "vipd.toml:7:8: peer[0].port: {bad} is not a usable port (1..=65535)"
            )]
        );
    }
}

#[test]
fn two_peers_with_the_same_address_and_port_are_refused() {
    let text = with_speaker(
        "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\n\
         [[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nport = 1179\n\
         [[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 2\nport = 179\n",
    );
    assert_eq!(
        errors(&text),
        [
            "vipd.toml:12:11: peer[2].address: duplicate peer 10.0.0.2 port 179: already peer[0] (line 5)"
        ]
    );
}

#[test]
fn the_local_address_must_be_the_same_family_as_the_peer() {
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nlocal_address = \"fd00::2\"\n"
        )),
        [
            "vipd.toml:7:17: peer[0].local_address: fd00::2 is IPv6 but the peer address \
             10.0.0.2 is IPv4; both ends of a session must be the same family"
        ]
    );
}

#[test]
fn a_passive_peer_needs_the_speaker_to_listen() {
    let peer = "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\npassive = true\n";
    assert_eq!(
        errors(&with_speaker(peer)),
        [
            "vipd.toml:7:11: peer[0].passive: passive = true but [speaker] listen is not set, \
             so vipd would never accept this session and nobody would ever connect: set \
             [speaker] listen (e.g. \"0.0.0.0:179\") or remove passive"
        ]
    );
    let config = ok(&format!("{SPEAKER}listen = \"0.0.0.0:179\"\n{peer}"));
    assert!(config.peers[0].passive);
}

#[test]
fn multihop_is_a_ttl_from_1_to_255() {
    for bad in [0, 256] {
        assert_eq!(
            errors(&with_speaker(&format!(
                "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nmultihop = {bad}\n"
            ))),
            [format!(
                "vipd.toml:7:12: peer[0].multihop: {bad} is out of range \
                 (1..=255; 1 = directly connected)"
            )]
        );
    }
    let config = ok(&with_speaker(
        "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nmultihop = 255\n",
    ));
    assert_eq!(config.peers[0].multihop, Some(255));
}

#[test]
fn multihop_on_an_ibgp_peer_is_refused() {
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 65001\nmultihop = 2\n"
        )),
        [
            "vipd.toml:7:12: peer[0].multihop: multihop applies to eBGP only; this peer is \
             iBGP (remote_asn 65001 = local AS 65001)"
        ]
    );
    // A local_asn override turns the same session into eBGP.
    let config = ok(&with_speaker(
        "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 65001\nlocal_asn = 65002\nmultihop = 2\n",
    ));
    assert!(config.peers[0].is_ebgp());
}

#[test]
fn next_hop_overrides_must_be_of_their_family() {
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\n\
             next_hop_ipv4 = \"fd00::2\"\nnext_hop_ipv6 = \"10.0.0.1\"\n"
        )),
        [
            "vipd.toml:7:17: peer[0].next_hop_ipv4: \"fd00::2\" is not an IPv4 address",
            "vipd.toml:8:17: peer[0].next_hop_ipv6: \"10.0.0.1\" is not an IPv6 address",
        ]
    );
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nnext_hop_ipv6 = \"::\"\n"
        )),
        ["vipd.toml:7:17: peer[0].next_hop_ipv6: :: cannot be a next hop: it is unspecified"]
    );
}

#[test]
fn names_may_not_be_empty() {
    assert_eq!(
        errors(&with_speaker(
            "[[peer]]\nname = \" \"\naddress = \"10.0.0.2\"\nremote_asn = 1\n\
             [[vip]]\nname = \"\"\nprefix = \"198.18.0.1\"\n"
        )),
        [
            "vipd.toml:5:8: peer[0].name: must not be empty",
            "vipd.toml:9:8: vip[0].name: must not be empty",
        ]
    );
}

// ---------------------------------------------------------------------------
// [[vip]]

#[test]
fn a_prefix_that_does_not_parse_is_named_with_its_vip_index_and_line() {
    let text = "[speaker]\nasn = 65001\nrouter_id = \"10.255.1.2\"\n\n\
                [[vip]]\nprefix = \"198.18.0.10/32\"\n\n\
                [[vip]]\nprefix = \"198.18.0.11/32\"\n\n\
                [[vip]]\nname = \"third\"\nmed = 5\nprefix = \"198.18.0.300/32\"\n";
    assert_eq!(
        errors(text),
        ["vipd.toml:14:10: vip[2].prefix: \"198.18.0.300/32\" is not an IP prefix"]
    );
    assert_eq!(
        errors(&with_speaker("[[vip]]\nprefix = \"198.18.0.1/33\"\n")),
        ["vipd.toml:5:10: vip[0].prefix: \"198.18.0.1/33\" is not an IP prefix"]
    );
}

#[test]
fn a_prefix_with_host_bits_set_suggests_the_network() {
    assert_eq!(
        errors(&with_speaker("[[vip]]\nprefix = \"198.18.0.1/24\"\n")),
        [
            "vipd.toml:5:10: vip[0].prefix: \"198.18.0.1/24\" has host bits set; did you mean \
             \"198.18.0.0/24\"?"
        ]
    );
    assert_eq!(
        errors(&with_speaker("[[vip]]\nprefix = \"2001:db8::1/64\"\n")),
        [
            "vipd.toml:5:10: vip[0].prefix: \"2001:db8::1/64\" has host bits set; did you mean \
             \"2001:db8::/64\"?"
        ]
    );
}

#[test]
fn a_prefix_may_be_configured_once() {
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.10/32\"\n[[vip]]\nprefix = \"198.18.0.10\"\n"
        )),
        [
            "vipd.toml:7:10: vip[1].prefix: duplicate prefix 198.18.0.10/32: already vip[0] \
             (line 5)"
        ]
    );
}

#[test]
fn vip_prefix_is_required() {
    assert_eq!(
        errors(&with_speaker("[[vip]]\nmed = 1\n")),
        ["vipd.toml:4:1: vip[0]: missing required key `prefix`"]
    );
}

#[test]
fn bad_communities_are_named_with_their_index() {
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\ncommunities = [\"65000:1\", \"65000:x\", \"70000:1\"]\n"
        )),
        [
            "vipd.toml:6:27: vip[0].communities[1]: \"65000:x\" is not a community \
             (expected ASN:VALUE with each part 0..=65535)",
            "vipd.toml:6:38: vip[0].communities[2]: \"70000:1\" is not a community \
             (expected ASN:VALUE with each part 0..=65535)",
        ]
    );
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\nlarge_communities = [\"1:2\"]\n"
        )),
        [
            "vipd.toml:6:22: vip[0].large_communities[0]: \"1:2\" is not a large community \
             (expected GLOBAL:LOCAL1:LOCAL2, each 0..=4294967295)"
        ]
    );
}

#[test]
fn med_and_local_pref_are_32_bit() {
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\nmed = -1\nlocal_pref = 4294967296\n"
        )),
        [
            "vipd.toml:6:7: vip[0].med: -1 is out of range (0..=4294967295)",
            "vipd.toml:7:14: vip[0].local_pref: 4294967296 is out of range (0..=4294967295)",
        ]
    );
    let config = ok(&with_speaker(
        "[[vip]]\nprefix = \"198.18.0.1\"\nmed = 0\nlocal_pref = 4294967295\n",
    ));
    assert_eq!(config.vips[0].med, Some(0));
    assert_eq!(config.vips[0].local_pref, Some(u32::MAX));
}

#[test]
fn as_path_prepend_is_at_most_32() {
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\nas_path_prepend = 33\n"
        )),
        ["vipd.toml:6:19: vip[0].as_path_prepend: 33 is out of range (0..=32)"]
    );
    let config = ok(&with_speaker(
        "[[vip]]\nprefix = \"198.18.0.1\"\nas_path_prepend = 32\n",
    ));
    assert_eq!(config.vips[0].as_path_prepend, 32);
}

#[test]
fn a_check_name_without_a_check_table_is_refused() {
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\nchecks = [\"web\"]\n"
        )),
        ["vipd.toml:6:11: vip[0].checks[0]: unknown check \"web\" (no [check.web] table)"]
    );
    assert!(
        ok(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\nchecks = []\n"
        ))
        .vips[0]
            .checks
            .is_empty()
    );
}

// ---------------------------------------------------------------------------
// Collecting errors

#[test]
fn every_mistake_is_reported_in_file_order() {
    let text = "[speaker]\nasn = 0\nrouter_id = \"10.255.1.2\"\n\
                [[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 65000\nhold_time = 1\n\
                [[vip]]\nprefix = \"198.18.0.1/24\"\n";
    assert_eq!(
        errors(text),
        [
            "vipd.toml:2:7: speaker.asn: AS 0 is reserved and cannot be used (RFC 7607)",
            "vipd.toml:7:13: peer[0].hold_time: 1 is not a valid hold time: use 0 \
             (no keepalives) or 3..=65535 seconds (RFC 4271 4.2)",
            "vipd.toml:9:10: vip[0].prefix: \"198.18.0.1/24\" has host bits set; did you mean \
             \"198.18.0.0/24\"?",
        ]
    );
}

#[test]
fn an_invalid_speaker_asn_does_not_cascade_into_peer_errors() {
    // The peer's eBGP/iBGP status is unknown, so its multihop is not judged.
    let text = "[speaker]\nasn = 23456\nrouter_id = \"10.255.1.2\"\n\
                [[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 23456\nmultihop = 2\n";
    assert_eq!(errors(text).len(), 2);
}

#[test]
fn the_error_list_displays_one_error_per_line() {
    let e = parse(&with_speaker("[[vip]]\n[[vip]]\n"), "n1.toml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "n1.toml:4:1: vip[0]: missing required key `prefix`\n\
         n1.toml:5:1: vip[1]: missing required key `prefix`"
    );
}

// ---------------------------------------------------------------------------
// vipd check

#[test]
fn the_plan_describes_speaker_peers_and_vips() {
    let plan = ok(FULL).plan();
    let expected = "\
speaker: AS 65001, router ID 10.255.1.2
  listens on 0.0.0.0:179
  default hold time 90s, connect retry 5s doubling up to 120s
  graceful restart: advertised, restart time 120s
  announces nothing for 5s after start
peers (2):
  tor1 (10.255.1.1) eBGP: AS 65000 <-> local AS 65001, IPv4 transport
    description: top-of-rack switch, rack 12
    active: connects to 10.255.1.1:179 from 10.255.1.2
    hold time 9s, connect retry 5s doubling up to 120s, multihop TTL 1
    IPv4 next hop 10.255.1.2
    IPv6 next hop fd00::2
    TCP-MD5 key set; GTSM: sends with TTL 255, the peer at most 1 hop away
    BFD every 50ms, down after 3 missed
    max prefixes 100: past it, Cease and reconnect after 1m
  rr1 (fd00:255::1) iBGP: AS 65001 <-> local AS 65001, IPv6 transport
    passive: waits for the peer to connect
    hold time 90s, connect retry 5s doubling up to 120s
    max prefixes 1000: past it, Cease and reconnect after 30s
vips (2):
  198.18.0.10/32 (web)
    communities 65000:100 65000:200
    large communities 65000:1:1
    MED 10
    local preference 100 (iBGP peers only)
    announced while checks pass: web, maintenance
    hold-down 30s
    drain: announced for 10s with MED 1000, AS path prepended 3 extra times, then withdrawn
  2001:db8:ffff::10/128
    always announced (no checks)
checks (10):
  api: https GET https://127.0.0.1:8443/healthz, expect 2xx, certificate NOT verified
    every 1s (250ms while changing), timeout 500ms, up after 2 passes, down after 2 failures
    watches an idle connection to 127.0.0.1:8443: re-probed at once when it closes
    not used by any VIP
  app-lease: lease renewed by the application (`vipd lease app-lease` or POST \
http://127.0.0.1:9411/lease/app-lease), each renewal good for 5s
    up from each renewal, down when ttl passes without one or at a release
    not used by any VIP
  db: tcp connect to 127.0.0.1:5432
    every 1s (250ms while changing), timeout 500ms, up after 2 passes, down after 2 failures
    watches an idle connection to 127.0.0.1:5432: re-probed at once when it closes
    not used by any VIP
  grpc-api: grpc grpc.health.v1 Check of \"api.v1.Orders\" at 127.0.0.1:50051 (plaintext h2c), \
expect SERVING
    every 1s (250ms while changing), timeout 500ms, up after 2 passes, down after 2 failures
    not used by any VIP
  maintenance: file /etc/vipd/maintenance must be absent
    every 1s (250ms while changing), timeout 500ms, up after 2 passes, down after 2 failures
    failing drains web
  nginx: process pid in /run/nginx.pid must be running
    every 1s (250ms while changing), timeout 500ms, up after 2 passes, down after 2 failures
    re-probed at once when the process exits
    not used by any VIP
  resolver: dns query www.example.com. A at 127.0.0.1:53, expect NOERROR with \"198.18.0.10\" \
in the answer
    every 1s (250ms while changing), timeout 500ms, up after 2 passes, down after 2 failures
    not used by any VIP
  script: exec run [\"/usr/local/bin/check-web\", \"--quiet\"], pass on exit 0
    every 1s (250ms while changing), timeout 500ms, up after 2 passes, down after 2 failures
    not used by any VIP
  uplink: interface eth1 must be up
    every 1s (250ms while changing), timeout 500ms, up after 2 passes, down after 1 failure
    re-probed at once on every netlink event for the link
    not used by any VIP
  web: http GET http://127.0.0.1:8080/healthz (Host: www.example.com), expect 200 or 204 \
with \"ok\" in the body
    every 1s (250ms while changing), timeout 500ms, up after 2 passes, down after 2 failures
    watches an idle connection to 127.0.0.1:8080: re-probed at once when it closes
    failing withdraws web
";
    assert_eq!(plan, expected);
}

#[test]
fn the_plan_names_tcp_ao_keys_without_showing_them_and_a_missing_prefix_limit() {
    let plan = ok(&with_speaker(
        "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nmax_prefixes = 0\nmultihop = 2\n\
         ttl_security = true\n\
         tcp_ao = [{ send_id = 1, recv_id = 2, algorithm = \"aes-128-cmac\", key = \"hunter2\" }, \
         { send_id = 3, recv_id = 4, key = \"other\" }]\n",
    ))
    .plan();
    assert!(
        plan.contains(
            "    TCP-AO, sends with key 1/2 (AES-128-CMAC-96) of 2; \
             GTSM: sends with TTL 255, the peer at most 2 hops away\n"
        ),
        "{plan}"
    );
    assert!(
        plan.contains("    no prefix limit (received routes are counted, never stored)\n"),
        "{plan}"
    );
    assert!(
        !plan.contains("hunter2") && !plan.contains("other"),
        "{plan}"
    );
}

#[test]
fn the_plan_marks_disabled_peers_and_zero_hold_time() {
    let plan = ok(&with_speaker(
        "[[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 1\nenabled = false\nhold_time = 0\n",
    ))
    .plan();
    assert!(
        plan.contains("  10.0.0.2 eBGP: AS 1 <-> local AS 65001, IPv4 transport, DISABLED\n"),
        "{plan}"
    );
    assert!(plan.contains("    hold time 0 (no keepalives),"), "{plan}");
}

// ---------------------------------------------------------------------------
// Robustness

/// Applies byte-level edits at char boundaries: delete, insert, or replace.
fn mutate(text: &str, edits: &[(usize, char, u8)]) -> String {
    let mut s = text.to_string();
    for &(at, c, op) in edits {
        let mut i = at % (s.len() + 1);
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        match op {
            0 if i < s.len() => {
                s.remove(i);
            }
            1 => s.insert(i, c),
            _ if i < s.len() => {
                s.remove(i);
                s.insert(i, c);
            }
            _ => s.push(c),
        }
    }
    s
}

/// Whatever the input, `parse` returns, and an `Err` has at least one error,
/// each on an existing line.
fn check_never_panics(text: &str) {
    if let Err(ConfigErrors(errors)) = parse(text, "fuzz.toml") {
        assert!(!errors.is_empty());
        let lines = text.split('\n').count();
        for e in &errors {
            if let Some(loc) = e.location {
                assert!(loc.line >= 1 && loc.line <= lines, "{e} in {text:?}");
                assert!(loc.column >= 1, "{e}");
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check_never_panics(&text);
    }

    #[test]
    fn toml_like_text_never_panics(text in "[\\[\\]a-z_=\" .:/0-9\n#,{}-]{0,300}") {
        check_never_panics(&text);
    }

    #[test]
    fn mutated_valid_configs_never_panic(
        edits in prop::collection::vec(
            (any::<usize>(), prop::sample::select(vec!['"', '[', ']', '=', '\n', '0', '9', '-', '.', ':', '/', 'x', 'é', ' ', '#']), 0u8..3),
            1..6,
        ),
        minimal in any::<bool>(),
    ) {
        let base = if minimal { MINIMAL } else { FULL };
        check_never_panics(&mutate(base, &edits));
    }

    #[test]
    fn any_integer_in_any_numeric_key_never_panics(
        key in prop::sample::select(vec![
            "asn", "hold_time", "connect_retry", "connect_retry_max", "graceful_restart_time",
        ]),
        peer_key in prop::sample::select(vec![
            "remote_asn", "local_asn", "port", "hold_time", "multihop", "connect_retry",
        ]),
        vip_key in prop::sample::select(vec!["med", "local_pref", "as_path_prepend"]),
        a in any::<i64>(), b in any::<i64>(), c in any::<i64>(),
    ) {
        let text = format!(
            "[speaker]\nrouter_id = \"10.0.0.1\"\n{}\n{key} = {a}\n\
             [[peer]]\naddress = \"10.0.0.2\"\n{}\n{peer_key} = {b}\n\
             [[vip]]\nprefix = \"198.18.0.1\"\n{vip_key} = {c}\n",
            if key == "asn" { "" } else { "asn = 65001" },
            if peer_key == "remote_asn" { "" } else { "remote_asn = 65000" },
        );
        check_never_panics(&text);
    }
}

// ---------------------------------------------------------------------------
// TCP-AO keys (`[[peer]] tcp_ao`, RFC 5925 / RFC 5926)

/// Lines 4-6; a `tcp_ao` after it starts on line 7.
const AO_PEER: &str = "[[peer]]\naddress = \"10.0.0.1\"\nremote_asn = 65000\n";

fn ao_key(send_id: u8, recv_id: u8, algorithm: TcpAoAlgorithm, key: &str) -> TcpAoKey {
    TcpAoKey {
        send_id,
        recv_id,
        algorithm,
        key: key.into(),
    }
}

#[test]
fn tcp_ao_keys_load_in_order_with_hmac_sha1_by_default() {
    let config = ok(&with_speaker(&format!(
        "{AO_PEER}tcp_ao = [\n  {{ send_id = 1, recv_id = 2, key = \"first\" }},\n  \
         {{ send_id = 3, recv_id = 4, key = \"second\", algorithm = \"aes-128-cmac\" }},\n]\n"
    )));
    assert_eq!(
        config.peers[0].tcp_ao,
        vec![
            ao_key(1, 2, TcpAoAlgorithm::HmacSha1, "first"),
            ao_key(3, 4, TcpAoAlgorithm::AesCmac128, "second"),
        ]
    );
    assert_eq!(config.peers[0].password, None);
}

#[test]
fn tcp_ao_keys_may_be_written_as_peer_tcp_ao_tables() {
    let config = ok(&with_speaker(&format!(
        "{AO_PEER}[[peer.tcp_ao]]\nsend_id = 0\nrecv_id = 255\nkey = \"{}\"\n\
         algorithm = \"hmac-sha1\"\n",
        "k".repeat(80)
    )));
    assert_eq!(
        config.peers[0].tcp_ao,
        vec![ao_key(0, 255, TcpAoAlgorithm::HmacSha1, &"k".repeat(80))]
    );
}

#[test]
fn a_peer_without_tcp_ao_has_no_keys() {
    let config = ok(&with_speaker(AO_PEER));
    assert!(config.peers[0].tcp_ao.is_empty());
}

#[test]
fn tcp_ao_and_password_on_one_peer_are_refused() {
    assert_eq!(
        errors(&with_speaker(&format!(
            "{AO_PEER}password = \"md5\"\ntcp_ao = [{{ send_id = 1, recv_id = 1, key = \"ao\" }}]\n"
        ))),
        [
            "vipd.toml:8:11: peer[0].tcp_ao: tcp_ao and password cannot both be set: a session \
             uses TCP-AO (RFC 5925) or TCP-MD5 (RFC 2385), never both; remove one of them"
        ]
    );
}

#[test]
fn tcp_ao_key_ids_are_one_octet_and_every_mistake_is_reported() {
    assert_eq!(
        errors(&with_speaker(&format!(
            "{AO_PEER}tcp_ao = [\n  {{ send_id = 256, recv_id = -1, key = \"\" }},\n  \
             {{ recv_id = 1, algorithm = \"hmac-md5\" }},\n]\n"
        ))),
        [
            "vipd.toml:8:15: peer[0].tcp_ao[0].send_id: 256 is out of range (0..=255; a KeyID \
             is one octet)",
            "vipd.toml:8:30: peer[0].tcp_ao[0].recv_id: -1 is out of range (0..=255; a KeyID \
             is one octet)",
            "vipd.toml:8:40: peer[0].tcp_ao[0].key: a TCP-AO master key is 1 to 80 bytes long, \
             this one is 0",
            "vipd.toml:9:3: peer[0].tcp_ao[1]: missing required key `send_id`",
            "vipd.toml:9:3: peer[0].tcp_ao[1]: missing required key `key`",
            "vipd.toml:9:30: peer[0].tcp_ao[1].algorithm: \"hmac-md5\" is not a TCP-AO \
             algorithm: use \"hmac-sha1\" or \"aes-128-cmac\" (RFC 5926)",
        ]
    );
}

#[test]
fn a_tcp_ao_key_longer_than_80_bytes_is_refused() {
    let errors = errors(&with_speaker(&format!(
        "{AO_PEER}tcp_ao = [{{ send_id = 1, recv_id = 1, key = \"{}\" }}]\n",
        "k".repeat(81)
    )));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].ends_with(
            "peer[0].tcp_ao[0].key: a TCP-AO master key is 1 to 80 bytes long, this one is 81"
        ),
        "{errors:?}"
    );
}

#[test]
fn two_tcp_ao_keys_of_a_peer_may_not_share_a_send_id_or_a_recv_id() {
    assert_eq!(
        errors(&with_speaker(&format!(
            "{AO_PEER}tcp_ao = [\n  {{ send_id = 1, recv_id = 2, key = \"a\" }},\n  \
             {{ send_id = 1, recv_id = 3, key = \"b\" }},\n  \
             {{ send_id = 4, recv_id = 2, key = \"c\" }},\n]\n"
        ))),
        [
            "vipd.toml:9:3: peer[0].tcp_ao[1].send_id: send_id 1 is also the send_id of \
             peer[0].tcp_ao[0]: each key of a session needs its own send_id (RFC 5925 3.1)",
            "vipd.toml:10:3: peer[0].tcp_ao[2].recv_id: recv_id 2 is also the recv_id of \
             peer[0].tcp_ao[0]: each key of a session needs its own recv_id (RFC 5925 3.1)",
        ]
    );
    // The same IDs on two different peers are fine.
    ok(&with_speaker(&format!(
        "{AO_PEER}tcp_ao = [{{ send_id = 1, recv_id = 1, key = \"a\" }}]\n\
         [[peer]]\naddress = \"10.0.0.2\"\nremote_asn = 65000\n\
         tcp_ao = [{{ send_id = 1, recv_id = 1, key = \"b\" }}]\n"
    )));
}

#[test]
fn an_empty_tcp_ao_list_is_refused() {
    assert_eq!(
        errors(&with_speaker(&format!("{AO_PEER}tcp_ao = []\n"))),
        [
            "vipd.toml:4:1: peer[0].tcp_ao: an empty list: give at least one key, or remove \
             tcp_ao"
        ]
    );
}

#[test]
fn an_unknown_key_in_a_tcp_ao_table_is_refused() {
    let errors = errors(&with_speaker(&format!(
        "{AO_PEER}tcp_ao = [{{ send_id = 1, recv_id = 1, key = \"a\", key_id = 1 }}]\n"
    )));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("key_id"), "{errors:?}");
}
