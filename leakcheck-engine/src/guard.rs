//! The re-entrancy guard: while a thread runs tracker code, its own
//! allocations are not tracked (and cannot recurse into the tracker), and
//! they are served by `System`, never by the allocator the user wrapped.
//!
//! ```text
//!            Guard::enter               drop
//!  Free ─────────────────► Tracker ─────────────► (previous)
//!   │  untracked(f)          ▲ Guard::enter
//!   └──────────────► User ───┘
//! ```

use std::cell::Cell;

use super::local::thread_state;

/// What the current thread is running, as the allocator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// User code: allocations are tracked (while tracing is on) and served
    /// by the inner allocator.
    Free,
    /// User code inside [`untracked`]: not tracked, served by the inner
    /// allocator.
    User,
    /// The tracker's own code: not tracked, served by `System`.
    Tracker,
}

thread_state! {
    // `const` and without `Drop`: usable from inside `alloc`, before `main`
    // and during thread teardown, and never registers a destructor.
    static MODE: Cell<Mode> = const { Cell::new(Mode::Free) };
}

/// The current thread's mode; `User` if its thread-local state is gone
/// (untracked, and served by the inner allocator as before).
#[inline]
pub fn mode() -> Mode {
    MODE.try_with(Cell::get).unwrap_or(Mode::User)
}

/// Marks the current thread as running tracker code until dropped.
#[derive(Debug)]
pub struct Guard {
    previous: Mode,
}

impl Guard {
    /// `None` when the thread is already inside the tracker (or its TLS is
    /// gone), in which case nothing may be tracked either.
    #[inline]
    pub fn enter() -> Option<Guard> {
        MODE.try_with(|mode| match mode.replace(Mode::Tracker) {
            Mode::Tracker => None,
            previous => Some(Guard { previous }),
        })
        .ok()
        .flatten()
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        let _ = MODE.try_with(|mode| mode.set(self.previous));
    }
}

/// Runs `f` as tracker code: its allocations are untracked and served by
/// `System`, whatever allocator the user wrapped (the leak-test runner's
/// own bookkeeping). Frees inside `f` are still counted.
pub fn as_tracker<R>(f: impl FnOnce() -> R) -> R {
    let _guard = Guard::enter();
    f()
}

/// Runs `f` with the current thread's allocations untracked: they appear in
/// no snapshot. Frees inside `f` are still counted. The memory still comes
/// from the allocator given to [`TrackingAllocator::new`](crate::TrackingAllocator::new).
pub fn untracked<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Mode>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0 {
                let _ = MODE.try_with(|mode| mode.set(previous));
            }
        }
    }
    let _restore = Restore(
        MODE.try_with(|mode| match mode.get() {
            Mode::Free => {
                mode.set(Mode::User);
                Some(Mode::Free)
            }
            _ => None,
        })
        .ok()
        .flatten(),
    );
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_nest_and_restore() {
        assert_eq!(mode(), Mode::Free);
        untracked(|| {
            assert_eq!(mode(), Mode::User);
            {
                let _g = Guard::enter().expect("user code may enter the tracker");
                assert_eq!(mode(), Mode::Tracker);
                assert!(Guard::enter().is_none());
                untracked(|| assert_eq!(mode(), Mode::Tracker));
            }
            assert_eq!(mode(), Mode::User);
        });
        assert_eq!(mode(), Mode::Free);
        let g = Guard::enter();
        assert!(g.is_some());
        assert_eq!(mode(), Mode::Tracker);
        drop(g);
        assert_eq!(mode(), Mode::Free);
    }
}
