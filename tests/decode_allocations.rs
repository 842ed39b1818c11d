//! Decoding never allocates more than a small multiple of the input: a
//! length field must not buy memory the octets do not back.
//!
//! A counting global allocator (this test binary only) records, per thread,
//! the peak of live heap bytes while one input is decoded. Every BGP input
//! of the fuzz corpora (`fuzz/regressions/`, `fuzz/seeds/message_decode`,
//! and the `update_attributes`/`open_capabilities` seeds wrapped as their
//! fuzz targets wrap them) and every OSPF seed goes through the decoder, as
//! is and in deterministic mutations (bytes overwritten, length fields
//! inflated), and the peak must stay within [`PER_OCTET`] times its length
//! plus [`BASE`].
//!
//! `cargo test --test decode_allocations` (CI runs it after the unit tests).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use vipd::bgp::wire::{DecodeOptions, decode_message};
use vipd::ospf::wire::Packet;

#[path = "../fuzz/inputs.rs"]
mod inputs;

/// Decoded structures are bigger than their wire form (an `IpNet` for a
/// 1-octet prefix, a `Vec` growing by doubling), so a few dozen bytes per
/// input octet are fair; a length field trusted blindly would be 64 KiB
/// from a 2-octet field.
const PER_OCTET: usize = 64;
/// Fixed costs: error values, a first small `Vec` or two.
const BASE: usize = 4 * 1024;
/// Mutations of each input.
const MUTATIONS: u64 = 64;

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn add(n: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + n;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn sub(n: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(n)));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters are thread-local cells that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size());
        // SAFETY: the caller's layout, forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        sub(layout.size());
        // SAFETY: ptr came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(layout.size());
        // SAFETY: the caller's layout, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Count the new block before the old one is freed: realloc may copy.
        add(new_size);
        sub(layout.size());
        // SAFETY: ptr came from System with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The peak of live heap bytes `f` added on this thread.
fn peak_of(f: impl FnOnce()) -> usize {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    f();
    PEAK.with(Cell::get) - base
}

fn files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
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
    let peak = peak_of(|| decode(data));
    assert!(
        peak <= PER_OCTET * data.len() + BASE,
        "{what}: decoding {} octets allocated up to {peak} bytes",
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
        ("fuzz/seeds/open_capabilities", inputs::open_capabilities),
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
fn ospf_decoding_allocates_at_most_a_small_multiple_of_the_packet() {
    let mut worst = None;
    let mut count = 0;
    for (name, data) in files("fuzz/seeds/ospf_packet") {
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
    let peak = peak_of(|| {
        let v: Vec<u8> = Vec::with_capacity(100_000);
        std::hint::black_box(&v);
    });
    assert!(peak >= 100_000, "peak {peak}: the allocator counts nothing");
}
