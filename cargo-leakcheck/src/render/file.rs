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

/// Checks before the build that `path`'s directory exists, so a typo does
/// not cost a whole run.
pub fn check_writable(what: &'static str, path: &Path) -> Result<(), Error> {
    if parent(path).is_dir() {
        Ok(())
    } else {
        Err(Error::OutputDirMissing {
            what,
            path: path.to_owned(),
        })
    }
}

/// Writes `text` to `path` as the JSON report is written: a regular file
/// is replaced atomically (a reader, or a run killed half-way, sees the old
/// file or the whole new one), a symlink, FIFO or device is written through.
pub fn write_atomic(what: &'static str, path: &Path, text: &str) -> Result<(), Error> {
    leakcheck_rt::report::write_file(path, text).map_err(|source| Error::WriteOutput {
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
