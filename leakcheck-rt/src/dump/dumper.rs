//! The dumping thread of [`dump_every`](super::dump_every) and the state it
//! shares with its guard and the fork handlers: one snapshot every
//! interval, into numbered files.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use leakcheck_engine as alloc;
use leakcheck_format::file_format::FileError;

const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".json";

/// Why [`dump_every`](crate::dump_every) could not start, or a dump could not be written.
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
    /// The signal could not be set up to ask for snapshots.
    #[error("failed to dump on signal {signal}: {source}")]
    Signal {
        /// The signal's number.
        signal: i32,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Starts the dumping thread of `shared`; `first` is the number of its
/// first file, or `None` to number on after the files in the directory.
pub(super) fn spawn(shared: &'static Shared, first: Option<u64>) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("leakcheck-dump".into())
        .spawn(move || alloc::as_tracker(|| dump_loop(shared, first)))
}

/// What the guard, the dumping thread and the fork handlers share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    pub(super) wake: Condvar,
    pub(super) dir: PathBuf,
    /// `None`: snapshots on demand only.
    pub(super) interval: Option<Duration>,
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) stop: bool,
    /// A snapshot was asked for ([`DumpGuard::dump_now`](super::DumpGuard::dump_now), a signal).
    pub(super) requested: bool,
    /// The signal that asks for snapshots, if one was set up.
    pub(super) signal: Option<i32>,
    pub(super) written: u64,
    pub(super) failed: u64,
    pub(super) first_error: Option<DumpError>,
    /// This process's dumping thread: `None` once stopped, or when a fork
    /// child could not start its own.
    pub(super) thread: Option<JoinHandle<()>>,
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

/// The thread: one snapshot every `interval` (counted from the start, so
/// that slow dumps do not stretch the series), and one each time a
/// snapshot is asked for.
fn dump_loop(shared: &Shared, first: Option<u64>) {
    let dir = &shared.dir;
    let interval = shared.interval;
    let mut number = first;
    let mut due = interval.map(|interval| Instant::now() + interval);
    let mut state = shared.lock();
    loop {
        while !state.stop && !state.requested {
            let now = Instant::now();
            state = match due {
                Some(due) if now >= due => break,
                Some(due) => {
                    shared
                        .wake
                        .wait_timeout(state, due - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => shared.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
            };
        }
        if state.stop {
            return;
        }
        state.requested = false;
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
        if let (Some(due), Some(interval)) = (due.as_mut(), interval) {
            let now = Instant::now();
            while *due <= now {
                *due += interval;
            }
        }
    }
}

/// Starts the thread that turns each delivery of `signal` into a request
/// for a snapshot; it ends when the signal stops waking it.
pub(super) fn listen(shared: &'static Shared, signal: i32) -> Result<(), DumpError> {
    let error = |source| DumpError::Signal { signal, source };
    let mut pipe = alloc::wake_on_signal(signal).map_err(error)?;
    thread::Builder::new()
        .name("leakcheck-dump-signal".into())
        .spawn(move || {
            alloc::as_tracker(|| {
                let mut byte = [0u8; 64];
                while matches!(pipe.read(&mut byte), Ok(n) if n > 0) {
                    let mut state = shared.lock();
                    if state.stop {
                        break;
                    }
                    state.requested = true;
                    drop(state);
                    shared.wake.notify_all();
                }
            })
        })
        .map_err(|e| {
            alloc::stop_waking(signal);
            error(e)
        })?;
    Ok(())
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
pub(super) fn next_number(dir: &Path) -> io::Result<u64> {
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
