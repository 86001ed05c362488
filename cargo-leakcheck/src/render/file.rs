//! Writing the JUnit and HTML reports: checked before the build, replaced
//! atomically after it, like the JSON report.

use std::path::Path;

use crate::errors::Error;

/// The directory `path` will be written in.
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Checks before the build that `path` can be written, so a typo does not
/// cost a whole run: its directory exists, it is not a directory, and a
/// symlink there leads to a place that can be written.
pub fn check_writable(what: &'static str, path: &Path) -> Result<(), Error> {
    if !parent(path).is_dir() {
        return Err(Error::OutputDirMissing {
            what,
            path: path.to_owned(),
        });
    }
    check_target(what, path)
}

/// The checks of [`check_writable`] past the directory's existence.
pub fn check_target(what: &'static str, path: &Path) -> Result<(), Error> {
    let unwritable = |reason: String| Error::OutputPath {
        what,
        path: path.to_owned(),
        reason,
    };
    // What the path leads to, as opening it would follow it (through
    // `/proc`'s links to pipes and terminals too).
    if let Ok(meta) = std::fs::metadata(path) {
        return match meta.is_dir() {
            true if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) => {
                Err(unwritable("it is a symlink to a directory".to_owned()))
            }
            true => Err(unwritable("it is a directory".to_owned())),
            false => Ok(()),
        };
    }
    // Nothing there, or a symlink that leads nowhere yet: writing creates
    // the file it names, in a directory that must exist.
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&target).map_err(|e| unwritable(e.to_string()))?;
                target = parent(&target).join(link);
            }
            Ok(_) => return Ok(()),
            Err(_) if parent(&target).is_dir() => return Ok(()),
            Err(_) => {
                return Err(unwritable(format!(
                    "it is a symlink to `{}`, whose directory does not exist",
                    target.display()
                )));
            }
        }
    }
    Err(unwritable("too many levels of symlinks".to_owned()))
}

/// `true` when `a` and `b` name one file: the same path once their
/// directories are resolved, or one file reached through a symlink.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let resolved = |p: &Path| {
        std::fs::canonicalize(p).ok().or_else(|| {
            let dir = std::fs::canonicalize(parent(p)).ok()?;
            Some(dir.join(p.file_name()?))
        })
    };
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// Writes `text` to `path` as the JSON report is written: a regular file
/// is replaced atomically (a reader, or a run killed half-way, sees the old
/// file or the whole new one), a symlink, FIFO or device is written through.
pub fn write_atomic(what: &'static str, path: &Path, text: &str) -> Result<(), Error> {
    leakcheck_format::report::write_file(path, text).map_err(|source| Error::WriteOutput {
        what,
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        std::fs::write(&path, "old").unwrap();
        write_atomic("JUnit report", &path, "<testsuites/>\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "<testsuites/>\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_or_a_dangling_symlink_is_caught_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_writable("JUnit report", dir.path()).unwrap_err();
        assert_eq!(err.process_exit_code(), 2);
        assert!(err.to_string().ends_with(": it is a directory"), "{err}");
        let link = dir.path().join("r.xml");
        std::os::unix::fs::symlink("/nonexistent-dir-for-leakcheck/r.xml", &link).unwrap();
        let err = check_writable("JUnit report", &link).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write the JUnit report to `{}`: it is a symlink to \
                 `/nonexistent-dir-for-leakcheck/r.xml`, whose directory does not exist",
                link.display()
            )
        );
        // A symlink to a directory is no file either.
        let to_dir = dir.path().join("to_dir.xml");
        std::os::unix::fs::symlink(dir.path(), &to_dir).unwrap();
        let err = check_writable("JUnit report", &to_dir).unwrap_err();
        assert!(
            err.to_string()
                .ends_with(": it is a symlink to a directory"),
            "{err}"
        );
        assert!(check_writable("JUnit report", Path::new("/dev/stdout")).is_ok());
        // A dangling symlink into a directory that exists is written
        // through: the file is created.
        let ok = dir.path().join("ok.xml");
        std::os::unix::fs::symlink(dir.path().join("made.xml"), &ok).unwrap();
        assert!(check_writable("JUnit report", &ok).is_ok());
        write_atomic("JUnit report", &ok, "x").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("made.xml")).unwrap(),
            "x"
        );
        assert!(same_file(&ok, &dir.path().join("made.xml")));
        assert!(same_file(&dir.path().join("a"), &dir.path().join("./a")));
        assert!(!same_file(&dir.path().join("a"), &dir.path().join("b")));
    }

    #[test]
    fn a_missing_directory_is_a_usage_error() {
        let path = Path::new("/nonexistent-dir-for-leakcheck/r.html");
        let err = check_writable("HTML report", path).unwrap_err();
        assert_eq!(err.process_exit_code(), 2);
        assert_eq!(
            err.to_string(),
            "cannot write the HTML report to `/nonexistent-dir-for-leakcheck/r.html`: \
             its directory does not exist"
        );
        let err = write_atomic("HTML report", path, "x").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("failed to write the HTML report"),
            "{err}"
        );
    }
}
