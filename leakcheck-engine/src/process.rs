//! Calls into the C library that session policy needs from inside the
//! process's first allocation, where nothing may allocate through the
//! tracker: an environment lookup and an exit handler.

/// The most bytes of an environment variable's value [`env_value`] keeps
/// (`PATH_MAX`, as the values read this way are file paths).
pub const ENV_VALUE_MAX: usize = 4096;

/// A copy of an environment variable's value, held without allocating.
pub struct EnvValue {
    len: usize,
    bytes: [u8; ENV_VALUE_MAX],
}

impl EnvValue {
    /// The value as the OS gave it.
    pub fn as_os_str(&self) -> &std::ffi::OsStr {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(&self.bytes[..self.len])
    }
}

impl std::fmt::Debug for EnvValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EnvValue").field(&self.as_os_str()).finish()
    }
}

/// A copy of the environment variable `name` when it is set, not empty and
/// at most `ENV_VALUE_MAX` (4096) bytes long. Allocates nothing (usable inside
/// `alloc`), so a process can keep what it was started with before its
/// code (a test clearing the environment) changes it.
pub fn env_value(name: &str) -> Option<EnvValue> {
    let mut buf = [0u8; 64];
    if name.len() >= buf.len() || name.contains('\0') {
        return None;
    }
    buf[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: getenv with a NUL-terminated name (the buffer's rest is
    // zeroed); it neither allocates nor races with setenv this early (the
    // process is still single-threaded when the first allocation happens
    // before `main`).
    let value = unsafe { libc::getenv(buf.as_ptr().cast()) };
    if value.is_null() {
        return None;
    }
    // SAFETY: a non-null result of getenv is a NUL-terminated string, which
    // nothing changes while it is copied (the process is single-threaded
    // this early).
    let value = unsafe { std::ffi::CStr::from_ptr(value) }.to_bytes();
    if value.is_empty() || value.len() > ENV_VALUE_MAX {
        return None;
    }
    let mut copy = EnvValue {
        len: value.len(),
        bytes: [0; ENV_VALUE_MAX],
    };
    copy.bytes[..value.len()].copy_from_slice(value);
    Some(copy)
}

/// Runs `handler` when the process exits through `exit` or a return from
/// `main` (C's `atexit`).
pub fn at_exit(handler: extern "C" fn()) {
    // SAFETY: registers a plain function; glibc may allocate the handler
    // list with its own malloc.
    unsafe {
        libc::atexit(handler);
    }
}

/// The process's resident set size in bytes (`/proc/self/statm`), or
/// `None` where it cannot be read.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: `sysconf` only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(page).ok().map(|page| pages * page)
}

/// The bytes glibc's `malloc` has handed out and not had back
/// (`mallinfo2`: `uordblks`, in its arenas, plus `hblkhd`, in blocks it
/// mapped on their own); `None` with another C library.
pub fn libc_heap_in_use() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallinfo2` takes each arena's lock in turn and returns a
        // plain struct; it is called outside any allocation.
        let info = unsafe { libc::mallinfo2() };
        Some((info.uordblks + info.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_copied() {
        let path = std::env::var_os("PATH").expect("PATH is set");
        let copy = env_value("PATH").expect("PATH is set");
        assert_eq!(copy.as_os_str(), path);
        assert!(env_value("LEAKCHECK_TEST_NEVER_SET_ANYWHERE").is_none());
        assert!(env_value("PA\0TH").is_none());
        assert!(env_value(&"X".repeat(64)).is_none());
    }
}
