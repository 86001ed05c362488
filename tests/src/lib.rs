//! Helpers for leakcheck's end-to-end tests: build and run fixture crates
//! under `cargo test` and the real `cargo leakcheck` binary, and make their
//! output stable enough to hold as snapshots.

pub mod architecture;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The leakcheck workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// The directory of the fixture crate `name`.
pub fn fixture(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures").join(name)
}

/// The target directory of the build running these tests:
/// `CARGO_TARGET_DIR` when it is set (a relative one is taken from the
/// workspace root, where the README's commands run), else the workspace's
/// `target/`.
pub fn target_dir() -> PathBuf {
    target_dir_of(std::env::var_os("CARGO_TARGET_DIR").as_deref())
}

/// The target directory for a value of `CARGO_TARGET_DIR`.
fn target_dir_of(cargo_target_dir: Option<&std::ffi::OsStr>) -> PathBuf {
    match cargo_target_dir.filter(|v| !v.is_empty()) {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// One target directory for all fixtures built with the fixtures' own
/// flags (`<target>/fixtures`), so the dependencies a set of fixtures share
/// are built once per profile, not once per fixture or per test:
/// `cargo test` builds under `debug/` and `release/`, `cargo leakcheck`
/// under `leakcheck/`. Cargo's lock on a target directory serialises
/// builds that run at once.
pub fn fixture_target_dir() -> PathBuf {
    target_dir().join("fixtures")
}

/// The target directory of fixture builds whose rustflags differ from the
/// fixtures' own (`<target>/fixtures-<flags>`): each set of flags rebuilds
/// every dependency, so it gets a directory of its own that all tests
/// building with those flags share, and the shared directory keeps its
/// cache.
pub fn flags_target_dir(flags: RustFlags) -> PathBuf {
    target_dir().join(format!("fixtures-{}", flags.name()))
}

/// A set of rustflags some fixture builds use instead of the fixtures' own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RustFlags {
    /// `-C target-cpu=native`, from the fixture's config or the
    /// environment (frame pointers are leakcheck's to add).
    Native,
    /// An empty `RUSTFLAGS`: no frame pointers in the fixture's crates.
    NoFramePointers,
}

impl RustFlags {
    fn name(self) -> &'static str {
        match self {
            RustFlags::Native => "native",
            RustFlags::NoFramePointers => "no-frame-pointers",
        }
    }
}

/// End-to-end tests build and run whole crates; one at a time keeps them
/// from starving each other of the machine's cores, and from replacing a
/// scratch copy another test is building. The turn is taken across
/// processes too (an exclusive `flock` on `<target>/fixtures/.e2e-lock`),
/// so test binaries run at once, or nextest's process per test, take turns
/// as the threads of one test binary do.
pub fn serial() -> Serial {
    static LOCK: Mutex<()> = Mutex::new(());
    let thread = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = fixture_target_dir();
    let _ = std::fs::create_dir_all(&dir);
    // Without a lock file (a read-only target directory), the threads of
    // this process still take turns.
    let process = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".e2e-lock"))
        .ok()
        .filter(|file| {
            loop {
                match rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive) {
                    Err(rustix::io::Errno::INTR) => continue,
                    done => return done.is_ok(),
                }
            }
        });
    Serial {
        _process: process,
        _thread: thread,
    }
}

/// A test's turn at the end-to-end fixtures (see [`serial`]); dropping it
/// (closing the lock file) hands the turn on.
#[derive(Debug)]
pub struct Serial {
    _process: Option<std::fs::File>,
    _thread: MutexGuard<'static, ()>,
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The `cargo-leakcheck` binary of this workspace, built (once per test
/// process) if needed.
pub fn cargo_leakcheck_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let status = Command::new(cargo())
            .args([
                "build",
                "--quiet",
                "-p",
                "cargo-leakcheck",
                "--bin",
                "cargo-leakcheck",
            ])
            .current_dir(workspace_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building cargo-leakcheck failed");
        target_dir().join("debug/cargo-leakcheck")
    })
    .clone()
}

/// A command with the environment an end-to-end run needs: no outer test
/// runner, snapshot, leakcheck or GitHub Actions settings leaking in, CI
/// behaviour for insta (nothing written), and the shared fixture target
/// directory.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("NEXTEST")
            || key.starts_with("INSTA_")
            || key.starts_with("LEAKCHECK_")
            || key.starts_with("CARGO_LEAKCHECK_")
            || key.starts_with("GITHUB_")
            || key == "RUST_TEST_THREADS"
            || key == "CARGO_TARGET_DIR"
        {
            cmd.env_remove(&key);
        }
    }
    cmd.env("CI", "true")
        .env("CARGO_TARGET_DIR", fixture_target_dir())
        .env("CARGO_TERM_COLOR", "never")
        .env("RUST_BACKTRACE", "0");
    cmd
}

/// Output of a finished command, as text.
#[derive(Debug)]
pub struct Run {
    /// The exit code, or `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// The one line on stderr that is not blank, as a one-line error
    /// reason is; panics, showing stderr, when there are none or more.
    pub fn only_stderr_line(&self) -> &str {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "{}", self.stderr);
        lines[0]
    }

    /// The first line of standard error that contains `needle` (a report's
    /// `LEAK` row); panics with the whole of it when there is none.
    pub fn stderr_line_with(&self, needle: &str) -> &str {
        self.stderr
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}:\n{}", self.stderr))
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs `cargo leakcheck ARGS` on a fixture crate.
pub fn cargo_leakcheck(fixture_name: &str, args: &[&str]) -> Run {
    cargo_leakcheck_with::<&str>(fixture_name, args, &[])
}

/// Runs `cargo leakcheck ARGS` in a fixture crate with extra environment.
pub fn cargo_leakcheck_with<V: AsRef<std::ffi::OsStr>>(
    fixture_name: &str,
    args: &[&str],
    env: &[(&str, V)],
) -> Run {
    let mut cmd = clean_command(cargo_leakcheck_bin(), &fixture(fixture_name));
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.arg("leakcheck")
        .args(args)
        .output()
        .expect("cargo-leakcheck runs")
        .into()
}

/// Runs `cargo leakcheck --json FILE ARGS` on a fixture crate; the run and
/// the text of its JSON report (`FILE` is `name.json` in the fixtures'
/// target directory). Panics, with the run's output, when there is none.
pub fn cargo_leakcheck_json(fixture_name: &str, name: &str, args: &[&str]) -> (Run, String) {
    let json = fixture_target_dir().join(format!("{name}.json"));
    let _ = std::fs::create_dir_all(fixture_target_dir());
    let _ = std::fs::remove_file(&json);
    let json_arg = json.display().to_string();
    let mut all = vec!["--json", json_arg.as_str()];
    all.extend_from_slice(args);
    let run = cargo_leakcheck(fixture_name, &all);
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}\n{}", run.stdout, run.stderr));
    (run, text)
}

/// Runs `cargo test ARGS` in a fixture crate.
pub fn cargo_test(fixture_name: &str, args: &[&str]) -> Run {
    let dir = fixture(fixture_name);
    clean_command(cargo(), &dir)
        .arg("test")
        .args(args)
        .output()
        .expect("cargo runs")
        .into()
}

/// The panic output of one failed test in libtest's report.
pub fn failure_of<'a>(stdout: &'a str, test: &str) -> Option<&'a str> {
    leakcheck_rt::protocol::libtest::failure_of(stdout, test)
}

/// Runs `cargo test ARGS` in a fixture `LEAKCHECK_E2E_REPEAT` times
/// (default 20) and asserts that every run passes with `passed` tests: a
/// never-a-leak case must never fail, under whatever else the machine is
/// doing.
pub fn passes_in_repeated_runs(fixture_name: &str, args: &[&str], passed: usize) {
    let runs: usize = std::env::var("LEAKCHECK_E2E_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let expected = format!("test result: ok. {passed} passed");
    for round in 0..runs {
        let run = cargo_test(fixture_name, args);
        assert_eq!(
            run.code,
            Some(0),
            "round {round}: a clean case failed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        assert!(run.stdout.contains(&expected), "{}", run.stdout);
    }
}

/// The 1-based line of the first line of `file` (relative to the fixture)
/// that contains `marker`.
pub fn line_of(fixture_name: &str, file: &str, marker: &str) -> u32 {
    let text = std::fs::read_to_string(fixture(fixture_name).join(file)).expect("fixture file");
    text.lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("{marker:?} not in {file}")) as u32
        + 1
}

/// A fresh copy of the fixture `name` that a test may change, at the same
/// depth as the fixtures (`target/e2e/<name>` of the workspace, under the
/// workspace's `.cargo/config.toml`) so its path dependencies still resolve
/// to the same crates: built in [`fixture_target_dir`] like the fixtures,
/// a copy rebuilds only its own crate.
pub fn scratch_copy(name: &str) -> PathBuf {
    let to = workspace_root().join("target/e2e").join(name);
    let _ = std::fs::remove_dir_all(&to);
    copy_dir(&fixture(name), &to);
    to
}

/// A [`scratch_copy`] whose package is renamed `<package>-scratch` (its
/// library keeps the crate name `lib`). cargo names a path package's
/// build by its name and its path below its workspace, so a copy under the
/// fixture's own name shares the fixture's test binaries in the shared
/// target directory: a later build of the fixture takes the copy's as
/// fresh, and runs the copy's code with the copy's paths.
pub fn renamed_scratch_copy(name: &str, package: &str, lib: &str) -> PathBuf {
    let dir = scratch_copy(name);
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let from = format!("name = \"{package}\"");
    assert!(text.contains(&from), "{text}");
    assert!(!text.contains("[lib]"), "{text}");
    let renamed = text.replacen(&from, &format!("name = \"{package}-scratch\""), 1)
        + &format!("\n[lib]\nname = \"{lib}\"\n");
    std::fs::write(&manifest, renamed).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Output made stable for snapshots: durations and absolute paths removed.
pub fn sanitize(text: &str) -> String {
    let root = workspace_root().display().to_string();
    let mut out = String::new();
    for line in text.lines() {
        let line = line.replace(&root, "[ROOT]");
        if is_cargo_status(&line) || is_status_line(&line) {
            continue;
        }
        out.push_str(&mask_durations(&line));
        out.push('\n');
    }
    out
}

/// `true` for cargo's own progress lines (`   Compiling x v0.1.0`, `Downloaded`, ...),
/// which depend on what was built or fetched before.
fn is_cargo_status(line: &str) -> bool {
    const VERBS: [&str; 14] = [
        "Compiling",
        "Finished",
        "Blocking",
        "Locking",
        "Adding",
        "Downloading",
        "Downloaded",
        "Updating",
        "Updated",
        "Fresh",
        "Checking",
        "Building",
        "Waiting",
        "Removing",
    ];
    let word = line.trim_start().split(' ').next().unwrap_or("");
    VERBS.contains(&word)
}

/// `true` for cargo-leakcheck's line per finished process
/// (`        PASS [   0.512s] suite handles_requests`) and its closing
/// `Summary [...]` line: with `-j` they come in the order processes
/// finish, and the report after them holds the same facts in a fixed order.
pub fn is_status_line(line: &str) -> bool {
    const WORDS: [&str; 7] = [
        "PASS", "ACCEPTED", "LEAK", "GROWTH", "FAIL", "FAULT", "Summary",
    ];
    let line = line.trim_start();
    WORDS.iter().any(|w| {
        line.strip_prefix(w)
            .and_then(|rest| rest.strip_prefix(" ["))
            .is_some_and(|rest| rest.trim_start().split_once("s] ").is_some())
    })
}

/// Replaces `1.23s` / `45ms` style durations by `[TIME]`.
fn mask_durations(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_number =
            chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric());
        if starts_number {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let unit: String = chars[j..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            if matches!(unit.as_str(), "s" | "ms" | "µs" | "us") {
                out.push_str("[TIME]");
                i = j + unit.chars().count();
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// leakcheck-rt's example service (`leakcheck-rt/examples/service.rs`),
/// built once (frame pointers from the workspace's cargo config) into the
/// workspace's own target directory, where the workspace's build already
/// holds its dependencies.
pub fn service_example_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let run: Run = clean_command(
            std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
            &workspace_root(),
        )
        .args([
            "build",
            "--quiet",
            "-p",
            "leakcheck-rt",
            "--example",
            "service",
        ])
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("cargo runs")
        .into();
        assert_eq!(
            run.code,
            Some(0),
            "building the example failed:\n{}",
            run.stderr
        );
        target_dir().join("debug/examples/service")
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_directory_is_cargo_target_dir_else_the_workspace_s() {
        let root = workspace_root();
        assert_eq!(target_dir_of(None), root.join("target"));
        assert_eq!(target_dir_of(Some("".as_ref())), root.join("target"));
        assert_eq!(
            target_dir_of(Some("/elsewhere/t".as_ref())),
            Path::new("/elsewhere/t")
        );
        assert_eq!(target_dir_of(Some("t2".as_ref())), root.join("t2"));
        // Every fixture build goes under the target directory of the run.
        let target = target_dir();
        assert_eq!(fixture_target_dir(), target.join("fixtures"));
        for flags in [RustFlags::Native, RustFlags::NoFramePointers] {
            let dir = flags_target_dir(flags);
            assert_eq!(dir.parent(), Some(target.as_path()), "{dir:?}");
            assert!(
                dir.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("fixtures-")
            );
        }
    }

    #[test]
    fn cargo_status_lines_are_dropped() {
        assert_eq!(
            sanitize("   Compiling x v0.1.0\n  Downloaded libc v0.2.1\nLeak tests\n"),
            "Leak tests\n"
        );
    }

    #[test]
    fn status_lines_are_dropped() {
        assert_eq!(
            sanitize(
                "        PASS [   0.512s] suite t\n      GROWTH [  12.000s] a (session)\nLeak tests\n     Summary [   3.246s] 21 tests run\n"
            ),
            "Leak tests\n"
        );
        assert!(!is_status_line("LEAK tests [x]"));
    }

    #[test]
    fn durations_are_masked() {
        assert_eq!(
            mask_durations("finished in 1.25s, 30ms"),
            "finished in [TIME], [TIME]"
        );
        assert_eq!(
            mask_durations("src/lib.rs:10 1024.0 B/iter"),
            "src/lib.rs:10 1024.0 B/iter"
        );
    }
}
