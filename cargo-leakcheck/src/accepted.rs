//! Session growth a team accepted as known: `.config/leakcheck-accepted.toml`
//! in the workspace root, written by `cargo leakcheck --accept` and read by
//! every other run, kept in the repository so its diff shows in review
//! (as leak snapshots are).
//!
//! ```toml
//! # Session growth accepted as known; written by `cargo leakcheck --accept`.
//!
//! [[session.accept]]
//! binary = "suite"
//! file = "src/lib.rs"
//! line = 9
//! function = "registry::setup"
//! reason = "one plugin per test, bounded by the suite"   # optional, kept by --accept
//! ```
//!
//! A site is matched by binary, file (a registry crate's without its
//! version) and function; the line is context, and a site found at another
//! line is reported as moved. Entries are sorted by binary, file and line,
//! and hold no addresses or absolute paths, so the file only changes when a
//! site does. The
//! `[[session.accept]]` table is the one a workspace `.config/leakcheck.toml`
//! will take.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use leakcheck_format::accepted_leaks;
use leakcheck_format::report::SessionSite;
use serde::{Deserialize, Serialize};

use crate::errors::Error;
use crate::outcome::{RunOutcome, SessionAnalysis};

/// The file, relative to the workspace root.
pub const FILE: &str = ".config/leakcheck-accepted.toml";

/// One accepted site: a test binary's session growth at a line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptedSite {
    /// The test binary, as reports name it.
    pub binary: String,
    /// The file, as reports show it (relative to the workspace root, or
    /// `crate-version/...`).
    pub file: String,
    /// The line.
    pub line: u32,
    /// The function: with the binary and the file (its crate's version
    /// left out), what names the site. An entry without one is matched at
    /// its line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub function: String,
    /// Why the growth is fine, for the reader; kept by `--accept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AcceptedSite {
    fn key(&self) -> (&str, &str, u32) {
        (&self.binary, &self.file, self.line)
    }

    /// The site at this very binary, file and line.
    fn at(&self, site: &SessionSite) -> bool {
        self.key() == (site.binary.as_str(), site.file.as_str(), site.line)
            && (self.function.is_empty() || self.function == site.function)
    }

    /// The same site, wherever its line now is: binary, file without its
    /// crate's version, and function.
    fn matches(&self, site: &SessionSite) -> bool {
        if self.function.is_empty() {
            return self.at(site);
        }
        self.binary == site.binary
            && self.function == site.function
            && accepted_leaks::crate_path(&self.file) == accepted_leaks::crate_path(&site.file)
    }
}

/// For each binary of `outcome`, for each of its session sites, the entry
/// of `accepted` that a growing one matches: the entry at its very line,
/// else one with its identity that no other site took (it moved).
fn pair(accepted: &Accepted, outcome: &RunOutcome) -> Vec<Vec<Option<usize>>> {
    let mut used = vec![false; accepted.sites.len()];
    let mut pairs: Vec<Vec<Option<usize>>> = Vec::new();
    for b in &outcome.binaries {
        let mut row = Vec::new();
        for s in &b.session.sites {
            let i = s
                .growth
                .then(|| accepted.sites.iter().position(|a| a.at(s)))
                .flatten();
            if let Some(i) = i {
                used[i] = true;
            }
            row.push(i);
        }
        pairs.push(row);
    }
    for (b, row) in outcome.binaries.iter().zip(&mut pairs) {
        for (s, pick) in b.session.sites.iter().zip(row.iter_mut()) {
            if !s.growth || pick.is_some() {
                continue;
            }
            *pick = (0..accepted.sites.len()).find(|&i| !used[i] && accepted.sites[i].matches(s));
            if let Some(i) = *pick {
                used[i] = true;
            }
        }
    }
    pairs
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default)]
    session: SessionSection,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionSection {
    #[serde(default)]
    accept: Vec<AcceptedSite>,
}

/// The accepted sites of a workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Sorted, without duplicates.
    pub sites: Vec<AcceptedSite>,
}

/// The file's path in the workspace at `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// Reads the accepted sites; a missing file accepts nothing.
pub fn load(root: &Path) -> Result<Accepted, Error> {
    let path = path(root);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Accepted::default()),
        Err(e) => {
            return Err(Error::AcceptedFile {
                path,
                reason: e.to_string(),
            });
        }
    };
    parse(&text).map_err(|reason| Error::AcceptedFile { path, reason })
}

/// Parses the file's text; `Err` holds a one-line reason.
pub fn parse(text: &str) -> Result<Accepted, String> {
    let file: FileFormat = toml::from_str(text).map_err(|e| {
        // toml's messages span several lines (a snippet of the file).
        let message = e.message().trim().to_owned();
        match e.span() {
            Some(span) => format!(
                "line {}: {message}",
                crate::config::line_at(text, span.start)
            ),
            None => message,
        }
    })?;
    Ok(Accepted {
        sites: sorted(file.session.accept),
    })
}

/// Checks that no entry names a binary by the name it had before binaries
/// took nextest's binary IDs (`renamed`: old name, binary ID, for the
/// workspace's targets): such an entry would silently accept nothing, so
/// it is an error naming the key to write instead.
pub fn check_names(accepted: &Accepted, renamed: &[(String, String)]) -> Result<(), String> {
    for site in &accepted.sites {
        if let Some(now) = crate::binary_id::renamed_to(renamed, &site.binary) {
            return Err(format!(
                "the entry for {}:{} names binary `{}`, which is now named {now} \
                 (binaries are named as nextest names them): rename it",
                site.file, site.line, site.binary
            ));
        }
    }
    Ok(())
}

/// The file's text: a header, then the entries in order.
pub fn render(accepted: &Accepted) -> String {
    let mut out = String::from(
        "# Session growth accepted as known: `cargo leakcheck` does not fail on these\n\
         # sites. Written by `cargo leakcheck --accept`; review its diff like a leak\n\
         # snapshot. A `reason` you add to an entry is kept.\n",
    );
    for site in &accepted.sites {
        let table = toml::to_string(site).expect("an accepted site always serialises");
        let _ = write!(out, "\n[[session.accept]]\n{table}");
    }
    out
}

/// What `--accept` writes: every site of this run that is session growth
/// (and not a known registry), with the `reason` of its old entry; the old
/// entries of binaries this run did not check, and all old entries when the
/// run was filtered (it cannot tell a site that stopped growing from one
/// whose tests did not run).
pub fn accept_all(old: &Accepted, outcome: &RunOutcome, filtered: bool) -> Accepted {
    let checked: BTreeSet<&str> = checked_binaries(outcome);
    let mut sites: Vec<AcceptedSite> = old
        .sites
        .iter()
        .filter(|a| filtered || !checked.contains(a.binary.as_str()))
        .cloned()
        .collect();
    let pairs = pair(old, outcome);
    for (b, row) in outcome.binaries.iter().zip(&pairs) {
        for (s, pick) in b.session.sites.iter().zip(row) {
            if !s.growth || s.known.is_some() {
                continue;
            }
            let reason = pick.and_then(|i| old.sites[i].reason.clone());
            sites.push(AcceptedSite {
                binary: s.binary.clone(),
                file: s.file.clone(),
                line: s.line,
                function: s.function.clone(),
                reason,
            });
        }
    }
    Accepted {
        sites: sorted(sites),
    }
}

/// Sorted by binary, file and line; of two entries for one site, the one
/// with a reason stays.
fn sorted(mut sites: Vec<AcceptedSite>) -> Vec<AcceptedSite> {
    sites.sort_by(|a, b| (a.key(), a.reason.is_none()).cmp(&(b.key(), b.reason.is_none())));
    sites.dedup_by(|later, first| later.key() == first.key());
    sites
}

/// Writes the file (atomically), or removes it when nothing is accepted
/// (a symlink stays, and the file it leads to is left with no entries).
pub fn write(root: &Path, accepted: &Accepted) -> Result<(), Error> {
    let path = path(root);
    let fail = |e: std::io::Error| Error::AcceptedFile {
        path: path.clone(),
        reason: e.to_string(),
    };
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    if accepted.sites.is_empty() && !is_link {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(e)),
            _ => Ok(()),
        };
    }
    let dir = path.parent().unwrap_or(root);
    std::fs::create_dir_all(dir).map_err(fail)?;
    // As every report file is written: a regular file is replaced
    // atomically, keeping its mode (a new one gets the umask's); a symlink
    // (a file kept elsewhere) is written through, not replaced.
    leakcheck_format::report::write_file(&path, &render(accepted)).map_err(fail)
}

/// Marks the growth sites of one binary's session that `accepted` lists.
pub fn mark(accepted: &Accepted, session: &mut SessionAnalysis) {
    for s in session.sites.iter_mut().filter(|s| s.growth) {
        s.accepted |= accepted.sites.iter().any(|a| a.matches(s));
    }
}

/// What [`apply`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The entries for binaries this run checked that matched no growth
    /// (they no longer grow), unless the run was filtered.
    pub stale: Vec<AcceptedSite>,
    /// Accepted sites found at another line (or crate release):
    /// `accepted site moved: src/lib.rs:20 → 21 in registry`. They pass.
    pub moved: Vec<String>,
}

/// Marks the session sites of `outcome` that `accepted` lists; tells which
/// entries are stale and which sites moved.
pub fn apply(accepted: &Accepted, outcome: &mut RunOutcome, filtered: bool) -> Applied {
    let pairs = pair(accepted, outcome);
    let mut used = vec![false; accepted.sites.len()];
    let mut moved = Vec::new();
    for (b, row) in outcome.binaries.iter_mut().zip(pairs) {
        for (s, pick) in b.session.sites.iter_mut().zip(row) {
            let Some(i) = pick else { continue };
            s.accepted = true;
            used[i] = true;
            let a = &accepted.sites[i];
            if (a.file.as_str(), a.line) != (s.file.as_str(), s.line) {
                let to = if a.file == s.file {
                    s.line.to_string()
                } else {
                    format!("{}:{}", s.file, s.line)
                };
                moved.push(format!(
                    "accepted site moved: {}:{} → {to} in {}",
                    a.file, a.line, a.binary
                ));
            }
        }
    }
    if filtered {
        return Applied {
            stale: Vec::new(),
            moved,
        };
    }
    let checked = checked_binaries(outcome);
    let stale = accepted
        .sites
        .iter()
        .zip(used)
        .filter(|(a, used)| !used && checked.contains(a.binary.as_str()))
        .map(|(a, _)| a.clone())
        .collect();
    Applied { stale, moved }
}

/// The line that tells of an entry that no longer grows.
pub fn stale_note(site: &AcceptedSite) -> String {
    format!(
        "accepted session growth at {}:{} in {} no longer grows: remove its entry from {FILE}, \
         or run `cargo leakcheck --accept` to rewrite the file",
        site.file, site.line, site.binary
    )
}

/// Binaries whose session was measured without a fault.
fn checked_binaries(outcome: &RunOutcome) -> BTreeSet<&str> {
    outcome
        .binaries
        .iter()
        .filter(|b| b.instrumented && b.fault.is_none())
        .map(|b| b.binary.as_str())
        .collect()
}

#[cfg(test)]
#[path = "accepted_tests.rs"]
mod tests;
