//! Calls into the C library that session policy needs from inside the
//! process's first allocation, where nothing may allocate through the
//! tracker: an environment lookup and an exit handler.

/// `true` when the environment variable `name` is set and not empty.
/// Allocates nothing (usable inside `alloc`); names of 63 bytes or more,
/// or with a NUL in them, are never set.
pub(crate) fn env_is_set(name: &str) -> bool {
    let mut buf = [0u8; 64];
    if name.len() >= buf.len() || name.contains('\0') {
        return false;
    }
    buf[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: getenv with a NUL-terminated name (the buffer's rest is
    // zeroed); it neither allocates nor races with setenv this early (the
    // process is still single-threaded when the first allocation happens
    // before `main`).
    let value = unsafe { libc::getenv(buf.as_ptr().cast()) };
    // SAFETY: a non-null result of getenv is a NUL-terminated string.
    !value.is_null() && unsafe { *value } != 0
}

/// Runs `handler` when the process exits through `exit` or a return from
/// `main` (C's `atexit`).
pub(crate) fn at_exit(handler: extern "C" fn()) {
    // SAFETY: registers a plain function; glibc may allocate the handler
    // list with its own malloc.
    unsafe {
        libc::atexit(handler);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_unset_variables() {
        // Set by the test harness's environment for every process.
        assert!(env_is_set("PATH"));
        assert!(!env_is_set("LEAKCHECK_TEST_NEVER_SET_ANYWHERE"));
        assert!(!env_is_set("PA\0TH"));
        assert!(!env_is_set(&"X".repeat(64)));
    }
}
