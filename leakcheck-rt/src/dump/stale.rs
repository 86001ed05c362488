//! Temporary files that a dumping process killed mid-write (`SIGKILL`, a
//! crash, a power cut) left in the snapshot directory: the next
//! [`dump_every`](super::dump_every) there removes them.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::dumper::number_of;
use leakcheck_format::atomic_file;

/// A temporary file this old is left behind whoever wrote it: no snapshot
/// takes an hour to write.
const ABANDONED_AFTER: Duration = Duration::from_secs(60 * 60);

/// Removes the temporary files of snapshot dumps in `dir` whose writer is
/// gone: a process that no longer runs, this process when it is not
/// dumping into `dir` (`dumping_here`; a restarted service in a container
/// often has the pid its killed predecessor had), or any writer after
/// [`ABANDONED_AFTER`]. Other files, and the snapshots, are left alone;
/// what cannot be removed stays (the dumps do not depend on it).
pub(super) fn remove_stale_temporaries(dir: &Path, dumping_here: bool) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((target, pid)) = name.to_str().and_then(atomic_file::temporary_of) else {
            continue;
        };
        if number_of(target).is_none() {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age >= ABANDONED_AFTER);
        let gone = if pid == me {
            !dumping_here
        } else {
            !is_running(pid)
        };
        if gone || old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether a process `pid` exists (one of another user counts).
#[cfg(target_os = "linux")]
fn is_running(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

/// Elsewhere a writer is taken to be running: its file goes once it is
/// [`ABANDONED_AFTER`] old.
#[cfg(not(target_os = "linux"))]
fn is_running(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pid of a process that has ended (and been reaped).
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn temporaries_of_dead_writers_go_and_the_rest_stay() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let me = std::process::id();
        let live = std::os::unix::process::parent_id();
        let files = [
            format!(".snapshot-000003.json.{dead}.aB3dE9.tmp"),
            format!(".snapshot-000004.json.{me}.xYz123.tmp"),
            format!(".snapshot-000005.json.{live}.Qq0000.tmp"),
            format!(".report.json.{dead}.aB3dE9.tmp"),
            "snapshot-000002.json".to_owned(),
            ".notes.tmp".to_owned(),
        ];
        for f in &files {
            fs::write(dir.path().join(f), "{").unwrap();
        }
        // This process dumps there: its own temporary may be mid-write.
        remove_stale_temporaries(dir.path(), true);
        let mut expect = vec![
            files[1].clone(),
            files[2].clone(),
            files[3].clone(),
            files[4].clone(),
            files[5].clone(),
        ];
        expect.sort();
        assert_eq!(names(dir.path()), expect);
        // It does not: its own is left from an earlier life of this pid.
        remove_stale_temporaries(dir.path(), false);
        expect.retain(|n| n != &files[1]);
        assert_eq!(names(dir.path()), expect);
    }

    #[test]
    fn an_abandoned_temporary_goes_whoever_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let live = std::os::unix::process::parent_id();
        let path = dir
            .path()
            .join(format!(".snapshot-000001.json.{live}.abcdef.tmp"));
        let file = fs::File::create(&path).unwrap();
        file.set_modified(SystemTime::now() - ABANDONED_AFTER - Duration::from_secs(1))
            .unwrap();
        drop(file);
        remove_stale_temporaries(dir.path(), false);
        assert!(!path.exists());
    }
}
