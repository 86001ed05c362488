//! The re-entrancy guard: while a thread runs tracker code, its own
//! allocations are not tracked (and cannot recurse into the tracker).

use std::cell::Cell;

thread_local! {
    // `const` and without `Drop`: usable from inside `alloc`, before `main`
    // and during thread teardown, and never registers a destructor.
    static IN_TRACKER: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as running tracker code until dropped.
#[derive(Debug)]
pub(crate) struct Guard(());

impl Guard {
    /// `None` when the thread is already inside the tracker (or its TLS is
    /// gone), in which case nothing may be tracked either.
    #[inline]
    pub(crate) fn enter() -> Option<Guard> {
        IN_TRACKER
            .try_with(|flag| {
                if flag.replace(true) {
                    None
                } else {
                    Some(Guard(()))
                }
            })
            .ok()
            .flatten()
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        let _ = IN_TRACKER.try_with(|flag| flag.set(false));
    }
}

/// Runs `f` with the current thread's allocations untracked: they appear in
/// no snapshot. Frees inside `f` are still counted.
pub fn untracked<R>(f: impl FnOnce() -> R) -> R {
    let _guard = Guard::enter();
    f()
}
