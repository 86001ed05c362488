//! Writes the seed corpus of each fuzz target: valid files made by the real
//! writers (one snapshot taken live by the tracking allocator) and a few
//! broken ones.
//!
//! `cargo run --example seed_corpus` (from `fuzz/`) writes into
//! `fuzz/corpus/<target>/`; an argument names another directory.

#[path = "../../leakcheck-rt/tests/loaders/samples.rs"]
mod samples;

use std::collections::HashMap;
use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use leakcheck_rt::report::{Report, SessionReport, SessionVerdict};
use leakcheck_rt::session::{SessionRecord, TestDelta};
use leakcheck_rt::{Filter, Snapshot};

leakcheck_rt::install!();

/// A live snapshot of a cache that keeps every payload, from this file only.
fn live_snapshot() -> (Snapshot, Snapshot) {
    let mut cache: HashMap<u64, Vec<u8>> = HashMap::new();
    leakcheck_rt::start(25);
    let before = leakcheck_rt::take_snapshot();
    for id in 0..100 {
        cache.insert(id, vec![0u8; 1024]);
    }
    let names: Vec<String> = (0..10).map(|i| format!("name-{i}")).collect();
    let after = leakcheck_rt::take_snapshot();
    black_box((&cache, &names));
    leakcheck_rt::stop();
    let only_here = [Filter::include("*seed_corpus.rs")];
    (
        before.filter_traces(&only_here),
        after.filter_traces(&only_here),
    )
}

/// The file cut in half, its version made 2, and a few files that are not
/// this format at all.
fn broken(valid: &str, other_format: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("truncated", valid.as_bytes()[..valid.len() / 2].to_vec()),
        (
            "version-2",
            valid
                .replacen("\"version\":1", "\"version\":2", 1)
                .replacen("\"version\": 1", "\"version\": 2", 1)
                .into_bytes(),
        ),
        ("other-format", other_format.as_bytes().to_vec()),
        ("array", b"[]".to_vec()),
        ("empty", Vec::new()),
    ]
}

fn write(dir: &Path, files: &[(&str, Vec<u8>)]) {
    fs::create_dir_all(dir).expect("create the corpus directory");
    for (name, data) in files {
        let path = dir.join(format!("seed-{name}.json"));
        fs::write(&path, data).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    println!("{}: {} seeds", dir.display(), files.len());
}

fn main() {
    let root = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus"),
        PathBuf::from,
    );
    let (before, after) = live_snapshot();
    assert!(!after.traces().is_empty(), "the live snapshot saw nothing");

    let snapshot = samples::snapshot().to_json();
    let session = samples::session_record().to_json();
    let report = samples::report().to_json();

    let mut files = vec![
        ("live", after.to_json().into_bytes()),
        ("sample", snapshot.clone().into_bytes()),
        ("no-traces", Snapshot::default().to_json().into_bytes()),
    ];
    files.extend(broken(&snapshot, &session));
    write(&root.join("snapshot_load"), &files);

    let live_record = SessionRecord {
        leak_tests: Vec::new(),
        per_test: vec![TestDelta {
            test: "caches_every_payload".into(),
            retained: (&after).into(),
        }],
        live: after.into(),
    };
    let mut files = vec![
        ("live", live_record.to_json().into_bytes()),
        ("sample", session.clone().into_bytes()),
    ];
    files.extend(broken(&session, &snapshot));
    write(&root.join("session_load"), &files);

    let clean = Report {
        version: 1,
        tests: Vec::new(),
        session: SessionReport {
            verdict: SessionVerdict::Clean,
            sites: Vec::new(),
        },
        unwinder: Vec::new(),
    };
    let mut files = vec![
        ("sample", report.clone().into_bytes()),
        ("per-test", samples::test_report().to_json().into_bytes()),
        ("clean", clean.to_json().into_bytes()),
    ];
    files.extend(broken(&report, &before.to_json()));
    write(&root.join("report_load"), &files);
}
