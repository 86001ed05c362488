//! Snapshot review: a known leak accepted with `cargo insta review` passes,
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
    checked.map_err(|payload| panic_message(payload.as_ref()))
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

    #[test]
    fn panic_messages_are_read() {
        let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("boom"));
        assert_eq!(panic_message(payload.as_ref()), "boom");
        let payload: Box<dyn std::any::Any + Send> = Box::new("static");
        assert_eq!(panic_message(payload.as_ref()), "static");
    }
}
