//! Measures of leakcheck itself: tracker memory per live block, snapshot
//! and diff over a million blocks, and a `#[leak_test]`-shaped loop.

use std::hint::black_box;
use std::time::Instant;

use leakcheck_rt::KeyType;

use crate::probe;
use crate::stacks::{self, Block, DISTINCT_STACKS};

/// Live blocks held by [`hold`] and [`snapshot_and_diff`].
pub const LIVE_BLOCKS: usize = 1_000_000;

/// `key value` lines a measure reports.
pub type Metrics = Vec<(&'static str, f64)>;

/// Holds a million blocks of `size` bytes and reports the RSS they cost,
/// and, when tracking, the tracker's own memory, per block.
pub fn hold(size: usize, tracked: bool) -> Metrics {
    let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(LIVE_BLOCKS);
    // Touch the spine so that only the blocks show in the RSS delta.
    blocks.extend((0..LIVE_BLOCKS).map(|_| Vec::new()));
    blocks.clear();
    let tracker0 = tracked.then(leakcheck_rt::tracker_memory);
    let rss0 = probe::rss_bytes();
    for i in 0..LIVE_BLOCKS {
        let mut v = Vec::with_capacity(size);
        v.push(i as u8);
        blocks.push(v);
    }
    let rss1 = probe::rss_bytes();
    let n = LIVE_BLOCKS as f64;
    let mut out = vec![("rss_per_block", (rss1 - rss0) as f64 / n)];
    if let Some(tracker0) = tracker0 {
        let tracker1 = leakcheck_rt::tracker_memory();
        out.push(("tracker_per_block", tracker1 as f64 / n));
        out.push(("tracker_delta_per_block", (tracker1 - tracker0) as f64 / n));
    }
    black_box(&blocks);
    out
}

/// Whether the tracker counts the blocks C code allocates with `malloc`,
/// as it does with the `malloc` front end compiled in (`--native`):
/// `opendir` allocates its buffer of at least 32 KiB with glibc's `malloc`
/// and keeps it until the directory is closed, while the Rust side of
/// `read_dir` allocates a few bytes.
pub fn counts_c_malloc() -> bool {
    let before = leakcheck_rt::traced_memory().0;
    let dir = std::fs::read_dir("/");
    let grown = leakcheck_rt::traced_memory().0.saturating_sub(before);
    drop(dir);
    grown >= 4096
}

/// A million live blocks over a thousand distinct stacks: the first
/// snapshot (symbolising every stack), then warm snapshot + `compare_to`.
pub fn snapshot_and_diff() -> Metrics {
    let mut blocks: Vec<Block> = Vec::with_capacity(LIVE_BLOCKS + 10 * DISTINCT_STACKS);
    let per_stack = LIVE_BLOCKS / DISTINCT_STACKS;
    for s in 0..DISTINCT_STACKS {
        stacks::alloc_from_stack(s, &mut blocks, per_stack);
    }

    let t = Instant::now();
    let mut before = leakcheck_rt::take_snapshot();
    let cold = t.elapsed();
    let traces = before.traces().len();
    let distinct = before
        .traces()
        .iter()
        .filter(|t| t.count as usize == per_stack)
        .count();

    let mut warm = Vec::new();
    let mut diff_only = Vec::new();
    let mut diff_traceback = Vec::new();
    let mut changed = 0;
    for round in 0..5 {
        // Grow a few sites so the diff has something to report.
        for s in (round..DISTINCT_STACKS).step_by(100) {
            stacks::alloc_from_stack(s, &mut blocks, 2);
        }
        let t = Instant::now();
        let after = leakcheck_rt::take_snapshot();
        let t_diff = Instant::now();
        let diff = after.compare_to(&before, KeyType::Lineno);
        let end = Instant::now();
        warm.push((end - t).as_nanos() as f64);
        diff_only.push((end - t_diff).as_nanos() as f64);
        let t_tb = Instant::now();
        let by_stack = after.compare_to(&before, KeyType::Traceback);
        diff_traceback.push(t_tb.elapsed().as_nanos() as f64);
        changed = by_stack.iter().filter(|d| d.count_diff != 0).count();
        black_box((&diff, &by_stack));
        before = after;
    }
    // What one `dump_every` tick costs a service on top of the snapshot:
    // writing the file (atomically), and how big it is.
    let path =
        std::env::temp_dir().join(format!("leakcheck-bench-dump-{}.json", std::process::id()));
    let t = Instant::now();
    before.dump(&path).expect("the dump is written");
    let dump = t.elapsed();
    let dump_bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    let _ = std::fs::remove_file(&path);
    black_box(&blocks);
    vec![
        ("cold_snapshot_ns", cold.as_nanos() as f64),
        ("warm_snapshot_diff_ns", median(&mut warm)),
        ("diff_ns", median(&mut diff_only)),
        ("diff_traceback_ns", median(&mut diff_traceback)),
        ("traces", traces as f64),
        ("stacks_with_1000_blocks", distinct as f64),
        ("stacks_changed", changed as f64),
        ("dump_ns", dump.as_nanos() as f64),
        ("dump_bytes", dump_bytes as f64),
    ]
}

/// The body of the leak-test loop: a few small allocations, none kept.
#[inline(never)]
fn body(i: usize) {
    let v = vec![i as u8; 64];
    let s = format!("request-{i}");
    black_box((v, s));
}

/// Iterations of the leak-test loop, and the snapshots taken during it.
pub const LEAK_TEST_ITERS: usize = 10_000;
pub const LEAK_TEST_CHECKPOINTS: usize = 8;

/// What `#[leak_test(warmup = 1, iters = 10_000)]` does around a small
/// body: start, warm-up, snapshot, the iterations with a snapshot at each
/// checkpoint, a diff, stop. Untracked, only the body runs, for reference.
pub fn leak_test_loop(tracked: bool) -> Metrics {
    let t = Instant::now();
    if !tracked {
        for i in 0..LEAK_TEST_ITERS {
            body(i);
        }
        return vec![("nanos", t.elapsed().as_nanos() as f64)];
    }
    // The bench binary traces from its start; a leak test starts its own.
    leakcheck_rt::stop();
    let t = Instant::now();
    leakcheck_rt::start(25);
    body(0);
    let baseline = leakcheck_rt::take_snapshot();
    let mut last = None;
    let per = LEAK_TEST_ITERS / LEAK_TEST_CHECKPOINTS;
    for k in 0..LEAK_TEST_CHECKPOINTS {
        for i in 0..per {
            body(1 + k * per + i);
        }
        last = Some(leakcheck_rt::take_snapshot());
    }
    let diff = last
        .expect("checkpoints")
        .compare_to(&baseline, KeyType::Lineno);
    leakcheck_rt::stop();
    let nanos = t.elapsed().as_nanos() as f64;
    black_box(diff);
    vec![("nanos", nanos)]
}

/// The median of `xs` (sorted in place); 0 when empty.
pub fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    }
}
