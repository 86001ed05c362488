//! Test processes die with `cargo leakcheck`, also when it is killed in a
//! way it cannot handle (SIGKILL, an out-of-memory kill).
//!
//! On Linux a test process is started through `cargo leakcheck` itself:
//! the process forked for it sets `PR_SET_PDEATHSIG` (SIGKILL), checks
//! that its parent is still the run (it may have died before the call),
//! then execs the test binary, which keeps its pid, its process group and
//! the death signal. This crate forbids unsafe code, and setting the
//! signal between fork and exec of one process would take `pre_exec`; the
//! extra exec costs about a millisecond per test process.
//!
//! The kernel sends the signal when the *thread* that forked the process
//! ends, not the whole parent: [`super::process::run`] forks from the
//! thread that then waits for the process, which outlives it.
//!
//! What a test process started itself is not covered: when the run is
//! killed, a test's own children are orphaned, not killed.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The first argument that makes `cargo leakcheck` the shim described
/// above: `cargo-leakcheck __leakcheck-exec PARENT_PID PROGRAM ARGS...`.
const SHIM_ARG: &str = "__leakcheck-exec";
/// How the shim's one line on stderr begins when it could not exec the
/// test binary (it then exits with [`SHIM_FAILED`]).
const FAILED_PREFIX: &str = "leakcheck-exec: ";
/// The shim's exit code when it could not exec, as a shell's.
const SHIM_FAILED: i32 = 127;

/// This program, when test processes are started through it.
static SHIM: OnceLock<PathBuf> = OnceLock::new();

/// Starts test processes through this program from now on (Linux; a no-op
/// elsewhere). Called by `cargo leakcheck`'s own `main`: a library user's
/// executable is not a shim.
pub fn enable() {
    #[cfg(target_os = "linux")]
    if let Ok(exe) = std::env::current_exe() {
        let _ = SHIM.set(exe);
    }
}

/// A command that runs `program`, through the shim once [`enable`]d.
pub fn command(program: &Path) -> Command {
    match SHIM.get() {
        Some(shim) => {
            let mut command = Command::new(shim);
            command
                .arg(SHIM_ARG)
                .arg(std::process::id().to_string())
                .arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// The error a shim reported on `stderr` when it exited with `code`
/// before it could exec the test binary.
pub fn exec_error(code: i32, stderr: &str) -> Option<io::Error> {
    if code != SHIM_FAILED {
        return None;
    }
    let reason = stderr.lines().find_map(|l| l.strip_prefix(FAILED_PREFIX))?;
    Some(io::Error::other(reason.to_owned()))
}

/// Runs as the shim when `args` (program name first) say so; returns its
/// exit code, or `None` when this is not a shim's command line.
pub fn run_if_shim(args: &[OsString]) -> Option<i32> {
    if args.get(1).is_none_or(|a| a != SHIM_ARG) {
        return None;
    }
    Some(shim(&args[2..]))
}

fn shim(args: &[OsString]) -> i32 {
    let [parent, program, rest @ ..] = args else {
        eprintln!("{FAILED_PREFIX}expected a parent pid and a program");
        return SHIM_FAILED;
    };
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Signal, getppid, set_parent_process_death_signal};
        if let Err(e) = set_parent_process_death_signal(Some(Signal::KILL)) {
            eprintln!("{FAILED_PREFIX}cannot set the parent-death signal: {e}");
            return SHIM_FAILED;
        }
        let expected = parent.to_str().and_then(|p| p.parse::<i32>().ok());
        if getppid().map(|p| p.as_raw_nonzero().get()) != expected {
            // The run died before the signal was set: nobody waits for
            // this test any more.
            return 1;
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = parent;
    let error = exec_when_not_busy(program, rest);
    eprintln!("{FAILED_PREFIX}{error}");
    SHIM_FAILED
}

/// `exec`, tried again while the executable is busy (see
/// [`super::interrupt::spawn`]); returns only on failure.
fn exec_when_not_busy(program: &OsString, args: &[OsString]) -> io::Error {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let mut wait = std::time::Duration::from_millis(1);
        for _ in 0..super::interrupt::BUSY_RETRIES {
            let error = Command::new(program).args(args).exec();
            if error.kind() != io::ErrorKind::ExecutableFileBusy {
                return error;
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(std::time::Duration::from_millis(64));
        }
        Command::new(program).args(args).exec()
    }
    #[cfg(not(unix))]
    {
        let _ = (program, args);
        io::Error::from(io::ErrorKind::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_its_own_command_line_makes_a_shim() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(run_if_shim(&args(&["cargo-leakcheck", "leakcheck"])), None);
        assert_eq!(run_if_shim(&args(&["cargo-leakcheck"])), None);
        assert_eq!(
            run_if_shim(&args(&["cargo-leakcheck", SHIM_ARG])),
            Some(SHIM_FAILED)
        );
    }

    #[test]
    fn a_failed_exec_reads_back_as_an_error() {
        let stderr = format!("{FAILED_PREFIX}No such file or directory (os error 2)\n");
        assert_eq!(
            exec_error(SHIM_FAILED, &stderr).unwrap().to_string(),
            "No such file or directory (os error 2)"
        );
        assert!(exec_error(SHIM_FAILED, "exit 127 of its own\n").is_none());
        assert!(exec_error(1, &stderr).is_none());
    }
}
