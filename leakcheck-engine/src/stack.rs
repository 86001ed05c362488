//! Call stack capture: a frame-pointer walk (tens of nanoseconds) where the
//! code keeps frame pointers, else the DWARF unwinder (microseconds).

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use super::intern::{self, StackHash};
use super::local::thread_state;
use super::recent;
use super::replay;

/// The deepest stack `start` accepts.
pub const MAX_NFRAME: usize = 128;
/// Frames of the tracker and the allocation entry points walked on top of
/// the `nframe` the user asked for; they are dropped when symbolising.
pub const SLACK: usize = 8;
/// The longest raw stack captured.
pub const MAX_WALK: usize = MAX_NFRAME + SLACK;

/// `true` once the frame-pointer walk was found wrong for this binary.
static USE_UNWINDER: AtomicBool = AtomicBool::new(false);

thread_state! {
    // (low, high) of this thread's stack, (0, 0) until first looked up.
    static STACK_BOUNDS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

pub fn use_unwinder(yes: bool) {
    USE_UNWINDER.store(yes, Relaxed);
}

/// Captures up to `buf.len()` return addresses, most recent first; returns
/// how many were written and their [`intern::hash`]. Never allocates
/// through the global allocator, never takes a lock on the frame-pointer
/// path.
#[inline]
pub fn capture(buf: &mut [MaybeUninit<usize>]) -> (usize, u64) {
    if USE_UNWINDER.load(Relaxed) {
        let n = capture_unwind(buf);
        (n, intern::hash(written(buf, n)))
    } else {
        walk_frame_pointers(buf, bounds())
    }
}

/// The current thread's stack range, looked up once per thread.
#[inline]
fn bounds() -> (usize, usize) {
    let cached = STACK_BOUNDS.try_with(Cell::get).unwrap_or((0, 0));
    if cached.1 != 0 {
        return cached;
    }
    lookup_bounds()
}

#[cold]
#[inline(never)]
fn lookup_bounds() -> (usize, usize) {
    let found = query_bounds();
    let _ = STACK_BOUNDS.try_with(|b| b.set(found));
    found
}

/// With the `malloc` front end, the bounds come from `/proc/self/maps`:
/// `pthread_getattr_np` holds the thread's lock while it calls `realloc`,
/// so calling it from inside `malloc` deadlocks (std calls it as every
/// thread starts). The walk starts at this frame and only moves up, so the
/// lower bound is 0 (the main thread's stack grows down past any bound
/// read now); the upper one is the end of the mapping that holds this
/// frame. Read with system calls into a buffer on the stack: no lock, no
/// allocation.
#[cfg(leakcheck_native)]
fn query_bounds() -> (usize, usize) {
    let here = frame_pointer();
    maps_end_of(here).map_or((0, 0), |end| (0, end))
}

/// The end of the mapping in `/proc/self/maps` that holds `addr` (a
/// stack's top, for the scan of who retains a block).
pub fn mapping_end(addr: usize) -> Option<usize> {
    maps_end_of(addr)
}

/// The end of the mapping in `/proc/self/maps` that holds `addr`.
fn maps_end_of(addr: usize) -> Option<usize> {
    let mut found = None;
    each_maps_line(|line| {
        if let Some((lo, hi)) = maps_range(line)
            && (lo..hi).contains(&addr)
        {
            found = Some(hi);
        }
        found.is_some()
    });
    found
}

/// Calls `each` with every line of `/proc/self/maps` (without its
/// newline) until it returns `true`. System calls into a buffer on the
/// stack: no lock, no allocation; a line longer than the buffer is cut to
/// its first 4 KiB.
fn each_maps_line(mut each: impl FnMut(&[u8]) -> bool) {
    // SAFETY: open, read and close on a file descriptor of our own, into a
    // buffer of the length passed.
    unsafe {
        let fd = libc::open(
            c"/proc/self/maps".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        let mut held = 0;
        'read: loop {
            let n = libc::read(fd, buf[held..].as_mut_ptr().cast(), buf.len() - held);
            if n <= 0 {
                break;
            }
            held += n as usize;
            // Whole lines only; the rest waits for the next read.
            let mut start = 0;
            while let Some(len) = buf[start..held].iter().position(|&b| b == b'\n') {
                if each(&buf[start..start + len]) {
                    break 'read;
                }
                start += len + 1;
            }
            if start == 0 && held == buf.len() {
                // A line longer than the buffer (a long path): its first
                // 4 KiB, then on after its end.
                if each(&buf[..held]) {
                    break;
                }
                held = 0;
                continue;
            }
            buf.copy_within(start..held, 0);
            held -= start;
        }
        libc::close(fd);
    }
}

/// The address range at the start of a `/proc/self/maps` line
/// (`start-end perms …`, in hex).
fn maps_range(line: &[u8]) -> Option<(usize, usize)> {
    let hex = |digits: &[u8]| -> Option<usize> {
        let mut value = 0usize;
        for &d in digits {
            let v = (d as char).to_digit(16)?;
            value = value.checked_mul(16)?.checked_add(v as usize)?;
        }
        (!digits.is_empty()).then_some(value)
    };
    let range = line.split(|&b| b == b' ').next()?;
    let dash = range.iter().position(|&b| b == b'-')?;
    Some((hex(&range[..dash])?, hex(&range[dash + 1..])?))
}

#[cfg(not(leakcheck_native))]
fn query_bounds() -> (usize, usize) {
    let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `attr` is initialised by pthread_getattr_np before use and
    // destroyed after; glibc allocates here with its own malloc, not ours.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return (0, 0);
        }
        let mut addr = std::ptr::null_mut();
        let mut size = 0;
        let ok = libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        if ok {
            (addr as usize, addr as usize + size)
        } else {
            (0, 0)
        }
    }
}

#[inline(always)]
pub fn frame_pointer() -> usize {
    let fp: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads a register, touches no memory.
    unsafe {
        std::arch::asm!("mov {}, rbp", out(reg) fp, options(nomem, nostack, preserves_flags));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: reads a register, touches no memory.
    unsafe {
        std::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        fp = 0;
    }
    fp
}

/// The interned id of the current call stack, up to `buf.len()` frames:
/// [`capture`] and [`recent::stack_id`], unless the walk from this frame
/// is one remembered with all its records unchanged (see
/// [`replay`](super::replay)). Never allocates through the global
/// allocator, never takes a lock on the frame-pointer path.
#[inline(never)]
pub fn stack_id(buf: &mut [MaybeUninit<usize>]) -> u32 {
    if USE_UNWINDER.load(Relaxed) {
        let (n, hash) = capture(buf);
        return recent::stack_id(written(buf, n), hash);
    }
    // Read once, here: a replay compares with walks that started in this
    // same frame.
    let fp = frame_pointer();
    let bounds = bounds();
    replay::stack_id(fp, buf.len(), |records| {
        let mut len = 0;
        let (n, hash) = walk_from(fp, buf, bounds, |i, next, ret| {
            // `i` is below the depth, which `records` holds.
            if let Some(record) = records.get_mut(i) {
                *record = (next, ret);
                len = i + 1;
            }
        });
        (len, recent::stack_id(written(buf, n), hash))
    })
    .unwrap_or_else(|| {
        let (n, hash) = walk_from(fp, buf, bounds, |_, _, _| {});
        recent::stack_id(written(buf, n), hash)
    })
}

/// The return address of the function this is inlined into (a `malloc`
/// entry point: where its caller goes on), read from that function's frame
/// record; 0 if the frame pointer is not inside this thread's stack.
#[cfg(leakcheck_native)]
#[inline(always)]
pub fn return_address() -> usize {
    return_address_at(frame_pointer())
}

/// The return address in the frame record at `fp` (a `malloc` entry
/// point's [`frame_pointer`], read in the entry point and passed on, so
/// that this may run out of line); 0 if `fp` is not inside this thread's
/// stack.
#[cfg(leakcheck_native)]
#[inline]
pub fn return_address_at(fp: usize) -> usize {
    let (lo, hi) = bounds();
    if fp < lo || fp > hi.saturating_sub(16) || !fp.is_multiple_of(std::mem::align_of::<usize>()) {
        return 0;
    }
    // SAFETY: [fp, fp + 16) is inside this thread's stack and aligned: the
    // frame record of the function this is inlined into (the `malloc`
    // front end is built with frame pointers), whose second word is its
    // return address.
    unsafe { (fp as *const usize).add(1).read() }
}

/// The stack id of the current call stack taken with the DWARF unwinder,
/// whatever the walk in use (an allocation made for its caller by a
/// library without frame pointers, which a walk would skip).
#[cfg(leakcheck_native)]
#[inline(never)]
pub fn stack_id_unwound(buf: &mut [MaybeUninit<usize>]) -> u32 {
    let n = capture_unwind(buf);
    recent::stack_id(written(buf, n), intern::hash(written(buf, n)))
}

/// The code of the shared libraries the operating system installed
/// (`/lib`, `/usr/lib`, and their 64-bit twins): Debian and most
/// distributions build them without frame pointers. Read from
/// `/proc/self/maps` on first use, and again when an address is in no code
/// known (a library loaded since); no lock, no allocation.
#[cfg(leakcheck_native)]
mod system_code {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};

    const SLOTS: usize = 128;
    /// Addresses not in any code mapping, remembered so that they do not
    /// send every allocation to `/proc/self/maps`.
    const STRANGERS: usize = 16;

    #[allow(clippy::declare_interior_mutable_const)]
    const ZERO: AtomicUsize = AtomicUsize::new(0);
    #[allow(clippy::declare_interior_mutable_const)]
    const NO: AtomicBool = AtomicBool::new(false);
    static LEN: AtomicUsize = ZERO;
    static LO: [AtomicUsize; SLOTS] = [ZERO; SLOTS];
    static HI: [AtomicUsize; SLOTS] = [ZERO; SLOTS];
    static SYSTEM: [AtomicBool; SLOTS] = [NO; SLOTS];
    static STRANGER: [AtomicUsize; STRANGERS] = [ZERO; STRANGERS];
    static NEXT_STRANGER: AtomicUsize = ZERO;
    static READING: AtomicBool = NO;

    /// Whether `addr` is code of a system library. A reader that races a
    /// refresh may see a half-written table: it decides one allocation's
    /// walk, and either walk gives a valid stack.
    pub fn contains(addr: usize) -> bool {
        if addr == 0 {
            return false;
        }
        if let Some(system) = lookup(addr) {
            return system;
        }
        if STRANGER.iter().any(|s| s.load(Relaxed) == addr) {
            return false;
        }
        refresh();
        lookup(addr).unwrap_or_else(|| {
            let slot = NEXT_STRANGER.fetch_add(1, Relaxed) % STRANGERS;
            STRANGER[slot].store(addr, Relaxed);
            false
        })
    }

    fn lookup(addr: usize) -> Option<bool> {
        let len = LEN.load(Acquire).min(SLOTS);
        (0..len)
            .find(|&i| (LO[i].load(Relaxed)..HI[i].load(Relaxed)).contains(&addr))
            .map(|i| SYSTEM[i].load(Relaxed))
    }

    /// Reads the executable mappings again (one thread at a time; another
    /// finds the table as it is).
    fn refresh() {
        if READING.swap(true, Acquire) {
            return;
        }
        let mut len = 0;
        super::each_maps_line(|line| {
            if let Some((lo, hi, system)) = code_mapping(line)
                && len < SLOTS
            {
                LO[len].store(lo, Relaxed);
                HI[len].store(hi, Relaxed);
                SYSTEM[len].store(system, Relaxed);
                len += 1;
            }
            false
        });
        LEN.store(len, Release);
        READING.store(false, Release);
    }

    /// An executable mapping of a file (`lo-hi r-xp off dev inode path`):
    /// its range, and whether the file is a system library's.
    pub(super) fn code_mapping(line: &[u8]) -> Option<(usize, usize, bool)> {
        let (lo, hi) = super::maps_range(line)?;
        let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
        let perms = fields.nth(1)?;
        if perms.get(2) != Some(&b'x') {
            return None;
        }
        let path = fields.nth(3)?;
        let system = [&b"/lib/"[..], b"/lib64/", b"/usr/lib/", b"/usr/lib64/"]
            .iter()
            .any(|dir| path.starts_with(dir));
        Some((lo, hi, system))
    }
}

#[cfg(leakcheck_native)]
pub use system_code::contains as in_system_library;

/// Follows the chain of saved frame pointers; returns how many return
/// addresses were written and their [`intern::hash`], computed on the way
/// (a separate pass over the frames cost as much as the walk). Every
/// address read is checked to lie inside this thread's stack first, so a
/// function without a frame pointer cuts the stack short instead of
/// crashing.
#[inline(never)]
pub fn walk_frame_pointers(buf: &mut [MaybeUninit<usize>], bounds: (usize, usize)) -> (usize, u64) {
    walk_from(frame_pointer(), buf, bounds, |_, _, _| {})
}

/// [`walk_frame_pointers`] from the frame record at `fp`, telling `read`
/// the index (below `buf.len()`), saved frame pointer and return address
/// of every record it reads, in order: record 0 is at `fp`, and each next
/// one at the saved frame pointer of the one before.
#[inline(always)]
fn walk_from(
    mut fp: usize,
    buf: &mut [MaybeUninit<usize>],
    (lo, hi): (usize, usize),
    mut read: impl FnMut(usize, usize, usize),
) -> (usize, u64) {
    let mut n = 0;
    let mut h = StackHash::new();
    // Frame records only move up the stack (checked below), so the lower
    // bound needs checking once; `top` is the last address a 16-byte record
    // may start at.
    let top = hi.saturating_sub(16);
    if fp < lo {
        return (0, h.finish(0));
    }
    while n < buf.len() {
        if fp > top || !fp.is_multiple_of(std::mem::align_of::<usize>()) {
            break;
        }
        // SAFETY: [fp, fp + 16) lies inside this thread's mapped stack
        // (lo <= fp <= hi - 16) and is aligned; a frame record is (saved
        // frame pointer, return address).
        let (next, ret) = unsafe {
            let rec = fp as *const usize;
            (rec.read(), rec.add(1).read())
        };
        read(n, next, ret);
        if ret == 0 {
            break;
        }
        buf[n].write(ret);
        h = h.push(ret);
        n += 1;
        if next <= fp {
            break;
        }
        fp = next;
    }
    (n, h.finish(n))
}

fn capture_unwind(buf: &mut [MaybeUninit<usize>]) -> usize {
    let mut n = 0;
    // SAFETY: the unsynchronised walk takes none of the backtrace crate's
    // locks (which may be held by a thread that is allocating) and does not
    // allocate through the global allocator.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            if n == buf.len() {
                return false;
            }
            buf[n].write(frame.ip() as usize);
            n += 1;
            true
        });
    }
    n
}

/// The captured part of a buffer.
#[inline]
pub fn written(buf: &[MaybeUninit<usize>], n: usize) -> &[usize] {
    debug_assert!(n <= buf.len());
    // SAFETY: the first `n` elements were written by `capture`, and
    // `MaybeUninit<usize>` has the layout of `usize`.
    unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<usize>(), n) }
}

/// `true` when a frame-pointer walk from here agrees with the DWARF
/// unwinder, i.e. this binary keeps frame pointers.
///
/// The walk must see exactly the return addresses the unwinder sees above
/// this function's own frame, several of them in a row. (Matching them
/// anywhere in the unwound stack is not enough: without frame pointers in
/// our code the chain may skip straight to the standard library's frames,
/// which do keep them.)
#[inline(never)]
pub fn frame_pointers_work() -> bool {
    let mut fp = [MaybeUninit::uninit(); 12];
    let (n, _) = walk_frame_pointers(&mut fp, bounds());
    let fp = written(&fp, n);
    let me = frame_pointers_work as fn() -> bool as usize;
    let mut unwound = Vec::with_capacity(64);
    let mut mine = None;
    backtrace::trace(|frame| {
        if mine.is_none() && frame.symbol_address() as usize == me {
            mine = Some(unwound.len());
        }
        unwound.push(frame.ip() as usize);
        unwound.len() < 64
    });
    let Some(mine) = mine else {
        return false;
    };
    walk_matches(fp, &unwound[mine + 1..])
}

/// Frames a walk must match in a row to count as working.
const MIN_MATCH: usize = 4;

/// `true` when `walk` (from [`walk_frame_pointers`] called by the checker)
/// continues exactly as `callers` (the unwinder's frames above the
/// checker's own), for at least [`MIN_MATCH`] frames.
///
/// Where the walk starts depends on code generation, not on whether frame
/// pointers work. Unoptimised, the walk reads the frame pointer after its
/// own prologue: `walk[0]` returns into the checker, `walk[1]` into the
/// checker's caller. Optimised, LLVM shrink-wraps the walk (its prologue
/// moves past the early return, after the register is read), so the walk
/// starts in the checker's frame and `walk[0]` already returns into the
/// checker's caller. Both starts are accepted; from there on every frame
/// must be the unwinder's, with nothing skipped.
fn walk_matches(walk: &[usize], callers: &[usize]) -> bool {
    [1, 0].into_iter().any(|skip| {
        let rest = walk.get(skip..).unwrap_or(&[]);
        rest.len() >= MIN_MATCH && callers.get(..rest.len()) == Some(rest)
    })
}

#[cfg(test)]
mod tests {

    #[cfg(leakcheck_native)]
    #[test]
    fn system_library_code_is_told_from_the_program_s() {
        let strdup: unsafe extern "C" fn(*const libc::c_char) -> *mut libc::c_char = libc::strdup;
        assert!(in_system_library(strdup as usize));
        assert!(!in_system_library(
            frame_pointers_work as fn() -> bool as usize
        ));
        assert!(!in_system_library(0));
        let line = b"7f0c1a000000-7f0c1a175000 r-xp 00028000 08:01 1311 /usr/lib/x86_64-linux-gnu/libc.so.6";
        assert_eq!(
            system_code::code_mapping(line),
            Some((0x7f0c1a000000, 0x7f0c1a175000, true))
        );
        let data = b"7f0c1a000000-7f0c1a175000 rw-p 00028000 08:01 1311 /usr/lib/x86_64-linux-gnu/libc.so.6";
        assert_eq!(system_code::code_mapping(data), None);
        let own =
            b"55d0c0000000-55d0c0100000 r-xp 00001000 08:01 99 /work/target/debug/deps/app-1234";
        assert_eq!(
            system_code::code_mapping(own),
            Some((0x55d0c0000000, 0x55d0c0100000, false))
        );
    }

    #[test]
    fn the_maps_file_gives_the_end_of_this_threads_stack() {
        assert_eq!(
            maps_range(b"7ffd1c2a1000-7ffd1c2c3000 rw-p 00000000 00:00 0  [stack]"),
            Some((0x7ffd_1c2a_1000, 0x7ffd_1c2c_3000))
        );
        assert_eq!(maps_range(b"garbage"), None);
        assert_eq!(maps_range(b"-10 r--p"), None);
        let local = 7u64;
        let here = std::ptr::addr_of!(local) as usize;
        let end = maps_end_of(here).expect("this frame is mapped");
        assert!(end > here);
        // At or above the end of the stack as pthread sees it (outside
        // any allocation, where asking it is safe).
        let (_, hi) = query_bounds();
        assert!(end >= hi, "maps end {end:#x} below the stack's end {hi:#x}");
    }
    use super::*;

    #[test]
    fn this_build_keeps_frame_pointers() {
        // The workspace builds with -C force-frame-pointers=yes.
        assert!(frame_pointers_work());
    }

    #[test]
    fn a_walk_matches_from_either_start_and_only_in_a_row() {
        let callers = [10, 11, 12, 13, 14, 15, 16];
        // Unoptimised: the walk's first frame returns into the checker.
        assert!(walk_matches(&[99, 10, 11, 12, 13, 14], &callers));
        // Shrink-wrapped: the walk starts in the checker's frame.
        assert!(walk_matches(&[10, 11, 12, 13, 14], &callers));
        // Starting two frames late, skipping a frame, or too short: no.
        assert!(!walk_matches(&[11, 12, 13, 14, 15], &callers));
        assert!(!walk_matches(&[98, 99, 10, 11, 12, 13], &callers));
        assert!(!walk_matches(&[99, 10, 11, 13, 14, 15], &callers));
        assert!(!walk_matches(&[10, 11, 12], &callers));
        assert!(!walk_matches(&[99, 10, 11, 12], &callers));
        // The standard library's frames alone (no frame pointers in ours).
        assert!(!walk_matches(&[14, 15, 16], &callers));
        assert!(!walk_matches(&[13, 14, 15, 16], &callers));
        assert!(!walk_matches(&[], &callers));
        // A walk longer than what was unwound.
        assert!(!walk_matches(&[10, 11, 12, 13, 14, 15, 16, 17], &callers));
    }

    #[test]
    fn walk_is_bounded_by_the_buffer() {
        let mut buf = [MaybeUninit::uninit(); 3];
        assert_eq!(walk_frame_pointers(&mut buf, bounds()).0, 3);
        let mut none: [MaybeUninit<usize>; 0] = [];
        assert_eq!(walk_frame_pointers(&mut none, bounds()).0, 0);
    }

    #[test]
    fn walk_hashes_what_it_wrote() {
        let mut buf = [MaybeUninit::uninit(); MAX_WALK];
        let (n, h) = walk_frame_pointers(&mut buf, bounds());
        assert!(n > 0);
        assert_eq!(h, intern::hash(written(&buf, n)));
    }

    /// The replay of a remembered stack, checked against the walk.
    mod replay {
        use std::hint::black_box;
        use std::mem::MaybeUninit;

        use crate::guard::Guard;
        use crate::intern;
        use crate::replay::{REPLAYS, WALK_ONLY};

        /// What `stack::stack_id` gives from one call instruction.
        #[derive(Debug, Clone, Copy)]
        struct Ids {
            replayed: u32,
            walked: u32,
            /// Whether `replayed` was a replay.
            replay: bool,
            /// The frame pointer here, where the walks start from.
            fp: usize,
        }

        #[inline(never)]
        fn ids_here() -> Ids {
            let mut buf = [MaybeUninit::uninit(); 40];
            let mut ids = [0; 2];
            let before = REPLAYS.get();
            for (i, walk_only) in [false, true].into_iter().enumerate() {
                WALK_ONLY.set(walk_only);
                ids[i] = super::stack_id(black_box(&mut buf[..]));
            }
            WALK_ONLY.set(false);
            Ids {
                replayed: ids[0],
                walked: ids[1],
                replay: REPLAYS.get() > before,
                fp: super::frame_pointer(),
            }
        }

        #[inline(never)]
        fn deeper(depth: usize) -> Ids {
            if depth == 0 {
                ids_here()
            } else {
                black_box(deeper(black_box(depth - 1)))
            }
        }

        // Two callers with frames of one size (they differ in a constant):
        // below them the stacks lie at the same addresses, and differ only in
        // the record that returns into one or the other.
        #[inline(never)]
        fn via_a(depth: usize) -> Ids {
            let tag = black_box(1u64);
            let ids = deeper(black_box(depth));
            black_box(tag);
            ids
        }

        #[inline(never)]
        fn via_b(depth: usize) -> Ids {
            let tag = black_box(2u64);
            let ids = deeper(black_box(depth));
            black_box(tag);
            ids
        }

        #[test]
        fn a_replayed_stack_is_the_stack_a_walk_gives() {
            let _guard = Guard::enter().expect("not inside the tracker");
            // A repeat from the same frames (one call instruction) replays.
            let calls: Vec<_> = (0..2).map(|_| via_a(3)).collect();
            assert_eq!(calls[0].replayed, calls[0].walked);
            assert!(calls[1].replay, "the same stack twice is replayed");
            assert_eq!(calls[1].replayed, calls[0].replayed);
            assert_eq!(calls[1].walked, calls[0].replayed);

            // More distinct stacks than the thread remembers, from one frame
            // pointer in pairs (a and b, which differ deep down), each pair
            // twice in a row, over three rounds: every id is the walk's, a and
            // b differ, and each stack keeps its id.
            let mut seen = std::collections::HashMap::new();
            let mut replays = 0;
            for _round in 0..3 {
                for depth in (0..24).flat_map(|d| [d, d]) {
                    let a = via_a(depth);
                    let b = via_b(depth);
                    assert_eq!(a.fp, b.fp, "the callers' frames differ in size");
                    assert_eq!(a.replayed, a.walked, "via a, depth {depth}");
                    assert_eq!(b.replayed, b.walked, "via b, depth {depth}");
                    assert_ne!(a.replayed, b.replayed, "depth {depth}");
                    assert_eq!(*seen.entry(('a', depth)).or_insert(a.replayed), a.replayed);
                    assert_eq!(*seen.entry(('b', depth)).or_insert(b.replayed), b.replayed);
                    replays += usize::from(a.replay) + usize::from(b.replay);
                    let frames = intern::stack_frames(a.replayed);
                    assert!(frames.len() > depth, "{depth}: {frames:x?}");
                }
            }
            // The second of each pair of calls at least.
            assert!(replays >= 3 * 24, "{replays} replays");
        }
    }
}
