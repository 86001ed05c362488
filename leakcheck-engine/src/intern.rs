//! Interning of call stacks: each distinct stack gets a small dense id, so
//! counters are arrays and a block header needs 4 bytes for its stack.
//!
//! The table is lock-free (fork-safe, and no thread can block another
//! inside `alloc`): a slot array of `tag | id` words claimed by CAS, an
//! entry array of (frames, len) by id, and an append-only frame arena. All
//! three are reserved once and touched only as they fill.

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

use super::raw;

/// Ids 0 and 1 are reserved: untracked blocks, and stacks that did not fit.
pub const OVERFLOW_ID: u32 = 1;
pub const FIRST_ID: u32 = 2;
/// The most distinct stacks tracked; later new stacks share [`OVERFLOW_ID`].
pub const MAX_STACKS: usize = 1 << 18;
/// How many distinct stacks get an id of their own.
pub const CAPACITY: usize = MAX_STACKS - FIRST_ID as usize;
const SLOTS: usize = MAX_STACKS * 2;
const ARENA_BYTES: usize = 256 << 20;
/// Probes before a lookup gives up (the table is at most half full).
const MAX_PROBES: usize = 512;

struct Entry {
    frames: AtomicPtr<usize>,
    len: AtomicU32,
}

static SLOT_TABLE: AtomicPtr<AtomicU64> = AtomicPtr::new(ptr::null_mut());
static ENTRIES: AtomicPtr<Entry> = AtomicPtr::new(ptr::null_mut());
static ARENA: AtomicPtr<usize> = AtomicPtr::new(ptr::null_mut());
static ARENA_USED: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU32 = AtomicU32::new(FIRST_ID);
/// Set (never cleared) the first time a stack was counted under
/// [`OVERFLOW_ID`]; read outside `alloc` to warn about it.
static OVERFLOWED: AtomicBool = AtomicBool::new(false);

/// `true` once some stack could not be interned (the table or its arena
/// was full, or could not be mapped) and was counted under [`OVERFLOW_ID`].
pub fn overflowed() -> bool {
    OVERFLOWED.load(Relaxed)
}

/// The id of a stack that did not fit; notes that it happened. A plain
/// store: nothing here may allocate, lock or panic.
#[inline]
fn overflow() -> u32 {
    OVERFLOWED.store(true, Relaxed);
    OVERFLOW_ID
}

/// One past the highest id handed out.
#[inline]
pub fn id_limit() -> u32 {
    NEXT_ID.load(Acquire).min(MAX_STACKS as u32)
}

/// Bytes of interned stacks and their index, for `tracker_memory`.
pub fn memory() -> usize {
    let ids = id_limit() as usize;
    ARENA_USED.load(Relaxed) * size_of::<usize>()
        + ids * (size_of::<Entry>() + 2 * size_of::<u64>())
}

/// Maps `bytes` once into `cell`, racing threads agreeing on one mapping.
#[inline]
fn lazily<T>(cell: &AtomicPtr<T>, bytes: usize) -> *mut T {
    let p = cell.load(Acquire);
    if !p.is_null() {
        return p;
    }
    map_once(cell, bytes)
}

#[cold]
#[inline(never)]
fn map_once<T>(cell: &AtomicPtr<T>, bytes: usize) -> *mut T {
    let fresh = raw::reserve(bytes).cast::<T>();
    if fresh.is_null() {
        return fresh;
    }
    match cell.compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
        Ok(_) => fresh,
        Err(winner) => {
            raw::release(fresh.cast(), bytes);
            winner
        }
    }
}

/// The hash of a stack, built one frame at a time so that the frame-pointer
/// walk can compute it as it goes. Each step's dependency chain is a rotate
/// and an xor (the multiply is off it), so inside the walk, whose every step
/// waits on a load, it adds no latency.
#[derive(Debug, Clone, Copy)]
pub struct StackHash(u64);

impl StackHash {
    pub const fn new() -> Self {
        StackHash(0x9e37_79b9_7f4a_7c15)
    }

    #[inline(always)]
    pub fn push(self, frame: usize) -> Self {
        StackHash(self.0.rotate_left(23) ^ (frame as u64).wrapping_mul(0x517c_c1b7_2722_0a95))
    }

    /// The final hash of the `len` frames pushed.
    #[inline(always)]
    pub fn finish(self, len: usize) -> u64 {
        let mut h = self.0 ^ len as u64;
        h ^= h >> 31;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^ (h >> 29)
    }
}

/// The hash [`intern_hashed`] expects for `frames`.
#[inline]
pub fn hash(frames: &[usize]) -> u64 {
    frames
        .iter()
        .fold(StackHash::new(), |h, &f| h.push(f))
        .finish(frames.len())
}

/// The id of `frames`, interning it if new. Never blocks, never allocates
/// through the global allocator. (leakcheck-rt's symbolisation tests
/// intern stacks of their own.)
pub fn intern(frames: &[usize]) -> u32 {
    intern_hashed(frames, hash(frames))
}

/// [`intern`] with the stack's [`hash`] already computed (by the walk).
pub fn intern_hashed(frames: &[usize], h: u64) -> u32 {
    let slots = lazily(&SLOT_TABLE, SLOTS * size_of::<u64>());
    let entries = lazily(&ENTRIES, MAX_STACKS * size_of::<Entry>());
    if slots.is_null() || entries.is_null() {
        return overflow();
    }
    let tag = (h >> 32) << 32;
    let mut reserved: Option<u32> = None;
    let mut i = h as usize & (SLOTS - 1);
    for _ in 0..MAX_PROBES {
        // SAFETY: `i < SLOTS` and the slot table holds SLOTS zeroed words.
        let slot = unsafe { &*slots.add(i) };
        let mut word = slot.load(Acquire);
        if word == 0 {
            let id = match reserved {
                Some(id) => id,
                None => match publish_entry(entries, frames) {
                    Some(id) => *reserved.insert(id),
                    None => return overflow(),
                },
            };
            match slot.compare_exchange(0, tag | u64::from(id), AcqRel, Acquire) {
                Ok(_) => return id,
                Err(current) => word = current,
            }
        }
        if word & !0xffff_ffff == tag {
            let id = word as u32;
            if same_frames(entries, id, frames) {
                // A reserved id that lost the race stays unused: harmless.
                return id;
            }
        }
        i = (i + 1) & (SLOTS - 1);
    }
    overflow()
}

/// Copies `frames` into the arena under a fresh id; `None` when full.
fn publish_entry(entries: *mut Entry, frames: &[usize]) -> Option<u32> {
    let id = NEXT_ID.fetch_add(1, AcqRel);
    if id as usize >= MAX_STACKS {
        return None;
    }
    let arena = lazily(&ARENA, ARENA_BYTES);
    if arena.is_null() {
        return None;
    }
    let at = ARENA_USED.fetch_add(frames.len(), Relaxed);
    if (at + frames.len()) * size_of::<usize>() > ARENA_BYTES {
        return None;
    }
    // SAFETY: [at, at + len) of the arena was reserved for this call alone
    // by the fetch_add above, and lies inside the mapping.
    let dst = unsafe { arena.add(at) };
    // SAFETY: `dst` has room for `frames.len()` words (see above), and the
    // two ranges cannot overlap (frames live on the caller's stack).
    unsafe { ptr::copy_nonoverlapping(frames.as_ptr(), dst, frames.len()) };
    // SAFETY: `id < MAX_STACKS`, the entry array's length.
    let entry = unsafe { &*entries.add(id as usize) };
    entry.len.store(frames.len() as u32, Relaxed);
    entry.frames.store(dst, Release);
    Some(id)
}

fn entry_frames(entries: *mut Entry, id: u32) -> &'static [usize] {
    if id < FIRST_ID || id as usize >= MAX_STACKS {
        return &[];
    }
    // SAFETY: `id < MAX_STACKS`, the entry array's length.
    let entry = unsafe { &*entries.add(id as usize) };
    let p = entry.frames.load(Acquire);
    if p.is_null() {
        return &[];
    }
    let len = entry.len.load(Relaxed) as usize;
    // SAFETY: `p` was published (Release) after `len` words were copied
    // there; arena memory is never written again nor unmapped.
    unsafe { std::slice::from_raw_parts(p, len) }
}

fn same_frames(entries: *mut Entry, id: u32, frames: &[usize]) -> bool {
    entry_frames(entries, id) == frames
}

/// The raw return addresses of an interned stack, most recent first.
pub fn stack_frames(id: u32) -> &'static [usize] {
    let entries = ENTRIES.load(Acquire);
    if entries.is_null() {
        return &[];
    }
    entry_frames(entries, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_stack_same_id() {
        let a = [1usize, 2, 3, 0xdead_beef];
        let b = [1usize, 2, 3, 0xdead_bee0];
        let ia = intern(&a);
        assert_eq!(intern(&a), ia);
        let ib = intern(&b);
        assert_ne!(ia, ib);
        assert_eq!(stack_frames(ia), &a);
        assert_eq!(stack_frames(ib), &b);
        assert!(ia >= FIRST_ID && ib >= FIRST_ID);
    }

    #[test]
    fn racing_threads_agree() {
        let ids: Vec<u32> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| intern(&[7, 7, 7, 7, 42])))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    }
}
