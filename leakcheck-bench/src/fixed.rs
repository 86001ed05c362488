//! The fixed cost of leakcheck in one process: `start`, two snapshots, a
//! `compare_to` and the report's first lines, as a leak test pays once in
//! the process of its own it runs in. Measured in a small binary and in a
//! large one (see [`exercise_large`]), since symbolising reads debug info
//! that grows with the binary.

use std::hint::black_box;

use leakcheck_rt::KeyType;

use crate::probe;
use crate::tracing::Metrics;

/// Lines of the report the measure formats (as a leak test's report does).
const REPORT_LINES: usize = 10;

#[inline(never)]
fn retain(out: &mut Vec<Box<[u8]>>, n: usize) {
    for i in 0..n {
        out.push(vec![i as u8; 64].into_boxed_slice());
    }
}

/// Allocates a little between two snapshots and reports the difference;
/// untracked (`tracked == false`), only the allocations. Reports the
/// process's CPU time and peak RSS so far: the driver subtracts those of
/// the System binary, which does the same work untracked.
pub fn fixed_cost(tracked: bool) -> Metrics {
    let mut held = Vec::new();
    retain(&mut held, 100);
    let before = tracked.then(leakcheck_rt::take_snapshot);
    retain(&mut held, 1_000);
    if let Some(before) = before {
        let after = leakcheck_rt::take_snapshot();
        let report: Vec<String> = after
            .compare_to(&before, KeyType::Lineno)
            .iter()
            .take(REPORT_LINES)
            .map(ToString::to_string)
            .collect();
        assert!(
            report.first().is_some_and(|l| l.contains("fixed.rs")),
            "the top line is the retaining loop: {report:?}"
        );
        black_box(report);
    }
    black_box(&held);
    let (cpu_nanos, max_rss) = probe::process_totals();
    vec![
        ("process_cpu_nanos", cpu_nanos as f64),
        ("max_rss_bytes", max_rss as f64),
    ]
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    id: u64,
    name: String,
    tags: Vec<String>,
}

/// What the large binaries do before [`fixed_cost`]: a little of tokio,
/// regex and serde, so that they link the three and carry their debug info.
pub fn exercise_large() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime");
    let sum: u64 = runtime.block_on(async {
        let tasks: Vec<_> = (0..8u64)
            .map(|i| tokio::spawn(async move { i * i }))
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.expect("task");
        }
        sum
    });
    drop(runtime);
    let re = regex::Regex::new(r"^(\w+)-(\d+)$").expect("a valid regex");
    let record = Record {
        id: sum,
        name: "item-140".into(),
        tags: vec!["a".into(), "b".into()],
    };
    let json = serde_json::to_string(&record).expect("serialisable");
    let back: Record = serde_json::from_str(&json).expect("round trip");
    let caps = re.captures(&back.name).expect("matches");
    assert_eq!((&caps[2], back.id, back.tags.len()), ("140", 140, 2));
}
