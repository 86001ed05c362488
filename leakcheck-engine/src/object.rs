//! Which loaded object a code address is in (`dladdr`), so that the
//! symboliser can leave the operating system's C libraries to their symbol
//! tables: their frames are never charged, and reading their separate
//! debug info (libc's, where it is installed) cost more than half of a
//! process's first snapshot. Also the loaded objects with their load bias
//! (`dl_iterate_phdr`) and read-only maps of their files, which the
//! symboliser reads the debug info of, one compile unit at a time.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

/// A code address in one of the operating system's own shared libraries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemFrame {
    /// The library's file name: `libc.so.6`.
    pub library: String,
    /// The nearest exported symbol at or below the address, if any.
    pub symbol: Option<String>,
}

/// Directories the operating system installs its shared libraries in; code
/// that cargo builds (a Rust `dylib`, `libstd-*.so` of a toolchain) is
/// never there.
const SYSTEM_DIRS: [&str; 4] = ["/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/"];

/// The system library `ip` is in, or `None` for the executable itself and
/// every other object (their frames are symbolised from their debug info).
/// Takes the dynamic loader's lock: never call it inside `alloc`.
pub fn system_frame(ip: usize) -> Option<SystemFrame> {
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

/// An object the dynamic loader has mapped: the executable or a shared
/// library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedObject {
    /// Its file: `/proc/self/exe` for the executable.
    pub path: PathBuf,
    /// What its addresses as the file states them are shifted by in memory
    /// (0 for a non-PIE executable).
    pub bias: usize,
    /// Its executable `PT_LOAD` segments, as `[start, end)` in memory.
    pub code: Vec<(usize, usize)>,
    /// Its writable `PT_LOAD` segments (data, bss), as `[start, end)`.
    pub data: Vec<(usize, usize)>,
    /// Its static TLS block, for the calling thread, as its offset from
    /// the thread pointer and its size (`None`: no `PT_TLS`, or not
    /// allocated on this thread).
    pub tls: Option<(isize, usize)>,
}

/// Every object loaded now, the executable first. Takes the dynamic
/// loader's lock: never call it inside `alloc`.
#[cfg(target_os = "linux")]
pub fn loaded_objects() -> Vec<LoadedObject> {
    unsafe extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: `data` is the `Vec` passed to `dl_iterate_phdr` below,
        // which nothing else touches while it runs; `info` is valid for
        // the duration of the call.
        let (objects, info) = unsafe { (&mut *data.cast::<Vec<LoadedObject>>(), &*info) };
        let name = if info.dlpi_name.is_null() {
            Default::default()
        } else {
            // SAFETY: a non-null `dlpi_name` is a NUL-terminated path owned
            // by the loader for the object's lifetime; copied at once.
            unsafe { CStr::from_ptr(info.dlpi_name) }.to_string_lossy()
        };
        let path = if objects.is_empty() && name.is_empty() {
            PathBuf::from("/proc/self/exe")
        } else {
            PathBuf::from(name.as_ref())
        };
        let phdrs: &[libc::Elf64_Phdr] = if info.dlpi_phdr.is_null() {
            &[]
        } else {
            // SAFETY: the loader's program headers: `dlpi_phnum` entries
            // at `dlpi_phdr`, valid during the call.
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
        };
        let bias = info.dlpi_addr as usize;
        let segments = |flag: u32| {
            phdrs
                .iter()
                .filter(move |p| p.p_type == libc::PT_LOAD && p.p_flags & flag != 0)
                .map(move |p| {
                    let start = bias.wrapping_add(p.p_vaddr as usize);
                    (start, start.wrapping_add(p.p_memsz as usize))
                })
        };
        let code = segments(libc::PF_X).collect();
        let data = segments(libc::PF_W).collect();
        let tls = phdrs
            .iter()
            .find(|p| p.p_type == libc::PT_TLS)
            .filter(|_| !info.dlpi_tls_data.is_null())
            .map(|p| {
                let tp = super::local::thread_pointer_now();
                let offset = (info.dlpi_tls_data as usize).wrapping_sub(tp) as isize;
                (offset, p.p_memsz as usize)
            });
        objects.push(LoadedObject {
            path,
            bias,
            code,
            data,
            tls,
        });
        0
    }
    let mut objects: Vec<LoadedObject> = Vec::new();
    // SAFETY: `each` only reads what the loader passes it and pushes to
    // `objects`, which outlives the call; it never unwinds (nothing in it
    // panics but an allocation failure, which aborts).
    unsafe {
        libc::dl_iterate_phdr(Some(each), (&raw mut objects).cast());
    }
    objects
}

/// Without `dl_iterate_phdr`, no object is known: every address is left
/// to the `backtrace` crate.
#[cfg(not(target_os = "linux"))]
pub fn loaded_objects() -> Vec<LoadedObject> {
    Vec::new()
}

/// The whole of a file, mapped read-only for the rest of the process (only
/// the pages read become resident), or `None` when it cannot be opened or
/// mapped (the vDSO, a file deleted since it was loaded, an empty file).
pub fn map_file(path: &Path) -> Option<&'static [u8]> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).ok()?;
    let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
    if len == 0 {
        return None;
    }
    // SAFETY: a fresh private read-only mapping of an open file; the kernel
    // picks the address. The descriptor may be closed after `mmap`.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: `ptr` maps `len` readable bytes and is never unmapped, so the
    // slice is valid for `'static`. The file could be truncated under us
    // (reading past its end would fault); executables and libraries that
    // are running are not rewritten in place (`ETXTBSY`, and installers
    // replace them by rename).
    Some(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// Hands the pages of `map`, a whole map made by [`map_file`], back to
/// the kernel. They are clean pages of the file: the next read maps them
/// again from the page cache, with the same contents. The kernel maps the
/// 64 KiB around every page read (fault-around), so scattered reads of
/// names and units would otherwise keep megabytes of debug info resident
/// that no lookup reads again.
pub fn release_file_pages(map: &'static [u8]) {
    // SAFETY: `map` is a private, read-only, never-written map from
    // `map_file` (so page-aligned, and never unmapped). MADV_DONTNEED only
    // drops its page-table entries: a later read faults the file's pages
    // back in, so every slice into the map stays valid and reads the same
    // bytes (with `map_file`'s caveat of a file rewritten in place).
    unsafe {
        libc::madvise(
            map.as_ptr().cast_mut().cast::<libc::c_void>(),
            map.len(),
            libc::MADV_DONTNEED,
        );
    }
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

    #[test]
    fn the_executable_is_loaded_first_and_holds_its_own_code() {
        let objects = loaded_objects();
        let exe = &objects[0];
        assert_eq!(exe.path, Path::new("/proc/self/exe"));
        let ours = the_executable_is_loaded_first_and_holds_its_own_code as fn() as usize;
        assert!(
            exe.code.iter().any(|&(s, e)| (s..e).contains(&ours)),
            "{exe:?} does not hold {ours:#x}"
        );
        let libc_fn = libc::getpid as *const () as usize;
        let libc_obj = objects
            .iter()
            .find(|o| o.code.iter().any(|&(s, e)| (s..e).contains(&libc_fn)))
            .expect("libc is loaded");
        assert!(
            libc_obj.path.to_string_lossy().contains("libc.so"),
            "{libc_obj:?}"
        );
        assert_ne!(libc_obj.bias, 0, "a shared library is always relocated");
    }

    #[test]
    fn a_mapped_file_reads_as_the_file() {
        let map = map_file(Path::new("/proc/self/exe")).expect("the executable maps");
        assert_eq!(&map[..4], b"\x7fELF");
        assert_eq!(
            map.len() as u64,
            std::fs::metadata("/proc/self/exe").unwrap().len()
        );
        assert!(map_file(Path::new("/nonexistent/leakcheck")).is_none());
    }

    /// The resident kilobytes of the map starting at `start`, from
    /// `/proc/self/smaps`.
    fn resident_kib(start: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let head = format!("{start:x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&head));
        assert!(lines.next().is_some(), "no map at {start:#x}");
        let rss = lines.find(|l| l.starts_with("Rss:")).unwrap();
        rss.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn released_pages_of_a_mapped_file_leave_it_and_read_the_same_again() {
        let path = Path::new("/proc/self/exe");
        let file = std::fs::read(path).unwrap();
        let map = map_file(path).expect("the executable maps");
        let start = map.as_ptr() as usize;
        let sum = |m: &[u8]| m.iter().step_by(4096).map(|&b| u64::from(b)).sum::<u64>();
        let before = sum(map);
        let touched = resident_kib(start);
        assert!(
            touched * 1024 >= map.len() as u64 / 2,
            "reading every page made {touched} KiB of {} resident",
            map.len()
        );
        release_file_pages(map);
        let released = resident_kib(start);
        assert!(released < touched / 8, "{touched} KiB then {released} KiB");
        assert_eq!(sum(map), before);
        assert!(
            map == &file[..],
            "the map reads as the file after a release"
        );
    }
}
