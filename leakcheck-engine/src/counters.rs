//! Live bytes and blocks per stack id, counted per thread.
//!
//! ```text
//!            claim (first tracked op)          pthread key destructor
//!  (none) ─────────────────────────► Owned ─────────────────────────► Free
//!                                     ▲                                │
//!                                     └──── claimed by a new thread ◄──┘
//!  after its destructor a thread counts into the shared Orphan table.
//! ```
//!
//! A thread's table has one writer, so updates are plain loads and stores
//! of atomics (no read-modify-write, no shared cache line). Snapshots sum
//! all tables; a block freed on another thread than it was allocated on
//! makes one table go up and the other down, and the sum stays exact.
//! Tables of exited threads are reused with their counts, so no count is
//! ever lost. Each table carries the tracing epoch it counts for and is
//! zeroed by its owner when the epoch moved on.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicUsize, Ordering::*};

use super::fork;
use super::intern::MAX_STACKS;
use super::local::thread_state;
use super::raw;

/// Updates to `traced_memory`'s peak are batched per thread by this much.
pub const PEAK_BATCH: i64 = 64 << 10;

#[repr(C)]
struct Counter {
    size: AtomicI64,
    count: AtomicI64,
    /// Sampled blocks (sampled tracking only; exact tracking leaves it 0).
    samples: AtomicI64,
}

pub struct Table {
    next: AtomicPtr<Table>,
    in_use: AtomicBool,
    /// Many writers (the orphan table): use read-modify-write updates.
    shared: bool,
    epoch: AtomicU32,
    /// Ids at or above this were never touched in this epoch.
    high_water: AtomicU32,
    /// Bytes not yet added to the global running total (owner only).
    pending: AtomicI64,
    /// Writers inside an update right now (shared table only).
    writers: AtomicU32,
    counters: AtomicPtr<Counter>,
}

static TABLES: AtomicPtr<Table> = AtomicPtr::new(ptr::null_mut());
static TABLE_COUNT: AtomicUsize = AtomicUsize::new(0);
static ORPHAN: Table = Table::new(true);
/// Running total of traced bytes, behind by at most PEAK_BATCH per thread.
pub static RUNNING: AtomicI64 = AtomicI64::new(0);
pub static PEAK: AtomicI64 = AtomicI64::new(0);
static KEY: AtomicUsize = AtomicUsize::new(0);

const DEAD: usize = 1;

thread_state! {
    // Null: no table yet; DEAD: the thread's table was released.
    static CURRENT: Cell<*const Table> = const { Cell::new(ptr::null()) };
}

const COUNTERS_BYTES: usize = MAX_STACKS * size_of::<Counter>();

impl Table {
    const fn new(shared: bool) -> Self {
        Table {
            next: AtomicPtr::new(ptr::null_mut()),
            in_use: AtomicBool::new(shared),
            shared,
            epoch: AtomicU32::new(0),
            high_water: AtomicU32::new(0),
            pending: AtomicI64::new(0),
            writers: AtomicU32::new(0),
            counters: AtomicPtr::new(ptr::null_mut()),
        }
    }

    #[inline]
    fn counters(&self) -> *mut Counter {
        let p = self.counters.load(Acquire);
        if !p.is_null() {
            return p;
        }
        self.map_counters()
    }

    /// Maps the counter array on the table's first use.
    #[cold]
    #[inline(never)]
    fn map_counters(&self) -> *mut Counter {
        let fresh = raw::reserve(COUNTERS_BYTES).cast::<Counter>();
        if fresh.is_null() {
            return fresh;
        }
        match self
            .counters
            .compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire)
        {
            Ok(_) => fresh,
            Err(winner) => {
                raw::release(fresh.cast(), COUNTERS_BYTES);
                winner
            }
        }
    }

    /// Adds to the counts of stack `id` for `epoch`; `false` when this table
    /// cannot count (its counters could not be mapped).
    #[inline]
    fn add(&self, epoch: u32, id: u32, size: i64, count: i64, samples: i64) -> bool {
        let counters = self.counters();
        if counters.is_null() || id as usize >= MAX_STACKS {
            return false;
        }
        // SAFETY: `id < MAX_STACKS`, the length of the counter array.
        let c = unsafe { &*counters.add(id as usize) };
        if self.shared {
            self.add_shared(c, epoch, id, size, count, samples);
            return true;
        }
        if self.epoch.load(Relaxed) != epoch {
            self.reset(epoch);
        }
        // Plain wrapping arithmetic: the sums are exact far below the
        // wrap, and the overflow checks of a debug build would only add
        // branches to every allocation.
        c.size
            .store(c.size.load(Relaxed).wrapping_add(size), Relaxed);
        c.count
            .store(c.count.load(Relaxed).wrapping_add(count), Relaxed);
        if samples != 0 {
            c.samples
                .store(c.samples.load(Relaxed).wrapping_add(samples), Relaxed);
        }
        if id >= self.high_water.load(Relaxed) {
            self.high_water.store(id + 1, Relaxed);
        }
        let pending = self.pending.load(Relaxed).wrapping_add(size);
        if pending.unsigned_abs() >= PEAK_BATCH as u64 {
            self.flush_pending(pending);
        } else {
            self.pending.store(pending, Relaxed);
        }
        true
    }

    /// Adds a full batch of pending bytes to the running total. Out of
    /// line, like the other rare paths of [`Table::add`], so that its
    /// common path needs few registers to save.
    #[cold]
    #[inline(never)]
    fn flush_pending(&self, pending: i64) {
        self.pending.store(0, Relaxed);
        bump_running(pending);
    }

    /// The shared table's update: announced in `writers`, so that
    /// [`Table::reset_shared`] can wait for it, and counted only while the
    /// table is still in `epoch` (an update of an ended epoch is dropped, as
    /// that epoch's counts are). Never blocks.
    #[cold]
    #[inline(never)]
    fn add_shared(&self, c: &Counter, epoch: u32, id: u32, size: i64, count: i64, samples: i64) {
        self.writers.fetch_add(1, SeqCst);
        let current = self.epoch.load(SeqCst) == epoch;
        if current {
            c.size.fetch_add(size, Relaxed);
            c.count.fetch_add(count, Relaxed);
            c.samples.fetch_add(samples, Relaxed);
            self.high_water.fetch_max(id + 1, Relaxed);
        }
        self.writers.fetch_sub(1, Release);
        if current {
            bump_running(size);
        }
    }

    /// Moves the shared table to `epoch` and zeroes it. The new epoch is
    /// published first, so later updates of the old one are dropped; then
    /// updates already under way are waited for (a few instructions each),
    /// so none lands in the new epoch's counts or beyond `high_water`.
    /// Writers of the new epoch cannot exist yet: the global epoch moves
    /// after this returns.
    fn reset_shared(&self, epoch: u32) {
        self.epoch.store(epoch, SeqCst);
        while self.writers.load(SeqCst) != 0 {
            std::hint::spin_loop();
        }
        self.zero();
    }

    /// Zeroes the table for a new epoch (owner only).
    #[cold]
    #[inline(never)]
    fn reset(&self, epoch: u32) {
        self.zero();
        self.epoch.store(epoch, Release);
    }

    fn zero(&self) {
        let counters = self.counters.load(Acquire);
        let used = self.high_water.load(Relaxed) as usize;
        if !counters.is_null() {
            for i in 0..used.min(MAX_STACKS) {
                // SAFETY: `i < MAX_STACKS`, the length of the counter array.
                let c = unsafe { &*counters.add(i) };
                c.size.store(0, Relaxed);
                c.count.store(0, Relaxed);
                c.samples.store(0, Relaxed);
            }
        }
        self.high_water.store(0, Relaxed);
        self.pending.store(0, Relaxed);
    }

    /// Adds this table's counts for `epoch` into `sums` (indexed by id):
    /// bytes, blocks and sampled blocks.
    pub fn sum_into(&self, epoch: u32, sums: &mut [[i64; 3]]) {
        if self.epoch.load(Acquire) != epoch {
            return;
        }
        let counters = self.counters.load(Acquire);
        if counters.is_null() {
            return;
        }
        let used = (self.high_water.load(Relaxed) as usize).min(sums.len());
        for (i, sum) in sums.iter_mut().enumerate().take(used) {
            // SAFETY: `i < MAX_STACKS`, the length of the counter array.
            let c = unsafe { &*counters.add(i) };
            sum[0] += c.size.load(Relaxed);
            sum[1] += c.count.load(Relaxed);
            sum[2] += c.samples.load(Relaxed);
        }
    }

    fn touched_bytes(&self) -> usize {
        let pages = (self.high_water.load(Relaxed) as usize * size_of::<Counter>()).div_ceil(4096);
        pages * 4096 + size_of::<Table>()
    }
}

fn bump_running(delta: i64) {
    let now = RUNNING.fetch_add(delta, Relaxed) + delta;
    PEAK.fetch_max(now, Relaxed);
}

/// Calls `f` on every table, the orphan table included.
pub fn for_each(mut f: impl FnMut(&Table)) {
    f(&ORPHAN);
    let mut t = TABLES.load(Acquire);
    while !t.is_null() {
        // SAFETY: tables are published fully built and never freed.
        let table = unsafe { &*t };
        f(table);
        t = table.next.load(Acquire);
    }
}

/// Resets the orphan table (the only one with several writers), mapping
/// its counters first: it is also where a thread counts whose own table
/// could not get memory.
pub fn reset_orphan(epoch: u32) {
    static FORK_HANDLER: AtomicBool = AtomicBool::new(false);
    if !FORK_HANDLER.swap(true, Relaxed) {
        fork::at_fork(None, None, Some(orphan_after_fork));
    }
    ORPHAN.counters();
    ORPHAN.reset_shared(epoch);
}

/// In the child of `fork`: writers that were inside an orphan-table update
/// on other threads do not exist there, and must not be waited for.
extern "C" fn orphan_after_fork() {
    ORPHAN.writers.store(0, Relaxed);
}

/// Adds to the counts of stack `id` for `epoch` in the current thread's
/// table, or in the orphan table if that one cannot count. `false` when no
/// table could: a block must then not be marked as counted, or its free
/// would uncount what it never counted. `samples` is 0 in exact tracking.
#[inline]
pub fn add(epoch: u32, id: u32, size: i64, count: i64, samples: i64) -> bool {
    current().add(epoch, id, size, count, samples) || ORPHAN.add(epoch, id, size, count, samples)
}

/// Bytes used by all tables.
pub fn memory() -> usize {
    let mut total = 0;
    for_each(|t| total += t.touched_bytes());
    total
}

/// The table of the current thread, claiming one on first use; the orphan
/// table for a thread whose table was already released.
#[inline]
pub fn current() -> &'static Table {
    let p = CURRENT.try_with(Cell::get).unwrap_or(DEAD as *const Table);
    if p.is_null() {
        return claim();
    }
    if p as usize == DEAD {
        return &ORPHAN;
    }
    // SAFETY: tables are never freed; this thread owns this one.
    unsafe { &*p }
}

#[cold]
fn claim() -> &'static Table {
    let table = reuse_free().or_else(create).unwrap_or(&ORPHAN);
    if ptr::eq(table, &ORPHAN) {
        return table;
    }
    let _ = CURRENT.try_with(|c| c.set(table));
    register_release(table);
    table
}

fn reuse_free() -> Option<&'static Table> {
    let mut t = TABLES.load(Acquire);
    while !t.is_null() {
        // SAFETY: tables are published fully built and never freed.
        let table = unsafe { &*t };
        if !table.in_use.load(Relaxed)
            && table
                .in_use
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
        {
            return Some(table);
        }
        t = table.next.load(Acquire);
    }
    None
}

fn create() -> Option<&'static Table> {
    let p = raw::reserve(size_of::<Table>()).cast::<Table>();
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` is a fresh, zeroed, page-aligned mapping large enough
    // for a Table, written before it is published.
    unsafe { p.write(Table::new(false)) };
    // SAFETY: just initialised above.
    let table = unsafe { &*p };
    table.in_use.store(true, Relaxed);
    let mut head = TABLES.load(Relaxed);
    loop {
        table.next.store(head, Relaxed);
        match TABLES.compare_exchange_weak(head, p, Release, Relaxed) {
            Ok(_) => break,
            Err(h) => head = h,
        }
    }
    TABLE_COUNT.fetch_add(1, Relaxed);
    Some(table)
}

/// Arranges for the thread's table to be released when the thread exits,
/// after its Rust thread-local destructors (which may still free memory).
fn register_release(table: &'static Table) {
    let key = key();
    if let Some(key) = key {
        // SAFETY: `key` was created by pthread_key_create; the value is a
        // pointer to a never-freed table. glibc allocates here, if at all,
        // with its own malloc.
        unsafe {
            libc::pthread_setspecific(key, ptr::from_ref(table).cast());
        }
    }
}

fn key() -> Option<libc::pthread_key_t> {
    let k = KEY.load(Acquire);
    if k != 0 {
        return Some((k - 1) as libc::pthread_key_t);
    }
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: creates a key with a destructor that only touches atomics and
    // this thread's `CURRENT`.
    if unsafe { libc::pthread_key_create(&mut key, Some(release_table)) } != 0 {
        return None;
    }
    match KEY.compare_exchange(0, key as usize + 1, AcqRel, Acquire) {
        Ok(_) => Some(key),
        Err(winner) => {
            // SAFETY: our key was never handed out.
            unsafe { libc::pthread_key_delete(key) };
            Some((winner - 1) as libc::pthread_key_t)
        }
    }
}

extern "C" fn release_table(p: *mut libc::c_void) {
    let _ = CURRENT.try_with(|c| c.set(DEAD as *const Table));
    // SAFETY: `p` is the table pointer set by `register_release`.
    let table = unsafe { &*p.cast::<Table>() };
    let pending = table.pending.swap(0, Relaxed);
    if pending != 0 {
        bump_running(pending);
    }
    table.in_use.store(false, Release);
}
