//! Building the test targets: `cargo test --no-run`, with frame pointers
//! and line tables, in leakcheck's own target directory.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use cargo_metadata::{Artifact, Message};

use super::inject;
use super::rustc_wrapper;
use super::workspace::Workspace;
use crate::binary_id::binary_id;
use crate::cli::{ColorChoice, Verbosity};
use crate::errors::Error;
use crate::run::TestBinary;
use crate::settings::BuildSettings;

/// The `cargo test --no-run` command line, without the program.
pub fn cargo_args(opts: &BuildSettings, ws: &Workspace, color: ColorChoice) -> Vec<OsString> {
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
    args.push(build_dir(opts, &ws.target_dir).into());
    match opts.verbosity {
        Verbosity::Quiet => args.push("--quiet".into()),
        Verbosity::Normal => {}
        Verbosity::Verbose => {
            let v = "v".repeat(usize::from(opts.verbose.min(2)));
            args.push(format!("-{v}").into());
        }
    }
    args.extend(opts.cargo_args.iter().map(OsString::from));
    args.extend(optimised_runtime(profile_name(opts)).map(OsString::from));
    args
}

/// Where the test targets are built: leakcheck's target directory, or for
/// `--no-inject` and `--native` a directory of their own beside it (cargo
/// cannot tell a binary built with the runtime, or with the `malloc` front
/// end, from one built without).
pub fn build_dir(opts: &BuildSettings, target_dir: &std::path::Path) -> std::path::PathBuf {
    match (opts.inject, opts.native) {
        (true, false) => target_dir.to_owned(),
        (false, false) => target_dir.join("no-inject"),
        (true, true) => target_dir.join("native"),
        (false, true) => target_dir.join("native-no-inject"),
    }
}

/// The flags `--native` adds to C and C++ compilers that build scripts run
/// (the `cc` crate reads `CFLAGS` and `CXXFLAGS`; a flag of the rustc
/// wrapper never reaches them): frame pointers, which the stack walk
/// follows through C frames, and line tables, which name their lines.
pub const NATIVE_CFLAGS: &str = "-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -g";

/// The crates built optimised whatever the profile: the tracker's hot path
/// (leakcheck-rt and its engine) and the symbolisation behind every report (backtrace and
/// the DWARF and object readers under it). Unoptimised, a tracked
/// allocation costs several times an untracked one and reading the debug
/// info takes seconds. The user's own crates keep the profile's settings:
/// their line tables and frame pointers are what reports are made of.
pub const OPTIMISED_PACKAGES: [&str; 9] = [
    "leakcheck-rt",
    "leakcheck-engine",
    "backtrace",
    "addr2line",
    "gimli",
    "object",
    "miniz_oxide",
    "adler2",
    "rustc-demangle",
];

/// The profile cargo builds the tests in: `--profile`, `release` for
/// `--release`, else `test` (which inherits `dev`, and builds the
/// dependencies too).
pub fn profile_name(opts: &BuildSettings) -> &str {
    opts.profile.as_deref().unwrap_or("test")
}

/// `--config` arguments setting `opt-level = 3` for
/// [`OPTIMISED_PACKAGES`] in `profile`. Package overrides merge with the
/// user's `[profile]` tables: every other setting stays theirs.
pub fn optimised_runtime(profile: &str) -> impl Iterator<Item = String> + '_ {
    OPTIMISED_PACKAGES.iter().flat_map(move |package| {
        [
            "--config".to_owned(),
            format!("profile.{profile}.package.{package}.opt-level=3"),
        ]
    })
}

/// The environment of the build: line tables kept in optimised profiles so
/// the report can name lines, with the functions' linkage names
/// (`limited`, not `line-tables-only`, whose names are bare: a test function
/// inlined into libtest's closure would be `plain_01`, not
/// `suite::plain_01`, and no session memory could be told a test's).
/// (Frame pointers come from the rustc wrapper, see
/// [`super::rustc_wrapper`].)
///
/// `get` reads the current environment (a parameter for the tests).
pub fn cargo_env(
    opts: &BuildSettings,
    get: impl Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if opts.native {
        // The engine's build script compiles its `malloc` front end in.
        env.push(("LEAKCHECK_NATIVE".into(), "1".into()));
        for var in ["CFLAGS", "CXXFLAGS"] {
            let value = match get(var).filter(|v| !v.trim().is_empty()) {
                Some(theirs) => format!("{theirs} {NATIVE_CFLAGS}"),
                None => NATIVE_CFLAGS.to_owned(),
            };
            env.push((var.into(), value));
        }
    }
    let profile = profile_name(opts);
    // The dev and test profiles already have full debug info.
    if !matches!(profile, "dev" | "test") {
        let var = format!(
            "CARGO_PROFILE_{}_DEBUG",
            profile.to_uppercase().replace('-', "_")
        );
        if get(&var).is_none() {
            env.push((var, "limited".into()));
        }
    }
    env
}

/// Builds the test targets; returns the test binaries, sorted by name, and
/// the native libraries build scripts linked (see [`collect`]).
pub fn build(
    opts: &BuildSettings,
    ws: &Workspace,
    cargo: &OsStr,
    color: ColorChoice,
) -> Result<(Vec<TestBinary>, Vec<String>), Error> {
    let spawn_error = |source| Error::CargoSpawn {
        program: cargo.to_string_lossy().into_owned(),
        source,
    };
    let exe = std::env::current_exe().map_err(|e| {
        Error::Build(format!(
            "failed to find the cargo-leakcheck executable: {e}"
        ))
    })?;
    let mut env: Vec<(String, OsString)> = cargo_env(opts, |k| std::env::var(k).ok())
        .into_iter()
        .map(|(k, v)| (k, v.into()))
        .collect();
    forget_other_wrappers_builds(opts, ws, cargo, &exe);
    env.extend(rustc_wrapper::env(&exe.into_os_string(), |k| {
        std::env::var(k).ok()
    }));
    // A workspace that installs leakcheck in every test crate needs no
    // runtime of leakcheck's: the wrapper would leave every crate as it is.
    let runtime = if opts.inject && !ws.installs_itself {
        let dir = build_dir(opts, &ws.target_dir).join("inject");
        let quiet = opts.verbosity == Verbosity::Quiet;
        Some(inject::prepare(
            cargo,
            &dir,
            &runtime_args(opts),
            &env,
            quiet,
        )?)
    } else {
        None
    };
    let mut command = Command::new(cargo);
    command
        .args(cargo_args(opts, ws, color))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .envs(runtime.iter().flat_map(|r| r.env(&ws.test_sources)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // cargo renders its progress and diagnostics on stderr itself.
        .stderr(Stdio::inherit());
    // In a process group of its own, stopped with its rustc jobs on SIGINT
    // or SIGTERM.
    let (mut child, _group) = crate::run::interrupt::spawn(&mut command).map_err(spawn_error)?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (mut binaries, native) = collect(BufReader::new(stdout), ws);
    let status = child.wait().map_err(spawn_error)?;
    if !status.success() {
        return Err(Error::Build(format!("`cargo test --no-run` {status}")));
    }
    if let Some(runtime) = &runtime {
        let own = inject::own_allocators(&runtime.notes);
        let unsuited = inject::not_checked(&runtime.notes);
        for bin in &mut binaries {
            bin.not_checked = unsuited
                .iter()
                .find(|(path, _)| *path == bin.path)
                .map(|(_, why)| why.clone());
            bin.own_allocator = own
                .iter()
                .find(|(path, _)| *path == bin.path)
                .map(|(_, site)| relative_site(site, &ws.root));
        }
    }
    Ok((binaries, native))
}

/// Cleans the workspace members' own artifacts from the build directory
/// when they were built by another cargo-leakcheck executable (an upgrade,
/// a rebuild): what the rustc wrapper decided for each test crate (the
/// runtime in or not, a note) is not part of cargo's fingerprint, so
/// cargo would keep the old decisions. Dependencies stay built. The
/// executable is told by its size and modification time, recorded per
/// workspace (target directories can be shared).
fn forget_other_wrappers_builds(
    opts: &BuildSettings,
    ws: &Workspace,
    cargo: &OsStr,
    exe: &std::path::Path,
) {
    use std::hash::{Hash, Hasher};
    let dir = build_dir(opts, &ws.target_dir);
    let Ok(meta) = std::fs::metadata(exe) else {
        return;
    };
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let stamp = format!("{} {modified}\n", meta.len());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    ws.root.hash(&mut hasher);
    let file = dir.join(format!(".wrapper-{:016x}", hasher.finish()));
    if std::fs::read_to_string(&file).is_ok_and(|old| old == stamp) {
        return;
    }
    if dir.exists() {
        let mut clean = Command::new(cargo);
        clean
            .args(["clean", "--quiet", "--target-dir"])
            .arg(&dir)
            .args(
                opts.manifest_path
                    .iter()
                    .flat_map(|m| [OsStr::new("--manifest-path"), m.as_os_str()]),
            )
            .args(&opts.lock_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut members: Vec<&String> = ws.packages.values().map(|(name, _)| name).collect();
        members.sort();
        members.dedup();
        for member in members {
            clean.args(["-p", member]);
        }
        let _ = clean.status();
    }
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(&file, stamp);
}

/// The flags of the runtime's own build: the test binaries' profile and
/// target, `--offline`, and the optimised runtime.
pub fn runtime_args(opts: &BuildSettings) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--profile".into(), profile_name(opts).into()];
    if let Some(i) = opts.cargo_args.iter().position(|a| a == "--target")
        && let Some(target) = opts.cargo_args.get(i + 1)
    {
        args.extend(["--target".into(), target.into()]);
    }
    // Not `--locked`: the runtime's lockfile is leakcheck's own, trimmed to
    // what the runtime needs on its first build.
    if opts
        .lock_args
        .iter()
        .any(|a| a == "--offline" || a == "--frozen")
    {
        args.push("--offline".into());
    }
    args.extend(optimised_runtime(profile_name(opts)).map(OsString::from));
    args
}

/// `site` (`file:line: static …`) with its file relative to `root`.
fn relative_site(site: &str, root: &std::path::Path) -> String {
    let root = format!("{}/", root.display());
    site.strip_prefix(root.as_str()).unwrap_or(site).to_owned()
}

/// The test executables among cargo's JSON messages, and the native
/// libraries that build scripts linked (`static=store`), by package name.
pub fn collect(messages: impl BufRead, ws: &Workspace) -> (Vec<TestBinary>, Vec<String>) {
    let mut artifacts: Vec<Artifact> = Vec::new();
    let mut native = Vec::new();
    for message in Message::parse_stream(messages).filter_map(Result::ok) {
        match message {
            Message::CompilerArtifact(a) if a.profile.test && a.executable.is_some() => {
                artifacts.push(a)
            }
            Message::BuildScriptExecuted(script) if !script.linked_libs.is_empty() => {
                let package = ws
                    .packages
                    .get(&script.package_id)
                    .map(|(name, _)| name.clone())
                    .unwrap_or_else(|| script.package_id.repr.clone());
                for lib in &script.linked_libs {
                    native.push(format!("{package}: {lib}"));
                }
            }
            _ => {}
        }
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
            let kind = a
                .target
                .kind
                .first()
                .map(|k| k.to_string())
                .unwrap_or_default();
            TestBinary {
                name: binary_id(&package, &kind, &a.target.name),
                path: a
                    .executable
                    .clone()
                    .expect("filtered above")
                    .into_std_path_buf(),
                package,
                package_root: root,
                own_allocator: None,
                not_checked: None,
            }
        })
        .collect();
    binaries.sort_by(|a, b| a.name.cmp(&b.name));
    binaries.dedup_by(|a, b| a.path == b.path);
    native.sort();
    native.dedup();
    (binaries, native)
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
