//! What the allocator does per block: count it under its stack, or uncount
//! it, and the header around it. Must not allocate, lock or panic.
//!
//! The `GlobalAlloc` methods are generic over the inner allocator, so they
//! are compiled in the crate that installs the tracker, at that crate's
//! optimisation level (none, in a test build), and so is every `#[inline]`
//! function they reach. All they do themselves is call the inner
//! allocator; everything else is a call to the entry points here. With
//! debug assertions on (the dev and test profiles) the entry points are
//! not `#[inline]`, so they are compiled in leakcheck-engine at its own level
//! (`cargo leakcheck` builds it optimised in every profile; see the
//! README for plain `cargo test`): a few calls per allocation, against
//! hundreds of unoptimised instructions. Without debug assertions they are
//! `#[inline]`, and an optimised build keeps the whole path in one piece.

use std::alloc::Layout;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::Relaxed;

use super::control::{self, DEPTH, EPOCH, TRACING};
use super::counters;
use super::guard::{self, Guard, Mode};
use super::header::{self, Header};
use super::registry;
use super::sample;
use super::stack::{self, MAX_WALK};

/// A new block to ask an allocator for: its layout with the header, the
/// header's size, and who serves it.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    pub(crate) outer: Layout,
    pub(crate) header_size: usize,
    /// `Mode::Tracker`: served by `System`; else by the inner allocator.
    pub(crate) mode: Mode,
}

/// An existing block as its owner served it.
#[derive(Debug, Clone, Copy)]
pub struct Block {
    /// The pointer its owner returned.
    pub(crate) base: *mut u8,
    pub(crate) outer: Layout,
    pub(crate) header_size: usize,
    pub(crate) header: Header,
}

impl Request {
    /// The layout to ask the real allocator for: the user's alignment, the
    /// user's size plus the header.
    #[inline(always)]
    pub fn outer(&self) -> Layout {
        self.outer
    }

    /// `true` when the block is the tracker's own and must come from the
    /// tracker's allocator (`System` for the global allocator), not from
    /// the allocator the user's blocks come from.
    #[inline(always)]
    pub fn for_tracker(&self) -> bool {
        self.mode == Mode::Tracker
    }
}

impl Block {
    /// The pointer its owner returned.
    #[inline(always)]
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    /// The layout its owner served.
    #[inline(always)]
    pub fn outer(&self) -> Layout {
        self.outer
    }

    /// `true` when the tracker's allocator owns the block (see
    /// [`Request::for_tracker`]); a realloc must stay with that owner.
    #[inline(always)]
    pub fn for_tracker(&self) -> bool {
        self.header.system_owned()
    }
}

/// The request for a block of `layout`; `None` if the header does not fit.
#[cfg_attr(not(debug_assertions), inline)]
pub fn request(layout: Layout) -> Option<Request> {
    let (outer, header_size) = header::outer_layout(layout)?;
    Some(Request {
        outer,
        header_size,
        mode: guard::mode(),
    })
}

/// Writes the header of a block `base` served for `request` (for a user
/// block of `size` bytes) and counts it; returns the user's pointer, or
/// null if `base` is null. `first` is the front end's hook, called once
/// in the process, on its first allocation
/// ([`Hooks::first_allocation`](crate::Hooks::first_allocation)).
///
/// # Safety
///
/// `base` is null or a block of `request.outer` from the allocator that
/// `request.mode` names.
#[cfg_attr(not(debug_assertions), inline)]
pub unsafe fn after_alloc(base: *mut u8, request: Request, size: usize, first: fn()) -> *mut u8 {
    // SAFETY: forwarded.
    unsafe { finish(base, request.header_size, request.mode, size, first) }
}

/// [`after_alloc`] of a block with a header of `header_size` bytes, for
/// `mode`.
///
/// # Safety
///
/// `base` is null or a block of `size + header_size` bytes from the
/// allocator that `mode` names.
#[inline]
unsafe fn finish(
    base: *mut u8,
    header_size: usize,
    mode: Mode,
    size: usize,
    first: fn(),
) -> *mut u8 {
    if base.is_null() {
        return base;
    }
    control::first_allocation(first);
    let header = match mode {
        Mode::Tracker => Header::SYSTEM,
        mode => on_alloc(size, mode),
    };
    // SAFETY: `base` is a block of `size + header_size` bytes (see the
    // contract), so `base + header_size` is in bounds and the 8 bytes
    // before it are the block's header area.
    let user = unsafe {
        let user = base.add(header_size);
        header::write(user, header);
        user
    };
    if mode != Mode::Tracker && registry::enabled() {
        registry::insert(user as usize, size);
    }
    user
}

/// The block behind a user pointer.
///
/// # Safety
///
/// `ptr` is a live block this allocator returned for `layout`.
#[inline]
pub(crate) unsafe fn block(ptr: *mut u8, layout: Layout) -> Block {
    // SAFETY: `layout` is one `outer_layout` accepted when the block was
    // served (contract).
    let (outer, header_size) = unsafe { header::outer_layout_unchecked(layout) };
    // SAFETY: the block's header precedes it, and its owner's block starts
    // `header_size` bytes before it (contract).
    unsafe {
        Block {
            base: ptr.sub(header_size),
            outer,
            header_size,
            header: header::read(ptr),
        }
    }
}

/// Uncounts the block behind `ptr` before it is freed; returns it.
///
/// # Safety
///
/// `ptr` is a live block the front end returned for `layout` (as for
/// `block`).
#[cfg_attr(not(debug_assertions), inline)]
pub unsafe fn before_dealloc(ptr: *mut u8, layout: Layout) -> Block {
    // SAFETY: forwarded.
    let block = unsafe { block(ptr, layout) };
    on_free(block.header, layout.size());
    if registry::enabled() && !block.header.system_owned() {
        registry::remove(ptr as usize);
    }
    block
}

/// The block behind `ptr` and the outer size for growing it to `new_size`;
/// `None` if that size is not a valid layout.
///
/// # Safety
///
/// `ptr` is a live block the front end returned for `layout` (as for
/// `block`).
#[cfg_attr(not(debug_assertions), inline)]
pub unsafe fn before_realloc(
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> Option<(Block, usize)> {
    // SAFETY: forwarded.
    let block = unsafe { block(ptr, layout) };
    let new_outer = new_size
        .checked_add(block.header_size)
        .filter(|&s| Layout::from_size_align(s, block.outer.align()).is_ok())?;
    Some((block, new_outer))
}

/// Recounts a block that `old` (of `old_size` user bytes) was reallocated
/// into at `base` (null: the realloc failed, and nothing changes); returns
/// the user's pointer (`first` as in [`after_alloc`]). The block stays with its owner, and so does its
/// header's owner bit: a tracker block stays the tracker's, and a block of
/// the inner allocator grown by tracker code is the inner allocator's
/// still. Like tracemalloc, the new block is charged to the realloc's own
/// call path.
///
/// # Safety
///
/// `base` is null or the block that `old`'s owner returned for a realloc
/// of `old` to `new_size` user bytes.
#[cfg_attr(not(debug_assertions), inline)]
pub unsafe fn after_realloc(
    base: *mut u8,
    old: Block,
    old_size: usize,
    new_size: usize,
    first: fn(),
) -> *mut u8 {
    if base.is_null() {
        return base;
    }
    on_free(old.header, old_size);
    if registry::enabled() && !old.header.system_owned() {
        registry::remove(old.base as usize + old.header_size);
    }
    let mode = match (old.header.system_owned(), guard::mode()) {
        (true, _) => Mode::Tracker,
        (false, Mode::Tracker) => Mode::User,
        (false, mode) => mode,
    };
    // SAFETY: `base` has room for `new_size` bytes after the header
    // (contract), from the owner that `mode` names.
    unsafe { finish(base, old.header_size, mode, new_size, first) }
}

/// Counts a new block of `size` bytes allocated in `mode`; returns the
/// header to store in it.
#[inline]
pub(crate) fn on_alloc(size: usize, mode: Mode) -> Header {
    on_alloc_from(size, mode, 0)
}

/// [`on_alloc`] for a block that the code at `caller` asked `malloc` for
/// (0: unknown). Where that code is a system library's, built without
/// frame pointers (`strdup`, C++'s `operator new`), a walk would pass over
/// the frame that called it, so this block's stack is taken with the DWARF
/// unwinder.
#[inline]
pub(crate) fn on_alloc_from(size: usize, mode: Mode, caller: usize) -> Header {
    // Sampled tracking first: one load and the thread's countdown is all
    // that most allocations cost. (Sampling is only on while tracing is,
    // but a `stop` may come between the two: `count_sampled` checks.)
    if sample::on() {
        if mode != Mode::Free || !sample::pick(size) {
            return Header::UNTRACKED;
        }
        return count_sampled(size, caller);
    }
    if !TRACING.load(Relaxed) || mode != Mode::Free {
        return Header::UNTRACKED;
    }
    count_exact(size, caller)
}

/// A block that sampled tracking picked: counted with its weight, out of
/// the line of the allocations it passes over.
#[cold]
#[inline(never)]
fn count_sampled(size: usize, caller: usize) -> Header {
    if !TRACING.load(Relaxed) {
        return Header::UNTRACKED;
    }
    count_new(size, caller, true)
}

/// A block of exact tracking: its stack walked and counted. Out of line,
/// so that the allocation's own path stays small enough to inline.
#[inline(never)]
fn count_exact(size: usize, caller: usize) -> Header {
    count_new(size, caller, false)
}

/// Takes the stack of a new block of `size` bytes and counts it (with its
/// sampling weight when `sampled`).
#[inline(always)]
fn count_new(size: usize, caller: usize, sampled: bool) -> Header {
    let Some(_guard) = Guard::enter() else {
        return Header::UNTRACKED;
    };
    let epoch = EPOCH.load(Relaxed);
    let mut buf = [MaybeUninit::<usize>::uninit(); MAX_WALK];
    let depth = DEPTH.load(Relaxed).min(MAX_WALK);
    #[cfg(leakcheck_native)]
    let id = if stack::in_system_library(caller) {
        stack::stack_id_unwound(&mut buf[..depth])
    } else {
        stack::stack_id(&mut buf[..depth])
    };
    #[cfg(not(leakcheck_native))]
    let id = {
        let _ = caller;
        stack::stack_id(&mut buf[..depth])
    };
    if sampled {
        let (bytes, count) = sample::weight(size);
        if !counters::add(epoch, id, bytes, count, 1) {
            return Header::UNTRACKED;
        }
        return Header::sampled(epoch, id);
    }
    if !counters::add(epoch, id, size as i64, 1, 0) {
        // Nowhere to count it: leave it untracked, so its free is ignored.
        return Header::UNTRACKED;
    }
    Header::new(epoch, id)
}

/// Uncounts a block of `size` bytes that carried `header`. Blocks from
/// before tracing began, or from an earlier epoch, were never counted.
#[inline(always)]
pub(crate) fn on_free(header: Header, size: usize) {
    if header.stack() == 0 {
        return;
    }
    uncount(header, size);
}

/// [`on_free`] of a counted block, out of line: a sampled run's unsampled
/// blocks (most of them) stop at the header's stack id.
#[inline(never)]
fn uncount(header: Header, size: usize) {
    if header.epoch() != EPOCH.load(Relaxed) {
        return;
    }
    if header.is_sampled() {
        let (bytes, count) = sample::weight(size);
        counters::add(header.epoch(), header.stack(), -bytes, -count, -1);
        return;
    }
    counters::add(header.epoch(), header.stack(), -(size as i64), -1, 0);
}
