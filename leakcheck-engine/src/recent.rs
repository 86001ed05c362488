//! A per-thread cache of recently seen stacks and their interned ids.
//!
//! A thread allocates from a few call sites again and again. The cache maps
//! a walk's hash straight to the stack's id and its interned frames, so a
//! repeat skips the shared table: its slot probe, whose address depends on
//! the whole walk, and the entry load behind it.
//!
//! A hit is exact, not a guess from the hash: the walked frames are
//! compared with the interned ones. The hash mixes the frames linearly
//! (xor of rotated products, see [`StackHash`](super::intern::StackHash)),
//! so distinct stacks of one length can collide systematically, e.g. two
//! frames 64 positions apart swapped (the rotations repeat every 64
//! frames); trusting the hash, even with the first and last frame, could
//! merge them.
//!
//! Ids and interned frames never change or move for the life of the
//! process (fork children and new epochs included), so entries never go
//! stale and the cache is never cleared.

use std::cell::UnsafeCell;

use super::intern::{self, FIRST_ID};
use super::local::thread_state;

/// Direct-mapped by the hash's top bits; a power of two.
const SLOTS: usize = 64;

#[derive(Clone, Copy)]
struct Recent {
    hash: u64,
    /// The interned frames of `id`, in the arena.
    frames: &'static [usize],
    id: u32,
}

impl Recent {
    /// Matches only an empty stack whose hash is 0, and the hash of the
    /// empty stack is not 0 (a unit test checks).
    const EMPTY: Recent = Recent {
        hash: 0,
        frames: &[],
        id: 0,
    };
}

thread_state! {
    // `const` and without `Drop`, like the guard: usable inside `alloc`,
    // before `main` and during thread teardown.
    static RECENT: UnsafeCell<[Recent; SLOTS]> = const {
        UnsafeCell::new([Recent::EMPTY; SLOTS])
    };
}

/// The interned id of `frames`, whose [`intern::hash`] is `hash`. Call
/// inside a [`Guard`](super::guard::Guard). Never blocks, never allocates
/// through the global allocator.
#[inline]
pub fn stack_id(frames: &[usize], hash: u64) -> u32 {
    RECENT
        .try_with(|cell| {
            // SAFETY: only this function touches RECENT, and it cannot
            // re-enter itself: it runs inside the re-entrancy guard and
            // calls nothing that allocates through the global allocator.
            // So this is the only reference to this thread's cache while
            // it lives.
            let cache = unsafe { &mut *cell.get() };
            let slot = &mut cache[(hash >> (64 - SLOTS.trailing_zeros())) as usize];
            if slot.hash == hash && slot.frames == frames {
                return slot.id;
            }
            miss(slot, frames, hash)
        })
        .unwrap_or_else(|_| intern::intern_hashed(frames, hash))
}

/// Interns `frames` and remembers the answer in `slot`. Out of line: the
/// hit path stays short.
#[cold]
#[inline(never)]
fn miss(slot: &mut Recent, frames: &[usize], hash: u64) -> u32 {
    let id = intern::intern_hashed(frames, hash);
    if id >= FIRST_ID {
        *slot = Recent {
            hash,
            frames: intern::stack_frames(id),
            id,
        };
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_stack_does_not_match_an_empty_slot() {
        assert_ne!(intern::hash(&[]), Recent::EMPTY.hash);
    }

    #[test]
    fn repeats_and_collisions_get_the_interned_id() {
        let a = [0x5100_0001usize, 0x5100_0002, 0x5100_0003];
        let b = [0x5100_0001usize, 0x5100_0002, 0x5100_0004];
        let ha = intern::hash(&a);
        let ia = stack_id(&a, ha);
        assert_eq!(stack_id(&a, ha), ia);
        assert_eq!(intern::stack_frames(ia), &a);
        // Another stack presented with the same hash (a forced collision)
        // must not get the cached id.
        let ib = stack_id(&b, ha);
        assert_ne!(ib, ia);
        assert_eq!(intern::stack_frames(ib), &b);
        assert_eq!(stack_id(&a, ha), ia);
    }
}
