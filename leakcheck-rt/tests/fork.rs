//! `fork()` from a tracing process whose other threads allocate hard: every
//! child can allocate and free, counts its own blocks exactly, takes a
//! snapshot, clears the traces (forgetting the parent's blocks), stops and
//! starts again, and `_exit(0)`s; the parent reaps each child (a child stuck on
//! a lock inherited from a thread that no longer exists dies of its own
//! `alarm` after 10 s and fails the test) and still counts its own
//! workers exactly.
//!
//! The second case forks while another thread of the parent takes
//! snapshots, so the child may inherit the snapshot machinery mid-use.
//!
//! Default: 2 allocating threads, 50 forks per case.
//! `LEAKCHECK_STRESS=full`: 4 allocating threads, 500 forks per case.
//!
//! A `harness = false` binary: the forking thread is the main thread and
//! no other test runs beside it.

use std::alloc::{Layout, alloc, dealloc};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Trial};

mod common;
use common::Rng;

leakcheck_rt::install!();

const FILE: &str = "leakcheck-rt/tests/fork.rs";
const SRC: &str = include_str!("fork.rs");
const CHILD_BLOCKS: usize = 100;
/// A child still running after this many seconds is hung.
const CHILD_SECS: u32 = 10;

#[inline(never)]
fn worker_alloc(size: usize) -> *mut u8 {
    // SAFETY: `size >= 8`, a valid non-zero layout.
    black_box(unsafe { alloc(Layout::from_size_align(size, 8).unwrap()) }) // SITE worker
}

#[inline(never)]
fn child_alloc(size: usize) -> Box<[u8]> {
    vec![1u8; size].into_boxed_slice() // SITE child
}

fn free_sized(p: *mut u8, size: usize) {
    // SAFETY: a live block of `size` bytes from `worker_alloc`.
    unsafe { dealloc(p, Layout::from_size_align(size, 8).unwrap()) };
}

/// Allocates and frees until `stop`; returns the blocks still held.
fn worker(seed: u64, stop: &AtomicBool, ops: &AtomicU64) -> Vec<(usize, usize)> {
    let mut rng = Rng::new(seed);
    let mut own: Vec<(usize, usize)> = Vec::with_capacity(256);
    while !stop.load(Relaxed) {
        if own.len() < 200 && (own.is_empty() || rng.chance(55)) {
            let size = 8 + rng.below(4096) as usize;
            let p = worker_alloc(size);
            assert!(!p.is_null());
            own.push((p as usize, size));
        } else {
            let (p, size) = own.swap_remove(rng.below(own.len() as u64) as usize);
            free_sized(p as *mut u8, size);
        }
        ops.fetch_add(1, Relaxed);
    }
    own
}

/// What a child does; its exit status says what went wrong. A forked
/// child also changes the tracing epoch, which must not wait for threads
/// it does not have, and forgets the parent's blocks.
fn child(line: u32, worker_line: u32, forked: bool) -> i32 {
    let run = || {
        let blocks: Vec<Box<[u8]>> = (0..CHILD_BLOCKS).map(|i| child_alloc(64 + i)).collect();
        let want = (
            (0..CHILD_BLOCKS).map(|i| 64 + i as u64).sum::<u64>(),
            CHILD_BLOCKS as u64,
        );
        let snap = leakcheck_rt::take_snapshot();
        if common::at_line(&snap, FILE, line) != want {
            return 3;
        }
        drop(blocks);
        let snap = leakcheck_rt::take_snapshot();
        if common::at_line(&snap, FILE, line) != (0, 0) {
            return 4;
        }
        if forked {
            leakcheck_rt::clear_traces();
            let snap = leakcheck_rt::take_snapshot();
            if common::at_line(&snap, FILE, worker_line) != (0, 0) {
                return 5;
            }
            leakcheck_rt::stop();
            leakcheck_rt::start(25);
            let one = child_alloc(64);
            let snap = leakcheck_rt::take_snapshot();
            if common::at_line(&snap, FILE, line) != (64, 1) {
                return 6;
            }
            drop(one);
        }
        0
    };
    std::panic::catch_unwind(run).unwrap_or(2)
}

/// Waits for `pid` until `deadline`; kills it after that.
fn reap(pid: libc::pid_t, deadline: Duration) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waits for our own child without blocking.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                return Ok(());
            }
            if libc::WIFEXITED(status) {
                return Err(format!(
                    "child exited with status {}",
                    libc::WEXITSTATUS(status)
                ));
            }
            return Err(match libc::WTERMSIG(status) {
                libc::SIGALRM => format!("child hung for {CHILD_SECS} s (deadlock after fork?)"),
                sig => format!("child died of signal {sig}"),
            });
        }
        assert_eq!(r, 0, "waitpid failed");
        if start.elapsed() > deadline {
            // SAFETY: our own child, still running.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Err(format!(
                "child hung for {deadline:?} (deadlock after fork?)"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn fork_while_busy(snapshotting: bool) {
    let threads = common::scale(2, 4);
    let forks = common::scale(50, 500);
    let worker_line = common::marked_line(SRC, "// SITE worker");
    let child_line = common::marked_line(SRC, "// SITE child");
    leakcheck_rt::start(25);

    let stop = AtomicBool::new(false);
    let ops = AtomicU64::new(0);
    let snapshots = AtomicU64::new(0);
    let mut failures = Vec::new();
    let held: Vec<(usize, usize)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (stop, ops) = (&stop, &ops);
                s.spawn(move || worker(t as u64 + 1, stop, ops))
            })
            .collect();
        let snapper = snapshotting.then(|| {
            s.spawn(|| {
                while !stop.load(Relaxed) {
                    black_box(leakcheck_rt::take_snapshot());
                    snapshots.fetch_add(1, Relaxed);
                }
            })
        });
        // Symbolise the workers' stacks and the child's checks once in the
        // parent: children inherit the results (parsing debug info in
        // every child would make each one take seconds in a debug build).
        while ops.load(Relaxed) < 10_000 {
            std::thread::yield_now();
        }
        let warm = child(child_line, worker_line, false);
        assert_eq!(warm, 0, "the checks fail even without fork");
        for i in 0..forks {
            // Let the workers get going between forks.
            let target = ops.load(Relaxed) + 2_000;
            while ops.load(Relaxed) < target {
                std::thread::yield_now();
            }
            // SAFETY: the child only allocates, snapshots and `_exit`s: it
            // never returns into the test harness.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                // A hung child dies of SIGALRM, even if the parent is gone.
                // SAFETY: async-signal-safe calls that only affect this process.
                unsafe {
                    libc::alarm(CHILD_SECS);
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                }
                let code = child(child_line, worker_line, true);
                // SAFETY: ends the child without running exit handlers.
                unsafe { libc::_exit(code) };
            }
            if let Err(e) = reap(pid, Duration::from_secs(2 * u64::from(CHILD_SECS))) {
                failures.push(format!("fork {i}: {e}"));
                if failures.len() == 3 {
                    break;
                }
            }
        }
        stop.store(true, Relaxed);
        if let Some(h) = snapper {
            h.join().unwrap();
        }
        workers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let want = held
        .iter()
        .fold((0, 0), |(s, c), &(_, size)| (s + size as u64, c + 1));
    let got = common::at_line(&leakcheck_rt::take_snapshot(), FILE, worker_line);
    for (p, size) in held {
        free_sized(p as *mut u8, size);
    }
    leakcheck_rt::stop();
    eprintln!(
        "fork: {forks} children of {threads} allocating threads{} ({} parent ops, {} parent snapshots), {} failed",
        if snapshotting {
            " and a snapshotting one"
        } else {
            ""
        },
        ops.load(Relaxed),
        snapshots.load(Relaxed),
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(got, want, "the parent's worker line after the forks");
}

fn main() {
    common::watchdog(120, "fork");
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let tests = vec![
        Trial::test("children_of_a_busy_process_allocate_and_snapshot", || {
            fork_while_busy(false);
            Ok(())
        }),
        Trial::test("children_fork_while_another_thread_snapshots", || {
            fork_while_busy(true);
            Ok(())
        }),
    ];
    libtest_mimic::run(&args, tests).exit();
}
