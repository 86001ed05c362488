//! [`TrackingAllocator`]: leakcheck-engine's `GlobalAlloc` front end with
//! the session's hook, and [`object_traceback`], which symbolises what the
//! engine finds in a block's header.

use std::alloc::System;

use leakcheck_format::traceback::Traceback;

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
pub type TrackingAllocator<A = System> = leakcheck_engine::TrackingAllocator<A, SessionStart>;

/// What leakcheck-rt runs inside the process's first allocation: the
/// session's start ([`crate::session::on_first_allocation`]). Public only
/// to be named by [`TrackingAllocator`]; not reachable from outside.
#[derive(Debug, Clone, Copy)]
pub struct SessionStart;

impl leakcheck_engine::Hooks for SessionStart {
    fn first_allocation() {
        crate::session::on_first_allocation();
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
// The one `unsafe` item outside leakcheck-engine: a public `unsafe fn`
// whose return type is this crate's, forwarding its contract.
#[allow(unsafe_code)]
pub unsafe fn object_traceback(ptr: *const u8) -> Option<Traceback> {
    // SAFETY: forwarded from the caller.
    let stack = unsafe { leakcheck_engine::object_stack(ptr) }?;
    Some(crate::symbolize::traceback_of(stack))
}

#[cfg(test)]
mod tests {
    /// The engine prints the notice; `cargo leakcheck` reads it back by the
    /// protocol's text, which links no engine: the two must be one text.
    #[test]
    fn the_engine_prints_the_unwinder_notice_the_protocol_names() {
        assert_eq!(
            leakcheck_engine::UNWINDER_NOTICE,
            leakcheck_format::protocol::messages::UNWINDER_NOTICE
        );
    }
}
