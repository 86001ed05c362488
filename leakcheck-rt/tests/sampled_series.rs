//! How long a sampled service takes to be flagged: a simulated service
//! under the real sampled allocator at the default rate (one sample per
//! 512 KiB, at least one in 1,024 allocations), leaking 1 KiB per request
//! at 10 requests a second, dumped every 10 simulated seconds; the series
//! is judged after each dump, as `cargo leakcheck diff` would judge the
//! dumps so far. The README's figures are these: the time to the first
//! `leak` verdict, against the wait for five samples (the series judge's
//! module docs): with `λ = r · p(s) / s` samples a second, a median of
//! `4.67/λ` and 9 in 10 within `8.0/λ`, plus up to one dump interval. A
//! bounded cache under the same load is never flagged.

use std::collections::VecDeque;
use std::hint::black_box;

use leakcheck_rt::report::SiteVerdict;
use leakcheck_rt::{SampleRate, Snapshot, SnapshotOrigin};

leakcheck_rt::install!();

const REQUESTS_PER_SEC: u64 = 10;
const LEAK_BYTES: usize = 1024;
const DUMP_EVERY_SECS: u64 = 10;
/// Simulated time a run may take before it counts as not flagged.
const CAP_SECS: u64 = 40 * 60;
const TRIALS: usize = 60;

/// One request: some churn freed at once, and what the service keeps.
fn request(id: u64, keep: &mut dyn FnMut(Box<[u8; LEAK_BYTES]>)) {
    let scratch = black_box(format!("request {id:08} with a body of some length"));
    let parsed: Vec<u8> = black_box(scratch.into_bytes());
    keep(Box::new([parsed.len() as u8; LEAK_BYTES])); // the kept entry
}

/// A snapshot now, stamped with the simulated time.
fn dump(seq: u64, secs: u64) -> Snapshot {
    let snapshot = leakcheck_rt::take_snapshot();
    let origin = SnapshotOrigin {
        seq,
        uptime_ms: secs * 1000,
        taken_at_ms: 1_000_000 + secs * 1000,
        ..snapshot.origin().cloned().unwrap()
    };
    snapshot.with_origin(origin)
}

fn kept_line() -> u32 {
    include_str!("sampled_series.rs")
        .lines()
        .position(|l| l.contains("// the kept entry"))
        .unwrap() as u32
        + 1
}

/// Runs the simulated service (`bounded`: a cache of 200 entries) until its
/// kept line is judged a leak; the simulated seconds that took, or `None`
/// by the cap.
fn seconds_to_flag(bounded: bool) -> Option<u64> {
    leakcheck_rt::start_sampled(25, SampleRate::default());
    let line = kept_line();
    let mut leaked: Vec<Box<[u8; LEAK_BYTES]>> =
        Vec::with_capacity((CAP_SECS * REQUESTS_PER_SEC) as usize + 1);
    let mut cache: VecDeque<Box<[u8; LEAK_BYTES]>> = VecDeque::with_capacity(201);
    let mut keep = |entry: Box<[u8; LEAK_BYTES]>| {
        if bounded {
            if cache.len() == 200 {
                cache.pop_front();
            }
            cache.push_back(entry);
        } else {
            leaked.push(entry);
        }
    };
    let mut id = 0;
    // Warm-up: a minute of requests before the first dump.
    for _ in 0..60 * REQUESTS_PER_SEC {
        request(id, &mut keep);
        id += 1;
    }
    let mut series = vec![dump(1, 0)];
    let mut flagged = None;
    for secs in (DUMP_EVERY_SECS..=CAP_SECS).step_by(DUMP_EVERY_SECS as usize) {
        for _ in 0..DUMP_EVERY_SECS * REQUESTS_PER_SEC {
            request(id, &mut keep);
            id += 1;
        }
        series.push(dump(series.len() as u64 + 1, secs));
        if series.len() < 3 {
            continue;
        }
        let refs: Vec<&Snapshot> = series.iter().collect();
        let judged = leakcheck_rt::judge_series(&refs, 256);
        let leaks = judged.sites.iter().any(|s| {
            s.report.verdict == SiteVerdict::Leak
                && s.report.file.ends_with("sampled_series.rs")
                && s.report.line == line
        });
        if leaks {
            flagged = Some(secs);
            break;
        }
    }
    drop(black_box(leaked));
    drop(black_box(cache));
    leakcheck_rt::stop();
    flagged
}

#[test]
fn a_sampled_leak_is_flagged_in_the_documented_time_and_a_bounded_cache_never() {
    let rate = SampleRate::default();
    let p = rate.probability(LEAK_BYTES as u64);
    // Samples of the leak per second.
    let lambda = REQUESTS_PER_SEC as f64 * p;
    let interval = DUMP_EVERY_SECS as f64;
    let median_expected = 4.67 / lambda + interval / 2.0;
    let ninth_expected = 8.0 / lambda + interval;
    let mut times: Vec<u64> = (0..TRIALS)
        .map(|_| seconds_to_flag(false).expect("the leak is flagged within 40 minutes"))
        .collect();
    times.sort_unstable();
    let median = times[TRIALS / 2] as f64;
    let ninth = times[TRIALS * 9 / 10] as f64;
    eprintln!(
        "flagged after (s): {times:?}; median {median} s (expected {median_expected:.0} s), \
         9 in 10 within {ninth} s (expected {ninth_expected:.0} s)"
    );
    // The README: 1 KiB per request at 10 requests a second, default
    // rate: a median of about 2.9 minutes, 9 in 10 within 4.7 minutes.
    assert!(
        (0.75 * median_expected..=1.3 * median_expected).contains(&median),
        "median {median} s against {median_expected:.0} s: {times:?}"
    );
    assert!(
        ninth <= 1.4 * ninth_expected,
        "9 in 10 within {ninth} s against {ninth_expected:.0} s: {times:?}"
    );

    for trial in 0..TRIALS / 3 {
        assert_eq!(
            seconds_to_flag(true),
            None,
            "trial {trial}: a bounded cache was flagged"
        );
    }
}
