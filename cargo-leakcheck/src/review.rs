//! `--review`: accept or reject the leak snapshots a run wrote as
//! `.snap.new`, with `cargo insta review` when it is installed, else with a
//! minimal review of our own.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::errors::Error;
use crate::ui::Paint;

/// Directories never searched for pending snapshots.
fn skipped(dir: &Path, target_dir: &Path) -> bool {
    let name = dir.file_name().and_then(OsStr::to_str).unwrap_or("");
    name.starts_with('.') || name == "target" || dir == target_dir
}

/// The `.snap.new` files under `root`, sorted.
pub fn find_pending(root: &Path, target_dir: &Path) -> io::Result<Vec<PathBuf>> {
    find_ending(root, target_dir, ".snap.new")
}

/// The accepted leak snapshots under `root` (`*_leaks.snap`), sorted.
pub fn find_accepted(root: &Path, target_dir: &Path) -> io::Result<Vec<PathBuf>> {
    find_ending(root, target_dir, "_leaks.snap")
}

/// The leak snapshot in `accepted` (from [`find_accepted`]) of the leak
/// test `test` (libtest's name) of the binary `binary`:
/// `<crate>__<test path, `::` as `__`>_leaks.snap`, the one of that crate
/// if there is one, else any of that test.
pub fn accepted_for<'a>(accepted: &'a [PathBuf], binary: &str, test: &str) -> Option<&'a PathBuf> {
    let suffix = format!("__{}_leaks.snap", test.replace("::", "__"));
    let krate = |p: &PathBuf| {
        let name = p.file_name().and_then(OsStr::to_str).unwrap_or("");
        name.strip_suffix(suffix.as_str())
            .filter(|krate| !krate.is_empty())
            .map(str::to_owned)
    };
    let own = binary.replace('-', "_");
    accepted
        .iter()
        .find(|p| krate(p).is_some_and(|k| k == own))
        .or_else(|| accepted.iter().find(|p| krate(p).is_some()))
}

/// The files under `root` whose name ends with `ending`, sorted.
fn find_ending(root: &Path, target_dir: &Path, ending: &str) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() && !skipped(&path, target_dir) {
                stack.push(path);
            } else if kind.is_file() && path.to_string_lossy().ends_with(ending) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The pending leak snapshots that an `--accept` run made stale: those of
/// the leak tests it measured to the end (`tests`, libtest's names), whose
/// snapshot it has just written or found matching. A leak snapshot is
/// `<crate>__<test path, `::` as `__`>_leaks.snap(.new)`; other pending
/// snapshots (the user's own insta tests) are never touched.
pub fn stale_pending<'a>(pending: &'a [PathBuf], tests: &[&str]) -> Vec<&'a PathBuf> {
    let suffixes: Vec<String> = tests
        .iter()
        .map(|t| format!("__{}_leaks.snap.new", t.replace("::", "__")))
        .collect();
    pending
        .iter()
        .filter(|p| {
            let name = p.file_name().and_then(OsStr::to_str).unwrap_or("");
            suffixes.iter().any(|s| {
                name.strip_suffix(s.as_str())
                    .is_some_and(|krate| !krate.is_empty())
            })
        })
        .collect()
}

/// Removes the pending leak snapshots `--accept` made stale (see
/// [`stale_pending`]); returns them, relative to `root`.
pub fn remove_stale(root: &Path, target_dir: &Path, tests: &[&str]) -> io::Result<Vec<PathBuf>> {
    let pending = find_pending(root, target_dir)?;
    let mut removed = Vec::new();
    for path in stale_pending(&pending, tests) {
        fs::remove_file(path)?;
        removed.push(path.strip_prefix(root).unwrap_or(path).to_path_buf());
    }
    Ok(removed)
}

/// `true` when `cargo-insta` is on `PATH`.
fn cargo_insta_installed() -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| dir.join("cargo-insta").is_file())
}

/// Reviews the pending leak snapshots of the workspace at `root`.
pub fn review(root: &Path, target_dir: &Path, cargo: &OsStr, paint: Paint) -> Result<(), Error> {
    let pending = find_pending(root, target_dir).map_err(|e| Error::Review(e.to_string()))?;
    if pending.is_empty() {
        eprintln!("No leak snapshots to review.");
        return Ok(());
    }
    if cargo_insta_installed() {
        let status = Command::new(cargo)
            .args(["insta", "review", "--workspace", "--manifest-path"])
            .arg(root.join("Cargo.toml"))
            .status()
            .map_err(|e| Error::Review(format!("failed to run `cargo insta review`: {e}")))?;
        return match status.success() {
            true => Ok(()),
            false => Err(Error::Review(format!("`cargo insta review` {status}"))),
        };
    }
    let stdin = io::stdin();
    let summary = review_each(&pending, root, &mut stdin.lock(), &mut io::stderr(), paint)
        .map_err(|e| Error::Review(e.to_string()))?;
    eprintln!("{summary}");
    Ok(())
}

/// What a review did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReviewSummary {
    /// Snapshots accepted (`.snap.new` renamed over `.snap`).
    pub accepted: usize,
    /// Snapshots rejected (`.snap.new` deleted).
    pub rejected: usize,
    /// Snapshots left pending.
    pub skipped: usize,
}

impl std::fmt::Display for ReviewSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Leak snapshots: {} accepted, {} rejected, {} skipped.",
            self.accepted, self.rejected, self.skipped
        )
    }
}

/// The built-in review: shows each snapshot's change and asks.
pub fn review_each(
    pending: &[PathBuf],
    root: &Path,
    input: &mut impl BufRead,
    out: &mut impl Write,
    paint: Paint,
) -> io::Result<ReviewSummary> {
    let mut summary = ReviewSummary::default();
    for (i, new_path) in pending.iter().enumerate() {
        let old_path = new_path.with_extension("");
        let shown = new_path.strip_prefix(root).unwrap_or(new_path);
        let new = fs::read_to_string(new_path)?;
        let old = fs::read_to_string(&old_path).ok();
        writeln!(
            out,
            "\n{}",
            paint.bold(&format!(
                "Leak snapshot {}/{}: {}",
                i + 1,
                pending.len(),
                shown.display()
            ))
        )?;
        match &old {
            Some(old) => {
                writeln!(out, "{}", paint.dim("-old snapshot  +new snapshot"))?;
                for line in diff_lines(old, &new) {
                    let styled = match line.as_bytes().first() {
                        Some(b'-') => paint.bad(&line),
                        Some(b'+') => paint.good(&line),
                        _ => line,
                    };
                    writeln!(out, "{styled}")?;
                }
            }
            None => {
                writeln!(out, "{}", paint.dim("new snapshot (none accepted yet):"))?;
                for line in new.lines() {
                    writeln!(out, "{}", paint.good(&format!("+{line}")))?;
                }
            }
        }
        let choice = loop {
            write!(out, "accept (a), reject (r), skip (s)? ")?;
            out.flush()?;
            let mut answer = String::new();
            if input.read_line(&mut answer)? == 0 {
                break 's';
            }
            match answer.trim() {
                "a" | "accept" => break 'a',
                "r" | "reject" => break 'r',
                "s" | "skip" | "" => break 's',
                _ => continue,
            }
        };
        match choice {
            'a' => {
                fs::rename(new_path, &old_path)?;
                summary.accepted += 1;
            }
            'r' => {
                fs::remove_file(new_path)?;
                summary.rejected += 1;
            }
            _ => summary.skipped += 1,
        }
    }
    Ok(summary)
}

/// A line diff of `old` and `new` (`similar`'s, as insta shows it): lines
/// prefixed `-`, `+` or ` `.
pub fn diff_lines(old: &str, new: &str) -> Vec<String> {
    similar::TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|change| {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            let line = change.value();
            format!("{sign}{}", line.strip_suffix('\n').unwrap_or(line))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changed_lines() {
        let old = "---\nsource: x\n---\nsize 1.0 KiB\nend\n";
        let new = "---\nsource: x\n---\nsize 2.0 KiB\nend\nmore\n";
        assert_eq!(
            diff_lines(old, new),
            [
                " ---",
                " source: x",
                " ---",
                "-size 1.0 KiB",
                "+size 2.0 KiB",
                " end",
                "+more"
            ]
        );
        assert_eq!(diff_lines("a\n", ""), ["-a"]);
    }

    #[test]
    fn accept_makes_the_pending_snapshots_of_measured_leak_tests_stale() {
        let pending: Vec<PathBuf> = [
            "tests/snapshots/suite__keeps_every_request_leaks.snap.new",
            "tests/snapshots/suite__inner__grows_leaks.snap.new",
            "tests/snapshots/suite__not_run_leaks.snap.new",
            "tests/snapshots/suite__keeps_every_request.snap.new",
            "src/snapshots/__grows_leaks.snap.new",
        ]
        .map(PathBuf::from)
        .to_vec();
        let stale = stale_pending(&pending, &["keeps_every_request", "inner::grows"]);
        assert_eq!(stale, [&pending[0], &pending[1]]);

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in &pending {
            fs::create_dir_all(root.join(p).parent().unwrap()).unwrap();
            fs::write(root.join(p), "new").unwrap();
        }
        let removed =
            remove_stale(root, &root.join("target/leakcheck"), &["inner::grows"]).unwrap();
        assert_eq!(removed, [pending[1].clone()]);
        assert!(!root.join(&pending[1]).exists());
        assert!(root.join(&pending[0]).exists());
    }

    #[test]
    fn finds_pending_snapshots_outside_target_and_hidden_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for path in [
            "tests/snapshots/leak__a.snap.new",
            "src/snapshots/lib__b.snap.new",
            "src/snapshots/lib__b.snap",
            "target/x/c.snap.new",
            ".git/d.snap.new",
        ] {
            fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            fs::write(root.join(path), "x").unwrap();
        }
        let found = find_pending(root, &root.join("target/leakcheck")).unwrap();
        let rel: Vec<_> = found
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_owned())
            .collect();
        assert_eq!(
            rel,
            [
                PathBuf::from("src/snapshots/lib__b.snap.new"),
                PathBuf::from("tests/snapshots/leak__a.snap.new"),
            ]
        );
    }

    #[test]
    fn accept_reject_and_skip() {
        let dir = tempfile::tempdir().unwrap();
        let snaps = dir.path().join("snapshots");
        fs::create_dir_all(&snaps).unwrap();
        let path = |n: &str| snaps.join(n);
        fs::write(path("a.snap"), "old a\n").unwrap();
        fs::write(path("a.snap.new"), "new a\n").unwrap();
        fs::write(path("b.snap.new"), "new b\n").unwrap();
        fs::write(path("c.snap.new"), "new c\n").unwrap();
        let pending = find_pending(dir.path(), &dir.path().join("target")).unwrap();
        // An unknown answer is asked again.
        let mut input = "a\nwhat\nr\n".as_bytes();
        let mut out = Vec::new();
        let summary = review_each(
            &pending,
            dir.path(),
            &mut input,
            &mut out,
            Paint::new(false),
        )
        .unwrap();
        assert_eq!(
            summary,
            ReviewSummary {
                accepted: 1,
                rejected: 1,
                skipped: 1
            }
        );
        assert_eq!(fs::read_to_string(path("a.snap")).unwrap(), "new a\n");
        assert!(!path("a.snap.new").exists());
        assert!(!path("b.snap.new").exists() && !path("b.snap").exists());
        assert!(path("c.snap.new").exists());
        let shown = String::from_utf8(out).unwrap();
        assert!(
            shown.contains("Leak snapshot 1/3: snapshots/a.snap.new"),
            "{shown}"
        );
        assert!(shown.contains("-old a\n+new a"), "{shown}");
        assert!(
            shown.contains("new snapshot (none accepted yet):\n+new b"),
            "{shown}"
        );
    }
}
