//! Who retains a block: with the other threads stopped ([`world`]) and the
//! registry of live blocks ([`registry`]) held still, a flood from the
//! roots (statics, thread-locals, every thread's stack and registers)
//! through every word of every block reached, remembering for each block
//! the first place found to point into it (interior pointers count: a hash
//! table's control pointer is in the middle of its block). Roots are
//! flooded in the order given, breadth first, so a block's remembered path
//! is a shortest one from the earliest kind of root (statics before
//! thread-locals before stacks, as LeakCanary prefers). Then the pointers
//! between blocks that no root reaches, for the cycles among them.
//!
//! Nothing is allocated while the world is stopped (a stopped thread may
//! hold the allocator's lock): the buffers are reserved first, or come
//! from the kernel.

use super::guard::Guard;
use super::header;
use super::object::LoadedObject;
use super::registry::{self, Entry};
use super::world;

/// A root range: `[start, end)`, of kind `kind` (the caller's numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootRange {
    pub start: usize,
    pub end: usize,
    pub kind: RootKind,
}

/// Where a root range is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// The writable data of loaded object number `0`.
    Static(u32),
    /// Thread `thread`'s static TLS of loaded object number `object`.
    ThreadLocal { thread: u32, object: u32 },
    /// Thread `thread`'s stack.
    Stack { thread: u32 },
    /// Thread `thread`'s saved registers.
    Registers { thread: u32 },
}

/// What first pointed into a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// Nothing reached it.
    None,
    /// A word of root range `range` (an index into [`Scan::roots`]) at
    /// address `at`.
    Root { range: u32, at: usize },
    /// A word of block `block` (an index into [`Scan::blocks`]) at `at`.
    Block { block: u32, at: usize },
}

/// A live block as the scan saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannedBlock {
    pub addr: usize,
    pub size: usize,
    /// Its interned stack (0: allocated while tracing was off).
    pub stack: u32,
}

/// A thread as the scan saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannedThread {
    pub tid: i32,
    /// Its thread pointer.
    pub tp: usize,
}

/// What the scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Live blocks, by address.
    pub blocks: Vec<ScannedBlock>,
    /// For each block, what first pointed into it.
    pub parents: Vec<Parent>,
    /// Pointers between blocks no root reaches: `(from, to)`.
    pub unreached_edges: Vec<(u32, u32)>,
    /// The root ranges scanned (the static ones given, then each thread's).
    pub roots: Vec<RootRange>,
    /// The threads, the scanning one first.
    pub threads: Vec<ScannedThread>,
    /// Threads that did not stop in time (not scanned).
    pub missed: usize,
    /// Blocks registered while the scan read the registry, beyond its
    /// buffer (not scanned; 0 almost always).
    pub overflow: usize,
}

/// The roots [`scan`] takes, of the loaded objects `objects` (from
/// [`loaded_objects`](crate::loaded_objects), in its order): their
/// writable segments, and their static TLS blocks as `(object, offset
/// from the thread pointer, size)`.
pub fn roots_of(objects: &[LoadedObject]) -> (Vec<RootRange>, Vec<(u32, isize, usize)>) {
    let statics = objects
        .iter()
        .enumerate()
        .flat_map(|(i, o)| {
            o.data.iter().map(move |&(start, end)| RootRange {
                start,
                end,
                kind: RootKind::Static(i as u32),
            })
        })
        .collect();
    let tls = objects
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.tls.map(|(offset, size)| (i as u32, offset, size)))
        .collect();
    (statics, tls)
}

/// A stack's red zone (x86-64): a leaf function's locals below `sp`.
const RED_ZONE: usize = 128;

/// Scans the process: `statics` are the writable data of the loaded
/// objects, `tls` each object's static TLS block as `(object, offset from
/// the thread pointer, size)`. `None` when another scan runs, or the
/// registry is off.
pub fn scan(statics: &[RootRange], tls: &[(u32, isize, usize)]) -> Option<Scan> {
    if !registry::enabled() {
        return None;
    }
    // Tracker code (inside `as_tracker` already, or not): its own blocks
    // are not registered.
    let _guard = Guard::enter();
    let mut out = Scan::default();
    // Room for the blocks, reserved before anything stops.
    let mut entries: Vec<Entry> = Vec::new();
    let mut capacity = 1024;
    let (locked, n) = loop {
        entries.resize(capacity, Entry::default());
        let locked = registry::lock_all();
        if locked.len() <= entries.len() {
            let n = locked.copy_into(&mut entries);
            break (locked, n);
        }
        capacity = locked.len() + locked.len() / 4 + 1024;
        drop(locked);
    };
    out.blocks.reserve(n);
    out.parents.reserve(n);
    let mut queue: Vec<u32> = Vec::with_capacity(n);
    out.roots
        .reserve(statics.len() + (tls.len() + 2) * (world::MAX_THREADS + 1));
    out.threads.reserve(world::MAX_THREADS + 1);
    out.unreached_edges.reserve(n.min(1 << 20));
    let world = world::stop();
    let Some(world) = world else {
        drop(locked);
        return None;
    };
    // From here until `world` is dropped: no allocation (every push below
    // is within the capacity reserved above).
    let entries = &mut entries[..n];
    entries.sort_unstable_by_key(|e| e.addr);
    for e in entries.iter() {
        // SAFETY: a registered block is live (the registry is locked, and
        // every other thread is stopped), and has the engine's header.
        let stack = unsafe { header::read(e.addr as *const u8) }.stack();
        out.blocks.push(ScannedBlock {
            addr: e.addr,
            size: e.size,
            stack,
        });
        out.parents.push(Parent::None);
    }
    out.roots.extend_from_slice(statics);
    let me = ScannedThread {
        tid: world.tid_of_caller(),
        tp: super::local::thread_pointer_now(),
    };
    out.threads.push(me);
    for t in world.threads() {
        out.threads.push(ScannedThread {
            tid: t.tid,
            tp: t.tp,
        });
    }
    // Thread-locals, then stacks, then registers.
    for i in 0..out.threads.len() {
        let tp = out.threads[i].tp;
        for &(object, offset, size) in tls {
            let start = tp.wrapping_add_signed(offset);
            if tp != 0 {
                out.roots.push(RootRange {
                    start,
                    end: start + size,
                    kind: RootKind::ThreadLocal {
                        thread: i as u32,
                        object,
                    },
                });
            }
        }
    }
    let here = 0usize;
    let my_sp = &here as *const usize as usize;
    let sps = std::iter::once(my_sp).chain(world.threads().iter().map(|t| t.sp));
    for (i, sp) in sps.enumerate() {
        if let Some(end) = super::stack::mapping_end(sp) {
            out.roots.push(RootRange {
                start: sp.saturating_sub(RED_ZONE),
                end,
                kind: RootKind::Stack { thread: i as u32 },
            });
        }
    }
    for (i, t) in world.threads().iter().enumerate() {
        out.roots.push(RootRange {
            start: t.registers.as_ptr() as usize,
            end: t.registers.as_ptr() as usize + std::mem::size_of_val(&t.registers),
            kind: RootKind::Registers {
                thread: i as u32 + 1,
            },
        });
    }
    flood(&mut out, &mut queue, world::slots_range());
    unreached_edges(&mut out);
    out.missed = world.missed;
    drop(world);
    drop(locked);
    Some(out)
}

/// The block `addr` points into.
fn find(blocks: &[ScannedBlock], addr: usize) -> Option<usize> {
    let i = blocks.partition_point(|b| b.addr <= addr).checked_sub(1)?;
    let b = &blocks[i];
    (addr < b.addr + b.size.max(1)).then_some(i)
}

/// The words of `[start, end)`, aligned.
///
/// # Safety
///
/// The range is mapped and readable.
unsafe fn words(start: usize, end: usize) -> impl Iterator<Item = (usize, usize)> {
    let word = std::mem::size_of::<usize>();
    let first = start.next_multiple_of(word);
    (first..end.saturating_sub(word - 1))
        .step_by(word)
        // SAFETY: the caller's promise; aligned.
        .map(|at| (at, unsafe { (at as *const usize).read_volatile() }))
}

/// Floods from the roots, one kind at a time (statics, thread-locals,
/// stacks, registers), breadth first through the blocks before the next
/// kind starts: a block any static reaches gets a path from a static, the
/// shortest, even where a stale stack slot points at it too. A static
/// root's words inside `skip` (the stopped threads' saved registers, roots
/// of their own) are passed over.
fn flood(out: &mut Scan, queue: &mut Vec<u32>, skip: (usize, usize)) {
    fn group(kind: RootKind) -> u8 {
        match kind {
            RootKind::Static(_) => 0,
            RootKind::ThreadLocal { .. } => 1,
            RootKind::Stack { .. } => 2,
            RootKind::Registers { .. } => 3,
        }
    }
    let blocks = &out.blocks;
    let parents = &mut out.parents;
    let mut next = 0;
    for (r, root) in out.roots.iter().enumerate() {
        let statik = group(root.kind) == 0;
        // SAFETY: root ranges are mapped: writable segments of loaded
        // objects, static TLS blocks, stacks up to their mapping's end, the
        // saved registers.
        for (at, value) in unsafe { words(root.start, root.end) } {
            if statik && (skip.0..skip.1).contains(&at) {
                continue;
            }
            if let Some(b) = find(blocks, value)
                && parents[b] == Parent::None
            {
                parents[b] = Parent::Root {
                    range: r as u32,
                    at,
                };
                queue.push(b as u32);
            }
        }
        let last_of_kind = out
            .roots
            .get(r + 1)
            .is_none_or(|n| group(n.kind) != group(root.kind));
        if !last_of_kind {
            continue;
        }
        while next < queue.len() {
            let b = queue[next] as usize;
            next += 1;
            let block = blocks[b];
            // SAFETY: a live block (see `scan`).
            for (at, value) in unsafe { words(block.addr, block.addr + block.size) } {
                if let Some(c) = find(blocks, value)
                    && parents[c] == Parent::None
                {
                    parents[c] = Parent::Block {
                        block: b as u32,
                        at,
                    };
                    queue.push(c as u32);
                }
            }
        }
    }
}

fn unreached_edges(out: &mut Scan) {
    let capacity = out.unreached_edges.capacity();
    for (b, block) in out.blocks.iter().enumerate() {
        if out.parents[b] != Parent::None {
            continue;
        }
        // SAFETY: a live block (see `scan`).
        for (_, value) in unsafe { words(block.addr, block.addr + block.size) } {
            if let Some(c) = find(&out.blocks, value)
                && out.parents[c] == Parent::None
                && out.unreached_edges.len() < capacity
            {
                out.unreached_edges.push((b as u32, c as u32));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrackingAllocator;
    use std::sync::atomic::{AtomicPtr, Ordering::Relaxed};

    static HELD: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

    fn allocate(size: usize) -> *mut u8 {
        let layout = std::alloc::Layout::from_size_align(size, 8).unwrap();
        // SAFETY: a non-zero layout.
        unsafe {
            std::alloc::GlobalAlloc::alloc(
                &TrackingAllocator::<std::alloc::System>::system(),
                layout,
            )
        }
    }

    #[test]
    fn a_static_an_inner_block_and_a_cycle_are_told_apart() {
        let _turn = registry::TEST_TURN
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        registry::enable();
        // static HELD → outer → inner
        let outer = allocate(64).cast::<usize>();
        let inner = allocate(32);
        // SAFETY: fresh blocks of at least 16 bytes.
        unsafe {
            outer.add(3).write(inner as usize + 8); // an interior pointer
        }
        HELD.store(outer.cast(), Relaxed);
        // a ↔ b, reached by nothing.
        let a = allocate(48).cast::<usize>();
        let b = allocate(48).cast::<usize>();
        // SAFETY: fresh blocks.
        unsafe {
            a.write(b as usize);
            b.write(a as usize);
        }
        let lonely = allocate(24);
        let held = &HELD as *const AtomicPtr<u8> as usize;
        let statics = [RootRange {
            start: held,
            end: held + 8,
            kind: RootKind::Static(0),
        }];
        let scan = scan(&statics, &[]).expect("a scan");
        let index = |p: *const u8| {
            scan.blocks
                .iter()
                .position(|b| b.addr == p as usize)
                .expect("registered")
        };
        let (o, i, ia, ib, l) = (
            index(outer.cast()),
            index(inner),
            index(a.cast()),
            index(b.cast()),
            index(lonely),
        );
        assert_eq!(scan.parents[o], Parent::Root { range: 0, at: held });
        assert_eq!(
            scan.parents[i],
            Parent::Block {
                block: o as u32,
                at: outer as usize + 24
            }
        );
        // Stale copies on this thread's stack may reach the rest; the
        // cycle's edges are seen when they do not.
        if scan.parents[ia] == Parent::None && scan.parents[ib] == Parent::None {
            assert!(scan.unreached_edges.contains(&(ia as u32, ib as u32)));
            assert!(scan.unreached_edges.contains(&(ib as u32, ia as u32)));
        }
        let _ = l;
        assert!(!scan.threads.is_empty());
    }
}
