//! Exact accounting under a mixed, multi-threaded workload.
//!
//! Worker threads run batches of `alloc`, `alloc_zeroed`, `realloc` (grow,
//! shrink, same size; moved and in place) and `dealloc` over sizes from
//! 1 byte to 16 MiB and alignments up to 1 MiB, `Vec` growth and shrinking
//! (also of a page-aligned element type), zero-sized types and untracked
//! allocations. Between batches a third of every worker's blocks move to
//! the next worker, which then frees or reallocates them. With all workers
//! parked at a barrier, the live bytes and blocks a snapshot charges to
//! each allocating line must equal the ground truth this test keeps,
//! exactly; a realloc'd block is charged to the realloc (tracemalloc's
//! rule), and frees and reallocs of blocks from before `start` are
//! tolerated.
//!
//! Default: 4 threads × 30 batches × 2,000 operations.
//! `LEAKCHECK_STRESS=full`: 8 threads × 60 batches × 5,000 operations.

use std::alloc::{Layout, alloc, alloc_zeroed, dealloc, realloc};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Barrier, Mutex};

mod common;
use common::Rng;

leakcheck_rt::install!();

const FILE: &str = "leakcheck-rt/tests/accounting.rs";
const SRC: &str = include_str!("accounting.rs");
const MAX_SIZE: usize = 16 << 20;
/// Bytes a worker keeps live at most (beyond one last big block).
const BUDGET: usize = 40 << 20;
const MAX_BLOCKS: usize = 300;

/// The lines that allocate; each is marked with `// SITE <name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Site {
    Alloc,
    Zeroed,
    Realloc,
    VecNew,
    VecZeroed,
    VecReserve,
    VecShrink,
    PagesNew,
    PagesReserve,
    PagesShrink,
    Zst,
}

const SITES: [(Site, &str); 11] = [
    (Site::Alloc, "alloc"),
    (Site::Zeroed, "zeroed"),
    (Site::Realloc, "realloc"),
    (Site::VecNew, "vec_new"),
    (Site::VecZeroed, "vec_zeroed"),
    (Site::VecReserve, "vec_reserve"),
    (Site::VecShrink, "vec_shrink"),
    (Site::PagesNew, "pages_new"),
    (Site::PagesReserve, "pages_reserve"),
    (Site::PagesShrink, "pages_shrink"),
    (Site::Zst, "zst"),
];

/// A page-aligned element: `Vec<Page>` allocates with 4 KiB alignment.
#[repr(align(4096))]
struct Page(#[allow(dead_code)] [u8; 4096]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Zst;

/// A live allocation and the line it is charged to (`None`: not traced).
enum Held {
    Raw {
        ptr: *mut u8,
        layout: Layout,
        site: Option<Site>,
        tag: u8,
    },
    Bytes(Vec<u8>, Site),
    Pages(Vec<Page>, Site),
}

// SAFETY: a `Raw` block is owned by exactly one `Held` and only touched by
// the thread that currently holds it.
unsafe impl Send for Held {}

impl Held {
    /// (site, bytes) this block contributes to the ground truth.
    fn truth(&self) -> Option<(Site, u64)> {
        match self {
            Held::Raw { layout, site, .. } => site.map(|s| (s, layout.size() as u64)),
            Held::Bytes(v, s) => (v.capacity() > 0).then_some((*s, v.capacity() as u64)),
            Held::Pages(v, s) => (v.capacity() > 0).then(|| (*s, (v.capacity() * 4096) as u64)),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Held::Raw { layout, .. } => layout.size(),
            Held::Bytes(v, _) => v.capacity(),
            Held::Pages(v, _) => v.capacity() * 4096,
        }
    }
}

// The tracked operations, each alone on its line and never inlined, so the
// snapshot charges every block to exactly one of these lines; `black_box`
// keeps a release build from turning the call into a tail call, which
// would drop the function's frame.

#[inline(never)]
fn do_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: every layout used here has a non-zero size.
    black_box(unsafe { alloc(layout) }) // SITE alloc
}

#[inline(never)]
fn do_alloc_zeroed(layout: Layout) -> *mut u8 {
    // SAFETY: every layout used here has a non-zero size.
    black_box(unsafe { alloc_zeroed(layout) }) // SITE zeroed
}

/// # Safety
///
/// `ptr` is a live block of `layout` from the global allocator, `new_size`
/// is non-zero and does not overflow when rounded up to the alignment.
#[inline(never)]
unsafe fn do_realloc(ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    // SAFETY: forwarded from the caller.
    black_box(unsafe { realloc(ptr, layout, new_size) }) // SITE realloc
}

#[inline(never)]
fn vec_new(n: usize) -> Vec<u8> {
    Vec::with_capacity(n) // SITE vec_new
}

#[inline(never)]
fn vec_zeroed(n: usize) -> Vec<u8> {
    vec![0u8; n] // SITE vec_zeroed
}

#[inline(never)]
fn vec_reserve(v: &mut Vec<u8>, n: usize) {
    v.reserve_exact(n); // SITE vec_reserve
}

#[inline(never)]
fn vec_shrink(v: &mut Vec<u8>, n: usize) {
    v.shrink_to(n); // SITE vec_shrink
}

#[inline(never)]
fn pages_new(n: usize) -> Vec<Page> {
    Vec::with_capacity(n) // SITE pages_new
}

#[inline(never)]
fn pages_reserve(v: &mut Vec<Page>, n: usize) {
    v.reserve_exact(n); // SITE pages_reserve
}

#[inline(never)]
fn pages_shrink(v: &mut Vec<Page>, n: usize) {
    v.shrink_to(n); // SITE pages_shrink
}

#[inline(never)]
fn zero_sized(n: usize) {
    black_box((
        Box::new(Zst),
        Vec::<Zst>::with_capacity(n),
        vec![Zst; n],
        Vec::<u8>::new(),
    )); // SITE zst
}

/// Sizes from 1 byte to 16 MiB, mostly small.
fn random_size(rng: &mut Rng) -> usize {
    let (lo, hi) = match rng.below(1000) {
        0..700 => (1, 256),
        700..930 => (257, 64 << 10),
        930..996 => (64 << 10, 1 << 20),
        _ => (1 << 20, MAX_SIZE),
    };
    lo + rng.below((hi - lo + 1) as u64) as usize
}

/// Alignments from 1 byte to 1 MiB, mostly small.
fn random_align(rng: &mut Rng) -> usize {
    let shift = match rng.below(100) {
        0..60 => rng.below(4),       // 1..=8
        60..92 => 4 + rng.below(9),  // 16..=4096
        92..99 => 13 + rng.below(4), // 8 KiB..=64 KiB
        _ => 17 + rng.below(4),      // 128 KiB..=1 MiB
    };
    1 << shift
}

/// Counters of what the workload actually exercised.
#[derive(Default)]
struct Seen {
    grow: AtomicU64,
    shrink: AtomicU64,
    same: AtomicU64,
    moved: AtomicU64,
    in_place: AtomicU64,
    cross_thread: AtomicU64,
    ops: AtomicU64,
}

fn check_block(ptr: *mut u8, layout: Layout, what: &str) {
    assert!(!ptr.is_null(), "{what} of {layout:?} returned null");
    assert_eq!(
        ptr as usize % layout.align(),
        0,
        "{what} of {layout:?} is misaligned"
    );
}

/// Marks a block's first and last byte with `tag`.
fn stamp(ptr: *mut u8, size: usize, tag: u8) {
    // SAFETY: `ptr` is a live block of `size` > 0 bytes.
    unsafe {
        ptr.write(tag);
        ptr.add(size - 1).write(tag);
    }
}

fn new_raw(rng: &mut Rng, zeroed: bool) -> Held {
    let size = random_size(rng);
    let layout = Layout::from_size_align(size, random_align(rng)).unwrap();
    let ptr = if zeroed {
        let p = do_alloc_zeroed(layout);
        check_block(p, layout, "alloc_zeroed");
        for at in [0, size / 2, size - 1] {
            // SAFETY: `at < size`, inside the fresh block.
            let byte = unsafe { p.add(at).read() };
            assert_eq!(byte, 0, "alloc_zeroed not zeroed at {at}");
        }
        p
    } else {
        let p = do_alloc(layout);
        check_block(p, layout, "alloc");
        p
    };
    let tag = rng.next_u64() as u8;
    stamp(ptr, size, tag);
    Held::Raw {
        ptr,
        layout,
        site: Some(if zeroed { Site::Zeroed } else { Site::Alloc }),
        tag,
    }
}

fn realloc_raw(rng: &mut Rng, held: &mut Held, seen: &Seen) {
    let Held::Raw {
        ptr,
        layout,
        site,
        tag,
    } = held
    else {
        unreachable!()
    };
    let old = layout.size();
    let new_size = match rng.below(4) {
        0 => (old * (2 + rng.below(7) as usize)).min(MAX_SIZE),
        1 => (old / (2 + rng.below(7) as usize)).max(1),
        2 => old,
        _ => random_size(rng),
    };
    let counter = match new_size.cmp(&old) {
        std::cmp::Ordering::Greater => &seen.grow,
        std::cmp::Ordering::Less => &seen.shrink,
        std::cmp::Ordering::Equal => &seen.same,
    };
    counter.fetch_add(1, Relaxed);
    // SAFETY: `ptr` is a live block of `layout` held by this thread; the new
    // size is non-zero and at most 16 MiB.
    let p = unsafe { do_realloc(*ptr, *layout, new_size) };
    let new_layout = Layout::from_size_align(new_size, layout.align()).unwrap();
    check_block(p, new_layout, "realloc");
    if p == *ptr {
        &seen.in_place
    } else {
        &seen.moved
    }
    .fetch_add(1, Relaxed);
    // SAFETY: the first min(old, new) bytes were copied; we read inside them.
    unsafe {
        assert_eq!(p.read(), *tag, "realloc lost the first byte");
        if new_size >= old {
            assert_eq!(p.add(old - 1).read(), *tag, "realloc lost the last byte");
        }
    }
    stamp(p, new_size, *tag);
    *ptr = p;
    *layout = new_layout;
    *site = Some(Site::Realloc);
}

fn free(held: Held) {
    if let Held::Raw {
        ptr, layout, tag, ..
    } = held
    {
        // SAFETY: the block is live and `size` > 0.
        unsafe {
            assert_eq!(ptr.read(), tag, "block corrupted");
            assert_eq!(ptr.add(layout.size() - 1).read(), tag, "block corrupted");
            dealloc(ptr, layout);
        }
    }
}

/// Grows or shrinks a `Vec`, charging it to the operation's line when its
/// allocation changed.
fn resize_vec(rng: &mut Rng, held: &mut Held) {
    match held {
        Held::Bytes(v, site) => {
            let cap = v.capacity();
            if rng.chance(50) {
                vec_reserve(v, 1 + rng.below(64 << 10) as usize);
                if v.capacity() != cap {
                    *site = Site::VecReserve;
                }
            } else {
                v.truncate(rng.below(v.len() as u64 + 1) as usize);
                let min = rng.below(cap as u64 + 1) as usize;
                vec_shrink(v, min);
                // `shrink_to` reallocates whenever the capacity is above
                // `min`, even to the same size (when `len` is the capacity).
                if cap > min {
                    *site = Site::VecShrink;
                }
            }
        }
        Held::Pages(v, site) => {
            let cap = v.capacity();
            if rng.chance(50) {
                pages_reserve(v, 1 + rng.below(24) as usize);
                if v.capacity() != cap {
                    *site = Site::PagesReserve;
                }
            } else {
                let min = rng.below(cap as u64 + 1) as usize;
                pages_shrink(v, min);
                if cap > min {
                    *site = Site::PagesShrink;
                }
            }
        }
        Held::Raw { .. } => unreachable!(),
    }
}

fn step(rng: &mut Rng, held: &mut Vec<Held>, seen: &Seen) {
    let live: usize = held.iter().map(Held::bytes).sum();
    let full = live > BUDGET || held.len() >= MAX_BLOCKS;
    let roll = rng.below(100);
    if held.is_empty() || (!full && roll < 40) {
        let h = match rng.below(100) {
            0..55 => new_raw(rng, false),
            55..80 => new_raw(rng, true),
            80..88 => Held::Bytes(vec_new(rng.below(8 << 10) as usize), Site::VecNew),
            88..94 => Held::Bytes(vec_zeroed(rng.below(8 << 10) as usize), Site::VecZeroed),
            94..97 => Held::Pages(pages_new(rng.below(8) as usize), Site::PagesNew),
            _ => {
                // Untracked: a block nobody charges, whose frees are ignored.
                let layout = Layout::from_size_align(1 + rng.below(4096) as usize, 8).unwrap();
                let ptr = leakcheck_rt::untracked(|| do_alloc(layout));
                check_block(ptr, layout, "untracked alloc");
                stamp(ptr, layout.size(), 7);
                Held::Raw {
                    ptr,
                    layout,
                    site: None,
                    tag: 7,
                }
            }
        };
        held.push(h);
        return;
    }
    let i = rng.below(held.len() as u64) as usize;
    if full || roll < 70 {
        free(held.swap_remove(i));
    } else if roll < 72 {
        zero_sized(rng.below(1000) as usize);
    } else if matches!(held[i], Held::Raw { .. }) {
        if live <= BUDGET {
            realloc_raw(rng, &mut held[i], seen);
        }
    } else {
        resize_vec(rng, &mut held[i]);
    }
}

/// Live (bytes, blocks) per site according to what the workers hold.
fn truth(all: &[Arc<Mutex<Vec<Held>>>]) -> HashMap<Site, (u64, u64)> {
    let mut t: HashMap<Site, (u64, u64)> = SITES.iter().map(|&(s, _)| (s, (0, 0))).collect();
    for held in all {
        for h in held.lock().unwrap().iter() {
            if let Some((site, bytes)) = h.truth() {
                let e = t.get_mut(&site).unwrap();
                e.0 += bytes;
                e.1 += 1;
            }
        }
    }
    t
}

fn check(all: &[Arc<Mutex<Vec<Held>>>], lines: &HashMap<Site, u32>, batch: usize) {
    let snap = leakcheck_rt::take_snapshot();
    let (current, peak) = leakcheck_rt::traced_memory();
    // Nothing allocated between the two: the totals agree.
    assert_eq!(
        snap.total().0,
        current as u64,
        "batch {batch}: snapshot total vs traced_memory"
    );
    assert!(
        peak >= current,
        "batch {batch}: peak {peak} < current {current}"
    );
    let tracked = common::by_line(&snap, FILE);
    let want = truth(all);
    let table: Vec<String> = SITES
        .iter()
        .map(|&(site, name)| {
            let got = tracked.get(&lines[&site]).copied().unwrap_or((0, 0));
            format!("{name}: tracked {got:?} truth {:?}", want[&site])
        })
        .collect();
    for (site, name) in SITES {
        let got = tracked.get(&lines[&site]).copied().unwrap_or((0, 0));
        assert_eq!(
            got, want[&site],
            "batch {batch}: site {name} (bytes, blocks) differs from the ground truth\n{table:#?}"
        );
    }
}

#[test]
fn live_bytes_and_blocks_match_the_ground_truth_after_every_batch() {
    common::watchdog(120, "accounting");
    let threads = common::scale(4, 8);
    let batches = common::scale(30, 60);
    let ops = common::scale(2_000, 5_000);
    let lines: HashMap<Site, u32> = SITES
        .iter()
        .map(|&(s, name)| (s, common::marked_line(SRC, &format!("// SITE {name}"))))
        .collect();

    // Blocks from before tracing: their frees are ignored, their reallocs
    // are charged to the realloc.
    let mut rng = Rng::new(0x5eed);
    let all: Vec<Arc<Mutex<Vec<Held>>>> = (0..threads)
        .map(|_| {
            let mut v = Vec::with_capacity(MAX_BLOCKS * 4);
            for _ in 0..20 {
                let mut h = new_raw(&mut rng, false);
                if let Held::Raw { site, .. } = &mut h {
                    *site = None;
                }
                v.push(h);
            }
            Arc::new(Mutex::new(v))
        })
        .collect();
    let seen = Arc::new(Seen::default());
    let barrier = Arc::new(Barrier::new(threads + 1));

    leakcheck_rt::start(25);
    check(&all, &lines, 0);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (mine, seen, barrier) = (all[t].clone(), seen.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut rng = Rng::new(t as u64 + 1);
                for _ in 0..batches {
                    {
                        let mut held = mine.lock().unwrap();
                        for _ in 0..ops {
                            step(&mut rng, &mut held, &seen);
                        }
                    }
                    seen.ops.fetch_add(ops as u64, Relaxed);
                    barrier.wait(); // batch done
                    barrier.wait(); // checked and handed over
                }
            })
        })
        .collect();
    for batch in 1..=batches {
        barrier.wait();
        check(&all, &lines, batch);
        // Hand a third of every worker's blocks to the next worker.
        let moved: Vec<Vec<Held>> = all
            .iter()
            .map(|h| {
                let mut h = h.lock().unwrap();
                let keep = h.len() - h.len() / 3;
                h.split_off(keep)
            })
            .collect();
        for (t, blocks) in moved.into_iter().enumerate() {
            seen.cross_thread.fetch_add(blocks.len() as u64, Relaxed);
            all[(t + 1) % threads].lock().unwrap().extend(blocks);
        }
        barrier.wait();
    }
    for w in workers {
        w.join().unwrap();
    }
    check(&all, &lines, batches + 1);
    for held in &all {
        for h in held.lock().unwrap().drain(..) {
            free(h);
        }
    }
    check(&all, &lines, batches + 2);
    let snap = leakcheck_rt::take_snapshot();
    let left = common::by_line(&snap, FILE);
    for (site, name) in SITES {
        assert_eq!(
            left.get(&lines[&site]),
            None,
            "site {name} still has blocks after all were freed"
        );
    }
    leakcheck_rt::stop();

    let get = |c: &AtomicU64| c.load(Relaxed);
    eprintln!(
        "accounting: {threads} threads × {batches} batches × {ops} ops = {} ops; realloc grow {} shrink {} same {} moved {} in place {}; {} blocks handed between threads",
        get(&seen.ops),
        get(&seen.grow),
        get(&seen.shrink),
        get(&seen.same),
        get(&seen.moved),
        get(&seen.in_place),
        get(&seen.cross_thread),
    );
    for c in [
        &seen.grow,
        &seen.shrink,
        &seen.same,
        &seen.moved,
        &seen.in_place,
        &seen.cross_thread,
    ] {
        assert!(
            get(c) > 0,
            "the workload missed a realloc kind or the hand-over"
        );
    }
}
