//! What `cargo leakcheck diff` holds in memory: a series is folded one
//! snapshot at a time, so a long series of dumps costs little more than two
//! of them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const SNAPSHOTS: usize = 2000;
const TRACES: usize = 150;

/// Snapshot `i` of one process: `TRACES` traces of 12 frames, every 25th
/// growing with `i`. About 30 KiB of JSON, and about 300 KiB as a loaded
/// snapshot, whose every frame holds its own strings.
fn snapshot_json(i: usize) -> String {
    let frame = |file: String, line: usize, function: String, kind: &str| serde_json::json!({ "file": file, "line": line, "function": function, "kind": kind });
    let mut frames: Vec<_> = (0..8)
        .map(|f| {
            frame(
                format!("src/server/layer_{f}.rs"),
                10 + f,
                format!("service::server::layer_{f}::Handler<service::Config>::call"),
                "workspace",
            )
        })
        .collect();
    frames.extend((0..20).map(|m| {
        frame(
            format!("src/routes/route_{m}.rs"),
            20 + m,
            format!("service::routes::route_{m}::handle_request"),
            "workspace",
        )
    }));
    frames.extend((0..TRACES).map(|t| {
        frame(
            format!("src/model/entity_{}.rs", t / 4),
            100 + t,
            format!("service::model::entity_{}::Entity::build_from_row", t / 4),
            "workspace",
        )
    }));
    let std = frames.len();
    frames.push(frame(
        "/rustc/0000/library/alloc/src/vec/mod.rs".into(),
        1000,
        "alloc::vec::Vec<T,A>::push".into(),
        "std",
    ));
    let traces: Vec<_> = (0..TRACES)
        .map(|t| {
            let grows = t % 25 == 0;
            let mut path: Vec<usize> = (0..8).collect();
            path.extend([8 + t % 20, 28 + t, std]);
            serde_json::json!({
                "size": 4096 + if grows { 512 * i } else { 0 },
                "count": 4 + if grows { i } else { 0 },
                "frames": path,
            })
        })
        .collect();
    let uptime = i as u64 * 60_000;
    serde_json::json!({
        "format": "leakcheck-snapshot",
        "version": 1,
        "traceback_limit": 25,
        "frames": frames,
        "traces": traces,
        "origin": {
            "leakcheck": "0.1.0",
            "pid": 4242,
            "process_started_ms": 1_700_000_000_000u64,
            "seq": i + 1,
            "uptime_ms": uptime,
            "taken_at_ms": 1_700_000_000_000u64 + uptime,
        },
    })
    .to_string()
}

/// The peak RSS of a process, in KiB, from its `/proc` status.
fn peak_kib(status_file: &Path) -> Option<u64> {
    std::fs::read_to_string(status_file)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[test]
#[cfg(target_os = "linux")]
fn a_diff_of_2000_snapshots_holds_no_more_than_a_few() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (0..SNAPSHOTS)
        .map(|i| {
            let path = dir.path().join(format!("leakcheck-{:06}.json", i + 1));
            std::fs::write(&path, snapshot_json(i)).unwrap();
            path
        })
        .collect();
    let one_file = std::fs::metadata(&files[0]).unwrap().len();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-leakcheck"))
        .args(["leakcheck", "diff", "--color", "never", "--json"])
        .arg(dir.path().join("report.json"))
        .args(&files)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The peak is read while it runs (`wait4` would not say more: its
    // peak is the process's own, but std's `wait` does not return it).
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_kib(&status_file) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(status.code(), Some(1), "the growing sites are leaks");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let sites = report["tests"][0]["sites"].as_array().unwrap();
    assert_eq!(sites.len(), TRACES.div_ceil(25), "{report}");
    assert!(sites.iter().all(|s| s["verdict"] == "leak"), "{report}");
    assert_eq!(sites[0]["series"].as_array().unwrap().len(), SNAPSHOTS - 1);
    // 2000 loaded snapshots would take about 600 MiB; the fold holds two
    // and each site's series.
    let bound_kib = 160 * 1024;
    assert!(
        peak < bound_kib,
        "`cargo leakcheck diff` of {SNAPSHOTS} snapshots of {one_file} bytes each peaked at \
         {peak} KiB, more than {bound_kib} KiB"
    );
}
