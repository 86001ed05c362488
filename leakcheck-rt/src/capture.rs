//! `take_snapshot`: the live blocks per stack, symbolised.

use crate::alloc::{self, Guard};
use crate::snapshot::{Snapshot, Trace};
use crate::symbolize;

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
    snapshot_now()
}

/// Like [`take_snapshot`], without the check (the session writer runs
/// after tracing may have stopped).
pub(crate) fn snapshot_now() -> Snapshot {
    let _guard = Guard::enter();
    let raw = alloc::collect();
    let stacks: Vec<u32> = raw.iter().map(|t| t.stack).collect();
    let limit = alloc::traceback_limit();
    let tracebacks = symbolize::tracebacks_of(&stacks, limit);
    let traces = raw
        .into_iter()
        .zip(tracebacks)
        .map(|(t, traceback)| Trace {
            traceback,
            size: t.size,
            count: t.count,
        })
        .collect();
    Snapshot::from_traces(traces, limit)
}
