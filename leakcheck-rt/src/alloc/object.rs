//! Which loaded object a code address is in (`dladdr`), so that the
//! symboliser can leave the operating system's C libraries to their symbol
//! tables: their frames are never charged, and reading their separate
//! debug info (libc's, where it is installed) cost more than half of a
//! process's first snapshot.

use std::ffi::CStr;

/// A code address in one of the operating system's own shared libraries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SystemFrame {
    /// The library's file name: `libc.so.6`.
    pub(crate) library: String,
    /// The nearest exported symbol at or below the address, if any.
    pub(crate) symbol: Option<String>,
}

/// Directories the operating system installs its shared libraries in; code
/// that cargo builds (a Rust `dylib`, `libstd-*.so` of a toolchain) is
/// never there.
const SYSTEM_DIRS: [&str; 4] = ["/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/"];

/// The system library `ip` is in, or `None` for the executable itself and
/// every other object (their frames are symbolised from their debug info).
/// Takes the dynamic loader's lock: never call it inside `alloc`.
pub(crate) fn system_frame(ip: usize) -> Option<SystemFrame> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: dladdr only reads the loader's tables and fills `info`; any
    // address is allowed (0 is returned when it is in no object).
    let found = unsafe { libc::dladdr(ip as *const libc::c_void, info.as_mut_ptr()) };
    if found == 0 {
        return None;
    }
    // SAFETY: dladdr returned non-zero, so it filled `info`.
    let info = unsafe { info.assume_init() };
    if info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: a non-null `dli_fname` is a NUL-terminated path that lives as
    // long as the object stays loaded; it is copied at once.
    let path = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy();
    if !SYSTEM_DIRS.iter().any(|dir| path.starts_with(dir)) {
        return None;
    }
    let library = path.rsplit('/').next().unwrap_or(&path).to_owned();
    let symbol = (!info.dli_sname.is_null()).then(|| {
        // SAFETY: a non-null `dli_sname` is a NUL-terminated name in the
        // object's string table; copied at once.
        unsafe { CStr::from_ptr(info.dli_sname) }
            .to_string_lossy()
            .into_owned()
    });
    Some(SystemFrame { library, symbol })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libc_is_a_system_library_and_this_binary_is_not() {
        let libc_fn = libc::getpid as *const () as usize;
        let frame = system_frame(libc_fn).expect("libc is installed under /lib or /usr/lib");
        assert!(frame.library.starts_with("libc.so"), "{frame:?}");
        // glibc exports it under both names; either is the nearest symbol.
        let symbol = frame.symbol.expect("an exported symbol");
        assert!(symbol.ends_with("getpid"), "{symbol}");
        let ours = libc_is_a_system_library_and_this_binary_is_not as fn() as usize;
        assert_eq!(system_frame(ours), None);
        assert_eq!(system_frame(0), None);
    }
}
