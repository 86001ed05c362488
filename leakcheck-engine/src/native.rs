//! The `malloc` front end (`cargo leakcheck --native`, Linux with glibc):
//! the process's `malloc`, `calloc`, `realloc`, `free`, `posix_memalign`,
//! `aligned_alloc`, `memalign`, `valloc`, `pvalloc` and
//! `malloc_usable_size`, defined in the test binary itself, so that C and
//! C++ code (static libraries built by build scripts, shared libraries the
//! binary loads) allocates through the same engine as Rust. Compiled in
//! when the engine is built with `LEAKCHECK_NATIVE=1` in the environment
//! (`cfg(leakcheck_native)`); in such a build [`TrackingAllocator`]
//! forwards Rust's allocations to its inner allocator untracked, and they
//! are counted here, once, when `System` calls `malloc`.
//!
//! Every block gets a prefix from glibc's own allocator
//! (`__libc_malloc` and friends, which never come back here):
//!
//! ```text
//!  base ─► [ padding ][ size: u64 ][ tag: u64 ][ engine header: u64 ] user block
//!          └──────── prefix: 32 bytes, or the alignment when larger ───┘
//! ```
//!
//! The tag is `MAGIC ^ user address ^ log2(alignment)`: a pointer whose
//! tag does not match was not allocated here (ld.so's early blocks,
//! blocks allocated before this binary's `malloc` was bound) and goes
//! back to glibc untouched. The engine header is where [`header::read`]
//! finds it, so [`object_stack`](crate::object_stack) works on these
//! blocks too. Blocks the tracker allocates for itself (inside a
//! [`Guard`](crate::Guard)) carry the untracked `SYSTEM` header.
//!
//! Each entry point reads its own return address: a block that a system
//! library's code asks for (`strdup`, `fopen`, C++'s `operator new`; Debian
//! builds them without frame pointers, so a walk would pass over the frame
//! that called them) has its stack taken with the DWARF unwinder.
//!
//! Nothing here panics or unwinds (a panic in an `extern "C"` function
//! aborts): every failure is a null pointer and `ENOMEM`, as glibc's.
//!
//! [`TrackingAllocator`]: crate::TrackingAllocator

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use super::account;
use super::control;
use super::guard::{self, Mode};
use super::header::{self, Header};
use super::registry;
use super::stack;

unsafe extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_calloc(count: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_free(ptr: *mut c_void);
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
}

/// Mixed into every tag ("leakchk!").
const MAGIC: u64 = 0x6c65_616b_6368_6b21;
/// glibc's `malloc` alignment (`2 * size_of::<usize>()` on 64-bit).
const MALLOC_ALIGN: usize = 16;
/// The smallest prefix: padding, size, tag, engine header.
const MIN_PREFIX: usize = 32;

/// Bytes in front of a block of alignment `align` (a power of two, at
/// least [`MALLOC_ALIGN`]): the user's pointer keeps the alignment.
const fn prefix(align: usize) -> usize {
    if align > MIN_PREFIX {
        align
    } else {
        MIN_PREFIX
    }
}

fn tag(user: *const u8, align: usize) -> u64 {
    MAGIC ^ user as u64 ^ u64::from(align.trailing_zeros())
}

/// A block of this front end: where glibc's block starts, and what the
/// prefix says.
struct Block {
    base: *mut c_void,
    size: usize,
    align: usize,
    header: Header,
}

/// The prefix of `user`, if this front end allocated it.
///
/// # Safety
///
/// `user` must be a non-null pointer that `malloc` and friends returned
/// (here or before this front end was bound).
unsafe fn block(user: *mut c_void) -> Option<Block> {
    let user = user.cast::<u8>();
    // SAFETY: the caller promises the 16 bytes before `user` are readable
    // (glibc's chunk header, even for a chunk at the start of its own
    // `mmap`); they may be unaligned for a foreign pointer.
    let tag_word = unsafe { user.sub(16).cast::<u64>().read_unaligned() };
    let shift = tag_word ^ MAGIC ^ user as u64;
    if shift >= 64 || (1usize << shift) < MALLOC_ALIGN {
        return None;
    }
    let align = 1usize << shift;
    // SAFETY: a matching tag means this front end returned `user`
    // `prefix(align)` bytes into glibc's block, behind a whole prefix.
    unsafe {
        Some(Block {
            base: user.sub(prefix(align)).cast(),
            size: user.sub(24).cast::<u64>().read_unaligned() as usize,
            align,
            header: header::read(user),
        })
    }
}

/// Set by [`stand_aside`]: new blocks come straight from glibc.
static ASIDE: AtomicBool = AtomicBool::new(false);

/// The engine installed by its `malloc` front end alone, in a program that
/// has no [`TrackingAllocator`] (the library `cargo leakcheck run`
/// preloads): [`start`](crate::start) may be called. With `unwind`,
/// stacks are taken with the DWARF unwinder from the start, without the
/// frame-pointer check and its notice (the caller knows the program has
/// none).
///
/// [`TrackingAllocator`]: crate::TrackingAllocator
pub fn install_preloaded(unwind: bool) {
    control::first_allocation(|| {});
    if unwind {
        control::use_unwinder_quietly();
    }
}

/// From now on this front end hands out glibc's blocks as they are,
/// uncounted (a process the preloaded library must not track: a child of
/// the program); blocks it allocated before are still freed as its own.
pub fn stand_aside() {
    ASIDE.store(true, Relaxed);
}

fn set_errno_nomem() {
    // SAFETY: `__errno_location` returns the calling thread's errno.
    unsafe { *libc::__errno_location() = libc::ENOMEM };
}

/// Allocates `size` bytes aligned to `align` (a power of two, at least
/// [`MALLOC_ALIGN`]), zeroed if asked, and counts them for the code at
/// `caller` (the entry point's return address, [`stack::return_address`]
/// read in the entry point itself).
fn allocate(size: usize, align: usize, zeroed: bool, caller: usize) -> *mut c_void {
    if ASIDE.load(Relaxed) {
        return glibc(size, align, zeroed);
    }
    let prefix = prefix(align);
    let Some(outer) = size
        .checked_add(prefix)
        .filter(|&o| o <= isize::MAX as usize)
    else {
        set_errno_nomem();
        return std::ptr::null_mut();
    };
    let mode = guard::mode();
    let base = glibc(outer, align, zeroed);
    if base.is_null() {
        return base;
    }
    // SAFETY: glibc's block holds `prefix + size` bytes aligned to `align`.
    unsafe { finish(base, size, align, mode, caller) }
}

/// `size` bytes aligned to `align` from glibc's own allocator, which
/// never calls back into this front end; zeroed if asked.
fn glibc(size: usize, align: usize, zeroed: bool) -> *mut c_void {
    // SAFETY: glibc's allocator accepts any size (and, for `memalign`, a
    // power-of-two alignment above `malloc`'s, the caller's promise).
    unsafe {
        match (align > MALLOC_ALIGN, zeroed) {
            (false, false) => __libc_malloc(size),
            (false, true) => __libc_calloc(1, size),
            (true, zeroed) => {
                let base = __libc_memalign(align, size);
                if zeroed && !base.is_null() {
                    base.cast::<u8>().write_bytes(0, size);
                }
                base
            }
        }
    }
}

/// Counts a block of glibc's that holds `prefix(align) + size` bytes
/// aligned to `align` (for `mode`, as the `GlobalAlloc` front end counts
/// one), writes its prefix and returns the user's pointer, `prefix(align)`
/// bytes in (so it keeps the alignment).
///
/// # Safety
///
/// `base` is such a block, not null.
unsafe fn finish(
    base: *mut c_void,
    size: usize,
    align: usize,
    mode: Mode,
    caller: usize,
) -> *mut c_void {
    let header = match mode {
        Mode::Tracker => Header::SYSTEM,
        mode => account::on_alloc_from(size, mode, caller),
    };
    // SAFETY: the caller's promise: the 24 bytes before the user's pointer
    // are the prefix's.
    unsafe {
        let user = base.cast::<u8>().add(prefix(align));
        user.sub(24).cast::<u64>().write_unaligned(size as u64);
        user.sub(16).cast::<u64>().write_unaligned(tag(user, align));
        header::write(user, header);
        if mode != Mode::Tracker && registry::enabled() {
            registry::insert(user as usize, size);
        }
        user.cast()
    }
}

/// Uncounts and frees a block of this front end.
///
/// # Safety
///
/// `block` is the prefix of a live block, which is not used again.
unsafe fn release(user: *mut c_void, block: &Block) {
    account::on_free(block.header, block.size);
    if registry::enabled() && !block.header.system_owned() {
        registry::remove(user as usize);
    }
    // SAFETY: the tag is cleared so that a second `free` of the same
    // pointer is not taken for a live block; `base` is glibc's block.
    unsafe {
        user.cast::<u8>().sub(16).cast::<u64>().write_unaligned(0);
        __libc_free(block.base);
    }
}

/// `malloc(3)`.
///
/// # Safety
///
/// As `malloc(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    allocate(size, MALLOC_ALIGN, false, stack::return_address())
}

/// `calloc(3)`.
///
/// # Safety
///
/// As `calloc(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    match count.checked_mul(size) {
        Some(total) => allocate(total, MALLOC_ALIGN, true, stack::return_address()),
        None => {
            set_errno_nomem();
            std::ptr::null_mut()
        }
    }
}

/// `free(3)`: errno is kept, as glibc keeps it.
///
/// # Safety
///
/// As `free(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` came from `malloc` and friends (the caller's promise),
    // so its prefix or glibc's chunk header is readable; errno is read and
    // restored on this thread.
    unsafe {
        let errno = *libc::__errno_location();
        match block(ptr) {
            Some(block) => release(ptr, &block),
            None => __libc_free(ptr),
        }
        *libc::__errno_location() = errno;
    }
}

/// `realloc(3)`.
///
/// # Safety
///
/// As `realloc(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() {
        return allocate(size, MALLOC_ALIGN, false, stack::return_address());
    }
    // SAFETY: `ptr` is a live block of `malloc` and friends (the caller's
    // promise); a foreign one is glibc's, whose chunk header tells its size.
    let old = unsafe { block(ptr) };
    if old.is_none() && ASIDE.load(Relaxed) {
        // SAFETY: glibc's own block, resized by glibc.
        return unsafe { __libc_realloc(ptr, size) };
    }
    if let Some(old) = &old
        && old.align == MALLOC_ALIGN
    {
        // SAFETY: a block of `malloc`'s alignment: glibc resizes it where
        // it can, and the prefix moves with it.
        return unsafe { resize(old, size, stack::return_address()) };
    }
    let old_size = match &old {
        Some(block) => block.size,
        // SAFETY: as above.
        None => unsafe { real_usable_size(ptr) },
    };
    // Over-aligned, or glibc's own: a new block, the bytes copied, the old
    // one freed; the new block is counted where it is reallocated, as a
    // Rust `realloc` is.
    let new = allocate(size, MALLOC_ALIGN, false, stack::return_address());
    if new.is_null() {
        return new;
    }
    // SAFETY: both blocks are live and hold at least the bytes copied.
    unsafe {
        std::ptr::copy_nonoverlapping(ptr.cast::<u8>(), new.cast::<u8>(), old_size.min(size));
        free(ptr);
    }
    new
}

/// Resizes a block of `malloc`'s alignment with glibc's `realloc` (in
/// place where glibc can), uncounting the old size and counting the new
/// one at this call, as the `GlobalAlloc` front end counts a `realloc`.
///
/// # Safety
///
/// `old` is the prefix of a live block of `malloc`'s alignment (its
/// prefix is [`MIN_PREFIX`] bytes); on success it must not be used again.
unsafe fn resize(old: &Block, size: usize, caller: usize) -> *mut c_void {
    let Some(outer) = size
        .checked_add(MIN_PREFIX)
        .filter(|&o| o <= isize::MAX as usize)
    else {
        set_errno_nomem();
        return std::ptr::null_mut();
    };
    // SAFETY: `old.base` is glibc's block (the caller's promise); on failure
    // it is left as it was, and so are the counts.
    let base = unsafe { __libc_realloc(old.base, outer) };
    if base.is_null() {
        return base;
    }
    account::on_free(old.header, old.size);
    if registry::enabled() && !old.header.system_owned() {
        registry::remove(old.base as usize + MIN_PREFIX);
    }
    let mode = match (old.header.system_owned(), guard::mode()) {
        (true, _) => Mode::Tracker,
        (false, Mode::Tracker) => Mode::User,
        (false, mode) => mode,
    };
    // SAFETY: glibc's block holds `MIN_PREFIX + size` bytes, 16-aligned.
    unsafe { finish(base, size, MALLOC_ALIGN, mode, caller) }
}

/// `posix_memalign(3)`.
///
/// # Safety
///
/// As `posix_memalign(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> i32 {
    if !align.is_power_of_two() || !align.is_multiple_of(std::mem::size_of::<usize>()) {
        return libc::EINVAL;
    }
    let ptr = allocate(
        size,
        align.max(MALLOC_ALIGN),
        false,
        stack::return_address(),
    );
    if ptr.is_null() {
        return libc::ENOMEM;
    }
    // SAFETY: the caller passes a writable `void **`.
    unsafe { out.write(ptr) };
    0
}

/// `aligned_alloc(3)`.
///
/// # Safety
///
/// As `aligned_alloc(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    aligned(align, size, stack::return_address())
}

/// `memalign(3)`.
///
/// # Safety
///
/// As `memalign(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    aligned(align, size, stack::return_address())
}

/// `memalign` and `aligned_alloc` for the code at `caller`.
fn aligned(align: usize, size: usize, caller: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        // SAFETY: the calling thread's errno.
        unsafe { *libc::__errno_location() = libc::EINVAL };
        return std::ptr::null_mut();
    }
    allocate(size, align.max(MALLOC_ALIGN), false, caller)
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).unwrap_or(4096)
}

/// `valloc(3)`.
///
/// # Safety
///
/// As `valloc(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    allocate(size, page_size(), false, stack::return_address())
}

/// `pvalloc(3)`: the size rounded up to whole pages.
///
/// # Safety
///
/// As `pvalloc(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    let page = page_size();
    match size.max(1).checked_next_multiple_of(page) {
        Some(rounded) => allocate(rounded, page, false, stack::return_address()),
        None => {
            set_errno_nomem();
            std::ptr::null_mut()
        }
    }
}

/// `malloc_usable_size(3)`: the size asked for, for this front end's
/// blocks (the bytes after it belong to nothing the caller may use
/// portably); glibc's answer for the others.
///
/// # Safety
///
/// As `malloc_usable_size(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malloc_usable_size(ptr: *mut c_void) -> usize {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: `ptr` is a live block of `malloc` and friends; a foreign one
    // is glibc's, whose chunk header tells its size.
    unsafe {
        match block(ptr) {
            Some(block) => block.size,
            None => real_usable_size(ptr),
        }
    }
}

/// glibc's `malloc_usable_size` for a block it allocated before this
/// front end was bound: read from its chunk header (glibc exports no
/// `__libc_` name for it): the chunk's size less its header word, and
/// less one more word for an `mmap`ed chunk, which has no neighbour to
/// lend it.
///
/// # Safety
///
/// `ptr` must be a live block of glibc's `malloc`.
unsafe fn real_usable_size(ptr: *mut c_void) -> usize {
    // SAFETY: glibc's chunk header is the word before the user pointer.
    let word = unsafe { ptr.cast::<usize>().sub(1).read() };
    let chunk = word & !0b111;
    let mmapped = word & 0b010 != 0;
    let overhead = if mmapped { 16 } else { 8 };
    chunk.saturating_sub(overhead)
}
