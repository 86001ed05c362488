//! `dump_every` in a process of its own: numbered, loadable snapshots of
//! one process in the order taken, through thread churn; a failed dump is
//! an error the guard reports.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use leakcheck_rt::{DumpError, KeyType, Snapshot};

leakcheck_rt::install!();

/// Tests here start and stop tracing: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn snapshot_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn dumps_a_series_of_one_process_through_thread_churn() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    assert!(!leakcheck_rt::is_tracing());
    let dumps = leakcheck_rt::dump_every(Duration::from_millis(20), dir.path()).unwrap();
    assert!(leakcheck_rt::is_tracing(), "dump_every starts tracing");
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let mut rounds = 0;
    while dumps.written() < 6 {
        // Threads come and go while the dumps are taken.
        let handles: Vec<_> = (0..4)
            .map(|_| thread::spawn(|| black_box(vec![1u8; 4096]).len()))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 4096);
        }
        kept.push(vec![0u8; 1000]); // the leak
        rounds += 1;
        thread::sleep(Duration::from_millis(2));
    }
    let written = dumps.stop().unwrap();
    assert!(
        !leakcheck_rt::is_tracing(),
        "stopping the guard stops tracing"
    );
    assert!(written >= 6 && rounds > 0);

    let files = snapshot_files(dir.path());
    assert_eq!(files.len() as u64, written, "{files:?}");
    assert_eq!(
        files[0].file_name().unwrap().to_str().unwrap(),
        "snapshot-000001.json"
    );
    let snaps: Vec<Snapshot> = files.iter().map(|f| Snapshot::load(f).unwrap()).collect();
    let origins: Vec<_> = snaps.iter().map(|s| s.origin().unwrap().clone()).collect();
    for pair in origins.windows(2) {
        assert_eq!(pair[0].pid, std::process::id());
        assert_eq!(pair[1].pid, pair[0].pid);
        assert!(pair[1].seq > pair[0].seq);
        assert!(pair[1].uptime_ms >= pair[0].uptime_ms);
    }
    let named: Vec<(String, &Snapshot)> = files
        .iter()
        .map(|f| f.display().to_string())
        .zip(&snaps)
        .collect();
    let named: Vec<(&str, &Snapshot)> = named.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    leakcheck_rt::check_series(&named).unwrap();

    // The leak line grows between the first and the last dump.
    let last = snaps.last().unwrap();
    let diff = last.compare_to(&snaps[0], KeyType::Lineno);
    let leak_line = line_of("kept.push(vec![0u8; 1000]); // the leak");
    let leak = diff
        .iter()
        .find(|d| {
            d.traceback.to_string() == format!("leakcheck-rt/tests/dump_every.rs:{leak_line}")
        })
        .unwrap_or_else(|| panic!("no leak line in {diff:#?}"));
    assert!(leak.size_diff >= 1000 && leak.count_diff >= 1, "{leak:?}");
    drop(kept);
}

#[test]
fn numbering_goes_on_and_a_failed_dump_is_reported() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("dumps");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("snapshot-000041.json"), "old").unwrap();
    leakcheck_rt::start(10);
    let dumps = leakcheck_rt::dump_every(Duration::from_millis(10), &target).unwrap();
    wait_for("a first dump", || dumps.written() >= 1);
    // The directory goes away under the running service. (A dump may put
    // a file into it while it is being removed: then again.)
    let mut tries = 0;
    while let Err(e) = std::fs::remove_dir_all(&target) {
        tries += 1;
        assert!(tries < 1000, "cannot remove the dump directory: {e}");
    }
    std::fs::write(&target, "not a directory").unwrap();
    wait_for("a failed dump", || dumps.failed() >= 1);
    let err = dumps.stop().unwrap_err();
    assert!(matches!(err, DumpError::Write(_)), "{err}");
    assert!(
        err.to_string().starts_with("failed to write a snapshot: "),
        "{err}"
    );
    assert!(
        leakcheck_rt::is_tracing(),
        "tracing that was on before dump_every stays on"
    );
    assert_eq!(leakcheck_rt::traceback_limit(), 10);
    leakcheck_rt::stop();

    // The first file written was numbered after the one already there.
    // (It went with the directory; the error path above is what remains.)
    let again = dir.path().join("again");
    std::fs::create_dir(&again).unwrap();
    std::fs::write(again.join("snapshot-000041.json"), "old").unwrap();
    let dumps = leakcheck_rt::dump_every(Duration::from_millis(10), &again).unwrap();
    wait_for("a dump", || dumps.written() >= 1);
    dumps.stop().unwrap();
    assert!(again.join("snapshot-000042.json").is_file());
    assert!(!again.join("snapshot-000001.json").exists());
}

#[test]
fn temporaries_left_by_a_killed_dumper_are_removed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // What a dumping service killed mid-write leaves: the temporary file
    // of its next snapshot, named for it and for the writer's pid.
    let mut writer = std::process::Command::new("true").spawn().unwrap();
    let dead = writer.id();
    writer.wait().unwrap();
    let left = format!(".snapshot-000003.json.{dead}.Xy12ab.tmp");
    std::fs::write(dir.path().join(&left), "{\"version\": 1, \"tra").unwrap();
    std::fs::write(dir.path().join("snapshot-000002.json"), "kept").unwrap();
    std::fs::write(dir.path().join(".notes.tmp"), "not ours").unwrap();
    let dumps = leakcheck_rt::dump_every(Duration::from_millis(10), dir.path()).unwrap();
    let names = || -> Vec<String> {
        snapshot_files(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("snapshot-") || n == "snapshot-000002.json")
            .collect()
    };
    assert_eq!(names(), [".notes.tmp", "snapshot-000002.json"]);
    wait_for("a dump", || dumps.written() >= 1);
    dumps.stop().unwrap();
    assert!(dir.path().join("snapshot-000003.json").is_file());
}

#[test]
fn a_zero_interval_is_refused() {
    let err = leakcheck_rt::dump_every(Duration::ZERO, "unused").unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to start dumping snapshots: the interval must be more than zero"
    );
}

/// The 1-based line of this file that contains `marker`.
fn line_of(marker: &str) -> u32 {
    let text = include_str!("dump_every.rs");
    text.lines()
        .position(|l| l.contains(marker) && !l.contains("line_of("))
        .expect("marker in this file") as u32
        + 1
}
