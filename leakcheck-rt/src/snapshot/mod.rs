//! Snapshots of live allocations, their statistics and diffs, and their file
//! format; [`take`] takes them.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::file_format::{self, FileError, FileKind, SNAPSHOT_TAG};
use crate::filter::{self, Filter};
use crate::json;
use crate::statistic::{self, KeyType, Statistic, StatisticDiff};

mod table;
pub(crate) mod take;
use crate::traceback::{Frame, Traceback};
pub use table::TraceTable;

/// The snapshot file format version this crate writes and the newest it reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// All live blocks allocated from one call path.
///
/// tracemalloc keeps one trace per block; leakcheck counts blocks per call
/// path as they are allocated, so a trace here is the sum of the blocks of
/// one path: `size` bytes in `count` blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// Where the blocks were allocated, oldest frame first.
    pub traceback: Traceback,
    /// Live bytes.
    pub size: u64,
    /// Live blocks.
    pub count: u64,
}

/// The live allocations at one moment (tracemalloc's `Snapshot`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    traces: Vec<Trace>,
    traceback_limit: usize,
    origin: Option<SnapshotOrigin>,
}

/// Which process took a snapshot, and when: what `cargo leakcheck diff`
/// checks before it compares dumps of a running service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SnapshotOrigin {
    /// The version of leakcheck-rt that took it.
    pub leakcheck: String,
    /// The process id.
    pub pid: u32,
    /// When the process first took a snapshot, in milliseconds since the
    /// Unix epoch: with `pid`, it tells two processes apart even when the
    /// system reused the id.
    pub process_started_ms: u64,
    /// The snapshot's number in its process, from 1.
    pub seq: u64,
    /// Milliseconds since the process's first snapshot (monotonic clock).
    pub uptime_ms: u64,
    /// Wall-clock time the snapshot was taken, in milliseconds since the
    /// Unix epoch.
    pub taken_at_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct FileTrace {
    size: u64,
    count: u64,
    frames: Vec<u32>,
}

/// A snapshot as the file format holds it: frames stored once, traces as
/// lists of frame indices. Session records embed it as it is.
#[derive(Serialize, Deserialize)]
pub(crate) struct FileSnapshot {
    format: String,
    version: u32,
    traceback_limit: usize,
    frames: Vec<Frame>,
    traces: Vec<FileTrace>,
    /// Absent in snapshots made with [`Snapshot::from_traces`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<SnapshotOrigin>,
}

/// A snapshot's file form, built a trace at a time: each distinct frame
/// is stored once, numbered in the order first seen, so a snapshot written
/// from its traces as they are symbolised is the same file as
/// [`Snapshot::to_file`] of them.
#[derive(Default)]
pub(crate) struct FileBuilder {
    frame_ids: HashMap<Frame, u32>,
    frames: Vec<Frame>,
    traces: Vec<FileTrace>,
}

impl FileBuilder {
    /// Adds the trace of `size` bytes in `count` blocks at `traceback`.
    pub(crate) fn add(&mut self, traceback: &Traceback, size: u64, count: u64) {
        let frames = traceback
            .frames()
            .iter()
            .map(|f| match self.frame_ids.get(f) {
                Some(&id) => id,
                None => {
                    let id = self.frames.len() as u32;
                    self.frames.push(f.clone());
                    self.frame_ids.insert(f.clone(), id);
                    id
                }
            })
            .collect();
        self.traces.push(FileTrace {
            size,
            count,
            frames,
        });
    }

    /// The file form of the traces added.
    pub(crate) fn finish(
        self,
        traceback_limit: usize,
        origin: Option<SnapshotOrigin>,
    ) -> FileSnapshot {
        FileSnapshot {
            format: SNAPSHOT_TAG.to_owned(),
            version: SNAPSHOT_VERSION,
            traceback_limit,
            frames: self.frames,
            traces: self.traces,
            origin,
        }
    }
}

impl Snapshot {
    /// A snapshot of these traces, e.g. to test a report.
    pub fn from_traces(traces: Vec<Trace>, traceback_limit: usize) -> Self {
        Self {
            traces,
            traceback_limit,
            origin: None,
        }
    }

    /// The same snapshot, marked as taken by `origin`.
    pub(crate) fn with_origin(self, origin: SnapshotOrigin) -> Self {
        Self {
            origin: Some(origin),
            ..self
        }
    }

    /// Which process took the snapshot and when; `None` for a snapshot
    /// built by [`Snapshot::from_traces`] (or by a filter of one).
    pub fn origin(&self) -> Option<&SnapshotOrigin> {
        self.origin.as_ref()
    }

    /// The same snapshot's process, time and frame depth, without its
    /// traces: what a series check needs of a snapshot whose traces were
    /// already folded into a judgement (see
    /// [`SeriesFold`](crate::SeriesFold)).
    pub fn without_traces(&self) -> Snapshot {
        Snapshot {
            traces: Vec::new(),
            traceback_limit: self.traceback_limit,
            origin: self.origin.clone(),
        }
    }

    /// The traces, one per call path with live blocks.
    pub fn traces(&self) -> &[Trace] {
        &self.traces
    }

    /// The number of frames kept per allocation when it was taken.
    pub fn traceback_limit(&self) -> usize {
        self.traceback_limit
    }

    /// Total live bytes and blocks.
    pub fn total(&self) -> (u64, u64) {
        self.traces
            .iter()
            .fold((0, 0), |(s, c), t| (s + t.size, c + t.count))
    }

    /// Live memory grouped by `key`, biggest first.
    pub fn statistics(&self, key: KeyType) -> Vec<Statistic> {
        statistic::group(
            self.traces.iter().map(|t| (&t.traceback, t.size, t.count)),
            key,
        )
    }

    /// Like [`Snapshot::statistics`], but every frame of a call path counts,
    /// not only the charged one: a function's line shows all memory
    /// allocated below it. `KeyType::Traceback` is the same as
    /// `statistics(KeyType::Traceback)`.
    pub fn statistics_cumulative(&self, key: KeyType) -> Vec<Statistic> {
        if key == KeyType::Traceback {
            return self.statistics(key);
        }
        let mut expanded: Vec<(Traceback, u64, u64)> = Vec::new();
        for trace in &self.traces {
            let mut seen: Vec<(&str, u32)> = Vec::new();
            for frame in trace.traceback.frames().iter().rev() {
                let id = (
                    frame.file.as_str(),
                    if key == KeyType::Lineno {
                        frame.line
                    } else {
                        0
                    },
                );
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                expanded.push((Traceback::new(vec![frame.clone()]), trace.size, trace.count));
            }
        }
        statistic::group(expanded.iter().map(|(t, s, c)| (t, *s, *c)), key)
    }

    /// What changed since `old`, grouped by `key`, biggest change first.
    pub fn compare_to(&self, old: &Snapshot, key: KeyType) -> Vec<StatisticDiff> {
        statistic::diff(self.statistics(key), old.statistics(key), key)
    }

    /// A snapshot of the traces that pass `filters` (see [`Filter`]).
    pub fn filter_traces(&self, filters: &[Filter]) -> Snapshot {
        Snapshot {
            traces: self
                .traces
                .iter()
                .filter(|t| filter::passes(filters, &t.traceback))
                .cloned()
                .collect(),
            traceback_limit: self.traceback_limit,
            origin: self.origin.clone(),
        }
    }

    /// Writes the snapshot as versioned JSON. A regular file (or a new
    /// path) is replaced atomically: a reader never sees half a file. A
    /// symlink, FIFO or device (`/dev/stdout`) is written through, never
    /// replaced.
    pub fn dump(&self, path: impl AsRef<Path>) -> Result<(), FileError> {
        file_format::write(FileKind::Snapshot, path.as_ref(), &self.to_json())
    }

    /// Reads a snapshot written by [`Snapshot::dump`].
    pub fn load(path: impl AsRef<Path>) -> Result<Snapshot, FileError> {
        file_format::load(FileKind::Snapshot, path.as_ref(), Self::from_json_bytes)
    }

    /// The snapshot as versioned JSON.
    pub fn to_json(&self) -> String {
        json::to_string(&self.to_file()).expect("a snapshot always serialises")
    }

    /// The snapshot in its file form.
    pub(crate) fn to_file(&self) -> FileSnapshot {
        let mut file = FileBuilder::default();
        for t in &self.traces {
            file.add(&t.traceback, t.size, t.count);
        }
        file.finish(self.traceback_limit, self.origin.clone())
    }

    /// Parses JSON written by [`Snapshot::to_json`]; `origin` names the
    /// input in errors.
    pub fn from_json_bytes(data: &[u8], origin: &str) -> Result<Snapshot, FileError> {
        let file: FileSnapshot = file_format::parse(FileKind::Snapshot, data, origin)?;
        Self::from_file(file, FileKind::Snapshot, origin)
    }

    /// The snapshot of a file form, checking its format, version and frame
    /// indices; `kind` is the file that holds it (a session record embeds
    /// snapshots) and `origin` names the input in errors.
    pub(crate) fn from_file(
        file: FileSnapshot,
        kind: FileKind,
        origin: &str,
    ) -> Result<Snapshot, FileError> {
        TraceTable::from_file(file, kind, origin).map(|table| table.to_snapshot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traceback::FrameKind;

    fn sample() -> Snapshot {
        let f = |file: &str, line| Frame {
            file: file.into(),
            line,
            function: "m::f".into(),
            kind: FrameKind::Workspace,
        };
        Snapshot::from_traces(
            vec![
                Trace {
                    traceback: Traceback::new(vec![f("src/main.rs", 1), f("src/lib.rs", 10)]),
                    size: 2048,
                    count: 2,
                },
                Trace {
                    traceback: Traceback::new(vec![f("src/main.rs", 2), f("src/lib.rs", 10)]),
                    size: 1024,
                    count: 1,
                },
            ],
            25,
        )
    }

    #[test]
    fn json_round_trip() {
        let s = sample();
        let back = Snapshot::from_json_bytes(s.to_json().as_bytes(), "data").unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let json = sample().to_json();
        for end in 0..json.len() {
            let err = Snapshot::from_json_bytes(&json.as_bytes()[..end], "data").unwrap_err();
            let expected = match end {
                0 => matches!(err, FileError::Empty { .. }),
                _ => matches!(err, FileError::Corrupt { .. }),
            };
            assert!(expected, "{end}: {err}");
        }
    }

    #[test]
    fn json_of_another_shape_is_not_a_snapshot() {
        for other in [
            "[]",
            "42",
            "null",
            "{}",
            r#"{"format":"leakcheck-session"}"#,
        ] {
            let err = Snapshot::from_json_bytes(other.as_bytes(), "x.json").unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("x.json is not a leakcheck snapshot: it is "),
                "{other}: {err}"
            );
        }
    }

    #[test]
    fn sizes_past_2_63_are_refused_not_overflowed() {
        let json = sample().to_json();
        assert!(json.contains("\"size\":2048"), "{json}");
        for (edit, what) in [
            (("\"size\":2048", "\"size\":18446744073709551615"), "sizes"),
            (("\"size\":2048", "\"size\":9223372036854775807"), "sizes"),
            (
                ("\"count\":2,", "\"count\":18446744073709551000,"),
                "block counts",
            ),
        ] {
            let edited = json.replace(edit.0, edit.1);
            let err = Snapshot::from_json_bytes(edited.as_bytes(), "x.json").unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "snapshot x.json is corrupt or truncated: its {what} add up to more than 2^63 - 1"
                ),
            );
        }
    }

    #[test]
    fn newer_version_is_named() {
        let json = sample().to_json().replace("\"version\":1", "\"version\":7");
        let err = Snapshot::from_json_bytes(json.as_bytes(), "x.json").unwrap_err();
        assert_eq!(
            err.to_string(),
            "snapshot x.json has format version 7, newer than this leakcheck reads (1); upgrade leakcheck"
        );
    }

    #[test]
    fn cumulative_counts_each_frame_once() {
        let stats = sample().statistics_cumulative(KeyType::Filename);
        let lib = stats
            .iter()
            .find(|s| s.traceback.to_string() == "src/lib.rs:0")
            .unwrap();
        assert_eq!((lib.size, lib.count), (3072, 3));
        let main = stats
            .iter()
            .find(|s| s.traceback.to_string() == "src/main.rs:0")
            .unwrap();
        assert_eq!((main.size, main.count), (3072, 3));
    }
}
