//! What `cargo leakcheck diff` says beside the sites: whether the counts
//! are estimates (a sampled run), and the heap that leakcheck counted
//! against the process's resident memory and its allocator's own count
//! over the series, so that "the heap is flat but RSS grows" is answered
//! (fragmentation, or memory that is not the heap's) rather than asked.

use std::fmt::Write;

use leakcheck_format::{ProcessMemory, Sampling};

use super::finding::Input;
use crate::render::units::bytes;

/// Growth below this share of the first value is "flat".
const FLAT: f64 = 0.05;

/// One snapshot's three views of memory.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    uptime_ms: u64,
    heap: u64,
    rss: u64,
    allocator: Option<u64>,
}

fn points(input: &Input) -> Vec<Point> {
    input
        .snapshots
        .iter()
        .zip(&input.totals)
        .filter_map(|(snapshot, &(heap, _))| {
            let origin = snapshot.origin()?;
            let ProcessMemory {
                rss_bytes,
                allocator_in_use_bytes,
                ..
            } = origin.memory.clone()?;
            Some(Point {
                uptime_ms: origin.uptime_ms,
                heap,
                rss: rss_bytes,
                allocator: allocator_in_use_bytes,
            })
        })
        .collect()
}

/// The sampling of the series, if its snapshots were sampled (the last
/// one's: a series is one process's, sampled or not from its start).
fn sampling(input: &Input) -> Option<Sampling> {
    input.snapshots.iter().rev().find_map(|s| s.sampling())
}

/// `estimated, 1 sample per 512 KiB and at least 1 in 1024 allocations`
/// for a sampled series; `None` for exact counts.
pub(super) fn estimated(input: &Input) -> Option<String> {
    sampling(input).map(|s| s.describe())
}

/// The lines printed after the report: the estimate note, and heap against
/// RSS when the snapshots recorded it.
pub(super) fn notes(input: &Input) -> String {
    let mut out = String::new();
    if let Some(sampling) = sampling(input) {
        let _ = writeln!(
            out,
            "note: sizes and counts are {} (a sampled run): a site with few samples can be \
             off by more than its rate suggests",
            sampling.describe()
        );
    }
    let points = points(input);
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return out;
    };
    if points.len() < 2 {
        return out;
    }
    let change = |a: u64, b: u64| {
        format!(
            "{} → {} ({})",
            bytes(a as i64),
            bytes(b as i64),
            signed(b as i64 - a as i64)
        )
    };
    let _ = write!(
        out,
        "memory over {:.1} s: heap counted {}, resident (RSS) {}",
        last.uptime_ms.saturating_sub(first.uptime_ms) as f64 / 1000.0,
        change(first.heap, last.heap),
        change(first.rss, last.rss)
    );
    if let (Some(a), Some(b)) = (first.allocator, last.allocator) {
        let _ = write!(out, ", glibc in use {}", change(a, b));
    }
    out.push('\n');
    if let Some(reading) = reading(first, last) {
        let _ = writeln!(out, "  {reading}");
    }
    out
}

/// `+1.2 MiB`, `-3.0 KiB`, `+0 B`.
fn signed(n: i64) -> String {
    if n >= 0 {
        format!("+{}", bytes(n))
    } else {
        bytes(n)
    }
}

fn grew(a: u64, b: u64) -> bool {
    b as f64 > a as f64 * (1.0 + FLAT) + 256.0 * 1024.0
}

/// What the three views say together, when one of them grew.
fn reading(first: &Point, last: &Point) -> Option<&'static str> {
    let heap = grew(first.heap, last.heap);
    let rss = grew(first.rss, last.rss);
    let allocator = match (first.allocator, last.allocator) {
        (Some(a), Some(b)) => Some(grew(a, b)),
        _ => None,
    };
    match (heap, rss, allocator) {
        (true, _, _) => None,
        (false, true, Some(true)) => Some(
            "the heap leakcheck counts is flat, but the C allocator's is not: memory is \
             allocated where leakcheck does not count it (C code: try `--native`; untracked \
             threads or blocks)",
        ),
        (false, true, Some(false)) => Some(
            "the heap is flat and so is the allocator's count, but RSS grows: the allocator \
             keeps freed memory (fragmentation; glibc: try MALLOC_ARENA_MAX=2 or \
             malloc_trim), or memory is mapped outside malloc (mmap, thread stacks)",
        ),
        (false, true, None) => Some(
            "the heap is flat but RSS grows: freed memory the allocator keeps \
             (fragmentation), or memory mapped outside the heap (mmap, thread stacks)",
        ),
        (false, false, _) => None,
    }
}

/// The same, for the JSON report: `"estimated"` (the rate, when sampled)
/// and `"memory"` (each snapshot's heap, RSS and allocator count).
pub(super) fn to_json(input: &Input) -> (serde_json::Value, serde_json::Value) {
    let estimated = match sampling(input) {
        Some(s) => serde_json::json!({
            "mean_bytes": s.mean_bytes,
            "min_one_in": s.min_one_in,
        }),
        None => serde_json::Value::Null,
    };
    let memory = points(input)
        .iter()
        .map(|p| {
            serde_json::json!({
                "uptime_ms": p.uptime_ms,
                "heap_bytes": p.heap,
                "rss_bytes": p.rss,
                "allocator_in_use_bytes": p.allocator,
            })
        })
        .collect::<Vec<_>>();
    (estimated, memory.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(heap: u64, rss: u64, allocator: Option<u64>) -> Point {
        Point {
            uptime_ms: 0,
            heap,
            rss,
            allocator,
        }
    }

    #[test]
    fn the_three_views_read_together() {
        const M: u64 = 1 << 20;
        let start = point(10 * M, 40 * M, Some(12 * M));
        // The heap grew: the sites say why; nothing more to add.
        assert_eq!(reading(&start, &point(20 * M, 60 * M, Some(22 * M))), None);
        // Heap flat, glibc's count up: allocations leakcheck did not see.
        assert!(
            reading(&start, &point(10 * M, 60 * M, Some(30 * M)))
                .unwrap()
                .contains("--native")
        );
        // Both flat, RSS up: fragmentation or memory outside malloc.
        assert!(
            reading(&start, &point(10 * M, 60 * M, Some(12 * M)))
                .unwrap()
                .contains("fragmentation")
        );
        assert!(
            reading(&start, &point(10 * M, 60 * M, None))
                .unwrap()
                .contains("fragmentation")
        );
        // Nothing grew.
        assert_eq!(reading(&start, &point(10 * M, 41 * M, Some(12 * M))), None);
    }
}
