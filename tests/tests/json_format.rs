//! leakcheck-rt writes and reads its files with its own JSON code, not
//! serde_json (see `dependencies.rs`). Checked here against serde_json
//! itself: every file is byte for byte what serde_json writes, every file
//! reads with serde_json (as cargo-leakcheck and other tools read them), and
//! a broken file gets serde_json's message, on the samples cut at every byte
//! and on the fuzz corpus.

#[path = "../../leakcheck-rt/tests/loaders/samples.rs"]
mod samples;

use std::path::Path;

use leakcheck_rt::report::{Report, TestReport};
use leakcheck_rt::session::SessionRecord;
use leakcheck_rt::{FileError, Snapshot};
use leakcheck_tests::workspace_root;
use serde::Serialize;

/// The per-test report as leakcheck writes it: its version, then its fields.
#[derive(Serialize)]
struct Versioned<'a> {
    version: u32,
    #[serde(flatten)]
    report: &'a TestReport,
}

fn serde_json_test_report(report: &TestReport) -> String {
    let versioned = Versioned { version: 1, report };
    serde_json::to_string_pretty(&versioned).unwrap() + "\n"
}

#[test]
fn reports_are_what_serde_json_writes() {
    let report = samples::report();
    assert_eq!(
        report.to_json(),
        serde_json::to_string_pretty(&report).unwrap() + "\n"
    );
    let test = samples::test_report();
    assert_eq!(test.to_json(), serde_json_test_report(&test));
    assert_eq!(
        serde_json::from_str::<Report>(&report.to_json()).unwrap(),
        report
    );
    assert_eq!(
        serde_json::from_str::<TestReport>(&test.to_json()).unwrap(),
        test
    );
}

#[test]
fn rates_are_written_as_serde_json_writes_them() {
    let mut report = samples::test_report();
    let mut bits: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..3000 {
        bits ^= bits << 13;
        bits ^= bits >> 7;
        bits ^= bits << 17;
        // Whole bit patterns, and rates of the size reports hold.
        let rate = if i % 2 == 0 {
            f64::from_bits(bits)
        } else {
            (bits % 10_000_000) as f64 / [1.0, 3.0, 7.0, 1024.0][(bits % 4) as usize]
        };
        if !rate.is_finite() {
            continue;
        }
        report.sites[0].bytes_per_iter = rate;
        let json = report.to_json();
        assert_eq!(json, serde_json_test_report(&report), "{rate:e}");
        let back = serde_json::from_str::<TestReport>(&json).unwrap();
        assert_eq!(back.sites[0].bytes_per_iter.to_bits(), rate.to_bits());
    }
}

/// A snapshot's file form, as `Snapshot::to_json` lays it out: frames once,
/// in first-seen order; traces as frame indices.
#[derive(Serialize)]
struct FileSnapshot<'a> {
    format: &'static str,
    version: u32,
    traceback_limit: usize,
    frames: Vec<&'a leakcheck_rt::Frame>,
    traces: Vec<FileTrace>,
}

#[derive(Serialize)]
struct FileTrace {
    size: u64,
    count: u64,
    frames: Vec<u32>,
}

fn file_form(snapshot: &Snapshot) -> FileSnapshot<'_> {
    let mut frames: Vec<&leakcheck_rt::Frame> = Vec::new();
    let traces = snapshot
        .traces()
        .iter()
        .map(|t| FileTrace {
            size: t.size,
            count: t.count,
            frames: t
                .traceback
                .frames()
                .iter()
                .map(|f| {
                    let i = frames.iter().position(|g| *g == f).unwrap_or_else(|| {
                        frames.push(f);
                        frames.len() - 1
                    });
                    i as u32
                })
                .collect(),
        })
        .collect();
    FileSnapshot {
        format: "leakcheck-snapshot",
        version: 1,
        traceback_limit: snapshot.traceback_limit(),
        frames,
        traces,
    }
}

#[derive(Serialize)]
struct FileRecord<'a> {
    format: &'static str,
    version: u32,
    leak_tests: &'a [String],
    per_test: Vec<FileDelta<'a>>,
    live: FileSnapshot<'a>,
}

#[derive(Serialize)]
struct FileDelta<'a> {
    test: &'a str,
    retained: FileSnapshot<'a>,
}

#[test]
fn snapshots_and_session_records_are_what_serde_json_writes() {
    let snapshot = samples::snapshot();
    assert_eq!(
        snapshot.to_json(),
        serde_json::to_string(&file_form(&snapshot)).unwrap()
    );
    let record = samples::session_record();
    let live = record.live.to_snapshot();
    let retained: Vec<_> = record
        .per_test
        .iter()
        .map(|d| d.retained.to_snapshot())
        .collect();
    let file = FileRecord {
        format: "leakcheck-session",
        version: 1,
        leak_tests: &record.leak_tests,
        per_test: record
            .per_test
            .iter()
            .zip(&retained)
            .map(|(d, retained)| FileDelta {
                test: &d.test,
                retained: file_form(retained),
            })
            .collect(),
        live: file_form(&live),
    };
    assert_eq!(record.to_json(), serde_json::to_string(&file).unwrap());
}

#[test]
fn snapshots_and_session_records_read_with_serde_json() {
    for json in [
        samples::snapshot().to_json(),
        samples::session_record().to_json(),
    ] {
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["version"], serde_json::json!(1), "{json}");
        assert!(!json.contains('\n'), "compact: {json}");
    }
}

/// serde_json's message with control characters escaped, as leakcheck's
/// loaders print it.
fn escaped(err: &serde_json::Error) -> String {
    err.to_string()
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Why leakcheck's loaders found `data` corrupt, if they did.
fn corrupt_reasons(data: &[u8]) -> Vec<(&'static str, Option<String>)> {
    let reason = |e: FileError| match e {
        FileError::Corrupt { reason, .. } => Some(reason),
        _ => None,
    };
    vec![
        (
            "snapshot",
            Snapshot::from_json_bytes(data, "data")
                .err()
                .and_then(reason),
        ),
        (
            "session record",
            SessionRecord::from_json_bytes(data, "data")
                .err()
                .and_then(reason),
        ),
        (
            "report",
            Report::from_json_bytes(data, "data").err().and_then(reason),
        ),
        (
            "per-test report",
            TestReport::from_json_bytes(data, "data")
                .err()
                .and_then(reason),
        ),
    ]
}

/// Broken JSON gets serde_json's message from every loader; for reports,
/// a field of the wrong type gets serde_json's message too, and what loads
/// loads as serde_json reads it.
fn agrees_with_serde_json(data: &[u8], what: &str) {
    if data.trim_ascii().is_empty() {
        return;
    }
    match serde_json::from_slice::<serde_json::Value>(data) {
        Err(want) => {
            for (loader, got) in corrupt_reasons(data) {
                assert_eq!(got, Some(escaped(&want)), "{loader}, {what}");
            }
        }
        Ok(_) => {
            match (
                Report::from_json_bytes(data, "data"),
                serde_json::from_slice::<Report>(data),
            ) {
                (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{what}"),
                (Err(FileError::Corrupt { reason, .. }), Err(want))
                    if !reason.starts_with("format version") =>
                {
                    assert_eq!(reason, escaped(&want), "report, {what}")
                }
                _ => {}
            }
            match (
                TestReport::from_json_bytes(data, "data"),
                serde_json::from_slice::<TestReport>(data),
            ) {
                (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{what}"),
                (Err(FileError::Corrupt { reason, .. }), Err(want))
                    if !reason.starts_with("format version") =>
                {
                    assert_eq!(reason, escaped(&want), "per-test report, {what}")
                }
                _ => {}
            }
        }
    }
}

#[test]
fn cut_and_bit_flipped_samples_get_serde_json_messages() {
    for json in [
        samples::snapshot().to_json(),
        samples::session_record().to_json(),
        samples::report().to_json(),
        samples::test_report().to_json(),
    ] {
        let bytes = json.as_bytes();
        for end in (0..bytes.len()).step_by(7) {
            agrees_with_serde_json(&bytes[..end], &format!("first {end} bytes"));
        }
        for bit in (0..bytes.len() * 8).step_by(23) {
            let mut flipped = bytes.to_vec();
            flipped[bit / 8] ^= 1 << (bit % 8);
            agrees_with_serde_json(&flipped, &format!("bit {bit} flipped"));
        }
    }
}

#[test]
fn the_fuzz_corpus_gets_serde_json_messages() {
    let mut seen = 0;
    for target in ["report_load", "session_load", "snapshot_load"] {
        let dir = workspace_root().join("fuzz/corpus").join(target);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            agrees_with_serde_json(&data, &display(&path));
            seen += 1;
        }
    }
    assert!(seen > 100, "{seen} corpus files");
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
