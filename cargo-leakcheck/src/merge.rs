//! `cargo leakcheck merge`: the JSON reports of a suite's shards joined
//! into the report of the whole run, with its exit code.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cli::{MergeOpts, SnapshotMode};
use crate::errors::Error;
use crate::exec::{Outputs, no_tests, publish, stderr_paint};
use crate::outcome::{BinaryOutcome, RunOutcome};
use crate::partition::Partition;
use crate::render::human::{self, Style};
use crate::render::json::RunFile;

/// Reads the shards' reports, prints the human report of them all, writes
/// the merged files; returns the exit code of the merged findings.
pub fn execute(opts: &MergeOpts) -> Result<i32, Error> {
    let (paint, _) = stderr_paint(opts.color);
    let outputs = Outputs {
        json: opts.json.as_deref(),
        junit: opts.junit.as_deref(),
        html: opts.html.as_deref(),
        partition: None,
    };
    outputs.check_writable()?;
    let outcome = merge(&opts.files)?;
    let style = Style {
        paint,
        verbosity: opts.verbosity(),
        mode: SnapshotMode::Check,
    };
    eprint!("{}", human::render(&outcome, style));
    // Report paths are relative to the workspace root, where CI runs this.
    let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    publish(&outcome, &outputs, &root)?;
    Ok(no_tests(
        &outcome,
        None,
        opts.no_tests.unwrap_or_default(),
        paint,
        outcome.exit_code(),
    ))
}

/// The run whose shards wrote `files`: their binaries, in the order an
/// unsharded run has them. A binary in two files is an error (two runs of
/// one shard, or shards of different partitions), and so is a set of
/// shards that is not the whole run: each report records its shard
/// (`"partition": "count:2/3"`), and all N of one partition must be there.
pub fn merge(files: &[PathBuf]) -> Result<RunOutcome, Error> {
    let mut binaries: BTreeMap<String, (BinaryOutcome, PathBuf)> = BTreeMap::new();
    let mut shards: Vec<(Option<Partition>, PathBuf)> = Vec::new();
    let mut totals = Totals::default();
    for path in files {
        let fail = |reason: String| Error::Merge {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let file: RunFile = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
        if file.version != 1 {
            return Err(fail(format!(
                "report version {} (this is version 1)",
                file.version
            )));
        }
        let Some(shard) = file.binaries else {
            return Err(fail(
                "it has no `binaries`: not a report of `cargo leakcheck --json`".into(),
            ));
        };
        let partition = file
            .partition
            .map(|p| p.parse::<Partition>())
            .transpose()
            .map_err(|e| fail(format!("bad `partition`: {e}")))?;
        shards.push((partition, path.clone()));
        for b in &shard {
            totals.add(b).map_err(fail)?;
        }
        for b in shard {
            if let Some((_, first)) = binaries.get(&b.binary) {
                return Err(fail(format!(
                    "binary `{}` is also in {}",
                    b.binary,
                    first.display()
                )));
            }
            binaries.insert(b.binary.clone(), (b, path.clone()));
        }
    }
    check_complete(&shards)?;
    Ok(RunOutcome {
        binaries: binaries.into_values().map(|(b, _)| b).collect(),
    })
}

/// The sums a merged run's reports and summary take, checked as the files
/// are read: values no run can have (a hand-edited file) are an error, not
/// an overflow.
#[derive(Debug, Default)]
struct Totals {
    tests: u64,
    size: u64,
    count: u64,
}

impl Totals {
    /// Adds one binary's figures; `Err` names the first that cannot be.
    fn add(&mut self, b: &BinaryOutcome) -> Result<(), String> {
        let binary = &b.binary;
        let too_big = |what: &str| {
            format!(
                "binary `{binary}`: {what} is more than any run can have (was the file edited?)"
            )
        };
        if b.tests_passed > b.tests_run {
            return Err(format!(
                "binary `{binary}`: {} tests passed of {} run",
                b.tests_passed, b.tests_run
            ));
        }
        // No suite has 2^32 tests, nor a process 2^63 bytes or blocks.
        let tests = [b.tests_run, b.tests_ignored]
            .into_iter()
            .try_fold(self.tests, |sum, n| sum.checked_add(n as u64))
            .filter(|&sum| sum <= u64::from(u32::MAX))
            .ok_or_else(|| too_big("its number of tests"))?;
        let session = b.session.sites.iter().map(|s| (s.size_diff, s.count_diff));
        let leak_tests = b
            .leak_tests
            .iter()
            .flat_map(|t| &t.report.sites)
            .map(|s| (s.size_diff, s.count_diff));
        let (size, count) = [
            (b.session.unattributed.0, b.session.unattributed.1),
            (b.session.std_caches.0, b.session.std_caches.1),
        ]
        .into_iter()
        .chain(
            session
                .chain(leak_tests)
                .map(|(s, c)| (s.unsigned_abs(), c.unsigned_abs())),
        )
        .try_fold((self.size, self.count), |(size, count), (s, c)| {
            Some((size.checked_add(s)?, count.checked_add(c)?))
        })
        .filter(|&(size, count)| i64::try_from(size).is_ok() && i64::try_from(count).is_ok())
        .ok_or_else(|| too_big("the memory it reports"))?;
        *self = Totals { tests, size, count };
        Ok(())
    }
}

/// Checks that `shards` (each report's partition, and its file) are the
/// whole run: one report of a run that was not sharded, or every shard
/// 1 to N of one partition, each once.
fn check_complete(shards: &[(Option<Partition>, PathBuf)]) -> Result<(), Error> {
    let Some((first, first_path)) = shards.first() else {
        return Ok(());
    };
    let fail = |path: &PathBuf, reason: String| Error::Merge {
        path: path.clone(),
        reason,
    };
    let Some(first) = first else {
        return match shards.get(1) {
            None => Ok(()),
            Some((_, path)) => Err(fail(
                first_path,
                format!(
                    "it is the report of a whole run (no `partition`), not a shard; \
                     it cannot be merged with {}",
                    path.display()
                ),
            )),
        };
    };
    let mut seen: BTreeMap<u64, &PathBuf> = BTreeMap::new();
    for (partition, path) in shards {
        let Some(p) = partition else {
            return Err(fail(
                path,
                "it is the report of a whole run (no `partition`), not a shard".to_owned(),
            ));
        };
        if (p.scheme, p.total) != (first.scheme, first.total) {
            return Err(fail(
                path,
                format!(
                    "it is shard {p}, of another partition than {first} in {}",
                    first_path.display()
                ),
            ));
        }
        if let Some(other) = seen.insert(p.shard, path) {
            return Err(fail(
                path,
                format!("shard {p} is also in {}", other.display()),
            ));
        }
    }
    let missing: Vec<String> = (1..=first.total)
        .filter(|k| !seen.contains_key(k))
        .map(|shard| Partition { shard, ..*first }.to_string())
        .collect();
    match missing.as_slice() {
        [] => Ok(()),
        _ => Err(fail(
            first_path,
            format!(
                "the shards are not the whole run: {} of {} given, missing {}",
                seen.len(),
                first.total,
                missing.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::json::write_run;

    fn shard(dir: &std::path::Path, file: &str, partition: &str, names: &[&str]) -> PathBuf {
        let outcome = RunOutcome {
            binaries: names
                .iter()
                .map(|n| BinaryOutcome {
                    binary: n.to_string(),
                    instrumented: true,
                    tests_run: 2,
                    tests_passed: 1,
                    failed_tests: vec!["broken".into()],
                    ..BinaryOutcome::default()
                })
                .collect(),
        };
        let path = dir.join(file);
        let partition = (!partition.is_empty()).then(|| partition.parse().unwrap());
        write_run(&outcome, partition, &path).unwrap();
        path
    }

    #[test]
    fn shards_merge_into_the_binaries_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = shard(dir.path(), "a.json", "count:1/2", &["b", "d"]);
        let b = shard(dir.path(), "b.json", "count:2/2", &["a", "c"]);
        let merged = merge(&[a, b]).unwrap();
        let names: Vec<&str> = merged.binaries.iter().map(|b| b.binary.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert_eq!(merged.summary().tests_run, 8);
        assert_eq!(merged.exit_code(), crate::errors::exit_codes::LEAK_FOUND);
        let whole = shard(dir.path(), "whole.json", "", &["a"]);
        assert_eq!(merge(&[whole]).unwrap().binaries.len(), 1);
    }

    #[test]
    fn a_report_records_its_shard() {
        let dir = tempfile::tempdir().unwrap();
        let a = shard(dir.path(), "a.json", "count:2/3", &["x"]);
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(a).unwrap()).unwrap();
        assert_eq!(value["partition"], "count:2/3");
        let whole = shard(dir.path(), "whole.json", "", &["x"]);
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(whole).unwrap()).unwrap();
        assert!(value.get("partition").is_none(), "{value}");
    }

    #[test]
    fn an_incomplete_or_mixed_set_of_shards_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let one = shard(dir.path(), "1.json", "count:1/3", &["a"]);
        let two = shard(dir.path(), "2.json", "count:2/3", &["b"]);
        let again = shard(dir.path(), "again.json", "count:2/3", &["c"]);
        let hash = shard(dir.path(), "hash.json", "hash:3/3", &["d"]);
        let whole = shard(dir.path(), "whole.json", "", &["e"]);
        let cases = [
            (
                vec![one.clone(), two.clone()],
                format!(
                    "failed to merge the reports: {}: the shards are not the whole run: \
                     2 of 3 given, missing count:3/3",
                    one.display()
                ),
            ),
            (
                vec![one.clone(), two.clone(), again.clone()],
                format!(
                    "failed to merge the reports: {}: shard count:2/3 is also in {}",
                    again.display(),
                    two.display()
                ),
            ),
            (
                vec![one.clone(), two.clone(), hash.clone()],
                format!(
                    "failed to merge the reports: {}: it is shard hash:3/3, of another \
                     partition than count:1/3 in {}",
                    hash.display(),
                    one.display()
                ),
            ),
            (
                vec![one.clone(), whole.clone()],
                format!(
                    "failed to merge the reports: {}: it is the report of a whole run \
                     (no `partition`), not a shard",
                    whole.display()
                ),
            ),
        ];
        for (files, message) in cases {
            let e = merge(&files).unwrap_err();
            assert_eq!(e.to_string(), message);
            assert_eq!(e.process_exit_code(), crate::errors::exit_codes::USAGE);
        }
    }

    /// Every rendering of a merged run, as `merge` makes them.
    fn render_all(outcome: &RunOutcome) {
        use crate::render::{github, html, human, junit};
        let style = human::Style {
            paint: crate::ui::Paint::new(false),
            verbosity: crate::cli::Verbosity::Verbose,
            mode: SnapshotMode::Check,
        };
        let _ = human::render(outcome, style);
        let _ = crate::ui::summary_line(
            &crate::ui::Paint::new(false),
            std::time::Duration::ZERO,
            &outcome.summary(),
        );
        let _ = junit::render(outcome);
        let _ = html::Page::from_outcome(outcome).render();
        let root = std::path::Path::new("/w");
        let _ = github::annotations(outcome, root, root);
        let _ = github::summary(outcome, github::SUMMARY_LIMIT);
        let _ = outcome.exit_code();
        let _ = outcome.nothing_checked(None);
    }

    #[test]
    fn hand_edited_values_near_2_64_are_refused_not_overflowed() {
        let dir = tempfile::tempdir().unwrap();
        let site = |size_diff: i64, count_diff: i64| leakcheck_format::report::SessionSite {
            retained_by: Vec::new(),
            binary: "a".into(),
            file: "src/lib.rs".into(),
            line: 7,
            function: "f".into(),
            size_diff,
            count_diff,
            tests: vec!["t1".into(), "t2".into(), "t3".into()],
            growth: true,
            known: None,
            accepted: false,
        };
        let binary =
            |tests: usize, sites: Vec<leakcheck_format::report::SessionSite>| BinaryOutcome {
                binary: "a".into(),
                instrumented: true,
                tests_run: tests,
                tests_passed: tests,
                tests_ignored: tests,
                session: crate::outcome::SessionAnalysis {
                    sites,
                    ..Default::default()
                },
                ..BinaryOutcome::default()
            };
        let shards = |name: &str, b: BinaryOutcome| -> [PathBuf; 2] {
            let write = |k: u64, b: BinaryOutcome| {
                let path = dir.path().join(format!("{name}-{k}.json"));
                let partition = format!("count:{k}/2").parse().unwrap();
                write_run(&RunOutcome { binaries: vec![b] }, Some(partition), &path).unwrap();
                path
            };
            let other = BinaryOutcome {
                binary: "b".into(),
                ..b.clone()
            };
            [write(1, b), write(2, other)]
        };
        // Big, but what a run could hold: merged and rendered.
        let big = shards(
            "big",
            binary(1 << 29, vec![site(i64::MAX / 8, i64::MAX / 8)]),
        );
        let merged = merge(&big).unwrap();
        render_all(&merged);
        // Past that, each shard alone, or only the two together.
        let cases = [
            (
                "tests",
                binary(usize::MAX, Vec::new()),
                1,
                "its number of tests",
            ),
            (
                "two-tests",
                binary(1 << 30, Vec::new()),
                2,
                "its number of tests",
            ),
            (
                "size",
                binary(3, vec![site(i64::MAX, 1), site(i64::MAX, 1)]),
                1,
                "the memory it reports",
            ),
            (
                "min",
                binary(3, vec![site(i64::MIN, i64::MIN)]),
                1,
                "the memory it reports",
            ),
            (
                "two-sizes",
                binary(3, vec![site(i64::MAX / 2 + 1, 1)]),
                2,
                "the memory it reports",
            ),
        ];
        for (name, b, culprit, what) in cases {
            let files = shards(name, b);
            let e = merge(&files).unwrap_err();
            assert_eq!(e.process_exit_code(), crate::errors::exit_codes::USAGE);
            let binary = ["a", "b"][culprit - 1];
            assert_eq!(
                e.to_string(),
                format!(
                    "failed to merge the reports: {}: binary `{binary}`: {what} is more than \
                     any run can have (was the file edited?)",
                    files[culprit - 1].display()
                ),
                "{name}"
            );
        }
        let passed_more = shards(
            "passed",
            BinaryOutcome {
                tests_passed: 5,
                tests_run: 2,
                ..binary(0, Vec::new())
            },
        );
        let e = merge(&passed_more).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("binary `a`: 5 tests passed of 2 run"),
            "{e}"
        );
    }

    #[test]
    fn a_repeated_binary_or_a_foreign_file_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = shard(dir.path(), "a.json", "count:1/2", &["x"]);
        let b = shard(dir.path(), "b.json", "count:2/2", &["x"]);
        let e = merge(&[a.clone(), b]).unwrap_err();
        assert!(e.to_string().contains("binary `x` is also in"), "{e}");
        assert_eq!(e.process_exit_code(), crate::errors::exit_codes::USAGE);
        let foreign = dir.path().join("diff.json");
        std::fs::write(&foreign, r#"{"version": 1, "tests": []}"#).unwrap();
        let e = merge(&[a, foreign]).unwrap_err();
        assert!(e.to_string().contains("no `binaries`"), "{e}");
        let e = merge(&[dir.path().join("missing.json")]).unwrap_err();
        assert!(
            e.to_string().starts_with("failed to merge the reports: "),
            "{e}"
        );
    }
}
