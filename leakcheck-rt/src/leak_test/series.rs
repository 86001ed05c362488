//! The per-site growth series of one measured loop, and when to stop it.
//!
//! The loop itself lives in the runner; this is its bookkeeping, kept free
//! of the allocator so the verdict can be tested on synthetic series:
//!
//! ```text
//!   next_checkpoint() ──► run the body up to it ──► record(diffs) ──┐
//!        ▲                                                          │
//!        └──────────────────────────────────────────────────────────┘
//!   None: judged (extending the loop while a site is ambiguous) ──► outcome()
//! ```

use std::collections::BTreeMap;

use super::config::MIN_CHECKPOINTS;
use super::schedule;
use leakcheck_format::report::SiteVerdict;
use leakcheck_format::verdict::{self, Growth, Judgement, Point, Thresholds};

/// How long the loop runs and how it is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plan {
    /// Measured calls before the first judgement.
    pub iters: u64,
    /// Measured calls the loop may be extended to.
    pub max_iters: u64,
    /// Snapshots per stretch of the loop.
    pub checkpoints: u32,
    /// The noise floor.
    pub thresholds: Thresholds,
}

/// One site that grew, at the end of the loop.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SiteOutcome<K> {
    /// The site.
    pub key: K,
    /// Its class and rates.
    pub growth: Growth,
    /// Bytes retained since the baseline at the end.
    pub size_diff: i64,
    /// Blocks retained since the baseline at the end.
    pub count_diff: i64,
}

/// The verdict on a whole loop.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome<K> {
    /// Measured calls, extensions included.
    pub iters: u64,
    /// The sites that grew, most retained bytes first.
    pub sites: Vec<SiteOutcome<K>>,
}

/// The series of every site seen so far, and the checkpoints still to come.
#[derive(Debug)]
pub(crate) struct GrowthSeries<K> {
    plan: Plan,
    /// Checkpoints of the current stretch not reached yet, soonest last.
    pending: Vec<u64>,
    /// Checkpoints reached, in order.
    reached: Vec<u64>,
    sites: BTreeMap<K, Vec<Point>>,
    judged: Option<Vec<(K, Judgement)>>,
}

impl<K: Ord + Clone> GrowthSeries<K> {
    /// The series of a loop run to `plan`.
    pub(crate) fn new(plan: Plan) -> Self {
        let plan = Plan {
            iters: plan.iters.max(1),
            max_iters: plan.max_iters.max(plan.iters.max(1)),
            checkpoints: plan.checkpoints.max(MIN_CHECKPOINTS),
            ..plan
        };
        let mut pending = schedule::checkpoints(0, plan.iters, plan.checkpoints);
        pending.reverse();
        Self {
            plan,
            pending,
            reached: Vec::new(),
            sites: BTreeMap::new(),
            judged: None,
        }
    }

    /// Measured calls to run before the next snapshot, counted from the
    /// baseline; `None` once the verdict is in.
    pub(crate) fn next_checkpoint(&mut self) -> Option<u64> {
        if let Some(&next) = self.pending.last() {
            return Some(next);
        }
        if self.judged.is_some() {
            return None;
        }
        let end = self.end();
        let extension = schedule::extend(end, self.plan.max_iters);
        let mut judged = self.judge_all(extension.is_none());
        let ambiguous = judged.iter().any(|(_, j)| *j == Judgement::Ambiguous);
        // A clear leak fails the test whatever the other sites turn out to
        // be, so it is not worth a longer loop.
        let leaks = judged
            .iter()
            .any(|(_, j)| matches!(j, Judgement::Grew(g) if g.verdict == SiteVerdict::Leak));
        match extension {
            Some(to) if ambiguous && !leaks => {
                self.pending = schedule::checkpoints(end, to, self.plan.checkpoints);
                self.pending.reverse();
                self.pending.last().copied()
            }
            _ => {
                if ambiguous {
                    judged = self.judge_all(true);
                }
                self.judged = Some(judged);
                None
            }
        }
    }

    /// The checkpoints of the next stretch of the loop, soonest first:
    /// those [`GrowthSeries::next_checkpoint`] would return one by one, so
    /// the loop can take their counts and record them afterwards. `None`
    /// once the verdict is in.
    pub(crate) fn next_stretch(&mut self) -> Option<Vec<u64>> {
        self.next_checkpoint()?;
        Some(self.pending.iter().rev().copied().collect())
    }

    /// Records the retained growth per site at checkpoint `iters` (the one
    /// [`GrowthSeries::next_checkpoint`] returned). Sites not listed
    /// retained nothing.
    pub(crate) fn record(&mut self, iters: u64, diffs: impl IntoIterator<Item = (K, i64, i64)>) {
        if self.pending.last() == Some(&iters) {
            self.pending.pop();
        }
        let zero = |iters| Point {
            iters,
            size_diff: 0,
            count_diff: 0,
        };
        for (key, size_diff, count_diff) in diffs {
            let reached = &self.reached;
            let series = self
                .sites
                .entry(key)
                .or_insert_with(|| reached.iter().map(|&n| zero(n)).collect());
            series.push(Point {
                iters,
                size_diff,
                count_diff,
            });
        }
        self.reached.push(iters);
        for series in self.sites.values_mut() {
            if series.len() < self.reached.len() {
                series.push(zero(iters));
            }
        }
    }

    /// The series recorded for `key`, one point per checkpoint reached
    /// (empty for a site never seen).
    pub(crate) fn points(&self, key: &K) -> &[Point] {
        self.sites.get(key).map_or(&[], Vec::as_slice)
    }

    /// Measured calls reached so far.
    pub(crate) fn end(&self) -> u64 {
        self.reached.last().copied().unwrap_or(0)
    }

    /// The verdict, once [`GrowthSeries::next_checkpoint`] returned `None`;
    /// judged at the cap if the loop was cut short.
    pub(crate) fn outcome(&self) -> Outcome<K> {
        let judged = match &self.judged {
            Some(judged) => judged.clone(),
            None => self.judge_all(true),
        };
        let mut sites: Vec<SiteOutcome<K>> = judged
            .into_iter()
            .filter_map(|(key, judgement)| {
                let Judgement::Grew(growth) = judgement else {
                    return None;
                };
                let last = *self.sites.get(&key)?.last()?;
                Some(SiteOutcome {
                    key,
                    growth,
                    size_diff: last.size_diff,
                    count_diff: last.count_diff,
                })
            })
            .collect();
        sites.sort_by(|a, b| b.size_diff.cmp(&a.size_diff).then(a.key.cmp(&b.key)));
        Outcome {
            iters: self.end(),
            sites,
        }
    }

    fn judge_all(&self, at_cap: bool) -> Vec<(K, Judgement)> {
        self.sites
            .iter()
            .map(|(key, series)| {
                let judgement = verdict::judge(series, &self.plan.thresholds, at_cap);
                (key.clone(), judgement)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            iters: 1_000,
            max_iters: 4_000,
            checkpoints: 8,
            thresholds: Thresholds {
                min_growth_bytes: 256,
                min_bytes_per_iter: 0.0,
            },
        }
    }

    /// A site that grows late, so the loop is extended at least once.
    fn live(n: u64) -> i64 {
        if n < 900 { 0 } else { 64 * (n as i64 - 900) }
    }

    #[test]
    fn stretches_are_the_checkpoints_one_by_one() {
        let mut one_by_one = GrowthSeries::new(plan());
        let mut seen = Vec::new();
        while let Some(n) = one_by_one.next_checkpoint() {
            seen.push(n);
            one_by_one.record(n, [(0u8, live(n), 0)]);
        }
        let mut by_stretch = GrowthSeries::new(plan());
        let mut stretches = Vec::new();
        while let Some(stretch) = by_stretch.next_stretch() {
            for &n in &stretch {
                by_stretch.record(n, [(0u8, live(n), 0)]);
            }
            stretches.push(stretch);
        }
        assert!(stretches.len() > 1, "{stretches:?}");
        assert_eq!(stretches.concat(), seen);
        assert_eq!(by_stretch.outcome(), one_by_one.outcome());
    }
}

#[cfg(test)]
#[path = "series_tests.rs"]
mod verdict_tests;
