//! Memory for the tracker's own tables, straight from the kernel, so the
//! tracker never allocates through the allocator it implements.

use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Bytes reserved by [`reserve`] so far (address space, not all touched).
static RESERVED: AtomicUsize = AtomicUsize::new(0);

/// Reserves `bytes` of zeroed memory that is only backed by RAM where it is
/// touched. Returns null when the kernel refuses.
pub fn reserve(bytes: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing; no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return ptr::null_mut();
    }
    RESERVED.fetch_add(bytes, Relaxed);
    p.cast()
}

/// Returns memory from [`reserve`] that was never published.
pub fn release(p: *mut u8, bytes: usize) {
    // SAFETY: `p` and `bytes` are exactly one mapping made by `reserve`
    // that no other code has seen.
    unsafe {
        libc::munmap(p.cast(), bytes);
    }
    RESERVED.fetch_sub(bytes, Relaxed);
}
