//! The regression corpus: every file under `fuzz/regressions/` (each row of
//! the proto-test conformance table, and any crasher a fuzzer found) goes
//! through framing and decoding under every [`DecodeOptions`]. Nothing may
//! panic, the fuzz targets' own oracles must hold (so a seed never crashes a
//! fuzzer), and nothing decoded may be bigger than its input allows: a
//! length field must never buy an allocation the octets do not back.
//!
//! The other fuzz targets read their input differently, so their files live
//! in a directory per target: `fuzz/seeds/<target>/` (committed seeds, made
//! by `fuzz/make_seeds.py` from the test vectors) and
//! `fuzz/regressions/<target>/` (crashers once fixed). Each goes through the
//! same input mapping as its fuzz target (`fuzz/inputs.rs`, shared) and the
//! same oracles: `update_attributes` and `open_capabilities` through the
//! BGP decoder, `config_load` through the config loader, `ospf_packet`
//! through the OSPF packet and LSA decoders.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use bytes::BytesMut;

use super::super::*;

#[path = "../../../../fuzz/inputs.rs"]
mod inputs;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions");
const SEEDS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds");

/// The conformance table has more rows than this; fewer files means the
/// corpus went missing.
const MIN_SEEDS: usize = 50;

fn all_options() -> Vec<DecodeOptions> {
    [(false, false), (false, true), (true, false), (true, true)]
        .into_iter()
        .map(|(four_octet_as, extended_nexthop_ipv4)| DecodeOptions {
            four_octet_as,
            extended_nexthop_ipv4,
        })
        .collect()
}

/// Every seed file, sorted by name (README and other text files skipped).
fn seeds() -> Vec<(String, Vec<u8>)> {
    files_in(Path::new(DIR))
}

/// Every file directly in `dir` (not in its subdirectories), sorted by name,
/// `.md` files skipped; none if `dir` does not exist.
fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    if !dir.exists() {
        return Vec::new();
    }
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut seeds: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, data)
        })
        .collect();
    seeds.sort();
    seeds
}

/// The RFC 7606 findings are gone after a round trip (the malformed parts
/// were dropped on decode), so compare without them, as the fuzzer does.
fn without_errors(m: Message) -> Message {
    match m {
        Message::Update(mut u) => {
            u.errors.clear();
            Message::Update(u)
        }
        other => other,
    }
}

/// Nothing in `msg` is bigger than `input` octets can describe.
fn assert_bounded(msg: &Message, input: usize, what: &str) {
    let at_most = |len: usize, per_item: usize, field: &str| {
        assert!(
            len.saturating_mul(per_item) <= input,
            "{what}: {field} holds {len} items of >= {per_item} octets from {input} octets"
        );
    };
    match msg {
        Message::Update(u) => {
            at_most(u.withdrawn.capacity(), 1, "withdrawn capacity");
            at_most(u.nlri.capacity(), 1, "NLRI capacity");
            at_most(u.attributes.capacity(), 3, "attributes capacity");
            // One per malformed attribute (3 octets each at least), plus up
            // to three missing mandatory attributes.
            at_most(u.errors.len().saturating_sub(3), 3, "RFC 7606 errors");
            for a in &u.attributes {
                assert_attribute_bounded(a, input, what);
            }
        }
        Message::Open(o) => {
            at_most(o.capabilities.capacity(), 2, "capabilities capacity");
            at_most(o.unknown_params.len(), 2, "unknown parameters");
            for c in &o.capabilities {
                match c {
                    Capability::GracefulRestart(gr) => {
                        at_most(gr.families.capacity(), 4, "GR families")
                    }
                    Capability::ExtendedNextHop(e) => {
                        at_most(e.capacity(), 6, "extended next hop entries")
                    }
                    Capability::Unknown { value, .. } => {
                        at_most(value.len(), 1, "capability value")
                    }
                    _ => {}
                }
            }
            for (_, v) in &o.unknown_params {
                at_most(v.len(), 1, "parameter value");
            }
        }
        Message::Notification(n) => at_most(n.data.len(), 1, "NOTIFICATION data"),
        Message::Keepalive | Message::RouteRefresh(_) => {}
    }
}

fn assert_attribute_bounded(a: &PathAttribute, input: usize, what: &str) {
    let at_most = |len: usize, per_item: usize, field: &str| {
        assert!(
            len.saturating_mul(per_item) <= input,
            "{what}: {field} holds {len} items of >= {per_item} octets from {input} octets"
        );
    };
    let path = |p: &AsPath, field: &str| {
        at_most(p.segments.capacity(), 2, field);
        for s in &p.segments {
            at_most(s.asns.capacity(), 2, field);
        }
    };
    match a {
        PathAttribute::AsPath(p) | PathAttribute::As4Path(p) => path(p, "AS path"),
        PathAttribute::Communities(c) => at_most(c.capacity(), 4, "COMMUNITIES"),
        PathAttribute::LargeCommunities(c) => at_most(c.capacity(), 12, "LARGE_COMMUNITY"),
        PathAttribute::ExtendedCommunities(c) => at_most(c.capacity(), 8, "EXTENDED_COMMUNITIES"),
        PathAttribute::ClusterList(c) => at_most(c.capacity(), 4, "CLUSTER_LIST"),
        PathAttribute::MpReach(m) => {
            at_most(m.nlri.capacity(), 1, "MP_REACH_NLRI prefixes");
            at_most(m.unparsed_nlri.len(), 1, "MP_REACH_NLRI raw NLRI");
        }
        PathAttribute::MpUnreach(m) => {
            at_most(m.withdrawn.capacity(), 1, "MP_UNREACH_NLRI prefixes");
            at_most(m.unparsed_withdrawn.len(), 1, "MP_UNREACH_NLRI raw");
        }
        PathAttribute::Unknown { value, .. } => at_most(value.len(), 1, "unknown attribute"),
        _ => {}
    }
}

/// The `message_decode` fuzz target on one input.
fn as_one_message(data: &[u8], opts: DecodeOptions, what: &str) {
    match decode_message(data, opts) {
        Ok(msg) => {
            assert_bounded(&msg, data.len(), what);
            let mut out = BytesMut::new();
            encode_message(&msg, opts, &mut out);
            let again = decode_message(&out, opts)
                .unwrap_or_else(|e| panic!("{what}: our own encoding does not decode: {e}"));
            assert_eq!(
                without_errors(msg),
                without_errors(again),
                "{what}: round trip"
            );
        }
        Err(e) => {
            let n = Notification::from(&e);
            assert!(
                n.data.len() <= data.len().max(2),
                "{what}: NOTIFICATION data of {} octets from {} octets",
                n.data.len(),
                data.len()
            );
            let _ = n.to_string();
        }
    }
}

/// The `frame_stream` fuzz target: `data` read `chunk` octets at a time.
fn as_stream(data: &[u8], chunk: usize, opts: DecodeOptions, what: &str) {
    let mut buf = BytesMut::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match split_frame(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(
                        frame.len() <= MAX_MESSAGE_LEN,
                        "{what}: frame of {}",
                        frame.len()
                    );
                    if let Ok(msg) = decode_message(&frame, opts) {
                        assert_bounded(&msg, frame.len(), what);
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        // A pending message reserves at most its own (checked) length.
        assert!(
            buf.capacity() <= 2 * (MAX_MESSAGE_LEN + chunk),
            "{what}: read buffer grew to {} octets",
            buf.capacity()
        );
    }
}

#[test]
fn every_regression_seed_frames_and_decodes_without_panic_in_bounded_memory() {
    let seeds = seeds();
    assert!(
        seeds.len() >= MIN_SEEDS,
        "only {} seeds in {DIR}; the conformance table alone has more",
        seeds.len()
    );
    let mut failures = Vec::new();
    for (name, data) in &seeds {
        for opts in all_options() {
            let what = format!(
                "{name} (four_octet_as {}, extended_nexthop_ipv4 {})",
                opts.four_octet_as, opts.extended_nexthop_ipv4
            );
            let run = panic::catch_unwind(AssertUnwindSafe(|| {
                as_one_message(data, opts, &what);
                for chunk in [1, 3, 19, 64, data.len().max(1)] {
                    as_stream(data, chunk, opts, &what);
                }
            }));
            if let Err(p) = run {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{what}: {msg}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} seeds fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn regression_directory_is_where_the_fuzz_scripts_look() {
    assert!(Path::new(DIR).is_dir(), "{DIR} is missing");
    assert!(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/run.sh")).is_file(),
        "fuzz/run.sh seeds the fuzzers from {DIR}"
    );
}

/// Runs `check` on every seed and regression file of `target`, each under
/// `catch_unwind`, and fails with every failure at once. There must be
/// seeds: an empty corpus would prove nothing.
fn every_input_of(target: &str, check: impl Fn(&[u8], &str)) {
    let seeds = files_in(&Path::new(SEEDS_DIR).join(target));
    assert!(
        !seeds.is_empty(),
        "no seeds in {SEEDS_DIR}/{target}; run python3 fuzz/make_seeds.py"
    );
    let regressions = files_in(&Path::new(DIR).join(target));
    let mut failures = Vec::new();
    let inputs = seeds
        .iter()
        .map(|(n, d)| (format!("seeds/{target}/{n}"), d))
        .chain(
            regressions
                .iter()
                .map(|(n, d)| (format!("regressions/{target}/{n}"), d)),
        );
    for (what, data) in inputs {
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| check(data, &what))) {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{what}: {msg}"));
        }
    }
    println!(
        "{target}: {} seeds, {} regression files",
        seeds.len(),
        regressions.len()
    );
    assert!(
        failures.is_empty(),
        "{} inputs of {target} fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// One BGP message built by `fuzz/inputs.rs`: the `message_decode` oracles,
/// then framing in a few chunk sizes.
fn as_bgp_input(input: Option<inputs::BgpInput>, what: &str) {
    let Some(input) = input else {
        return;
    };
    let opts = DecodeOptions {
        four_octet_as: input.four_octet_as,
        extended_nexthop_ipv4: input.extended_nexthop_ipv4,
    };
    as_one_message(&input.message, opts, what);
    for chunk in [1, 64, input.message.len().max(1)] {
        as_stream(&input.message, chunk, opts, what);
    }
}

#[test]
fn every_update_attributes_input_decodes_without_panic_in_bounded_memory() {
    every_input_of("update_attributes", |data, what| {
        as_bgp_input(inputs::update_attributes(data), what)
    });
}

#[test]
fn every_open_capabilities_input_decodes_without_panic_in_bounded_memory() {
    every_input_of("open_capabilities", |data, what| {
        as_bgp_input(inputs::open_capabilities(data), what)
    });
}

#[test]
fn every_config_load_input_parses_or_gives_located_errors_without_panic() {
    every_input_of("config_load", |data, what| {
        let text = String::from_utf8_lossy(data);
        match crate::config::parse(&text, "fuzz.toml") {
            Ok(config) => {
                let _ = format!("{config:?}");
            }
            Err(errors) => {
                assert!(!errors.0.is_empty(), "{what}: an error list with no error");
                let _ = errors.to_string();
            }
        }
    });
}

#[test]
#[cfg(feature = "ospf")]
fn every_ospf_packet_input_decodes_without_panic() {
    use crate::ospf::wire::auth::{self, Algorithm, AuthKey};
    use crate::ospf::wire::lsa::LsaBody;
    use crate::ospf::wire::{Body, Packet, Version};

    fn packet(bytes: &[u8], what: &str) {
        let Ok(p) = Packet::decode(bytes) else {
            return;
        };
        let again = Packet::decode(&p.encode())
            .unwrap_or_else(|e| panic!("{what}: our own encoding does not decode: {e}"));
        assert_eq!(p, again, "{what}: round trip");
        if let Body::LsUpdate(lsas) = &p.body {
            assert!(
                lsas.len() * 20 <= bytes.len(),
                "{what}: {} LSAs from {} octets",
                lsas.len(),
                bytes.len()
            );
            for lsa in lsas {
                let _ = lsa.validate(p.version);
                let _ = lsa.decode_body(p.version);
            }
        }
    }
    fn body(version: Version, ls_type: u16, bytes: &[u8], what: &str) {
        let Ok(b) = LsaBody::decode(version, ls_type, bytes) else {
            return;
        };
        let mut out = Vec::new();
        b.encode(&mut out);
        let again = LsaBody::decode(version, ls_type, &out)
            .unwrap_or_else(|e| panic!("{what}: our own encoding does not decode: {e}"));
        assert_eq!(b, again, "{what}: round trip");
    }

    every_input_of("ospf_packet", |data, what| match inputs::ospf(data) {
        None => {}
        Some(inputs::OspfInput::Packet(bytes)) => packet(bytes, what),
        Some(inputs::OspfInput::Authenticated(bytes)) => {
            for algorithm in [Algorithm::Md5, Algorithm::HmacSha256] {
                let key = AuthKey {
                    algorithm,
                    key_id: 1,
                    key: inputs::OSPF_KEY.to_vec(),
                };
                let _ = auth::verify(bytes, Some(&key));
            }
            let _ = auth::verify(bytes, None);
            packet(bytes, what);
        }
        Some(inputs::OspfInput::LsaBody { ls_type, body: b }) => {
            body(Version::V2, ls_type, b, what);
            body(Version::V3, ls_type, b, what);
        }
    });
}
