//! `cargo leakcheck` on a crate that knows nothing of leakcheck
//! (`tests/fixtures/unchanged`: no dependency, no `install!()`): its test
//! binaries (unit tests, integration tests, a `harness = false` one) get
//! the tracker from the build, by `--extern force:` or by the stable route
//! (a copy of the crate root outside the user's tree), its files stay as
//! they were, even when the build is killed; a binary with a
//! `#[global_allocator]` of its own runs untracked and is named with that
//! allocator's line, a `#![no_main]` root runs untracked and says so,
//! a `#![no_std]` test crate (libtest links std) is checked. A crate that installs leakcheck in some files
//! (`tests/fixtures/mixed`) is checked once per binary.

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
        page.contains("0 leak tests and 4 test binaries checked"),
        "{page}"
    );

    // The integration tests' registry grows with every test.
    assert_eq!(growth(&report), [plain_growth()]);
    assert_eq!(binary(&report, "unchanged")["instrumented"], true);
    assert_eq!(binary(&report, "unchanged::plain")["instrumented"], true);
    // A `harness = false` test gets it too (built as a binary).
    let custom = binary(&report, "unchanged::custom");
    assert_eq!(custom["instrumented"], true, "{custom}");
    assert_eq!(custom["own_main"], true, "{custom}");
    assert!(
        run.stderr.contains("(4 binaries checked)"),
        "{}",
        run.stderr
    );

    // The test sees its own file names (`file!()`, panic locations).
    assert_eq!(binary(&report, "unchanged::plain")["tests_passed"], 7);

    // A `#![no_std]` test crate has std from libtest: checked.
    let nostd = binary(&report, "unchanged::nostd");
    assert_eq!(nostd["instrumented"], true, "{nostd}");
    assert_eq!(nostd["tests_passed"], 1, "{nostd}");
    // A root the runtime cannot go into runs unchecked, and says why.
    let nomain = binary(&report, "unchanged::nomain");
    assert_eq!(nomain["instrumented"], false, "{nomain}");
    assert_eq!(nomain["fault"], serde_json::Value::Null, "{nomain}");
    assert!(
        run.stderr
            .contains("unchanged::nomain: a `#![no_main]` crate root"),
        "{}",
        run.stderr
    );

    // rustdoc builds the doctests: not checked, and said so.
    assert!(
        run.stderr.contains(
            "note: the doctests of unchanged are not checked (rustdoc builds them; \
             `cargo test --doc` runs them)"
        ),
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
fn a_clean_unchanged_suite_passes_with_every_binary_checked() {
    let _serial = serial();
    let (run, report) = run_with_json("unchanged-clean", &["--lib", "--test", "custom"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("leakcheck: no session growth (2 binaries checked)"),
        "{}",
        run.stderr
    );
    let binaries = report["binaries"].as_array().unwrap();
    assert_eq!(binaries.len(), 2, "{report}");
    assert!(
        binaries.iter().all(|b| b["instrumented"] == true),
        "{report}"
    );
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
    // Built by another cargo-leakcheck (an upgrade): what its wrapper
    // decided is not in cargo's fingerprints, so the crate's own targets
    // are built again, and nothing else.
    let stamps: Vec<PathBuf> = std::fs::read_dir(target.path().join("leakcheck"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(".wrapper-")
        })
        .collect();
    assert_eq!(stamps.len(), 1, "{stamps:?}");
    std::fs::write(&stamps[0], "0 0\n").unwrap();
    let upgraded = cargo_leakcheck("unchanged", &["--target-dir", &target_arg]);
    assert_eq!(upgraded.code, Some(1), "{}", upgraded.stderr);
    assert!(
        upgraded.stderr.contains("Compiling unchanged"),
        "{}",
        upgraded.stderr
    );
    assert!(
        !upgraded.stderr.contains("Compiling leakcheck-rt"),
        "{}",
        upgraded.stderr
    );
    // `-q` keeps the first build quiet too.
    let quiet_target = tempfile::tempdir().unwrap();
    let quiet_arg = quiet_target.path().display().to_string();
    let quiet = cargo_leakcheck("unchanged", &["-q", "--target-dir", &quiet_arg]);
    assert_eq!(quiet.code, Some(1), "{}", quiet.stderr);
    assert!(!quiet.stderr.contains(notice), "{}", quiet.stderr);
}

/// Session growth as the JSON report has it: binary, file, line, tests.
fn growth(report: &serde_json::Value) -> Vec<(String, String, u64, usize)> {
    report["session"]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["growth"] == true)
        .map(|s| {
            (
                s["binary"].as_str().unwrap().to_owned(),
                s["file"].as_str().unwrap().to_owned(),
                s["line"].as_u64().unwrap(),
                s["tests"].as_array().unwrap().len(),
            )
        })
        .collect()
}

/// The unchanged fixture's one growth site: its registry, in the
/// integration tests, left by each of their 6 greeting tests.
fn plain_growth() -> (String, String, u64, usize) {
    let line = line_of("unchanged", "src/lib.rs", "GROWTH: greet");
    (
        "unchanged::plain".to_owned(),
        "src/lib.rs".to_owned(),
        u64::from(line),
        6,
    )
}

/// The shadows of crate roots the stable route has under `target`.
fn shadows(target: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(target.join("leakcheck/inject/roots")) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// The stable route, asked for (as where rustc refuses `--extern force:`):
/// killed in the middle of its build, it leaves the user's tree as it
/// was; the next run removes what the killed one left in leakcheck's
/// target directory and finds what the default route finds, under the
/// user's file names; a third compiles nothing.
#[test]
fn the_stable_route_finds_the_same_and_a_killed_build_leaves_the_tree_as_it_was() {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let _serial = serial();
    let before = files(&fixture("unchanged"));
    let target = tempfile::tempdir().unwrap();
    let target_arg = target.path().display().to_string();
    let copy = [("LEAKCHECK_INJECT_ROUTE", "copy")];

    // Killed while rustc compiles a copy: the wrapper that made it dies
    // with the run.
    let mut killed = leakcheck_tests::clean_command(
        leakcheck_tests::cargo_leakcheck_bin(),
        &fixture("unchanged"),
    );
    killed
        .args(["leakcheck", "--target-dir", &target_arg])
        .env("LEAKCHECK_INJECT_ROUTE", "copy")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = killed.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let shadow = loop {
        if let Some(shadow) = shadows(target.path()).pop() {
            break shadow;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended first");
        assert!(Instant::now() < deadline, "no crate root was copied");
        std::thread::sleep(Duration::from_millis(5));
    };
    let wrapper = shadow
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .split_once('-')
        .unwrap()
        .0
        .to_owned();
    for pid in [wrapper, format!("-{}", child.id())] {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &pid])
            .status();
    }
    let _ = child.wait();
    assert_eq!(files(&fixture("unchanged")), before);
    assert!(shadow.exists(), "the killed wrapper left its shadow");

    let json = target.path().join("copy.json");
    let json_arg = json.display().to_string();
    let run = leakcheck_tests::cargo_leakcheck_with(
        "unchanged",
        &["--target-dir", &target_arg, "--json", &json_arg],
        &copy,
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(!shadow.exists(), "a stale shadow was left");
    assert_eq!(shadows(target.path()), Vec::<PathBuf>::new());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(growth(&report), [plain_growth()]);
    // `file!()` and panic locations name the user's file.
    let plain = binary(&report, "unchanged::plain");
    assert_eq!(plain["tests_passed"], 7, "{plain}");
    assert_eq!(binary(&report, "unchanged::custom")["instrumented"], true);
    let own = binary(&report, "unchanged::own_alloc");
    let own_line = line_of("unchanged", "tests/own_alloc.rs", "OWN ALLOCATOR");
    assert!(
        own["own_allocator"]
            .as_str()
            .unwrap()
            .starts_with(&format!("tests/own_alloc.rs:{own_line}:")),
        "{own}"
    );
    assert!(binary(&report, "unchanged::nomain")["not_checked"].is_string());
    assert!(
        run.stderr.contains("(4 binaries checked)"),
        "{}",
        run.stderr
    );
    assert_eq!(files(&fixture("unchanged")), before);

    // cargo's dep-info names the user's files: nothing to rebuild.
    let again =
        leakcheck_tests::cargo_leakcheck_with("unchanged", &["--target-dir", &target_arg], &copy);
    assert_eq!(again.code, Some(1), "{}", again.stderr);
    assert!(!again.stderr.contains("Compiling"), "{}", again.stderr);
}

/// Whether the file at `path` has `needle` in it.
fn contains(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path)
        .unwrap()
        .windows(needle.len())
        .any(|w| w == needle)
}

/// The test binary `name-<hash>` that the last run built.
fn built(name: &str) -> PathBuf {
    let deps = fixture_target_dir().join("leakcheck/debug/deps");
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&deps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_none()
                && p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
        .map(|p| (p.metadata().unwrap().modified().unwrap(), p))
        .collect();
    found.sort();
    found
        .pop()
        .unwrap_or_else(|| panic!("no {name} in {}", deps.display()))
        .1
}

#[test]
fn a_crate_that_installs_leakcheck_in_some_files_is_checked_once_per_binary() {
    let _serial = serial();
    let (run, text) = cargo_leakcheck_json("mixed", "mixed", &[]);
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let line = u64::from(line_of("mixed", "src/lib.rs", "GROWTH: remember"));
    let site = |binary: &str| (binary.to_owned(), "src/lib.rs".to_owned(), line, 4);
    assert_eq!(
        growth(&report),
        [site("mixed"), site("mixed::installs"), site("mixed::plain")]
    );
    assert!(
        run.stderr.contains("(3 binaries checked)"),
        "{}",
        run.stderr
    );
    // The file that installs leakcheck links its own, and only that; the
    // others got the runtime.
    assert!(!contains(&built("installs"), b"leakcheck_inject"));
    assert!(contains(&built("plain"), b"leakcheck_inject"));
}
