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
//! Under sampled tracking, a block of user code that the thread's
//! countdown passes over (most of them) is glibc's block as it is, with no
//! prefix: the entry point asks one word whether anything but the
//! countdown needs doing (`fast.rs`), moves the countdown on, and calls
//! glibc. Its `free` finds no tag and hands it back to glibc, as a block
//! from before this front end was bound; its `realloc` is glibc's unless
//! the countdown picks the new size. A block keeps its tag only while it
//! is this front end's: the tag is cleared before glibc frees or moves it,
//! so a block glibc later serves at the same place finds none.
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

use super::account::{self, Pick};
use super::control;
use super::fast;
use super::guard::{self, Mode};
use super::header::{self, Header};
use super::registry;
use super::sample;
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

/// The engine header of `user` if this front end allocated it (a block
/// passed over by sampled tracking, or from before the front end was
/// bound, has none: its word there is glibc's).
///
/// # Safety
///
/// As [`block`].
pub(crate) unsafe fn own_header(user: *const u8) -> Option<Header> {
    // SAFETY: forwarded.
    unsafe { block(user.cast_mut().cast()).map(|b| b.header) }
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

/// The fast path of an allocation of `size` bytes: `Ok` when sampled
/// tracking is on, nothing else is to be done, the thread runs user code
/// and its countdown passes the block over (glibc's block as it is is all
/// it needs); else how the general path is to count it.
#[inline(always)]
fn passed_over(size: usize) -> Result<(), Pick> {
    if fast::reasons() != 0 || guard::mode() != Mode::Free {
        return Err(Pick::Decide);
    }
    if sample::count_down(size) {
        return Err(Pick::RanOut);
    }
    Ok(())
}

/// An allocation through an entry point: glibc's block as it is when
/// [`passed_over`] says so, else [`allocate_from`] the entry point's frame
/// (its frame pointer is read here, inlined into the entry point).
#[inline(always)]
fn entry(size: usize, align: usize, zeroed: bool) -> *mut c_void {
    match passed_over(size) {
        Ok(()) => glibc(size, align, zeroed),
        Err(pick) => allocate_from(size, align, zeroed, stack::frame_pointer(), pick),
    }
}

/// [`allocate`] for the code at the return address in the entry point's
/// frame record at `fp`: out of line, so that the fast path saves no
/// registers.
#[inline(never)]
fn allocate_from(size: usize, align: usize, zeroed: bool, fp: usize, pick: Pick) -> *mut c_void {
    allocate(size, align, zeroed, stack::return_address_at(fp), pick)
}

/// Allocates `size` bytes aligned to `align` (a power of two, at least
/// [`MALLOC_ALIGN`]), zeroed if asked, and counts them for the code at
/// `caller` (the entry point's return address, [`stack::return_address`]
/// read in the entry point itself) as `pick` says.
fn allocate(size: usize, align: usize, zeroed: bool, caller: usize, pick: Pick) -> *mut c_void {
    if ASIDE.load(Relaxed) {
        return glibc(size, align, zeroed);
    }
    let prefix = prefix(align);
    let Some(outer) = size
        .checked_add(prefix)
        .filter(|&o| o <= isize::MAX as usize)
    else {
        account::not_served(pick);
        set_errno_nomem();
        return std::ptr::null_mut();
    };
    let mode = guard::mode();
    let base = glibc(outer, align, zeroed);
    if base.is_null() {
        account::not_served(pick);
        return base;
    }
    // SAFETY: glibc's block holds `prefix + size` bytes aligned to `align`.
    unsafe { finish(base, size, align, mode, caller, pick) }
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
/// one, `pick` as [`passed_over`] left it), writes its prefix and returns
/// the user's pointer, `prefix(align)` bytes in (so it keeps the
/// alignment).
///
/// # Safety
///
/// `base` is such a block, not null; with [`Pick::RanOut`], `mode` is
/// `Mode::Free`.
unsafe fn finish(
    base: *mut c_void,
    size: usize,
    align: usize,
    mode: Mode,
    caller: usize,
    pick: Pick,
) -> *mut c_void {
    let header = match mode {
        Mode::Tracker => Header::SYSTEM,
        mode => account::on_alloc_picked(size, mode, caller, pick),
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
    entry(size, MALLOC_ALIGN, false)
}

/// `calloc(3)`.
///
/// # Safety
///
/// As `calloc(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    match count.checked_mul(size) {
        Some(total) => entry(total, MALLOC_ALIGN, true),
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
    // restored on this thread (glibc's own `free` keeps it itself).
    unsafe {
        match block(ptr) {
            Some(block) => release_keeping_errno(ptr, &block),
            None => __libc_free(ptr),
        }
    }
}

/// [`release`], errno kept: out of line, so that `free` of a block that
/// is glibc's saves no registers.
///
/// # Safety
///
/// As [`release`].
#[inline(never)]
unsafe fn release_keeping_errno(user: *mut c_void, block: &Block) {
    // SAFETY: errno is read and restored on this thread; the rest is the
    // caller's promise.
    unsafe {
        let errno = *libc::__errno_location();
        release(user, block);
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
        return entry(size, MALLOC_ALIGN, false);
    }
    // SAFETY: `ptr` is a live block of `malloc` and friends (the caller's
    // promise); a foreign one is glibc's, whose chunk header tells its size.
    let old = unsafe { block(ptr) };
    let mut pick = Pick::Decide;
    if old.is_none() {
        if ASIDE.load(Relaxed) {
            // SAFETY: glibc's own block, resized by glibc.
            return unsafe { __libc_realloc(ptr, size) };
        }
        match passed_over(size) {
            // SAFETY: as above: a block passed over is glibc's, and so is
            // the one it becomes.
            Ok(()) => return unsafe { __libc_realloc(ptr, size) },
            Err(ran_out) => pick = ran_out,
        }
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
    let new = allocate(size, MALLOC_ALIGN, false, stack::return_address(), pick);
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
    // SAFETY: `old.base` is glibc's block (the caller's promise), whose
    // tag is the 8 bytes at `MIN_PREFIX - 16`. The tag is cleared first, so
    // that if glibc moves the block, the place it leaves holds none; on
    // failure the block is left as it was (its tag put back), and so are
    // the counts.
    let base = unsafe {
        let tag_at = old.base.cast::<u8>().add(MIN_PREFIX - 16).cast::<u64>();
        let tag = tag_at.read_unaligned();
        tag_at.write_unaligned(0);
        let base = __libc_realloc(old.base, outer);
        if base.is_null() {
            tag_at.write_unaligned(tag);
        }
        base
    };
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
    unsafe { finish(base, size, MALLOC_ALIGN, mode, caller, Pick::Decide) }
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
    let ptr = entry(size, align.max(MALLOC_ALIGN), false);
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
    aligned(align, size)
}

/// `memalign(3)`.
///
/// # Safety
///
/// As `memalign(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    aligned(align, size)
}

/// `memalign` and `aligned_alloc`, inlined into each (so that the return
/// address read is the entry point's).
#[inline(always)]
fn aligned(align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        // SAFETY: the calling thread's errno.
        unsafe { *libc::__errno_location() = libc::EINVAL };
        return std::ptr::null_mut();
    }
    entry(size, align.max(MALLOC_ALIGN), false)
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
    entry(size, page_size(), false)
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
        Some(rounded) => entry(rounded, page, false),
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
