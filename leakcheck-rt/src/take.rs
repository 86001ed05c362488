//! `take_snapshot`: the live blocks per stack, symbolised.
//!
//! Counting and symbolising are two steps: the counts are taken at once
//! (summing the counter tables), the symbolisation (which can take seconds
//! the first time, while debug info is loaded) comes after, so a measured
//! loop can take its counts without pausing and symbolise them later.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::symbolize;
use leakcheck_engine::{self as alloc, Guard, RawTrace};
use leakcheck_format::snapshot::{FileBuilder, FileSnapshot, Snapshot, SnapshotOrigin, Trace};

/// A snapshot of the traced blocks that are live now (tracemalloc's
/// `take_snapshot`). The snapshot's own work is not traced.
///
/// # Panics
///
/// If tracing is off: call [`start`](crate::start) first.
pub fn take_snapshot() -> Snapshot {
    assert!(
        alloc::is_tracing(),
        "leakcheck_rt::take_snapshot: tracing is off; call leakcheck_rt::start(nframe) first"
    );
    symbolise(&raw_counts().with_memory())
}

/// The file form of a snapshot of the live blocks now, the same as
/// `take_snapshot().to_file()` but without its check that tracing is on
/// (the session writer runs after tracing may have stopped), built without holding every traceback: each
/// is symbolised, numbered into the file's frame table and dropped (a
/// session with 100,000 live stacks has millions of frames, and a few
/// hundred distinct ones).
pub(crate) fn file_snapshot_now() -> FileSnapshot {
    let raw = raw_counts().with_memory();
    let _guard = Guard::enter();
    warn_if_overflowed();
    let stacks: Vec<u32> = raw.traces.iter().map(|t| t.stack).collect();
    let mut file = FileBuilder::default();
    let mut counts = raw.traces.iter();
    symbolize::each_traceback(&stacks, raw.limit, |traceback| {
        if let Some(t) = counts.next() {
            file.add(traceback, t.size, t.count);
        }
    });
    file.finish(raw.limit, Some(raw.origin))
}

/// The live blocks per interned stack, not yet symbolised.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawCounts {
    traces: Vec<RawTrace>,
    limit: usize,
    /// The process and the time of the counts, not of the symbolising.
    origin: SnapshotOrigin,
}

impl RawCounts {
    /// The same counts, with the process's memory now in their origin:
    /// for the snapshots a user takes or dumps, not for the leak-test and
    /// session checkpoints, which never show it (reading it opens a file
    /// and takes every arena's lock).
    fn with_memory(mut self) -> RawCounts {
        // The tracker's own work: its allocations are untracked, and never
        // the inner allocator's.
        let _guard = Guard::enter();
        self.origin.memory = crate::sampled::process_memory();
        self
    }

    /// The stacks whose live blocks differ between `base` and `self`, as
    /// counts in each: a diff of the two pairs is the diff of the whole
    /// snapshots without the stacks that did not change (which add nothing
    /// to any diff), so only those stacks need symbolising.
    pub(crate) fn changed_since(&self, base: &RawCounts) -> (RawCounts, RawCounts) {
        let _guard = Guard::enter();
        let before: HashMap<u32, &RawTrace> = base.traces.iter().map(|t| (t.stack, t)).collect();
        let now: HashMap<u32, &RawTrace> = self.traces.iter().map(|t| (t.stack, t)).collect();
        let same = |a: &RawTrace, b: &RawTrace| a.size == b.size && a.count == b.count;
        let restrict = |counts: &RawCounts, keep: &dyn Fn(&RawTrace) -> bool| RawCounts {
            traces: counts.traces.iter().filter(|t| keep(t)).copied().collect(),
            limit: counts.limit,
            origin: counts.origin.clone(),
        };
        let after = restrict(self, &|t| !before.get(&t.stack).is_some_and(|b| same(b, t)));
        let base = restrict(base, &|t| !now.get(&t.stack).is_some_and(|n| same(n, t)));
        (after, base)
    }
}

/// The live blocks per stack now: cheap, no symbolisation.
pub(crate) fn raw_counts() -> RawCounts {
    let _guard = Guard::enter();
    let mut traces = alloc::collect();
    symbolize::retain_rust_allocations(&mut traces);
    RawCounts {
        traces,
        limit: alloc::traceback_limit(),
        origin: origin_now(),
    }
}

/// The snapshot of counts taken earlier (stacks stay valid for the life of
/// the process).
pub(crate) fn symbolise(raw: &RawCounts) -> Snapshot {
    let _guard = Guard::enter();
    warn_if_overflowed();
    let stacks: Vec<u32> = raw.traces.iter().map(|t| t.stack).collect();
    let tracebacks = symbolize::tracebacks_of(&stacks, raw.limit);
    let traces = raw
        .traces
        .iter()
        .zip(tracebacks)
        .map(|(t, traceback)| Trace {
            traceback,
            size: t.size,
            count: t.count,
        })
        .collect();
    Snapshot::from_traces(traces, raw.limit).with_origin(raw.origin.clone())
}

/// This process and the time, for the counts being taken now.
fn origin_now() -> SnapshotOrigin {
    static FIRST: OnceLock<(Instant, u64)> = OnceLock::new();
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let unix_ms = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    };
    let &(first, process_started_ms) = FIRST.get_or_init(|| (Instant::now(), unix_ms()));
    SnapshotOrigin {
        leakcheck: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        process_started_ms,
        seq: SEQ.fetch_add(1, Relaxed) + 1,
        uptime_ms: first.elapsed().as_millis() as u64,
        taken_at_ms: unix_ms(),
        sampling: crate::sampled::sampling_now(),
        memory: None,
    }
}

/// The warning, in one line, that some call stacks were not recorded.
pub(crate) fn overflow_warning() -> Option<String> {
    alloc::overflowed().then(|| {
        format!(
            "the stack table is full ({} distinct call stacks): blocks from newer stacks are \
             counted under `{}`, not at their line",
            alloc::STACK_CAPACITY,
            symbolize::OVERFLOW_FILE
        )
    })
}

/// Says once on stderr that stacks were not recorded (never from `alloc`:
/// the allocator only sets a flag).
fn warn_if_overflowed() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if let Some(warning) = overflow_warning()
        && !WARNED.swap(true, Relaxed)
    {
        eprintln!("leakcheck: warning: {warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(traces: &[(u32, u64, u64)]) -> RawCounts {
        RawCounts {
            traces: traces
                .iter()
                .map(|&(stack, size, count)| RawTrace {
                    stack,
                    size,
                    count,
                    samples: count,
                })
                .collect(),
            limit: 25,
            origin: SnapshotOrigin::default(),
        }
    }

    fn stacks(raw: &RawCounts) -> Vec<(u32, u64, u64)> {
        let mut out: Vec<_> = raw
            .traces
            .iter()
            .map(|t| (t.stack, t.size, t.count))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn only_the_stacks_that_changed_are_kept_on_both_sides() {
        // 2 unchanged; 3 grew; 4 is new; 5 was freed; 6 kept its bytes in
        // more blocks.
        let base = counts(&[(2, 64, 1), (3, 100, 2), (5, 32, 1), (6, 96, 1)]);
        let now = counts(&[(2, 64, 1), (3, 300, 5), (4, 8, 1), (6, 96, 3)]);
        let (after, before) = now.changed_since(&base);
        assert_eq!(stacks(&after), [(3, 300, 5), (4, 8, 1), (6, 96, 3)]);
        assert_eq!(stacks(&before), [(3, 100, 2), (5, 32, 1), (6, 96, 1)]);
        assert_eq!((after.limit, before.limit), (25, 25));
        let (after, before) = base.changed_since(&base);
        assert!(after.traces.is_empty() && before.traces.is_empty());
    }
}
