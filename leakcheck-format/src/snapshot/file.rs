//! The snapshot file: a snapshot's file form (each distinct frame stored
//! once, traces as lists of frame numbers), built a trace at a time, and
//! [`Snapshot`]s and [`TraceTable`]s written to and read from it.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::model::{Snapshot, SnapshotOrigin};
use super::table::{TableTrace, TraceTable};
use crate::file_format::{self, FileError, FileKind, SNAPSHOT_TAG, SNAPSHOT_VERSION, corrupt};
use crate::json;
use crate::traceback::{Frame, Traceback};

#[derive(Debug, Serialize, Deserialize)]
struct FileTrace {
    size: u64,
    count: u64,
    frames: Vec<u32>,
}

/// A snapshot as the file format holds it: frames stored once, traces as
/// lists of frame indices. Session records embed it as it is.
#[derive(Debug, Serialize, Deserialize)]
pub struct FileSnapshot {
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
#[derive(Debug, Default)]
pub struct FileBuilder {
    frame_ids: HashMap<Frame, u32>,
    frames: Vec<Frame>,
    traces: Vec<FileTrace>,
}

impl FileBuilder {
    /// Adds the trace of `size` bytes in `count` blocks at `traceback`.
    pub fn add(&mut self, traceback: &Traceback, size: u64, count: u64) {
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
    pub fn finish(self, traceback_limit: usize, origin: Option<SnapshotOrigin>) -> FileSnapshot {
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

/// A snapshot written to and read from its file.
impl Snapshot {
    /// Writes the snapshot as versioned JSON. A regular file (or a new
    /// path) is replaced atomically: a reader never sees half a file. A
    /// symlink, FIFO or device (`/dev/stdout`) is written through, never
    /// replaced.
    pub fn dump(&self, path: impl AsRef<Path>) -> Result<(), FileError> {
        file_format::write(FileKind::Snapshot, path.as_ref(), self.to_json())
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
    #[doc(hidden)]
    pub fn to_file(&self) -> FileSnapshot {
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
    #[doc(hidden)]
    pub fn from_file(
        file: FileSnapshot,
        kind: FileKind,
        origin: &str,
    ) -> Result<Snapshot, FileError> {
        TraceTable::from_file(file, kind, origin).map(|table| table.to_snapshot())
    }
}

/// A table written to and read from a snapshot's file form.
impl TraceTable {
    /// The table in its file form.
    #[doc(hidden)]
    pub fn to_file(&self) -> FileSnapshot {
        let mut file = FileBuilder::default();
        for trace in self.iter() {
            file.add(&trace.traceback, trace.size, trace.count);
        }
        file.finish(self.traceback_limit, self.origin.clone())
    }

    /// The table of a file form, checking its format, version and frame
    /// indices; `kind` is the file that holds it (a session record embeds
    /// snapshots) and `origin` names the input in errors.
    #[doc(hidden)]
    pub fn from_file(
        file: FileSnapshot,
        kind: FileKind,
        origin: &str,
    ) -> Result<TraceTable, FileError> {
        let corrupt = |reason: String| corrupt(kind, origin, reason);
        if file.format != SNAPSHOT_TAG {
            return Err(corrupt("not a leakcheck snapshot".into()));
        }
        if file.version > SNAPSHOT_VERSION {
            return Err(FileError::Version {
                kind,
                origin: origin.to_owned(),
                found: file.version.into(),
                supported: SNAPSHOT_VERSION,
            });
        }
        if file.version == 0 {
            return Err(corrupt("missing or invalid format version".into()));
        }
        let frames = file.frames.len();
        let traces = file
            .traces
            .into_iter()
            .map(|t| match t.frames.iter().find(|&&i| i as usize >= frames) {
                Some(i) => Err(corrupt(format!("frame index {i} is out of range"))),
                None => Ok(TableTrace {
                    size: t.size,
                    count: t.count,
                    frames: t.frames.into_boxed_slice(),
                }),
            })
            .collect::<Result<Vec<_>, FileError>>()?;
        // No process holds 2^63 bytes or blocks: a total past that is a
        // hand-edited file, and would overflow the sums and differences of
        // statistics and comparisons.
        let total = |what: &str, of: fn(&TableTrace) -> u64| {
            traces
                .iter()
                .try_fold(0u64, |sum, t| sum.checked_add(of(t)))
                .filter(|&sum| i64::try_from(sum).is_ok())
                .map(|_| ())
                .ok_or_else(|| corrupt(format!("its {what} add up to more than 2^63 - 1")))
        };
        total("sizes", |t| t.size)?;
        total("block counts", |t| t.count)?;
        Ok(TraceTable {
            frames: file.frames,
            traces,
            traceback_limit: file.traceback_limit,
            origin: file.origin,
        })
    }
}

/// A table of a snapshot's traces, through the file form that stores
/// each frame once.
impl From<&Snapshot> for TraceTable {
    fn from(snapshot: &Snapshot) -> TraceTable {
        let file = snapshot.to_file();
        TraceTable {
            frames: file.frames,
            traces: file
                .traces
                .into_iter()
                .map(|t| TableTrace {
                    size: t.size,
                    count: t.count,
                    frames: t.frames.into_boxed_slice(),
                })
                .collect(),
            traceback_limit: file.traceback_limit,
            origin: file.origin,
        }
    }
}

impl From<Snapshot> for TraceTable {
    fn from(snapshot: Snapshot) -> TraceTable {
        TraceTable::from(&snapshot)
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::super::model::Trace;
    use super::*;
    use crate::statistic::KeyType;
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

#[cfg(test)]
mod table_tests {
    use super::super::model::Trace;
    use super::*;
    use crate::traceback::FrameKind;

    fn frame(line: u32) -> Frame {
        Frame {
            file: "src/lib.rs".into(),
            line,
            function: "m::f".into(),
            kind: FrameKind::Workspace,
        }
    }

    fn sample() -> Snapshot {
        let trace = |lines: &[u32], size| Trace {
            traceback: Traceback::new(lines.iter().map(|&l| frame(l)).collect()),
            size,
            count: 1,
        };
        Snapshot::from_traces(
            vec![
                trace(&[1, 2, 3], 64),
                trace(&[1, 2, 4], 32),
                trace(&[1, 5], 16),
            ],
            25,
        )
    }

    #[test]
    fn holds_each_distinct_frame_once_and_gives_back_the_traces() {
        let snapshot = sample();
        let table = TraceTable::from(&snapshot);
        assert_eq!(table.frames.len(), 5);
        assert_eq!(table.len(), 3);
        assert_eq!(table.iter().collect::<Vec<_>>(), snapshot.traces());
        assert_eq!(table.to_snapshot(), snapshot);
        let back = TraceTable::from_file(table.to_file(), FileKind::Snapshot, "data").unwrap();
        assert_eq!(back, table);
    }

    #[test]
    fn tables_of_the_same_traces_are_equal_whatever_their_frame_numbers() {
        let table = TraceTable::from(&sample());
        let mut renumbered = table.clone();
        renumbered.frames.reverse();
        let last = renumbered.frames.len() as u32 - 1;
        for t in &mut renumbered.traces {
            for i in t.frames.iter_mut() {
                *i = last - *i;
            }
        }
        assert_eq!(renumbered, table);
        renumbered.traces[0].size += 1;
        assert_ne!(renumbered, table);
    }
}
