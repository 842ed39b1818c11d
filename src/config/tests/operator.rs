//! `[speaker]` keys of the operator surface: `control_socket`, `metrics`.

use super::*;

fn speaker(extra: &str) -> Speaker {
    ok(&with_speaker(extra)).speaker
}

#[test]
fn the_control_socket_is_on_at_the_default_path_unless_configured() {
    let default = Some(PathBuf::from("/run/vipd/vipd.sock"));
    assert_eq!(speaker("").control_socket, default);
    assert_eq!(speaker("control_socket = true\n").control_socket, default);
    assert_eq!(
        speaker("control_socket = \"/var/lib/vipd/ctl.sock\"\n").control_socket,
        Some(PathBuf::from("/var/lib/vipd/ctl.sock"))
    );
}

#[test]
fn false_or_an_empty_path_turns_the_control_socket_off() {
    assert_eq!(speaker("control_socket = false\n").control_socket, None);
    assert_eq!(speaker("control_socket = \"\"\n").control_socket, None);
}

#[test]
fn the_control_socket_must_be_an_absolute_path_that_fits_sun_path() {
    assert_eq!(
        errors(&with_speaker("control_socket = \"vipd.sock\"\n")),
        [
            "vipd.toml:4:18: speaker.control_socket: \"vipd.sock\" cannot be the control \
             socket: it must be an absolute path (vipd and the vipd commands may run in \
             different directories)"
        ]
    );
    let long = format!("/run/{}", "x".repeat(103));
    assert_eq!(
        errors(&with_speaker(&format!("control_socket = \"{long}\"\n"))),
        [format!(
            "vipd.toml:4:18: speaker.control_socket: \"{long}\" cannot be the control \
             socket: a Unix socket path has at most 107 bytes"
        )]
    );
    // 107 bytes is the longest that fits.
    let longest = format!("/run/{}", "x".repeat(102));
    assert_eq!(
        speaker(&format!("control_socket = \"{longest}\"\n")).control_socket,
        Some(PathBuf::from(longest))
    );
}

#[test]
fn the_control_socket_is_a_path_or_a_boolean() {
    assert_eq!(
        errors(&with_speaker("control_socket = 1\n")),
        [
            "vipd.toml:4:18: speaker.control_socket: invalid type: integer `1`, expected a path or a boolean"
        ]
    );
}

#[test]
fn metrics_are_off_unless_an_address_is_given() {
    assert_eq!(speaker("").metrics, None);
    assert_eq!(
        speaker("metrics = \"127.0.0.1:9100\"\n").metrics,
        Some(SocketAddr::from(([127, 0, 0, 1], 9100)))
    );
    assert_eq!(
        speaker("metrics = \"::1\"\n").metrics,
        Some("[::1]:9179".parse().unwrap())
    );
}

#[test]
fn the_metrics_address_must_be_an_address_and_a_usable_port() {
    assert_eq!(
        errors(&with_speaker("metrics = \"localhost:9179\"\n")),
        [
            "vipd.toml:4:11: speaker.metrics: \"localhost:9179\" is not a metrics address \
             (expected ADDRESS:PORT such as \"127.0.0.1:9179\")"
        ]
    );
    assert_eq!(
        errors(&with_speaker("metrics = \"127.0.0.1:0\"\n")),
        ["vipd.toml:4:11: speaker.metrics: port 0 is not usable (1..=65535)"]
    );
}
