//! `cargo leakcheck` on a crate that knows nothing of leakcheck
//! (`tests/fixtures/unchanged`: no dependency, no `install!()`): its test
//! binaries (unit tests, integration tests, a `harness = false` one) get
//! the tracker from the build, its files stay as they were,
//! and a binary with a `#[global_allocator]` of its own runs untracked and
//! is named with that allocator's line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use leakcheck_tests::{
    Run, cargo_leakcheck, cargo_leakcheck_json, fixture, fixture_target_dir, line_of, serial,
};

/// Every file of the fixture but its lockfile, with its contents.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    found
}

fn run_with_json(name: &str, args: &[&str]) -> (Run, serde_json::Value) {
    let (run, text) = cargo_leakcheck_json("unchanged", name, args);
    (run, serde_json::from_str(&text).unwrap())
}

fn binary<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["binary"] == name)
        .unwrap_or_else(|| panic!("no binary {name} in {report}"))
}

#[test]
fn an_unchanged_crate_is_checked_and_an_own_allocator_is_named() {
    let _serial = serial();
    let before = files(&fixture("unchanged"));
    let html = fixture_target_dir().join("unchanged.html");
    let html_arg = html.display().to_string();
    let (run, report) = run_with_json("unchanged", &["--html", &html_arg]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    // The page counts what was measured, as the terminal does.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("0 leak tests and 3 test binaries checked"),
        "{page}"
    );

    // The integration tests' registry grows with every test.
    let line = line_of("unchanged", "src/lib.rs", "GROWTH: greet");
    let growth: Vec<_> = report["session"]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["growth"] == true)
        .collect();
    assert_eq!(growth.len(), 1, "{report}");
    assert_eq!(growth[0]["binary"], "unchanged::plain");
    assert_eq!(growth[0]["file"], "src/lib.rs");
    assert_eq!(growth[0]["line"], line);
    assert_eq!(growth[0]["tests"].as_array().unwrap().len(), 6);
    assert_eq!(binary(&report, "unchanged")["instrumented"], true);
    assert_eq!(binary(&report, "unchanged::plain")["instrumented"], true);
    // A `harness = false` test gets it too (built as a binary).
    let custom = binary(&report, "unchanged::custom");
    assert_eq!(custom["instrumented"], true, "{custom}");
    assert_eq!(custom["own_main"], true, "{custom}");
    assert!(
        run.stderr.contains("(3 binaries checked)"),
        "{}",
        run.stderr
    );

    // Its own allocator: built, run, untracked, named at its line.
    let own = binary(&report, "unchanged::own_alloc");
    assert_eq!(own["instrumented"], false);
    assert_eq!(own["tests_passed"], 1);
    let own_line = line_of("unchanged", "tests/own_alloc.rs", "OWN ALLOCATOR");
    let site = format!("tests/own_alloc.rs:{own_line}: static GLOBAL: System = System;");
    assert!(
        own["own_allocator"].as_str().unwrap().starts_with(&site),
        "{own}"
    );
    assert!(
        run.stderr
            .contains("Own allocator (ran, but measured nothing)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&site), "{}", run.stderr);

    // Nothing in the crate was written, and the runtime was built in
    // leakcheck's own target directory.
    assert_eq!(files(&fixture("unchanged")), before);
    assert!(
        fixture_target_dir()
            .join("leakcheck/inject/Cargo.toml")
            .is_file()
    );

    // A second run builds nothing again and finds the same.
    let (again, report_again) = run_with_json("unchanged-again", &[]);
    assert_eq!(again.code, Some(1), "{}", again.stderr);
    assert!(!again.stderr.contains("Compiling"), "{}", again.stderr);
    assert_eq!(report_again["session"], report["session"]);
}

#[test]
fn without_injection_only_binaries_that_install_leakcheck_are_checked() {
    let _serial = serial();
    let run = cargo_leakcheck("unchanged", &["--no-inject"]);
    assert_eq!(run.code, Some(5), "{}", run.stderr);
    assert!(
        run.stderr.contains("(0 binaries checked)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Not instrumented"), "{}", run.stderr);
}

#[test]
fn the_runtime_s_first_build_says_so_and_the_next_is_silent() {
    let _serial = serial();
    let target = tempfile::tempdir().unwrap();
    let target_arg = target.path().display().to_string();
    let first = cargo_leakcheck("unchanged", &["--target-dir", &target_arg]);
    assert_eq!(first.code, Some(1), "{}", first.stderr);
    let notice = "Building leakcheck's runtime, once for this target directory";
    assert_eq!(first.stderr.matches(notice).count(), 1, "{}", first.stderr);
    // cargo's own progress for it is shown.
    assert!(
        first.stderr.contains("Compiling leakcheck-rt"),
        "{}",
        first.stderr
    );
    let second = cargo_leakcheck("unchanged", &["--target-dir", &target_arg]);
    assert_eq!(second.code, Some(1), "{}", second.stderr);
    assert!(!second.stderr.contains(notice), "{}", second.stderr);
    assert!(!second.stderr.contains("Compiling"), "{}", second.stderr);
    // `-q` keeps the first build quiet too.
    let quiet_target = tempfile::tempdir().unwrap();
    let quiet_arg = quiet_target.path().display().to_string();
    let quiet = cargo_leakcheck("unchanged", &["-q", "--target-dir", &quiet_arg]);
    assert_eq!(quiet.code, Some(1), "{}", quiet.stderr);
    assert!(!quiet.stderr.contains(notice), "{}", quiet.stderr);
}
