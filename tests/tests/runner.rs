//! `cargo leakcheck` as a CI runner, on the `session` fixture (three
//! binaries: `suite` with three leak tests and session growth, `exact`
//! with session growth under leakcheck's harness, and the library's empty
//! unit tests): the opening line and the line per finished process, `-j`,
//! shards and their merge, and the configuration's precedence; and on the
//! `clean` fixture, an ignored test left out of the total.

use std::path::{Path, PathBuf};

use leakcheck_tests::{
    Run, cargo_leakcheck, cargo_leakcheck_bin, cargo_leakcheck_with, clean_command, fixture,
    sanitize, scratch_copy, serial,
};
use serde_json::Value;

fn run_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    cargo_leakcheck_with("session", args, env)
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn jobs_2_reports_what_jobs_1_reports_and_every_process_has_its_line() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("j1.json"), dir.path().join("j2.json"));
    let a = cargo_leakcheck("session", &["-j", "1", "--json", one.to_str().unwrap()]);
    let b = cargo_leakcheck("session", &["-j", "2", "--json", two.to_str().unwrap()]);
    assert_eq!(a.code, Some(1), "{}", a.stderr);
    assert_eq!(b.code, a.code, "{}", b.stderr);
    // The JSON report holds no durations: all of it must be the same.
    assert_eq!(json(&two), json(&one));
    assert_eq!(sanitize(&b.stderr), sanitize(&a.stderr));

    for run in [&a, &b] {
        let lines: Vec<&str> = run.stderr.lines().map(str::trim_start).collect();
        let has = |status: &str, rest: &str| {
            lines.iter().any(|l| {
                l.starts_with(&format!("{status} [")) && l.ends_with(&format!("s] {rest}"))
            })
        };
        for test in ["boxing_is_clean", "formatting_is_clean", "lookup_is_clean"] {
            assert!(
                has("PASS", &format!("registry::suite {test}")),
                "{test}:\n{}",
                run.stderr
            );
        }
        assert!(has("GROWTH", "registry::suite (session)"), "{}", run.stderr);
        assert!(has("GROWTH", "registry::exact (session)"), "{}", run.stderr);
        let summary = lines
            .iter()
            .find(|l| l.starts_with("Summary ["))
            .expect("a summary");
        assert!(
            summary.ends_with(
                "s] 21 tests run: 21 passed, 0 failed; 3 leak tests measured alone; 3 binaries"
            ),
            "{summary}"
        );
        // The total is known before any test runs: every binary is listed
        // first, and the opening line (nextest's) comes before every
        // status line, also without a terminal.
        let starting = lines
            .iter()
            .position(|l| l.starts_with("Starting "))
            .unwrap_or_else(|| panic!("no opening line:\n{}", run.stderr));
        assert_eq!(lines[starting], "Starting 21 tests across 3 binaries");
        let first_status = lines.iter().position(|l| l.starts_with("PASS [")).unwrap();
        assert!(starting < first_status, "{}", run.stderr);
        // The lines come before the report, which is printed once at the end.
        let first_report_line = lines.iter().position(|l| *l == "Leak tests").unwrap();
        let last_status = lines.iter().rposition(|l| l.starts_with("PASS [")).unwrap();
        assert!(last_status < first_report_line, "{}", run.stderr);
    }
}

#[test]
fn ignored_tests_are_left_out_of_the_total_unless_the_arguments_run_them() {
    let _serial = serial();
    // `clean`: the library's empty unit tests and `plateaus`, whose eight
    // tests include one `#[ignore]`d.
    let line = |run: &Run, word: &str| -> String {
        run.stderr
            .lines()
            .map(str::trim_start)
            .find(|l| l.starts_with(word))
            .unwrap_or_else(|| panic!("no {word} line:\n{}", run.stderr))
            .to_owned()
    };
    let run = cargo_leakcheck("clean", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(line(&run, "Starting"), "Starting 7 tests across 2 binaries");
    assert!(
        line(&run, "Summary").ends_with(
            "s] 7 tests run: 7 passed, 0 failed, 1 skipped; 5 leak tests measured alone; 2 binaries"
        ),
        "{}",
        run.stderr
    );
    let run = cargo_leakcheck("clean", &["--", "--include-ignored"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(line(&run, "Starting"), "Starting 8 tests across 2 binaries");
    assert!(
        line(&run, "Summary").ends_with(
            "s] 8 tests run: 8 passed, 0 failed; 5 leak tests measured alone; 2 binaries"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn merged_shards_are_the_unsharded_run() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| -> PathBuf { dir.path().join(name) };
    let whole = cargo_leakcheck("session", &["--json", path("whole.json").to_str().unwrap()]);
    assert_eq!(whole.code, Some(1), "{}", whole.stderr);
    for scheme in ["count", "hash"] {
        let mut shards = Vec::new();
        for k in 1..=2 {
            let file = path(&format!("{scheme}-{k}.json"));
            let partition = format!("{scheme}:{k}/2");
            let out = cargo_leakcheck(
                "session",
                &["--partition", &partition, "--json", file.to_str().unwrap()],
            );
            assert!(
                matches!(out.code, Some(0 | 1)),
                "{partition}: {}",
                out.stderr
            );
            if scheme == "count" {
                // The shard's own counts: registry (no tests) and
                // registry::suite, then registry::exact.
                let expected = [
                    "    Starting 16 tests across 2 binaries",
                    "    Starting 5 tests across 1 binary",
                ][k - 1];
                assert!(
                    out.stderr.lines().any(|l| l == expected),
                    "{partition}: {}",
                    out.stderr
                );
            }
            shards.push(file);
        }
        if scheme == "count" {
            // The binaries are dealt by name: registry, registry::exact,
            // registry::suite.
            let names = |v: Value| -> Vec<String> {
                v["binaries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b["binary"].as_str().unwrap().to_owned())
                    .collect()
            };
            assert_eq!(names(json(&shards[0])), ["registry", "registry::suite"]);
            assert_eq!(names(json(&shards[1])), ["registry::exact"]);
        }
        let merged = path(&format!("{scheme}-merged.json"));
        let mut args = vec!["merge".to_owned()];
        args.extend(shards.iter().map(|s| s.display().to_string()));
        args.extend(["--json".to_owned(), merged.display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cargo_leakcheck("session", &args);
        assert_eq!(out.code, whole.code, "{scheme}: {}", out.stderr);
        assert_eq!(json(&merged), json(&path("whole.json")), "{scheme}");
        // The same human report as the unsharded run's (the note on the
        // doctests is the run's, which a merge does not build).
        let report = |text: &str| {
            let text = sanitize(text);
            text[text.find("Leak tests").unwrap()..]
                .lines()
                .filter(|l| !l.starts_with("note: the doctests"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(report(&out.stderr), report(&whole.stderr), "{scheme}");
    }
    // Each shard's report says which it is; one shard of two is not the run.
    assert_eq!(json(&path("count-2.json"))["partition"], "count:2/2");
    assert!(json(&path("whole.json")).get("partition").is_none());
    let half = cargo_leakcheck(
        "session",
        &["merge", path("count-1.json").to_str().unwrap()],
    );
    assert_eq!(half.code, Some(2), "{}", half.stderr);
    assert_eq!(
        half.only_stderr_line(),
        format!(
            "error: failed to merge the reports: {}: the shards are not the whole run: \
             1 of 2 given, missing count:2/2",
            path("count-1.json").display()
        )
    );
    let repeated = cargo_leakcheck(
        "session",
        &[
            "merge",
            path("whole.json").to_str().unwrap(),
            path("count-1.json").to_str().unwrap(),
        ],
    );
    assert_eq!(repeated.code, Some(2), "{}", repeated.stderr);
    assert!(
        repeated.stderr.contains("is also in"),
        "{}",
        repeated.stderr
    );
}

/// Writes the fixture's `.config/leakcheck.toml` for as long as it lives.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(text: &str) -> ConfigFile {
        let dir = fixture("session").join(".config");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("leakcheck.toml");
        std::fs::write(&path, text).unwrap();
        ConfigFile(path)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir(self.0.parent().unwrap());
    }
}

fn growth_sites(run: &Run) -> usize {
    run.stderr
        .lines()
        .find_map(|l| {
            let rest = l.split("session growth at ").nth(1)?;
            rest.split(' ').next()?.parse().ok()
        })
        .unwrap_or(0)
}

#[test]
fn command_line_beats_environment_beats_the_config_file() {
    let _serial = serial();
    // `suite` leaves memory at its site from 12 tests, `exact` from 4.
    let _file = ConfigFile::new("# the workspace's defaults\nsession-min-tests = 13\njobs = 2\n");
    let from_file = run_with(&[], &[]);
    assert_eq!(from_file.code, Some(0), "{}", from_file.stderr);
    assert_eq!(growth_sites(&from_file), 0, "{}", from_file.stderr);

    let env = [("CARGO_LEAKCHECK_SESSION_MIN_TESTS", "4")];
    let from_env = run_with(&[], &env);
    assert_eq!(from_env.code, Some(1), "{}", from_env.stderr);
    assert_eq!(growth_sites(&from_env), 2, "{}", from_env.stderr);

    let from_cli = run_with(&["--session-min-tests", "5"], &env);
    assert_eq!(from_cli.code, Some(1), "{}", from_cli.stderr);
    assert_eq!(growth_sites(&from_cli), 1, "{}", from_cli.stderr);
}

#[test]
fn a_broken_config_file_or_variable_is_exit_2_naming_the_line() {
    let _serial = serial();
    let _file = ConfigFile::new("timeout = \"10m\"\njobs = 0\n");
    let out = run_with(&[], &[]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let file = fixture("session").join(".config/leakcheck.toml");
    assert_eq!(
        out.stderr,
        format!(
            "error: bad configuration: {}: line 2: `jobs` must be 1 or more, got 0\n",
            file.display()
        )
    );
    drop(_file);
    let out = run_with(&[], &[("CARGO_LEAKCHECK_JOBS", "all")]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "error: bad configuration: CARGO_LEAKCHECK_JOBS=all: expected a number, 1 or more\n"
    );
}

#[test]
fn an_unknown_package_or_test_target_is_a_usage_error() {
    let _serial = serial();
    let out = cargo_leakcheck("session", &["-p", "registri"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "error: package `registri` is not a member of the workspace (members: registry)\n"
    );
    let out = cargo_leakcheck("session", &["--test", "suit"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "error: no test target named `suit` (test targets: exact, suite)\n"
    );
}

#[test]
fn accept_removes_the_stale_pending_snapshots_of_the_leak_tests_it_measured() {
    let _serial = serial();
    let dir = scratch_copy("frameworks");
    let snapshots = dir.join("tests/snapshots");
    // Left by an earlier `--review`: one of the leak test, one of the
    // crate's own insta test.
    let leak = snapshots.join("fixed__fixed_cache_leaks.snap.new");
    let own = snapshots.join("snapshots__greets_alice.snap.new");
    std::fs::write(&leak, "pending").unwrap();
    std::fs::write(&own, "pending").unwrap();
    let out: Run = clean_command(cargo_leakcheck_bin(), &dir)
        .args(["leakcheck", "--accept", "--test", "fixed"])
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!leak.exists(), "{}", out.stderr);
    assert!(own.exists(), "the crate's own pending snapshot stays");
    assert!(
        out.stderr.contains(
            "note: removed tests/snapshots/fixed__fixed_cache_leaks.snap.new: \
             --accept measured its leak test again"
        ),
        "{}",
        out.stderr
    );
}
