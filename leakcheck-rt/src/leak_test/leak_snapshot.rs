//! Leak snapshots: a known leak accepted with `cargo insta review` passes,
//! a new or changed one fails.

#[cfg(feature = "insta")]
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use super::LeakTestConfig;
#[cfg(feature = "insta")]
use crate::accepted_leaks;

/// How a team accepts a leak report.
pub(crate) const HOW_TO_ACCEPT: &str = "to accept this leak report as known, run `cargo insta review` \
     (or `cargo leakcheck --review`) and accept the snapshot";

/// The snapshot file `insta::assert_snapshot!` uses for this test's leak
/// report: `<workspace>/<dir of the test file>/snapshots/<module>__<fn>_leaks.snap`.
pub(crate) fn snapshot_path(config: &LeakTestConfig) -> PathBuf {
    let workspace = workspace_root(config.manifest_dir);
    let dir = Path::new(config.file).parent().unwrap_or(Path::new(""));
    let name = format!(
        "{}__{}_leaks.snap",
        config.module_path.replace("::", "__"),
        config.fn_name
    );
    workspace.join(dir).join("snapshots").join(name)
}

/// Where insta looks for snapshots: `INSTA_WORKSPACE_ROOT`, else the
/// nearest ancestor of the manifest directory whose `Cargo.toml` declares
/// a `[workspace]`, else the manifest directory.
fn workspace_root(manifest_dir: &str) -> PathBuf {
    if let Some(root) = std::env::var_os("INSTA_WORKSPACE_ROOT") {
        return PathBuf::from(root);
    }
    crate::symbolize::find_workspace_root(Path::new(manifest_dir))
}

/// Checks `text` against the test's accepted snapshot, site by site (see
/// [`crate::accepted_leaks`]): `Ok` with the accepted sites that moved, or
/// `Err` naming what differs. Only a report that differs goes to insta, so
/// that it writes the `.snap.new` to review.
#[cfg(feature = "insta")]
pub(crate) fn check(
    config: &LeakTestConfig,
    text: &str,
    check_snapshot: &dyn Fn(&str),
) -> Result<Vec<String>, String> {
    let insta = || {
        let mut settings = insta::Settings::clone_current();
        settings.set_omit_expression(true);
        settings.set_description(format!(
            "leakcheck report of the leak test `{}`",
            config.test_name()
        ));
        settings.bind(|| panic::catch_unwind(AssertUnwindSafe(|| check_snapshot(text))))
    };
    let path = snapshot_path(config);
    let changes = match std::fs::read_to_string(&path) {
        Ok(file) => {
            let accepted = accepted_leaks::snapshot_contents(&file);
            let comparison = accepted_leaks::compare(accepted, text);
            if comparison.matches() {
                // `--accept` (insta's `always`) still writes the report's
                // lines and rates over the accepted ones.
                let always = std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always");
                if always && accepted.trim_end() != text.trim_end() {
                    let _ = insta();
                }
                return Ok(comparison.moved);
            }
            Some(comparison.changes.join("; "))
        }
        Err(_) => None,
    };
    if let Err(payload) = insta() {
        return Err(changes.unwrap_or_else(|| panic_message(payload.as_ref())));
    }
    // insta's pass is no proof: `INSTA_FORCE_PASS=1` (or `force_pass` in
    // insta's config) passes any difference, even under `CI`. The verdict
    // is leakcheck's: the accepted snapshot (which insta may just have
    // written) must hold this report.
    match std::fs::read_to_string(&path) {
        Ok(file) => {
            let comparison =
                accepted_leaks::compare(accepted_leaks::snapshot_contents(&file), text);
            if comparison.matches() {
                Ok(comparison.moved)
            } else {
                Err(comparison.changes.join("; "))
            }
        }
        Err(_) => Err(format!("no accepted snapshot at {}", path.display())),
    }
}

/// Without insta `#[leak_test]` compiles only with `snapshot = false`, so
/// no snapshot is ever checked.
#[cfg(not(feature = "insta"))]
pub(crate) fn check(
    _config: &LeakTestConfig,
    _text: &str,
    _check_snapshot: &dyn Fn(&str),
) -> Result<Vec<String>, String> {
    Err("leakcheck-rt was built without its `insta` feature".to_owned())
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(manifest_dir: &'static str) -> LeakTestConfig {
        LeakTestConfig {
            module_path: "leaks::inner",
            fn_name: "unbounded_cache",
            file: "tests/leaks.rs",
            manifest_dir,
            warmup: 1,
            iters: 10_000,
            frames: 25,
            checkpoints: 8,
            max_iters: 40_000,
            min_bytes_per_iter: 0.0,
            min_growth_bytes: 256,
            snapshot: true,
            should_panic: None,
        }
    }

    #[test]
    fn snapshot_path_is_insta_default() {
        // This crate lives in a workspace: its root holds the snapshots.
        let here = env!("CARGO_MANIFEST_DIR");
        let root = Path::new(here).parent().unwrap();
        let leaked: &'static str = Box::leak(here.to_owned().into_boxed_str());
        assert_eq!(
            snapshot_path(&config(leaked)),
            root.join("tests/snapshots/leaks__inner__unbounded_cache_leaks.snap")
        );
    }

    #[cfg(feature = "insta")]
    #[test]
    fn insta_passing_is_not_enough() {
        // A check that passes whatever it is given, as insta does under
        // INSTA_FORCE_PASS=1.
        let dir = tempfile::tempdir().unwrap();
        let manifest: &'static str = Box::leak(dir.path().display().to_string().into_boxed_str());
        let cfg = config(manifest);
        let err = check(&cfg, "a leak\n", &|_| {}).unwrap_err();
        assert!(err.starts_with("no accepted snapshot at"), "{err}");
        let path = snapshot_path(&cfg);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "---\nsource: tests/leaks.rs\n---\nanother leak\n").unwrap();
        let err = check(&cfg, "a leak\n", &|_| {}).unwrap_err();
        assert_eq!(err, "the report differs from the accepted snapshot");
        std::fs::write(&path, "---\nsource: tests/leaks.rs\n---\na leak\n").unwrap();
        assert_eq!(check(&cfg, "a leak", &|_| {}), Ok(Vec::new()));
        // A report that matches never goes to insta; one without an
        // accepted snapshot passes insta's own failure on.
        assert_eq!(
            check(&cfg, "a leak", &|_| panic!("snapshot assertion failed")),
            Ok(Vec::new())
        );
        std::fs::remove_file(&path).unwrap();
        let err = check(&cfg, "a leak", &|_| panic!("snapshot assertion failed")).unwrap_err();
        assert_eq!(err, "snapshot assertion failed");
    }

    #[cfg(not(feature = "insta"))]
    #[test]
    fn without_insta_no_snapshot_is_checked() {
        let cfg = config(env!("CARGO_MANIFEST_DIR"));
        let err = check(&cfg, "a leak\n", &|_| {}).unwrap_err();
        assert_eq!(err, "leakcheck-rt was built without its `insta` feature");
    }

    #[test]
    fn panic_messages_are_read() {
        let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("boom"));
        assert_eq!(panic_message(payload.as_ref()), "boom");
        let payload: Box<dyn std::any::Any + Send> = Box::new("static");
        assert_eq!(panic_message(payload.as_ref()), "static");
    }
}
