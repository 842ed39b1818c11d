//! Decoding never allocates more than a small multiple of the input: a
//! length field must not buy memory the octets do not back.
//!
//! A counting global allocator (installed in this test binary) records, per thread,
//! the peak of live heap bytes while one input is decoded. Every BGP input
//! of the fuzz corpora (`fuzz/regressions/`, `fuzz/seeds/message_decode`,
//! and the `update_attributes`/`open_capabilities` seeds wrapped as their
//! fuzz targets wrap them) and every OSPF seed goes through the decoder, as
//! is and in deterministic mutations (bytes overwritten, length fields
//! inflated), and the peak must stay within `alloc_bound::limit` of its
//! length (128 bytes per octet plus 4 KiB). The fuzz targets install the
//! same allocator and check the same bound on every input they try.
//!
//! `cargo test --test decode_allocations` (CI runs it after the unit tests).

use std::path::Path;

use vipd::bgp::wire::{DecodeOptions, decode_message};
#[cfg(feature = "ospf")]
use vipd::ospf::wire::Packet;

#[path = "../fuzz/inputs.rs"]
mod inputs;

/// The allocator and the bound the fuzz targets use too.
#[path = "../fuzz/alloc_bound.rs"]
mod alloc_bound;

use alloc_bound::{BASE, PER_OCTET, limit, peak_of};

/// Mutations of each input.
const MUTATIONS: u64 = 64;

#[global_allocator]
static ALLOCATOR: alloc_bound::Counting = alloc_bound::Counting;

fn files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    if !dir.exists() {
        return Vec::new();
    }
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .map(|p| {
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), data)
        })
        .collect();
    out.sort();
    out
}

/// `input` and `MUTATIONS` deterministic variants: a few octets overwritten
/// with 0x00, 0xff or a pseudo-random value (0xff in a length field claims
/// the most).
fn mutations(input: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![input.to_vec()];
    if input.is_empty() {
        return out;
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ input.len() as u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..MUTATIONS {
        let mut m = input.to_vec();
        for _ in 0..1 + next() % 4 {
            let at = (next() % m.len() as u64) as usize;
            m[at] = match next() % 3 {
                0 => 0x00,
                1 => 0xff,
                _ => next() as u8,
            };
        }
        out.push(m);
    }
    out
}

struct Worst {
    what: String,
    len: usize,
    peak: usize,
}

fn check(what: &str, data: &[u8], decode: impl Fn(&[u8]), worst: &mut Option<Worst>) {
    let ((), peak) = peak_of(|| decode(data));
    assert!(
        peak <= limit(data.len()),
        "{what}: decoding {} octets allocated up to {peak} bytes (at most {PER_OCTET} per \
         octet plus {BASE})",
        data.len()
    );
    let ratio = |w: &Worst| w.peak as f64 / w.len.max(1) as f64;
    let this = Worst {
        what: what.to_string(),
        len: data.len(),
        peak,
    };
    if worst.as_ref().is_none_or(|w| ratio(&this) > ratio(w)) {
        *worst = Some(this);
    }
}

fn report(name: &str, count: usize, worst: Option<Worst>) {
    let w = worst.unwrap_or_else(|| panic!("{name}: no inputs"));
    println!(
        "{name}: {count} inputs; worst {} bytes for {} octets ({:.1} per octet): {}",
        w.peak,
        w.len,
        w.peak as f64 / w.len.max(1) as f64,
        w.what
    );
}

fn all_options() -> [DecodeOptions; 4] {
    [(false, false), (false, true), (true, false), (true, true)].map(
        |(four_octet_as, extended_nexthop_ipv4)| DecodeOptions {
            four_octet_as,
            extended_nexthop_ipv4,
        },
    )
}

#[test]
fn bgp_decoding_allocates_at_most_a_small_multiple_of_the_message() {
    let mut messages: Vec<(String, Vec<u8>)> = files("fuzz/regressions");
    messages.extend(files("fuzz/seeds/message_decode"));
    for (dir, wrap) in [
        (
            "fuzz/seeds/update_attributes",
            inputs::update_attributes as fn(&[u8]) -> Option<inputs::BgpInput>,
        ),
        (
            "fuzz/regressions/update_attributes",
            inputs::update_attributes,
        ),
        ("fuzz/seeds/open_capabilities", inputs::open_capabilities),
        (
            "fuzz/regressions/open_capabilities",
            inputs::open_capabilities,
        ),
    ] {
        for (name, data) in files(dir) {
            if let Some(input) = wrap(&data) {
                messages.push((name, input.message));
            }
        }
    }
    let mut worst = None;
    let mut count = 0;
    for (name, data) in &messages {
        for (i, m) in mutations(data).iter().enumerate() {
            for opts in all_options() {
                count += 1;
                check(
                    &format!("{name} mutation {i} {opts:?}"),
                    m,
                    |d| {
                        let _ = decode_message(d, opts);
                    },
                    &mut worst,
                );
            }
        }
    }
    report("BGP", count, worst);
}

#[test]
#[cfg(feature = "ospf")]
fn ospf_decoding_allocates_at_most_a_small_multiple_of_the_packet() {
    let mut worst = None;
    let mut count = 0;
    let mut packets = files("fuzz/seeds/ospf_packet");
    packets.extend(files("fuzz/regressions/ospf_packet"));
    for (name, data) in packets {
        let Some(inputs::OspfInput::Packet(bytes) | inputs::OspfInput::Authenticated(bytes)) =
            inputs::ospf(&data)
        else {
            continue;
        };
        for (i, m) in mutations(bytes).iter().enumerate() {
            count += 1;
            check(
                &format!("{name} mutation {i}"),
                m,
                |d| {
                    if let Ok(p) = Packet::decode(d)
                        && let vipd::ospf::wire::Body::LsUpdate(lsas) = &p.body
                    {
                        for lsa in lsas {
                            let _ = lsa.decode_body(p.version);
                        }
                    }
                },
                &mut worst,
            );
        }
    }
    report("OSPF", count, worst);
}

#[test]
fn the_counting_allocator_sees_allocations() {
    let ((), peak) = peak_of(|| {
        let v: Vec<u8> = Vec::with_capacity(100_000);
        std::hint::black_box(&v);
    });
    assert!(peak >= 100_000, "peak {peak}: the allocator counts nothing");
}
