//! A snapshot's traces as its file holds them, for snapshots too large to
//! hold as [`Trace`]s: a session with 100,000 live call stacks has
//! millions of frames but a few hundred distinct ones.

use std::fmt;

use super::model::{Snapshot, SnapshotOrigin, Trace};
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
    pub(super) frames: Vec<Frame>,
    pub(super) traces: Vec<TableTrace>,
    pub(super) traceback_limit: usize,
    pub(super) origin: Option<SnapshotOrigin>,
}

#[derive(Clone)]
pub(super) struct TableTrace {
    pub(super) size: u64,
    pub(super) count: u64,
    pub(super) frames: Box<[u32]>,
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
