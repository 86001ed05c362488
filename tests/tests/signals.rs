//! Real signals and real process groups: SIGTERM, SIGINT, SIGHUP, SIGQUIT
//! and SIGKILL to `cargo leakcheck`, and its time limit, while a test waits on a child of its own
//! that waits on a grandchild (the `signals` fixture). Nothing may outlive
//! the run: not the test binary, not its children, not the scratch
//! directories.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leakcheck_tests::{cargo_leakcheck_bin, clean_command, fixture, serial};

/// The build of the fixture may come first; everything else is quick.
const START_DEADLINE: Duration = Duration::from_secs(600);
/// Generous: the point is that it ends, not how fast.
const END_DEADLINE: Duration = Duration::from_secs(60);

/// A run of `cargo leakcheck` on the fixture, with a private `TMPDIR` and
/// the directory where the fixture's test leaves its pids.
struct Running {
    child: Child,
    tmp: tempfile::TempDir,
    pids: tempfile::TempDir,
    stderr: PathBuf,
}

fn start(args: &[&str]) -> Running {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tempfile::tempdir().unwrap();
    let stderr = pids.path().join("stderr");
    let child = clean_command(cargo_leakcheck_bin(), &fixture("signals"))
        .arg("leakcheck")
        .args(args)
        .env("TMPDIR", tmp.path())
        .env("SIGNALS_PID_DIR", pids.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("cargo-leakcheck starts");
    Running {
        child,
        tmp,
        pids,
        stderr,
    }
}

impl Running {
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The pids of the test binary, its shell and the shell's `sleep`,
    /// once all three run.
    fn wait_for_tree(&mut self) -> [u32; 3] {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let (Some(test), Some(grandchild)) = (
                read_pids(&self.pids.path().join("test.pid")),
                read_pids(&self.pids.path().join("grandchild.pid")),
            ) && test.len() == 2
                && grandchild.len() == 1
            {
                return [test[0], test[1], grandchild[0]];
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "cargo leakcheck ended ({status}) before the test ran:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the test did not start:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The exit code, once it has ended.
    fn wait_for_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + END_DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("cargo leakcheck did not end:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asserts that none of `pids` lives, and that no scratch directory or
    /// file of leakcheck is left in the private `TMPDIR`.
    fn assert_nothing_left(&self, pids: [u32; 3]) {
        let deadline = Instant::now() + END_DEADLINE;
        for pid in pids {
            while !gone(pid) {
                assert!(
                    Instant::now() < deadline,
                    "process {pid} of {pids:?} (test, shell, sleep) outlived the run:\n{}",
                    self.stderr()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let left: Vec<String> = std::fs::read_dir(self.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("leakcheck-"))
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_pids(file: &Path) -> Option<Vec<u32>> {
    let text = std::fs::read_to_string(file).ok()?;
    let pids: Vec<u32> = text
        .split_whitespace()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    (!pids.is_empty()).then_some(pids)
}

/// `true` once `pid` is dead: no such process, or a zombie that nobody has
/// reaped yet (the container's init may not).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid}");
}

fn interrupt_with(signal: &str, code: i32) {
    let _serial = serial();
    let mut run = start(&["--timeout", "0"]);
    let pids = run.wait_for_tree();
    send(signal, run.child.id());
    assert_eq!(run.wait_for_exit(), Some(code), "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&format!("error: interrupted by SIG{signal}"))),
        "{stderr}"
    );
    run.assert_nothing_left(pids);
}

#[test]
fn sigterm_stops_the_test_and_its_children_and_exits_143() {
    interrupt_with("TERM", 143);
}

#[test]
fn sigint_stops_the_test_and_its_children_and_exits_130() {
    interrupt_with("INT", 130);
}

/// A closed terminal: the test processes, in groups of their own, hear
/// nothing of it from the terminal.
#[test]
fn sighup_stops_the_test_and_its_children_and_exits_129() {
    interrupt_with("HUP", 129);
}

#[test]
fn sigquit_stops_the_test_and_its_children_and_exits_131() {
    interrupt_with("QUIT", 131);
}

/// SIGKILL cannot be handled: the test process dies with the run all the
/// same (its parent-death signal). What the test started itself is
/// orphaned, not killed, and is cleaned up here.
#[cfg(target_os = "linux")]
#[test]
fn sigkill_to_the_run_kills_its_test_process_too() {
    let _serial = serial();
    let mut run = start(&["--timeout", "0"]);
    let [test, shell, sleep] = run.wait_for_tree();
    send("KILL", run.child.id());
    run.child.wait().unwrap();
    let deadline = Instant::now() + END_DEADLINE;
    while !gone(test) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let test_gone = gone(test);
    for pid in [test, shell, sleep] {
        if !gone(pid) {
            send("KILL", pid);
        }
    }
    assert!(
        test_gone,
        "the test process {test} outlived the killed run:\n{}",
        run.stderr()
    );
}

#[test]
fn the_time_limit_kills_the_grandchildren_too() {
    let _serial = serial();
    let mut run = start(&["--timeout", "2"]);
    let pids = run.wait_for_tree();
    assert_eq!(run.wait_for_exit(), Some(4), "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("hangs") && l.contains("timed out")),
        "{stderr}"
    );
    run.assert_nothing_left(pids);
}

/// `cargo test` on the fixture's `isolated` target, in a process group of
/// its own (so the clean-up can kill everything it started), until the leak
/// test's child has written its pid and its parent's.
#[test]
fn an_isolated_leak_test_child_dies_with_its_parent() {
    use std::os::unix::process::CommandExt;

    let _serial = serial();
    let pids = tempfile::tempdir().unwrap();
    let stderr = pids.path().join("stderr");
    let mut cargo = clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &fixture("signals"),
    );
    cargo
        .args(["test", "--test", "isolated"])
        .env("SIGNALS_PID_DIR", pids.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .process_group(0);
    let mut cargo = KillGroupOnDrop(cargo.spawn().expect("cargo starts"));
    let file = pids.path().join("isolated.pid");
    let deadline = Instant::now() + START_DEADLINE;
    let [child, parent] = loop {
        if let Some(found) = read_pids(&file)
            && let [child, parent] = found[..]
        {
            break [child, parent];
        }
        if let Some(status) = cargo.0.try_wait().unwrap() {
            panic!(
                "cargo test ended ({status}) before the child measured:\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "the leak test's child did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_ne!(
        parent,
        cargo.0.id(),
        "the child's parent is the test binary"
    );

    // The parent alone, as an out-of-memory kill or `kill PID` would.
    send("KILL", parent);
    let deadline = Instant::now() + END_DEADLINE;
    while !gone(child) {
        assert!(
            Instant::now() < deadline,
            "the isolated child {child} outlived its parent {parent}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the whole process group of a child on drop (the child leads it).
struct KillGroupOnDrop(Child);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}
