//! [`dump_every`]: numbered snapshot files written while a service runs, for
//! `cargo leakcheck diff` to judge afterwards.
//!
//! ```text
//!   dump_every ──► thread: wait(interval) ──► take_snapshot ──► dump ──┐
//!                            ▲                                          │
//!                            └──────────────────────────────────────────┘
//!   fork ──► in the child: a new thread, numbering on after the files
//!            in the directory (`after_fork.rs`)
//!   DumpGuard::stop / drop ──► wake the thread, join it (stop tracing if
//!                              dump_every started it)
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{after_fork, stale};
use crate::alloc;
use crate::file_format::FileError;

/// Frames kept per allocation when [`dump_every`] starts tracing itself.
pub const DUMP_NFRAME: usize = 25;

const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".json";

/// Why [`dump_every`] could not start, or a dump could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The interval was zero.
    #[error("failed to start dumping snapshots: the interval must be more than zero")]
    ZeroInterval,
    /// The directory could not be created or listed.
    #[error("failed to prepare snapshot directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The dumping thread could not be started.
    #[error("failed to start the snapshot thread: {0}")]
    Spawn(#[source] io::Error),
    /// Tracing was stopped while the service ran, so nothing could be
    /// dumped.
    #[error("failed to take a snapshot: tracing was stopped (leakcheck_rt::stop)")]
    TracingStopped,
    /// A snapshot could not be written (a full disk, a removed directory).
    #[error("failed to write a snapshot: {0}")]
    Write(#[from] FileError),
}

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
    // The dumper's memory (its path, state and thread, each snapshot and
    // file) is the tracker's own: untracked, and from `System` whatever
    // allocator the user wrapped, like the leak-test runner's.
    alloc::as_tracker(|| {
        let dir = dir.as_ref().to_owned();
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

/// Starts the dumping thread of `shared`; `first` is the number of its
/// first file, or `None` to number on after the files in the directory.
pub(super) fn spawn(shared: &'static Shared, first: Option<u64>) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("leakcheck-dump".into())
        .spawn(move || alloc::as_tracker(|| dump_loop(shared, first)))
}

/// Keeps [`dump_every`] writing snapshots; stops it when dropped.
#[derive(Debug)]
#[must_use = "dumping stops when the guard is dropped"]
pub struct DumpGuard {
    shared: &'static Shared,
    started_tracing: bool,
    finished: bool,
}

/// What the guard, the dumping thread and the fork handlers share.
#[derive(Debug)]
pub(super) struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    pub(super) dir: PathBuf,
    interval: Duration,
}

#[derive(Debug)]
pub(super) struct State {
    stop: bool,
    written: u64,
    failed: u64,
    first_error: Option<DumpError>,
    /// This process's dumping thread: `None` once stopped, or when a fork
    /// child could not start its own.
    thread: Option<JoinHandle<()>>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// In the child of a fork, with the state held across it: the thread
    /// did not come along, so a new one is started, and the counts start
    /// again.
    pub(super) fn restart_in_child(&mut self, shared: &'static Shared) {
        // The handle names a thread of the parent: joining or detaching it
        // here would act on a thread that is not there.
        let Some(gone) = self.thread.take() else {
            return;
        };
        std::mem::forget(gone);
        self.written = 0;
        self.failed = 0;
        self.first_error = None;
        if self.stop {
            return;
        }
        match spawn(shared, None) {
            Ok(thread) => self.thread = Some(thread),
            Err(e) => self.record(Err(DumpError::Spawn(e))),
        }
    }

    fn record(&mut self, result: Result<(), DumpError>) {
        match result {
            Ok(()) => self.written += 1,
            Err(e) => {
                self.failed += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }
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
        let thread = {
            let mut state = self.shared.lock();
            state.stop = true;
            state.thread.take()
        };
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

/// The thread: one snapshot every `interval`, counted from the start so
/// that slow dumps do not stretch the series.
fn dump_loop(shared: &Shared, first: Option<u64>) {
    let dir = &shared.dir;
    let interval = shared.interval;
    let mut number = first;
    let mut due = Instant::now() + interval;
    let mut state = shared.lock();
    loop {
        while !state.stop {
            let now = Instant::now();
            if now >= due {
                break;
            }
            state = shared
                .wake
                .wait_timeout(state, due - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if state.stop {
            return;
        }
        drop(state);
        let result = match number {
            Some(n) => Ok(n),
            None => next_number(dir).map_err(|source| DumpError::Dir {
                path: dir.clone(),
                source,
            }),
        }
        .and_then(|n| {
            number = Some(n);
            if crate::is_tracing() {
                crate::take_snapshot()
                    .dump(dir.join(file_name(n)))
                    .map_err(DumpError::Write)
            } else {
                Err(DumpError::TracingStopped)
            }
        });
        if result.is_ok() {
            number = number.map(|n| n + 1);
        }
        state = shared.lock();
        state.record(result);
        // Skip the ticks a slow dump missed rather than dumping in a burst.
        let now = Instant::now();
        while due <= now {
            due += interval;
        }
    }
}

/// `snapshot-000042.json`.
fn file_name(number: u64) -> String {
    format!("{PREFIX}{number:06}{SUFFIX}")
}

/// The number of a `snapshot-N.json` file name.
pub(super) fn number_of(name: &str) -> Option<u64> {
    name.strip_prefix(PREFIX)?
        .strip_suffix(SUFFIX)?
        .parse::<u64>()
        .ok()
}

/// The number after the highest `snapshot-N.json` already in `dir`.
fn next_number(dir: &Path) -> io::Result<u64> {
    let mut highest = 0;
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(n) = name.to_str().and_then(number_of) {
            highest = highest.max(n);
        }
    }
    Ok(highest + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_in_the_order_taken() {
        assert_eq!(file_name(7), "snapshot-000007.json");
        assert!(file_name(99) < file_name(100));
    }

    #[test]
    fn numbering_goes_on_after_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(next_number(dir.path()).unwrap(), 1);
        for name in ["snapshot-000003.json", "snapshot-12.json", "notes.txt"] {
            fs::write(dir.path().join(name), "").unwrap();
        }
        assert_eq!(next_number(dir.path()).unwrap(), 13);
    }
}
