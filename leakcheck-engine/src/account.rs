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
#[cfg(not(leakcheck_native))]
use super::fast;
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

/// What the fast path found for an allocation (or a realloc) of user code.
#[cfg(not(leakcheck_native))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fast {
    /// A block that is neither counted nor registered: served from the
    /// user's allocator for [`plain_outer`], then [`plain_block`].
    Plain,
    /// One of sampled tracking's countdowns ran out on this block: the
    /// general path, with [`Pick::RanOut`], which draws the next gaps and
    /// says whether the block is sampled.
    RanOut,
    /// Tracking is exact (or off): served from the user's allocator for
    /// [`plain_outer`], then counted out of line ([`exact_block`]). Of a
    /// free: a block counted by either kind of tracking, uncounted out of
    /// line ([`uncount_block`]).
    Exact,
    /// Anything else: the general path, with [`Pick::Decide`].
    General,
}

/// Whether the general path still has to decide if a block is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(leakcheck_native, allow(dead_code))]
pub(crate) enum Pick {
    /// It decides, as for every block of exact tracking.
    Decide,
    /// The fast path moved the countdowns on for it (user code, sampled
    /// tracking) and one ran out: [`sample::picked`] says whether it is
    /// counted, with its weight.
    RanOut,
}

/// The largest user size the fast path serves: with its 8-byte header and
/// rounded up to an alignment of at most 8, it stays within `isize::MAX`.
#[cfg(not(leakcheck_native))]
const PLAIN_MAX: usize = isize::MAX as usize - 15;

/// The fast path of an allocation of `layout` by user code: `Plain` when
/// sampled tracking is on, nothing else is to be done, and the thread's
/// countdown passes the block over (ask the user's allocator for
/// [`plain_outer`] of `layout`); `RanOut` when a countdown ran out on it;
/// else `General`, which [`slow_alloc`] looks at out of line.
#[cfg(not(leakcheck_native))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn fast_alloc(layout: Layout) -> Fast {
    if fast::reasons() != 0 || !fits_fast(layout.align(), layout.size()) {
        return Fast::General;
    }
    if sample::count_down(layout.size()) {
        return Fast::RanOut;
    }
    Fast::Plain
}

/// Where an allocation that [`fast_alloc`] said `General` of goes: `Exact`
/// when exact tracking (or none) is all there is to do (ask the user's
/// allocator for [`plain_outer`] of `layout`, then [`exact_block`]); else
/// `General`.
#[cfg(not(leakcheck_native))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn slow_alloc(layout: Layout) -> Fast {
    if fast::reasons() == fast::NOT_SAMPLED && fits_fast(layout.align(), layout.size()) {
        return Fast::Exact;
    }
    Fast::General
}

/// `true` for a block of user code that a fast path serves: an alignment
/// of at most 8 (an 8-byte header), a size of at most [`PLAIN_MAX`].
#[cfg(not(leakcheck_native))]
#[inline(always)]
fn fits_fast(align: usize, size: usize) -> bool {
    align <= 8 && size <= PLAIN_MAX && guard::mode() == Mode::Free
}

/// The layout to ask the user's allocator for when [`fast_alloc`] said
/// `Plain` or [`slow_alloc`] `Exact` (or their realloc versions, of the
/// new size): 8 bytes more, the same alignment.
///
/// # Safety
///
/// [`fits_fast`] was `true` of `layout`.
#[cfg(not(leakcheck_native))]
#[inline(always)]
pub(crate) unsafe fn plain_outer(layout: Layout) -> Layout {
    // SAFETY: `fits_fast` saw a size of at most `PLAIN_MAX` and an
    // alignment of at most 8: the size plus the header is at most
    // `isize::MAX - 7`, which rounded up to the alignment (a power of two)
    // stays within `isize::MAX`.
    unsafe { Layout::from_size_align_unchecked(layout.size() + 8, layout.align()) }
}

/// [`fast_alloc`] of a realloc of the user block `ptr` (of `layout`) to
/// `new_size` bytes, whose header is `old`: `Plain` when the old block is
/// plain too (its owner, the user's allocator, reallocates [`plain_outer`]
/// of `layout`, 8 bytes before `ptr`, to `new_size + 8` bytes); `RanOut`;
/// else `General`, which [`slow_realloc`] looks at out of line.
#[cfg(not(leakcheck_native))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn fast_realloc(old: Header, layout: Layout, new_size: usize) -> Fast {
    if fast::reasons() != 0 || !old.is_plain() || !fits_fast(layout.align(), new_size) {
        return Fast::General;
    }
    if sample::count_down(new_size) {
        return Fast::RanOut;
    }
    Fast::Plain
}

/// [`slow_alloc`] of a realloc: `Exact` when the old block was counted (or
/// plain) and tracking is exact or off, then reallocated as for `Plain`
/// and passed to [`exact_realloc_block`]; else `General`.
#[cfg(not(leakcheck_native))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn slow_realloc(old: Header, layout: Layout, new_size: usize) -> Fast {
    if fast::reasons() == fast::NOT_SAMPLED
        && old.is_user_counted()
        && fits_fast(layout.align(), new_size)
    {
        return Fast::Exact;
    }
    Fast::General
}

/// How a free of a block with header `header` goes: `Plain` (nothing to
/// undo), `Exact` (counted: [`uncount_block`], then back to the user's
/// allocator) or `General`.
#[cfg(not(leakcheck_native))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn fast_free(header: Header) -> Fast {
    if header.is_plain() {
        Fast::Plain
    } else if header.is_user_counted() {
        Fast::Exact
    } else {
        Fast::General
    }
}

/// The user's pointer into a block `base` that [`slow_alloc`] said
/// `Exact` for (null if `base` is null), counted as a block of `size`
/// bytes of user code.
///
/// # Safety
///
/// `base` is null or a block of [`plain_outer`] from the user's allocator.
#[cfg(not(leakcheck_native))]
#[cfg_attr(not(debug_assertions), inline)]
pub(crate) unsafe fn exact_block(base: *mut u8, size: usize) -> *mut u8 {
    if base.is_null() {
        return base;
    }
    let header = on_alloc(size, Mode::Free);
    // SAFETY: `base` has the header's 8 bytes and `size` more (contract).
    unsafe {
        let user = base.add(8);
        header::write(user, header);
        user
    }
}

/// [`exact_block`] of a realloc that [`slow_realloc`] said `Exact` for:
/// the old block (of `old_size` bytes, header `old`) is uncounted and the
/// new one counted, unless the realloc failed (`base` null).
///
/// # Safety
///
/// As [`exact_block`] for `new_size`.
#[cfg(not(leakcheck_native))]
#[cfg_attr(not(debug_assertions), inline)]
pub(crate) unsafe fn exact_realloc_block(
    base: *mut u8,
    old: Header,
    old_size: usize,
    new_size: usize,
) -> *mut u8 {
    if base.is_null() {
        return base;
    }
    on_free(old, old_size);
    // SAFETY: forwarded.
    unsafe { exact_block(base, new_size) }
}

/// Uncounts a user block of `size` bytes with header `header` that
/// [`fast_free`] said `Exact` for.
#[cfg(not(leakcheck_native))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn uncount_block(header: Header, size: usize) {
    on_free(header, size);
}

/// The user's pointer into a block `base` that [`fast_alloc`] or
/// [`fast_realloc`] asked for (null if `base` is null), its header written:
/// neither counted nor registered.
///
/// # Safety
///
/// `base` is null or a block of at least 8 bytes.
#[cfg(not(leakcheck_native))]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) unsafe fn plain_block(base: *mut u8) -> *mut u8 {
    if base.is_null() {
        return base;
    }
    // SAFETY: `base` has at least 8 bytes (contract): the header's.
    unsafe {
        let user = base.add(8);
        header::write(user, Header::UNTRACKED);
        user
    }
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
    unsafe { after_alloc_picked(base, request, size, first, Pick::Decide) }
}

/// [`after_alloc`], told whether the fast path picked the block.
///
/// # Safety
///
/// As [`after_alloc`]; with [`Pick::RanOut`], `request.mode` was
/// `Mode::Free`.
#[cfg_attr(not(debug_assertions), inline)]
pub(crate) unsafe fn after_alloc_picked(
    base: *mut u8,
    request: Request,
    size: usize,
    first: fn(),
    pick: Pick,
) -> *mut u8 {
    // SAFETY: forwarded.
    unsafe { finish(base, request.header_size, request.mode, size, first, pick) }
}

/// [`after_alloc`] of a block with a header of `header_size` bytes, for
/// `mode`, counted as `pick` says.
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
    pick: Pick,
) -> *mut u8 {
    if base.is_null() {
        failed(pick);
        return base;
    }
    control::first_allocation(first);
    let mut header = match (mode, pick) {
        (Mode::Tracker, _) => Header::SYSTEM,
        (_, Pick::RanOut) if sample::picked() => count_sampled(size, 0),
        (_, Pick::RanOut) => Header::UNTRACKED,
        (mode, Pick::Decide) => on_alloc(size, mode),
    };
    // SAFETY: `base` is a block of `size + header_size` bytes (see the
    // contract), so `base + header_size` is in bounds.
    let user = unsafe { base.add(header_size) };
    if mode != Mode::Tracker && registry::enabled() {
        registry::insert(user as usize, size);
        header = header.registered();
    }
    // SAFETY: the 8 bytes before `user` are the block's header area.
    unsafe { header::write(user, header) };
    user
}

/// A block the fast path moved the countdowns on for was not served: the
/// countdown that ran out is drawn again all the same, so that the next
/// block is not sampled for it (each block served is sampled with its own
/// probability, whatever failed before it).
#[inline]
fn failed(pick: Pick) {
    if pick == Pick::RanOut {
        sample::picked();
    }
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
    if block.header.is_registered() {
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
    // SAFETY: forwarded.
    unsafe { after_realloc_picked(base, old, old_size, new_size, first, Pick::Decide) }
}

/// [`after_realloc`], told whether the fast path picked the new block.
///
/// # Safety
///
/// As [`after_realloc`]; with [`Pick::RanOut`], the thread runs user code
/// (`Mode::Free`) and `old` is not the tracker's.
#[cfg_attr(not(debug_assertions), inline)]
pub(crate) unsafe fn after_realloc_picked(
    base: *mut u8,
    old: Block,
    old_size: usize,
    new_size: usize,
    first: fn(),
    pick: Pick,
) -> *mut u8 {
    if base.is_null() {
        failed(pick);
        return base;
    }
    on_free(old.header, old_size);
    if old.header.is_registered() {
        registry::remove(old.base as usize + old.header_size);
    }
    let mode = match (old.header.system_owned(), guard::mode()) {
        (true, _) => Mode::Tracker,
        (false, Mode::Tracker) => Mode::User,
        (false, mode) => mode,
    };
    // SAFETY: `base` has room for `new_size` bytes after the header
    // (contract), from the owner that `mode` names.
    unsafe { finish(base, old.header_size, mode, new_size, first, pick) }
}

/// [`on_alloc_from`] of a block that a fast path moved the countdowns on
/// for (`pick`, [`Pick::RanOut`]: [`sample::picked`] decides, with the
/// block's weight), or not ([`Pick::Decide`]).
#[cfg(leakcheck_native)]
#[inline]
pub(crate) fn on_alloc_picked(size: usize, mode: Mode, caller: usize, pick: Pick) -> Header {
    match pick {
        Pick::RanOut if sample::picked() => count_sampled(size, caller),
        Pick::RanOut => Header::UNTRACKED,
        Pick::Decide => on_alloc_from(size, mode, caller),
    }
}

/// A block that a fast path moved the countdowns on for, and that ran out,
/// was not served: the countdown is drawn again all the same.
#[cfg(leakcheck_native)]
#[inline]
pub(crate) fn not_served(pick: Pick) {
    failed(pick);
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
