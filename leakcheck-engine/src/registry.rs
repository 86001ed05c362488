//! The live-block registry: every user block's address and size, kept only
//! when asked ([`enable`]), for a scan of who retains a leaked block. It
//! costs a hash-table insert per allocation and a removal per free, so it
//! is on only in the process that looks for retainers (a leaking test run
//! once more), never in ordinary runs.
//!
//! 64 shards, each an open-addressing table of `(address, size)` in memory
//! from the kernel ([`raw`](super::raw)), behind a spin lock that is held
//! for one insert or removal (never across an allocation: a table grows
//! into a new mapping). [`lock_all`] takes every shard, so that a scan that
//! stops the other threads finds none inside the registry.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::*};

use super::fast;
use super::raw;

const SHARDS: usize = 64;
/// Entries of a shard's first table.
const FIRST_CAPACITY: usize = 1 << 12;
/// An address of no block: a removed entry.
const GONE: usize = 1;

static ON: AtomicBool = AtomicBool::new(false);

/// One shard: a table of `capacity` entries (a power of two), `len` live,
/// `gone` removed.
struct Shard {
    lock: AtomicBool,
    table: AtomicPtr<Entry>,
    capacity: AtomicUsize,
    len: AtomicUsize,
    gone: AtomicUsize,
}

/// A live block: its address (0: empty, [`GONE`]: removed) and size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Entry {
    pub addr: usize,
    pub size: usize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SHARD: Shard = Shard {
    lock: AtomicBool::new(false),
    table: AtomicPtr::new(std::ptr::null_mut()),
    capacity: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    gone: AtomicUsize::new(0),
};
static SHARD: [Shard; SHARDS] = [EMPTY_SHARD; SHARDS];

/// From now on every user block is registered (blocks allocated before
/// are not).
pub fn enable() {
    ON.store(true, Release);
    fast::set(fast::REGISTRY, true);
}

/// Whether blocks are registered.
#[inline]
pub fn enabled() -> bool {
    ON.load(Relaxed)
}

fn hash(addr: usize) -> usize {
    // Blocks are at least 16-aligned: the low bits carry nothing.
    (addr >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn shard_of(addr: usize) -> &'static Shard {
    &SHARD[(hash(addr) >> 58) % SHARDS]
}

impl Shard {
    fn lock(&self) {
        while self
            .lock
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
    }

    fn unlock(&self) {
        self.lock.store(false, Release);
    }

    /// The table as a slice. Call with the lock held: the lock, not the
    /// borrow, makes it the only one.
    #[allow(clippy::mut_from_ref)]
    fn entries(&self) -> &mut [Entry] {
        let table = self.table.load(Relaxed);
        if table.is_null() {
            return &mut [];
        }
        // SAFETY: `table` holds `capacity` entries from `raw::reserve`,
        // touched only under the lock, which the caller holds.
        unsafe { std::slice::from_raw_parts_mut(table, self.capacity.load(Relaxed)) }
    }

    /// Makes room for one more entry; `false` when the kernel gives no
    /// memory (the block then goes unregistered).
    fn reserve_one(&self) -> bool {
        let capacity = self.capacity.load(Relaxed);
        let used = self.len.load(Relaxed) + self.gone.load(Relaxed) + 1;
        if capacity != 0 && used * 4 < capacity * 3 {
            return true;
        }
        // Twice as big when mostly live, the same size when mostly removed.
        let live = self.len.load(Relaxed) + 1;
        let new_capacity = if capacity == 0 {
            FIRST_CAPACITY
        } else if live * 2 > capacity {
            capacity * 2
        } else {
            capacity
        };
        let bytes = new_capacity * std::mem::size_of::<Entry>();
        let table = raw::reserve(bytes).cast::<Entry>();
        if table.is_null() {
            return false;
        }
        // SAFETY: a fresh zeroed mapping of `new_capacity` entries.
        let fresh = unsafe { std::slice::from_raw_parts_mut(table, new_capacity) };
        for entry in self.entries().iter() {
            if entry.addr > GONE {
                insert_into(fresh, *entry);
            }
        }
        let old = self.table.swap(table, Relaxed);
        if !old.is_null() {
            raw::release(old.cast(), capacity * std::mem::size_of::<Entry>());
        }
        self.capacity.store(new_capacity, Relaxed);
        self.gone.store(0, Relaxed);
        true
    }
}

fn insert_into(table: &mut [Entry], entry: Entry) {
    let mask = table.len() - 1;
    let mut i = hash(entry.addr) & mask;
    while table[i].addr > GONE {
        i = (i + 1) & mask;
    }
    table[i] = entry;
}

/// Registers the user block at `addr` of `size` bytes.
#[inline]
pub fn insert(addr: usize, size: usize) {
    let shard = shard_of(addr);
    shard.lock();
    if shard.reserve_one() {
        let table = shard.entries();
        let mask = table.len() - 1;
        let mut i = hash(addr) & mask;
        loop {
            match table[i].addr {
                a if a == addr => {
                    table[i].size = size;
                    break;
                }
                0 => {
                    table[i] = Entry { addr, size };
                    shard.len.fetch_add(1, Relaxed);
                    break;
                }
                _ => i = (i + 1) & mask,
            }
        }
    }
    shard.unlock();
}

/// Forgets the user block at `addr`, if it was registered.
#[inline]
pub fn remove(addr: usize) {
    let shard = shard_of(addr);
    shard.lock();
    let table = shard.entries();
    if !table.is_empty() {
        let mask = table.len() - 1;
        let mut i = hash(addr) & mask;
        while table[i].addr != 0 {
            if table[i].addr == addr {
                table[i].addr = GONE;
                shard.len.fetch_sub(1, Relaxed);
                shard.gone.fetch_add(1, Relaxed);
                break;
            }
            i = (i + 1) & mask;
        }
    }
    shard.unlock();
}

/// Every shard locked: no thread is inside the registry until the guard
/// is dropped (a thread that allocates a user block waits).
#[derive(Debug)]
pub struct Locked(());

/// Takes every shard's lock (see [`Locked`]).
pub fn lock_all() -> Locked {
    for shard in &SHARD {
        shard.lock();
    }
    Locked(())
}

#[allow(clippy::len_without_is_empty)]
impl Locked {
    /// Live blocks registered now.
    pub fn len(&self) -> usize {
        SHARD.iter().map(|s| s.len.load(Relaxed)).sum()
    }

    /// Copies the live blocks into `out` (at most its length); returns how
    /// many were written.
    pub fn copy_into(&self, out: &mut [Entry]) -> usize {
        let mut n = 0;
        for shard in &SHARD {
            for entry in shard.entries().iter() {
                if entry.addr > GONE && n < out.len() {
                    out[n] = *entry;
                    n += 1;
                }
            }
        }
        n
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        for shard in &SHARD {
            shard.unlock();
        }
    }
}

/// The unit tests that touch the registry or stop the other threads take
/// turns: a scan reads every registered block (the registry test's made-up
/// addresses too), and one stop at a time is allowed.
#[cfg(test)]
pub(crate) static TEST_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_registered_resized_and_forgotten() {
        let _turn = TEST_TURN.lock().unwrap_or_else(|e| e.into_inner());
        // Addresses no allocator hands out, so the test's own blocks (the
        // registry may be on in this process) do not mix in.
        let base = 0x7000_0000_0000usize;
        for i in 0..10_000 {
            insert(base + i * 16, i);
        }
        insert(base + 32, 999);
        for i in (0..10_000).step_by(2) {
            remove(base + i * 16);
        }
        remove(base + 1_000_000 * 16);
        let locked = lock_all();
        let mut out = vec![Entry::default(); locked.len() + 16];
        let n = locked.copy_into(&mut out);
        drop(locked);
        let mut ours: Vec<Entry> = out[..n]
            .iter()
            .copied()
            .filter(|e| (base..base + 10_000 * 16).contains(&e.addr))
            .collect();
        ours.sort_by_key(|e| e.addr);
        assert_eq!(ours.len(), 5_000);
        assert!(ours.iter().all(|e| (e.addr - base) / 16 % 2 == 1));
        assert!(ours.iter().all(|e| e.size == (e.addr - base) / 16));
        for i in (1..10_000).step_by(2) {
            remove(base + i * 16);
        }
    }
}
