//! `TrackingAllocator`: the `GlobalAlloc` front end, which puts a header
//! in front of every block and counts it under its call stack.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt;
use std::marker::PhantomData;
#[cfg(not(leakcheck_native))]
use std::ptr;

#[cfg(not(leakcheck_native))]
use super::account::{self, Fast, Pick};
use super::control;
#[cfg(not(leakcheck_native))]
use super::guard::Mode;
#[cfg(not(leakcheck_native))]
use super::header::{self, Header};
use super::hooks::{Hooks, NoHooks};

/// A global allocator that records a call stack for every live allocation
/// while tracing is on, forwarding the memory itself to `A`; `H` is what
/// runs on the first allocation (leakcheck-rt's session start).
///
/// `A` is asked for the alignment the caller asked for, and for 8 bytes
/// more per block (the header; the alignment itself when above 8). The
/// tracker's own memory (snapshots, symbolisation, the session record)
/// never comes from `A`: it is served by [`System`].
///
/// leakcheck-rt installs it as `leakcheck_rt::TrackingAllocator`, with its
/// session hook; by hand:
///
/// ```
/// #[global_allocator]
/// static A: leakcheck_engine::TrackingAllocator =
///     leakcheck_engine::TrackingAllocator::new(std::alloc::System);
/// ```
pub struct TrackingAllocator<A = System, H = NoHooks> {
    inner: A,
    hooks: PhantomData<fn() -> H>,
}

impl<A, H> TrackingAllocator<A, H> {
    /// Tracks allocations made through `inner`.
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            hooks: PhantomData,
        }
    }
}

impl<H> TrackingAllocator<System, H> {
    /// Tracks allocations made through the system allocator.
    pub const fn system() -> Self {
        Self::new(System)
    }
}

impl<A: fmt::Debug, H> fmt::Debug for TrackingAllocator<A, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackingAllocator")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<A: Default, H> Default for TrackingAllocator<A, H> {
    fn default() -> Self {
        Self::new(A::default())
    }
}

impl<A: Clone, H> Clone for TrackingAllocator<A, H> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone())
    }
}

impl<A: Copy, H> Copy for TrackingAllocator<A, H> {}

// SAFETY: every method forwards to `A` (or, for the tracker's own blocks,
// to `System`) with a layout that is theirs to serve (the user's alignment,
// the user's size plus a header of a multiple of the alignment), returns a
// pointer `header_size` bytes into that block (so it keeps the user's
// alignment and size), and hands the same allocator back exactly the
// pointer and layout it returned: the header says which allocator owns a
// block, and a realloc stays with the owner. Bookkeeping never allocates,
// locks or unwinds.
//
// The bookkeeping is in `account`, called out of line: these methods are
// compiled in the user's crate, often unoptimised (see `account`). Each
// method has a fast path for user code: for the blocks that sampled
// tracking does not pick, a load of `fast::SLOW`, the thread's mode and
// countdown, and a header of 0 (and a free that reads it); under exact
// tracking, the count out of line after the block is served. Everything
// else (tracker code, untracked code, the registry, over-aligned blocks)
// takes the general path, out of line.
#[cfg(not(leakcheck_native))]
unsafe impl<A: GlobalAlloc, H: Hooks> GlobalAlloc for TrackingAllocator<A, H> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match account::fast_alloc(layout) {
            // SAFETY: `fast_alloc` said `Plain`; the outer layout has a
            // non-zero size, at least the header's 8 bytes.
            Fast::Plain => unsafe {
                account::plain_block(self.inner.alloc(account::plain_outer(layout)))
            },
            // SAFETY: forwarded from the caller (user code, for `RanOut`).
            Fast::RanOut => unsafe { self.alloc_general(layout, Pick::RanOut, false) },
            // SAFETY: forwarded from the caller.
            _ => unsafe { self.alloc_slow(layout, false) },
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match account::fast_alloc(layout) {
            // SAFETY: as in `alloc`.
            Fast::Plain => unsafe {
                account::plain_block(self.inner.alloc_zeroed(account::plain_outer(layout)))
            },
            // SAFETY: forwarded from the caller (user code, for `RanOut`).
            Fast::RanOut => unsafe { self.alloc_general(layout, Pick::RanOut, true) },
            // SAFETY: forwarded from the caller.
            _ => unsafe { self.alloc_slow(layout, true) },
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a live block this allocator returned
        // for `layout`; a plain or counted block is the inner allocator's
        // (the header has no owner bit), served for its base and outer
        // layout.
        unsafe {
            let block = account::block(ptr, layout);
            if block.header.is_plain() {
                self.inner.dealloc(block.base, block.outer);
            } else {
                self.dealloc_general(ptr, layout);
            }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller passes a live block this allocator returned
        // for `layout`; a plain block is the inner allocator's (no owner
        // bit), which gets back the base (8 bytes before `ptr`, the
        // alignment being at most 8) and outer layout it served, and
        // `new_size + 8` is a valid non-zero size for its alignment
        // (`fast_realloc` checked it as `fast_alloc` would).
        unsafe {
            match account::fast_realloc(header::read(ptr), layout, new_size) {
                Fast::Plain => account::plain_block(self.inner.realloc(
                    ptr.sub(8),
                    account::plain_outer(layout),
                    new_size + 8,
                )),
                Fast::RanOut => self.realloc_general(ptr, layout, new_size, Pick::RanOut),
                _ => self.realloc_slow(ptr, layout, new_size),
            }
        }
    }
}

/// The general paths, out of line: the fast paths that fall through to
/// them keep no more than they need themselves.
#[cfg(not(leakcheck_native))]
impl<A: GlobalAlloc, H: Hooks> TrackingAllocator<A, H> {
    /// `alloc` (`alloc_zeroed` when `zeroed`) that the fast path did not
    /// serve: under exact tracking (or none) a block of user code is
    /// served and then counted; anything else takes the general path.
    ///
    /// # Safety
    ///
    /// As `GlobalAlloc::alloc`.
    #[inline(never)]
    unsafe fn alloc_slow(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        if account::slow_alloc(layout) != Fast::Exact {
            // SAFETY: forwarded from the caller.
            return unsafe { self.alloc_general(layout, Pick::Decide, zeroed) };
        }
        // SAFETY: `slow_alloc` said `Exact`: the outer layout is valid, of
        // a non-zero size, and the block is the header's 8 bytes and
        // `layout.size()` more.
        unsafe {
            let outer = account::plain_outer(layout);
            let base = if zeroed {
                self.inner.alloc_zeroed(outer)
            } else {
                self.inner.alloc(outer)
            };
            account::exact_block(base, layout.size())
        }
    }

    /// `realloc` that the fast path did not serve: under exact tracking (or
    /// none) a counted (or plain) block of user code is reallocated and
    /// then recounted; anything else takes the general path.
    ///
    /// # Safety
    ///
    /// As `GlobalAlloc::realloc`.
    #[inline(never)]
    unsafe fn realloc_slow(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller passes a live block this allocator returned
        // for `layout`; with `Exact`, it is the inner allocator's (no owner
        // bit), 8 bytes before `ptr` (the alignment being at most 8), and
        // `new_size + 8` is valid for its alignment (`slow_realloc`).
        unsafe {
            let old = header::read(ptr);
            if account::slow_realloc(old, layout, new_size) != Fast::Exact {
                return self.realloc_general(ptr, layout, new_size, Pick::Decide);
            }
            let base = self
                .inner
                .realloc(ptr.sub(8), account::plain_outer(layout), new_size + 8);
            account::exact_realloc_block(base, old, layout.size(), new_size)
        }
    }

    /// `alloc` (`alloc_zeroed` when `zeroed`) of any block.
    ///
    /// # Safety
    ///
    /// As `GlobalAlloc::alloc`; with [`Pick::RanOut`], the thread runs
    /// user code.
    #[inline(never)]
    unsafe fn alloc_general(&self, layout: Layout, pick: Pick, zeroed: bool) -> *mut u8 {
        let Some(request) = account::request(layout) else {
            return ptr::null_mut();
        };
        // SAFETY: `outer` has a non-zero size (it includes the header), and
        // the block goes to the allocator `mode` names.
        unsafe {
            let base = match (request.mode, zeroed) {
                (Mode::Tracker, false) => System.alloc(request.outer),
                (Mode::Tracker, true) => System.alloc_zeroed(request.outer),
                (_, false) => self.inner.alloc(request.outer),
                (_, true) => self.inner.alloc_zeroed(request.outer),
            };
            account::after_alloc_picked(base, request, layout.size(), H::first_allocation, pick)
        }
    }

    /// `dealloc` of a block that is not plain: counted, or the tracker's,
    /// or registered.
    ///
    /// # Safety
    ///
    /// As `GlobalAlloc::dealloc`.
    #[inline(never)]
    unsafe fn dealloc_general(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a live block this allocator returned
        // for `layout`; a counted block that is not registered is the inner
        // allocator's (the header has no owner bit), served for its base
        // and outer layout.
        unsafe {
            let block = account::block(ptr, layout);
            if account::fast_free(block.header) != Fast::Exact {
                return self.dealloc_other(ptr, layout);
            }
            account::uncount_block(block.header, layout.size());
            self.inner.dealloc(block.base, block.outer);
        }
    }

    /// `dealloc` of a block of the tracker's, or a registered one.
    ///
    /// # Safety
    ///
    /// As `GlobalAlloc::dealloc`.
    #[cold]
    #[inline(never)]
    unsafe fn dealloc_other(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a live block this allocator returned
        // for `layout`; its base and outer layout are what its owner (named
        // by the header) served.
        unsafe {
            let block = account::before_dealloc(ptr, layout);
            if block.header.system_owned() {
                System.dealloc(block.base, block.outer);
            } else {
                self.inner.dealloc(block.base, block.outer);
            }
        }
    }

    /// `realloc` of any block.
    ///
    /// # Safety
    ///
    /// As `GlobalAlloc::realloc`; with [`Pick::RanOut`], the thread runs
    /// user code and the block is the inner allocator's.
    #[inline(never)]
    unsafe fn realloc_general(
        &self,
        ptr: *mut u8,
        layout: Layout,
        new_size: usize,
        pick: Pick,
    ) -> *mut u8 {
        // SAFETY: the caller passes a live block this allocator returned
        // for `layout`; its owner gets back the base and outer layout it
        // served, and `new_outer` is a valid non-zero size for its
        // alignment. On failure the old block is untouched, and so are the
        // counts.
        unsafe {
            let Some((old, new_outer)) = account::before_realloc(ptr, layout, new_size) else {
                return ptr::null_mut();
            };
            let base = if old.header.system_owned() {
                System.realloc(old.base, old.outer, new_outer)
            } else {
                self.inner.realloc(old.base, old.outer, new_outer)
            };
            account::after_realloc_picked(
                base,
                old,
                layout.size(),
                new_size,
                H::first_allocation,
                pick,
            )
        }
    }
}

// SAFETY: every method forwards to `A` unchanged: with the `malloc` front
// end compiled in (`cfg(leakcheck_native)`), `System` calls `malloc`, which
// counts the block once, where C's blocks are counted. Only the first
// allocation's hook runs here.
#[cfg(leakcheck_native)]
unsafe impl<A: GlobalAlloc, H: Hooks> GlobalAlloc for TrackingAllocator<A, H> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        control::first_allocation(H::first_allocation);
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        control::first_allocation(H::first_allocation);
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}

/// The interned stack a live block was counted under (tracemalloc's
/// `get_object_traceback`, before symbolisation): `None` if it was
/// allocated while tracing was off, or before the last `start`, `stop` or
/// `clear_traces`.
///
/// # Safety
///
/// `ptr` must be the start of a live block returned by the global
/// allocator (`Box::into_raw`, `Vec::as_ptr` of a non-empty vector,
/// `String::as_ptr`, …), and the global allocator must be a
/// [`TrackingAllocator`].
pub unsafe fn object_stack(ptr: *const u8) -> Option<u32> {
    if !control::installed() || ptr.is_null() {
        return None;
    }
    // SAFETY: forwarded from the caller.
    #[cfg(not(leakcheck_native))]
    let header: Header = unsafe { header::read(ptr) };
    // With the `malloc` front end, a block sampled tracking passed over is
    // glibc's as it is, with no header.
    // SAFETY: forwarded from the caller: a live block of `malloc`.
    #[cfg(leakcheck_native)]
    let header = (unsafe { super::native::own_header(ptr) })?;
    if header.stack() == 0 || header.epoch() != control::epoch() {
        return None;
    }
    Some(header.stack())
}
