//! Writing a report, snapshot or session file.
//!
//! A regular file (or a path that does not exist yet) is replaced
//! atomically: readers, or a process killed half-way, see the old file or
//! the whole new one, never part of one. Anything else at the path (a
//! symlink, a FIFO, a terminal, `/dev/stdout`, `/dev/null`) is opened and
//! written through, never replaced: renaming a temporary file over
//! `/dev/stdout` would swap the device for a file and send nothing to
//! stdout.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Writes `text` (JSON, or a gzip'd pprof profile) to `path` by the rule
/// above.
pub fn write(path: &Path, text: impl AsRef<[u8]>) -> io::Result<()> {
    let text = text.as_ref();
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => write_through(path, text),
        Ok(_) => replace(path, text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => replace(path, text),
        Err(e) => Err(e),
    }
}

/// Opens `path` (following a symlink) and writes in place. A FIFO's reader
/// or a terminal gets the text as it is written; no `sync_all`, which pipes
/// and terminals reject.
fn write_through(path: &Path, text: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.write_all(text)?;
    file.flush()
}

/// Writes a temporary file in `path`'s directory, flushes it to disk and
/// renames it over `path`: the rename is atomic within one file system,
/// which the same directory guarantees.
fn replace(path: &Path, text: &[u8]) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    let prefix = temporary_prefix(name);
    builder.prefix(&prefix).suffix(TEMPORARY_SUFFIX);
    // The permissions the file had, or those of any new file (after the
    // umask), not the temporary file's owner-only default.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map_or(0o666, |m| m.permissions().mode() & 0o7777);
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    // Dropping the temporary file on an error removes it.
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(text)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

const TEMPORARY_SUFFIX: &str = ".tmp";

/// `.<name>.<pid>.`, then tempfile's random letters and `.tmp`: hidden from
/// `dir/*.json`, and the pid tells whether the writer of a file left behind
/// (by a process killed mid-write) is still alive ([`temporary_of`]).
fn temporary_prefix(name: &std::ffi::OsStr) -> String {
    format!(".{}.{}.", name.to_string_lossy(), std::process::id())
}

/// For the name of a temporary file [`write()`] makes
/// (`.<name>.<pid>.<random>.tmp`), the name of the file it was to become and
/// the process that wrote it.
pub fn temporary_of(file_name: &str) -> Option<(&str, u32)> {
    let rest = file_name
        .strip_prefix('.')?
        .strip_suffix(TEMPORARY_SUFFIX)?;
    let (rest, random) = rest.rsplit_once('.')?;
    let (name, pid) = rest.rsplit_once('.')?;
    let pid = pid.parse().ok()?;
    (!random.is_empty() && !name.is_empty()).then_some((name, pid))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{FileTypeExt, symlink};
    use std::os::unix::net::UnixListener;

    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_regular_file_is_replaced_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        fs::write(&path, "old, and longer than the new text").unwrap();
        write(&path, "new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(dir.path()), ["r.json"]);
    }

    #[test]
    fn a_temporary_file_names_its_target_and_writer() {
        assert_eq!(
            temporary_of(".snapshot-000001.json.4242.a1B2c3.tmp"),
            Some(("snapshot-000001.json", 4242))
        );
        assert_eq!(temporary_of("snapshot-000001.json"), None);
        assert_eq!(temporary_of(".notes.tmp"), None);
        assert_eq!(temporary_of(".r.json.x.abc.tmp"), None);
        // What `write` makes, should it be left behind.
        let dir = tempfile::tempdir().unwrap();
        let kept = tempfile::Builder::new()
            .prefix(&temporary_prefix("r.json".as_ref()))
            .suffix(TEMPORARY_SUFFIX)
            .tempfile_in(dir.path())
            .unwrap();
        let name = kept.path().file_name().unwrap().to_str().unwrap();
        assert_eq!(temporary_of(name), Some(("r.json", std::process::id())));
    }

    #[test]
    fn a_new_file_gets_the_usual_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write(&path, "x").unwrap();
        // The same as any file the user creates, not the temporary
        // file's owner-only default.
        let plain = dir.path().join("plain");
        fs::write(&plain, "x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&path), mode(&plain), "{:o}", mode(&path));
    }

    #[test]
    fn a_replaced_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, "new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640, "{mode:o}");
    }

    #[test]
    fn a_symlink_is_written_through_and_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.json");
        fs::write(&target, "old, and longer than the new text").unwrap();
        let link = dir.path().join("link.json");
        symlink(&target, &link).unwrap();
        write(&link, "new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_link(&link).unwrap(), target);
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(names(dir.path()), ["link.json", "target.json"]);
    }

    #[test]
    fn a_dangling_symlink_creates_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.json");
        let link = dir.path().join("link.json");
        symlink(&target, &link).unwrap();
        write(&link, "new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn dev_null_is_written_not_replaced() {
        write(Path::new("/dev/null"), "discarded").unwrap();
        let meta = fs::symlink_metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device());
    }

    #[test]
    fn a_fifo_gets_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
        };
        write(&fifo, "through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), "through the pipe");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(names(dir.path()), ["fifo"]);
    }

    #[test]
    fn a_directory_or_socket_is_an_error_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        assert!(write(&sub, "x").is_err());
        assert!(sub.is_dir());
        let sock = dir.path().join("sock");
        let _listener = UnixListener::bind(&sock).unwrap();
        assert!(write(&sock, "x").is_err());
        assert!(fs::symlink_metadata(&sock).unwrap().file_type().is_socket());
        assert_eq!(names(dir.path()), ["sock", "sub"]);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let err = write(Path::new("/nonexistent-dir-for-leakcheck/r.json"), "x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
