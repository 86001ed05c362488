//! Fork handlers. A child of `fork` has only the thread that forked: a lock
//! another thread held at that moment stays held in the child forever. The
//! allocator itself takes no lock; the snapshot side registers handlers
//! here to hold its lock across `fork` (all `unsafe` stays in this module).

/// Runs `prepare` in the forking thread just before every `fork`, and
/// `after` just after it, in the parent and in the child. `false` if the
/// handlers could not be registered.
pub(crate) fn at_fork(prepare: extern "C" fn(), after: extern "C" fn()) -> bool {
    // SAFETY: registers two plain functions that stay valid for the life of
    // the process; glibc allocates its handler list with its own malloc.
    unsafe { libc::pthread_atfork(Some(prepare), Some(after), Some(after)) == 0 }
}
