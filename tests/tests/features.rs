//! leakcheck-rt without its default features (the `bare` fixture):
//! `#[leak_test(snapshot = false)]` still finds a leak, and what needs a
//! feature that is off fails to compile with an error that names it.

use leakcheck_tests::{cargo_test, line_of, serial};

#[test]
fn leak_tests_without_snapshots_work_without_insta() {
    let _serial = serial();
    let run = cargo_test("bare", &["--test", "leaks"]);
    assert_eq!(run.code, Some(101), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("test formatting_does_not_leak ... ok"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("test handle_request_does_not_leak ... FAILED"),
        "{}",
        run.stdout
    );
    let line = line_of("bare", "src/lib.rs", "vec![0u8; 256]");
    let site = format!("count   2000  src/lib.rs:{line}  (");
    assert!(run.stdout.contains(&site), "{site} not in {}", run.stdout);
}

#[test]
fn a_snapshot_leak_test_without_insta_is_a_compile_error_naming_the_feature() {
    let _serial = serial();
    let run = cargo_test("bare", &["--features", "insta", "--test", "needs_insta"]);
    assert_eq!(run.code, Some(101), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "error: `#[leak_test]` checks leak reports against insta snapshots, which needs \
             leakcheck-rt's `insta` feature (on by default): enable it, or write \
             `#[leak_test(snapshot = false)]`"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> tests/needs_insta.rs:6:1"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_session_harness_without_its_feature_is_a_compile_error_naming_it() {
    let _serial = serial();
    let run = cargo_test(
        "bare",
        &["--features", "harness", "--test", "needs_harness"],
    );
    assert_eq!(run.code, Some(101), "{}", run.stderr);
    assert!(
        run.stderr.contains("could not find `Harness` in `session`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the item is gated behind the `harness` feature"),
        "{}",
        run.stderr
    );
}
