//! Building the test targets: `cargo test --no-run`, with frame pointers
//! and line tables, in leakcheck's own target directory.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use cargo_metadata::{Artifact, Message};

use super::workspace::Workspace;
use crate::cli::{ColorChoice, Opts, Verbosity};
use crate::errors::Error;
use crate::run::TestBinary;

/// leakcheck walks frame pointers to record a call stack per allocation.
const FRAME_POINTERS: &str = "force-frame-pointers=yes";

/// The `cargo test --no-run` command line, without the program.
pub fn cargo_args(opts: &Opts, ws: &Workspace, color: ColorChoice) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "test",
        "--no-run",
        "--message-format=json-render-diagnostics",
        "--color",
        color.as_str(),
    ]
    .map(OsString::from)
    .to_vec();
    args.push("--target-dir".into());
    args.push(ws.target_dir.clone().into());
    match opts.verbosity() {
        Verbosity::Quiet => args.push("--quiet".into()),
        Verbosity::Normal => {}
        Verbosity::Verbose => {
            let v = "v".repeat(usize::from(opts.output.verbose.min(2)));
            args.push(format!("-{v}").into());
        }
    }
    args.extend(opts.selection.cargo_args().into_iter().map(OsString::from));
    args.extend(opts.build.cargo_args().into_iter().map(OsString::from));
    args
}

/// The environment of the build: frame pointers added to the user's
/// rustflags variable if one is set, and line tables kept
/// in optimised profiles so the report can name lines.
///
/// `get` reads the current environment (a parameter for the tests).
pub fn cargo_env(opts: &Opts, get: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    let mut env = Vec::new();
    match get("CARGO_ENCODED_RUSTFLAGS") {
        // cargo prefers this one when it is set, even empty.
        Some(encoded) => {
            let mut flags: Vec<&str> = encoded.split('\x1f').filter(|f| !f.is_empty()).collect();
            flags.extend(["-C", FRAME_POINTERS]);
            env.push(("CARGO_ENCODED_RUSTFLAGS".into(), flags.join("\x1f")));
        }
        None => {
            // Without either variable the flag goes in as `--config` (see
            // `frame_pointer_config`), which adds to the configured flags.
            if let Some(user) = get("RUSTFLAGS") {
                let flags = format!("{} -C {FRAME_POINTERS}", user.trim())
                    .trim()
                    .to_owned();
                env.push(("RUSTFLAGS".into(), flags));
            }
        }
    }
    let profile = match (&opts.build.profile, opts.build.release) {
        (Some(p), _) => Some(p.as_str()),
        (None, true) => Some("release"),
        (None, false) => None,
    };
    // The dev and test profiles already have full debug info.
    if let Some(profile) = profile.filter(|p| !matches!(*p, "dev" | "test")) {
        let var = format!(
            "CARGO_PROFILE_{}_DEBUG",
            profile.to_uppercase().replace('-', "_")
        );
        if get(&var).is_none() {
            env.push((var, "line-tables-only".into()));
        }
    }
    env
}

/// `--config` for the frame-pointer flag when no rustflags variable is set:
/// cargo joins it to `build.rustflags` from the user's config files, where
/// setting `RUSTFLAGS` would replace them.
pub fn frame_pointer_config(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    (get("RUSTFLAGS").is_none() && get("CARGO_ENCODED_RUSTFLAGS").is_none())
        .then(|| format!("build.rustflags=[\"-C\", \"{FRAME_POINTERS}\"]"))
}

/// Builds the test targets; returns the test binaries, sorted by name.
pub fn build(
    opts: &Opts,
    ws: &Workspace,
    cargo: &OsStr,
    color: ColorChoice,
) -> Result<Vec<TestBinary>, Error> {
    let spawn_error = |source| Error::CargoSpawn {
        program: cargo.to_string_lossy().into_owned(),
        source,
    };
    let mut args = cargo_args(opts, ws, color);
    if let Some(config) = frame_pointer_config(|k| std::env::var(k).ok()) {
        args.extend(["--config".into(), config.into()]);
    }
    let mut command = Command::new(cargo);
    command
        .args(args)
        .envs(cargo_env(opts, |k| std::env::var(k).ok()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // cargo renders its progress and diagnostics on stderr itself.
        .stderr(Stdio::inherit());
    // In a process group of its own, stopped with its rustc jobs on SIGINT
    // or SIGTERM.
    let (mut child, _group) = crate::run::interrupt::spawn(&mut command).map_err(spawn_error)?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let binaries = collect(BufReader::new(stdout), ws);
    let status = child.wait().map_err(spawn_error)?;
    if !status.success() {
        return Err(Error::Build(format!("`cargo test --no-run` {status}")));
    }
    Ok(binaries)
}

/// The test executables among cargo's JSON messages.
pub fn collect(messages: impl BufRead, ws: &Workspace) -> Vec<TestBinary> {
    let artifacts: Vec<Artifact> = Message::parse_stream(messages)
        .filter_map(|m| match m {
            Ok(Message::CompilerArtifact(a)) if a.profile.test && a.executable.is_some() => Some(a),
            _ => None,
        })
        .collect();
    let mut name_uses: HashMap<&str, usize> = HashMap::new();
    for a in &artifacts {
        *name_uses.entry(a.target.name.as_str()).or_default() += 1;
    }
    let mut binaries: Vec<TestBinary> = artifacts
        .iter()
        .map(|a| {
            let (package, member_root) = ws.packages.get(&a.package_id).cloned().unzip();
            let root = match a.manifest_path.parent() {
                Some(dir) if !dir.as_str().is_empty() => dir.as_std_path().to_owned(),
                _ => member_root.unwrap_or_else(|| ws.root.clone()),
            };
            let package = package.unwrap_or_else(|| a.target.name.clone());
            // Two targets of one name (a lib and a bin, or two packages'
            // `tests/api.rs`) are told apart as nextest does.
            let name = if name_uses[a.target.name.as_str()] > 1 {
                let kind = a
                    .target
                    .kind
                    .first()
                    .map(|k| k.to_string())
                    .unwrap_or_default();
                format!("{package}::{kind}/{}", a.target.name)
            } else {
                a.target.name.clone()
            };
            TestBinary {
                name,
                path: a
                    .executable
                    .clone()
                    .expect("filtered above")
                    .into_std_path_buf(),
                package,
                package_root: root,
            }
        })
        .collect();
    binaries.sort_by(|a, b| a.name.cmp(&b.name));
    binaries.dedup_by(|a, b| a.path == b.path);
    binaries
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
