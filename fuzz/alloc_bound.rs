//! A counting global allocator: decoding one input may not allocate more
//! than [`PER_OCTET`] bytes per input octet plus [`BASE`] at its peak. A
//! length field must not buy memory the input's octets do not back.
//!
//! Shared (through `#[path]`) by the BGP and OSPF fuzz targets, which
//! install [`Counting`] as their global allocator, so the bound is an oracle
//! on every input the fuzzer tries, with or without a sanitizer. Also shared
//! by `tests/decode_allocations.rs`, which checks the corpora in CI. The
//! counters are per thread and never allocate.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Decoded structures are bigger than their wire form (an `IpNet` for a
/// 1-octet prefix, a `Vec` growing by doubling, an RFC 7606 finding with its
/// reason text for every malformed 3-octet attribute: about 75 bytes per
/// octet, found by the `update_attributes` fuzzer and kept as
/// `fuzz/regressions/update_attributes/many-empty-unknown-attributes`), so
/// up to 128 bytes per input octet are fair. A count or length field trusted
/// blindly reserves far more: 64 KiB from a 2-octet field, gigabytes from
/// the 4-octet LSA count of an OSPF LS Update.
pub const PER_OCTET: usize = 128;
/// Fixed costs: error values, a first small `Vec` or two.
pub const BASE: usize = 4 * 1024;

/// The most decoding `len` octets may allocate at its peak.
pub fn limit(len: usize) -> usize {
    PER_OCTET.saturating_mul(len).saturating_add(BASE)
}

pub struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn add(n: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(n);
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

/// Runs `f` and returns its result and the peak of live heap bytes it added
/// on this thread (what it returns included).
pub fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = f();
    (r, PEAK.with(Cell::get).saturating_sub(base))
}

/// Runs `f`, which decodes `len` octets, and panics if it allocated more
/// than [`limit`]`(len)` at its peak.
pub fn bounded<R>(len: usize, what: &str, f: impl FnOnce() -> R) -> R {
    let (r, peak) = peak_of(f);
    assert!(
        peak <= limit(len),
        "{what}: decoding {len} octets allocated up to {peak} bytes (limit {})",
        limit(len)
    );
    r
}
