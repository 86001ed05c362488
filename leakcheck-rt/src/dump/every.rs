//! [`dump_every`] and [`dump_on_demand`]: numbered snapshot files written
//! while a service runs, for `cargo leakcheck diff` to judge afterwards.
//!
//! ```text
//!   dump_every ──► thread: wait(interval, or a request) ──► take_snapshot ──► dump ──┐
//!                            ▲                                                       │
//!                            └───────────────────────────────────────────────────────┘
//!   DumpGuard::dump_now, a signal (DumpGuard::dump_on_signal) ──► request
//!   fork ──► in the child: a new thread, numbering on after the files
//!            in the directory (`after_fork.rs`)
//!   DumpGuard::stop / drop ──► wake the thread, join it (stop tracing if
//!                              dump_every started it)
//! ```

use std::fs;
use std::path::Path;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::after_fork;
use super::dumper::{DumpError, Shared, State, listen, next_number, spawn};
use super::stale;
use leakcheck_engine as alloc;

/// Frames kept per allocation when [`dump_every`] starts tracing itself.
pub const DUMP_NFRAME: usize = 25;

/// Writes a snapshot into `dir` every `interval` until the returned guard
/// is dropped (or [`DumpGuard::stop`]ped).
///
/// Starts tracing with [`DUMP_NFRAME`] frames if it is off (and stops it
/// again with the guard). Files are named `snapshot-000001.json`,
/// `snapshot-000002.json`, … in the order they were taken, numbered on
/// after any already in `dir`, and each is written atomically: a reader
/// never sees half a file. The first file is written one interval after
/// the call, so what the service builds at start-up is in every snapshot.
/// The dumping thread's own work is not traced.
///
/// A dump that fails (a full disk) does not stop the service or the
/// dumping: the guard keeps the first error for [`DumpGuard::stop`] to
/// return (and prints it when dropped).
///
/// A service started again into the same directory (after a crash or a
/// deploy) numbers its files on after those of the run before; given the
/// files of several runs, `cargo leakcheck diff` judges the run that
/// started last, and says so.
///
/// A dump is written through a temporary file `.snapshot-N.json.<pid>.….tmp`
/// beside it; one left behind by a process killed mid-write (`SIGKILL`) is
/// removed by the next `dump_every` into the directory, once its writer is
/// gone (or an hour old).
///
/// **Across `fork`.** The child of a `fork` (a daemonising service: fork,
/// the parent exits, the child serves) keeps dumping: it gets a dumping
/// thread of its own, whose files carry the child's process id and are
/// numbered on after those in the directory then, and the guard the child
/// inherited counts, stops and drops that thread (its counts start at zero
/// in the child). The parent's dumping goes on unchanged. While both
/// processes live they write into the same directory; give a child that
/// runs beside its parent a `dump_every` of its own directory
/// (`cargo leakcheck diff` takes the series of one process).
///
/// ```no_run
/// leakcheck_rt::install!();
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let dumps = leakcheck_rt::dump_every(
///         std::time::Duration::from_secs(60),
///         "leakcheck-snapshots",
///     )?;
///     // serve();
///     dumps.stop()?;
///     Ok(())
/// }
/// ```
pub fn dump_every(interval: Duration, dir: impl AsRef<Path>) -> Result<DumpGuard, DumpError> {
    if interval.is_zero() {
        return Err(DumpError::ZeroInterval);
    }
    start_dumping(Some(interval), dir.as_ref())
}

/// Writes a snapshot into `dir` each time one is asked for, with
/// [`DumpGuard::dump_now`] or a signal ([`DumpGuard::dump_on_signal`]), and
/// on no timer: the on-demand dump that LSan users wire to `SIGUSR1`. Files,
/// tracing and errors are as with [`dump_every`].
///
/// ```no_run
/// leakcheck_rt::install!();
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     leakcheck_rt::start_sampled(25, leakcheck_rt::SampleRate::default());
///     let dumps = leakcheck_rt::dump_on_demand("leakcheck-snapshots")?;
///     dumps.dump_on_signal(libc::SIGUSR2)?; // kill -USR2 <pid> writes one
///     // serve();
///     Ok(())
/// }
/// ```
pub fn dump_on_demand(dir: impl AsRef<Path>) -> Result<DumpGuard, DumpError> {
    start_dumping(None, dir.as_ref())
}

fn start_dumping(interval: Option<Duration>, dir: &Path) -> Result<DumpGuard, DumpError> {
    // The dumper's memory (its path, state and thread, each snapshot and
    // file) is the tracker's own: untracked, and from `System` whatever
    // allocator the user wrapped, like the leak-test runner's.
    alloc::as_tracker(|| {
        let dir = dir.to_owned();
        let dir_error = |source| DumpError::Dir {
            path: dir.clone(),
            source,
        };
        fs::create_dir_all(&dir).map_err(dir_error)?;
        stale::remove_stale_temporaries(&dir, after_fork::is_dumping_into(&dir));
        let next = next_number(&dir).map_err(dir_error)?;
        let started_tracing = !crate::is_tracing();
        if started_tracing {
            crate::start(DUMP_NFRAME);
        }
        // The fork handlers reach the state from any thread, in the child
        // too, for as long as the process lives: it is never freed (a few
        // hundred bytes per `dump_every`).
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            state: Mutex::new(State {
                stop: false,
                requested: false,
                signal: None,
                written: 0,
                failed: 0,
                first_error: None,
                thread: None,
            }),
            wake: Condvar::new(),
            dir,
            interval,
        }));
        let mut state = shared.lock();
        let thread = spawn(shared, Some(next)).map_err(|e| {
            if started_tracing {
                crate::stop();
            }
            DumpError::Spawn(e)
        })?;
        state.thread = Some(thread);
        drop(state);
        after_fork::register(shared);
        Ok(DumpGuard {
            shared,
            started_tracing,
            finished: false,
        })
    })
}

/// Keeps [`dump_every`] writing snapshots; stops it when dropped.
#[derive(Debug)]
#[must_use = "dumping stops when the guard is dropped"]
pub struct DumpGuard {
    shared: &'static Shared,
    started_tracing: bool,
    finished: bool,
}

impl DumpGuard {
    /// The directory the snapshots go to.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Snapshots written so far (by this process: the child of a fork
    /// counts from zero).
    pub fn written(&self) -> u64 {
        self.shared.lock().written
    }

    /// Dumps that failed so far (by this process).
    pub fn failed(&self) -> u64 {
        self.shared.lock().failed
    }

    /// Asks for a snapshot now, besides the timer's; returns at once (the
    /// dumping thread writes it). Requests made while one is being written
    /// make one more snapshot, not one each.
    pub fn dump_now(&self) {
        self.shared.lock().requested = true;
        self.shared.wake.notify_all();
    }

    /// From now on, each delivery of `signal` to the process asks for a
    /// snapshot, as [`dump_now`](Self::dump_now) does (`kill -USR2 <pid>`).
    /// The handler only writes a byte to a pipe; a thread of the guard's
    /// reads it. When the guard stops, the signal is ignored (its default
    /// action, often ending the process, is not restored). One signal per
    /// guard; the child of a `fork` does not inherit it.
    ///
    /// # Errors
    ///
    /// [`DumpError::Signal`] for a signal that cannot be caught or that
    /// leakcheck uses itself (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGBUS`,
    /// `SIGILL`, `SIGFPE`, `SIGPWR`), or when the guard already has one.
    pub fn dump_on_signal(&self, signal: i32) -> Result<(), DumpError> {
        alloc::as_tracker(|| {
            let mut state = self.shared.lock();
            if let Some(had) = state.signal {
                return Err(DumpError::Signal {
                    signal,
                    source: std::io::Error::other(format!(
                        "this guard already dumps on signal {had}"
                    )),
                });
            }
            listen(self.shared, signal)?;
            state.signal = Some(signal);
            Ok(())
        })
    }

    /// Stops dumping and waits for a dump in progress to finish; returns
    /// how many snapshots were written, or the first dump that failed.
    pub fn stop(mut self) -> Result<u64, DumpError> {
        self.finish();
        let mut state = self.shared.lock();
        match state.first_error.take() {
            Some(e) => Err(e),
            None => Ok(state.written),
        }
    }

    fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let (thread, signal) = {
            let mut state = self.shared.lock();
            state.stop = true;
            (state.thread.take(), state.signal.take())
        };
        if let Some(signal) = signal {
            alloc::stop_waking(signal);
        }
        self.shared.wake.notify_all();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        after_fork::unregister(self.shared);
        if self.started_tracing {
            crate::stop();
        }
    }
}

impl Drop for DumpGuard {
    fn drop(&mut self) {
        self.finish();
        let state = self.shared.lock();
        if let Some(e) = &state.first_error {
            eprintln!(
                "leakcheck: {} of {} snapshot dumps failed; the first: {e}",
                state.failed,
                state.failed + state.written
            );
        }
    }
}
