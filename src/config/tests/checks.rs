//! `[check.NAME]` tables and the keys that refer to them, with exact messages.

use super::*;

/// `[check.c]` with `body` after `kind = KIND`: line 4 is the header, line 5
/// the kind, `body` starts on line 6.
pub(super) fn check(kind: &str, body: &str) -> String {
    with_speaker(&format!("[check.c]\nkind = \"{kind}\"\n{body}"))
}

pub(super) fn the_check(text: &str) -> CheckConfig {
    let mut config = ok(text);
    assert_eq!(config.checks.len(), 1, "{config:#?}");
    config.checks.pop_first().unwrap().1
}

// ---------------------------------------------------------------------------
// Defaults

#[test]
fn a_tcp_check_gets_every_default() {
    assert_eq!(
        the_check(&check("tcp", "address = \"192.0.2.1:80\"\n")),
        CheckConfig {
            name: "c".into(),
            kind: CheckKind::Tcp(TcpCheck {
                address: Endpoint::Addr("192.0.2.1:80".parse().unwrap()),
                watch: false,
            }),
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            rise: 2,
            fall: 2,
            fast_interval: None,
            on_fail: OnFail::Withdraw,
        }
    );
}

#[test]
fn the_pending_interval_defaults_to_a_quarter_of_the_interval_but_at_least_10ms() {
    let c = the_check(&check("tcp", "address = \"192.0.2.1:80\"\n"));
    assert_eq!(c.pending_interval(), Duration::from_millis(250));
    let c = the_check(&check(
        "tcp",
        "address = \"192.0.2.1:80\"\ninterval = \"20ms\"\ntimeout = \"5ms\"\n",
    ));
    assert_eq!(c.pending_interval(), Duration::from_millis(10));
    let c = the_check(&check(
        "tcp",
        "address = \"192.0.2.1:80\"\nfast_interval = \"100ms\"\n",
    ));
    assert_eq!(c.pending_interval(), Duration::from_millis(100));
}

#[test]
fn watch_defaults_to_true_for_local_addresses_only() {
    let watch = |kind: &str, body: &str| match the_check(&check(kind, body)).kind {
        CheckKind::Tcp(t) => t.watch,
        CheckKind::Http(h) => h.watch,
        other => panic!("{other:?}"),
    };
    assert!(watch("tcp", "address = \"127.0.0.1:80\"\n"));
    assert!(watch("tcp", "address = \"[::1]:80\"\n"));
    assert!(watch("tcp", "address = \"localhost:80\"\n"));
    assert!(watch("http", "url = \"http://127.0.0.1:8080/\"\n"));
    assert!(watch("https", "url = \"https://localhost/\"\n"));
    assert!(!watch("tcp", "address = \"192.0.2.1:80\"\n"));
    assert!(!watch("tcp", "address = \"db.example.com:5432\"\n"));
    assert!(!watch("http", "url = \"http://192.0.2.1/\"\n"));
    assert!(!watch("tcp", "address = \"127.0.0.1:80\"\nwatch = false\n"));
    assert!(watch("tcp", "address = \"192.0.2.1:80\"\nwatch = true\n"));
}

#[test]
fn an_address_of_this_host_counts_as_local() {
    // Whatever this machine's addresses are, each of them is local.
    let Some(ip) = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
    else {
        eprintln!("no non-loopback IPv4 address here; nothing to test");
        return;
    };
    let c = the_check(&check("tcp", &format!("address = \"{ip}:80\"\n")));
    assert_eq!(
        c.kind,
        CheckKind::Tcp(TcpCheck {
            address: Endpoint::Addr(SocketAddr::new(ip, 80)),
            watch: true
        })
    );
}

#[test]
fn http_and_https_checks_get_their_defaults() {
    let c = the_check(&check("https", "url = \"https://192.0.2.1/healthz\"\n"));
    assert_eq!(c.kind.name(), "https");
    let CheckKind::Http(h) = c.kind else {
        panic!("{c:?}")
    };
    assert_eq!(h.url.as_str(), "https://192.0.2.1/healthz");
    assert!(h.expect_status.is_empty());
    assert!(h.status_passes(200) && h.status_passes(299));
    assert!(!h.status_passes(199) && !h.status_passes(301) && !h.status_passes(503));
    assert_eq!((&h.expect_body, &h.host), (&None, &None));
    assert!(h.tls_verify);
    assert!(!h.watch);
    assert_eq!(
        h.endpoint(),
        Some(Endpoint::Addr("192.0.2.1:443".parse().unwrap()))
    );
}

#[test]
fn expect_status_is_one_code_or_a_list() {
    let status = |value: &str| match the_check(&check(
        "http",
        &format!("url = \"http://192.0.2.1/\"\nexpect_status = {value}\n"),
    ))
    .kind
    {
        CheckKind::Http(h) => h.expect_status,
        other => panic!("{other:?}"),
    };
    assert_eq!(status("503"), [503]);
    assert_eq!(status("[200, 301]"), [200, 301]);
}

#[test]
fn an_exec_command_is_an_argv_or_with_shell_a_script() {
    let argv = |body: &str| match the_check(&check("exec", body)).kind {
        CheckKind::Exec(e) => e.argv,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        argv("command = [\"/bin/true\", \"-x\"]\n"),
        ["/bin/true", "-x"]
    );
    assert_eq!(
        argv("command = \"pgrep -x nginx\"\nshell = true\n"),
        ["sh", "-c", "pgrep -x nginx"]
    );
    assert_eq!(
        argv("command = [\"test -f \\\"$1\\\"\", \"check\", \"/x\"]\nshell = true\n"),
        ["sh", "-c", "test -f \"$1\"", "check", "/x"]
    );
}

#[test]
fn a_file_check_is_a_maintenance_flag_that_drains_by_default() {
    let c = the_check(&check("file", "path = \"/etc/vipd/maintenance\"\n"));
    assert_eq!(c.on_fail, OnFail::Drain);
    assert_eq!(
        c.kind,
        CheckKind::File(FileCheck {
            path: "/etc/vipd/maintenance".into(),
            healthy_when: FileState::Absent
        })
    );
    let c = the_check(&check(
        "file",
        "path = \"/run/ready\"\nhealthy_when = \"present\"\non_fail = \"withdraw\"\n",
    ));
    assert_eq!(c.on_fail, OnFail::Withdraw);
    assert_eq!(
        c.kind,
        CheckKind::File(FileCheck {
            path: "/run/ready".into(),
            healthy_when: FileState::Present
        })
    );
}

#[test]
fn a_process_check_names_a_pidfile() {
    let c = the_check(&check("process", "pidfile = \"/run/nginx.pid\"\n"));
    assert_eq!(
        c.kind,
        CheckKind::Process(ProcessCheck {
            pidfile: PathBuf::from("/run/nginx.pid")
        })
    );
    assert_eq!(c.kind.name(), "process");
}

#[test]
fn every_common_key_can_be_set() {
    let c = the_check(&check(
        "tcp",
        "address = \"192.0.2.1:80\"\ninterval = \"2s\"\ntimeout = \"1500ms\"\nrise = 3\n\
         fall = 1\nfast_interval = \"100ms\"\non_fail = \"drain\"\n",
    ));
    assert_eq!(
        (c.interval, c.timeout, c.rise, c.fall),
        (Duration::from_secs(2), Duration::from_millis(1500), 3, 1)
    );
    assert_eq!(c.fast_interval, Some(Duration::from_millis(100)));
    assert_eq!(c.on_fail, OnFail::Drain);
}

#[test]
fn vips_name_checks_and_set_how_they_combine_and_drain() {
    let config = ok(&with_speaker(
        "[[vip]]\nprefix = \"198.18.0.1\"\nchecks = [\"a\", \"b\"]\ncheck_policy = \"any\"\n\
         hold_down = \"1m\"\ndrain_time = \"0s\"\ndrain_med = 4294967295\ndrain_prepend = 32\n\
         [check.a]\nkind = \"file\"\npath = \"/a\"\n\
         [check.b]\nkind = \"file\"\npath = \"/b\"\n",
    ));
    let vip = &config.vips[0];
    assert_eq!(vip.checks, ["a", "b"]);
    assert_eq!(vip.check_policy, CheckPolicy::Any);
    assert_eq!(vip.hold_down, Some(Duration::from_secs(60)));
    assert_eq!(vip.drain_time, Duration::ZERO);
    assert_eq!((vip.drain_med, vip.drain_prepend), (Some(u32::MAX), 32));
    assert_eq!(config.checks.keys().collect::<Vec<_>>(), ["a", "b"]);
    let plan = config.plan();
    assert!(
        plan.contains("    announced while any check passes: a, b\n    hold-down 1m\n    drain: announced for 0s with MED 4294967295, AS path prepended 32 extra times, then withdrawn\n"),
        "{plan}"
    );
    assert!(plan.contains("  a: file /a must be absent\n"), "{plan}");
}

#[test]
fn the_speaker_sets_a_startup_delay_and_shutdown_drain() {
    let config = ok(
        "[speaker]\nasn = 1\nrouter_id = \"10.0.0.1\"\nstartup_delay = \"1m30s\"\n\
         shutdown_drain = true\n",
    );
    assert_eq!(config.speaker.startup_delay, Some(Duration::from_secs(90)));
    assert!(config.speaker.shutdown_drain);
    let plan = config.plan();
    assert!(
        plan.contains("  announces nothing for 1m 30s after start\n"),
        "{plan}"
    );
    assert!(
        plan.contains("  on shutdown: drains every VIP before withdrawing it\n"),
        "{plan}"
    );
}

// ---------------------------------------------------------------------------
// Errors

#[test]
fn the_kind_is_required_and_must_be_known() {
    assert_eq!(
        errors(&with_speaker("[check.web]\nurl = \"http://192.0.2.1/\"\n")),
        ["vipd.toml:4:8: check.web: missing required key `kind`"]
    );
    assert_eq!(
        errors(&check("htpp", "url = \"http://192.0.2.1/\"\n")),
        [
            "vipd.toml:5:8: check.c.kind: unknown kind \"htpp\" (expected one of tcp, http, \
             https, exec, file, process, dns, grpc, lease, interface)"
        ]
    );
}

#[test]
fn each_kind_requires_its_target() {
    for (kind, key) in [
        ("tcp", "address"),
        ("http", "url"),
        ("https", "url"),
        ("exec", "command"),
        ("file", "path"),
        ("process", "pidfile"),
    ] {
        assert_eq!(
            errors(&check(kind, "")),
            [format!(
                "vipd.toml:4:8: check.c.{key}: required for kind \"{kind}\""
            )]
        );
    }
}

#[test]
fn a_key_of_another_kind_is_refused_with_the_kind_named() {
    assert_eq!(
        errors(&with_speaker(
            "[check.web]\nkind = \"tcp\"\naddress = \"127.0.0.1:80\"\n\
             command = [\"true\"]\ntls_verify = false\n"
        )),
        [
            "vipd.toml:7:11: check.web.command: not a key of kind \"tcp\"",
            "vipd.toml:8:14: check.web.tls_verify: not a key of kind \"tcp\"",
        ]
    );
    assert_eq!(
        errors(&check(
            "http",
            "url = \"http://192.0.2.1/\"\ntls_verify = false\n"
        )),
        ["vipd.toml:7:14: check.c.tls_verify: not a key of kind \"http\""]
    );
    assert_eq!(
        errors(&check("file", "path = \"/x\"\nwatch = true\n")),
        ["vipd.toml:7:9: check.c.watch: not a key of kind \"file\""]
    );
}

#[test]
fn the_timeout_must_be_below_the_interval() {
    assert_eq!(
        errors(&check(
            "tcp",
            "address = \"127.0.0.1:80\"\ninterval = \"1s\"\ntimeout = \"1s\"\n"
        )),
        ["vipd.toml:8:11: check.c.timeout: 1s must be below interval (1s)"]
    );
    assert_eq!(
        errors(&check(
            "tcp",
            "address = \"127.0.0.1:80\"\ntimeout = \"2s\"\n"
        )),
        ["vipd.toml:7:11: check.c.timeout: 2s must be below interval (1s)"]
    );
    assert_eq!(
        errors(&check(
            "tcp",
            "address = \"127.0.0.1:80\"\ninterval = \"300ms\"\n"
        )),
        [
            "vipd.toml:7:12: check.c.interval: 300ms must be above timeout (500ms by default); \
             set a shorter timeout"
        ]
    );
}

#[test]
fn durations_are_humantime_strings_within_bounds() {
    let e = |key: &str, value: &str| {
        errors(&check(
            "tcp",
            &format!("address = \"127.0.0.1:80\"\n{key} = {value}\n"),
        ))
    };
    assert_eq!(
        e("interval", "\"one second\""),
        [
            "vipd.toml:7:12: check.c.interval: \"one second\" is not a duration (e.g. \"500ms\", \"2s\", \"1m\")"
        ]
    );
    assert_eq!(
        e("interval", "\"5ms\""),
        ["vipd.toml:7:12: check.c.interval: 5ms is below the minimum of 10ms"]
    );
    assert_eq!(
        e("interval", "\"2days\""),
        ["vipd.toml:7:12: check.c.interval: 2days is too long (at most 1day)"]
    );
    assert_eq!(
        e("timeout", "\"0s\""),
        ["vipd.toml:7:11: check.c.timeout: must be more than 0"]
    );
    assert_eq!(
        e("fast_interval", "\"2s\""),
        ["vipd.toml:7:17: check.c.fast_interval: 2s must not be above interval (1s)"]
    );
    assert_eq!(
        e("interval", "1"),
        ["vipd.toml:7:12: check.c.interval: invalid type: integer `1`, expected a string"]
    );
}

#[test]
fn rise_and_fall_are_at_least_one() {
    assert_eq!(
        errors(&check(
            "tcp",
            "address = \"127.0.0.1:80\"\nrise = 0\nfall = 1001\n"
        )),
        [
            "vipd.toml:7:8: check.c.rise: 0 is out of range (1..=1000)",
            "vipd.toml:8:8: check.c.fall: 1001 is out of range (1..=1000)",
        ]
    );
}

#[test]
fn on_fail_is_withdraw_or_drain() {
    assert_eq!(
        errors(&check(
            "tcp",
            "address = \"127.0.0.1:80\"\non_fail = \"ignore\"\n"
        )),
        [
            "vipd.toml:7:11: check.c.on_fail: \"ignore\" is not an action (expected \
             \"withdraw\" or \"drain\")"
        ]
    );
}

#[test]
fn a_tcp_address_is_host_and_port() {
    let e = |address: &str| errors(&check("tcp", &format!("address = \"{address}\"\n")));
    let not_host_port = |a: &str| {
        [format!(
            "vipd.toml:6:11: check.c.address: \"{a}\" is not HOST:PORT (e.g. \"127.0.0.1:8080\", \
             \"[::1]:8080\" or \"db.internal:5432\")"
        )]
    };
    assert_eq!(e("127.0.0.1"), not_host_port("127.0.0.1"));
    assert_eq!(e("::1:80"), not_host_port("::1:80"));
    assert_eq!(e("db..internal:80"), not_host_port("db..internal:80"));
    assert_eq!(e("db:http"), not_host_port("db:http"));
    assert_eq!(e("300.1.1.1:80"), not_host_port("300.1.1.1:80"));
    assert_eq!(
        e("127.0.0.1:0"),
        ["vipd.toml:6:11: check.c.address: port 0 is not usable (1..=65535)"]
    );
    assert_eq!(
        e("0.0.0.0:80"),
        ["vipd.toml:6:11: check.c.address: 0.0.0.0 cannot be a check address: it is unspecified"]
    );
    let c = the_check(&check("tcp", "address = \"db-1.internal:5432\"\n"));
    assert_eq!(
        c.kind,
        CheckKind::Tcp(TcpCheck {
            address: Endpoint::Name {
                host: "db-1.internal".into(),
                port: 5432
            },
            watch: false
        })
    );
}

#[test]
fn a_url_must_parse_and_match_the_kind() {
    let e = |kind: &str, url: &str| errors(&check(kind, &format!("url = \"{url}\"\n")));
    assert_eq!(
        e("http", "127.0.0.1/healthz"),
        [
            "vipd.toml:6:7: check.c.url: \"127.0.0.1/healthz\" is not a URL: relative URL without a base"
        ]
    );
    assert_eq!(
        e("http", "https://127.0.0.1/"),
        [
            "vipd.toml:6:7: check.c.url: \"https://127.0.0.1/\" is not an http:// URL, as kind \"http\" needs"
        ]
    );
    assert_eq!(
        e("https", "http://127.0.0.1/"),
        [
            "vipd.toml:6:7: check.c.url: \"http://127.0.0.1/\" is not an https:// URL, as kind \"https\" needs"
        ]
    );
    assert_eq!(
        e("http", "http://user:pw@127.0.0.1/"),
        [
            "vipd.toml:6:7: check.c.url: \"http://user:pw@127.0.0.1/\" has credentials in it; checks do not support them"
        ]
    );
    assert_eq!(
        e("http", "http://127.0.0.1:99999/"),
        [
            "vipd.toml:6:7: check.c.url: \"http://127.0.0.1:99999/\" is not a URL: invalid port number"
        ]
    );
}

#[test]
fn http_expectations_are_checked() {
    let e = |body: &str| {
        errors(&check(
            "http",
            &format!("url = \"http://192.0.2.1/\"\n{body}"),
        ))
    };
    assert_eq!(
        e("expect_status = [200, 99, 600]\n"),
        ["vipd.toml:7:17: check.c.expect_status: 99, 600 is not an HTTP status code (100..=599)"]
    );
    assert_eq!(
        e("expect_status = []\n"),
        [
            "vipd.toml:7:17: check.c.expect_status: must list at least one status code \
             (leave it out for any 2xx)"
        ]
    );
    assert_eq!(
        e("expect_status = \"200\"\n"),
        [
            "vipd.toml:7:17: check.c.expect_status: invalid type: string \"200\", expected a \
             status code or an array of status codes"
        ]
    );
    assert_eq!(
        e("expect_body = \"\"\n"),
        [
            "vipd.toml:7:15: check.c.expect_body: must not be empty (leave it out to accept any body)"
        ]
    );
    assert_eq!(
        e("host = \"a b\"\n"),
        ["vipd.toml:7:8: check.c.host: \"a b\" is not a host name for the Host header"]
    );
}

#[test]
fn an_exec_command_without_a_shell_is_an_argv() {
    assert_eq!(
        errors(&check("exec", "command = \"pgrep nginx\"\n")),
        [
            "vipd.toml:6:11: check.c.command: a command string needs shell = true; without a \
             shell, give the argv as an array, e.g. [\"/usr/local/bin/check\", \"--quiet\"]"
        ]
    );
    let empty = [
        "vipd.toml:6:11: check.c.command: must name a program to run (the first \
                  element is empty or missing)",
    ];
    assert_eq!(errors(&check("exec", "command = []\n")), empty);
    assert_eq!(errors(&check("exec", "command = [\"\", \"x\"]\n")), empty);
    assert_eq!(
        errors(&check("exec", "command = 5\n")),
        [
            "vipd.toml:6:11: check.c.command: invalid type: integer `5`, expected an array of \
             strings (the argv) or a string"
        ]
    );
}

#[test]
fn file_and_process_paths_are_absolute() {
    assert_eq!(
        errors(&check(
            "file",
            "path = \"maintenance\"\nhealthy_when = \"gone\"\n"
        )),
        [
            "vipd.toml:6:8: check.c.path: \"maintenance\" is not an absolute path",
            "vipd.toml:7:16: check.c.healthy_when: \"gone\" is not a file state (expected \
             \"absent\" or \"present\")",
        ]
    );
    assert_eq!(
        errors(&check("process", "pidfile = \"run/x.pid\"\n")),
        ["vipd.toml:6:11: check.c.pidfile: \"run/x.pid\" is not an absolute path"]
    );
}

#[test]
fn a_check_name_is_letters_digits_and_punctuation() {
    assert_eq!(
        errors(&with_speaker(
            "[check.\"my check\"]\nkind = \"file\"\npath = \"/x\"\n"
        )),
        [
            "vipd.toml:4:8: check.my check: \"my check\" is not a usable check name (use \
             letters, digits, '-', '_' and '.')"
        ]
    );
}

#[test]
fn every_mistake_in_a_check_is_reported() {
    assert_eq!(
        errors(&check(
            "exec",
            "interval = \"1x\"\nrise = 0\nwatch = true\n"
        )),
        [
            "vipd.toml:4:8: check.c.command: required for kind \"exec\"",
            "vipd.toml:6:12: check.c.interval: \"1x\" is not a duration (e.g. \"500ms\", \
             \"2s\", \"1m\")",
            "vipd.toml:7:8: check.c.rise: 0 is out of range (1..=1000)",
            "vipd.toml:8:9: check.c.watch: not a key of kind \"exec\"",
        ]
    );
}

#[test]
fn a_vip_may_name_only_defined_checks_and_each_once() {
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\nchecks = [\"web\", \"db\", \"web\"]\n\
             [check.web]\nkind = \"file\"\npath = \"/x\"\n"
        )),
        [
            "vipd.toml:6:18: vip[0].checks[1]: unknown check \"db\" (no [check.db] table)",
            "vipd.toml:6:24: vip[0].checks[2]: \"web\" is listed twice (already checks[0])",
        ]
    );
    // A check with mistakes is reported there, not again as unknown.
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\nchecks = [\"web\"]\n\
             [check.web]\nkind = \"file\"\n"
        )),
        ["vipd.toml:7:8: check.web.path: required for kind \"file\""]
    );
}

#[test]
fn vip_drain_and_policy_keys_are_checked() {
    assert_eq!(
        errors(&with_speaker(
            "[[vip]]\nprefix = \"198.18.0.1\"\ncheck_policy = \"most\"\nhold_down = \"0s\"\n\
             drain_time = \"soon\"\ndrain_med = -1\ndrain_prepend = 33\n"
        )),
        [
            "vipd.toml:6:16: vip[0].check_policy: \"most\" is not a check policy (expected \
             \"all\" or \"any\")",
            "vipd.toml:7:13: vip[0].hold_down: must be more than 0",
            "vipd.toml:8:14: vip[0].drain_time: \"soon\" is not a duration (e.g. \"500ms\", \
             \"2s\", \"1m\")",
            "vipd.toml:9:13: vip[0].drain_med: -1 is out of range (0..=4294967295)",
            "vipd.toml:10:17: vip[0].drain_prepend: 33 is out of range (0..=32)",
        ]
    );
}

#[test]
fn speaker_startup_delay_is_a_duration() {
    assert_eq!(
        errors("[speaker]\nasn = 1\nrouter_id = \"10.0.0.1\"\nstartup_delay = \"5\"\n"),
        [
            "vipd.toml:4:17: speaker.startup_delay: \"5\" is not a duration (e.g. \"500ms\", \
             \"2s\", \"1m\")"
        ]
    );
}

#[test]
fn a_check_table_of_the_wrong_type_is_named() {
    assert_eq!(
        errors(&format!("check = 5\n{SPEAKER}")),
        ["vipd.toml:1:9: check: invalid type: integer `5`, expected a table"]
    );
    assert_eq!(
        errors(&with_speaker("[check]\nweb = 5\n")),
        ["vipd.toml:5:7: check.web: invalid type: integer `5`, expected a table"]
    );
}

#[test]
fn checks_may_be_written_as_inline_tables_and_dotted_keys() {
    let dotted = ok(&format!(
        "check.a.kind = \"file\"\ncheck.a.path = \"/a\"\n{SPEAKER}"
    ));
    assert_eq!(dotted.checks.keys().collect::<Vec<_>>(), ["a"]);
    let inline = ok(&with_speaker(
        "[check]\nb = { kind = \"tcp\", address = \"192.0.2.1:1\" }\n",
    ));
    assert_eq!(inline.checks.keys().collect::<Vec<_>>(), ["b"]);
    // Errors in a dotted table still have a line.
    assert_eq!(
        errors(&format!("check.a.kind = \"file\"\n{SPEAKER}")),
        ["vipd.toml:1:7: check.a.path: required for kind \"file\""]
    );
}

proptest! {
    #[test]
    fn any_value_in_any_check_key_never_panics(
        key in prop::sample::select(vec![
            "interval", "timeout", "rise", "fall", "fast_interval", "on_fail", "address",
            "watch", "url", "expect_status", "expect_body", "host", "tls_verify", "command",
            "shell", "path", "healthy_when", "pidfile", "server", "name", "qtype",
            "expect_rcode", "expect_answer", "service", "tls", "ttl", "http", "require",
        ]),
        kind in prop::sample::select(vec![
            "tcp", "http", "https", "exec", "file", "process", "dns", "grpc", "lease",
            "interface",
        ]),
        value in prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            "[a-z0-9:/.\\[\\] -]{0,20}".prop_map(|s| format!("{s:?}")),
            Just("true".to_string()),
            Just("[200, -1]".to_string()),
            Just("[\"\"]".to_string()),
        ],
    ) {
        check_never_panics(&check(kind, &format!("{key} = {value}\n")));
    }
}
