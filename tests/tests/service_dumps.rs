//! A running service watched with `dump_every`, judged with
//! `cargo leakcheck diff`: the example `leakcheck-rt/examples/service.rs`
//! runs until it has dumped 6 snapshots, one every 150 ms (more where
//! symbolising is slow); its leak is named at its
//! line with exit 1, its bounded cache exits 0, and bad dump sets each get
//! a one-line error with exit 2.

use std::path::{Path, PathBuf};

use leakcheck_tests::{
    Run, cargo_leakcheck_bin, clean_command, fixture_target_dir, service_example_bin,
    workspace_root,
};

const EXAMPLE: &str = "leakcheck-rt/examples/service.rs";

/// Runs the service until it wrote 6 snapshots (or 7, see below) into a fresh directory; returns
/// the directory and its snapshot files in order.
fn run_service(extra: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let _serial = leakcheck_tests::serial();
    let dir = tempfile::tempdir().unwrap();
    let run: Run = clean_command(service_example_bin(), &workspace_root())
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
    let leak_row = run.stderr_line_with("LEAK");
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
        os(&[a[0].clone(), b[1].clone()]),
        "were taken by different processes",
    );
    // Three or more of two runs: the last run (b) is judged, and one
    // snapshot of it is not a series.
    check(
        os(&[a[0].clone(), a[1].clone(), b[2].clone()]),
        "holds 2 runs and the last (pid ",
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
    // Rates per interval in their unit: `4.9 MiB/interval`, not the bytes.
    assert!(html.contains("B/interval"), "the rates are on the page");
    for (at, _) in html.match_indices("B/interval") {
        let before = &html[..at];
        let number: String = before
            .trim_end_matches(' ')
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        assert!(
            before.ends_with("Ki")
                || before.ends_with("Mi")
                || (before.ends_with(' ') && number.parse::<f64>().is_ok_and(|n| n < 1024.0)),
            "a rate without its unit: {}",
            &before[before.len().saturating_sub(60)..]
        );
    }

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
    let leak_row = run.stderr_line_with("LEAK");
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

/// The README's service binary (`tests/fixtures/service-bin`): leakcheck-rt
/// an optional dependency behind the feature `leakcheck`.
const SERVICE_BIN: &str = "service-bin";

fn cargo_in_service_bin(args: &[&str]) -> Run {
    clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &leakcheck_tests::fixture(SERVICE_BIN),
    )
    .args(args)
    .output()
    .expect("cargo runs")
    .into()
}

/// The `leakcheck-snapshots/*.json` in `dir`, in name order.
fn snapshot_files(dir: &Path) -> Vec<PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    files_in(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect()
}

/// Starts the service in `work`, waits until `leakcheck-snapshots` there
/// holds `wanted` snapshot files, then sends it `signal` and waits for it
/// to die of it. Returns its process id.
fn run_until_killed(bin: &Path, work: &Path, wanted: usize, signal: &str) -> u32 {
    let log = work.join(format!("service-{signal}.log"));
    // Run from a directory of its own, as a deployed service is; its
    // sites are named relative to the checkout it was built from.
    let mut child = clean_command(bin, work)
        .env_remove("CARGO_MANIFEST_DIR")
        .env(
            "LEAKCHECK_WORKSPACE_ROOT",
            leakcheck_tests::fixture(SERVICE_BIN),
        )
        .env("DUMP_INTERVAL_MS", "150")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the service starts");
    let pid = child.id();
    let dumps = work.join("leakcheck-snapshots");
    // A deadline for a service that never dumps, not a measure of time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while snapshot_files(&dumps).len() < wanted {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the service ended on its own ({status}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {wanted} snapshots in {}",
            dumps.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let kill: Run = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .output()
        .expect("kill runs")
        .into();
    assert_eq!(kill.code, Some(0), "{}", kill.stderr);
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    let number = match signal {
        "TERM" => libc::SIGTERM,
        _ => libc::SIGKILL,
    };
    assert_eq!(status.signal(), Some(number), "{status}");
    pid
}

/// The service flow of the README, end to end: built without the feature
/// the binary does not link leakcheck; built with it, it dumps while it
/// serves; killed (SIGTERM) and started again, it dumps into the same
/// directory, numbering on, until it is killed outright (SIGKILL); and
/// `cargo leakcheck diff leakcheck-snapshots/*.json` judges the last run,
/// names the leaking line and says in one line which run it judged.
#[test]
fn a_restarted_service_is_judged_by_its_last_run() {
    let _serial = leakcheck_tests::serial();
    let bin = fixture_target_dir().join("debug/my-service");

    // Without `--features leakcheck`: no leakcheck-rt in the build, nothing
    // of it in the binary.
    let build = cargo_in_service_bin(&["build", "--quiet"]);
    assert_eq!(build.code, Some(0), "{}", build.stderr);
    let image = std::fs::read(&bin).unwrap();
    assert!(
        !image.windows(b"leakcheck".len()).any(|w| w == b"leakcheck"),
        "the binary built without the feature names leakcheck"
    );
    let tree = cargo_in_service_bin(&["tree", "-e", "normal"]);
    assert_eq!(tree.code, Some(0), "{}", tree.stderr);
    assert!(!tree.stdout.contains("leakcheck-rt"), "{}", tree.stdout);
    let tree = cargo_in_service_bin(&["tree", "-e", "normal", "--features", "leakcheck"]);
    assert!(tree.stdout.contains("leakcheck-rt"), "{}", tree.stdout);

    let build = cargo_in_service_bin(&["build", "--quiet", "--features", "leakcheck"]);
    assert_eq!(build.code, Some(0), "{}", build.stderr);
    let work = tempfile::tempdir().unwrap();
    let first_pid = run_until_killed(&bin, work.path(), 3, "TERM");
    let dumps = work.path().join("leakcheck-snapshots");
    let first_run = snapshot_files(&dumps).len();
    let second_pid = run_until_killed(&bin, work.path(), first_run + 5, "KILL");
    let files = snapshot_files(&dumps);
    let second_run = files.len() - first_run;

    // As the README runs it: the shell's `dir/*.json`, from the service's
    // directory.
    let run: Run = clean_command("sh", work.path())
        .arg("-c")
        .arg("exec \"$0\" leakcheck diff leakcheck-snapshots/*.json --json report.json")
        .arg(cargo_leakcheck_bin())
        .output()
        .expect("sh runs")
        .into();
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let note = format!(
        "note: leakcheck-snapshots holds 2 runs (pids {first_pid}, {second_pid}); \
         judging the last: pid {second_pid}, started "
    );
    let notes: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with(&note))
        .collect();
    assert_eq!(notes.len(), 1, "{note}\n{}", run.stderr);
    assert!(
        notes[0].ends_with(&format!(" UTC, {second_run} snapshots")),
        "{}",
        notes[0]
    );
    let line = leakcheck_tests::line_of(SERVICE_BIN, "src/main.rs", "LEAK: every session");
    let leak_row = run.stderr_line_with("LEAK");
    assert!(
        leak_row.contains(&format!("src/main.rs:{line} ")),
        "{leak_row}\n{}",
        run.stderr
    );
    assert!(
        leak_row.ends_with("in my_service::handle_request"),
        "{leak_row}"
    );
    assert!(
        run.stderr.contains(&format!(
            "Snapshot series: {second_run} snapshots of pid {second_pid} "
        )),
        "{}",
        run.stderr
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("report.json")).unwrap())
            .unwrap();
    let test = &report["tests"][0];
    assert_eq!(test["verdict"], "leak");
    assert_eq!(test["iters"], (second_run - 1) as u64);
    let judged: Vec<String> = files[first_run..]
        .iter()
        .map(|f| {
            format!(
                "leakcheck-snapshots/{}",
                f.file_name().unwrap().to_str().unwrap()
            )
        })
        .collect();
    assert_eq!(test["snapshots"], serde_json::json!(judged));
    assert_eq!(test["sites"][0]["file"], "src/main.rs");
    assert_eq!(test["sites"][0]["line"], line);

    // The directory itself: its snapshot files in number order, the same
    // runs, the same judgement.
    let by_dir: Run = clean_command(cargo_leakcheck_bin(), work.path())
        .args(["leakcheck", "diff", "leakcheck-snapshots"])
        .output()
        .expect("cargo-leakcheck runs")
        .into();
    assert_eq!(by_dir.code, Some(1), "{}", by_dir.stderr);
    assert_eq!(by_dir.stderr, run.stderr);
}

/// The README's service crate is the fixture the flow above runs: its
/// `Cargo.toml` lines (the path aside) and its `main.rs` lines (the
/// interval aside, which the fixture reads from `DUMP_INTERVAL_MS`) are
/// the fixture's.
#[test]
fn the_readme_s_service_crate_is_the_fixture() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let section = readme
        .split("\n## A running service")
        .nth(1)
        .expect("the README's service section");
    let block = |lang: &str| {
        let start = section
            .find(&format!("```{lang}\n"))
            .unwrap_or_else(|| panic!("no {lang} block"))
            + lang.len()
            + 4;
        let len = section[start..].find("```").unwrap();
        section[start..start + len].to_owned()
    };
    let fixture = leakcheck_tests::fixture(SERVICE_BIN);
    let manifest = std::fs::read_to_string(fixture.join("Cargo.toml")).unwrap();
    let manifest: Vec<&str> = manifest.lines().collect();
    let toml = block("toml").replace("../leakcheck/leakcheck-rt", "../../../leakcheck-rt");
    for line in toml.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            manifest.contains(&line),
            "{line:?} is not in the fixture's Cargo.toml"
        );
    }
    let main = std::fs::read_to_string(fixture.join("src/main.rs")).unwrap();
    let main: Vec<&str> = main.lines().collect();
    let rust = block("rust").replace("Duration::from_secs(60)", "dump_interval()");
    for line in rust.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with("//") {
            continue;
        }
        assert!(
            main.contains(&line),
            "{line:?} is not in the fixture's src/main.rs"
        );
    }
}
