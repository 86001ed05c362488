//! `TrackingAllocator`: the `GlobalAlloc` that puts a header in front of
//! every block and counts it under its call stack.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;

use super::control;
use super::guard::{self, Mode};
use super::header::{self, Header};
use super::record;
use crate::traceback::Traceback;

/// A global allocator that records a call stack for every live allocation
/// while tracing is on, forwarding the memory itself to `A`.
///
/// `A` is asked for the alignment the caller asked for, and for 8 bytes
/// more per block (the header; the alignment itself when above 8). The
/// tracker's own memory (snapshots, symbolisation, the session record)
/// never comes from `A`: it is served by [`System`].
///
/// Install it with [`install!`](crate::install) or by hand:
///
/// ```
/// #[global_allocator]
/// static A: leakcheck_rt::TrackingAllocator = leakcheck_rt::TrackingAllocator::new(std::alloc::System);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct TrackingAllocator<A = System> {
    inner: A,
}

impl<A> TrackingAllocator<A> {
    /// Tracks allocations made through `inner`.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}

impl TrackingAllocator<System> {
    /// Tracks allocations made through the system allocator.
    pub const fn system() -> Self {
        Self::new(System)
    }
}

impl<A: GlobalAlloc> TrackingAllocator<A> {
    #[inline]
    fn finish(&self, base: *mut u8, header_size: usize, size: usize, mode: Mode) -> *mut u8 {
        if base.is_null() {
            return base;
        }
        control::first_allocation();
        let header = match mode {
            Mode::Tracker => Header::SYSTEM,
            _ => record::on_alloc(size, mode),
        };
        // SAFETY: `base` is a block of `size + header_size` bytes from the
        // inner allocator or `System`, so `base + header_size` is in bounds
        // and the 8 bytes before it are the block's header area.
        unsafe {
            let user = base.add(header_size);
            header::write(user, header);
            user
        }
    }
}

// SAFETY: every method forwards to `A` (or, for the tracker's own blocks,
// to `System`) with a layout that is theirs to serve (the user's alignment,
// the user's size plus a header of a multiple of the alignment), returns a
// pointer `header_size` bytes into that block (so it keeps the user's
// alignment and size), and hands the same allocator back exactly the
// pointer and layout it returned: the header says which allocator owns a
// block, and a realloc stays with the owner. Bookkeeping never allocates,
// locks or unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for TrackingAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some((outer, header_size)) = header::outer_layout(layout) else {
            return ptr::null_mut();
        };
        let mode = guard::mode();
        // SAFETY: `outer` has a non-zero size (it includes the header).
        let base = unsafe {
            match mode {
                Mode::Tracker => System.alloc(outer),
                _ => self.inner.alloc(outer),
            }
        };
        self.finish(base, header_size, layout.size(), mode)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let Some((outer, header_size)) = header::outer_layout(layout) else {
            return ptr::null_mut();
        };
        let mode = guard::mode();
        // SAFETY: `outer` has a non-zero size (it includes the header).
        let base = unsafe {
            match mode {
                Mode::Tracker => System.alloc_zeroed(outer),
                _ => self.inner.alloc_zeroed(outer),
            }
        };
        self.finish(base, header_size, layout.size(), mode)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes the layout this allocator served the
        // block with, which `outer_layout` accepted then.
        let (outer, header_size) = unsafe { header::outer_layout_unchecked(layout) };
        // SAFETY: the caller passes a block this allocator returned for
        // `layout`, so its header precedes it.
        let header = unsafe { header::read(ptr) };
        record::on_free(header, layout.size());
        // SAFETY: `ptr - header_size` is the block its owner (named by the
        // header) returned for `outer`.
        unsafe {
            let base = ptr.sub(header_size);
            if header.system_owned() {
                System.dealloc(base, outer);
            } else {
                self.inner.dealloc(base, outer);
            }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller passes the layout this allocator served the
        // block with, which `outer_layout` accepted then.
        let (outer, header_size) = unsafe { header::outer_layout_unchecked(layout) };
        let Some(new_outer) = new_size
            .checked_add(header_size)
            .filter(|&s| Layout::from_size_align(s, outer.align()).is_ok())
        else {
            return ptr::null_mut();
        };
        // SAFETY: the caller passes a block this allocator returned for
        // `layout`, so its header precedes it.
        let old = unsafe { header::read(ptr) };
        // SAFETY: `ptr - header_size` is the block its owner (named by the
        // header) returned for `outer`, and `new_outer` is a valid non-zero
        // size for its alignment.
        let base = unsafe {
            let base = ptr.sub(header_size);
            if old.system_owned() {
                System.realloc(base, outer, new_outer)
            } else {
                self.inner.realloc(base, outer, new_outer)
            }
        };
        if base.is_null() {
            // The old block is untouched, and so are the counts.
            return base;
        }
        record::on_free(old, layout.size());
        // The block stays with its owner, and so does its header's owner
        // bit: a tracker block stays the tracker's, and a block of the inner
        // allocator grown by tracker code is the inner allocator's still.
        let mode = match (old.system_owned(), guard::mode()) {
            (true, _) => Mode::Tracker,
            (false, Mode::Tracker) => Mode::User,
            (false, mode) => mode,
        };
        self.finish(base, header_size, new_size, mode)
    }
}

/// Where a live block was allocated (tracemalloc's `get_object_traceback`):
/// `None` if it was allocated while tracing was off, or before the last
/// `start`, `stop` or `clear_traces`.
///
/// # Safety
///
/// `ptr` must be the start of a live block returned by the global
/// allocator (`Box::into_raw`, `Vec::as_ptr` of a non-empty vector,
/// `String::as_ptr`, …), and the global allocator must be a
/// [`TrackingAllocator`] (see [`install!`](crate::install)).
pub unsafe fn object_traceback(ptr: *const u8) -> Option<Traceback> {
    if !control::installed() || ptr.is_null() {
        return None;
    }
    // SAFETY: forwarded from the caller.
    let header: Header = unsafe { header::read(ptr) };
    if header.stack() == 0 || header.epoch() != control::epoch() {
        return None;
    }
    Some(crate::symbolize::traceback_of(header.stack()))
}
