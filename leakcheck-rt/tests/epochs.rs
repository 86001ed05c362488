//! `start`, `stop` and `clear_traces` semantics (tracemalloc's), and the
//! figures `traced_memory` and `tracker_memory` report.
//!
//! - Blocks counted before a `clear_traces` or `stop` are forgotten, and
//!   their later frees are ignored; a realloc of such a block is charged to
//!   the realloc; `stop` forgets everything and `start` begins afresh.
//! - `object_traceback` of a fresh `Box` names its line (and the test
//!   function above it); it is `None` for untracked blocks, for blocks from
//!   before `start`, and after `clear_traces` or `stop`.
//! - `traced_memory`'s current size is exact (also with blocks freed on
//!   another thread); the peak is at least the current size and within
//!   64 KiB per thread of the true peak; `reset_peak` brings it down.
//! - `tracker_memory` is above zero, costs at most 32 bytes per live block,
//!   and a bounded amount per distinct stack.
//! - `clear_traces` in a tight loop while exiting threads allocate and free
//!   in their last destructors (counted in the shared orphan table): no
//!   count of an ended epoch leaks into a new one. Default: 16 rounds × 4
//!   threads × 10,000 operations; `LEAKCHECK_STRESS=full`: 50 × 8 × 50,000.
//!
//! A `harness = false` binary: tracing state is global, so the cases run
//! one after the other on the main thread, with no other thread
//! allocating.

use std::alloc::{Layout, alloc, dealloc};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};

use leakcheck_rt::{KeyType, traced_memory};
use libtest_mimic::{Arguments, Trial};

mod common;

leakcheck_rt::install!();

const FILE: &str = "leakcheck-rt/tests/epochs.rs";
const SRC: &str = include_str!("epochs.rs");

fn line(name: &str) -> u32 {
    common::marked_line(SRC, &format!("// SITE {name}"))
}

fn at(name: &str) -> (u64, u64) {
    common::at_line(&leakcheck_rt::take_snapshot(), FILE, line(name))
}

#[inline(never)]
fn block_a(n: usize) -> Vec<u8> {
    vec![1u8; n] // SITE a
}

#[inline(never)]
fn block_b(n: usize) -> Vec<u8> {
    vec![2u8; n] // SITE b
}

#[inline(never)]
fn grow(v: &mut Vec<u8>, n: usize) {
    v.reserve_exact(n); // SITE grow
}

#[inline(never)]
fn raw_block(size: usize) -> *mut u8 {
    // SAFETY: a non-zero size.
    std::hint::black_box(unsafe { alloc(Layout::from_size_align(size, 8).unwrap()) }) // SITE raw
}

fn free_raw(p: *mut u8, size: usize) {
    // SAFETY: a live block of `size` bytes from `raw_block`.
    unsafe { dealloc(p, Layout::from_size_align(size, 8).unwrap()) }
}

fn frees_of_earlier_epochs_are_ignored() {
    let mut a: Vec<Vec<u8>> = Vec::with_capacity(100);
    let mut b: Vec<Vec<u8>> = Vec::with_capacity(100);
    leakcheck_rt::start(25);
    a.extend((0..100).map(|i| block_a(10 + i)));
    assert_eq!(at("a"), ((10..110).sum(), 100));

    leakcheck_rt::clear_traces();
    assert!(leakcheck_rt::is_tracing());
    assert_eq!(at("a"), (0, 0), "clear_traces forgets counted blocks");
    let before = traced_memory().0;
    b.extend((0..100).map(|i| block_b(1000 + i)));
    let b_bytes: u64 = (1000..1100).sum();
    assert_eq!(traced_memory().0 - before, b_bytes as usize);
    a.truncate(50); // frees of blocks from the earlier epoch
    assert_eq!(at("a"), (0, 0));
    assert_eq!(at("b"), (b_bytes, 100));
    assert_eq!(
        traced_memory().0 - before,
        b_bytes as usize,
        "an old free changed the current size"
    );
    // A realloc of an old block is charged to the realloc, once.
    grow(&mut a[0], 5000);
    let cap = a[0].capacity() as u64;
    assert_eq!(at("grow"), (cap, 1));
    assert_eq!(at("a"), (0, 0));

    leakcheck_rt::stop();
    assert!(!leakcheck_rt::is_tracing());
    assert_eq!(traced_memory(), (0, 0), "stop forgets everything");
    b.truncate(10); // frees after stop: ignored
    a.clear();
    leakcheck_rt::start(25);
    assert_eq!(at("b"), (0, 0));
    assert_eq!(at("grow"), (0, 0));
    b.clear(); // frees of blocks from before this start: ignored
    assert_eq!(traced_memory().0, 0);
    let p = raw_block(333);
    assert_eq!(traced_memory().0, 333);
    free_raw(p, 333);
    assert_eq!(traced_memory().0, 0);
    leakcheck_rt::stop();
}

#[inline(never)]
fn fresh_box() -> Box<[u64; 4]> {
    Box::new([7; 4]) // SITE box
}

fn traceback_line(b: &[u64; 4]) -> Option<(String, u32, Vec<String>)> {
    // SAFETY: the start of a live box from the global allocator.
    let tb = unsafe { leakcheck_rt::object_traceback((&raw const *b).cast()) }?;
    let frame = tb.charged_frame()?;
    Some((frame.file.clone(), frame.line, tb.format()))
}

fn object_traceback_follows_the_epochs() {
    let before_start = fresh_box();
    leakcheck_rt::start(25);
    let b = fresh_box();
    let (file, l, path) = traceback_line(&b).expect("a fresh box has a traceback");
    assert_eq!((file.as_str(), l), (FILE, line("box")));
    assert!(
        path.iter()
            .any(|f| f.contains("object_traceback_follows_the_epochs")),
        "{path:#?}"
    );
    assert!(
        path.iter().all(|f| !f.contains("leakcheck_rt::")),
        "{path:#?}"
    );
    assert_eq!(
        traceback_line(&before_start),
        None,
        "a block from before start"
    );
    let quiet = leakcheck_rt::untracked(fresh_box);
    assert_eq!(traceback_line(&quiet), None, "an untracked block");

    leakcheck_rt::clear_traces();
    assert_eq!(traceback_line(&b), None, "after clear_traces");
    let c = fresh_box();
    assert!(traceback_line(&c).is_some());
    leakcheck_rt::stop();
    assert_eq!(traceback_line(&c), None, "after stop");
    leakcheck_rt::start(25);
    assert_eq!(traceback_line(&c), None, "after a new start");
    leakcheck_rt::stop();
}

fn traced_memory_is_exact_and_peak_bounded() {
    const SLACK: usize = 64 << 10; // per thread, see `traced_memory`
    let sizes: Vec<usize> = (0..2000).map(|i| 1 + (i * 7919) % 20_000).collect();
    let mut held: Vec<(usize, usize)> = Vec::with_capacity(sizes.len());
    leakcheck_rt::start(25);
    let base = traced_memory().0;
    let mut truth = 0;
    let mut true_peak = 0;
    for &s in &sizes {
        held.push((raw_block(s) as usize, s));
        truth += s;
        true_peak = true_peak.max(truth);
        if held.len().is_multiple_of(3) {
            let (p, s) = held.swap_remove(held.len() / 2);
            free_raw(p as *mut u8, s);
            truth -= s;
        }
        assert_eq!(traced_memory().0 - base, truth);
    }
    let (current, peak) = traced_memory();
    assert!(peak >= current, "{peak} < {current}");
    assert!(
        peak + SLACK >= base + true_peak && peak <= base + true_peak + SLACK,
        "peak {peak}, true {}",
        base + true_peak
    );

    // Freed on another thread: the sum over all threads stays exact.
    let (give, keep) = held.split_at(held.len() / 2);
    let give: Vec<(usize, usize)> = give.to_vec();
    let given: usize = give.iter().map(|&(_, s)| s).sum();
    std::thread::spawn(move || {
        for (p, s) in give {
            free_raw(p as *mut u8, s);
        }
    })
    .join()
    .unwrap();
    truth -= given;
    assert_eq!(traced_memory().0 - base, truth);

    leakcheck_rt::reset_peak();
    let (current, peak) = traced_memory();
    assert_eq!(peak, current, "reset_peak");
    for &(p, s) in keep {
        free_raw(p as *mut u8, s);
    }
    assert_eq!(traced_memory().0, base);
    leakcheck_rt::stop();
}

/// `depth` calls deep, so each depth is a distinct stack.
#[inline(never)]
fn nested(depth: usize, n: usize, out: &mut Vec<usize>) {
    if depth == 0 {
        for _ in 0..n {
            out.push(raw_block(8) as usize);
        }
    } else {
        nested(black_box(depth - 1), n, out);
    }
}

fn tracker_memory_per_block_and_stack() {
    const BLOCKS: usize = 100_000;
    // Distinct only while the walk (25 + 8 frames) reaches this function.
    const STACKS: usize = 20;
    let mut held: Vec<usize> = Vec::with_capacity(BLOCKS + STACKS);
    leakcheck_rt::start(25);
    let empty = leakcheck_rt::tracker_memory();
    assert!(empty > 0, "the tracker uses some memory once tracing");
    nested(0, BLOCKS, &mut held);
    let blocks = leakcheck_rt::tracker_memory();
    let per_block = (blocks - empty) as f64 / BLOCKS as f64;
    for d in 1..=STACKS {
        nested(d, 1, &mut held);
    }
    let stacks = leakcheck_rt::tracker_memory();
    let per_stack = (stacks - blocks - STACKS * 8) as f64 / STACKS as f64;
    for &p in &held {
        free_raw(p as *mut u8, 8);
    }
    let after = leakcheck_rt::tracker_memory();
    leakcheck_rt::stop();
    eprintln!(
        "epochs: tracker memory {empty} B when idle, {per_block:.2} B per live block ({BLOCKS} blocks of one stack), \
         {per_stack:.0} B per new 25-frame stack, {after} B after freeing"
    );
    assert!(per_block <= 32.0, "{per_block} B per block");
    // A stack of 25 + 8 frames, its index entry and a counter per table.
    assert!(per_stack <= 1024.0, "{per_stack} B per stack");
    assert!(after < stacks, "freed blocks' headers still counted");
}

/// `true` if `f` panics (quietly: the panic is expected).
fn panics(f: impl FnOnce() + std::panic::UnwindSafe) -> bool {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let panicked = std::panic::catch_unwind(f).is_err();
    std::panic::set_hook(hook);
    panicked
}

fn start_limits_and_restart() {
    assert!(panics(|| leakcheck_rt::start(0)));
    assert!(panics(|| leakcheck_rt::start(129)));
    assert!(!leakcheck_rt::is_tracing());
    leakcheck_rt::start(3);
    assert_eq!(leakcheck_rt::traceback_limit(), 3);
    let b = block_a(10);
    let snap = leakcheck_rt::take_snapshot();
    assert_eq!(snap.traceback_limit(), 3);
    // The limit counts frames from the charged one outwards; the standard
    // library's frames below it come on top.
    assert!(snap.traces().iter().all(|t| {
        let frames = t.traceback.frames();
        frames
            .iter()
            .rposition(|f| !f.is_std())
            .map_or(0, |i| i + 1)
            <= 3
    }));
    // Starting again while tracing only changes the limit; nothing is lost.
    leakcheck_rt::start(10);
    assert_eq!(leakcheck_rt::traceback_limit(), 10);
    let stats = leakcheck_rt::take_snapshot().statistics(KeyType::Traceback);
    assert!(stats.iter().any(|s| s.size == 10 && s.count == 1));
    drop(b);
    leakcheck_rt::stop();
    assert!(
        panics(|| drop(leakcheck_rt::take_snapshot())),
        "take_snapshot without tracing must panic"
    );
}

#[inline(never)]
fn orphan_block(n: usize) -> Vec<u8> {
    vec![5u8; n] // SITE orphan
}

static ORPHAN_KEY: AtomicUsize = AtomicUsize::new(0);
static ORPHAN_OPS: AtomicUsize = AtomicUsize::new(0);

/// Runs in a pthread-key destructor created after the tracker's, so after
/// the thread released its counter table: it counts in the shared orphan
/// table. An odd value leaks one 64-byte block; an even one allocates and
/// frees that many.
extern "C" fn orphan_dtor(value: *mut libc::c_void) {
    let n = value as usize;
    if n % 2 == 1 {
        std::mem::forget(orphan_block(64));
        return;
    }
    for i in 0..n {
        black_box(orphan_block(1 + i % 512));
        ORPHAN_OPS.fetch_add(1, Relaxed);
    }
}

fn orphan_threads(threads: usize, value: usize) {
    let key = ORPHAN_KEY.load(Acquire) as libc::pthread_key_t;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                // A tracked allocation first: the thread claims its table.
                black_box(Box::new(1u8));
                // SAFETY: a key created by this test for this value.
                unsafe { libc::pthread_setspecific(key, value as *mut libc::c_void) };
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

fn clear_traces_racing_the_orphan_table() {
    let rounds = common::scale(16, 50);
    let threads = common::scale(4, 8);
    let ops = common::scale(10_000, 50_000);
    leakcheck_rt::start(25);
    drop(black_box(Box::new(1u8)));
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: creates a key whose destructor only allocates and frees.
    let created = unsafe { libc::pthread_key_create(&mut key, Some(orphan_dtor)) };
    assert_eq!(created, 0);
    ORPHAN_KEY.store(key as usize, Release);

    let mut clears = 0u64;
    let mut failures = Vec::new();
    for round in 0..rounds {
        // Threads alloc and free in their last destructor while the epoch
        // keeps changing under them.
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                orphan_threads(threads, ops);
                done.store(true, Release);
            });
            while !done.load(Acquire) {
                leakcheck_rt::clear_traces();
                clears += 1;
            }
        });
        // Everything was freed: nothing may be left over on that line, and
        // what is counted now must be exact.
        let left = at("orphan");
        orphan_threads(3, 1);
        let three = at("orphan");
        if (left, three) != ((0, 0), (3 * 64, 3)) {
            failures.push(format!(
                "round {round}: {left:?} left over, then {three:?} for 3 blocks of 64 B"
            ));
        }
        leakcheck_rt::clear_traces();
    }
    // SAFETY: no thread uses the key any more.
    unsafe { libc::pthread_key_delete(key) };
    leakcheck_rt::stop();
    eprintln!(
        "epochs: {} orphan-table allocations and frees by {rounds} × {threads} exiting threads \
         against {clears} clear_traces",
        ORPHAN_OPS.load(Relaxed)
    );
    assert!(
        failures.is_empty(),
        "counts of ended epochs leaked into new ones:\n{}",
        failures.join("\n")
    );
}

fn main() {
    common::watchdog(60, "epochs");
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let cases: [(&str, fn()); 6] = [
        (
            "frees_of_earlier_epochs_are_ignored",
            frees_of_earlier_epochs_are_ignored,
        ),
        (
            "object_traceback_follows_the_epochs",
            object_traceback_follows_the_epochs,
        ),
        (
            "traced_memory_is_exact_and_peak_bounded",
            traced_memory_is_exact_and_peak_bounded,
        ),
        (
            "tracker_memory_per_block_and_stack",
            tracker_memory_per_block_and_stack,
        ),
        ("start_limits_and_restart", start_limits_and_restart),
        (
            "clear_traces_racing_the_orphan_table",
            clear_traces_racing_the_orphan_table,
        ),
    ];
    let tests = cases
        .into_iter()
        .map(|(name, f)| {
            Trial::test(name, move || {
                f();
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, tests).exit();
}
