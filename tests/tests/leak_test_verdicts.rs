//! `#[leak_test]` under plain `cargo test` on the fixture crates: every
//! real leak fails naming its line; nothing that plateaus or rises and
//! falls ever fails.

use leakcheck_tests::{
    Run, cargo_test, clean_command, failure_of, line_of, renamed_scratch_copy, serial,
};

#[test]
fn every_leak_category_fails_at_its_line() {
    let _serial = serial();
    let run = cargo_test("leaks", &["--test", "leaks"]);
    assert_eq!(run.code, Some(101), "{}\n{}", run.stdout, run.stderr);
    for test in [
        "unbounded_cache",
        "box_leak",
        "mem_forget",
        "rc_cycle",
        "thread_leak",
        "rare_leak",
        "thread_local_vec",
    ] {
        let line = line_of("leaks", "src/lib.rs", &format!("LEAK: {test}"));
        let failure = failure_of(&run.stdout, test)
            .unwrap_or_else(|| panic!("{test} did not fail:\n{}", run.stdout));
        assert!(
            failure.contains(&format!("src/lib.rs:{line}")),
            "{test}: report does not name src/lib.rs:{line}:\n{failure}"
        );
        assert!(
            failure.contains("leak"),
            "{test}: no verdict in:\n{failure}"
        );
    }
    assert!(
        run.stdout
            .contains("test result: FAILED. 0 passed; 7 failed"),
        "{}",
        run.stdout
    );
}

/// A new leak under plain `cargo test`, backtraces on, outside CI: the test
/// fails once, with leakcheck's report and what differs from the accepted
/// snapshot. insta's box, its `cargo insta` hints and its own panic (a
/// second panic, with a second backtrace) stay out of it, and the
/// `.snap.new` to review is written all the same.
#[test]
fn a_new_leak_fails_once_with_one_report_and_leaves_its_snap_new() {
    let _serial = serial();
    let dir = renamed_scratch_copy("leaks", "leaky", "leaky");
    let run: Run = clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &dir,
    )
    .env("RUST_BACKTRACE", "1")
    .env("CI", "false")
    .args([
        "test",
        "--test",
        "leaks",
        "--",
        "--exact",
        "unbounded_cache",
    ])
    .output()
    .expect("cargo runs")
    .into();
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, Some(101), "{all}");
    let failure = failure_of(&run.stdout, "unbounded_cache")
        .unwrap_or_else(|| panic!("unbounded_cache did not fail:\n{all}"));
    let line = line_of("leaks", "src/lib.rs", "LEAK: unbounded_cache");
    let site = format!("src/lib.rs:{line}");

    // One panic, one report, the difference named.
    assert_eq!(all.matches("panicked at").count(), 1, "{all}");
    assert_eq!(all.matches("unbounded_cache leaks: ").count(), 1, "{all}");
    assert!(failure.contains(&site), "{failure}");
    assert!(
        failure.contains(&format!("new site: {site} in leaky::cache_payload")),
        "{failure}"
    );
    // Nothing of insta's: no box, no hint, no panic of its own.
    for insta in [
        "cargo insta test",
        "Snapshot Summary",
        "Snapshot file:",
        "stored new snapshot",
        "snapshot assertion for",
        "INSTA_UPDATE=always",
        "━━━",
    ] {
        assert!(!all.contains(insta), "{insta:?} in:\n{all}");
    }
    // The report (headline, two rows, a call path of two frames: 7 lines),
    // what differs and where the `.snap.new` is (5 lines), and one short
    // backtrace of the one panic (11 frames of two lines: 25 lines) make
    // 41 lines with libtest's own. A second panic with its backtrace (25
    // more) and insta's box (15 more) cannot fit under 60; before, all
    // that made about 100.
    let lines = failure.lines().count();
    assert!(lines < 60, "{lines} lines:\n{failure}");

    let snap_new = dir.join("tests/snapshots/leaks__unbounded_cache_leaks.snap.new");
    let pending = std::fs::read_to_string(&snap_new)
        .unwrap_or_else(|e| panic!("{}: {e}\n{all}", snap_new.display()));
    assert!(
        pending.contains(&format!("{site}  leaky::cache_payload  leak  ")),
        "{pending}"
    );
    assert!(
        pending.starts_with("---\nsource: tests/leaks.rs\n"),
        "{pending}"
    );
    assert!(
        !dir.join("tests/snapshots/leaks__unbounded_cache_leaks.snap")
            .exists()
    );
}

/// Where the report of a new leak goes follows `INSTA_UPDATE` as insta's
/// own would: nothing in CI, a `.snap.new` with `new` (what `cargo
/// leakcheck --review` passes) even in CI, the accepted `.snap` with
/// `always` (`--accept`), which passes.
#[test]
fn a_new_leak_s_report_goes_where_insta_update_says() {
    let _serial = serial();
    let dir = renamed_scratch_copy("leaks", "leaky", "leaky");
    let snapshots = dir.join("tests/snapshots");
    let snap = snapshots.join("leaks__unbounded_cache_leaks.snap");
    let run = |update: Option<&str>| -> Run {
        let mut cmd = clean_command(
            std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
            &dir,
        );
        if let Some(update) = update {
            cmd.env("INSTA_UPDATE", update);
        }
        cmd.args([
            "test",
            "--test",
            "leaks",
            "--",
            "--exact",
            "unbounded_cache",
        ])
        .output()
        .expect("cargo runs")
        .into()
    };
    let out = run(None);
    assert_eq!(out.code, Some(101), "{}\n{}", out.stdout, out.stderr);
    assert!(!snapshots.exists(), "CI writes nothing");

    let out = run(Some("new"));
    assert_eq!(out.code, Some(101), "{}\n{}", out.stdout, out.stderr);
    let pending = std::fs::read_to_string(snap.with_extension("snap.new")).unwrap();
    assert!(!snap.exists());
    assert_eq!(
        out.stdout.matches("panicked at").count(),
        1,
        "{}",
        out.stdout
    );

    let out = run(Some("always"));
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let accepted = std::fs::read_to_string(&snap).unwrap();
    assert_eq!(
        leakcheck_rt::accepted_leaks::snapshot_contents(&accepted),
        leakcheck_rt::accepted_leaks::snapshot_contents(&pending)
    );
}

#[test]
fn the_seed_report_reads_like_tracemalloc() {
    let _serial = serial();
    let run = cargo_test("seed", &["--test", "leak"]);
    let failure =
        failure_of(&run.stdout, "handle_request_retains_every_payload").unwrap_or_else(|| {
            panic!(
                "the seed leak was not found:\n{}\n{}",
                run.stdout, run.stderr
            )
        });
    let line = line_of("seed", "src/lib.rs", "vec![0u8; 1024]");
    let site = format!("src/lib.rs:{line}");
    let row = failure
        .lines()
        .find(|l| l.contains(&site) && l.trim_start().starts_with('+'))
        .unwrap_or_else(|| panic!("no tracemalloc-style row for {site}:\n{failure}"));
    assert!(row.contains("count  10000"), "{row}");
    assert!(row.contains("1024.0 B/iter"), "{row}");
    assert!(row.contains("1.00 blocks/iter"), "{row}");
    assert!(
        !run.stdout
            .contains("---- parsing_an_id_is_clean stdout ----"),
        "the clean test failed:\n{}",
        run.stdout
    );
}

#[test]
fn plateaus_and_sawtooths_never_fail() {
    let _serial = serial();
    leakcheck_tests::passes_in_repeated_runs("clean", &["--test", "plateaus"], 7);
}

#[test]
fn under_nextest_each_leak_test_measures_in_its_own_process() {
    let _serial = serial();
    let nextest = leakcheck_tests::clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &leakcheck_tests::fixture("seed"),
    )
    .args(["nextest", "--version"])
    .output();
    if !nextest.is_ok_and(|o| o.status.success()) {
        eprintln!("cargo-nextest is not installed; skipping");
        return;
    }
    let run: leakcheck_tests::Run = leakcheck_tests::clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &leakcheck_tests::fixture("seed"),
    )
    .args(["nextest", "run", "--no-fail-fast", "--test", "leak"])
    .output()
    .expect("cargo nextest runs")
    .into();
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, Some(100), "{all}");
    let line = line_of("seed", "src/lib.rs", "vec![0u8; 1024]");
    assert!(
        all.contains(&format!("src/lib.rs:{line}  (1024.0 B/iter")),
        "{all}"
    );
    assert!(
        all.lines()
            .any(|l| l.contains("PASS") && l.contains("parsing_an_id_is_clean")),
        "{all}"
    );
    assert!(
        all.lines()
            .any(|l| l.contains("FAIL") && l.contains("handle_request_retains_every_payload")),
        "{all}"
    );
}

#[test]
fn without_frame_pointers_the_unwinder_still_names_the_line() {
    let _serial = serial();
    // An empty RUSTFLAGS replaces the workspace's `force-frame-pointers`;
    // a target directory of its own keeps the other builds' cache.
    let target = leakcheck_tests::flags_target_dir(leakcheck_tests::RustFlags::NoFramePointers);
    let run: leakcheck_tests::Run = leakcheck_tests::clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &leakcheck_tests::fixture("seed"),
    )
    .env("RUSTFLAGS", "")
    .env("CARGO_TARGET_DIR", target)
    .env("LEAKCHECK_MODE", "measure")
    .args([
        "test",
        "--test",
        "leak",
        "--",
        "--nocapture",
        "--test-threads=1",
    ])
    .output()
    .expect("cargo runs")
    .into();
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.lines()
            .filter(|l| l.contains("no frame pointers") && l.contains("force-frame-pointers=yes"))
            .count()
            == 1,
        "no one-line warning:\n{all}"
    );
    let line = line_of("seed", "src/lib.rs", "vec![0u8; 1024]");
    assert!(
        all.contains(&format!("src/lib.rs:{line}  (1024.0 B/iter")),
        "{all}"
    );
}
