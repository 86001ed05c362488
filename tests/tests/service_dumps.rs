//! A running service watched with `dump_every`, judged with
//! `cargo leakcheck diff`: the example `leakcheck-rt/examples/service.rs`
//! runs until it has dumped 6 snapshots, one every 150 ms (more where
//! symbolising is slow); its leak is named at its
//! line with exit 1, its bounded cache exits 0, and bad dump sets each get
//! a one-line error with exit 2.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use leakcheck_tests::{
    Run, cargo_leakcheck_bin, clean_command, fixture_target_dir, target_dir, workspace_root,
};

const EXAMPLE: &str = "leakcheck-rt/examples/service.rs";

/// The example's binary, built once (frame pointers from the workspace's
/// cargo config) into the workspace's own target directory, where the
/// workspace's build already holds its dependencies.
fn service_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let run: Run = clean_command(
            std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
            &workspace_root(),
        )
        .args([
            "build",
            "--quiet",
            "-p",
            "leakcheck-rt",
            "--example",
            "service",
        ])
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("cargo runs")
        .into();
        assert_eq!(
            run.code,
            Some(0),
            "building the example failed:\n{}",
            run.stderr
        );
        target_dir().join("debug/examples/service")
    })
    .clone()
}

/// Runs the service until it wrote 6 snapshots (or 7, see below) into a fresh directory; returns
/// the directory and its snapshot files in order.
fn run_service(extra: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let _serial = leakcheck_tests::serial();
    let dir = tempfile::tempdir().unwrap();
    let run: Run = clean_command(service_bin(), &workspace_root())
        .arg("--dir")
        .arg(dir.path())
        .args(["--interval-ms", "150", "--dumps", "6"])
        .args(extra)
        .output()
        .expect("the service runs")
        .into();
    assert_eq!(run.code, Some(0), "the service failed:\n{}", run.stderr);
    let files = files_in(dir.path());
    // The service stops once 6 are written; a dump that was already under
    // way then (a late one starts at once) is finished, not cut short.
    assert!(files.len() >= 6, "{files:?}\n{}", run.stderr);
    (dir, files)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn diff(args: &[&std::ffi::OsStr]) -> Run {
    clean_command(cargo_leakcheck_bin(), &workspace_root())
        .args(["leakcheck", "diff"])
        .args(args)
        .output()
        .expect("cargo-leakcheck runs")
        .into()
}

fn os(paths: &[PathBuf]) -> Vec<&std::ffi::OsStr> {
    paths.iter().map(|p| p.as_os_str()).collect()
}

fn leak_line() -> u32 {
    let text = std::fs::read_to_string(workspace_root().join(EXAMPLE)).unwrap();
    text.lines()
        .position(|l| l.contains("// leaks: one entry per request"))
        .expect("the marked line") as u32
        + 1
}

#[test]
fn a_leaking_service_is_named_at_its_line() {
    let (dir, files) = run_service(&[]);
    let json = dir.path().join("report.json");
    let mut args = os(&files);
    args.extend([std::ffi::OsStr::new("--json"), json.as_os_str()]);
    let run = diff(&args);
    let site = format!("{EXAMPLE}:{}", leak_line());
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let leak_row = run
        .stderr
        .lines()
        .find(|l| l.contains("LEAK"))
        .unwrap_or_else(|| panic!("no leak row:\n{}", run.stderr));
    assert!(leak_row.contains(&site), "{leak_row}\n{}", run.stderr);
    assert!(run.stderr.contains("1 site leaks"), "{}", run.stderr);

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["version"], 1);
    let test = &report["tests"][0];
    assert_eq!(test["verdict"], "leak");
    assert_eq!(test["iters"], (files.len() - 1) as u64);
    let first = &test["sites"][0];
    assert_eq!(first["file"], EXAMPLE);
    assert_eq!(first["line"], leak_line());
    assert_eq!(first["verdict"], "leak");
    // One 512-byte block per request, a request about every millisecond.
    assert!(first["count_diff"].as_i64().unwrap() > 100, "{first}");
    assert!(first["size_diff"].as_i64().unwrap() >= 512 * first["count_diff"].as_i64().unwrap());
    assert_eq!(
        first["series"].as_array().unwrap().len(),
        files.len() - 1,
        "one point per snapshot after the first"
    );

    // Two of them: tracemalloc's compare_to, no verdict, exit 0.
    let run = diff(&os(&[files[0].clone(), files[files.len() - 1].clone()]));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let top = run.stderr.lines().nth(1).unwrap_or_default();
    assert!(
        top.contains(&site) && top.starts_with("  +"),
        "{}",
        run.stderr
    );
    let run = diff(&[
        std::ffi::OsStr::new("--key"),
        std::ffi::OsStr::new("traceback"),
        files[0].as_os_str(),
        files[1].as_os_str(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("service::main"),
        "call paths are shown by traceback:\n{}",
        run.stderr
    );
}

#[test]
fn a_cache_that_fills_and_stays_is_not_a_leak() {
    let (_dir, files) = run_service(&["--bounded"]);
    let run = diff(&os(&files));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("LEAK"), "{}", run.stderr);
    assert!(run.stderr.contains("No leak"), "{}", run.stderr);
}

#[test]
fn a_temporary_left_by_a_killed_dumper_is_not_in_the_series() {
    let (dir, files) = run_service(&["--bounded"]);
    // What a service killed mid-write leaves beside its snapshots.
    let left = dir.path().join(".snapshot-000099.json.4194304.Ab12Cd.tmp");
    std::fs::write(&left, "{\"version\": 1, \"tra").unwrap();
    // The shell's `dir/*.json`, as the README writes it.
    let run: Run = clean_command("sh", &workspace_root())
        .arg("-c")
        .arg("exec \"$0\" leakcheck diff \"$1\"/*.json")
        .arg(cargo_leakcheck_bin())
        .arg(dir.path())
        .output()
        .expect("sh runs")
        .into();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("Snapshot series: {} snapshots", files.len())),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_dump_sets_get_one_line_errors() {
    let (dir_a, a) = run_service(&[]);
    let (_dir_b, b) = run_service(&["--bounded"]);
    let check = |args: Vec<&std::ffi::OsStr>, expected: &str| {
        let run = diff(&args);
        assert_eq!(run.code, Some(2), "{expected}: {}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {}", run.stderr);
        assert!(lines[0].starts_with("error: "), "{}", run.stderr);
        assert!(lines[0].contains(expected), "{expected}: {}", run.stderr);
    };
    check(
        os(&[a[0].clone(), a[1].clone(), b[2].clone()]),
        "were taken by different processes",
    );
    check(
        os(&[a[0].clone(), a[2].clone(), a[1].clone()]),
        "give them in the order they were taken",
    );
    let truncated = dir_a.path().join("truncated.json");
    let text = std::fs::read(&a[1]).unwrap();
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    check(
        os(&[a[0].clone(), truncated, a[2].clone()]),
        "is corrupt or truncated",
    );
    let corrupt = dir_a.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"format\": \"something else\"}").unwrap();
    check(os(&[a[0].clone(), corrupt]), "not a leakcheck snapshot");
    check(
        os(&[a[0].clone(), dir_a.path().join("missing.json")]),
        "failed to access snapshot file",
    );
    let run = diff(&os(&[a[0].clone()]));
    assert_eq!(run.code, Some(2), "one snapshot: {}", run.stderr);
}

#[test]
fn the_html_of_a_series_plots_each_site_over_time() {
    let (dir, files) = run_service(&[]);
    let html_path = dir.path().join("growth.html");
    let json_path = dir.path().join("growth.json");
    let mut args = os(&files);
    args.extend([
        std::ffi::OsStr::new("--html"),
        html_path.as_os_str(),
        std::ffi::OsStr::new("--json"),
        json_path.as_os_str(),
    ]);
    let run = diff(&args);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let html = std::fs::read_to_string(&html_path).unwrap();
    for banned in ["http://", "https://", "src=", "<script", "<link", "url("] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(&html, options).expect("well-formed");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let sites = report["tests"][0]["sites"].as_array().unwrap();
    let plots: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("svg") && n.attribute("class") == Some("plot"))
        .collect();
    assert_eq!(plots.len(), sites.len(), "a plot per site that grew");
    for (svg, site) in plots.iter().zip(sites) {
        let lines: Vec<_> = svg
            .children()
            .filter(|c| c.has_tag_name("polyline"))
            .collect();
        assert_eq!(lines.len(), 2, "the series and its envelope");
        // The baseline and one point per snapshot after the first.
        let points = lines[0].attribute("points").unwrap().split(' ').count();
        assert_eq!(points, site["series"].as_array().unwrap().len() + 1);
        assert_eq!(points, files.len());
    }
    let leak = format!("<code>{EXAMPLE}:{}</code>", leak_line());
    assert!(html.contains(&leak), "{leak} is not on the page");
    assert!(html.contains("time since the first snapshot"));
    assert!(html.contains("The lower envelope keeps rising"));
    assert!(html.contains("service::main"), "the call path is shown");

    // Two snapshots: a table of changes, no plot.
    let two = dir.path().join("two.html");
    let run = diff(&[
        files[0].as_os_str(),
        files[1].as_os_str(),
        std::ffi::OsStr::new("--html"),
        two.as_os_str(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let html = std::fs::read_to_string(&two).unwrap();
    assert!(!html.contains("<svg class=\"plot\""));
    assert!(html.contains("Two snapshots give a comparison, not a series"));
    assert!(html.contains(&format!("{EXAMPLE}:{}", leak_line())));
}

/// A release build without line tables (`--release` and no `debug`
/// setting: cargo strips all debug info, std's too), with frame pointers:
/// the leak is charged to the fixture's handler, named by its function,
/// not to std's `format!` machinery, and the report says once how to get
/// lines.
#[test]
fn a_release_service_without_line_tables_is_named_by_function() {
    let _serial = leakcheck_tests::serial();
    let build: Run = clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &leakcheck_tests::fixture("service"),
    )
    .args(["build", "--quiet", "--release", "--example", "dumping"])
    .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
    .output()
    .expect("cargo runs")
    .into();
    assert_eq!(build.code, Some(0), "{}", build.stderr);
    let dir = tempfile::tempdir().unwrap();
    let run: Run = clean_command(
        fixture_target_dir().join("release/examples/dumping"),
        &workspace_root(),
    )
    .arg(dir.path())
    .arg("6")
    .output()
    .expect("the service runs")
    .into();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let files: Vec<PathBuf> = files_in(dir.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert!(files.len() >= 6, "{files:?}");

    let hint = "note: sites shown as `<unknown>:0` are named by their function: the program has \
                no line tables; for file:line, build it with \
                `[profile.release] debug = \"line-tables-only\"` in Cargo.toml";
    let run = diff(&os(&files));
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let leak_row = run
        .stderr
        .lines()
        .find(|l| l.contains("LEAK"))
        .unwrap_or_else(|| panic!("no leak row:\n{}", run.stderr));
    assert!(
        leak_row.ends_with("in service::handle"),
        "{leak_row}\n{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches(hint).count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("in alloc::"), "{}", run.stderr);

    // Two of them: the same site, the same note.
    let run = diff(&os(&[files[0].clone(), files[files.len() - 1].clone()]));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let top = run.stderr.lines().nth(1).unwrap_or_default();
    assert!(top.ends_with("in service::handle"), "{}", run.stderr);
    assert_eq!(run.stderr.matches(hint).count(), 1, "{}", run.stderr);
}
