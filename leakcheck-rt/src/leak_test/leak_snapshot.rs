//! Leak snapshots: a known leak accepted with `cargo insta review` passes,
//! a new or changed one fails.

#[cfg(feature = "insta")]
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use super::LeakTestConfig;

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

/// Checks `text` against the test's snapshot with insta; `Err` with
/// insta's message when the snapshot is new or differs.
#[cfg(feature = "insta")]
pub(crate) fn check(
    config: &LeakTestConfig,
    text: &str,
    check_snapshot: &dyn Fn(&str),
) -> Result<(), String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    settings.set_description(format!(
        "leakcheck report of the leak test `{}`",
        config.test_name()
    ));
    let checked = settings.bind(|| panic::catch_unwind(AssertUnwindSafe(|| check_snapshot(text))));
    checked.map_err(|payload| panic_message(payload.as_ref()))?;
    // insta's pass is no proof: `INSTA_FORCE_PASS=1` (or `force_pass` in
    // insta's config) passes any difference, even under `CI`. The verdict
    // is leakcheck's: the accepted snapshot must hold this very report.
    let path = snapshot_path(config);
    match std::fs::read_to_string(&path) {
        Ok(file) if same_contents(snapshot_contents(&file), text) => Ok(()),
        Ok(_) => Err(format!(
            "the accepted snapshot {} holds a different report",
            path.display()
        )),
        Err(_) => Err(format!("no accepted snapshot at {}", path.display())),
    }
}

/// The contents of an insta `.snap` file: what follows its `---` header.
#[cfg(feature = "insta")]
fn snapshot_contents(file: &str) -> &str {
    let Some(rest) = file
        .strip_prefix("---\n")
        .or_else(|| file.strip_prefix("---\r\n"))
    else {
        return file;
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        offset += line.len();
        if line.trim_end() == "---" {
            return &rest[offset..];
        }
    }
    ""
}

/// insta's comparison of text snapshots: trailing whitespace and CRLF
/// line ends do not count.
#[cfg(feature = "insta")]
fn same_contents(accepted: &str, report: &str) -> bool {
    let norm = |s: &str| s.trim_end().replace("\r\n", "\n");
    norm(accepted) == norm(report)
}

/// Without insta `#[leak_test]` compiles only with `snapshot = false`, so
/// no snapshot is ever checked.
#[cfg(not(feature = "insta"))]
pub(crate) fn check(
    _config: &LeakTestConfig,
    _text: &str,
    _check_snapshot: &dyn Fn(&str),
) -> Result<(), String> {
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
    fn snapshot_contents_follow_the_header() {
        let file = "---\nsource: tests/leak.rs\ndescription: x\n---\nline 1\nline 2\n";
        assert_eq!(snapshot_contents(file), "line 1\nline 2\n");
        assert!(same_contents(snapshot_contents(file), "line 1\r\nline 2"));
        assert!(!same_contents(snapshot_contents(file), "line 1\nline 3"));
        assert_eq!(snapshot_contents("---\nno end"), "");
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
        assert!(err.contains("holds a different report"), "{err}");
        std::fs::write(&path, "---\nsource: tests/leaks.rs\n---\na leak\n").unwrap();
        assert_eq!(check(&cfg, "a leak", &|_| {}), Ok(()));
        // insta's own failure is passed on.
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
