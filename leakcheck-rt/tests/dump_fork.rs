//! `dump_every` across `fork()`: the child of a daemonising service (fork,
//! the parent exits, the child serves) keeps writing snapshots of its own,
//! and stopping or dropping the guard in the child, or in the parent,
//! never panics.
//!
//! A `harness = false` binary: the forking thread is the main thread and
//! no other test runs beside it.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use leakcheck_rt::Snapshot;
use libtest_mimic::{Arguments, Trial};

mod common;

leakcheck_rt::install!();

/// A child still running after this many seconds is hung.
const CHILD_SECS: u32 = 30;
const INTERVAL: Duration = Duration::from_millis(20);

/// The snapshot files in `dir` written by process `pid`.
fn dumps_of(dir: &Path, pid: u32) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            Snapshot::load(p)
                .ok()
                .and_then(|s| s.origin().map(|o| o.pid))
                == Some(pid)
        })
        .count()
}

/// Waits (without a bound the test asserts on: the child's alarm is the
/// bound) until `done`.
fn wait_for(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(CHILD_SECS.into()));
        std::thread::sleep(INTERVAL);
    }
}

/// The child: its guard (the parent's, copied by fork) keeps dumping into
/// the same directory, as this process, and stops cleanly.
fn child(dir: &Path, guard: leakcheck_rt::DumpGuard) -> i32 {
    let me = std::process::id();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        wait_for(|| dumps_of(dir, me) >= 2);
        guard.stop()
    }));
    match outcome {
        Ok(Ok(written)) if written >= 2 => 0,
        Ok(Ok(written)) => {
            eprintln!("the child's guard counted {written} dumps");
            3
        }
        Ok(Err(e)) => {
            eprintln!("the child's dumps failed: {e}");
            4
        }
        Err(_) => 5,
    }
}

fn fork_keeps_dumping_in_the_child() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let guard = leakcheck_rt::dump_every(INTERVAL, dir.path()).unwrap();
    wait_for(|| guard.written() >= 1);
    // SAFETY: the child only runs this test's code and ends with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: a plain syscall wrapper.
        unsafe { libc::alarm(CHILD_SECS) };
        let code = child(dir.path(), guard);
        // SAFETY: ends the child without running the parent's exit path.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `pid` is this process's child; `status` is a valid out-pointer.
    let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(reaped, pid);
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("the child ended with wait status {status:#x}"));
    }
    // The parent's guard still works, and still stops.
    let before = guard.written();
    wait_for(|| guard.written() > before);
    let written = guard.stop().map_err(|e| e.to_string())?;
    assert!(written >= 2, "{written}");
    assert!(dumps_of(dir.path(), std::process::id()) >= 2);
    Ok(())
}

/// Dropping the guard in the child (a daemon that ends) does not panic.
fn drop_in_the_child_does_not_panic() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let guard = leakcheck_rt::dump_every(INTERVAL, dir.path()).unwrap();
    // SAFETY: as above.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: as above.
        unsafe { libc::alarm(CHILD_SECS) };
        let code = match panic::catch_unwind(AssertUnwindSafe(|| drop(guard))) {
            Ok(()) => 0,
            Err(_) => 5,
        };
        // SAFETY: as above.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: as above.
    let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(reaped, pid);
    drop(guard);
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("the child ended with wait status {status:#x}"));
    }
    Ok(())
}

fn main() {
    common::watchdog(120, "dump_fork");
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let tests = vec![
        Trial::test("fork_keeps_dumping_in_the_child", || {
            Ok(fork_keeps_dumping_in_the_child()?)
        }),
        Trial::test("drop_in_the_child_does_not_panic", || {
            Ok(drop_in_the_child_does_not_panic()?)
        }),
    ];
    libtest_mimic::run(&args, tests).exit();
}
