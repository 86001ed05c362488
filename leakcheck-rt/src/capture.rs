//! `take_snapshot`: the live blocks per stack, symbolised.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::alloc::{self, Guard};
use crate::snapshot::{Snapshot, SnapshotOrigin, Trace};
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
    // The time of the counts, not of the symbolising that follows.
    let origin = origin_now();
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
    Snapshot::from_traces(traces, limit).with_origin(origin)
}

/// This process and the time, for the snapshot being taken now.
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
        seq: SEQ.fetch_add(1, Ordering::Relaxed) + 1,
        uptime_ms: first.elapsed().as_millis() as u64,
        taken_at_ms: unix_ms(),
    }
}
