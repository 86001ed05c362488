//! The tracker over another allocator: an inner `GlobalAlloc` that counts
//! its own live blocks and bytes and can be told to fail.
//!
//! - The seed case (a cache that keeps 1 KiB per request) is found through
//!   the wrapper as through `System`.
//! - The inner allocator gets back exactly the layouts it handed out: its
//!   live counts move by the user's size plus the header per block, and
//!   return to where they were when everything is freed.
//! - When the inner allocator fails (null from alloc, alloc_zeroed and
//!   realloc, also for over-aligned blocks), and when a layout is too large
//!   for the header, the caller gets null and no count changes: not the
//!   snapshot's, not `traced_memory`'s, not the inner allocator's; the block
//!   a failed realloc left alone is still intact and counted once.
//!
//! A `harness = false` binary: the tests run one after the other on the
//! main thread, so the inner allocator's counts are exact.

use std::alloc::{GlobalAlloc, Layout, System, alloc, alloc_zeroed, dealloc, realloc};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use leakcheck_rt::{KeyType, TrackingAllocator};
use libtest_mimic::{Arguments, Trial};

mod common;

const FILE: &str = "leakcheck-rt/tests/wrapped.rs";
const SRC: &str = include_str!("wrapped.rs");

/// Counts the blocks and bytes it serves; fails on demand (on the thread
/// that asked), so other threads are never affected.
struct Counting;

static LIVE_BLOCKS: AtomicI64 = AtomicI64::new(0);
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static BAD_LAYOUTS: AtomicI64 = AtomicI64::new(0);

thread_local! {
    static FAIL: Cell<bool> = const { Cell::new(false) };
}

fn failing() -> bool {
    FAIL.with(Cell::get)
}

fn inner_counts() -> (i64, i64) {
    (LIVE_BYTES.load(Relaxed), LIVE_BLOCKS.load(Relaxed))
}

/// The tracker always asks for room for its 8-byte header.
fn note_layout(layout: Layout) {
    if layout.size() < 8 {
        BAD_LAYOUTS.fetch_add(1, Relaxed);
    }
}

// SAFETY: forwards to `System` with the caller's arguments, or returns null
// (a failed allocation) without touching memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_layout(layout);
        if failing() {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BLOCKS.fetch_add(1, Relaxed);
            LIVE_BYTES.fetch_add(layout.size() as i64, Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_layout(layout);
        if failing() {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BLOCKS.fetch_add(1, Relaxed);
            LIVE_BYTES.fetch_add(layout.size() as i64, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_layout(layout);
        LIVE_BLOCKS.fetch_sub(1, Relaxed);
        LIVE_BYTES.fetch_sub(layout.size() as i64, Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_layout(layout);
        if failing() {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: TrackingAllocator<Counting> = TrackingAllocator::new(Counting);

struct Service {
    cache: HashMap<u64, Vec<u8>>,
}

impl Service {
    fn handle_request(&mut self, id: u64) {
        let payload = vec![0u8; 1024]; // LEAK LINE
        self.cache.insert(id, payload);
    }
}

fn seed_case_through_the_wrapper() {
    let leak_line = common::marked_line(SRC, "// LEAK LINE");
    let mut service = Service {
        cache: HashMap::new(),
    };
    leakcheck_rt::start(25);
    service.handle_request(u64::MAX);
    let baseline = leakcheck_rt::take_snapshot();
    let inner_before = inner_counts();
    for id in 0..10_000 {
        service.handle_request(id);
    }
    let inner_after = inner_counts();
    let after = leakcheck_rt::take_snapshot();
    let top = after.compare_to(&baseline, KeyType::Lineno);
    let frame = top[0].traceback.charged_frame().unwrap();
    assert_eq!(
        (frame.file.as_str(), frame.line),
        (FILE, leak_line),
        "{}",
        top[0]
    );
    assert_eq!(top[0].count_diff, 10_000);
    assert!(top[0].size_diff >= 10_240_000, "{}", top[0]);
    // Every payload reached the inner allocator with its header.
    assert!(inner_after.1 - inner_before.1 >= 10_000);
    assert!(inner_after.0 - inner_before.0 >= 10_000 * (1024 + 8));
    drop(service);
    leakcheck_rt::stop();
}

#[inline(never)]
fn tracked_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: every layout used here has a non-zero size.
    std::hint::black_box(unsafe { alloc(layout) }) // SITE alloc
}

fn inner_gets_back_exactly_its_layouts() {
    let layouts: Vec<Layout> = [
        (1, 1),
        (7, 2),
        (8, 8),
        (100, 16),
        (3, 64),
        (5000, 4096),
        (1, 1 << 20),
    ]
    .iter()
    .map(|&(s, a)| Layout::from_size_align(s, a).unwrap())
    .collect();
    let mut blocks = Vec::with_capacity(layouts.len());
    leakcheck_rt::start(25);
    let before = inner_counts();
    for &layout in &layouts {
        blocks.push((tracked_alloc(layout), layout));
    }
    let during = inner_counts();
    for &(p, layout) in &blocks {
        assert!(
            !p.is_null() && (p as usize).is_multiple_of(layout.align()),
            "{layout:?}"
        );
        // SAFETY: a live block of `layout` from the global allocator.
        unsafe { dealloc(p, layout) };
    }
    let after = inner_counts();
    leakcheck_rt::stop();
    let with_headers: i64 = layouts
        .iter()
        .map(|l| (l.size() + l.align().max(8)) as i64)
        .sum();
    assert_eq!(
        during.0 - before.0,
        with_headers,
        "inner bytes: user sizes plus headers"
    );
    assert_eq!(during.1 - before.1, layouts.len() as i64);
    assert_eq!(after, before, "the inner allocator got every block back");
    assert_eq!(
        BAD_LAYOUTS.load(Relaxed),
        0,
        "a layout without room for the header"
    );
}

/// What the tracker and the inner allocator count now. (The snapshot
/// itself is the tracker's: it never reaches the inner allocator.)
fn all_counts(line: u32) -> ((u64, u64), usize, (i64, i64)) {
    let inner = inner_counts();
    let current = leakcheck_rt::traced_memory().0;
    let snap = leakcheck_rt::take_snapshot();
    (common::at_line(&snap, FILE, line), current, inner)
}

fn failing_inner_allocator_changes_no_count() {
    let line = common::marked_line(SRC, "// SITE alloc");
    let small = Layout::from_size_align(100, 8).unwrap();
    let aligned = Layout::from_size_align(300, 4096).unwrap();
    let too_big = Layout::from_size_align(isize::MAX as usize - 4, 1).unwrap();
    let mut spare: Vec<u8> = Vec::with_capacity(16);
    leakcheck_rt::start(25);
    let p = tracked_alloc(small);
    let q = tracked_alloc(aligned);
    // SAFETY: both blocks are live and at least 100 bytes long.
    unsafe {
        p.write_bytes(0xab, 100);
        q.write_bytes(0xcd, 100);
    }
    // Once before, so the snapshot's caches hold these stacks already.
    all_counts(line);
    let before = all_counts(line);
    assert_eq!(before.0, (400, 2));

    // Nothing on this thread may allocate while the inner allocator fails:
    // the results are checked after.
    FAIL.with(|f| f.set(true));
    // SAFETY: valid, non-zero layouts and live blocks of the given layouts.
    let results = unsafe {
        [
            alloc(small),
            alloc_zeroed(small),
            alloc(aligned),
            alloc_zeroed(aligned),
            realloc(p, small, 10_000),
            realloc(p, small, 50),
            realloc(q, aligned, 1 << 20),
            realloc(q, aligned, 8),
        ]
    };
    let try_reserve = spare.try_reserve_exact(1 << 20).is_err();
    FAIL.with(|f| f.set(false));
    // Layouts too large for the header fail in the tracker itself.
    // SAFETY: valid layouts and a live block; the tracker must refuse them.
    let refused = unsafe { [alloc(too_big), realloc(p, small, isize::MAX as usize - 7)] };

    assert!(results.iter().all(|r| r.is_null()), "{results:?}");
    assert!(refused.iter().all(|r| r.is_null()), "{refused:?}");
    assert!(try_reserve, "try_reserve_exact did not report the failure");
    assert_eq!(spare.capacity(), 16);
    assert_eq!(
        all_counts(line),
        before,
        "a failed allocation changed a count"
    );
    // SAFETY: the failed reallocs left both blocks live and untouched.
    unsafe {
        assert!(
            std::slice::from_raw_parts(p, 100)
                .iter()
                .all(|&b| b == 0xab)
        );
        assert!(
            std::slice::from_raw_parts(q, 100)
                .iter()
                .all(|&b| b == 0xcd)
        );
        dealloc(p, small);
        dealloc(q, aligned);
    }
    let after = all_counts(line);
    assert_eq!(after.0, (0, 0), "the blocks were counted more than once");
    assert_eq!(after.1, before.1 - 400);
    assert_eq!((after.2).1, (before.2).1 - 2);
    leakcheck_rt::stop();
}

fn main() {
    common::watchdog(60, "wrapped");
    let mut args = Arguments::from_args();
    // Alone on the main thread: the inner allocator's counts stay exact.
    args.test_threads = Some(1);
    let tests = vec![
        Trial::test("seed_case_through_the_wrapper", || {
            seed_case_through_the_wrapper();
            Ok(())
        }),
        Trial::test("inner_gets_back_exactly_its_layouts", || {
            inner_gets_back_exactly_its_layouts();
            Ok(())
        }),
        Trial::test("failing_inner_allocator_changes_no_count", || {
            failing_inner_allocator_changes_no_count();
            Ok(())
        }),
    ];
    libtest_mimic::run(&args, tests).exit();
}
