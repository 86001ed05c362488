//! The growth verdict: does an allocation site leak, or did it level off?
//!
//! A leak test snapshots after warm-up (the baseline, at 0 measured calls)
//! and at checkpoints `n_1 < … < n_K` through the measured loop. For each
//! allocation site (`file:line`) the runner keeps the series of bytes `s_i`
//! and blocks retained since the baseline (`s_0 = 0`), and [`judge`]
//! classifies it. The tracker counts exactly, so every change is real; the
//! rule only has to tell what kind of change it is.
//!
//! 1. **Noise floor.** With `F = max(min_growth_bytes, min_bytes_per_iter ·
//!    n_K)` (defaults: 256 bytes, 0.0 B/iter), a site that retains less
//!    than `F` at the end did not grow.
//! 2. **Rises and falls.** A site whose bytes ever fall by a tenth of the
//!    range they covered so far (and by at least `F/8`) frees what it
//!    gathers: a buffer emptied now and then. It is a leak only if the
//!    whole series moves up: every value in the last quarter of the run
//!    exceeds every value in the first quarter, by more than those early
//!    values spread and by at least `F`. When the last quarter clears the
//!    first by `F` the loop is extended to its cap before deciding;
//!    otherwise the site is [`SiteVerdict::Fluctuating`].
//! 3. **Growth that keeps pace.** Otherwise the site is judged on its lower
//!    envelope (at each checkpoint, the least it holds from then on). Let
//!    `R` be the envelope's total growth.
//!    - Less than a quarter of `R` after the first third of the run: the
//!      growth stopped, [`SiteVerdict::Plateau`] (a cache that filled to
//!      its bound, a table built once, a scratch buffer grown once).
//!    - Less than a quarter of `R` in the last half (the rest after the
//!      first third): ambiguous, a plateau reached late or a container
//!      waiting for its next doubling.
//!    - Otherwise growth keeps pace: a [`SiteVerdict::Leak`]. But if it
//!      started late (less than an eighth of `R` in the first half), or
//!      the last stretch between checkpoints grew less than three quarters
//!      of the average pace, or more than two thirds of `R` at once, it is
//!      ambiguous.
//!
//! Amortised growth is why the rule looks at halves and thirds. A `Vec`
//! pushed to on every call reallocates only when its length doubles, so
//! its bytes grow in steps and may stay flat for up to half the run; but
//! every window `[n, 2n]` holds a doubling, so some of its growth always
//! falls in the last half and most of it after the first third (as long as
//! it held fewer elements at the baseline than a third of the run adds). A
//! buffer that grew once and stays has all its growth early.
//!
//! Ambiguous is [`Judgement::Ambiguous`]: the runner doubles the loop (up
//! to `max_iters`, default four times `iters`), takes `checkpoints` more
//! snapshots over the new stretch and judges the whole series again. At
//! the cap it decides: ambiguous growth with a quarter of `R` in the last
//! half is a leak, a flat last half a plateau. (When another site already
//! leaks, the test fails anyway: the loop is not extended, and ambiguous
//! sites are decided as at the cap.) The checkpoints are spaced
//! unevenly (see `schedule.rs`) so that a sawtooth cannot alias into
//! steady growth.
//!
//! Bytes per iteration are `s_K / n_K` and blocks per iteration
//! `count_K / n_K`, over the whole measured loop.
//!
//! Known limits: a cache whose bound is close to or beyond the measured
//! calls looks like a leak (raise `iters`); a slow leak on the same line
//! as a one-time allocation many times bigger looks like a plateau.

use crate::report::SiteVerdict;

/// A fall of this share of the range covered so far makes a series fluctuate.
const FALL_SHARE: f64 = 0.1;
/// Growth below this share of the total does not count as "still growing"
/// (a quarter: rule 3). Public so that reports explaining a verdict say
/// the rule's share.
pub const LATE_SHARE: f64 = 0.25;
/// More than this share of the growth in the last stretch is a jump.
const JUMP_SHARE: f64 = 2.0 / 3.0;
/// Less than this share of the growth in the first half is a late start.
const EARLY_SHARE: f64 = 0.125;
/// The last stretch must grow at least this share of the average pace.
const PACE_SHARE: f64 = 0.75;

/// A site's retained growth at one checkpoint, relative to the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Measured calls since the baseline.
    pub iters: u64,
    /// Bytes retained since the baseline (negative when freed).
    pub size_diff: i64,
    /// Blocks retained since the baseline.
    pub count_diff: i64,
}

/// The noise floor of a leak test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A leak retains at least this many bytes in all.
    pub min_growth_bytes: u64,
    /// A leak retains at least this many bytes per measured call.
    pub min_bytes_per_iter: f64,
}

/// How one site grew.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Growth {
    /// The growth class.
    pub verdict: SiteVerdict,
    /// Retained bytes per measured call, over the whole loop.
    pub bytes_per_iter: f64,
    /// Retained blocks per measured call, over the whole loop.
    pub blocks_per_iter: f64,
}

/// The verdict on one site's series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Judgement {
    /// Less than the noise floor retained at the end.
    NoGrowth,
    /// The series cannot tell yet: run more iterations.
    Ambiguous,
    /// The site grew; the class says whether it leaks.
    Grew(Growth),
}

impl Judgement {
    /// The growth class, if the site grew.
    pub fn verdict(&self) -> Option<SiteVerdict> {
        match self {
            Judgement::Grew(g) => Some(g.verdict),
            _ => None,
        }
    }
}

/// Judges one site's series of checkpoints (sorted by `iters`, the last
/// one the end of the loop so far; see the module docs). With `at_cap` the
/// loop cannot be extended and the answer is never
/// [`Judgement::Ambiguous`].
pub fn judge(series: &[Point], thresholds: &Thresholds, at_cap: bool) -> Judgement {
    let Some(last) = series.last() else {
        return Judgement::NoGrowth;
    };
    if last.iters == 0 {
        return Judgement::NoGrowth;
    }
    let n = last.iters;
    let floor = (thresholds.min_growth_bytes as f64).max(thresholds.min_bytes_per_iter * n as f64);
    if last.size_diff <= 0 || (last.size_diff as f64) < floor {
        return Judgement::NoGrowth;
    }
    let points: Vec<(u64, f64)> = std::iter::once((0, 0.0))
        .chain(series.iter().map(|p| (p.iters, p.size_diff as f64)))
        .collect();
    let verdict = match rises_and_falls(&points, floor) {
        true => judge_fluctuating(&points, floor, at_cap),
        false => judge_steady(&points, at_cap),
    };
    match verdict {
        Some(verdict) => Judgement::Grew(Growth {
            verdict,
            bytes_per_iter: last.size_diff as f64 / n as f64,
            blocks_per_iter: last.count_diff as f64 / n as f64,
        }),
        None => Judgement::Ambiguous,
    }
}

/// Whether the series falls by enough to count: by [`FALL_SHARE`] (a
/// tenth) of the range it covered up to then, and by at least `F/8`.
fn rises_and_falls(points: &[(u64, f64)], floor: f64) -> bool {
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    points.iter().any(|&(_, v)| {
        let fall = hi - v;
        let falls = fall >= (floor / 8.0).max(FALL_SHARE * (hi - lo));
        lo = lo.min(v);
        hi = hi.max(v);
        falls
    })
}

/// Rule 2: a leak under a sawtooth lifts the whole series: late values
/// clear the early ones by more than the early ones spread.
fn judge_fluctuating(points: &[(u64, f64)], floor: f64, at_cap: bool) -> Option<SiteVerdict> {
    let n = points.last().map_or(0, |p| p.0);
    let (mut early_lo, mut early_hi, mut late_lo) = (f64::MAX, f64::MIN, f64::MAX);
    for &(at, v) in points {
        if 4 * at <= n {
            early_lo = early_lo.min(v);
            early_hi = early_hi.max(v);
        } else if 4 * at > 3 * n {
            late_lo = late_lo.min(v);
        }
    }
    let gap = late_lo - early_hi;
    if gap < floor {
        Some(SiteVerdict::Fluctuating)
    } else if !at_cap {
        None
    } else if gap > early_hi - early_lo {
        Some(SiteVerdict::Leak)
    } else {
        Some(SiteVerdict::Fluctuating)
    }
}

/// The lower envelope of a series of `(calls, retained)` points: at each
/// point, the least the series holds from there on. Rule 3 judges steady
/// growth on it, and the HTML report draws it.
pub fn lower_envelope<X: Copy, Y: Copy + PartialOrd>(points: &[(X, Y)]) -> Vec<(X, Y)> {
    let mut envelope = points.to_vec();
    for i in (0..envelope.len().saturating_sub(1)).rev() {
        if envelope[i + 1].1 < envelope[i].1 {
            envelope[i].1 = envelope[i + 1].1;
        }
    }
    envelope
}

/// The share of a lower envelope's growth (from its first point to its
/// last) reached at its last point at or before `num/den` of the run, as
/// rule 3 reads it; 0 when the envelope did not grow.
pub fn envelope_share(envelope: &[(u64, f64)], num: u64, den: u64) -> f64 {
    let (Some(&(n, end)), Some(&(_, base))) = (envelope.last(), envelope.first()) else {
        return 0.0;
    };
    let total = end - base;
    if total <= 0.0 {
        return 0.0;
    }
    let reached = envelope
        .iter()
        .take_while(|p| p.0 * den <= n * num)
        .last()
        .map_or(base, |p| p.1);
    (reached - base) / total
}

/// Rule 3: where in the run the lower envelope grew.
fn judge_steady(points: &[(u64, f64)], at_cap: bool) -> Option<SiteVerdict> {
    let envelope = lower_envelope(points);
    let (n, end) = *envelope.last()?;
    let total = end - envelope[0].1;
    let share_at = |num: u64, den: u64| envelope_share(&envelope, num, den);
    if 1.0 - share_at(1, 3) < LATE_SHARE {
        return Some(SiteVerdict::Plateau);
    }
    let first_half = share_at(1, 2);
    if 1.0 - first_half < LATE_SHARE {
        return at_cap.then_some(SiteVerdict::Plateau);
    }
    let (prev_n, prev) = envelope[envelope.len() - 2];
    let pace = total / n as f64 * (n - prev_n) as f64;
    let last_stretch = end - prev;
    if first_half < EARLY_SHARE
        || last_stretch < PACE_SHARE * pace
        || last_stretch > JUMP_SHARE * total
    {
        return at_cap.then_some(SiteVerdict::Leak);
    }
    Some(SiteVerdict::Leak)
}
