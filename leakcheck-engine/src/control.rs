//! Global tracing state and the tracemalloc-style control functions.
//!
//! ```text
//!            start(n)                    stop()
//!  Off ────────────────► Tracing ─────────────────► Off
//!   ▲                    │  ▲  clear_traces()
//!   └── (epoch += 1) ────┘  └──── (epoch += 1)
//! ```
//!
//! Every start, stop and clear begins a new epoch: blocks counted in an
//! older epoch are forgotten, and their frees are ignored.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicUsize, Ordering::*};

use super::counters::{self, PEAK, RUNNING};
use super::fast;
use super::guard::Guard;
#[cfg(doc)]
use super::hooks::Hooks;
use super::intern;
use super::sample;
use super::stack::{self, MAX_NFRAME, SLACK};

pub static TRACING: AtomicBool = AtomicBool::new(false);
pub static EPOCH: AtomicU32 = AtomicU32::new(1);
/// Raw frames captured per allocation: `nframe` plus the tracker's own.
pub static DEPTH: AtomicUsize = AtomicUsize::new(25 + SLACK);
static NFRAME: AtomicUsize = AtomicUsize::new(25);
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// 0: not looked at yet, 1: being looked at, 2: done.
static FIRST: AtomicU8 = AtomicU8::new(0);
/// Set by [`start_owned`]: tracing belongs to a session, and `start`,
/// `stop` and `clear_traces` leave it alone.
static OWNED: AtomicBool = AtomicBool::new(false);
static WARNED: AtomicBool = AtomicBool::new(false);

/// The fewest raw frames walked, whatever `nframe` is: the tracker's own
/// frames and the standard library's between the allocation and the line
/// it is charged to are walked on top of `nframe` and not counted in it,
/// and in an unoptimised build they alone can be a dozen or more.
const MIN_DEPTH: usize = 32;

/// Raw frames walked per allocation for a frame limit of `nframe`.
fn raw_depth(nframe: usize) -> usize {
    (nframe + SLACK).max(MIN_DEPTH)
}

pub fn installed() -> bool {
    INSTALLED.load(Relaxed)
}

pub fn epoch() -> u32 {
    EPOCH.load(Relaxed)
}

/// `true` once tracing was started by [`start_owned`].
fn owned() -> bool {
    OWNED.load(Relaxed)
}

/// Runs once, on the process's first allocation through the tracker
/// (usually before `main`): notes that the tracker is installed, and calls
/// the front end's one hook out, `hook` ([`Hooks::first_allocation`]:
/// leakcheck-rt's session policy lives there).
#[inline]
pub fn first_allocation(hook: fn()) {
    if FIRST.load(Relaxed) == 2 {
        return;
    }
    first_allocation_slow(hook);
}

#[cold]
fn first_allocation_slow(hook: fn()) {
    if FIRST.compare_exchange(0, 1, AcqRel, Relaxed).is_err() {
        return;
    }
    INSTALLED.store(true, Relaxed);
    // Inside the first allocation: allocations the hook makes re-enter
    // here and find `FIRST` at 1.
    hook();
    FIRST.store(2, Release);
    fast::set(fast::FIRST_PENDING, false);
}

/// Starts tracing with `nframe` frames for good: `start`, `stop` and
/// `clear_traces` do nothing from now on (a session records the whole
/// process, and a test must not erase it). Checks the frame pointers first,
/// so that nothing is recorded with a wrong walk.
pub fn start_owned(nframe: usize) {
    check_frame_pointers();
    OWNED.store(true, Relaxed);
    begin(nframe);
}

fn begin(nframe: usize) {
    NFRAME.store(nframe, Relaxed);
    DEPTH.store(raw_depth(nframe), Relaxed);
    new_epoch();
    TRACING.store(true, Release);
}

fn new_epoch() {
    // One epoch change at a time: two racing `clear_traces` could otherwise
    // both pick the same next epoch, and the second would zero counts the
    // first epoch's writers had already made. Never taken inside `alloc`.
    static CHANGING: AtomicBool = AtomicBool::new(false);
    while CHANGING
        .compare_exchange_weak(false, true, Acquire, Relaxed)
        .is_err()
    {
        std::hint::spin_loop();
    }
    let next = EPOCH.load(Relaxed).wrapping_add(1).max(1);
    counters::reset_orphan(next);
    RUNNING.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    EPOCH.store(next, Release);
    CHANGING.store(false, Release);
}

/// Starts tracing allocations, keeping `nframe` frames per call stack
/// (tracemalloc's `start`). Traces of an earlier run are cleared. If tracing
/// is already on, only the frame limit changes.
///
/// The frames are counted from the line a block is charged to outwards:
/// leakcheck's own frames and the standard library's below that line are
/// walked on top, so `start(1)` keeps the allocating line.
///
/// On the first call it checks that this binary keeps frame pointers; if it
/// does not, it warns once on stderr and uses the slower DWARF unwinder.
///
/// # Panics
///
/// If `nframe` is 0 or above 128, or if the global allocator is not a
/// [`TrackingAllocator`](crate::TrackingAllocator).
pub fn start(nframe: usize) {
    if !may_start("start", nframe) {
        return;
    }
    if TRACING.load(Acquire) && sample::parameters().is_none() {
        NFRAME.store(nframe, Relaxed);
        DEPTH.store(raw_depth(nframe), Relaxed);
        return;
    }
    sample::set(None);
    begin(nframe);
}

/// Starts sampled tracing: only some allocations get a stack, one per
/// `mean_bytes` allocated bytes on average and at least one in
/// `min_one_in` allocations, and each sampled block stands for the blocks
/// and bytes it was picked from (`sample.rs`). Traces of an earlier run are
/// cleared, unless tracing is already sampled the same way (then only the
/// frame limit changes). Does nothing in a session, which traces exactly.
///
/// # Panics
///
/// As [`start`].
pub fn start_sampled(nframe: usize, mean_bytes: u64, min_one_in: u64) {
    if !may_start("start_sampled", nframe) {
        return;
    }
    let wanted = (mean_bytes.max(1), min_one_in.max(1));
    if TRACING.load(Acquire) && sample::parameters() == Some(wanted) {
        NFRAME.store(nframe, Relaxed);
        DEPTH.store(raw_depth(nframe), Relaxed);
        return;
    }
    sample::set(Some(wanted));
    begin(nframe);
}

/// `(mean_bytes, min_one_in)` while tracing is sampled; `None` while it is
/// exact (or off after an exact run).
pub fn sampling() -> Option<(u64, u64)> {
    sample::parameters()
}

/// The checks of [`start`] and [`start_sampled`] (named `what` in their
/// panics), and the frame-pointer check; `false` in a session, which keeps
/// its own tracing (and its deeper stacks).
fn may_start(what: &str, nframe: usize) -> bool {
    assert!(
        (1..=MAX_NFRAME).contains(&nframe),
        "leakcheck_rt::{what}: nframe must be between 1 and {MAX_NFRAME}, got {nframe}"
    );
    assert!(
        installed(),
        "leakcheck_rt::{what}: the global allocator is not leakcheck's TrackingAllocator; \
         add `leakcheck_rt::install!();` to the test crate"
    );
    check_frame_pointers();
    !owned()
}

/// The start of the one line printed when a binary falls back to the DWARF
/// unwinder; `cargo leakcheck` looks for it in a test binary's stderr.
pub const UNWINDER_NOTICE: &str = "leakcheck: this binary has no frame pointers";

/// Takes stacks with the DWARF unwinder from now on, without the check and
/// its notice (a front end that knows the program has no frame pointers).
#[cfg(all(leakcheck_native, target_os = "linux", target_env = "gnu"))]
pub fn use_unwinder_quietly() {
    WARNED.store(true, Relaxed);
    stack::use_unwinder(true);
}

/// Checks once per process that the frame-pointer walk is right; if not,
/// switches to the DWARF unwinder and says so in one line on stderr.
fn check_frame_pointers() {
    if WARNED.swap(true, Relaxed) {
        return;
    }
    let _guard = Guard::enter();
    if stack::frame_pointers_work() {
        return;
    }
    stack::use_unwinder(true);
    let line = format!(
        "{UNWINDER_NOTICE}, so stacks are taken with the slower DWARF unwinder; build with \
         RUSTFLAGS=\"-C force-frame-pointers=yes\" (cargo leakcheck does) for fast tracing\n"
    );
    // Straight to the file descriptor: this may run inside the first
    // allocation, where std's stderr handle must not be set up.
    let mut rest = line.as_bytes();
    while !rest.is_empty() {
        // SAFETY: writes initialised bytes of a live buffer to fd 2.
        let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            break;
        }
        rest = &rest[n as usize..];
    }
}

/// Stops tracing and clears all traces (tracemalloc's `stop`).
///
/// In a `cargo leakcheck` session the session owns tracing: `stop` and
/// [`clear_traces`] do nothing there, so a test cannot erase what the
/// session records.
pub fn stop() {
    if owned() {
        return;
    }
    TRACING.store(false, Release);
    new_epoch();
    sample::set(None);
}

/// `true` while allocations are traced.
pub fn is_tracing() -> bool {
    TRACING.load(Acquire)
}

/// Forgets all traces; tracing goes on (tracemalloc's `clear_traces`).
pub fn clear_traces() {
    if owned() {
        return;
    }
    new_epoch();
}

/// Raw frames each allocation's walk captures now: the frame limit and
/// the tracker's own frames on top. A raw stack shorter than this ended
/// before the limit.
pub fn walk_depth() -> usize {
    DEPTH.load(Relaxed)
}

/// The frame limit given to [`start`].
pub fn traceback_limit() -> usize {
    NFRAME.load(Relaxed)
}

/// Current and peak size of traced memory, in bytes (tracemalloc's
/// `get_traced_memory`). The current size is exact; the peak is exact to
/// within 64 KiB per allocating thread, which counts in batches.
pub fn traced_memory() -> (usize, usize) {
    let current = exact_current();
    let peak = PEAK.load(Relaxed).max(current as i64);
    (current, peak as usize)
}

/// Sets the peak of [`traced_memory`] to the current size.
pub fn reset_peak() {
    PEAK.store(exact_current() as i64, Relaxed);
}

/// Bytes the tracker itself uses: counter tables, interned stacks and the
/// header of every traced block (tracemalloc's `get_tracemalloc_memory`).
pub fn tracker_memory() -> usize {
    let (_, blocks) = totals();
    let blocks = if sample::on() {
        blocks / sample::COUNT_ONE
    } else {
        blocks
    };
    counters::memory() + intern::memory() + blocks.max(0) as usize * 8
}

fn exact_current() -> usize {
    totals().0.max(0) as usize
}

fn totals() -> (i64, i64) {
    let _guard = Guard::enter();
    let sums = sums();
    sums.iter()
        .fold((0, 0), |(s, c), &[ds, dc, _]| (s + ds, c + dc))
}

fn sums() -> Vec<[i64; 3]> {
    let epoch = EPOCH.load(Acquire);
    let mut sums = vec![[0i64; 3]; intern::id_limit() as usize];
    counters::for_each(|t| t.sum_into(epoch, &mut sums));
    sums
}

/// Live blocks of one interned stack.
#[derive(Debug, Clone, Copy)]
pub struct RawTrace {
    pub stack: u32,
    /// Bytes: exact, or estimated when tracing is sampled.
    pub size: u64,
    /// Blocks: exact, or estimated when tracing is sampled.
    pub count: u64,
    /// Sampled blocks behind the estimates (`count` when exact).
    pub samples: u64,
}

/// Live blocks per stack in the current epoch. Call inside a [`Guard`].
pub fn collect() -> Vec<RawTrace> {
    let sampled = sample::on();
    sums()
        .into_iter()
        .enumerate()
        .filter(|(_, [size, count, _])| *count > 0 || *size > 0)
        .map(|(id, [size, count, samples])| {
            let count = count.max(0) as u64;
            let (count, samples) = if sampled {
                let one = sample::COUNT_ONE as u64;
                ((count + one / 2) / one, samples.max(0) as u64)
            } else {
                (count, count)
            };
            RawTrace {
                stack: id as u32,
                size: size.max(0) as u64,
                count,
                samples,
            }
        })
        .filter(|t| t.count > 0 || t.size > 0)
        .collect()
}
