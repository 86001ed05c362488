//! What the inner allocator of `TrackingAllocator::new(Inner)` is asked
//! for, and what it is never asked for.
//!
//! - It sees the alignment the user asked for, also below 8 (an allocator
//!   that checks odd alignments passes its own tests under the tracker).
//! - The tracker's own work (taking a snapshot, symbolising, looking up a
//!   block's traceback, dropping the snapshot) makes no call to it.
//! - Nor does the leak-test runner's own bookkeeping (snapshots, growth
//!   series, the report) around a body that allocates nothing.
//! - Nor does `dump_every`: its thread, its snapshots and files, and the
//!   guard it returns.
//! - Nor does the session record written at exit: a child process of this
//!   binary, run as a session, has an inner allocator that aborts on any
//!   allocation once `main` has returned.
//!
//! A `harness = false` binary: the tests run one after the other on the
//! main thread, so the inner allocator's counts are exact.

use std::alloc::{GlobalAlloc, Layout, System, alloc, dealloc};
use std::cell::Cell;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use leakcheck_rt::TrackingAllocator;
use leakcheck_rt::session::SessionRecord;
use libtest_mimic::{Arguments, Trial};

mod common;

const FILE: &str = "leakcheck-rt/tests/inner_allocator.rs";
const SRC: &str = include_str!("inner_allocator.rs");
/// Set in the child process that runs as a session.
const CHILD: &str = "LEAKCHECK_TEST_INNER_SESSION_CHILD";

/// Counts every call, remembers the last layout it was asked for, and
/// aborts on an allocation once `EXITING` is set.
struct Recording;

static CALLS: AtomicUsize = AtomicUsize::new(0);
static LAST_SIZE: AtomicUsize = AtomicUsize::new(0);
static LAST_ALIGN: AtomicUsize = AtomicUsize::new(0);
static EXITING: AtomicBool = AtomicBool::new(false);
/// Records the calls of every thread, not only the one under test (for
/// the dump thread, which no test code runs on).
static RECORD_ALL: AtomicBool = AtomicBool::new(false);

thread_local! {
    // Calls are recorded on the thread under test only (the watchdog
    // thread allocates as it starts).
    static RECORD: Cell<bool> = const { Cell::new(false) };
}

fn note(layout: Layout, allocates: bool) {
    if RECORD_ALL.load(Relaxed) || RECORD.try_with(Cell::get).unwrap_or(false) {
        CALLS.fetch_add(1, Relaxed);
        LAST_SIZE.store(layout.size(), Relaxed);
        LAST_ALIGN.store(layout.align(), Relaxed);
    }
    if allocates && EXITING.load(Relaxed) {
        let msg = b"inner allocator: asked to allocate after main returned\n";
        // SAFETY: writes a valid buffer to stderr; no allocation.
        unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        std::process::abort();
    }
}

// SAFETY: forwards to `System` with the caller's arguments.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout, true);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout, true);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(layout, false);
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(layout, true);
        // SAFETY: forwarded from the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: TrackingAllocator<Recording> = TrackingAllocator::new(Recording);

#[inline(never)]
fn tracked_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: every layout used here has a non-zero size.
    std::hint::black_box(unsafe { alloc(layout) }) // SITE alloc
}

fn inner_sees_the_users_alignment() {
    RECORD.with(|r| r.set(true));
    leakcheck_rt::start(25);
    for (size, align) in [(1, 1), (3, 2), (5, 4), (7, 1), (9, 8), (100, 16), (3, 4096)] {
        let layout = Layout::from_size_align(size, align).unwrap();
        let p = tracked_alloc(layout);
        let asked = (LAST_SIZE.load(Relaxed), LAST_ALIGN.load(Relaxed));
        assert!(!p.is_null() && (p as usize).is_multiple_of(align));
        // SAFETY: `p` is a live block of `layout`; write all of it.
        unsafe { p.write_bytes(0x5a, size) };
        // The user's alignment, and the size plus the header (8 bytes, or
        // the alignment above 8).
        assert_eq!(asked, (size + align.max(8), align), "alloc of {layout:?}");
        // SAFETY: a live block of `layout` from the global allocator.
        unsafe { dealloc(p, layout) };
        let freed = (LAST_SIZE.load(Relaxed), LAST_ALIGN.load(Relaxed));
        assert_eq!(freed, asked, "dealloc of {layout:?}");
    }
    leakcheck_rt::stop();
}

fn tracker_work_never_calls_the_inner_allocator() {
    RECORD.with(|r| r.set(true));
    let line = common::marked_line(SRC, "// SITE alloc");
    let layout = Layout::from_size_align(48, 8).unwrap();
    leakcheck_rt::start(25);
    let blocks: Vec<*mut u8> = (0..3).map(|_| tracked_alloc(layout)).collect();
    // Twice: the first snapshot loads the debug info and fills the caches.
    for _ in 0..2 {
        let before = CALLS.load(Relaxed);
        let snap = leakcheck_rt::take_snapshot();
        // SAFETY: `blocks[0]` is a live block from the global allocator,
        // which is a `TrackingAllocator`.
        let traceback = unsafe { leakcheck_rt::object_traceback(blocks[0]) };
        let _ = leakcheck_rt::tracker_memory();
        let _ = leakcheck_rt::traced_memory();
        let calls = CALLS.load(Relaxed) - before;
        drop(traceback);
        let after_drop = CALLS.load(Relaxed) - before;
        assert_eq!(
            calls, 0,
            "symbolising or snapshotting called the inner allocator"
        );
        assert_eq!(
            after_drop, 0,
            "freeing a traceback called the inner allocator"
        );
        // Reading the snapshot is the user's work, and may use it.
        assert_eq!(
            common::at_line(&snap, FILE, line),
            (144, 3),
            "blocks not seen"
        );
        let before = CALLS.load(Relaxed);
        drop(snap);
        assert_eq!(
            CALLS.load(Relaxed) - before,
            0,
            "freeing a snapshot called the inner allocator"
        );
    }
    for p in blocks {
        // SAFETY: a live block of `layout` from the global allocator.
        unsafe { dealloc(p, layout) };
    }
    leakcheck_rt::stop();
}

fn the_leak_test_runner_never_calls_the_inner_allocator() {
    let config = leakcheck_rt::__private::LeakTestConfig {
        module_path: "inner_allocator",
        fn_name: "quiet_body",
        file: file!(),
        manifest_dir: env!("CARGO_MANIFEST_DIR"),
        warmup: 1,
        iters: 200,
        frames: 25,
        checkpoints: 4,
        max_iters: 800,
        min_bytes_per_iter: 0.0,
        min_growth_bytes: 256,
        snapshot: false,
        should_panic: None,
    };
    // The report goes nowhere and is judged here, in this process.
    // SAFETY: this test runs alone on the main thread (no other thread
    // reads the environment meanwhile).
    unsafe { std::env::set_var("LEAKCHECK_MODE", "measure") };
    let mut bodies = 0u64;
    RECORD.with(|r| r.set(true));
    let before = CALLS.load(Relaxed);
    leakcheck_rt::__private::run_leak_test(
        &config,
        &mut || bodies = std::hint::black_box(bodies + 1),
        &|report| panic!("a body that allocates nothing leaked: {report}"),
    );
    let calls = CALLS.load(Relaxed) - before;
    RECORD.with(|r| r.set(false));
    // SAFETY: as above.
    unsafe { std::env::remove_var("LEAKCHECK_MODE") };
    assert!(bodies >= 201, "the body ran {bodies} times");
    assert_eq!(
        calls, 0,
        "the runner's bookkeeping called the inner allocator"
    );
}

fn dump_every_never_calls_the_inner_allocator() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dumps");
    let layout = Layout::from_size_align(48, 8).unwrap();
    leakcheck_rt::start(25);
    let block = tracked_alloc(layout);
    // Every thread's calls: the dump thread's too. The watchdog thread is
    // asleep, and this one only waits for the dumps.
    let before = CALLS.load(Relaxed);
    RECORD_ALL.store(true, Relaxed);
    let dumps = leakcheck_rt::dump_every(std::time::Duration::from_millis(5), &out).unwrap();
    while dumps.written() < 2 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let written = dumps.stop().unwrap();
    RECORD_ALL.store(false, Relaxed);
    let calls = CALLS.load(Relaxed) - before;
    // Two calls are std's, not the dumper's: as the thread starts, before
    // any of its code runs, std copies its name ("leakcheck-dump") for the
    // stack overflow handler, and frees the copy as it exits.
    assert!(
        calls <= 2,
        "dump_every called the inner allocator {calls} times"
    );
    let line = common::marked_line(SRC, "// SITE alloc");
    let first = leakcheck_rt::Snapshot::load(out.join("snapshot-000001.json")).unwrap();
    assert!(written >= 2, "{written} dumps");
    assert_eq!(
        common::at_line(&first, FILE, line),
        (48, 1),
        "the block is not in the dump"
    );
    // SAFETY: a live block of `layout` from the global allocator.
    unsafe { dealloc(block, layout) };
    leakcheck_rt::stop();
}

fn session_record_is_written_without_the_inner_allocator() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("session.json");
    let out = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .env("LEAKCHECK_SESSION", &record)
        .output()
        .expect("the child runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    let record = SessionRecord::load(&record).expect("the session record was written");
    let line = common::marked_line(SRC, "// SITE session");
    assert_eq!(
        common::at_line(&record.live.to_snapshot(), FILE, line),
        (4096, 1),
        "the child's leak is not in its record"
    );
}

/// The session child: leaves one block live and returns; everything after
/// (the session's snapshot, symbolisation and record) is the tracker's.
fn session_child() {
    std::mem::forget(std::hint::black_box(vec![1u8; 4096])); // SITE session
    EXITING.store(true, Relaxed);
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        session_child();
        return;
    }
    common::watchdog(120, "inner_allocator");
    let mut args = Arguments::from_args();
    // Alone on the main thread: the inner allocator's counts stay exact.
    args.test_threads = Some(1);
    let tests = vec![
        Trial::test("inner_sees_the_users_alignment", || {
            inner_sees_the_users_alignment();
            Ok(())
        }),
        Trial::test("tracker_work_never_calls_the_inner_allocator", || {
            tracker_work_never_calls_the_inner_allocator();
            Ok(())
        }),
        Trial::test(
            "the_leak_test_runner_never_calls_the_inner_allocator",
            || {
                the_leak_test_runner_never_calls_the_inner_allocator();
                Ok(())
            },
        ),
        Trial::test("dump_every_never_calls_the_inner_allocator", || {
            dump_every_never_calls_the_inner_allocator();
            Ok(())
        }),
        Trial::test(
            "session_record_is_written_without_the_inner_allocator",
            || {
                session_record_is_written_without_the_inner_allocator();
                Ok(())
            },
        ),
    ];
    libtest_mimic::run(&args, tests).exit();
}
