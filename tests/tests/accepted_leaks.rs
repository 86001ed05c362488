//! An accepted leak survives ordinary change: its site moved to another
//! line passes, and the report says so; a new site, an accepted site gone,
//! or a rate past its accepted bucket fails, naming which.

use std::path::Path;

use leakcheck_tests::{
    Run, cargo_leakcheck_bin, clean_command, renamed_scratch_copy, scratch_copy, serial,
};

/// A leak test whose leak is one `mem::forget` in `keep`.
const KEPT: &str = r#"//! A known leak, accepted.
leakcheck_rt::install!();

#[leakcheck_rt::leak_test(iters = 2_000)]
fn keeps_requests() {
    keep(std::hint::black_box(512));
}

fn keep(size: usize) {
    std::mem::forget(vec![0u8; size]); // KEPT
}
"#;

fn leakcheck(dir: &Path, args: &[&str]) -> Run {
    clean_command(cargo_leakcheck_bin(), dir)
        .arg("leakcheck")
        .args(args)
        .args(["--test", "kept"])
        .output()
        .expect("cargo-leakcheck runs")
        .into()
}

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("tests/kept.rs"), text).unwrap();
}

fn line_of_kept(text: &str) -> usize {
    text.lines().position(|l| l.contains("// KEPT")).unwrap() + 1
}

#[test]
fn an_accepted_leak_survives_a_move_and_fails_when_it_changes() {
    let _serial = serial();
    let dir = scratch_copy("frameworks");
    write(&dir, KEPT);
    let line = line_of_kept(KEPT);

    let run = leakcheck(&dir, &["--accept"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let snap = dir.join("tests/snapshots/kept__keeps_requests_leaks.snap");
    let accepted = std::fs::read_to_string(&snap).expect("--accept writes the snapshot");
    assert!(
        accepted.contains(&format!(
            "tests/kept.rs:{line}  kept::keep  leak  ~500 B/iter  ~1 blocks/iter"
        )),
        "{accepted}"
    );

    // One line inserted above the accepted site: it moved, and passes.
    let moved = KEPT.replace("fn keep(", "/// Keeps a block.\nfn keep(");
    write(&dir, &moved);
    let run = leakcheck(&dir, &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "accepted site moved: tests/kept.rs:{line} → {}",
            line + 1
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("LEAK"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&snap).unwrap(), accepted);
    assert!(
        !dir.join("tests/snapshots/kept__keeps_requests_leaks.snap.new")
            .exists()
    );

    // The rate doubled twice: past its accepted bucket.
    write(&dir, &moved.replace("black_box(512)", "black_box(2048)"));
    let run = leakcheck(&dir, &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "accepted site grew: tests/kept.rs:{} in kept::keep: ~500 → ~2000 B/iter",
            line + 1
        )),
        "{}",
        run.stderr
    );

    // A second leaking site is new.
    let two = KEPT.replace(
        "    keep(std::hint::black_box(512));\n",
        "    keep(std::hint::black_box(512));\n    keep_more(std::hint::black_box(512));\n",
    ) + "\nfn keep_more(size: usize) {\n    std::mem::forget(vec![1u8; size]); // MORE\n}\n";
    write(&dir, &two);
    let more = two.lines().position(|l| l.contains("// MORE")).unwrap() + 1;
    let run = leakcheck(&dir, &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "new site: tests/kept.rs:{more} in kept::keep_more  ~500 B/iter"
        )),
        "{}",
        run.stderr
    );

    // Accepted with both sites, then one goes away.
    let run = leakcheck(&dir, &["--accept"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    write(&dir, KEPT);
    let run = leakcheck(&dir, &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "accepted site gone: tests/kept.rs:{more} in kept::keep_more"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn an_accepted_session_site_that_moved_passes_and_is_named() {
    let _serial = serial();
    let dir = scratch_copy("frameworks");
    let line = leakcheck_tests::line_of("frameworks", "src/lib.rs", "ACCEPTED GROWTH");
    let run = |args: &[&str]| -> Run {
        clean_command(cargo_leakcheck_bin(), &dir)
            .arg("leakcheck")
            .args(args)
            .args(["--test", "registry"])
            .output()
            .expect("cargo-leakcheck runs")
            .into()
    };
    let out = run(&["--accept"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let accepted = dir.join(".config/leakcheck-accepted.toml");
    let entries = std::fs::read_to_string(&accepted).expect("--accept writes the file");
    assert!(entries.contains(&format!("line = {line}\n")), "{entries}");

    // One line inserted above the accepted site: it moved, and passes.
    let lib = dir.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        text.replace(
            "pub fn register_plugin() {",
            "pub fn register_plugin() {\n    // One more line.",
        ),
    )
    .unwrap();
    let out = run(&[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "note: accepted site moved: src/lib.rs:{line} → {} in frameworks::registry",
            line + 1
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("accepted session growth at 1 site (1 binary checked)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("no longer grows"), "{}", out.stderr);
    // The entry is left as it was: a `--check` run writes nothing.
    assert_eq!(std::fs::read_to_string(&accepted).unwrap(), entries);
}

/// An accepted leak charged to a registry crate (the `ci` fixture's
/// smallvec spills a small vector to the heap) passes when the fixture's
/// Cargo.lock moves to another patch release of that crate: the site is
/// `smallvec/src/lib.rs` in its function, not the release's directory.
#[test]
fn an_accepted_site_in_a_dependency_passes_at_another_patch_release() {
    let _serial = serial();
    let dir = renamed_scratch_copy("ci", "ci-fixture", "ci_fixture");
    let run = |args: &[&str]| -> Run {
        clean_command(cargo_leakcheck_bin(), &dir)
            .arg("leakcheck")
            .args(args)
            .args(["--test", "suite", "spills_into_smallvec"])
            .output()
            .expect("cargo-leakcheck runs")
            .into()
    };
    let out = run(&["--accept"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let snap = dir.join("tests/snapshots/suite__spills_into_smallvec_leaks.snap");
    let accepted = std::fs::read_to_string(&snap).expect("--accept writes the snapshot");
    assert!(
        accepted.contains("smallvec-1.16.6/src/lib.rs:"),
        "{accepted}"
    );

    // The lock file moves to smallvec 1.16.5 (the manifest pins the
    // release exactly, so the pin moves with it).
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("smallvec = \"=1.16.6\""), "{text}");
    std::fs::write(
        &manifest,
        text.replace("smallvec = \"=1.16.6\"", "smallvec = \"=1.16.5\""),
    )
    .unwrap();
    let update: Run = clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &dir,
    )
    .args(["update", "-p", "smallvec", "--precise", "1.16.5"])
    .output()
    .expect("cargo runs")
    .into();
    assert_eq!(update.code, Some(0), "{}", update.stderr);
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains("name = \"smallvec\"\nversion = \"1.16.5\""),
        "{lock}"
    );

    let out = run(&[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let moved = out
        .stderr
        .lines()
        .find(|l| l.contains("accepted site moved: smallvec-1.16.6/src/lib.rs:"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(moved.contains("→ smallvec-1.16.5/src/lib.rs:"), "{moved}");
    assert!(!out.stderr.contains("LEAK"), "{}", out.stderr);
    // A `--check` run writes nothing.
    assert_eq!(std::fs::read_to_string(&snap).unwrap(), accepted);
    assert!(!snap.with_extension("snap.new").exists());
}
