//! Fork handlers. A child of `fork` has only the thread that forked: a lock
//! another thread held at that moment stays held in the child forever, and
//! so does any other "someone is busy here" mark. The snapshot side holds
//! its lock across `fork`; the counters clear the orphan table's writer
//! count in the child. (All `unsafe` stays in the allocator module.)

/// A handler run around `fork`, in the thread that forks.
pub type ForkHandler = Option<extern "C" fn()>;

/// Runs `prepare` just before every `fork`, `parent` just after it in the
/// parent and `child` in the child. `false` if the handlers could not be
/// registered.
pub fn at_fork(prepare: ForkHandler, parent: ForkHandler, child: ForkHandler) -> bool {
    // SAFETY: registers plain functions that stay valid for the life of the
    // process; glibc allocates its handler list with its own malloc.
    unsafe { libc::pthread_atfork(as_unsafe(prepare), as_unsafe(parent), as_unsafe(child)) == 0 }
}

fn as_unsafe(handler: ForkHandler) -> Option<unsafe extern "C" fn()> {
    handler.map(|f| f as unsafe extern "C" fn())
}
