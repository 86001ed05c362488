//! Running one test process: captured output, a time limit, and what ended
//! it (an exit code, a signal, or the time limit). Each runs in a process
//! group of its own, killed whole at the time limit or when the run is
//! interrupted (see [`super::interrupt`]), so a test's own children die
//! with it; and it dies with the run (see [`super::parent_death`]).

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};

use super::capture::Capture;
use super::interrupt::{self, Group};
use super::parent_death;
use crate::signals::signal_name;
use leakcheck_format::protocol::libtest::TEST_FAILED_CODE;
use std::thread;
use std::time::{Duration, Instant};

/// One process to run.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Its working directory.
    pub cwd: PathBuf,
    /// Variables set on top of the inherited environment.
    pub env: Vec<(OsString, OsString)>,
    /// Killed after this long; `None` is no limit.
    pub timeout: Option<Duration>,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (on Unix).
    Signaled {
        /// The signal number.
        signal: i32,
        /// Whether it left a core dump.
        core_dumped: bool,
    },
    /// It ran past the time limit and was killed.
    TimedOut(Duration),
}

/// A finished process.
#[derive(Debug, Clone)]
pub struct ProcessOutput {
    /// How it ended.
    pub termination: Termination,
    /// Its standard output, lossily decoded.
    pub stdout: String,
    /// Its standard error, lossily decoded.
    pub stderr: String,
}

impl Termination {
    /// `true` for exit code 0.
    pub fn success(self) -> bool {
        self == Termination::Exited(0)
    }

    /// `true` when libtest reported failing tests (exit code 101).
    pub fn tests_failed(self) -> bool {
        self == Termination::Exited(TEST_FAILED_CODE)
    }

    fn from_status(status: ExitStatus) -> Self {
        if let Some(code) = status.code() {
            return Termination::Exited(code);
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(signal) = status.signal() {
                return Termination::Signaled {
                    signal,
                    core_dumped: status.core_dumped(),
                };
            }
        }
        // Neither a code nor a signal: report it as a failure all the same.
        Termination::Exited(-1)
    }

    /// What happened, as a phrase: `exited with status 3`,
    /// `killed by signal 11 (SIGSEGV: segmentation fault)`,
    /// `timed out after 300s and was killed`.
    pub fn describe(self) -> String {
        match self {
            Termination::Exited(code) => format!("exited with status {code}"),
            Termination::Signaled {
                signal,
                core_dumped,
            } => {
                let name = match signal_name(signal) {
                    Some((name, what)) => format!(" ({name}: {what})"),
                    None => String::new(),
                };
                let core = if core_dumped { ", core dumped" } else { "" };
                format!("killed by signal {signal}{name}{core}")
            }
            Termination::TimedOut(limit) => {
                format!("timed out after {limit:?} and was killed")
            }
        }
    }
}

/// Runs `spec` to its end, or until its time limit.
///
/// Output goes to anonymous temporary files rather than pipes: nothing has
/// to drain them for the process to go on, and a grandchild that keeps
/// them open cannot make us hang. They are read while the process runs,
/// into a bounded [`Capture`] each: a test that writes a gigabyte costs a
/// few megabytes here.
pub fn run(spec: &ProcessSpec) -> io::Result<ProcessOutput> {
    let mut out = Stream::new()?;
    let mut err = Stream::new()?;
    // Through the shim that makes the process die with this one; the
    // thread that forks it waits for it (see `parent_death`).
    let mut command = parent_death::command(&spec.program);
    command
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out.file.try_clone()?)
        .stderr(err.file.try_clone()?);
    let (mut child, group) = interrupt::spawn(&mut command)?;
    let termination = wait(&mut child, &group, spec.timeout, [&mut out, &mut err])?;
    if interrupt::signal().is_some() {
        // The leader is gone; what it started may not be.
        group.kill();
    }
    drop(group);
    let (stdout, stderr) = (out.finish()?, err.finish()?);
    if let Termination::Exited(code) = termination
        && let Some(e) = parent_death::exec_error(code, &stderr)
    {
        return Err(e);
    }
    Ok(ProcessOutput {
        termination,
        stdout,
        stderr,
    })
}

fn wait(
    child: &mut Child,
    group: &Group,
    timeout: Option<Duration>,
    mut streams: [&mut Stream; 2],
) -> io::Result<Termination> {
    let start = Instant::now();
    // Short processes are common (a `--list`, a quick test): poll fast at
    // first, then back off.
    let mut pause = Duration::from_millis(1);
    loop {
        for stream in &mut streams {
            stream.read_new()?;
        }
        if let Some(status) = child.try_wait()? {
            return Ok(Termination::from_status(status));
        }
        let elapsed = start.elapsed();
        if let Some(limit) = timeout {
            if elapsed >= limit {
                // SIGKILL, to the whole group: a hung test may ignore
                // anything gentler, and the processes it started must not
                // outlive it. The leader is not reaped yet, so the group
                // cannot be gone.
                group.kill();
                // The leader itself, should the group kill have been
                // refused.
                let _ = child.kill();
                child.wait()?;
                return Ok(Termination::TimedOut(limit));
            }
            pause = pause.min(limit - elapsed);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// One of a process's outputs: the file it writes, read as it grows.
struct Stream {
    file: File,
    /// How much of the file was read.
    read: u64,
    capture: Capture,
    buffer: Vec<u8>,
}

impl Stream {
    fn new() -> io::Result<Self> {
        Ok(Stream {
            file: tempfile::tempfile()?,
            read: 0,
            capture: Capture::default(),
            buffer: vec![0; 64 << 10],
        })
    }

    /// Reads what was written since the last call, up to the file's
    /// length now (a grandchild that goes on writing cannot keep it
    /// reading).
    fn read_new(&mut self) -> io::Result<()> {
        let end = self.file.metadata()?.len();
        while self.read < end {
            let want = self
                .buffer
                .len()
                .min(usize::try_from(end - self.read).unwrap_or(usize::MAX));
            // At an offset of its own: the file's position is the
            // process's, which writes through a copy of this descriptor.
            let n = read_at(&self.file, &mut self.buffer[..want], self.read)?;
            if n == 0 {
                break;
            }
            self.read += n as u64;
            self.capture.push(&self.buffer[..n]);
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<String> {
        self.read_new()?;
        Ok(self.capture.finish())
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::run::interrupt::tests::gone;

    fn sh(script: &str, timeout: Option<Duration>) -> ProcessOutput {
        run(&ProcessSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: std::env::temp_dir(),
            env: vec![("LEAKCHECK_TEST_VAR".into(), "set".into())],
            timeout,
        })
        .unwrap()
    }

    #[test]
    fn captures_output_and_exit_code() {
        let out = sh(
            "echo out; echo err >&2; echo $LEAKCHECK_TEST_VAR; exit 3",
            None,
        );
        assert_eq!(out.termination, Termination::Exited(3));
        assert_eq!(out.stdout, "out\nset\n");
        assert_eq!(out.stderr, "err\n");
        assert_eq!(out.termination.describe(), "exited with status 3");
    }

    #[test]
    fn names_the_signal() {
        let out = sh("kill -SEGV $$", Some(Duration::from_secs(30)));
        assert!(
            matches!(
                out.termination,
                Termination::Signaled {
                    signal: libc::SIGSEGV,
                    ..
                }
            ),
            "{:?}",
            out.termination
        );
        assert!(
            out.termination
                .describe()
                .starts_with("killed by signal 11 (SIGSEGV: segmentation fault)"),
            "{}",
            out.termination.describe()
        );
    }

    #[test]
    fn a_hang_is_killed_at_the_limit() {
        let start = Instant::now();
        let out = sh(
            "echo started; exec sleep 30",
            Some(Duration::from_millis(300)),
        );
        assert_eq!(
            out.termination,
            Termination::TimedOut(Duration::from_millis(300))
        );
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(out.stdout, "started\n");
    }

    #[test]
    fn abort_is_named() {
        let t = Termination::Signaled {
            signal: libc::SIGABRT,
            core_dumped: true,
        };
        assert_eq!(
            t.describe(),
            format!(
                "killed by signal {} (SIGABRT: aborted), core dumped",
                libc::SIGABRT
            )
        );
    }

    #[test]
    fn the_limit_kills_the_children_of_a_hung_test_too() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        // The grandchild's pid is written before the wait, which outlasts
        // any limit.
        let script = format!("sleep 600 & echo $! > {}; wait", pidfile.display());
        let out = sh(&script, Some(Duration::from_millis(500)));
        assert_eq!(
            out.termination,
            Termination::TimedOut(Duration::from_millis(500))
        );
        let grandchild: u32 = std::fs::read_to_string(&pidfile)
            .expect("the script wrote its child's pid")
            .trim()
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !gone(grandchild) {
            assert!(
                Instant::now() < deadline,
                "the grandchild {grandchild} outlived the time limit"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn libtest_failure_code() {
        let out = sh("exit 101", None);
        assert!(out.termination.tests_failed());
        assert!(!out.termination.success());
    }
}
