//! What a front end runs where the engine calls out of an allocation.

/// What a front end runs where the engine calls out of an allocation.
pub trait Hooks {
    /// Runs once per process, inside its first allocation through the
    /// tracker (usually before `main`). Its own allocations are the
    /// tracker's: untracked, and served by the tracker's allocator.
    fn first_allocation();
}

/// A front end with nothing to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {
    #[inline]
    fn first_allocation() {}
}
