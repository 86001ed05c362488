//! Leak snapshots: a known leak accepted with `cargo insta review` passes,
//! a new or changed one fails.

#[cfg(feature = "insta")]
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use super::LeakTestConfig;
#[cfg(feature = "insta")]
use super::pending_snapshot;
#[cfg(feature = "insta")]
use leakcheck_format::accepted_leaks;

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

/// How a leak report differs from its accepted snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// What differs, one line each: `new site: …`, `accepted site gone: …`,
    /// `accepted site grew: … ~500 → ~2000 B/iter`, `no accepted snapshot at …`.
    pub changes: Vec<String>,
    /// The `.snap.new` written for `cargo insta review`, when one was.
    pub pending: Option<PathBuf>,
}

impl Mismatch {
    fn new(changes: Vec<String>) -> Mismatch {
        Mismatch {
            changes,
            pending: None,
        }
    }

    /// The changes on one line.
    pub fn summary(&self) -> String {
        self.changes.join("; ")
    }
}

/// Checks `text` against the test's accepted snapshot, site by site (see
/// [`leakcheck_format::accepted_leaks`]): `Ok` with the accepted sites that moved, or
/// the [`Mismatch`]. A differing report is written to the `.snap.new` to
/// review by leakcheck itself, in insta's format, so that insta neither
/// fails the test a second time nor prints its own summary; only where
/// insta would write the accepted snapshot in place (`INSTA_UPDATE=always`,
/// `cargo leakcheck --accept`), or its config file decides, is
/// `check_snapshot` (insta's assertion) called.
#[cfg(feature = "insta")]
pub(crate) fn check(
    config: &LeakTestConfig,
    text: &str,
    check_snapshot: &dyn Fn(&str),
) -> Result<Vec<String>, Mismatch> {
    let insta = || {
        let mut settings = insta::Settings::clone_current();
        settings.set_omit_expression(true);
        settings.set_description(description(config));
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
            comparison.changes
        }
        Err(_) => {
            // Every site of the report is new: compared with the report's
            // own test and verdict lines, without sites.
            let heading: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
            let mut changes = vec![format!("no accepted snapshot at {}", path.display())];
            changes.extend(accepted_leaks::compare(&heading, text).changes);
            changes
        }
    };
    let workspace = workspace_root(config.manifest_dir);
    match pending_snapshot::update(&workspace, &path) {
        pending_snapshot::Update::NewFile(pending) => {
            let file = pending_snapshot::file_text(config.file, &description(config), text);
            let mut mismatch = Mismatch::new(changes);
            match pending_snapshot::write(&pending, &file) {
                Ok(()) => mismatch.pending = Some(pending),
                Err(e) => mismatch
                    .changes
                    .push(format!("failed to write {}: {e}", pending.display())),
            }
            return Err(mismatch);
        }
        pending_snapshot::Update::Nothing => return Err(Mismatch::new(changes)),
        pending_snapshot::Update::Insta => {}
    }
    if insta().is_err() {
        return Err(Mismatch::new(changes));
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
                Err(Mismatch::new(comparison.changes))
            }
        }
        Err(_) => Err(Mismatch::new(changes)),
    }
}

/// The description insta keeps in the snapshot's header.
#[cfg(feature = "insta")]
fn description(config: &LeakTestConfig) -> String {
    format!("leakcheck report of the leak test `{}`", config.test_name())
}

/// Without insta `#[leak_test]` compiles only with `snapshot = false`, so
/// no snapshot is ever checked.
#[cfg(not(feature = "insta"))]
pub(crate) fn check(
    _config: &LeakTestConfig,
    _text: &str,
    _check_snapshot: &dyn Fn(&str),
) -> Result<Vec<String>, Mismatch> {
    Err(Mismatch::new(vec![
        "leakcheck-rt was built without its `insta` feature".to_owned(),
    ]))
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
        assert!(
            err.changes[0].starts_with("no accepted snapshot at"),
            "{err:?}"
        );
        let path = snapshot_path(&cfg);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "---\nsource: tests/leaks.rs\n---\nanother leak\n").unwrap();
        let err = check(&cfg, "a leak\n", &|_| {}).unwrap_err();
        assert_eq!(
            err.summary(),
            "the report differs from the accepted snapshot"
        );
        std::fs::write(&path, "---\nsource: tests/leaks.rs\n---\na leak\n").unwrap();
        assert_eq!(check(&cfg, "a leak", &|_| {}), Ok(Vec::new()));
        // A report that matches never goes to insta; one without an
        // accepted snapshot fails by leakcheck's comparison, whatever insta
        // would say.
        assert_eq!(
            check(&cfg, "a leak", &|_| panic!("snapshot assertion failed")),
            Ok(Vec::new())
        );
        std::fs::remove_file(&path).unwrap();
        let err = check(&cfg, "a leak", &|_| panic!("snapshot assertion failed")).unwrap_err();
        assert_eq!(
            err.summary(),
            format!("no accepted snapshot at {}", path.display())
        );
    }

    #[cfg(feature = "insta")]
    #[test]
    fn a_missing_snapshot_names_every_site_new() {
        let dir = tempfile::tempdir().unwrap();
        let manifest: &'static str = Box::leak(dir.path().display().to_string().into_boxed_str());
        let cfg = config(manifest);
        let report = "test: unbounded_cache\nverdict: leak\n\
                      src/lib.rs:15  leaky::cache_payload  leak  ~1000 B/iter  ~1 blocks/iter\n";
        let err = check(&cfg, report, &|_| panic!("insta is not asked")).unwrap_err();
        assert_eq!(
            err.changes[1..],
            ["new site: src/lib.rs:15 in leaky::cache_payload  ~1000 B/iter".to_owned()]
        );
    }

    #[cfg(not(feature = "insta"))]
    #[test]
    fn without_insta_no_snapshot_is_checked() {
        let cfg = config(env!("CARGO_MANIFEST_DIR"));
        let err = check(&cfg, "a leak\n", &|_| {}).unwrap_err();
        assert_eq!(
            err.summary(),
            "leakcheck-rt was built without its `insta` feature"
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
