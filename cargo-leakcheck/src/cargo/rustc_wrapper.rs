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
use std::path::Path;
use std::process::{Command, Stdio};

use super::inject;

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
    let wanted = || {
        let tests = inject::test_sources(&std::env::var_os(inject::TESTS).unwrap_or_default());
        let cwd = std::env::current_dir().unwrap_or_default();
        inject::wanted(rustc_args, primary, &cwd, &tests)
    };
    if let (Some(rlib), Some(deps), Some(notes)) = runtime
        && wanted()
    {
        return Some(run_injected(
            cmd,
            rustc_args,
            &rlib,
            &deps,
            Path::new(&notes),
        ));
    }
    Some(exec(cmd))
}

/// Runs rustc with the runtime linked in (its diagnostics held until it
/// is known whether they are the crate's or the injection's). When the
/// crate has a `#[global_allocator]` of its own, or rustc refuses the
/// unstable option, rustc runs again as the user's build would, and a
/// note says which binary has its own allocator.
fn run_injected(
    mut cmd: Command,
    rustc_args: &[OsString],
    rlib: &OsStr,
    deps: &OsStr,
    notes: &Path,
) -> i32 {
    let plain = clone_command(&cmd);
    let binary = inject::output_file(rustc_args);
    let note = binary.as_deref().and_then(|b| inject::note_path(notes, b));
    cmd.args(inject::injected_args(rlib, deps))
        // Unstable options for this one rustc process: not for build
        // scripts or dependencies, which never come here.
        .env("RUSTC_BOOTSTRAP", "1")
        .stderr(Stdio::piped());
    let output = match cmd.output() {
        Ok(output) => output,
        Err(err) => {
            eprintln!("error: failed to run {:?}: {err}", cmd.get_program());
            return crate::errors::exit_codes::USAGE;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        if let Some(note) = &note {
            let _ = std::fs::remove_file(note);
        }
        if let Some(binary) = &binary {
            inject::depend_on_runtime(binary, Path::new(rlib));
        }
        let _ = std::io::stderr().write_all(&output.stderr);
        return output.status.code().unwrap_or(1);
    }
    if inject::has_own_allocator(&stderr) {
        let code = exec_status(plain);
        if code == 0
            && let (Some(note), Some(binary)) = (&note, &binary)
        {
            let site = inject::own_allocator_site(binary).unwrap_or_default();
            let _ = std::fs::write(note, format!("{}\n{site}\n", binary.display()));
        }
        return code;
    }
    if stderr.contains("unstable-options") || stderr.contains("force:") {
        // A rustc that refuses `--extern force:`: the crate is built as it
        // is, and runs unchecked.
        return exec(plain);
    }
    let _ = std::io::stderr().write_all(&output.stderr);
    output.status.code().unwrap_or(1)
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
