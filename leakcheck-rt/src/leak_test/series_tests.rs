//! The verdict on synthetic series, run through the same checkpoint
//! schedule and extensions as a real leak test.

use leakcheck_format::report::SiteVerdict;
use leakcheck_format::verdict::*;

use super::{GrowthSeries, Plan};

const DEFAULTS: Thresholds = Thresholds {
    min_growth_bytes: 256,
    min_bytes_per_iter: 0.0,
};

fn plan(iters: u64) -> Plan {
    Plan {
        iters,
        max_iters: 4 * iters,
        checkpoints: 8,
        thresholds: DEFAULTS,
    }
}

/// Runs a loop whose site holds `live(t)` = (bytes, blocks) after `t`
/// calls in all, `warmup` of them before the baseline. Returns the final
/// judgement and the measured calls it took.
fn run_with(plan: Plan, warmup: u64, live: impl Fn(u64) -> (i64, i64)) -> (Judgement, u64) {
    let (base_size, base_count) = live(warmup);
    let mut series = GrowthSeries::new(plan);
    while let Some(n) = series.next_checkpoint() {
        let (size, count) = live(warmup + n);
        series.record(n, [(0u8, size - base_size, count - base_count)]);
    }
    let outcome = series.outcome();
    let judgement = match outcome.sites.first() {
        Some(site) => Judgement::Grew(site.growth),
        None => Judgement::NoGrowth,
    };
    (judgement, outcome.iters)
}

fn run(live: impl Fn(u64) -> (i64, i64)) -> (Judgement, u64) {
    run_with(plan(10_000), 1, live)
}

fn growth(j: Judgement) -> Growth {
    match j {
        Judgement::Grew(g) => g,
        other => panic!("expected growth, got {other:?}"),
    }
}

/// Capacity of a `Vec` of small elements holding `len` of them.
fn vec_cap(len: u64) -> i64 {
    match len {
        0 => 0,
        _ => len.next_power_of_two().max(4) as i64,
    }
}

/// Bytes of a hashbrown table of 16-byte entries holding `len` of them.
fn table_bytes(len: u64) -> i64 {
    let buckets: u64 = match len {
        0 => return 0,
        1..=3 => 4,
        4..=7 => 8,
        _ => (len * 8).div_ceil(7).next_power_of_two(),
    };
    (buckets * 17 + 16) as i64
}

#[test]
fn linear_growth_is_a_leak_without_extension() {
    let (j, iters) = run(|t| (1024 * t as i64, t as i64));
    let g = growth(j);
    assert_eq!(g.verdict, SiteVerdict::Leak);
    assert_eq!(iters, 10_000);
    assert_eq!(g.bytes_per_iter, 1024.0);
    assert_eq!(g.blocks_per_iter, 1.0);
}

#[test]
fn rare_leak_is_a_leak_with_defaults() {
    // 8 bytes on one call in ten.
    let (j, iters) = run(|t| (8 * (t / 10) as i64, (t / 10) as i64));
    let g = growth(j);
    assert_eq!(g.verdict, SiteVerdict::Leak);
    assert_eq!(iters, 10_000);
    assert!((g.bytes_per_iter - 0.8).abs() < 0.01, "{g:?}");
    assert!((g.blocks_per_iter - 0.1).abs() < 0.001, "{g:?}");
}

#[test]
fn rare_leak_is_below_a_raised_floor() {
    let plan = Plan {
        thresholds: Thresholds {
            min_growth_bytes: 256,
            min_bytes_per_iter: 1.0,
        },
        ..plan(10_000)
    };
    let (j, _) = run_with(plan, 1, |t| (8 * (t / 10) as i64, (t / 10) as i64));
    assert_eq!(j, Judgement::NoGrowth);
}

#[test]
fn early_plateau_is_decided_at_once() {
    // A cache bounded at 1000 entries of 64 bytes.
    let (j, iters) = run(|t| (64 * t.min(1000) as i64, t.min(1000) as i64));
    assert_eq!(growth(j).verdict, SiteVerdict::Plateau);
    assert_eq!(iters, 10_000);
}

#[test]
fn late_plateau_needs_more_iterations() {
    for bound in [4_000, 6_000, 8_000, 9_500] {
        let (j, iters) = run(|t| (64 * t.min(bound) as i64, t.min(bound) as i64));
        assert_eq!(growth(j).verdict, SiteVerdict::Plateau, "bound {bound}");
        assert!(iters > 10_000, "bound {bound} decided at {iters}");
    }
}

#[test]
fn no_bounded_cache_is_a_leak() {
    for bound in (10..9_500).step_by(7) {
        let (j, _) = run(|t| (64 * t.min(bound) as i64, t.min(bound) as i64));
        assert_eq!(growth(j).verdict, SiteVerdict::Plateau, "bound {bound}");
    }
}

#[test]
fn plateau_past_the_cap_is_a_leak() {
    // Indistinguishable from a leak within max_iters: documented.
    let (j, _) = run(|t| (64 * t.min(100_000) as i64, t.min(100_000) as i64));
    assert_eq!(growth(j).verdict, SiteVerdict::Leak);
}

#[test]
fn sawtooth_with_several_periods_is_not_a_leak() {
    for period in [1_000, 2_000, 2_500, 3_000, 4_000] {
        let (j, _) = run(|t| (32 * (t % period) as i64, (t % period) as i64));
        assert_ne!(j.verdict(), Some(SiteVerdict::Leak), "period {period}");
    }
}

#[test]
fn sawtooth_never_aliases_into_a_leak() {
    // Every period up to 9000 calls, items or a Vec emptied by `take`.
    for warmup in [1, 7, 999] {
        for period in 5..=9_000 {
            let items = run_with(plan(10_000), warmup, |t| {
                (32 * (t % period) as i64, (t % period) as i64)
            });
            let buffer = run_with(plan(10_000), warmup, |t| {
                (8 * vec_cap(t % period), i64::from(t % period != 0))
            });
            for (what, (j, _)) in [("items", items), ("buffer", buffer)] {
                assert_ne!(
                    j.verdict(),
                    Some(SiteVerdict::Leak),
                    "{what}, period {period}, warmup {warmup}"
                );
            }
        }
    }
}

#[test]
fn evenly_spaced_snapshots_would_alias() {
    // Why the schedule is uneven: a period of 1200 calls seen every 1250
    // calls creeps forward by 50 calls per checkpoint.
    let series: Vec<Point> = (1..=8)
        .map(|i| {
            let len = (1 + 1250 * i) % 1200 - 1;
            Point {
                iters: 1250 * i,
                size_diff: 32 * len as i64,
                count_diff: len as i64,
            }
        })
        .collect();
    assert_eq!(
        judge(&series, &DEFAULTS, true).verdict(),
        Some(SiteVerdict::Leak)
    );
}

#[test]
fn leak_under_a_sawtooth_is_a_leak() {
    // 64 bytes kept per call, plus a buffer of 32-byte items emptied
    // every 1500 calls.
    let (j, _) = run(|t| {
        let buffered = (t % 1500) as i64;
        (64 * t as i64 + 32 * buffered, t as i64 + buffered)
    });
    assert_eq!(growth(j).verdict, SiteVerdict::Leak);
}

#[test]
fn leak_with_churn_is_a_leak() {
    // Some of what the line allocates is freed again at irregular times.
    for churn in [0.05, 0.2, 0.5, 0.9] {
        let (j, _) = run(|t| {
            let kept = (t as f64 * (1.0 - churn)) as i64;
            let pending = (((t * 7919) % 1000) as f64 * churn) as i64;
            (64 * (kept + pending), kept + pending)
        });
        assert_eq!(growth(j).verdict, SiteVerdict::Leak, "churn {churn}");
    }
}

#[test]
fn vec_push_doubling_is_a_leak() {
    // Up to a third of the run pushed before the baseline: a longer head
    // start puts the next doubling out of reach.
    for iters in [1_000, 10_000, 12_345] {
        for warmup in (1..=iters / 3).step_by(11) {
            for elem in [1, 8, 24] {
                let (j, _) = run_with(plan(iters), warmup, |t| (elem * vec_cap(t), 1));
                let g = growth(j);
                assert_eq!(g.verdict, SiteVerdict::Leak, "{warmup} {iters} {elem}");
                assert_eq!(g.blocks_per_iter, 0.0);
            }
        }
    }
}

#[test]
fn rare_vec_push_is_a_leak() {
    // One u64 pushed on one call in ten.
    let (j, _) = run(|t| (8 * vec_cap(t / 10), 1));
    assert_eq!(growth(j).verdict, SiteVerdict::Leak);
}

#[test]
fn scratch_buffer_grown_once_is_not_a_leak() {
    // Grown during warm-up: nothing retained after the baseline.
    let (j, _) = run(|t| (if t >= 1 { 65_536 } else { 0 }, 1));
    assert_eq!(j, Judgement::NoGrowth);
    // Grown on the third call, and by doubling over the first hundred.
    let (j, iters) = run(|t| (if t >= 3 { 65_536 } else { 1024 }, 1));
    assert_eq!((growth(j).verdict, iters), (SiteVerdict::Plateau, 10_000));
    let (j, _) = run(|t| (vec_cap(t.min(100) * 40), 1));
    assert_eq!(growth(j).verdict, SiteVerdict::Plateau);
}

#[test]
fn hashmap_growth_is_a_leak() {
    // u64 keys: one table block whose bytes step at each resize.
    let (j, _) = run(|t| (table_bytes(t), 1));
    assert_eq!(growth(j).verdict, SiteVerdict::Leak);
    // String values allocated on the insert line: the count grows too.
    let (j, _) = run(|t| (table_bytes(t) + 8 * t as i64, 1 + t as i64));
    let g = growth(j);
    assert_eq!(g.verdict, SiteVerdict::Leak);
    assert!((g.blocks_per_iter - 1.0).abs() < 0.01, "{g:?}");
    // Entries kept in 4 KiB chunks: the count grows in steps.
    let (j, _) = run(|t| {
        let chunks = (t / 512 + 1) as i64;
        (4096 * chunks + table_bytes(t), chunks)
    });
    assert_eq!(growth(j).verdict, SiteVerdict::Leak);
}

#[test]
fn bounded_hashmap_is_not_a_leak() {
    let (j, _) = run(|t| (table_bytes(t.min(2_000)), 1));
    assert_eq!(growth(j).verdict, SiteVerdict::Plateau);
}

#[test]
fn small_noise_is_not_a_leak() {
    let wobble = |t: u64, amplitude: u64| (t.wrapping_mul(2_654_435_761) >> 7) % amplitude;
    let (j, _) = run(|t| (wobble(t, 200) as i64 - 100, 0));
    assert_eq!(j, Judgement::NoGrowth);
    let (j, _) = run(|t| (wobble(t, 600) as i64, 0));
    assert_ne!(j.verdict(), Some(SiteVerdict::Leak));
    // Under the floor in all: 16 bytes per thousand calls.
    let (j, _) = run(|t| (16 * (t / 1000) as i64, (t / 1000) as i64));
    assert_eq!(j, Judgement::NoGrowth);
}

#[test]
fn one_late_allocation_is_a_plateau() {
    for at in [6_000, 9_000, 9_990] {
        let (j, iters) = run(|t| (if t > at { 4096 } else { 0 }, i64::from(t > at)));
        assert_eq!(growth(j).verdict, SiteVerdict::Plateau, "at {at}");
        assert!(iters > 10_000);
    }
    for at in (1..10_000).step_by(13) {
        let (j, _) = run(|t| (if t > at { 4096 } else { 0 }, i64::from(t > at)));
        assert_eq!(growth(j).verdict, SiteVerdict::Plateau, "at {at}");
    }
}

#[test]
fn freed_memory_is_no_growth() {
    let (j, _) = run(|t| (if t > 100 { 0 } else { 1 << 20 }, 0));
    assert_eq!(j, Judgement::NoGrowth);
}

#[test]
fn cap_decides_deterministically() {
    // Growth in the last half, last stretch flat.
    let series = [(2_500, 0), (5_000, 1000), (7_500, 4000), (10_000, 4000)].map(|(n, s)| Point {
        iters: n,
        size_diff: s,
        count_diff: 0,
    });
    assert_eq!(judge(&series, &DEFAULTS, false), Judgement::Ambiguous);
    assert_eq!(
        judge(&series, &DEFAULTS, true).verdict(),
        Some(SiteVerdict::Leak)
    );
    // Growth between a third and a half, last half flat.
    let series = [(2_500, 0), (5_000, 4000), (7_500, 4000), (10_000, 4000)].map(|(n, s)| Point {
        iters: n,
        size_diff: s,
        count_diff: 0,
    });
    assert_eq!(judge(&series, &DEFAULTS, false), Judgement::Ambiguous);
    assert_eq!(
        judge(&series, &DEFAULTS, true).verdict(),
        Some(SiteVerdict::Plateau)
    );
}

#[test]
fn the_envelope_is_the_least_held_from_then_on() {
    let points = [(0, 0), (10, 500), (20, 300), (30, 900), (40, 800)];
    assert_eq!(
        lower_envelope(&points),
        [(0, 0), (10, 300), (20, 300), (30, 800), (40, 800)]
    );
    assert_eq!(lower_envelope::<u64, i64>(&[]), []);
}

#[test]
fn a_share_counts_the_checkpoint_exactly_at_the_boundary() {
    // 10 of 30 calls is exactly a third: its growth is inside the first third.
    let envelope = [(0, 0.0), (10, 600.0), (30, 1000.0)];
    assert_eq!(envelope_share(&envelope, 1, 3), 0.6);
    assert_eq!(envelope_share(&[(0, 5.0), (10, 5.0)], 1, 2), 0.0);
}
