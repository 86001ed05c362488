//! Re-entrancy and contention: while worker threads allocate hard through
//! many distinct call stacks, other threads
//!
//! - capture and print backtraces (`Backtrace::force_capture`, symbolised
//!   under std's backtrace lock, allocating all the while),
//! - panic and catch it, with `RUST_BACKTRACE=1` and a panic hook that
//!   captures the backtrace into a string, and a `Drop` that allocates
//!   while unwinding,
//! - take snapshots in a loop (symbolisation through `backtrace::resolve`
//!   and `dl_iterate_phdr`) and look up `object_traceback`,
//! - `dlopen`/`dlclose` a shared library and allocate inside a
//!   `dl_iterate_phdr` callback (with the loader lock held),
//! - deliver `SIGUSR1` to the allocating, panicking and snapshotting
//!   threads (the handler only counts).
//!
//! Nothing may deadlock (the watchdog aborts after 60 s) and, with every
//! thread stopped, the live bytes and blocks of the workers' line equal the
//! blocks they hold, exactly.
//!
//! Default: 3 workers × at least 40,000 operations, on until each of the
//! 4 disturbing threads went round 30 times (plus a signalling thread).
//! `LEAKCHECK_STRESS=full`: 4 workers × 400,000 operations, 500 rounds.
//!
//! A `harness = false` binary: `RUST_BACKTRACE` is set before any thread
//! exists.

use std::alloc::{Layout, alloc, dealloc};
use std::backtrace::Backtrace;
use std::hint::black_box;
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Barrier};

use libtest_mimic::{Arguments, Trial};

mod common;
use common::Rng;

leakcheck_rt::install!();

const FILE: &str = "leakcheck-rt/tests/contention.rs";
const SRC: &str = include_str!("contention.rs");

static STOP: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicU64 = AtomicU64::new(0);
static SENT: AtomicU64 = AtomicU64::new(0);
static PANICS: AtomicU64 = AtomicU64::new(0);
static HOOK_BYTES: AtomicU64 = AtomicU64::new(0);
static BACKTRACES: AtomicU64 = AtomicU64::new(0);
static SNAPSHOTS: AtomicU64 = AtomicU64::new(0);
static DLOPENS: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_usr1(_: libc::c_int) {
    // Async-signal-safe: one atomic add, no allocation.
    SIGNALS.fetch_add(1, Relaxed);
}

fn install_handler() {
    // SAFETY: a zeroed sigaction is valid; the handler only touches an
    // atomic, and SA_RESTART keeps interrupted futex waits going.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

#[inline(never)]
fn alloc_block(size: usize) -> *mut u8 {
    // SAFETY: `size >= 8`, a valid non-zero layout.
    let p = unsafe { alloc(Layout::from_size_align(size, 8).unwrap()) }; // SITE worker
    assert!(!p.is_null());
    // SAFETY: a live block of at least 8 bytes.
    unsafe { p.cast::<u64>().write(size as u64) };
    p
}

fn free_block(p: *mut u8) {
    // SAFETY: a live block from `alloc_block`, which wrote its size first.
    unsafe {
        let size = p.cast::<u64>().read() as usize;
        dealloc(p, Layout::from_size_align(size, 8).unwrap());
    }
}

/// Allocates `depth` calls deep: up to 48 distinct stacks for one line,
/// so interning and symbolisation keep meeting new stacks.
#[inline(never)]
fn alloc_deep(depth: usize, size: usize) -> *mut u8 {
    if depth == 0 {
        alloc_block(size)
    } else {
        black_box(alloc_deep(black_box(depth - 1), size))
    }
}

/// `true` once every disturbing thread went round `n` times.
fn helpers_done(n: u64) -> bool {
    [&PANICS, &BACKTRACES, &SNAPSHOTS, &DLOPENS]
        .iter()
        .all(|c| c.load(Relaxed) >= n)
}

/// Runs at least `ops` operations, and on until the disturbing threads
/// have each gone round `rounds` times; returns the blocks still held.
fn worker(seed: u64, ops: usize, rounds: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut own: Vec<usize> = Vec::with_capacity(512);
    let mut done = 0;
    while done < ops || !helpers_done(rounds) {
        done += 1;
        if own.len() < 500 && (own.is_empty() || rng.chance(55)) {
            let size = 8 + rng.below(2048) as usize;
            own.push(alloc_deep(rng.below(48) as usize, size) as usize);
        } else {
            free_block(own.swap_remove(rng.below(own.len() as u64) as usize) as *mut u8);
        }
    }
    own
}

/// Allocates while unwinding.
struct AllocOnDrop;

impl Drop for AllocOnDrop {
    fn drop(&mut self) {
        black_box(vec![1u8; 100]);
    }
}

fn panicker() {
    let mut i = 0u64;
    while !STOP.load(Relaxed) {
        let r = std::panic::catch_unwind(|| {
            let _guard = AllocOnDrop;
            let held = black_box(vec![i; 16]);
            panic!("planned panic {i} holding {}", held.len());
        });
        assert!(r.is_err());
        i += 1;
    }
}

fn backtracer() {
    while !STOP.load(Relaxed) {
        let bt = Backtrace::force_capture();
        let text = bt.to_string();
        assert!(text.contains("backtracer"), "{text}");
        BACKTRACES.fetch_add(1, Relaxed);
    }
}

fn snapshotter() {
    let line = common::marked_line(SRC, "// SITE worker");
    while !STOP.load(Relaxed) {
        let snap = leakcheck_rt::take_snapshot();
        black_box(snap.statistics(leakcheck_rt::KeyType::Traceback));
        black_box(common::at_line(&snap, FILE, line));
        let b = Box::new(7u32);
        // SAFETY: a live box from the global allocator.
        let tb = unsafe { leakcheck_rt::object_traceback((&raw const *b).cast()) };
        assert!(tb.is_some_and(|tb| tb.format().iter().any(|l| l.contains("snapshotter"))));
        SNAPSHOTS.fetch_add(1, Relaxed);
    }
}

extern "C" fn count_objects(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // Allocate (through the tracker) with the loader lock held.
    // SAFETY: `data` is the `Vec` passed by `dl_user`, `info` is valid for
    // the call.
    unsafe {
        let names = &mut *data.cast::<Vec<String>>();
        let name = std::ffi::CStr::from_ptr((*info).dlpi_name);
        names.push(name.to_string_lossy().into_owned());
    }
    0
}

fn dl_user() {
    while !STOP.load(Relaxed) {
        // SAFETY: dlopen of a system library by name, closed right after;
        // no symbol of it is used.
        unsafe {
            let h = libc::dlopen(c"libm.so.6".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
            if !h.is_null() {
                libc::dlclose(h);
            }
        }
        let mut names: Vec<String> = Vec::new();
        // SAFETY: the callback matches dl_iterate_phdr's contract and only
        // uses `names`, which outlives the call.
        unsafe { libc::dl_iterate_phdr(Some(count_objects), (&raw mut names).cast()) };
        assert!(!names.is_empty());
        DLOPENS.fetch_add(1, Relaxed);
    }
}

fn contention_counts_exactly_and_never_deadlocks() {
    let workers = common::scale(3, 4);
    let ops = common::scale(40_000, 400_000);
    let rounds = common::scale(30, 500) as u64;
    let line = common::marked_line(SRC, "// SITE worker");
    install_handler();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        let planned = message.is_some_and(|m| m.starts_with("planned panic"));
        if !planned {
            return default_hook(info);
        }
        // What the default hook does, captured instead of printed.
        let text = format!("{info}\n{}", Backtrace::capture());
        HOOK_BYTES.fetch_add(text.len() as u64, Relaxed);
        PANICS.fetch_add(1, Relaxed);
    }));
    leakcheck_rt::start(64);
    // Load this binary's debug info once up front: parsing it is slow in a
    // debug build, and the point here is the steady state.
    let warm = black_box(Box::new(0u64));
    assert!(!leakcheck_rt::take_snapshot().traces().is_empty());
    drop(warm);

    let done = Arc::new(Barrier::new(workers + 1));
    let work: Vec<_> = (0..workers)
        .map(|t| {
            let done = done.clone();
            std::thread::spawn(move || {
                let own = worker(t as u64 + 1, ops, rounds);
                done.wait(); // stop here until the signals stop
                own
            })
        })
        .collect();
    let helpers: Vec<_> = [panicker, backtracer, snapshotter, dl_user]
        .into_iter()
        .map(std::thread::spawn)
        .collect();
    let targets: Vec<libc::pthread_t> = work
        .iter()
        .map(|h| h.as_pthread_t())
        .chain([helpers[0].as_pthread_t(), helpers[2].as_pthread_t()])
        .collect();
    let signaller = std::thread::spawn(move || {
        while !STOP.load(Relaxed) {
            for &t in &targets {
                // SAFETY: every target is joined only after this thread.
                unsafe { libc::pthread_kill(t, libc::SIGUSR1) };
                SENT.fetch_add(1, Relaxed);
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    });

    done.wait(); // the workers finished their operations
    STOP.store(true, Relaxed);
    signaller.join().unwrap();
    for h in helpers {
        h.join().unwrap();
    }
    let held: Vec<usize> = work.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let _ = std::panic::take_hook();

    let want: (u64, u64) = held.iter().fold((0, 0), |(s, c), &p| {
        // SAFETY: a live block from `alloc_block`, which wrote its size first.
        (s + unsafe { (p as *const u64).read() }, c + 1)
    });
    let snap = leakcheck_rt::take_snapshot();
    let got = common::at_line(&snap, FILE, line);
    let stacks = snap
        .statistics(leakcheck_rt::KeyType::Traceback)
        .iter()
        .filter(|s| {
            s.traceback
                .charged_frame()
                .is_some_and(|f| f.line == line && f.file == FILE)
        })
        .count();
    for p in held {
        free_block(p as *mut u8);
    }
    let after = common::at_line(&leakcheck_rt::take_snapshot(), FILE, line);
    leakcheck_rt::stop();

    let n = |c: &AtomicU64| c.load(Relaxed);
    eprintln!(
        "contention: {workers} workers × ≥{ops} ops through {stacks} stacks; {} signals handled of {} sent, \
         {} panics ({} bytes of hook output), {} backtraces, {} snapshots, {} dlopen rounds",
        n(&SIGNALS),
        n(&SENT),
        n(&PANICS),
        n(&HOOK_BYTES),
        n(&BACKTRACES),
        n(&SNAPSHOTS),
        n(&DLOPENS)
    );
    assert_eq!(got, want, "worker line (bytes, blocks) vs the blocks held");
    assert_eq!(after, (0, 0), "blocks left after all were freed");
    assert!(stacks > 10, "expected many distinct stacks, got {stacks}");
    for c in [&SIGNALS, &PANICS, &BACKTRACES, &SNAPSHOTS, &DLOPENS] {
        assert!(n(c) > 0, "a disturbing thread never ran");
    }
}

fn main() {
    // SAFETY: no other thread exists yet, so nothing reads the environment
    // concurrently.
    unsafe { std::env::set_var("RUST_BACKTRACE", "1") };
    common::watchdog(60, "contention");
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let tests = vec![Trial::test(
        "contention_counts_exactly_and_never_deadlocks",
        || {
            contention_counts_exactly_and_never_deadlocks();
            Ok(())
        },
    )];
    libtest_mimic::run(&args, tests).exit();
}
