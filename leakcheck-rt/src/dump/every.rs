//! [`dump_every`]: numbered snapshot files written while a service runs, for
//! `cargo leakcheck diff` to judge afterwards.
//!
//! ```text
//!   dump_every ──► thread: wait(interval) ──► take_snapshot ──► dump ──┐
//!                            ▲                                          │
//!                            └──────────────────────────────────────────┘
//!   DumpGuard::stop / drop ──► wake the thread, join it (stop tracing if
//!                              dump_every started it)
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

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
        let next = next_number(&dir).map_err(dir_error)?;
        let started_tracing = !crate::is_tracing();
        if started_tracing {
            crate::start(DUMP_NFRAME);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                stop: false,
                written: 0,
                failed: 0,
                first_error: None,
            }),
            wake: Condvar::new(),
        });
        let thread = thread::Builder::new()
            .name("leakcheck-dump".into())
            .spawn({
                let shared = Arc::clone(&shared);
                let dir = dir.clone();
                move || alloc::as_tracker(|| dump_loop(&shared, &dir, interval, next))
            })
            .map_err(|e| {
                if started_tracing {
                    crate::stop();
                }
                DumpError::Spawn(e)
            })?;
        Ok(DumpGuard {
            shared,
            thread: Some(thread),
            started_tracing,
            dir,
        })
    })
}

/// Keeps [`dump_every`] writing snapshots; stops it when dropped.
#[derive(Debug)]
#[must_use = "dumping stops when the guard is dropped"]
pub struct DumpGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    started_tracing: bool,
    dir: PathBuf,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug)]
struct State {
    stop: bool,
    written: u64,
    failed: u64,
    first_error: Option<DumpError>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl DumpGuard {
    /// The directory the snapshots go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Snapshots written so far.
    pub fn written(&self) -> u64 {
        self.shared.lock().written
    }

    /// Dumps that failed so far.
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
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        let _ = thread.join();
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
fn dump_loop(shared: &Shared, dir: &Path, interval: Duration, mut number: u64) {
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
        let result = if crate::is_tracing() {
            crate::take_snapshot()
                .dump(dir.join(file_name(number)))
                .map_err(DumpError::Write)
        } else {
            Err(DumpError::TracingStopped)
        };
        state = shared.lock();
        match result {
            Ok(()) => {
                state.written += 1;
                number += 1;
            }
            Err(e) => {
                state.failed += 1;
                state.first_error.get_or_insert(e);
            }
        }
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

/// The number after the highest `snapshot-N.json` already in `dir`.
fn next_number(dir: &Path) -> io::Result<u64> {
    let mut highest = 0;
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let number = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|n| n.strip_suffix(SUFFIX))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = number {
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
