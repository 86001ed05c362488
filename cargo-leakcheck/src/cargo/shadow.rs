//! The stable route into a test crate: rustc compiles a copy of the crate
//! root with one line appended, `extern crate leakcheck_inject as _;`,
//! where `--extern force:` is refused (or `LEAKCHECK_INJECT_ROUTE=copy`
//! asks for it).
//!
//! The copy is not written into the user's tree. It sits in a shadow of
//! the workspace under leakcheck's target directory: along the path from
//! the workspace root to the crate root every directory is a real one,
//! and each of its other entries is a symbolic link to the original, so
//! `mod`, `#[path]`, `include_str!("../README.md")` and `include!` resolve
//! to the user's files as they would from the original root.
//!
//! ```text
//!  <target>/leakcheck/inject/roots/<pid>-<binary>/   (the workspace root, shadowed)
//!      Cargo.toml -> <ws>/Cargo.toml
//!      src        -> <ws>/src
//!      tests/                                  (a real directory)
//!          common   -> <ws>/tests/common
//!          plain.rs    (the copy, one line longer)
//! ```
//!
//! `--remap-path-prefix <shadow>/=` gives `file!()`, panics and debug info
//! the names cargo passed (`tests/plain.rs`), and the dep-info rustc writes
//! is rewritten the same way, so cargo's fingerprints name the user's
//! files and a second run rebuilds nothing. The shadow is removed when
//! rustc ends; one left by a killed build is removed by the next run
//! ([`remove_stale`]).

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

/// The line the copy ends with.
const APPENDED: &str = "extern crate leakcheck_inject as _;\n";

/// A shadow of the workspace whose crate root is the copy; removed on drop.
#[derive(Debug)]
pub struct Shadow {
    /// The shadowed workspace root.
    dir: PathBuf,
    /// rustc's arguments, the crate root replaced by the copy.
    args: Vec<OsString>,
    /// What the shadow's prefix stands for in the names rustc writes:
    /// nothing when the workspace root is rustc's directory (cargo's
    /// relative paths), else the original directory.
    original: String,
}

impl Shadow {
    /// Builds the shadow for the rustc command line `args` (rustc's own,
    /// run in `cwd`) in `roots`, named after this process and `binary`.
    pub fn create(
        args: &[OsString],
        cwd: &Path,
        roots: &Path,
        binary: &OsStr,
    ) -> std::io::Result<Shadow> {
        let index = root_index(args)
            .ok_or_else(|| std::io::Error::other("no crate root on rustc's command line"))?;
        let source = Path::new(&args[index]);
        let absolute = cwd.join(source);
        // The workspace root (rustc runs there for cargo's own packages);
        // a root outside it is shadowed from its own directory.
        let base = match absolute.parent() {
            _ if absolute.starts_with(cwd) => cwd.to_owned(),
            Some(parent) => parent.to_owned(),
            None => return Err(std::io::Error::other("a crate root without a directory")),
        };
        let relative = absolute
            .strip_prefix(&base)
            .map_err(std::io::Error::other)?
            .to_owned();
        let mut name = OsString::from(format!("{}-", std::process::id()));
        name.push(binary);
        let dir = roots.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        // From here on, a failure removes what was made.
        let shadow = Shadow {
            dir,
            args: Vec::new(),
            original: String::new(),
        };
        let copy = mirror(&base, &shadow.dir, &relative)?;
        let mut text = std::fs::read(&absolute)?;
        if !text.is_empty() && !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        text.extend_from_slice(APPENDED.as_bytes());
        std::fs::write(&copy, text)?;

        // Relative paths stay relative, as cargo passes them.
        let original = if source.is_absolute() || base != cwd {
            format!("{}/", base.display())
        } else {
            String::new()
        };
        let mut remap = OsString::from("--remap-path-prefix=");
        remap.push(&shadow.dir);
        remap.push(format!("/={original}"));
        let mut shadow = shadow;
        shadow.args = args.to_vec();
        shadow.args[index] = copy.into_os_string();
        shadow.args.push(remap);
        shadow.original = original;
        Ok(shadow)
    }

    /// rustc's arguments for the copy (the runtime's `--extern` not yet
    /// among them).
    pub fn args(&self) -> &[OsString] {
        &self.args
    }

    /// Makes the dep-info file rustc wrote at `dep_info` name the user's
    /// files, not the shadow's.
    pub fn rewrite_dep_info(&self, dep_info: &Path) {
        let Ok(text) = std::fs::read_to_string(dep_info) else {
            return;
        };
        let prefix = format!("{}/", self.dir.display());
        let escaped = prefix.replace(' ', "\\ ");
        let original = self.original.replace(' ', "\\ ");
        let fixed = text
            .replace(&escaped, &original)
            .replace(&prefix, &original);
        if fixed != text {
            let _ = std::fs::write(dep_info, fixed);
        }
    }
}

impl Drop for Shadow {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The index of the crate root among rustc's arguments: the one source
/// file cargo passes.
pub fn root_index(args: &[OsString]) -> Option<usize> {
    args.iter().position(|a| {
        a.to_str()
            .is_some_and(|a| a.ends_with(".rs") && !a.starts_with('-'))
    })
}

/// Shadows `base` in `shadow` along `relative` (the crate root's path
/// under `base`); returns where the copy of the root goes.
fn mirror(base: &Path, shadow: &Path, relative: &Path) -> std::io::Result<PathBuf> {
    let parts: Vec<&OsStr> = relative
        .components()
        .map(|c| match c {
            Component::Normal(name) => Ok(name),
            _ => Err(std::io::Error::other("a crate root path with `..` in it")),
        })
        .collect::<Result<_, _>>()?;
    let mut original = base.to_owned();
    let mut copy = shadow.to_owned();
    for (depth, part) in parts.iter().enumerate() {
        for entry in std::fs::read_dir(&original)? {
            let name = entry?.file_name();
            if name != *part {
                link(&original.join(&name), &copy.join(&name))?;
            }
        }
        original.push(part);
        copy.push(part);
        if depth + 1 < parts.len() {
            std::fs::create_dir(&copy)?;
        }
    }
    Ok(copy)
}

#[cfg(unix)]
fn link(original: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(original, link)
}

#[cfg(windows)]
fn link(original: &Path, link: &Path) -> std::io::Result<()> {
    if original.is_dir() {
        std::os::windows::fs::symlink_dir(original, link)
    } else {
        std::os::windows::fs::symlink_file(original, link)
    }
}

/// Removes the shadows in `roots` that no running build owns (left by a
/// killed `cargo leakcheck`).
pub fn remove_stale(roots: &Path) {
    let Ok(entries) = std::fs::read_dir(roots) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let owner = name
            .to_str()
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        if !owner.is_some_and(running) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether process `pid` is alive.
#[cfg(unix)]
fn running(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    rustix::process::test_kill_process(pid).is_ok()
}

#[cfg(not(unix))]
fn running(_pid: u32) -> bool {
    // No cheap check: a shadow is left to the next run on the same
    // machine, which removes it once this one has ended (never during).
    true
}

#[cfg(test)]
#[path = "shadow_tests.rs"]
mod tests;
