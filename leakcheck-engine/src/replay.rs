//! The last few frame-pointer walks of this thread, replayed before
//! walking again.
//!
//! A walk is one chain of dependent loads: each frame record's address is
//! the content of the record before, so its time is the load latency
//! times the depth, about what the system allocator takes for the whole
//! allocation. A walk is also a pure function of where it starts, the
//! thread's stack bounds, the depth asked for, and the contents of the
//! records it reads. So a walk remembers the two words of every record it
//! read (the saved frame pointer, which is where the next record is, and
//! the return address); the next allocation that starts at the same frame
//! pointer with the same depth reads those records again and compares. If
//! every record holds what it held, the walk would read the same records
//! and write the same frames: the stack is the remembered one, and so is
//! its interned id. Where to read next comes from the remembered walk, not
//! from the load before, so the loads do not wait on each other.
//!
//! Nothing is guessed: a single record that changed sends the allocation
//! to the walk. Only records on the current chain are compared: the first
//! is the current frame's, and each next one only once the one before was
//! found to point to it.
//!
//! 16 walks of up to 72 records (a session's 64 frames and the slack) are
//! remembered per thread, in 4 sets chosen by the starting frame pointer:
//! about 19 KB of thread-local memory. A loop that allocates from a few
//! call sites replays every allocation (`box_loop`, `strings` of the
//! bench); serde_json's recursive descent about three in four.

use std::cell::UnsafeCell;

use super::intern::FIRST_ID;
use super::local::thread_state;

/// Walks remembered per thread: `SETS` sets, chosen by the starting frame
/// pointer, of `WAYS` walks each.
const SETS: usize = 4;
const WAYS: usize = 4;
/// The deepest walk remembered: a session's 64 frames and the slack.
const DEPTH: usize = 72;

/// What is compared first, kept together for all ways.
#[derive(Clone, Copy)]
struct Head {
    /// The frame pointer the walk started from.
    fp: usize,
    /// The depth it was asked for.
    depth: u32,
    /// The stack's interned id; below [`FIRST_ID`]: nothing remembered.
    id: u32,
    /// How many records it read.
    len: u32,
}

/// The records one walk read: record `i` held the saved frame pointer
/// `records[i].0`, which is where record `i + 1` was read, and the return
/// address `records[i].1`. Record 0 is at the walk's starting frame
/// pointer.
struct Trail {
    records: [(usize, usize); DEPTH],
}

struct Walks {
    heads: [[Head; WAYS]; SETS],
    trails: [[Trail; WAYS]; SETS],
    /// The way of each set the next walk is remembered in (round robin).
    victims: [usize; SETS],
}

thread_state! {
    // `const` and without `Drop`, like the guard: usable inside `alloc`,
    // before `main` and during thread teardown. Zero-initialised, so its
    // pages are only touched by threads that allocate while tracing.
    static WALKS: UnsafeCell<Walks> = const {
        UnsafeCell::new(Walks {
            heads: [[Head {
                fp: 0,
                depth: 0,
                id: 0,
                len: 0,
            }; WAYS]; SETS],
            trails: [const {
                [const {
                    Trail {
                        records: [(0, 0); DEPTH],
                    }
                }; WAYS]
            }; SETS],
            victims: [0; SETS],
        })
    };
}

/// The interned id of the stack from frame pointer `fp` with `depth`
/// frames at most: a remembered walk's if all its records are unchanged,
/// else from `walk` and `intern`. `walk(records)` walks from `fp` into the
/// caller's buffer, writing the saved frame pointer and return address of
/// each record it reads into `records`, and returns the count of records
/// read and the id `intern` gives the frames. `None` when this thread's
/// walks are gone (thread teardown) or `depth` is over [`DEPTH`]: nothing
/// was walked.
///
/// Call inside a [`Guard`](super::guard::Guard), from the frame the walk
/// starts in; `walk` must not allocate through the global allocator.
#[inline]
pub fn stack_id(
    fp: usize,
    depth: usize,
    walk: impl FnOnce(&mut [(usize, usize); DEPTH]) -> (usize, u32),
) -> Option<u32> {
    #[cfg(test)]
    if WALK_ONLY.get() {
        return None;
    }
    if depth > DEPTH {
        return None;
    }
    WALKS
        .try_with(|cell| {
            // SAFETY: only this function touches WALKS, and it cannot
            // re-enter itself: it runs inside the re-entrancy guard, and
            // `walk` allocates nothing through the global allocator. So
            // this is the only reference to this thread's walks while it
            // lives.
            let walks = unsafe { &mut *cell.get() };
            let set = (fp >> 4) % SETS;
            let (heads, trails) = (&mut walks.heads[set], &mut walks.trails[set]);
            for (head, trail) in heads.iter().zip(trails.iter()) {
                if head.fp == fp
                    && head.depth as usize == depth
                    && head.id >= FIRST_ID
                    && unchanged(fp, &trail.records[..(head.len as usize).min(DEPTH)])
                {
                    #[cfg(test)]
                    REPLAYS.set(REPLAYS.get() + 1);
                    return head.id;
                }
            }
            let way = walks.victims[set];
            walks.victims[set] = (way + 1) % WAYS;
            let (len, id) = walk(&mut trails[way].records);
            heads[way] = Head {
                fp,
                depth: depth as u32,
                // A walk that read nothing has nothing to compare.
                id: if len == 0 { 0 } else { id },
                len: len as u32,
            };
            id
        })
        .ok()
}

/// `true` if the records of a walk from `fp` all still hold what they
/// held. A record is read only once the one before was found to point to
/// it; the loads themselves do not wait on each other, since where to read
/// next comes from `records`.
#[inline]
fn unchanged(fp: usize, records: &[(usize, usize)]) -> bool {
    let mut at = fp;
    for &(next, ret) in records {
        let rec = at as *const usize;
        // SAFETY: these are reads the walk from `fp` would make itself,
        // in its order. The first record is at `fp`, and each later one
        // is read only once the record before was found to hold its
        // address as the saved frame pointer, which is where the walk goes
        // next. The walk that was remembered read each of them, so each
        // address passed its checks (aligned, 16 bytes inside this
        // thread's stack), on this thread, whose stack bounds do not
        // change: the walk would check and read it now too.
        let (was_next, was_ret) = unsafe { (rec.read(), rec.add(1).read()) };
        if was_next != next || was_ret != ret {
            return false;
        }
        at = next;
    }
    true
}

#[cfg(test)]
thread_local! {
    /// Makes `stack_id` walk, as when the walks are gone (for the tests).
    pub(crate) static WALK_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Replays on this thread (for the tests).
    pub(crate) static REPLAYS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
