//! `cargo leakcheck` as cargo's `RUSTC_WRAPPER`: every rustc invocation of
//! the build gets `-C force-frame-pointers=yes` as its last flag.
//!
//! Why a wrapper and not rustflags: cargo takes rustflags from exactly one
//! source, the first of `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`,
//! `target.<triple>.rustflags` / `target.<cfg>.rustflags` (config files or
//! `CARGO_TARGET_<TRIPLE>_RUSTFLAGS`), `build.rustflags`. Whatever
//! `cargo leakcheck` adds to one of them is dropped when the user sets a
//! source above it (a `[target.x86_64-unknown-linux-gnu] rustflags =
//! ["-C", "target-cpu=native"]` beat the `--config build.rustflags` it
//! used to add), or replaces the user's flags when it sets one above
//! theirs (a `target.<host>.rustflags` of ours would silence the user's
//! `build.rustflags`). Resolving the user's effective flags ourselves
//! would mean re-implementing cargo's config discovery, `--config`
//! merging and `cfg()` evaluation. The wrapper sees rustc's final command
//! line, whatever produced it, and appends the flag last, where rustc lets
//! it win over an earlier `-C force-frame-pointers=no`.
//!
//! A wrapper the user set in the environment (`RUSTC_WRAPPER`,
//! `CARGO_BUILD_RUSTC_WRAPPER`, e.g. sccache) still runs: it is called
//! with the amended command line.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::inject;
use super::shadow::Shadow;

/// Set (to `1`) in the environment of the build: the process cargo starts
/// as `RUSTC_WRAPPER` is this one, wrapping rustc.
pub const MARKER: &str = "LEAKCHECK_RUSTC_WRAPPER";
/// The user's own wrapper, if any, which the wrapper runs in turn.
pub const INNER: &str = "LEAKCHECK_INNER_RUSTC_WRAPPER";
/// What is appended to every rustc command line.
pub const FLAGS: [&str; 2] = ["-C", "force-frame-pointers=yes"];

/// The environment that makes cargo run `exe` (this program) as its rustc
/// wrapper. `get` reads the current environment (a parameter for the tests).
pub fn env(exe: &OsString, get: impl Fn(&str) -> Option<String>) -> Vec<(String, OsString)> {
    let mut env = vec![
        ("RUSTC_WRAPPER".to_owned(), exe.clone()),
        // Cargo reads this one too; ours must be the only wrapper it sees.
        ("CARGO_BUILD_RUSTC_WRAPPER".to_owned(), exe.clone()),
        (MARKER.to_owned(), "1".into()),
    ];
    // An empty value means "no wrapper" to cargo.
    let user = ["RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER"]
        .into_iter()
        .find_map(|k| get(k).filter(|v| !v.is_empty()));
    env.push((INNER.to_owned(), user.unwrap_or_default().into()));
    env
}

/// The command the wrapper runs for cargo's `args` (this program, rustc,
/// rustc's arguments), with the user's wrapper `inner` if not empty.
pub fn command(args: &[OsString], inner: Option<&OsString>) -> Option<Command> {
    let rest = args.get(1..).filter(|rest| !rest.is_empty())?;
    let mut cmd = match inner.filter(|w| !w.is_empty()) {
        Some(wrapper) => {
            let mut cmd = Command::new(wrapper);
            cmd.args(rest);
            cmd
        }
        None => {
            let mut cmd = Command::new(&rest[0]);
            cmd.args(&rest[1..]);
            cmd
        }
    };
    cmd.args(FLAGS);
    Some(cmd)
}

/// Runs as the wrapper when cargo started this process as one; `None`
/// otherwise (an ordinary `cargo leakcheck` command line).
pub fn run_if_wrapping(args: &[OsString]) -> Option<i32> {
    std::env::var_os(MARKER).filter(|v| v == "1")?;
    let inner = std::env::var_os(INNER);
    let Some(cmd) = command(args, inner.as_ref()) else {
        eprintln!("error: cargo-leakcheck was run as a rustc wrapper without a rustc to run");
        return Some(crate::errors::exit_codes::USAGE);
    };
    // rustc's own arguments: after the program (and the user's wrapper).
    let rustc_args = args.get(2..).unwrap_or_default();
    let primary = std::env::var_os("CARGO_PRIMARY_PACKAGE").is_some();
    let runtime = (
        std::env::var_os(inject::RLIB),
        std::env::var_os(inject::DEPS),
        std::env::var_os(inject::NOTES),
    );
    // The test sources and the directory are read only when there is a
    // runtime to inject: most rustc processes of a build are dependencies.
    let cwd = || std::env::current_dir().unwrap_or_default();
    let wanted = || {
        let tests = inject::test_sources(&std::env::var_os(inject::TESTS).unwrap_or_default());
        inject::wanted(rustc_args, primary, &cwd(), &tests)
    };
    if let (Some(rlib), Some(deps), Some(notes)) = runtime
        && wanted()
    {
        let route = std::env::var_os(inject::ROUTE);
        let injection = Injection {
            rlib: rlib.into(),
            deps: deps.into(),
            notes: notes.into(),
            cwd: cwd(),
            copy_only: route.is_some_and(|r| r == "copy"),
        };
        // The same program (and user's wrapper) for other rustc arguments.
        let rebuild = |rustc: &[OsString]| {
            let full: Vec<OsString> = args[..2].iter().chain(rustc).cloned().collect();
            command(&full, inner.as_ref()).expect("a rustc to run")
        };
        return Some(injection.run(cmd, rustc_args, rebuild));
    }
    Some(exec(cmd))
}

/// What the wrapper needs to link the runtime into one test crate.
struct Injection {
    rlib: PathBuf,
    deps: PathBuf,
    notes: PathBuf,
    cwd: PathBuf,
    /// Take the stable route (a copy of the crate root) from the start.
    copy_only: bool,
}

/// How one rustc process with the runtime ended.
enum Attempt {
    Built(Output),
    /// The crate has a `#[global_allocator]` of its own.
    Conflict,
    /// rustc refused `--extern force:` (or the unstable option).
    Refused,
    Failed(Output),
}

impl Injection {
    /// Runs rustc with the runtime linked in (its diagnostics held until
    /// it is known whether they are the crate's or the injection's): by
    /// `--extern force:`, or where rustc refuses that, by a copy of the
    /// crate root that names the runtime. When the crate has a
    /// `#[global_allocator]` of its own, or cannot take the runtime
    /// (`#![no_std]`, `#![no_main]`), rustc runs again as the user's build
    /// would, and a note says why the binary measures nothing.
    fn run(
        &self,
        cmd: Command,
        rustc_args: &[OsString],
        rebuild: impl Fn(&[OsString]) -> Command,
    ) -> i32 {
        let plain = clone_command(&cmd);
        let binary = inject::output_file(rustc_args);
        let notes = binary
            .as_deref()
            .map(|b| inject::Notes::new(&self.notes, b));
        if let Some(notes) = &notes {
            notes.clear();
        }
        let root = inject::root_source(rustc_args, &self.cwd)
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        let links_rt = inject::links_leakcheck(rustc_args);
        if links_rt && root.contains("install!(") {
            // It installs leakcheck itself: its version, once.
            return exec(plain);
        }
        if let Some(reason) = inject::unsuited(&root, inject::harness(rustc_args)) {
            let code = exec_status(plain);
            if code == 0
                && let (Some(notes), Some(binary)) = (&notes, &binary)
            {
                notes.not_checked(binary, reason);
            }
            return code;
        }
        let mut attempt = Attempt::Refused;
        if !self.copy_only {
            let mut forced = clone_command(&cmd);
            forced
                .args(inject::injected_args(&self.rlib, &self.deps))
                // Unstable options for this one rustc process: not for
                // build scripts or dependencies, which never come here.
                .env("RUSTC_BOOTSTRAP", "1");
            attempt = self.attempt(forced);
        }
        if matches!(attempt, Attempt::Refused) {
            attempt = self.by_copy(rustc_args, binary.as_deref(), &rebuild);
        }
        match attempt {
            Attempt::Built(output) => {
                if let Some(binary) = &binary {
                    inject::depend_on_runtime(binary, &self.rlib);
                }
                let _ = std::io::stderr().write_all(&output.stderr);
                0
            }
            Attempt::Conflict => {
                let code = exec_status(plain);
                let site = binary.as_deref().and_then(inject::own_allocator_site);
                // A `TrackingAllocator` of the crate's own, or `install!()`
                // in a file other than the root: leakcheck, installed.
                let leakcheck = site
                    .as_deref()
                    .is_none_or(|s| s.contains("TrackingAllocator"));
                if code == 0
                    && !(links_rt && leakcheck)
                    && let (Some(notes), Some(binary)) = (&notes, &binary)
                {
                    notes.own_allocator(binary, site.as_deref().unwrap_or_default());
                }
                code
            }
            // No route in: the crate is built as it is, and runs unchecked.
            Attempt::Refused => exec(plain),
            // The crate's own errors, or the runtime's: rustc again as the
            // user's build runs it tells them apart, and shows the crate's
            // own diagnostics if they are its.
            Attempt::Failed(output) => {
                let code = exec_status(plain);
                if code == 0
                    && let (Some(notes), Some(binary)) = (&notes, &binary)
                {
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    notes.not_checked(binary, &inject::refusal(&stderr));
                }
                code
            }
        }
    }

    /// The stable route: rustc compiles a copy of the crate root that
    /// names the runtime ([`shadow`]).
    fn by_copy(
        &self,
        rustc_args: &[OsString],
        binary: Option<&Path>,
        rebuild: &impl Fn(&[OsString]) -> Command,
    ) -> Attempt {
        let roots = inject::roots_dir(&self.notes);
        let name = binary
            .and_then(Path::file_name)
            .unwrap_or(OsStr::new("crate"));
        let shadow = match Shadow::create(rustc_args, &self.cwd, &roots, name) {
            Ok(shadow) => shadow,
            Err(err) => {
                eprintln!(
                    "warning: leakcheck could not copy the crate root into {}: {err}; \
                     the crate runs unchecked",
                    roots.display()
                );
                return Attempt::Refused;
            }
        };
        let mut cmd = rebuild(shadow.args());
        cmd.args(inject::extern_args(&self.rlib, &self.deps));
        let attempt = self.attempt(cmd);
        if let Some(binary) = binary {
            shadow.rewrite_dep_info(&binary.with_extension("d"));
        }
        attempt
    }

    /// Runs `cmd`, its diagnostics held.
    fn attempt(&self, mut cmd: Command) -> Attempt {
        let output = match cmd.stderr(Stdio::piped()).output() {
            Ok(output) => output,
            Err(err) => {
                eprintln!("error: failed to run {:?}: {err}", cmd.get_program());
                return Attempt::Refused;
            }
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            Attempt::Built(output)
        } else if inject::has_own_allocator(&stderr) {
            Attempt::Conflict
        } else if stderr.contains("unstable-options") || stderr.contains("force:") {
            Attempt::Refused
        } else {
            Attempt::Failed(output)
        }
    }
}

/// A copy of `cmd`: its program, arguments and environment.
fn clone_command(cmd: &Command) -> Command {
    let mut copy = Command::new(cmd.get_program());
    copy.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => copy.env(k, v),
            None => copy.env_remove(k),
        };
    }
    copy
}

/// Runs `cmd` to its end; its exit code.
fn exec_status(mut cmd: Command) -> i32 {
    match cmd.status() {
        Ok(status) => status.code().unwrap_or(1),
        Err(err) => {
            eprintln!("error: failed to run {:?}: {err}", cmd.get_program());
            crate::errors::exit_codes::USAGE
        }
    }
}

#[cfg(unix)]
fn exec(mut cmd: Command) -> i32 {
    use std::os::unix::process::CommandExt;
    // Only returns on failure.
    let err = cmd.exec();
    eprintln!("error: failed to run {:?}: {err}", cmd.get_program());
    crate::errors::exit_codes::USAGE
}

#[cfg(not(unix))]
fn exec(cmd: Command) -> i32 {
    exec_status(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(cmd: &Command) -> (OsString, Vec<OsString>) {
        (
            cmd.get_program().to_owned(),
            cmd.get_args().map(|a| a.to_owned()).collect(),
        )
    }

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_flag_goes_last_on_rustcs_command_line() {
        let args = os(&[
            "cargo-leakcheck",
            "/bin/rustc",
            "--crate-name",
            "a",
            "-C",
            "force-frame-pointers=no",
        ]);
        let (program, rest) = parts(&command(&args, None).unwrap());
        assert_eq!(program, "/bin/rustc");
        assert_eq!(
            rest,
            os(&[
                "--crate-name",
                "a",
                "-C",
                "force-frame-pointers=no",
                "-C",
                "force-frame-pointers=yes"
            ])
        );
        let empty = OsString::new();
        assert_eq!(
            parts(&command(&args, Some(&empty)).unwrap()).0,
            "/bin/rustc"
        );
    }

    #[test]
    fn the_users_wrapper_runs_rustc_with_the_flag() {
        let args = os(&["cargo-leakcheck", "rustc", "-vV"]);
        let sccache = OsString::from("sccache");
        let (program, rest) = parts(&command(&args, Some(&sccache)).unwrap());
        assert_eq!(program, "sccache");
        assert_eq!(
            rest,
            os(&["rustc", "-vV", "-C", "force-frame-pointers=yes"])
        );
        assert!(command(&os(&["cargo-leakcheck"]), None).is_none());
    }

    #[test]
    fn the_environment_names_this_program_and_keeps_the_users_wrapper() {
        let exe = OsString::from("/x/cargo-leakcheck");
        let get = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let env_of = |vars| -> Vec<(String, OsString)> { env(&exe, get(vars)) };
        let plain = env_of(&[]);
        assert!(plain.contains(&("RUSTC_WRAPPER".into(), exe.clone())));
        assert!(plain.contains(&("CARGO_BUILD_RUSTC_WRAPPER".into(), exe.clone())));
        assert!(plain.contains(&(MARKER.into(), "1".into())));
        assert!(plain.contains(&(INNER.into(), "".into())));
        let with = env_of(&[("RUSTC_WRAPPER", "sccache")]);
        assert!(with.contains(&(INNER.into(), "sccache".into())));
        let cargo_var = env_of(&[
            ("RUSTC_WRAPPER", ""),
            ("CARGO_BUILD_RUSTC_WRAPPER", "cachepot"),
        ]);
        assert!(cargo_var.contains(&(INNER.into(), "cachepot".into())));
    }
}
