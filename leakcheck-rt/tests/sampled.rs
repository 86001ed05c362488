//! Sampled tracking in a process of its own: estimates within their stated
//! error of the truth, frees taken back by the same weight, snapshots that
//! say they are estimates; snapshots on demand, by a call and by a signal.

use std::hint::black_box;
use std::path::Path;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use leakcheck_rt::{KeyType, SampleRate, Snapshot};

leakcheck_rt::install!();

/// Tests here start and stop tracing: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn line_of(marker: &str) -> u32 {
    let source = include_str!("sampled.rs");
    let index = source
        .lines()
        .position(|l| l.contains(marker) && !l.contains("line_of"))
        .expect("marker");
    index as u32 + 1
}

/// The estimated (bytes, blocks) at `line` of this file.
fn at_line(snapshot: &Snapshot, line: u32) -> (u64, u64) {
    snapshot
        .statistics(KeyType::Lineno)
        .iter()
        .find(|s| {
            s.traceback
                .frames()
                .last()
                .is_some_and(|f| f.file.ends_with("sampled.rs") && f.line == line)
        })
        .map_or((0, 0), |s| (s.size, s.count))
}

/// `true` when `estimate` is within `sds` standard deviations of `n`
/// blocks of `size` bytes sampled at `rate`.
fn within(estimate: u64, n: u64, size: u64, rate: SampleRate, sds: f64) -> bool {
    let p = rate.probability(size);
    let sd = (n as f64 * (1.0 - p) / p).sqrt();
    (estimate as f64 - n as f64).abs() <= sds * sd
}

/// The estimate at a line, `(bytes, blocks)`, for `n` live blocks of
/// `size` bytes: the blocks within 5 standard deviations, the mean size
/// within a byte (16 for blocks over a KiB).
fn assert_estimated(what: &str, (bytes, count): (u64, u64), n: u64, size: u64, rate: SampleRate) {
    assert!(
        within(count, n, size, rate, 5.0),
        "{what}: {count} blocks estimated for {n}"
    );
    let slack = if size > 1024 { 16.0 } else { 1.0 };
    assert!((bytes as f64 / count.max(1) as f64 - size as f64).abs() < slack);
}

#[test]
fn estimates_are_within_their_error_and_frees_take_back_their_weight() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rate = SampleRate::new(64 << 10, 64);
    leakcheck_rt::start_sampled(25, rate);
    assert_eq!(leakcheck_rt::sample_rate(), Some(rate));
    let n = 100_000u64;
    let mut small: Vec<Box<[u8; 48]>> = Vec::with_capacity(n as usize);
    let mut large: Vec<Vec<u8>> = Vec::with_capacity(n as usize / 10);
    for i in 0..n {
        small.push(Box::new([i as u8; 48])); // sampled: small
        if i % 10 == 0 {
            large.push(vec![i as u8; 4096]); // sampled: large
        }
    }
    let snapshot = leakcheck_rt::take_snapshot();
    let sampling = snapshot.sampling().expect("a sampled snapshot says so");
    assert_eq!((sampling.mean_bytes, sampling.min_one_in), (64 << 10, 64));
    assert!(
        sampling
            .describe()
            .starts_with("estimated, 1 sample per 64 KiB")
    );
    let memory = snapshot.origin().unwrap().memory.clone().expect("RSS");
    assert!(memory.rss_bytes > 4 << 20, "{memory:?}");

    // 5 standard deviations: about 2% of 100,000 small blocks, 6% of the
    // 10,000 large ones.
    let small_estimate = at_line(&snapshot, line_of("sampled: small"));
    assert_estimated("small", small_estimate, n, 48, rate);
    assert_estimated(
        "large",
        at_line(&snapshot, line_of("sampled: large")),
        n / 10,
        4096,
        rate,
    );

    // Every block freed: every weight taken back, to the block.
    drop(black_box(small));
    drop(black_box(large));
    let after = leakcheck_rt::take_snapshot();
    assert_eq!(at_line(&after, line_of("sampled: small")), (0, 0));
    assert_eq!(at_line(&after, line_of("sampled: large")), (0, 0));

    // `start` goes back to exact counts.
    leakcheck_rt::start(25);
    assert_eq!(leakcheck_rt::sample_rate(), None);
    let mut exact: Vec<Box<[u8; 48]>> = Vec::with_capacity(1000);
    for _ in 0..1000 {
        exact.push(Box::new([0u8; 48])); // exact again
    }
    let snapshot = leakcheck_rt::take_snapshot();
    assert!(snapshot.sampling().is_none());
    assert_eq!(
        at_line(&snapshot, line_of("exact again")),
        (48 * 1000, 1000)
    );
    drop(exact);
    leakcheck_rt::stop();
}

/// Blocks that sampled tracking passes over and the ones it picks go
/// through `realloc` and `alloc_zeroed` as through `alloc`: a grown block
/// is sampled by its new size and charged to the line that grew it, and
/// the block it was grown from gives its weight back.
#[test]
fn reallocs_and_zeroed_blocks_are_sampled_by_their_new_size() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rate = SampleRate::new(64 << 10, 64);
    leakcheck_rt::start_sampled(25, rate);
    let n = 100_000u64;
    let mut grown: Vec<Vec<u8>> = Vec::with_capacity(n as usize);
    let mut zeroed: Vec<Vec<u64>> = Vec::with_capacity(n as usize / 10);
    for i in 0..n {
        let mut v: Vec<u8> = Vec::with_capacity(16); // sampled: before growing
        v.push(i as u8);
        v.reserve_exact(96); // sampled: grown
        grown.push(black_box(v));
        if i % 10 == 0 {
            zeroed.push(vec![0u64; 512]); // sampled: zeroed
        }
    }
    let snapshot = leakcheck_rt::take_snapshot();
    assert!(snapshot.sampling().is_some());
    // Every block allocated there was grown: its weight went with it.
    assert_eq!(
        at_line(&snapshot, line_of("sampled: before growing")),
        (0, 0)
    );
    assert_estimated(
        "grown",
        at_line(&snapshot, line_of("sampled: grown")),
        n,
        97,
        rate,
    );
    assert_estimated(
        "zeroed",
        at_line(&snapshot, line_of("sampled: zeroed")),
        n / 10,
        4096,
        rate,
    );
    assert!(grown.iter().all(|v| v.capacity() == 97));
    assert!(zeroed.iter().all(|v| v.iter().all(|&x| x == 0)));

    drop(black_box(grown));
    drop(black_box(zeroed));
    let after = leakcheck_rt::take_snapshot();
    assert_eq!(at_line(&after, line_of("sampled: grown")), (0, 0));
    assert_eq!(at_line(&after, line_of("sampled: zeroed")), (0, 0));
    leakcheck_rt::stop();
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

fn wait_for_files(dir: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while files_in(dir) < n {
        assert!(Instant::now() < deadline, "timed out waiting for {n} files");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn snapshots_on_demand_come_from_a_call_and_a_signal_and_nothing_else() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    leakcheck_rt::start_sampled(25, SampleRate::default());
    let dumps = leakcheck_rt::dump_on_demand(dir.path()).unwrap();
    assert_eq!(
        leakcheck_rt::sample_rate(),
        Some(SampleRate::default()),
        "dumping keeps tracing sampled"
    );
    thread::sleep(Duration::from_millis(100));
    assert_eq!(files_in(dir.path()), 0, "no timer");
    dumps.dump_now();
    wait_for_files(dir.path(), 1);
    dumps.dump_on_signal(libc::SIGUSR2).unwrap();
    assert!(
        dumps.dump_on_signal(libc::SIGUSR1).is_err(),
        "one signal per guard"
    );
    // SAFETY: the guard's handler for SIGUSR2 is installed.
    unsafe { libc::raise(libc::SIGUSR2) };
    wait_for_files(dir.path(), 2);
    assert_eq!(dumps.stop().unwrap(), 2);
    // After the stop the signal is ignored, not fatal.
    // SAFETY: as above; the handler stays, writing nothing.
    unsafe { libc::raise(libc::SIGUSR2) };
    thread::sleep(Duration::from_millis(50));
    assert_eq!(files_in(dir.path()), 2);
    let second = Snapshot::load(dir.path().join("snapshot-000002.json")).unwrap();
    assert!(second.sampling().is_some(), "the dumps are sampled");
    assert!(
        leakcheck_rt::is_tracing(),
        "the guard did not start tracing"
    );
    leakcheck_rt::stop();
}
