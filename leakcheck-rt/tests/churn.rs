//! Threads re-created every round (mimalloc's stress test): each round
//! spawns fresh threads that allocate, reallocate and free, swap blocks
//! through a shared exchange array (so a block is freed or reallocated on
//! another thread than the one that allocated it), free big blocks whose
//! addresses another thread gets back at once, and leave their blocks to
//! the next round's threads when they exit. Between rounds, with every
//! thread joined, the live bytes and blocks charged to each allocating line
//! equal the blocks still held, exactly; counter tables of exited threads
//! are reused, so the tracker's own memory does not grow with the rounds.
//!
//! Default: 8 rounds × 8 threads × 5,000 operations.
//! `LEAKCHECK_STRESS=full`: 30 rounds × 16 threads × 20,000 operations.

use std::alloc::{Layout, alloc, dealloc, realloc};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};

mod common;
use common::Rng;

leakcheck_rt::install!();

const FILE: &str = "leakcheck-rt/tests/churn.rs";
const SRC: &str = include_str!("churn.rs");
const ALIGN: usize = 16;
const OWN_MAX: usize = 64;

/// Blocks in flight between threads.
static EXCHANGE: [AtomicPtr<u8>; 64] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 64];
/// Recently freed big blocks: address | thread index (addresses are
/// 16-aligned, and there are at most 16 threads).
static RECENT: [AtomicUsize; 16] = [const { AtomicUsize::new(0) }; 16];
static RECENT_AT: AtomicUsize = AtomicUsize::new(0);
static REUSED: AtomicU64 = AtomicU64::new(0);
static SWAPPED: AtomicU64 = AtomicU64::new(0);

/// The lines that allocate, as stored in each block's second word.
const SITES: [&str; 3] = ["small", "realloc", "big"];

// Every block starts with its size and the index of its site, so whoever
// holds it can free it and the ground truth can be read from the blocks.

#[inline(never)]
fn new_small(size: usize) -> *mut u8 {
    // SAFETY: `size >= 16`, a valid non-zero layout.
    let p = unsafe { alloc(Layout::from_size_align(size, ALIGN).unwrap()) }; // SITE small
    label(p, size, 0)
}

#[inline(never)]
fn new_big(size: usize) -> *mut u8 {
    // SAFETY: `size >= 16`, a valid non-zero layout.
    let p = unsafe { alloc(Layout::from_size_align(size, ALIGN).unwrap()) }; // SITE big
    label(p, size, 2)
}

#[inline(never)]
fn resize(p: *mut u8, new_size: usize) -> *mut u8 {
    let old = size_of_block(p);
    // SAFETY: `p` is a live block of `old` bytes held by this thread, and
    // `new_size >= 16`.
    let q = unsafe { realloc(p, Layout::from_size_align(old, ALIGN).unwrap(), new_size) }; // SITE realloc
    label(q, new_size, 1)
}

fn label(p: *mut u8, size: usize, site: u64) -> *mut u8 {
    assert!(!p.is_null() && (p as usize).is_multiple_of(ALIGN));
    // SAFETY: a live block of at least 16 bytes, 16-aligned.
    unsafe {
        p.cast::<u64>().write(size as u64);
        p.cast::<u64>().add(1).write(site);
    }
    p
}

fn size_of_block(p: *mut u8) -> usize {
    // SAFETY: a live block labelled by `label`.
    unsafe { p.cast::<u64>().read() as usize }
}

fn site_of_block(p: *mut u8) -> usize {
    // SAFETY: a live block labelled by `label`.
    unsafe { p.cast::<u64>().add(1).read() as usize }
}

fn free(p: *mut u8, me: usize) {
    let size = size_of_block(p);
    if size >= 128 << 10 {
        let at = RECENT_AT.fetch_add(1, Relaxed) % RECENT.len();
        RECENT[at].store(p as usize | me, Relaxed);
    }
    // SAFETY: a live block of `size` bytes, 16-aligned, held by this thread.
    unsafe { dealloc(p, Layout::from_size_align(size, ALIGN).unwrap()) };
}

fn note_reuse(p: *mut u8, me: usize) {
    for slot in &RECENT {
        let v = slot.load(Relaxed);
        if v & !0xf == p as usize && v & 0xf != me {
            REUSED.fetch_add(1, Relaxed);
            return;
        }
    }
}

fn worker(me: usize, seed: u64, ops: usize, mut own: Vec<usize>) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    for _ in 0..ops {
        let roll = rng.below(100);
        if own.is_empty() || (own.len() < OWN_MAX && roll < 40) {
            let max = if rng.chance(90) { 256 } else { 8192 };
            let size = 16 + rng.below(max) as usize;
            own.push(new_small(size) as usize);
        } else if roll < 50 {
            let i = rng.below(own.len() as u64) as usize;
            let size = 16 + rng.below(4096) as usize;
            own[i] = resize(own[i] as *mut u8, size) as usize;
        } else if roll < 70 {
            free(
                own.swap_remove(rng.below(own.len() as u64) as usize) as *mut u8,
                me,
            );
        } else if roll < 95 {
            // Swap one of ours for whatever another thread left in the slot.
            let i = rng.below(own.len() as u64) as usize;
            let slot = &EXCHANGE[rng.below(EXCHANGE.len() as u64) as usize];
            let got = slot.swap(own[i] as *mut u8, AcqRel);
            if got.is_null() {
                own.swap_remove(i);
            } else {
                own[i] = got as usize;
                SWAPPED.fetch_add(1, Relaxed);
            }
        } else {
            // A big block, mapped and unmapped by the system allocator: the
            // address another thread just freed comes back here at once.
            let size = (128 << 10) + ALIGN * rng.below(8) as usize;
            let p = new_big(size);
            note_reuse(p, me);
            if rng.chance(80) {
                free(p, me);
            } else {
                own.push(p as usize);
            }
        }
    }
    // Leave some to the next round, free the rest here.
    let keep = own.split_off(own.len() / 2);
    for p in own {
        free(p as *mut u8, me);
    }
    keep
}

/// Live (bytes, blocks) per site, read from the blocks themselves.
fn truth(carry: &[usize]) -> [(u64, u64); 3] {
    let mut t = [(0, 0); 3];
    let held = EXCHANGE
        .iter()
        .map(|s| s.load(Acquire) as usize)
        .filter(|&p| p != 0);
    for p in carry.iter().copied().chain(held) {
        let site = site_of_block(p as *mut u8);
        t[site].0 += size_of_block(p as *mut u8) as u64;
        t[site].1 += 1;
    }
    t
}

fn check(lines: &[u32; 3], carry: &[usize], round: usize) {
    let snap = leakcheck_rt::take_snapshot();
    let got: HashMap<u32, (u64, u64)> = common::by_line(&snap, FILE);
    let want = truth(carry);
    for (i, name) in SITES.iter().enumerate() {
        let have = got.get(&lines[i]).copied().unwrap_or((0, 0));
        assert_eq!(
            have, want[i],
            "after round {round}: site {name} (bytes, blocks)"
        );
    }
}

#[test]
fn threads_recreated_every_round_count_exactly() {
    common::watchdog(120, "churn");
    let rounds = common::scale(8, 30);
    let threads = common::scale(8, 16);
    let ops = common::scale(5_000, 20_000);
    let lines = SITES.map(|name| common::marked_line(SRC, &format!("// SITE {name}")));
    // A fixed threshold: big blocks are always mapped and unmapped, so
    // freed addresses come back on other threads.
    // SAFETY: a plain glibc tunable, set before any thread of ours exists.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 10) };

    let carry: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    leakcheck_rt::start(25);
    let mut tracker_after_first = 0;
    for round in 0..rounds {
        let handed: Vec<Vec<usize>> = {
            let mut carry = carry.lock().unwrap();
            let per = carry.len() / threads + 1;
            (0..threads)
                .map(|_| {
                    let at = carry.len() - per.min(carry.len());
                    carry.split_off(at)
                })
                .collect()
        };
        std::thread::scope(|s| {
            let hs: Vec<_> = handed
                .into_iter()
                .enumerate()
                .map(|(t, own)| {
                    let seed = (round * threads + t) as u64 + 1;
                    s.spawn(move || worker(t, seed, ops, own))
                })
                .collect();
            for h in hs {
                let kept = h.join().unwrap();
                carry.lock().unwrap().extend(kept);
            }
        });
        check(&lines, &carry.lock().unwrap(), round);
        if round == 0 {
            tracker_after_first = leakcheck_rt::tracker_memory();
        }
    }
    let tracker_end = leakcheck_rt::tracker_memory();

    let mut rest = std::mem::take(&mut *carry.lock().unwrap());
    rest.extend(
        EXCHANGE
            .iter()
            .map(|s| s.swap(std::ptr::null_mut(), AcqRel) as usize)
            .filter(|&p| p != 0),
    );
    for p in rest {
        free(p as *mut u8, 0xf);
    }
    check(&lines, &[], rounds);
    leakcheck_rt::stop();

    let (reused, swapped) = (REUSED.load(Relaxed), SWAPPED.load(Relaxed));
    eprintln!(
        "churn: {rounds} rounds × {threads} threads × {ops} ops; {swapped} blocks swapped between threads; \
         {reused} big-block addresses freed on one thread and reused on another; \
         tracker memory {tracker_after_first} B after round 1, {tracker_end} B at the end"
    );
    assert!(swapped > 0, "no block changed threads");
    assert!(
        reused > 0,
        "no address was freed on one thread and reused on another"
    );
    // Released tables are reused: thread churn must not add a table (and
    // its counter pages) per thread ever spawned.
    assert!(
        tracker_end < tracker_after_first + threads * 4096,
        "tracker memory grew with the rounds: {tracker_after_first} -> {tracker_end}"
    );
}
