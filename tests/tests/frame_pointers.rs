//! Frame pointers in real builds: optimised builds keep fast, right stacks,
//! and a user's rustflags settings cannot turn leakcheck's frame pointers
//! off (before, a `[target.<triple>] rustflags` beat the flag, and a session
//! charged memory to `std::rt::lang_start` and missed real growth).

use std::path::PathBuf;

use leakcheck_rt::protocol::messages::UNWINDER_NOTICE;
use leakcheck_rt::report::{Report, SessionVerdict, TestVerdict};
use leakcheck_tests::{
    Run, RustFlags, cargo_leakcheck_bin, clean_command, fixture, fixture_target_dir,
    flags_target_dir, line_of, serial,
};

/// Builds with `-C target-cpu=native` share a target directory of their
/// own, so they do not rebuild the other fixtures' dependencies.
fn native_target_dir() -> PathBuf {
    flags_target_dir(RustFlags::Native)
}

fn leakcheck_json(
    fixture_name: &str,
    target: PathBuf,
    env: &[(&str, &str)],
    args: &[&str],
) -> (Run, Report) {
    let json = target.join(format!("{fixture_name}-frame-pointers.json"));
    let _ = std::fs::create_dir_all(&target);
    let _ = std::fs::remove_file(&json);
    let mut cmd = clean_command(cargo_leakcheck_bin(), &fixture(fixture_name));
    cmd.env("CARGO_TARGET_DIR", &target)
        .arg("leakcheck")
        .arg("--json")
        .arg(&json)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run: Run = cmd.output().expect("cargo-leakcheck runs").into();
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}\n{}", run.stdout, run.stderr));
    (
        run,
        serde_json::from_str(&text).expect("a version-1 report"),
    )
}

fn host_triple() -> String {
    let out = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

/// The registry's growth is found at its line with exactly the tests that
/// grew it, no session site names the runtime's entry, the leak test is
/// charged to its line, and nothing fell back to the unwinder.
fn assert_right_verdicts(fixture_name: &str, binary: &str, run: &Run, report: &Report) {
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        !run.stderr.contains(UNWINDER_NOTICE) && report.unwinder.is_empty(),
        "fell back to the unwinder: {:?}\n{}",
        report.unwinder,
        run.stderr
    );
    assert_eq!(report.session.verdict, SessionVerdict::Growth);
    let line = line_of(fixture_name, "src/lib.rs", "SESSION GROWTH");
    let growth: Vec<_> = report
        .session
        .sites
        .iter()
        .filter(|s| s.growth && s.binary == binary)
        .collect();
    assert_eq!(growth.len(), 1, "{:#?}", report.session);
    assert_eq!(
        (growth[0].file.as_str(), growth[0].line),
        ("src/lib.rs", line)
    );
    assert!(
        growth[0].tests.iter().all(|t| t.starts_with("plain_")),
        "{:?}",
        growth[0].tests
    );
    assert!(
        report
            .session
            .sites
            .iter()
            .all(|s| !s.function.contains("lang_start") && !s.file.contains("rt.rs")),
        "a site charged to the runtime's entry: {:#?}",
        report.session
    );
}

#[test]
fn target_rustflags_in_the_users_config_keep_frame_pointers() {
    let _serial = serial();
    // tests/fixtures/native/.cargo/config.toml sets
    // `[target.<host>] rustflags = ["-C", "target-cpu=native"]`.
    let (run, report) = leakcheck_json("native", native_target_dir(), &[], &[]);
    assert_right_verdicts("native", "native::suite", &run, &report);
    assert_eq!(report.session.sites.iter().filter(|s| s.growth).count(), 1);
    let leak = report
        .tests
        .iter()
        .find(|t| t.name == "handle_request_retains_every_payload")
        .expect("the leak test is reported");
    assert_eq!(leak.verdict, TestVerdict::Leak, "{leak:#?}");
    let site = &leak.sites[0];
    assert_eq!(
        (site.file.as_str(), site.line),
        ("src/lib.rs", line_of("native", "src/lib.rs", "// LEAK"))
    );
    assert_eq!(site.function, "native::handle_request");
}

#[test]
fn target_rustflags_in_the_environment_keep_frame_pointers() {
    let _serial = serial();
    let var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        host_triple().to_uppercase().replace(['-', '.'], "_")
    );
    let (run, report) = leakcheck_json(
        "session",
        native_target_dir(),
        &[(var.as_str(), "-C target-cpu=native")],
        &["--test", "suite"],
    );
    assert_right_verdicts("session", "registry::suite", &run, &report);
    let expected: Vec<String> = (0..12).map(|i| format!("plain_{i:02}")).collect();
    let growth = report.session.sites.iter().find(|s| s.growth).unwrap();
    assert_eq!(growth.tests, expected);
    assert_eq!(growth.count_diff, 12);
}

#[test]
fn a_release_run_names_the_same_lines_as_a_debug_run() {
    let _serial = serial();
    let (run, report) = leakcheck_json("seed", fixture_target_dir(), &[], &["--release"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        !run.stderr.contains(UNWINDER_NOTICE) && report.unwinder.is_empty(),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("libunwind.rs"), "{}", run.stderr);
    let leak = report
        .tests
        .iter()
        .find(|t| t.name == "handle_request_retains_every_payload")
        .expect("the leak test is reported");
    assert_eq!(leak.verdict, TestVerdict::Leak);
    let site = &leak.sites[0];
    assert_eq!(
        (site.file.as_str(), site.line),
        (
            "src/lib.rs",
            line_of("seed", "src/lib.rs", "vec![0u8; 1024]")
        ),
        "{leak:#?}"
    );
    assert!((1000.0..1100.0).contains(&site.bytes_per_iter), "{site:?}");
    let clean = report
        .tests
        .iter()
        .find(|t| t.name == "parsing_an_id_is_clean")
        .unwrap();
    assert_eq!(clean.verdict, TestVerdict::Clean, "{clean:#?}");
}

#[test]
fn a_release_binary_that_starts_tracing_in_main_keeps_frame_pointers() {
    let _serial = serial();
    let run: Run = clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &fixture("seed"),
    )
    .args(["run", "--quiet", "--release", "--example", "service"])
    // Line tables, as `cargo leakcheck --release` sets them.
    .env("CARGO_PROFILE_RELEASE_DEBUG", "line-tables-only")
    .output()
    .expect("cargo runs")
    .into();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains(UNWINDER_NOTICE), "{}", run.stderr);
    let line = line_of("seed", "src/lib.rs", "vec![0u8; 1024]");
    assert_eq!(
        run.stdout.trim(),
        format!("top: src/lib.rs:{line} count 1000"),
        "{}",
        run.stderr
    );
}

#[test]
fn without_frame_pointers_a_release_build_charges_no_unwinder_frame() {
    let _serial = serial();
    // An empty RUSTFLAGS replaces the workspace's `force-frame-pointers`;
    // the target directory is the one of the debug variant of this test.
    let target = flags_target_dir(RustFlags::NoFramePointers);
    let run: Run = clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &fixture("seed"),
    )
    .env("RUSTFLAGS", "")
    .env("CARGO_TARGET_DIR", target)
    .env("CARGO_PROFILE_RELEASE_DEBUG", "line-tables-only")
    .env("LEAKCHECK_MODE", "measure")
    .args(["test", "--release", "--test", "leak", "--"])
    .args(["--nocapture", "--test-threads=1", "handle_request"])
    .output()
    .expect("cargo runs")
    .into();
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(
        all.lines()
            .filter(|l| l.starts_with(UNWINDER_NOTICE))
            .count(),
        1,
        "no one-line notice:\n{all}"
    );
    let line = line_of("seed", "src/lib.rs", "vec![0u8; 1024]");
    assert!(
        all.contains(&format!("src/lib.rs:{line}  (1024.0 B/iter")),
        "{all}"
    );
    assert!(
        !all.contains("libunwind.rs") && !all.contains("_Unwind_Backtrace"),
        "{all}"
    );
}
