//! Sampled tracking: which allocations get a stack, and what each sampled
//! block stands for.
//!
//! ```text
//!  alloc(s) ──► bytes -= s, allocs -= 1 ──► both still > 0 ──► untracked (header: stack 0)
//!                                   │
//!                                   └─► either ran out ──► sampled: stack, weight; redraw what ran out
//! ```
//!
//! Each thread keeps two countdowns: bytes until the next point of a
//! Poisson process over allocated bytes (exponential gaps of mean
//! `mean_bytes`), and allocations until the next of a Bernoulli process
//! over allocations (geometric gaps of mean `min_one_in`). Both are
//! memoryless, so a block of `s` bytes is sampled with probability
//! `p(s) = 1 − e^(−s/mean_bytes) · (1 − 1/min_one_in)` whatever came before
//! it, and stands for `1/p(s)` blocks and `s/p(s)` bytes (jemalloc and Go
//! weigh their samples the same way). The count floor is what makes a leak
//! of small blocks visible: byte sampling alone would see a 48-byte node
//! once per ten thousand allocations at 512 KiB.
//!
//! A sampled block's header has a stack id, and an unsampled one has none,
//! so `free` tells them apart from the header alone. The parameters only
//! change with a new tracing epoch, whose start forgets every older block,
//! so the weight a `free` subtracts is the weight its `alloc` added.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use super::fast;
use super::local::thread_state;

/// One estimated block, in the counters' fixed point: a sampled run counts
/// blocks in 1/65536ths, so that `1/p(s)` adds up without rounding each
/// block to a whole one.
pub const COUNT_ONE: i64 = 1 << 16;

static ON: AtomicBool = AtomicBool::new(false);
static MEAN_BYTES: AtomicU64 = AtomicU64::new(512 << 10);
static MIN_ONE_IN: AtomicU64 = AtomicU64::new(1024);
/// Mixed into each thread's seed.
static SEEDS: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);

/// A thread's two countdowns and its random state (0: not seeded yet).
#[derive(Debug, Clone, Copy)]
struct Countdown {
    bytes: i64,
    allocs: i64,
    rng: u64,
}

/// The same in cells, as the thread keeps it: each read and written on
/// its own, in registers, never copied whole. The countdowns are kept one
/// below what is left (a countdown that ran out is negative), so that one
/// sign test of `bytes | allocs` tells that neither ran out.
struct Cells {
    bytes: Cell<i64>,
    allocs: Cell<i64>,
    rng: Cell<u64>,
}

thread_state! {
    // `const` and without `Drop`, like every engine thread-local.
    static COUNTDOWN: Cells = const {
        Cells { bytes: Cell::new(0), allocs: Cell::new(0), rng: Cell::new(0) }
    };
}

/// `true` while tracking is sampled.
#[inline(always)]
pub fn on() -> bool {
    ON.load(Relaxed)
}

/// The parameters of sampled tracking, `(mean_bytes, min_one_in)`, or
/// `None` when tracking is exact.
pub fn parameters() -> Option<(u64, u64)> {
    on().then(|| (MEAN_BYTES.load(Relaxed), MIN_ONE_IN.load(Relaxed)))
}

/// Sets sampled tracking on (`Some`) or off, before a new epoch begins.
pub(crate) fn set(parameters: Option<(u64, u64)>) {
    if let Some((mean_bytes, min_one_in)) = parameters {
        MEAN_BYTES.store(mean_bytes.max(1), Relaxed);
        MIN_ONE_IN.store(min_one_in.max(1), Relaxed);
        ON.store(true, Relaxed);
        fast::set(fast::NOT_SAMPLED, false);
    } else {
        fast::set(fast::NOT_SAMPLED, true);
        ON.store(false, Relaxed);
    }
}

/// Whether the current thread's next block of `size` bytes is sampled.
/// Never allocates; a thread whose state is gone samples nothing.
#[inline(always)]
pub fn pick(size: usize) -> bool {
    count_down(size) && picked()
}

/// The first half of [`pick`]: moves the current thread's countdowns on by
/// a block of `size` bytes; `true` when one of them ran out, and then
/// [`picked`] says whether the block is sampled. Nothing else may move the
/// countdowns in between.
#[inline(always)]
pub fn count_down(size: usize) -> bool {
    COUNTDOWN
        .try_with(|c| {
            let bytes = c.bytes.get().wrapping_sub(size as i64);
            let allocs = c.allocs.get().wrapping_sub(1);
            c.bytes.set(bytes);
            c.allocs.set(allocs);
            // Both are one below what is left: negative when one ran out.
            bytes | allocs < 0
        })
        .unwrap_or(false)
}

/// The second half of [`pick`], after [`count_down`] said `true`.
#[cold]
#[inline(never)]
pub fn picked() -> bool {
    COUNTDOWN.try_with(ran_out).unwrap_or(false)
}

/// [`pick`] after one of the countdowns ran out (or of a thread whose
/// state is new): [`redraw`] on the whole countdown.
fn ran_out(c: &Cells) -> bool {
    let mut whole = Countdown {
        bytes: c.bytes.get().wrapping_add(1),
        allocs: c.allocs.get().wrapping_add(1),
        rng: c.rng.get(),
    };
    let sampled = redraw(&mut whole);
    c.bytes.set(whole.bytes - 1);
    c.allocs.set(whole.allocs - 1);
    c.rng.set(whole.rng);
    sampled
}

/// The slow path of [`pick`]: one of the countdowns ran out (or the
/// thread's state is new). Draws the next gap of each that ran out.
fn redraw(c: &mut Countdown) -> bool {
    if c.rng == 0 {
        // A new thread: its first gaps are drawn, not taken as run out.
        c.rng = seed();
        c.bytes = draw_bytes(&mut c.rng);
        c.allocs = draw_allocs(&mut c.rng);
        return false;
    }
    let sampled = c.bytes <= 0 || c.allocs <= 0;
    if c.bytes <= 0 {
        c.bytes = draw_bytes(&mut c.rng);
    }
    if c.allocs <= 0 {
        c.allocs = draw_allocs(&mut c.rng);
    }
    sampled
}

/// The block count and bytes a sampled block of `size` bytes stands for:
/// `(s/p(s), 2^16/p(s))`, rounded.
#[inline]
pub fn weight(size: usize) -> (i64, i64) {
    let p = probability(
        size as u64,
        MEAN_BYTES.load(Relaxed),
        MIN_ONE_IN.load(Relaxed),
    );
    let bytes = (size as f64 / p).round() as i64;
    let count = (COUNT_ONE as f64 / p).round() as i64;
    (bytes, count)
}

/// `p(s)` of the module's docs.
pub fn probability(size: u64, mean_bytes: u64, min_one_in: u64) -> f64 {
    let by_bytes = (-(size as f64) / mean_bytes.max(1) as f64).exp();
    let by_count = 1.0 - 1.0 / min_one_in.max(1) as f64;
    (1.0 - by_bytes * by_count).clamp(f64::MIN_POSITIVE, 1.0)
}

fn seed() -> u64 {
    let local = 0u8;
    let mixed = SEEDS.fetch_add(0x9e37_79b9_7f4a_7c15, Relaxed) ^ (&local as *const u8 as u64);
    splitmix(mixed) | 1
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in (0, 1] (xorshift64*).
fn uniform(rng: &mut u64) -> f64 {
    let mut x = *rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *rng = x;
    let bits = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
    (bits as f64 + 1.0) / (1u64 << 53) as f64
}

/// An exponential gap of mean `mean_bytes`, at least 1 byte.
fn draw_bytes(rng: &mut u64) -> i64 {
    let mean = MEAN_BYTES.load(Relaxed) as f64;
    ((-uniform(rng).ln() * mean).ceil() as i64).max(1)
}

/// A geometric gap (on 1, 2, …) of mean `min_one_in`.
fn draw_allocs(rng: &mut u64) -> i64 {
    let n = MIN_ONE_IN.load(Relaxed);
    if n <= 1 {
        return 1;
    }
    let q = (1.0 - 1.0 / n as f64).ln();
    ((uniform(rng).ln() / q).floor() as i64)
        .saturating_add(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// The tests set the process's parameters: one at a time.
    static TURN: Mutex<()> = Mutex::new(());

    /// The fraction of blocks of each size that the countdowns pick is
    /// `p(s)`, within 4 standard errors.
    #[test]
    fn countdowns_sample_each_size_with_its_probability() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let mut c = Countdown {
            bytes: 0,
            allocs: 0,
            rng: 0,
        };
        MEAN_BYTES.store(4096, Relaxed);
        MIN_ONE_IN.store(64, Relaxed);
        for size in [16usize, 512, 4096, 65536] {
            let n = 200_000;
            let mut hits = 0;
            for _ in 0..n {
                c.bytes -= size as i64;
                c.allocs -= 1;
                if (c.bytes <= 0 || c.allocs <= 0 || c.rng == 0) && redraw(&mut c) {
                    hits += 1;
                }
            }
            assert_picked_at_its_rate(size, hits, n);
        }
    }

    /// `hits` of `n` blocks of `size` bytes picked at a mean of 4096 bytes
    /// and at least one in 64: within four standard errors of the
    /// probability.
    fn assert_picked_at_its_rate(size: usize, hits: usize, n: usize) {
        let p = probability(size as u64, 4096, 64);
        let observed = hits as f64 / n as f64;
        let se = (p * (1.0 - p) / n as f64).sqrt().max(1e-9);
        assert!(
            (observed - p).abs() < 4.0 * se + 1e-4,
            "size {size}: picked {observed:.5}, expected {p:.5}"
        );
    }

    /// The same through the thread's cells, as allocations pick: the
    /// countdowns kept one below what is left sample as the plain ones do.
    #[test]
    fn pick_samples_each_size_with_its_probability() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        MEAN_BYTES.store(4096, Relaxed);
        MIN_ONE_IN.store(64, Relaxed);
        for size in [1usize, 16, 4096, 65536] {
            let n = 200_000;
            let hits = (0..n).filter(|_| pick(size)).count();
            assert_picked_at_its_rate(size, hits, n);
        }
        // The count floor alone: exactly the allocations its gaps end on.
        MEAN_BYTES.store(u64::MAX >> 2, Relaxed);
        MIN_ONE_IN.store(1, Relaxed);
        // Both countdowns run out on the next pick, which draws new ones.
        COUNTDOWN
            .try_with(|c| {
                c.bytes.set(0);
                c.allocs.set(0);
            })
            .unwrap();
        assert!((0..100).all(|_| pick(1)));
    }

    #[test]
    fn weights_undo_the_probability() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        MEAN_BYTES.store(512 << 10, Relaxed);
        MIN_ONE_IN.store(1024, Relaxed);
        // A 48-byte node: the count floor dominates (1 in 1024), and the
        // bytes add a little (1 in 10,923): 1 in 936.
        let (bytes, count) = weight(48);
        let p = probability(48, 512 << 10, 1024);
        assert!((1.0 / p - 936.3).abs() < 0.1, "1/p = {}", 1.0 / p);
        assert_eq!(count, (COUNT_ONE as f64 / p).round() as i64);
        assert_eq!(bytes, (48.0 / p).round() as i64);
        // A block far larger than the mean is always sampled, as itself.
        assert_eq!(weight(64 << 20), (64 << 20, COUNT_ONE));
    }
}
