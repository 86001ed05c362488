//! The tracker's own memory runs out: a thread whose counter table cannot
//! be mapped (the address space is capped with `RLIMIT_AS`) still gets its
//! blocks, and the counts stay consistent: blocks it could not count are
//! not counted when another thread frees them either.
//!
//! A `harness = false` binary: the address-space cap applies to the whole
//! process, and is lifted again before the checks.

use std::alloc::{Layout, alloc, dealloc};
use std::sync::mpsc;

use libtest_mimic::{Arguments, Trial};

mod common;

leakcheck_rt::install!();

const FILE: &str = "leakcheck-rt/tests/exhaustion.rs";
const SRC: &str = include_str!("exhaustion.rs");
const SIZE: usize = 100;

#[inline(never)]
fn block() -> usize {
    // SAFETY: a non-zero size.
    let p = unsafe { alloc(Layout::from_size_align(SIZE, 8).unwrap()) }; // SITE block
    assert!(!p.is_null());
    p as usize
}

fn free(p: usize) {
    // SAFETY: a live block from `block`.
    unsafe { dealloc(p as *mut u8, Layout::from_size_align(SIZE, 8).unwrap()) };
}

/// The process's mapped address space, in bytes.
fn address_space() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

fn set_soft_limit(bytes: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads and sets this process's own limit with a valid struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_AS, &mut lim), 0);
        lim.rlim_cur = bytes.min(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &lim), 0);
    }
}

/// A thread that allocates 100 blocks once told to, and hands them back.
/// Both runs go through here, so their blocks share one call stack.
fn hundred_blocks_on_a_thread(cap: bool) -> Vec<usize> {
    let (to_thread, go) = mpsc::channel::<()>();
    let (ready, started) = mpsc::channel::<()>();
    let (back, from_thread) = mpsc::channel::<Vec<usize>>();
    let thread = std::thread::spawn(move || {
        // Warm this thread's system allocator arena without claiming a
        // counter table (untracked allocations do not need one).
        let mut blocks = leakcheck_rt::untracked(|| Vec::<usize>::with_capacity(1000));
        ready.send(()).unwrap();
        go.recv().unwrap();
        blocks.extend((0..100).map(|_| block()));
        back.send(blocks).unwrap();
    });
    // The thread is fully started (std maps its signal stack as it
    // starts) before the address space is capped.
    started.recv().unwrap();
    let (soft, _) = limits();
    if cap {
        // Room for small mappings (a table header, the heap growing a
        // little), none for a 4 MiB counter array.
        set_soft_limit(address_space() + (1 << 20));
    }
    to_thread.send(()).unwrap();
    let blocks = from_thread.recv().unwrap();
    set_soft_limit(soft);
    thread.join().unwrap();
    blocks
}

fn blocks_a_thread_could_not_count_are_never_uncounted() {
    let line = common::marked_line(SRC, "// SITE block");
    leakcheck_rt::start(25);
    let counted: Vec<usize> = (0..10).map(|_| block()).collect();
    let uncounted = hundred_blocks_on_a_thread(true);
    let capped = common::at_line(&leakcheck_rt::take_snapshot(), FILE, line);
    for p in uncounted {
        free(p);
    }
    // The same call stack again, with room to count.
    let later = hundred_blocks_on_a_thread(false);
    let after = common::at_line(&leakcheck_rt::take_snapshot(), FILE, line);
    for p in counted.into_iter().chain(later) {
        free(p);
    }
    let end = common::at_line(&leakcheck_rt::take_snapshot(), FILE, line);
    leakcheck_rt::stop();
    eprintln!(
        "exhaustion: line counts {capped:?} with the capped thread's blocks, {after:?} after freeing them \
         and allocating 100 more on an uncapped thread"
    );
    assert!(
        capped.1 == 10 || capped.1 == 110,
        "either the capped thread counted its blocks or none: {capped:?}"
    );
    assert_eq!(
        after,
        ((110 * SIZE) as u64, 110),
        "frees of blocks nobody counted cancelled later blocks of the same stack"
    );
    assert_eq!(end, (0, 0));
}

fn limits() -> (u64, u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads this process's own limit into a valid struct.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) }, 0);
    (lim.rlim_cur, lim.rlim_max)
}

fn main() {
    common::watchdog(60, "exhaustion");
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let tests = vec![Trial::test(
        "blocks_a_thread_could_not_count_are_never_uncounted",
        || {
            blocks_a_thread_could_not_count_are_never_uncounted();
            Ok(())
        },
    )];
    libtest_mimic::run(&args, tests).exit();
}
