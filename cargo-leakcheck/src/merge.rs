//! `cargo leakcheck merge`: the JSON reports of a suite's shards joined
//! into the report of the whole run, with its exit code.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cli::{MergeOpts, SnapshotMode};
use crate::errors::Error;
use crate::exec::{Outputs, publish, stderr_paint};
use crate::outcome::{BinaryOutcome, RunOutcome};
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
    Ok(outcome.exit_code())
}

/// The run whose shards wrote `files`: their binaries, in the order an
/// unsharded run has them. A binary in two files is an error (two runs of
/// one shard, or shards of different partitions).
pub fn merge(files: &[PathBuf]) -> Result<RunOutcome, Error> {
    let mut binaries: BTreeMap<String, (BinaryOutcome, PathBuf)> = BTreeMap::new();
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
    Ok(RunOutcome {
        binaries: binaries.into_values().map(|(b, _)| b).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::json::write_run;

    fn shard(dir: &std::path::Path, file: &str, names: &[&str]) -> PathBuf {
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
        write_run(&outcome, &path).unwrap();
        path
    }

    #[test]
    fn shards_merge_into_the_binaries_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = shard(dir.path(), "a.json", &["b", "d"]);
        let b = shard(dir.path(), "b.json", &["a", "c"]);
        let merged = merge(&[a, b]).unwrap();
        let names: Vec<&str> = merged.binaries.iter().map(|b| b.binary.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert_eq!(merged.summary().tests_run, 8);
        assert_eq!(merged.exit_code(), crate::errors::exit_codes::LEAK_FOUND);
    }

    #[test]
    fn a_repeated_binary_or_a_foreign_file_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = shard(dir.path(), "a.json", &["x"]);
        let b = shard(dir.path(), "b.json", &["x"]);
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
