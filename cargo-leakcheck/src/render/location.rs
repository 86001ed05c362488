//! Where in the repository a site's memory was asked for: the innermost
//! frame of the call path that is the workspace's own code.
//!
//! A site charged to a registry crate (`lru-0.6.0/src/lib.rs:123`) is not a
//! line a reviewer can change; the workspace line that called into it is.

use std::path::{Path, PathBuf};

use leakcheck_format::report::SiteReport;

/// A file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, relative to the root it was resolved against.
    pub file: String,
    /// The 1-based line.
    pub line: u32,
}

/// Splits a call-path line, `file:line in function`, into file and line.
pub fn parse_frame(frame: &str) -> Option<(&str, u32)> {
    let place = frame.split_once(" in ").map_or(frame, |(place, _)| place);
    let (file, line) = place.rsplit_once(':')?;
    Some((file, line.parse().ok()?))
}

/// `true` when `file` (as reports show it) is a file of the workspace at
/// `root`: relative, not the standard library's, and there on disk.
/// Registry crates are shown as `name-version/...`, which is not.
pub fn is_workspace_file(root: &Path, file: &str) -> bool {
    !file.starts_with("std:")
        && !file.starts_with('<')
        && Path::new(file).is_relative()
        && root.join(file).is_file()
}

/// The innermost workspace frame of `site`, relative to the workspace at
/// `root`: the site itself when it is workspace code, else the workspace
/// line that called into the dependency (the runtime's `caller`), else the
/// last workspace frame of its call path. `None` when none is.
pub fn workspace_frame(site: &SiteReport, root: &Path) -> Option<Location> {
    if is_workspace_file(root, &site.file) {
        return Some(Location {
            file: site.file.clone(),
            line: site.line,
        });
    }
    if let Some(caller) = &site.caller
        && is_workspace_file(root, &caller.file)
    {
        return Some(Location {
            file: caller.file.clone(),
            line: caller.line,
        });
    }
    site.traceback
        .iter()
        .rev()
        .filter_map(|frame| parse_frame(frame))
        .find(|(file, _)| is_workspace_file(root, file))
        .map(|(file, line)| Location {
            file: file.to_owned(),
            line,
        })
}

/// `file` (relative to the workspace at `workspace_root`) relative to the
/// repository at `repo_root`, with `/` separators; unchanged when the
/// workspace is not inside the repository.
pub fn in_repository(workspace_root: &Path, repo_root: &Path, file: &str) -> String {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
    let full: PathBuf = canon(&workspace_root.join(file));
    match full.strip_prefix(canon(repo_root)) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => file.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use leakcheck_format::report::SiteVerdict;

    use super::*;

    fn site(file: &str, line: u32, traceback: &[&str]) -> SiteReport {
        SiteReport {
            retained_by: Vec::new(),
            file: file.into(),
            line,
            function: String::new(),
            verdict: SiteVerdict::Leak,
            bytes_per_iter: 1.0,
            blocks_per_iter: 1.0,
            size_diff: 1,
            count_diff: 1,
            traceback: traceback.iter().map(|s| s.to_string()).collect(),
            series: Vec::new(),
            caller: None,
        }
    }

    #[test]
    fn a_registry_site_points_at_the_workspace_line_that_called_it() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("src")).unwrap();
        std::fs::create_dir_all(root.path().join("tests")).unwrap();
        std::fs::write(root.path().join("src/lib.rs"), "").unwrap();
        std::fs::write(root.path().join("tests/t.rs"), "").unwrap();
        let s = site(
            "hashbrown-0.15.5/src/raw/mod.rs",
            500,
            &[
                "tests/t.rs:12 in t::body::{{closure}}",
                "src/lib.rs:30 in fixture::remember",
                "hashbrown-0.15.5/src/map.rs:1200 in hashbrown::map::HashMap::insert",
                "hashbrown-0.15.5/src/raw/mod.rs:500 in hashbrown::raw::RawTable::reserve",
            ],
        );
        assert_eq!(
            workspace_frame(&s, root.path()),
            Some(Location {
                file: "src/lib.rs".into(),
                line: 30
            })
        );
        let own = site("src/lib.rs", 7, &[]);
        assert_eq!(workspace_frame(&own, root.path()).unwrap().line, 7);
        let nowhere = site("lru-0.6.0/src/lib.rs", 1, &["std:alloc/src/vec.rs:1 in x"]);
        assert_eq!(workspace_frame(&nowhere, root.path()), None);
    }

    #[test]
    fn paths_are_made_relative_to_the_repository() {
        let repo = tempfile::tempdir().unwrap();
        let ws = repo.path().join("crates/server");
        std::fs::create_dir_all(ws.join("src")).unwrap();
        std::fs::write(ws.join("src/lib.rs"), "").unwrap();
        assert_eq!(
            in_repository(&ws, repo.path(), "src/lib.rs"),
            "crates/server/src/lib.rs"
        );
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(
            in_repository(&ws, elsewhere.path(), "src/lib.rs"),
            "src/lib.rs"
        );
    }

    #[test]
    fn frames_parse() {
        assert_eq!(
            parse_frame("src/lib.rs:10 in fixture::handle"),
            Some(("src/lib.rs", 10))
        );
        assert_eq!(parse_frame("tests/leak.rs:40"), Some(("tests/leak.rs", 40)));
        assert_eq!(parse_frame("<unknown>"), None);
    }
}
