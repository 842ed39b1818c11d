//! The dns, grpc, lease and interface kinds: defaults, exact messages, plans.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use super::checks::{check, the_check};
use super::*;

fn dns(body: &str) -> DnsCheck {
    match the_check(&check("dns", body)).kind {
        CheckKind::Dns(d) => d,
        other => panic!("{other:?}"),
    }
}

fn fqdn(name: &str) -> Name {
    Name::from_ascii(name).unwrap()
}

// ---------------------------------------------------------------------------
// dns

#[test]
fn a_dns_check_asks_for_an_a_record_and_noerror_at_port_53() {
    let c = the_check(&check(
        "dns",
        "server = \"127.0.0.1\"\nname = \"www.example.com\"\n",
    ));
    assert_eq!((c.rise, c.fall, c.on_fail), (2, 2, OnFail::Withdraw));
    assert_eq!(c.kind.name(), "dns");
    let CheckKind::Dns(d) = c.kind else {
        panic!("{c:?}")
    };
    assert_eq!(
        d,
        DnsCheck {
            server: Endpoint::Addr("127.0.0.1:53".parse().unwrap()),
            name: fqdn("www.example.com."),
            qtype: RecordType::A,
            expect_rcode: ResponseCode::NoError,
            expect_answer: None,
        }
    );
    assert!(d.name.is_fqdn(), "queried as written, never searched");
}

#[test]
fn a_dns_server_is_an_address_or_a_name_with_an_optional_port() {
    let server = |s: &str| dns(&format!("server = \"{s}\"\nname = \"a.example\"\n")).server;
    assert_eq!(
        server("[::1]:5353"),
        Endpoint::Addr("[::1]:5353".parse().unwrap())
    );
    assert_eq!(
        server("2001:db8::53"),
        Endpoint::Addr("[2001:db8::53]:53".parse().unwrap())
    );
    assert_eq!(
        server("ns1.internal"),
        Endpoint::Name {
            host: "ns1.internal".into(),
            port: 53
        }
    );
    assert_eq!(
        server("ns1.internal:5353"),
        Endpoint::Name {
            host: "ns1.internal".into(),
            port: 5353
        }
    );
}

#[test]
fn dns_qtype_rcode_and_answer_can_be_set_in_any_letter_case() {
    let d = dns(
        "server = \"127.0.0.1:5353\"\nname = \"_sip._tcp.example.com.\"\n\
         qtype = \"srv\"\nexpect_rcode = \"NOERROR\"\nexpect_answer = \"10 5 5060 sip.example.com.\"\n",
    );
    assert_eq!(d.name, fqdn("_sip._tcp.example.com."));
    assert_eq!(d.qtype, RecordType::SRV);
    assert_eq!(
        d.expect_answer.as_deref(),
        Some("10 5 5060 sip.example.com.")
    );
    let d = dns("server = \"127.0.0.1\"\nname = \"gone.example\"\nexpect_rcode = \"nxdomain\"\n");
    assert_eq!(d.expect_rcode, ResponseCode::NXDomain);
}

#[test]
fn an_expected_answer_ignores_a_final_dot_and_letter_case_except_in_txt() {
    let d =
        dns("server = \"127.0.0.1\"\nname = \"a.example\"\nexpect_answer = \"Mail.Example.com\"\n");
    assert!(d.answer_matches(RecordType::CNAME, "mail.example.com."));
    assert!(d.answer_matches(RecordType::CNAME, "MAIL.example.COM"));
    assert!(!d.answer_matches(RecordType::CNAME, "mail.example.org."));
    assert!(!d.answer_matches(RecordType::TXT, "mail.example.com"));
    assert!(d.answer_matches(RecordType::TXT, "Mail.Example.com"));
    let d = dns("server = \"127.0.0.1\"\nname = \"a.example\"\nexpect_answer = \"198.18.0.1\"\n");
    assert!(
        !d.answer_matches(RecordType::A, "198.18.0.10"),
        "whole values only"
    );
}

#[test]
fn a_dns_check_needs_a_server_and_a_name() {
    assert_eq!(
        errors(&check("dns", "")),
        [
            "vipd.toml:4:8: check.c.server: required for kind \"dns\"",
            "vipd.toml:4:8: check.c.name: required for kind \"dns\"",
        ]
    );
}

#[test]
fn dns_values_are_checked() {
    let e = |body: &str| errors(&check("dns", body));
    assert_eq!(
        e("server = \"127.0.0.1:53:53\"\nname = \"a.example\"\n"),
        [
            "vipd.toml:6:10: check.c.server: \"127.0.0.1:53:53\" is not HOST or HOST:PORT (e.g. \
             \"127.0.0.1\", \"[::1]:5353\" or \"ns1.internal\")"
        ]
    );
    assert_eq!(
        e("server = \"0.0.0.0\"\nname = \"a.example\"\n"),
        ["vipd.toml:6:10: check.c.server: 0.0.0.0 cannot be a check address: it is unspecified"]
    );
    for name in [
        "a..example",
        "",
        "a b.example",
        "ä.example",
        &"x".repeat(64),
    ] {
        assert_eq!(
            e(&format!("server = \"127.0.0.1\"\nname = \"{name}\"\n")),
            [format!(
                "vipd.toml:7:8: check.c.name: {name:?} is not a DNS name (dot-separated labels \
                 of 1 to 63 ASCII characters)"
            )],
        );
    }
    assert_eq!(
        e("server = \"127.0.0.1\"\nname = \"a.example\"\nqtype = \"ANY\"\n"),
        [
            "vipd.toml:8:9: check.c.qtype: \"ANY\" is not a query type vipd checks (expected one \
             of A, AAAA, CAA, CNAME, HTTPS, MX, NAPTR, NS, PTR, SOA, SRV, SVCB, TXT)"
        ]
    );
    assert_eq!(
        e("server = \"127.0.0.1\"\nname = \"a.example\"\nexpect_rcode = \"GONE\"\n"),
        [
            "vipd.toml:8:16: check.c.expect_rcode: \"GONE\" is not a response code (expected one \
             of NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN, YXRRSET, \
             NXRRSET, NOTAUTH, NOTZONE)"
        ]
    );
    assert_eq!(
        e("server = \"127.0.0.1\"\nname = \"a.example\"\nexpect_answer = \"\"\n"),
        [
            "vipd.toml:8:17: check.c.expect_answer: must not be empty (leave it out to accept \
             any answer)"
        ]
    );
}

#[test]
fn an_expected_answer_cannot_come_with_a_negative_rcode() {
    assert_eq!(
        errors(&check(
            "dns",
            "server = \"127.0.0.1\"\nname = \"a.example\"\nexpect_rcode = \"NXDOMAIN\"\n\
             expect_answer = \"198.18.0.1\"\n"
        )),
        [
            "vipd.toml:9:17: check.c.expect_answer: needs expect_rcode = \"NOERROR\" (a NXDOMAIN \
             answer has no records)"
        ]
    );
}

// ---------------------------------------------------------------------------
// grpc

#[test]
fn a_grpc_check_is_plaintext_and_asks_about_the_whole_server_by_default() {
    let c = the_check(&check("grpc", "address = \"127.0.0.1:50051\"\n"));
    assert_eq!(c.kind.name(), "grpc");
    assert_eq!(
        c.kind,
        CheckKind::Grpc(GrpcCheck {
            address: Endpoint::Addr("127.0.0.1:50051".parse().unwrap()),
            service: String::new(),
            tls: false,
            tls_verify: true,
        })
    );
    let c = the_check(&check(
        "grpc",
        "address = \"api.internal:443\"\nservice = \"api.v1.Orders\"\ntls = true\n\
         tls_verify = false\n",
    ));
    assert_eq!(
        c.kind,
        CheckKind::Grpc(GrpcCheck {
            address: Endpoint::Name {
                host: "api.internal".into(),
                port: 443
            },
            service: "api.v1.Orders".into(),
            tls: true,
            tls_verify: false,
        })
    );
}

#[test]
fn grpc_keys_are_checked() {
    assert_eq!(
        errors(&check("grpc", "service = \"x\"\n")),
        ["vipd.toml:4:8: check.c.address: required for kind \"grpc\""]
    );
    assert_eq!(
        errors(&check(
            "grpc",
            "address = \"127.0.0.1\"\nservice = \"a\\u0000b\"\ntls_verify = false\nwatch = true\n"
        )),
        [
            "vipd.toml:6:11: check.c.address: \"127.0.0.1\" is not HOST:PORT (e.g. \
             \"127.0.0.1:8080\", \"[::1]:8080\" or \"db.internal:5432\")",
            "vipd.toml:7:11: check.c.service: \"a\\0b\" has control characters in it",
            "vipd.toml:8:14: check.c.tls_verify: only applies with tls = true",
            "vipd.toml:9:9: check.c.watch: not a key of kind \"grpc\"",
        ]
    );
}

// ---------------------------------------------------------------------------
// lease

#[test]
fn a_lease_lasts_5s_has_no_endpoint_and_bypasses_rise_and_fall() {
    let c = the_check(&check("lease", ""));
    assert_eq!(c.kind.name(), "lease");
    assert_eq!(
        c.kind,
        CheckKind::Lease(LeaseCheck {
            ttl: Duration::from_secs(5),
            http: None,
        })
    );
    assert_eq!((c.rise, c.fall, c.on_fail), (1, 1, OnFail::Withdraw));
    let c = the_check(&check(
        "lease",
        "ttl = \"30s\"\nhttp = \"[::1]:9411\"\non_fail = \"drain\"\n",
    ));
    assert_eq!(
        c.kind,
        CheckKind::Lease(LeaseCheck {
            ttl: Duration::from_secs(30),
            http: Some("[::1]:9411".parse().unwrap()),
        })
    );
    assert_eq!(c.on_fail, OnFail::Drain);
}

#[test]
fn a_lease_refuses_the_probe_timing_keys() {
    let refused = |line: u32, col: u32, key: &str| {
        format!(
            "vipd.toml:{line}:{col}: check.c.{key}: not a key of kind \"lease\": a lease is up \
             from each renewal until ttl after it"
        )
    };
    assert_eq!(
        errors(&check(
            "lease",
            "interval = \"1s\"\ntimeout = \"bad\"\nfast_interval = \"1s\"\nrise = 2\nfall = 0\n"
        )),
        [
            refused(6, 12, "interval"),
            refused(7, 11, "timeout"),
            refused(8, 17, "fast_interval"),
            refused(9, 8, "rise"),
            refused(10, 8, "fall"),
        ]
    );
}

#[test]
fn lease_values_are_checked() {
    let e = |body: &str| errors(&check("lease", body));
    assert_eq!(
        e("ttl = \"5ms\"\n"),
        ["vipd.toml:6:7: check.c.ttl: 5ms is below the minimum of 10ms"]
    );
    assert_eq!(
        e("http = \"192.0.2.1:9411\"\n"),
        [
            "vipd.toml:6:8: check.c.http: 192.0.2.1 is not a loopback address; anyone who can \
             reach the endpoint can keep this check up"
        ]
    );
    assert_eq!(
        e("http = \"localhost:9411\"\n"),
        [
            "vipd.toml:6:8: check.c.http: \"localhost:9411\" is not an IP address and port \
             (e.g. \"127.0.0.1:9411\" or \"[::1]:9411\")"
        ]
    );
    assert_eq!(
        e("http = \"127.0.0.1:0\"\n"),
        ["vipd.toml:6:8: check.c.http: port 0 is not usable (1..=65535)"]
    );
    assert_eq!(
        e("address = \"127.0.0.1:80\"\n"),
        ["vipd.toml:6:11: check.c.address: not a key of kind \"lease\""]
    );
}

// ---------------------------------------------------------------------------
// interface

#[test]
fn an_interface_check_requires_up_and_falls_after_one_observation() {
    let c = the_check(&check("interface", "name = \"eth1\"\n"));
    assert_eq!(c.kind.name(), "interface");
    assert_eq!(
        c.kind,
        CheckKind::Interface(InterfaceCheck {
            name: "eth1".into(),
            require: LinkRequirement::Up,
        })
    );
    assert_eq!((c.rise, c.fall), (2, 1));
    let c = the_check(&check("interface", "name = \"eth1\"\nfall = 3\n"));
    assert_eq!(c.fall, 3);
    for (value, require) in [
        ("up", LinkRequirement::Up),
        ("running", LinkRequirement::Running),
        ("lower_up", LinkRequirement::LowerUp),
    ] {
        let c = the_check(&check(
            "interface",
            &format!("name = \"bond0.100\"\nrequire = \"{value}\"\n"),
        ));
        let CheckKind::Interface(i) = c.kind else {
            panic!("{c:?}")
        };
        assert_eq!((i.require, i.require.name()), (require, value));
    }
}

#[test]
fn interface_keys_are_checked() {
    assert_eq!(
        errors(&check("interface", "require = \"up\"\n")),
        ["vipd.toml:4:8: check.c.name: required for kind \"interface\""]
    );
    let bad_name = |n: &str| {
        [format!(
            "vipd.toml:6:8: check.c.name: {n:?} is not an interface name (1 to 15 bytes, no \
             '/', ':' or spaces)"
        )]
    };
    for name in ["", "a-very-long-name0", "eth0/1", "eth0:1", "eth 0", ".."] {
        assert_eq!(
            errors(&check("interface", &format!("name = \"{name}\"\n"))),
            bad_name(name),
            "{name:?}"
        );
    }
    assert_eq!(
        errors(&check(
            "interface",
            "name = \"eth1\"\nrequire = \"carrier\"\nserver = \"127.0.0.1\"\n"
        )),
        [
            "vipd.toml:7:11: check.c.require: \"carrier\" is not a link state (expected \"up\", \
             \"running\" or \"lower_up\")",
            "vipd.toml:8:10: check.c.server: not a key of kind \"interface\"",
        ]
    );
}

// ---------------------------------------------------------------------------
// Plans

#[test]
fn the_plan_says_what_each_new_kind_does() {
    let config = ok(&with_speaker(
        "[[vip]]\nprefix = \"198.18.0.1\"\nchecks = [\"app\", \"ns\"]\n\
         [check.ns]\nkind = \"dns\"\nserver = \"127.0.0.1\"\nname = \"www.example.com\"\n\
         expect_answer = \"198.18.0.10\"\n\
         [check.rpc]\nkind = \"grpc\"\naddress = \"127.0.0.1:50051\"\nservice = \"orders\"\n\
         tls = true\ntls_verify = false\n\
         [check.app]\nkind = \"lease\"\nttl = \"3s\"\nhttp = \"127.0.0.1:9411\"\n\
         [check.link]\nkind = \"interface\"\nname = \"eth1\"\nrequire = \"lower_up\"\n",
    ));
    let plan = config.plan();
    for expected in [
        "  ns: dns query www.example.com. A at 127.0.0.1:53, expect NOERROR with \"198.18.0.10\" \
         in the answer\n    every 1s (250ms while changing), timeout 500ms, up after 2 passes, \
         down after 2 failures\n    failing withdraws 198.18.0.1/32\n",
        "  rpc: grpc grpc.health.v1 Check of \"orders\" at 127.0.0.1:50051 (TLS, certificate NOT \
         verified), expect SERVING\n",
        "  app: lease renewed by the application (`vipd lease app` or POST \
         http://127.0.0.1:9411/lease/app), each renewal good for 3s\n    up from each renewal, \
         down when ttl passes without one or at a release\n    failing withdraws 198.18.0.1/32\n",
        "  link: interface eth1 must be lower_up\n    every 1s (250ms while changing), timeout \
         500ms, up after 2 passes, down after 1 failure\n    re-probed at once on every netlink \
         event for the link\n    not used by any VIP\n",
    ] {
        assert!(plan.contains(expected), "{expected}\nnot in:\n{plan}");
    }
}
