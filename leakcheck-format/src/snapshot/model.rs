//! [`Snapshot`] and [`Trace`], their statistics and diffs.

use serde::{Deserialize, Serialize};

use crate::filter::{self, Filter};
use crate::statistic::{self, KeyType, Statistic, StatisticDiff};
use crate::traceback::Traceback;

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
    pub(super) traces: Vec<Trace>,
    pub(super) traceback_limit: usize,
    pub(super) origin: Option<SnapshotOrigin>,
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
    /// Set when tracking was sampled: the snapshot's sizes and counts are
    /// then unbiased estimates, not exact counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Sampling>,
    /// The process's memory as the system and its allocator saw it when the
    /// snapshot was taken; absent where it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<ProcessMemory>,
}

/// How a sampled snapshot's blocks were picked. A block of `s` bytes is
/// sampled with probability `p(s) = 1 − e^(−s/mean_bytes) · (1 − 1/min_one_in)`,
/// and counts as `1/p(s)` blocks and `s/p(s)` bytes. `min_one_in` 0 is no
/// floor (a pprof profile's sampling, by bytes alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sampling {
    /// One sample per this many allocated bytes, on average.
    pub mean_bytes: u64,
    /// And at least one in this many allocations, whatever their size; 0
    /// for none.
    pub min_one_in: u64,
}

impl Sampling {
    /// The probability that a block of `size` bytes is sampled.
    pub fn probability(&self, size: u64) -> f64 {
        let by_bytes = (-(size as f64) / self.mean_bytes.max(1) as f64).exp();
        let by_count = match self.min_one_in {
            0 => 1.0,
            n => 1.0 - 1.0 / n as f64,
        };
        (1.0 - by_bytes * by_count).clamp(f64::MIN_POSITIVE, 1.0)
    }

    /// `"estimated, 1 sample per 512 KiB and at least 1 in 1024 allocations"`.
    pub fn describe(&self) -> String {
        let per = match self.mean_bytes {
            b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
            b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
            b => format!("{b} B"),
        };
        match self.min_one_in {
            0 => format!("estimated, 1 sample per {per}"),
            n => format!("estimated, 1 sample per {per} and at least 1 in {n} allocations"),
        }
    }
}

/// The process's memory at one moment, beside the heap that leakcheck counts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProcessMemory {
    /// Resident set size (`VmRSS`), in bytes.
    pub rss_bytes: u64,
    /// The allocator's own count of the bytes it has handed out and not
    /// had back (glibc: `mallinfo2`'s `uordblks + hblkhd`), where leakcheck
    /// can read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocator_in_use_bytes: Option<u64>,
    /// Which allocator that count is from (`"glibc"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocator: Option<String>,
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

    /// The same snapshot, marked as taken by `origin` (leakcheck-rt's
    /// `take_snapshot`).
    #[doc(hidden)]
    pub fn with_origin(self, origin: SnapshotOrigin) -> Self {
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

    /// How the snapshot was sampled; `None` for exact counts.
    pub fn sampling(&self) -> Option<Sampling> {
        self.origin.as_ref().and_then(|o| o.sampling)
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

    /// What grew since `old`, call path by call path: a trace for every
    /// call path that holds more bytes or blocks than in `old`, of the
    /// bytes and blocks added (0 where one of them shrank). Marked as this
    /// snapshot is (`cargo leakcheck diff --pprof` writes it as a profile).
    pub fn growth_since(&self, old: &Snapshot) -> Snapshot {
        let traces = self
            .compare_to(old, KeyType::Traceback)
            .into_iter()
            .filter(|d| d.size_diff > 0 || d.count_diff > 0)
            .map(|d| Trace {
                traceback: d.traceback,
                size: d.size_diff.max(0) as u64,
                count: d.count_diff.max(0) as u64,
            })
            .collect();
        Snapshot {
            traces,
            traceback_limit: self.traceback_limit,
            origin: self.origin.clone(),
        }
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
}
