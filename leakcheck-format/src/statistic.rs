//! Grouped statistics of a snapshot and the difference of two snapshots.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;

use crate::traceback::{Frame, FrameKind, Traceback};

/// How traces are grouped into statistics (tracemalloc's `key_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// By the file of the charged frame.
    Filename,
    /// By the file and line of the charged frame.
    Lineno,
    /// By the whole call path.
    Traceback,
}

/// Live memory of one group of traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistic {
    /// The group's key as a traceback: one frame for `Filename` (line 0) and
    /// `Lineno`, the whole call path for `Traceback`.
    pub traceback: Traceback,
    /// Live bytes.
    pub size: u64,
    /// Live blocks.
    pub count: u64,
}

/// The change of one group between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatisticDiff {
    /// The group's key, as in [`Statistic::traceback`].
    pub traceback: Traceback,
    /// Live bytes in the newer snapshot.
    pub size: u64,
    /// Bytes added since the older snapshot (negative when freed).
    pub size_diff: i64,
    /// Live blocks in the newer snapshot.
    pub count: u64,
    /// Blocks added since the older snapshot.
    pub count_diff: i64,
}

fn kib(bytes: f64) -> f64 {
    bytes / 1024.0
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.1} KiB  count {:>6}  {}",
            kib(self.size as f64),
            self.count,
            self.traceback
        )
    }
}

impl fmt::Display for StatisticDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:+.1} KiB  count {:>6}  {}",
            kib(self.size_diff as f64),
            self.count_diff,
            self.traceback
        )
    }
}

/// A site as a series groups it: its file and line, and for a frame
/// without a source file (a build without line tables) its function, which
/// is then all that tells sites apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SiteKey {
    pub file: String,
    pub line: u32,
    pub function: String,
}

impl SiteKey {
    pub fn of(frame: &Frame) -> SiteKey {
        SiteKey {
            file: frame.file.clone(),
            line: frame.line,
            function: if frame.has_source() {
                String::new()
            } else {
                frame.function.clone()
            },
        }
    }
}

/// Of the call paths in `paths` (a diff by [`KeyType::Traceback`]) charged
/// to the site `key`, the one that retained the most.
pub fn heaviest_path_at<'a>(
    paths: &'a [StatisticDiff],
    key: &SiteKey,
) -> Option<&'a StatisticDiff> {
    paths
        .iter()
        .filter(|d| {
            d.traceback
                .charged_frame()
                .is_some_and(|f| SiteKey::of(f) == *key)
        })
        .max_by_key(|d| d.size_diff)
}

/// Of the call paths in `paths` (a diff by [`KeyType::Traceback`]) charged
/// to `file:line`, the one that retained the most.
pub fn heaviest_path<'a>(
    paths: &'a [StatisticDiff],
    file: &str,
    line: u32,
) -> Option<&'a StatisticDiff> {
    paths
        .iter()
        .filter(|d| {
            d.traceback
                .charged_frame()
                .is_some_and(|f| f.file == file && f.line == line)
        })
        .max_by_key(|d| d.size_diff)
}

/// The grouping key of one trace.
pub fn group_key(traceback: &Traceback, key: KeyType) -> Traceback {
    match key {
        KeyType::Traceback => traceback.clone(),
        KeyType::Lineno => match traceback.charged_frame() {
            Some(frame) => Traceback::new(vec![frame.clone()]),
            None => Traceback::default(),
        },
        KeyType::Filename => match traceback.charged_frame() {
            Some(frame) => Traceback::new(vec![file_only(frame)]),
            None => Traceback::default(),
        },
    }
}

fn file_only(frame: &Frame) -> Frame {
    Frame {
        file: frame.file.clone(),
        line: 0,
        function: String::new(),
        kind: frame.kind,
    }
}

/// The identity of one frame in a group: file and line only, so two
/// monomorphised copies of one generic line stay one line; a frame without
/// a source file (no line tables) adds its function, which is then all
/// that tells two sites apart.
type FrameIdentity = (String, u32, FrameKind, String);

/// Identity of a group (see [`FrameIdentity`]).
fn identity(key: &Traceback, key_type: KeyType) -> Vec<FrameIdentity> {
    let frames = match key_type {
        KeyType::Traceback => key.frames(),
        _ => &key.frames()[..key.len().min(1)],
    };
    frames
        .iter()
        .map(|f| {
            let function = if f.has_source() || key_type == KeyType::Filename {
                String::new()
            } else {
                f.function.clone()
            };
            (f.file.clone(), f.line, f.kind, function)
        })
        .collect()
}

/// Groups `(traceback, size, count)` triples by key.
pub fn group<'a>(
    traces: impl Iterator<Item = (&'a Traceback, u64, u64)>,
    key_type: KeyType,
) -> Vec<Statistic> {
    let mut index: HashMap<Vec<FrameIdentity>, usize> = HashMap::new();
    let mut stats: Vec<Statistic> = Vec::new();
    for (traceback, size, count) in traces {
        let key = group_key(traceback, key_type);
        let id = identity(&key, key_type);
        let slot = *index.entry(id).or_insert_with(|| {
            stats.push(Statistic {
                traceback: key,
                size: 0,
                count: 0,
            });
            stats.len() - 1
        });
        stats[slot].size += size;
        stats[slot].count += count;
    }
    sort_statistics(&mut stats);
    stats
}

/// Biggest first, then by count, then by key for a stable order.
pub fn sort_statistics(stats: &mut [Statistic]) {
    stats.sort_by(|a, b| {
        (Reverse(a.size), Reverse(a.count), &a.traceback).cmp(&(
            Reverse(b.size),
            Reverse(b.count),
            &b.traceback,
        ))
    });
}

/// The difference of two grouped statistics, sorted by |size_diff| desc.
pub fn diff(new: Vec<Statistic>, old: Vec<Statistic>, key_type: KeyType) -> Vec<StatisticDiff> {
    let mut old_index: HashMap<Vec<FrameIdentity>, Statistic> = old
        .into_iter()
        .map(|s| (identity(&s.traceback, key_type), s))
        .collect();
    let mut diffs: Vec<StatisticDiff> = Vec::with_capacity(new.len());
    for stat in new {
        let before = old_index.remove(&identity(&stat.traceback, key_type));
        let (old_size, old_count) = before.map_or((0, 0), |s| (s.size, s.count));
        diffs.push(StatisticDiff {
            size_diff: stat.size as i64 - old_size as i64,
            count_diff: stat.count as i64 - old_count as i64,
            traceback: stat.traceback,
            size: stat.size,
            count: stat.count,
        });
    }
    for (_, stat) in old_index {
        diffs.push(StatisticDiff {
            traceback: stat.traceback,
            size: 0,
            size_diff: -(stat.size as i64),
            count: 0,
            count_diff: -(stat.count as i64),
        });
    }
    diffs.sort_by(|a, b| {
        (
            Reverse(a.size_diff.unsigned_abs()),
            Reverse(a.size),
            Reverse(a.count_diff.unsigned_abs()),
            Reverse(a.count),
            &a.traceback,
        )
            .cmp(&(
                Reverse(b.size_diff.unsigned_abs()),
                Reverse(b.size),
                Reverse(b.count_diff.unsigned_abs()),
                Reverse(b.count),
                &b.traceback,
            ))
    });
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(file: &str, line: u32, kind: FrameKind) -> Frame {
        Frame {
            file: file.into(),
            line,
            function: format!("f{line}"),
            kind,
        }
    }

    #[test]
    fn display_matches_tracemalloc_style() {
        let d = StatisticDiff {
            traceback: Traceback::new(vec![frame("src/lib.rs", 10, FrameKind::Workspace)]),
            size: 10_240_000,
            size_diff: 10_240_000,
            count: 10_000,
            count_diff: 10_000,
        };
        assert_eq!(d.to_string(), "+10000.0 KiB  count  10000  src/lib.rs:10");
    }

    #[test]
    fn lineno_skips_std_frames() {
        let tb = Traceback::new(vec![
            frame("src/main.rs", 3, FrameKind::Workspace),
            frame("src/lib.rs", 10, FrameKind::Workspace),
            frame("alloc/src/vec/mod.rs", 500, FrameKind::Std),
        ]);
        let stats = group([(&tb, 100, 1), (&tb, 50, 2)].into_iter(), KeyType::Lineno);
        assert_eq!(stats.len(), 1);
        assert_eq!(stats[0].traceback.to_string(), "src/lib.rs:10");
        assert_eq!((stats[0].size, stats[0].count), (150, 3));
    }

    #[test]
    fn diff_keeps_freed_groups_and_sorts_by_magnitude() {
        let a = Traceback::new(vec![frame("a.rs", 1, FrameKind::Workspace)]);
        let b = Traceback::new(vec![frame("b.rs", 2, FrameKind::Workspace)]);
        let old = group([(&a, 1000, 1)].into_iter(), KeyType::Lineno);
        let new = group([(&b, 10, 1)].into_iter(), KeyType::Lineno);
        let d = diff(new, old, KeyType::Lineno);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].size_diff, -1000);
        assert_eq!(d[1].size_diff, 10);
    }
}
