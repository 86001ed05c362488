//! `#[leak_test]` under plain `cargo test` on the fixture crates: every
//! real leak fails naming its line; nothing that plateaus or rises and
//! falls ever fails.

use leakcheck_tests::{cargo_test, failure_of, line_of, serial};

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
