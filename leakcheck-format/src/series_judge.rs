//! The growth verdict over a series of snapshots dumped by a running
//! service.
//!
//! A service has no iteration count, so the series is judged by the time
//! each snapshot was taken: the first snapshot is the baseline, and every
//! site's retained growth since then is judged at the later ones with the
//! rule of `#[leak_test]` (the module docs of its verdict), milliseconds
//! taking the place of calls. A site that keeps growing through the last
//! half of the series is a leak; one that rose and then stayed is a
//! plateau; one that rose and fell fluctuates.
//!
//! A leak grows at two snapshots at least. In a series of three or more,
//! a site whose retained memory rose at one snapshot only (its lower
//! envelope) is a plateau wherever that snapshot falls: one allocation
//! made once, even late, as `stdout`'s buffer set up by the last line a
//! program prints, sets no pace. (A leak test's loop is extended until
//! the rule can tell; a series cannot be, and its next dump, if the site
//! grows again, tells.) A series of two is a comparison, not a verdict.
//!
//! A sampled series (`start_sampled`) counts in steps: each sampled block
//! stands for `1/p(s)` blocks, so one new sample of a bounded cache is a
//! jump of `s/p(s)` bytes. There a site must also have grown by at least
//! [`MIN_SAMPLES`] sampled blocks' worth before it is judged at all:
//! growth worth fewer is left out, as growth under the noise floor is.
//! Where blocks are not counted (jemalloc's profiles count bytes only), a
//! sample's worth is the least any sample stands for, the mean bytes
//! between samples.
//! For a pure leak of `r` bytes a second in blocks of `s` bytes, new
//! samples arrive at `λ = r · p(s) / s` a second, and the verdict comes
//! about when the fifth has: a median of `4.67/λ` seconds and 9 in 10
//! within `8.0/λ` (the wait for five events of a Poisson process), plus up
//! to one dump interval (measured in leakcheck-rt's
//! `tests/sampled_series.rs`).

use std::collections::BTreeMap;

use crate::caller::workspace_caller;
use crate::report::{SiteReport, SiteVerdict};
use crate::snapshot::Snapshot;
use crate::statistic::{self, KeyType, SiteKey, Statistic};
use crate::traceback::{FrameKind, Traceback};
use crate::verdict::{self, Judgement, Point, Thresholds};

/// Why a set of snapshots cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    /// Fewer than two snapshots.
    #[error("failed to compare snapshots: need at least two, got {found}")]
    TooFew {
        /// How many were given.
        found: usize,
    },
    /// A snapshot of a series of three or more has no time.
    #[error(
        "failed to judge snapshots: {name} does not say when it was taken (it was not made by take_snapshot or dump_every)"
    )]
    NoOrigin {
        /// The snapshot.
        name: String,
    },
    /// Two snapshots come from different processes.
    #[error(
        "failed to compare snapshots: {first} and {other} were taken by different processes (pid {first_pid} and pid {other_pid}); compare the dumps of one run"
    )]
    Processes {
        /// The first snapshot.
        first: String,
        /// The one from another process.
        other: String,
        /// The first one's process.
        first_pid: u32,
        /// The other one's process.
        other_pid: u32,
    },
    /// Two snapshots were taken by different versions of leakcheck.
    #[error(
        "failed to compare snapshots: {first} was taken by leakcheck {first_version}, {other} by {other_version}"
    )]
    Versions {
        /// The first snapshot.
        first: String,
        /// The one of another version.
        other: String,
        /// The first one's version.
        first_version: String,
        /// The other one's version.
        other_version: String,
    },
    /// Two snapshots keep a different number of frames per allocation.
    #[error(
        "failed to compare snapshots: {first} keeps {first_nframe} frames per allocation, {other} keeps {other_nframe}"
    )]
    Nframe {
        /// The first snapshot.
        first: String,
        /// The one with another depth.
        other: String,
        /// The first one's frames.
        first_nframe: usize,
        /// The other one's frames.
        other_nframe: usize,
    },
    /// A snapshot was given after one taken later.
    #[error(
        "failed to compare snapshots: {later} was taken after {earlier}, but given before it; give them in the order they were taken"
    )]
    OutOfOrder {
        /// The snapshot given first.
        later: String,
        /// The one given after it, though taken before.
        earlier: String,
    },
    /// One snapshot given twice (or a copy of it): nothing happened
    /// between them.
    #[error(
        "failed to compare snapshots: {first} and {other} are the same snapshot (number {seq} of its process); give snapshots taken at different times"
    )]
    Same {
        /// The snapshot given first.
        first: String,
        /// The one given after it.
        other: String,
        /// Their number in their process.
        seq: u64,
    },
    /// Numbered after the one before it, but with an earlier time: the
    /// file was edited, or is not what it says.
    #[error(
        "failed to compare snapshots: {later} is numbered after {earlier}, but its time since the process's first snapshot ({later_ms} ms) is before that one's ({earlier_ms} ms)"
    )]
    TimeGoesBack {
        /// The snapshot given first.
        earlier: String,
        /// The one given after it.
        later: String,
        /// `uptime_ms` of the first.
        earlier_ms: u64,
        /// `uptime_ms` of the second.
        later_ms: u64,
    },
}

/// Checks that named snapshots can be compared as one series: at least
/// two, of one process, one leakcheck version and one frame depth, in the
/// order they were taken. Two snapshots without a time (made by
/// [`Snapshot::from_traces`]) may still be compared; three or more need it.
pub fn check_series(series: &[(&str, &Snapshot)]) -> Result<(), SeriesError> {
    let Some(&(first_name, first)) = series.first() else {
        return Err(SeriesError::TooFew { found: 0 });
    };
    if series.len() < 2 {
        return Err(SeriesError::TooFew {
            found: series.len(),
        });
    }
    for &(name, snap) in &series[1..] {
        if snap.traceback_limit() != first.traceback_limit() {
            return Err(SeriesError::Nframe {
                first: first_name.to_owned(),
                other: name.to_owned(),
                first_nframe: first.traceback_limit(),
                other_nframe: snap.traceback_limit(),
            });
        }
    }
    let mut previous: Option<(&str, &crate::SnapshotOrigin)> = None;
    for &(name, snap) in series {
        let Some(origin) = snap.origin() else {
            if series.len() > 2 {
                return Err(SeriesError::NoOrigin {
                    name: name.to_owned(),
                });
            }
            continue;
        };
        let Some((prev_name, prev)) = previous else {
            previous = Some((name, origin));
            continue;
        };
        if (prev.pid, prev.process_started_ms) != (origin.pid, origin.process_started_ms) {
            return Err(SeriesError::Processes {
                first: prev_name.to_owned(),
                other: name.to_owned(),
                first_pid: prev.pid,
                other_pid: origin.pid,
            });
        }
        if prev.leakcheck != origin.leakcheck {
            return Err(SeriesError::Versions {
                first: prev_name.to_owned(),
                other: name.to_owned(),
                first_version: prev.leakcheck.clone(),
                other_version: origin.leakcheck.clone(),
            });
        }
        if origin.seq == prev.seq {
            return Err(SeriesError::Same {
                first: prev_name.to_owned(),
                other: name.to_owned(),
                seq: origin.seq,
            });
        }
        if origin.seq < prev.seq {
            return Err(SeriesError::OutOfOrder {
                later: prev_name.to_owned(),
                earlier: name.to_owned(),
            });
        }
        // Two dumps within one millisecond have the same time.
        if origin.uptime_ms < prev.uptime_ms {
            return Err(SeriesError::TimeGoesBack {
                earlier: prev_name.to_owned(),
                later: name.to_owned(),
                earlier_ms: prev.uptime_ms,
                later_ms: origin.uptime_ms,
            });
        }
        previous = Some((name, origin));
    }
    Ok(())
}

/// In a sampled series, the fewest sampled blocks whose growth a site needs
/// before it is judged (see the module docs).
pub const MIN_SAMPLES: f64 = 5.0;

/// The verdict on a series of snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesJudgement {
    /// Milliseconds from the first snapshot to the last.
    pub elapsed_ms: u64,
    /// Snapshots after the first.
    pub intervals: u64,
    /// The sites that grew since the first snapshot, leaks first, then by
    /// retained bytes.
    pub sites: Vec<SeriesSite>,
}

/// One site that grew over the series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSite {
    /// The site as a leak test reports it; `bytes_per_iter` and
    /// `blocks_per_iter` are per snapshot interval.
    pub report: SiteReport,
    /// Retained bytes added per second.
    pub bytes_per_sec: f64,
    /// Retained blocks added per second.
    pub blocks_per_sec: f64,
    /// Milliseconds since the first snapshot and the bytes retained since
    /// it, at every later snapshot.
    pub points: Vec<(u64, i64)>,
}

/// Judges every site's growth over `series` (in the order taken; see
/// [`check_series`]). Sites that retain less than `min_growth_bytes` at the
/// end did not grow.
pub fn judge_series(series: &[&Snapshot], min_growth_bytes: u64) -> SeriesJudgement {
    let mut fold = SeriesFold::new();
    for &snap in series {
        fold.push(snap.clone());
    }
    fold.judge(min_growth_bytes)
}

/// [`judge_series`] one snapshot at a time: a series of thousands of dumps
/// is judged without holding them all. What it keeps is the first
/// snapshot (the baseline) and its statistics, the last one pushed (the
/// call paths of the sites that grew are taken from it), and each site's
/// retained bytes and blocks at every snapshot after the first; every
/// other snapshot is dropped when the next is pushed.
#[derive(Debug, Default)]
pub struct SeriesFold {
    first: Option<Snapshot>,
    /// `first`'s statistics by line, compared with every later snapshot.
    first_lines: Vec<Statistic>,
    last: Option<Snapshot>,
    /// `first`'s uptime, from which the times count.
    start_ms: u64,
    /// Milliseconds since the first snapshot, strictly increasing (two
    /// dumps within one millisecond are a millisecond apart; a snapshot
    /// without a time is a second after the one before).
    times: Vec<u64>,
    points: BTreeMap<SiteKey, Vec<Point>>,
    functions: BTreeMap<SiteKey, String>,
}

impl SeriesFold {
    /// A fold of no snapshot yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many snapshots were pushed.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// `true` before the first snapshot is pushed.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The first snapshot pushed, the baseline.
    pub fn first(&self) -> Option<&Snapshot> {
        self.first.as_ref()
    }

    /// The last snapshot pushed after the first.
    pub fn last(&self) -> Option<&Snapshot> {
        self.last.as_ref()
    }

    /// How many snapshots the fold holds now: never more than two, however
    /// many were pushed.
    pub fn snapshots_held(&self) -> usize {
        usize::from(self.first.is_some()) + usize::from(self.last.is_some())
    }

    /// Adds the next snapshot of the series, in the order taken.
    pub fn push(&mut self, snap: Snapshot) {
        if self.first.is_none() {
            self.start_ms = snap.origin().map_or(0, |o| o.uptime_ms);
            self.times.push(0);
            self.first_lines = snap.statistics(KeyType::Lineno);
            self.first = Some(snap);
            return;
        }
        let prev = self.times.last().copied().unwrap_or(0);
        let at = match snap.origin() {
            Some(o) => o.uptime_ms.saturating_sub(self.start_ms).max(prev + 1),
            None => prev + 1000,
        };
        self.times.push(at);
        let i = self.times.len() - 2;
        let diffs = statistic::diff(
            snap.statistics(KeyType::Lineno),
            self.first_lines.clone(),
            KeyType::Lineno,
        );
        for d in diffs {
            let Some(frame) = d.traceback.charged_frame() else {
                continue;
            };
            let site = SiteKey::of(frame);
            self.functions
                .entry(site.clone())
                .or_insert_with(|| frame.function.clone());
            let series = self.points.entry(site).or_default();
            // A site that held nothing at the snapshots before.
            for &before in &self.times[series.len() + 1..i + 1] {
                series.push(Point {
                    iters: before,
                    size_diff: 0,
                    count_diff: 0,
                });
            }
            series.push(Point {
                iters: at,
                size_diff: d.size_diff,
                count_diff: d.count_diff,
            });
        }
        self.last = Some(snap);
    }

    /// The verdict on the snapshots pushed. Sites that retain less than
    /// `min_growth_bytes` at the end did not grow.
    pub fn judge(self, min_growth_bytes: u64) -> SeriesJudgement {
        let SeriesFold {
            first,
            last,
            times,
            points,
            functions,
            ..
        } = self;
        let Some(first) = first else {
            return SeriesJudgement {
                elapsed_ms: 0,
                intervals: 0,
                sites: Vec::new(),
            };
        };
        let sampling = first.sampling();
        let thresholds_of = |series: &[Point]| {
            // A sampled site: at least MIN_SAMPLES sampled blocks of its
            // mean size.
            let floor = match (sampling, series.last()) {
                (Some(sampling), Some(last)) if last.size_diff > 0 => {
                    let weight = if last.count_diff > 0 {
                        let block = last.size_diff as f64 / last.count_diff as f64;
                        block / sampling.probability(block.round() as u64)
                    } else {
                        // Blocks not counted (jemalloc's profiles count
                        // bytes only): a sample of any size stands for at
                        // least the mean bytes between samples.
                        sampling.mean_bytes as f64
                    };
                    (MIN_SAMPLES * weight).ceil() as u64
                }
                _ => 0,
            };
            Thresholds {
                min_growth_bytes: min_growth_bytes.max(floor),
                min_bytes_per_iter: 0.0,
            }
        };
        let intervals = times.len() as u64 - 1;
        let elapsed_ms = times.last().copied().unwrap_or(0);
        let paths = last
            .as_ref()
            .unwrap_or(&first)
            .compare_to(&first, KeyType::Traceback);
        drop((first, last));
        let mut sites: Vec<SeriesSite> = points
            .into_iter()
            .filter_map(|(site, mut series)| {
                // A site that was freed again by the end holds nothing there.
                for &after in &times[series.len() + 1..] {
                    series.push(Point {
                        iters: after,
                        size_diff: 0,
                        count_diff: 0,
                    });
                }
                let Judgement::Grew(mut growth) =
                    verdict::judge(&series, &thresholds_of(&series), true)
                else {
                    return None;
                };
                if growth.verdict == SiteVerdict::Leak && intervals >= 2 && rose_once(&series) {
                    growth.verdict = SiteVerdict::Plateau;
                }
                let last = *series.last()?;
                let worst = statistic::heaviest_path_at(&paths, &site);
                let traceback = match worst {
                    Some(d) if growth.verdict == SiteVerdict::Leak => call_path(&d.traceback),
                    _ => Vec::new(),
                };
                let caller = worst.and_then(|d| workspace_caller(&d.traceback));
                Some(SeriesSite {
                    report: SiteReport {
                        retained_by: Vec::new(),
                        function: functions.get(&site).cloned().unwrap_or_default(),
                        file: site.file,
                        line: site.line,
                        verdict: growth.verdict,
                        bytes_per_iter: last.size_diff as f64 / intervals as f64,
                        blocks_per_iter: last.count_diff as f64 / intervals as f64,
                        size_diff: last.size_diff,
                        count_diff: last.count_diff,
                        traceback,
                        series: series
                            .iter()
                            .map(|p| [p.iters as i64, p.size_diff])
                            .collect(),
                        caller,
                    },
                    bytes_per_sec: growth.bytes_per_iter * 1000.0,
                    blocks_per_sec: growth.blocks_per_iter * 1000.0,
                    points: series.iter().map(|p| (p.iters, p.size_diff)).collect(),
                })
            })
            .collect();
        sites.sort_by(|a, b| {
            (a.report.verdict != SiteVerdict::Leak)
                .cmp(&(b.report.verdict != SiteVerdict::Leak))
                .then(b.report.size_diff.cmp(&a.report.size_diff))
                .then_with(|| (&a.report.file, a.report.line).cmp(&(&b.report.file, b.report.line)))
        });
        SeriesJudgement {
            elapsed_ms,
            intervals,
            sites,
        }
    }
}

/// Whether a site's lower envelope (from the baseline's 0) rose at one
/// snapshot only: one allocation, made once (see the module docs).
fn rose_once(series: &[Point]) -> bool {
    let points: Vec<(u64, i64)> = std::iter::once((0, 0))
        .chain(series.iter().map(|p| (p.iters, p.size_diff)))
        .collect();
    let envelope = verdict::lower_envelope(&points);
    envelope.windows(2).filter(|w| w[1].1 > w[0].1).count() == 1
}

/// The frames a reader needs: from the outermost frame of the workspace
/// (the service's `main`, not libc's start-up code above it) down, without
/// the standard library and frames without debug info.
fn call_path(traceback: &Traceback) -> Vec<String> {
    let frames = traceback.frames();
    let start = frames
        .iter()
        .position(|f| f.kind == FrameKind::Workspace)
        .unwrap_or(0);
    traceback.readable_from(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Sampling, SnapshotOrigin, Trace};
    use crate::traceback::Frame;

    fn frame(line: u32) -> Frame {
        Frame {
            file: "src/main.rs".into(),
            line,
            function: "service::handle".into(),
            kind: FrameKind::Workspace,
        }
    }

    /// A snapshot at `ms` holding `sites` as (line, bytes, blocks).
    fn snap(pid: u32, seq: u64, ms: u64, sites: &[(u32, u64, u64)]) -> Snapshot {
        let traces = sites
            .iter()
            .map(|&(line, size, count)| Trace {
                traceback: Traceback::new(vec![frame(1), frame(line)]),
                size,
                count,
            })
            .collect();
        Snapshot::from_traces(traces, 25).with_origin(SnapshotOrigin {
            leakcheck: "0.1.0".into(),
            pid,
            process_started_ms: 1_000,
            seq,
            uptime_ms: ms,
            taken_at_ms: 1_000 + ms,
            ..SnapshotOrigin::default()
        })
    }

    #[test]
    fn steady_growth_is_a_leak_and_a_filled_cache_a_plateau() {
        // Line 10 gains 1 KiB a second; line 20 fills to 64 KiB in the
        // first second and stays.
        let series: Vec<Snapshot> = (0..10u64)
            .map(|i| {
                snap(
                    7,
                    i + 1,
                    i * 1000,
                    &[(10, 1024 * i, i), (20, 65536 * i.min(1), 64 * i.min(1))],
                )
            })
            .collect();
        let refs: Vec<&Snapshot> = series.iter().collect();
        let judged = judge_series(&refs, 256);
        assert_eq!(judged.elapsed_ms, 9000);
        assert_eq!(judged.intervals, 9);
        let verdicts: Vec<(u32, SiteVerdict)> = judged
            .sites
            .iter()
            .map(|s| (s.report.line, s.report.verdict))
            .collect();
        assert_eq!(
            verdicts,
            [(10, SiteVerdict::Leak), (20, SiteVerdict::Plateau)]
        );
        let leak = &judged.sites[0];
        assert_eq!(leak.report.size_diff, 9 * 1024);
        assert!((leak.bytes_per_sec - 1024.0).abs() < 1e-9, "{leak:?}");
        assert!((leak.report.bytes_per_iter - 1024.0).abs() < 1e-9);
        assert_eq!(leak.points.len(), 9);
        assert_eq!(leak.points[8], (9000, 9 * 1024));
    }

    #[test]
    fn sites_without_line_tables_are_told_apart_by_function() {
        // A build without line tables: every frame is `<unknown>:0`, and
        // the handler's leak must not be merged with the cache's plateau.
        let bare = |function: &str, kind: FrameKind| Frame {
            file: "<unknown>".into(),
            line: 0,
            function: function.into(),
            kind,
        };
        let at = |function: &str| {
            Traceback::new(vec![
                bare("service::main", FrameKind::Other),
                bare(function, FrameKind::Other),
                bare("alloc::fmt::format::format_inner", FrameKind::Std),
            ])
        };
        let series: Vec<Snapshot> = (0..10u64)
            .map(|i| {
                let traces = vec![
                    Trace {
                        traceback: at("service::handle"),
                        size: 1024 * i,
                        count: i,
                    },
                    Trace {
                        traceback: at("service::Cache::fill"),
                        size: 65536 * i.min(1),
                        count: 64 * i.min(1),
                    },
                ];
                Snapshot::from_traces(traces, 25).with_origin(SnapshotOrigin {
                    leakcheck: "0.1.0".into(),
                    pid: 7,
                    process_started_ms: 1_000,
                    seq: i + 1,
                    uptime_ms: i * 1000,
                    taken_at_ms: 1_000 + i * 1000,
                    ..SnapshotOrigin::default()
                })
            })
            .collect();
        let refs: Vec<&Snapshot> = series.iter().collect();
        let judged = judge_series(&refs, 256);
        let verdicts: Vec<(&str, SiteVerdict)> = judged
            .sites
            .iter()
            .map(|s| (s.report.function.as_str(), s.report.verdict))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("service::handle", SiteVerdict::Leak),
                ("service::Cache::fill", SiteVerdict::Plateau)
            ]
        );
        assert_eq!(judged.sites[0].report.size_diff, 9 * 1024);
    }

    #[test]
    fn a_fold_of_500_snapshots_holds_two_of_them_and_judges_them_all() {
        let mut fold = SeriesFold::new();
        assert_eq!(fold.snapshots_held(), 0);
        for i in 0..500u64 {
            fold.push(snap(
                7,
                i + 1,
                i * 1000,
                &[(10, 1024 * i, i), (20, 4096, 4)],
            ));
            assert!(fold.snapshots_held() <= 2, "{} held", fold.snapshots_held());
        }
        assert_eq!((fold.len(), fold.snapshots_held()), (500, 2));
        let judged = fold.judge(256);
        assert_eq!((judged.elapsed_ms, judged.intervals), (499_000, 499));
        let [leak] = judged.sites.as_slice() else {
            panic!("one site grew: {judged:?}");
        };
        assert_eq!(
            (leak.report.line, leak.report.verdict),
            (10, SiteVerdict::Leak)
        );
        assert_eq!(leak.points.len(), 499);
        assert_eq!(leak.points[0], (1000, 1024));
        assert_eq!(leak.points[498], (499_000, 499 * 1024));
    }

    #[test]
    fn a_sampled_site_whose_blocks_are_not_counted_needs_five_samples_of_growth() {
        // A profile that counts bytes only, one sample per 512 KiB: 1 KiB
        // of steady growth is under one sample's worth, not a leak; growth
        // of six samples' worth is.
        let sampled = |seq: u64, sites: &[(u32, u64, u64)]| {
            let mut s = snap(7, seq, seq * 500, sites);
            let mut origin = s.origin().cloned().unwrap();
            origin.sampling = Some(Sampling {
                mean_bytes: 512 << 10,
                min_one_in: 0,
            });
            s = s.with_origin(origin);
            s
        };
        let series: Vec<Snapshot> = (0..10u64)
            .map(|i| sampled(i + 1, &[(10, i * 1024 / 9, 0), (20, i * (6 << 19) / 9, 0)]))
            .collect();
        let refs: Vec<&Snapshot> = series.iter().collect();
        let judged = judge_series(&refs, 256);
        let leaks: Vec<u32> = judged
            .sites
            .iter()
            .filter(|s| s.report.verdict == SiteVerdict::Leak)
            .map(|s| s.report.line)
            .collect();
        assert_eq!(leaks, [20]);
    }

    #[test]
    fn memory_that_rose_at_one_snapshot_only_is_a_plateau_wherever_it_rose() {
        // Line 10 leaks 1 KiB a second. Line 20 is a buffer set up by the
        // last thing the program did before the last dump (a `println!`'s
        // 1 KiB); line 30 one block allocated at 7 of 10 seconds.
        let series: Vec<Snapshot> = (0..=10u64)
            .map(|i| {
                let mut sites = vec![(10, 1024 * i, i)];
                if i == 10 {
                    sites.push((20, 1024, 1));
                }
                if i >= 7 {
                    sites.push((30, 4096, 1));
                }
                snap(7, i + 1, i * 1000, &sites)
            })
            .collect();
        let verdicts = |n: usize| {
            let refs: Vec<&Snapshot> = series[series.len() - n..].iter().collect();
            let judged = judge_series(&refs, 256);
            judged
                .sites
                .iter()
                .map(|s| (s.report.line, s.report.verdict))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            verdicts(11),
            [
                (10, SiteVerdict::Leak),
                (30, SiteVerdict::Plateau),
                (20, SiteVerdict::Plateau)
            ]
        );
        // The last four: line 30 is in every one, line 20 new at the last.
        assert_eq!(
            verdicts(4),
            [(10, SiteVerdict::Leak), (20, SiteVerdict::Plateau)]
        );
        // Two snapshots compare: growth in their one interval still leaks,
        // as `#[leak_test]`'s rule says at its cap.
        assert_eq!(
            verdicts(2),
            [(10, SiteVerdict::Leak), (20, SiteVerdict::Leak)]
        );
    }

    #[test]
    fn a_site_that_appears_late_is_zero_before() {
        let series = [
            snap(7, 1, 0, &[]),
            snap(7, 2, 1000, &[]),
            snap(7, 3, 2000, &[(10, 4096, 4)]),
        ];
        let refs: Vec<&Snapshot> = series.iter().collect();
        let judged = judge_series(&refs, 256);
        assert_eq!(judged.sites[0].points, [(1000, 0), (2000, 4096)]);
    }

    #[test]
    fn mixed_series_are_refused() {
        let a = snap(7, 1, 0, &[]);
        let b = snap(7, 2, 1000, &[]);
        let other = snap(8, 3, 2000, &[]);
        let err = check_series(&[("a", &a), ("b", &b), ("c", &other)]).unwrap_err();
        assert!(matches!(err, SeriesError::Processes { .. }), "{err}");
        assert_eq!(
            check_series(&[("b", &b), ("a", &a)]).unwrap_err(),
            SeriesError::OutOfOrder {
                later: "b".into(),
                earlier: "a".into()
            }
        );
        assert_eq!(
            check_series(&[("a", &a), ("a", &a)])
                .unwrap_err()
                .to_string(),
            "failed to compare snapshots: a and a are the same snapshot (number 1 of its \
             process); give snapshots taken at different times"
        );
        let back = snap(7, 3, 500, &[]);
        assert_eq!(
            check_series(&[("b", &b), ("back", &back)])
                .unwrap_err()
                .to_string(),
            "failed to compare snapshots: back is numbered after b, but its time since the \
             process's first snapshot (500 ms) is before that one's (1000 ms)"
        );
        let same_ms = snap(7, 3, 1000, &[]);
        assert_eq!(check_series(&[("b", &b), ("c", &same_ms)]), Ok(()));
        let mut deep = snap(7, 3, 2000, &[]);
        deep = Snapshot::from_traces(deep.traces().to_vec(), 50)
            .with_origin(deep.origin().unwrap().clone());
        assert!(matches!(
            check_series(&[("a", &a), ("d", &deep)]).unwrap_err(),
            SeriesError::Nframe { .. }
        ));
        let mut newer = snap(7, 3, 2000, &[]);
        let mut origin = newer.origin().unwrap().clone();
        origin.leakcheck = "0.2.0".into();
        newer = newer.with_origin(origin);
        assert!(matches!(
            check_series(&[("a", &a), ("n", &newer)]).unwrap_err(),
            SeriesError::Versions { .. }
        ));
        assert_eq!(
            check_series(&[("a", &a)]).unwrap_err(),
            SeriesError::TooFew { found: 1 }
        );
        check_series(&[("a", &a), ("b", &b)]).unwrap();
        let bare = Snapshot::from_traces(Vec::new(), 25);
        check_series(&[("a", &a), ("x", &bare)]).unwrap();
        assert!(matches!(
            check_series(&[("a", &a), ("b", &b), ("x", &bare)]).unwrap_err(),
            SeriesError::NoOrigin { .. }
        ));
    }
}
