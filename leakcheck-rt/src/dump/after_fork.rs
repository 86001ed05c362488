//! [`dump_every`](super::dump_every) across `fork`: the child has only the
//! thread that forked, so the dumping thread of each running guard is
//! started again there.
//!
//! ```text
//!   prepare (forking thread) ──► lock the list of running dumpers, then
//!                                each one's state: no other thread is
//!                                mid-update when memory is copied
//!   parent                   ──► unlock
//!   child                    ──► each dumper: a new thread; unlock
//! ```
//!
//! The locks are held from `prepare` to `parent`/`child`, which glibc runs
//! on the forking thread: they wait in a thread-local. A lock that another
//! thread held at the fork would stay held in the child forever.

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, Once};

use super::dumper::{Shared, State};
use leakcheck_engine as alloc;

/// The dumpers whose guards have not been stopped.
static RUNNING: Mutex<Vec<&'static Shared>> = Mutex::new(Vec::new());

/// What `prepare` locked, for `parent` or `child` to release.
struct Held {
    running: MutexGuard<'static, Vec<&'static Shared>>,
    states: Vec<MutexGuard<'static, State>>,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

fn running() -> MutexGuard<'static, Vec<&'static Shared>> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adds a started dumper (and the fork handlers, once).
pub(super) fn register(shared: &'static Shared) {
    static HANDLERS: Once = Once::new();
    HANDLERS.call_once(|| {
        // Without the handlers a fork child does not dump, as before.
        let _ = alloc::at_fork(Some(prepare), Some(parent), Some(child));
    });
    running().push(shared);
}

/// Removes a stopped dumper.
pub(super) fn unregister(shared: &'static Shared) {
    running().retain(|s| !std::ptr::eq(*s, shared));
}

/// Whether a running dumper of this process writes into `dir`.
pub(super) fn is_dumping_into(dir: &Path) -> bool {
    running().iter().any(|s| s.dir == dir)
}

// The handlers never panic (a panic cannot unwind out of them): poisoned
// locks are taken as they are, and a thread-local that is gone (a fork
// during thread exit) leaves the child without dumping.

extern "C" fn prepare() {
    alloc::as_tracker(|| {
        let running = running();
        let states = running.iter().map(|s| s.lock()).collect();
        let held = Held { running, states };
        let _ = HELD.try_with(|h| {
            if let Ok(mut h) = h.try_borrow_mut() {
                *h = Some(held);
            }
        });
    });
}

fn take_held() -> Option<Held> {
    HELD.try_with(|h| h.try_borrow_mut().ok().and_then(|mut h| h.take()))
        .ok()
        .flatten()
}

extern "C" fn parent() {
    alloc::as_tracker(|| drop(take_held()));
}

extern "C" fn child() {
    alloc::as_tracker(|| {
        let Some(Held { running, states }) = take_held() else {
            return;
        };
        for (shared, mut state) in running.iter().zip(states) {
            state.restart_in_child(shared);
        }
    });
}
