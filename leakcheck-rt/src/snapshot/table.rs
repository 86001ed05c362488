//! A snapshot's traces as its file holds them, for snapshots too large to
//! hold as [`Trace`]s: a session with 100,000 live call stacks has
//! millions of frames but a few hundred distinct ones.

use std::fmt;

use super::{FileBuilder, FileSnapshot, Snapshot, SnapshotOrigin, Trace};
use crate::file_format::{FileError, FileKind, corrupt};
use crate::traceback::{Frame, Traceback};

/// The traces of a snapshot with each distinct frame stored once and each
/// trace's call path as numbers into those frames: a few bytes a frame,
/// where a [`Snapshot`]'s [`Trace`]s hold every frame's file and function
/// as strings of their own. [`TraceTable::iter`] gives the traces one at a
/// time, each built when it is reached.
///
/// Two tables are equal when their traces are, in order, whatever the
/// numbering of their frames.
#[derive(Clone, Default)]
pub struct TraceTable {
    frames: Vec<Frame>,
    traces: Vec<TableTrace>,
    traceback_limit: usize,
    origin: Option<SnapshotOrigin>,
}

#[derive(Clone)]
struct TableTrace {
    size: u64,
    count: u64,
    frames: Box<[u32]>,
}

impl TraceTable {
    /// The number of traces.
    pub fn len(&self) -> usize {
        self.traces.len()
    }

    /// `true` when no block was live.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// The traces in order, each built as it is reached.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Trace> + '_ {
        self.traces.iter().map(|t| Trace {
            traceback: Traceback::new(
                t.frames
                    .iter()
                    .map(|&i| self.frames[i as usize].clone())
                    .collect(),
            ),
            size: t.size,
            count: t.count,
        })
    }

    /// The number of frames kept per allocation.
    pub fn traceback_limit(&self) -> usize {
        self.traceback_limit
    }

    /// Which process took the snapshot and when, if known.
    pub fn origin(&self) -> Option<&SnapshotOrigin> {
        self.origin.as_ref()
    }

    /// The whole snapshot, every trace built.
    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            traces: self.iter().collect(),
            traceback_limit: self.traceback_limit,
            origin: self.origin.clone(),
        }
    }

    /// The table in its file form.
    pub(crate) fn to_file(&self) -> FileSnapshot {
        let mut file = FileBuilder::default();
        for trace in self.iter() {
            file.add(&trace.traceback, trace.size, trace.count);
        }
        file.finish(self.traceback_limit, self.origin.clone())
    }

    /// The table of a file form, checking its format, version and frame
    /// indices; `kind` is the file that holds it (a session record embeds
    /// snapshots) and `origin` names the input in errors.
    pub(crate) fn from_file(
        file: FileSnapshot,
        kind: FileKind,
        origin: &str,
    ) -> Result<TraceTable, FileError> {
        let corrupt = |reason: String| corrupt(kind, origin, reason);
        if file.format != super::SNAPSHOT_TAG {
            return Err(corrupt("not a leakcheck snapshot".into()));
        }
        if file.version > super::SNAPSHOT_VERSION {
            return Err(FileError::Version {
                kind,
                origin: origin.to_owned(),
                found: file.version.into(),
                supported: super::SNAPSHOT_VERSION,
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

impl PartialEq for TraceTable {
    fn eq(&self, other: &TraceTable) -> bool {
        self.traceback_limit == other.traceback_limit
            && self.origin == other.origin
            && self.len() == other.len()
            && self.iter().eq(other.iter())
    }
}

impl Eq for TraceTable {}

/// Shows the traces, as a [`Snapshot`]'s `Debug` does.
impl fmt::Debug for TraceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceTable")
            .field("traces", &self.iter().collect::<Vec<_>>())
            .field("traceback_limit", &self.traceback_limit)
            .field("origin", &self.origin)
            .finish()
    }
}

#[cfg(test)]
mod tests {
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
