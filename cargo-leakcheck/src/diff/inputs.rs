//! The files `cargo leakcheck diff` is given: leakcheck snapshots and
//! pprof heap profiles, a directory as the ones it holds, each read as a
//! [`Snapshot`].

use std::path::{Path, PathBuf};

use leakcheck_format::pprof::is_pprof;
use leakcheck_format::{FileError, FileKind, Snapshot, SnapshotOrigin};

use crate::errors::Error;
use crate::render::neutralise::terminal;

/// The names of pprof profiles: `go tool pprof`'s `.pb.gz`, and `.pb`,
/// `.pprof`.
const PPROF_SUFFIXES: [&str; 3] = [".pb.gz", ".pb", ".pprof"];

/// The snapshot files named: a file as it is, a directory as the
/// `snapshot-N.json` files `dump_every` wrote there and the pprof profiles
/// in it, in the order of the numbers in their names (which `dir/*.json`
/// gives too, but a directory of thousands of dumps does not fit on a
/// command line).
pub(super) fn snapshot_paths(given: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for path in given {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let unreadable = |e: std::io::Error| {
            Error::Snapshot(terminal(&format!(
                "failed to read snapshot directory {}: {e}",
                path.display()
            )))
        };
        let mut numbered = Vec::new();
        for entry in std::fs::read_dir(path).map_err(unreadable)? {
            let name = entry.map_err(unreadable)?.file_name();
            let Some(text) = name.to_str() else { continue };
            if snapshot_number(text).is_some() || (is_pprof_name(text) && !text.starts_with('.')) {
                numbered.push((natural_key(text), path.join(&name)));
            }
        }
        if numbered.is_empty() {
            return Err(Error::Snapshot(terminal(&format!(
                "failed to compare snapshots: {} holds no snapshot files (snapshot-N.json, as dump_every writes them) \
                 and no pprof profiles (*.pb.gz, *.pb, *.pprof)",
                path.display()
            ))));
        }
        numbered.sort();
        files.extend(numbered.into_iter().map(|(_, file)| file));
    }
    Ok(files)
}

/// The number of `dump_every`'s `snapshot-000042.json`.
fn snapshot_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("snapshot-")?.strip_suffix(".json")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn is_pprof_name(name: &str) -> bool {
    PPROF_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// A part of a file name: text, or a number compared as one.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Number(u128),
    Text(String),
}

/// `heap.9.pb.gz` before `heap.10.pb.gz`: names compared with their runs of
/// digits as numbers.
fn natural_key(name: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = name;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (part, tail) = if digits > 0 {
            let (d, tail) = rest.split_at(digits);
            (Part::Number(d.parse().unwrap_or(u128::MAX)), tail)
        } else {
            let text = rest.len() - rest.trim_start_matches(|c: char| !c.is_ascii_digit()).len();
            let (t, tail) = rest.split_at(text);
            (Part::Text(t.to_owned()), tail)
        };
        parts.push(part);
        rest = tail;
    }
    parts
}

/// Reads the `position`th file given (from 1): a pprof profile when its
/// content says so or its name does, else a leakcheck snapshot. A
/// profile's snapshot is numbered by its position, as a process numbers
/// its dumps: the profiles given are one run, in the order given.
pub(super) fn read_snapshot(path: &Path, position: usize) -> Result<Snapshot, FileError> {
    let name = path.display().to_string();
    let data = std::fs::read(path).map_err(|source| FileError::Io {
        kind: FileKind::Snapshot,
        path: path.to_owned(),
        source,
    })?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if !is_pprof(&data) && !is_pprof_name(file_name) {
        return Snapshot::from_json_bytes(&data, &name);
    }
    let snap = Snapshot::from_pprof(&data, &name)?;
    Ok(match snap.origin().cloned() {
        Some(origin) => snap.with_origin(SnapshotOrigin {
            seq: position as u64,
            ..origin
        }),
        None => snap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_names_are_compared_as_numbers() {
        let mut names = ["heap.10.pb.gz", "heap.9.pb.gz", "heap.1.pb.gz", "a.pb"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(
            names,
            ["a.pb", "heap.1.pb.gz", "heap.9.pb.gz", "heap.10.pb.gz"]
        );
    }
}
