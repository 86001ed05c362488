//! SIGINT, SIGTERM, SIGHUP and SIGQUIT, and the process groups of the
//! children.
//!
//! Every child (the build, each test process) runs in a process group of
//! its own, so a test's own children can be killed with it, and a
//! terminal's Ctrl-C reaches only `cargo leakcheck`, which decides what
//! to do. A closed terminal (SIGHUP) and Ctrl-\\ (SIGQUIT) are handled
//! as SIGTERM is: the test processes, in groups of their own, would not
//! hear of them.
//!
//! ```text
//!  SIGINT/TERM/HUP/QUIT ──> forward it to every live group ──GRACE──> SIGKILL them
//!        │                                                      │
//!        └─ no new child starts; the run stops, its scratch     └─EXIT_AFTER──> exit
//!           directories are removed, exit 128 + the signal         (last resort)
//! ```
//!
//! The main thread ends the run as soon as the child it waits for is gone
//! ([`signal`] tells it why); the last-resort exit only matters when it is
//! blocked elsewhere (reading a `--review` answer). A second signal kills
//! the groups at once. A SIGKILL cannot be handled: test processes die
//! with the run all the same (see [`super::parent_death`]).

use std::io;
use std::process::{Child, Command};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// How long a forwarded signal has to end a child before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How long after the SIGKILL the main thread has to finish the run.
const EXIT_AFTER: Duration = Duration::from_secs(5);

/// The first of the handled signals received, 0 before.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The process groups (their leaders' pids) of the live children.
static GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// The signal that interrupted the run, if one did.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Handles SIGINT, SIGTERM, SIGHUP and SIGQUIT from now on, as described above (once per
/// process; later calls do nothing).
pub fn install() {
    #[cfg(unix)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(unix::install);
    }
}

/// A live child's process group; dropping it stops tracking the group.
#[derive(Debug)]
pub struct Group {
    pgid: u32,
}

impl Group {
    /// Sends SIGKILL to every process of the group (a no-op when they are
    /// all gone).
    pub fn kill(&self) {
        #[cfg(unix)]
        unix::signal_group(self.pgid, libc::SIGKILL);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let mut groups = GROUPS.lock().unwrap_or_else(|e| e.into_inner());
        groups.retain(|&g| g != self.pgid);
    }
}

/// Spawns `command` as the leader of a new process group and tracks the
/// group until the returned [`Group`] is dropped. Once the run was
/// interrupted nothing new starts: the error is of kind `Interrupted`.
pub fn spawn(command: &mut Command) -> io::Result<(Child, Group)> {
    refuse_if_interrupted()?;
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let child = spawn_when_not_busy(command)?;
    let group = Group { pgid: child.id() };
    GROUPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(group.pgid);
    // A signal that came between the check above and the registration
    // found no group to forward to.
    if signal().is_some() {
        group.kill();
    }
    Ok((child, group))
}

/// How often a spawn is tried again while the executable is busy.
pub(super) const BUSY_RETRIES: u32 = 20;

/// `command.spawn()`, tried again while the executable is open for writing
/// somewhere (`ETXTBSY`): a file just written is, for a moment, also open
/// in every process forked meanwhile, until that one calls `exec` (its
/// descriptors close on exec). Waits 1 ms, doubling to at most 64 ms, for
/// about a second in all.
fn spawn_when_not_busy(command: &mut Command) -> io::Result<Child> {
    let mut wait = Duration::from_millis(1);
    for _ in 0..BUSY_RETRIES {
        match command.spawn() {
            Err(e) if e.kind() == io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(64));
            }
            spawned => return spawned,
        }
    }
    command.spawn()
}

fn refuse_if_interrupted() -> io::Result<()> {
    match signal() {
        None => Ok(()),
        Some(signal) => Err(io::Error::new(
            io::ErrorKind::Interrupted,
            format!("interrupted by signal {signal}"),
        )),
    }
}

#[cfg(unix)]
mod unix {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    use std::thread;

    use rustix::process::{Pid, Signal, kill_process_group};
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    use signal_hook::iterator::Signals;

    use super::{EXIT_AFTER, GRACE, GROUPS, SIGNAL};
    use crate::errors::Error;

    /// What stops a run: Ctrl-C, a CI cancel or `timeout`, a closed
    /// terminal, Ctrl-\\.
    pub(super) const HANDLED: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

    pub(super) fn install() {
        let mut signals = match Signals::new(HANDLED) {
            Ok(signals) => signals,
            Err(e) => {
                eprintln!(
                    "warning: cannot handle SIGINT, SIGTERM, SIGHUP and SIGQUIT ({e}); test processes may outlive an interrupted run"
                );
                return;
            }
        };
        let spawned = thread::Builder::new()
            .name("leakcheck-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    on_signal(signal);
                }
            });
        if let Err(e) = spawned {
            eprintln!("warning: cannot handle SIGINT, SIGTERM, SIGHUP and SIGQUIT ({e})");
        }
    }

    fn on_signal(signal: i32) {
        // The flag first: a child spawned after this sees it (see `spawn`).
        if SIGNAL
            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // A second signal: no more grace.
            signal_all(libc::SIGKILL);
            return;
        }
        signal_all(signal);
        let _ = thread::Builder::new()
            .name("leakcheck-escalate".into())
            .spawn(move || {
                thread::sleep(GRACE);
                signal_all(libc::SIGKILL);
                thread::sleep(EXIT_AFTER);
                let error = Error::Interrupted { signal };
                // After SIGHUP the terminal may be gone: no panic for that.
                let _ = writeln!(std::io::stderr(), "error: {error}");
                std::process::exit(error.process_exit_code());
            });
    }

    fn signal_all(signal: i32) {
        let groups = GROUPS.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for pgid in groups {
            signal_group(pgid, signal);
        }
    }

    /// `killpg`; a group that is already gone is not an error worth
    /// reporting.
    pub(super) fn signal_group(pgid: u32, signal: i32) {
        let pid = i32::try_from(pgid).ok().and_then(Pid::from_raw);
        if let (Some(pid), Some(signal)) = (pid, Signal::from_named_raw(signal)) {
            let _ = kill_process_group(pid, signal);
        }
    }
}

#[cfg(all(test, unix))]
pub(crate) mod tests {
    use std::path::Path;
    use std::time::Instant;

    use super::*;

    /// `true` once `pid` is dead (a zombie nobody reaped counts as dead).
    pub(crate) fn gone(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_executable_still_open_for_writing_is_spawned_once_it_is_closed() {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("just-written");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(b"#!/bin/sh\nexit 7\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Open for writing: exec fails with ETXTBSY until it is closed.
        let busy = Command::new(&path).spawn().unwrap_err();
        assert_eq!(busy.kind(), io::ErrorKind::ExecutableFileBusy, "{busy}");
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            drop(file);
        });
        let (mut child, _group) = spawn(&mut Command::new(&path)).unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(7));
        closer.join().unwrap();
    }

    #[test]
    fn a_child_leads_its_own_group_and_kill_takes_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 600 & echo $! > {}; wait", pidfile.display());
        let (mut child, group) = spawn(Command::new("/bin/sh").args(["-c", &script])).unwrap();
        let pgid = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
        let fields: Vec<&str> = pgid.rsplit_once(") ").unwrap().1.split(' ').collect();
        // Field 5 of /proc/PID/stat (the third after the name) is the pgid.
        assert_eq!(fields[2], child.id().to_string());
        assert!(GROUPS.lock().unwrap().contains(&child.id()));

        let grandchild = wait_for_pid(&pidfile);
        group.kill();
        child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !gone(grandchild) {
            assert!(
                Instant::now() < deadline,
                "grandchild {grandchild} lives on"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let leader = child.id();
        drop(group);
        assert!(!GROUPS.lock().unwrap().contains(&leader));
    }

    fn wait_for_pid(file: &Path) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(file)
                && let Ok(pid) = text.trim().parse()
            {
                return pid;
            }
            assert!(Instant::now() < deadline, "no pid in {}", file.display());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
