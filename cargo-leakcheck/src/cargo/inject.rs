//! The tracker in test binaries whose crate does not depend on leakcheck:
//! a runtime crate (`leakcheck_rt::install!()` and nothing else) built
//! once per toolchain, target and profile in `<target dir>/inject`, and
//! linked into each test crate of the selected packages by the rustc
//! wrapper with `--extern force:` (rustc's way to link a crate that the
//! code never names, made for a `#[global_allocator]`).
//!
//! ```text
//!  cargo leakcheck ──► cargo build  <target>/inject/Cargo.toml  ──► libleakcheck_inject.rlib
//!                  ──► cargo test --no-run, rustc wrapped:
//!                        a test crate of a selected package (`--test`, or a `harness = false` test)
//!                          root says `install!(` and links leakcheck-rt ──► rustc, unchanged
//!                          `#![no_std]` / `#![no_main]` root ──► rustc, unchanged; a note: why
//!                          ──► rustc … -Z unstable-options --extern force:leakcheck_inject=…
//!                              (RUSTC_BOOTSTRAP=1 for that one rustc process)
//!                          ──► refused ──► rustc on a copy of the root ending in
//!                              `extern crate leakcheck_inject as _;` (see `shadow`)
//!                          ──► "conflicts with global allocator" ──► rustc again, unchanged;
//!                              a note: the binary has its own allocator, at file:line
//!                              (none when it is leakcheck's own, installed in another file)
//!                        anything else ──► rustc, unchanged
//! ```
//!
//! Nothing is written into the user's tree: the runtime crate, the notes
//! and the copies of crate roots live under leakcheck's own target
//! directory.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::errors::Error;

/// The injected runtime's rlib, for the wrapper.
pub const RLIB: &str = "LEAKCHECK_INJECT_RLIB";
/// The directory of the runtime's own dependencies, for the wrapper.
pub const DEPS: &str = "LEAKCHECK_INJECT_DEPS";
/// Where the wrapper leaves a note per binary it could not inject into.
pub const NOTES: &str = "LEAKCHECK_INJECT_NOTES";
/// The integration tests' source files, one per line: a `harness = false`
/// test is built without `--test`, like the package's binaries.
pub const TESTS: &str = "LEAKCHECK_INJECT_TESTS";
/// `copy` takes the stable route from the start ([`super::shadow`]);
/// otherwise it is taken where rustc refuses `--extern force:`.
pub const ROUTE: &str = "LEAKCHECK_INJECT_ROUTE";

/// The crate name the runtime is linked under.
const CRATE: &str = "leakcheck_inject";
/// What rustc says when the test crate has a `#[global_allocator]` too.
const CONFLICT: &str = "conflicts with global allocator in: leakcheck_inject";
/// The suffix of a note file: `<binary file name>.own-allocator`.
const OWN_ALLOCATOR: &str = ".own-allocator";
/// The suffix of a note on a crate the runtime cannot go into.
const NOT_CHECKED: &str = ".not-checked";

/// The leakcheck-rt this cargo-leakcheck was built beside: the injected
/// runtime is built from its source.
fn runtime_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../leakcheck-rt")
}

/// The runtime, built; what the wrapper needs to link it.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub rlib: PathBuf,
    pub deps: PathBuf,
    pub notes: PathBuf,
}

impl Runtime {
    /// The environment that tells the wrapper to inject it, into libtest
    /// harnesses and into the integration tests whose sources are `tests`.
    pub fn env(&self, tests: &[PathBuf]) -> Vec<(&'static str, OsString)> {
        let mut sources = OsString::new();
        for (i, test) in tests.iter().enumerate() {
            if i > 0 {
                sources.push("\n");
            }
            sources.push(test);
        }
        vec![
            (RLIB, self.rlib.clone().into()),
            (DEPS, self.deps.clone().into()),
            (NOTES, self.notes.clone().into()),
            (TESTS, sources),
        ]
    }
}

/// The runtime crate's manifest: leakcheck-rt without its default
/// features (a session needs only the allocator).
fn manifest(source: &Path) -> String {
    let path = source.display().to_string().replace('\\', "/");
    format!(
        "[package]\nname = \"leakcheck-inject\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [lib]\npath = \"lib.rs\"\n\n\
         [dependencies]\nleakcheck-rt = {{ path = {path:?}, default-features = false }}\n\n\
         [workspace]\n"
    )
}

const LIB_RS: &str = "//! Written by cargo-leakcheck: the tracker, linked into test binaries\n\
//! whose crate does not install it.\n\
leakcheck_rt::install!();\n";

/// Writes the runtime crate under `dir` (only what changed, so cargo's
/// fingerprints hold) and builds it with `build_args` (profile, target,
/// lock flags) and `env` (the rustc wrapper's); returns where it is. Its
/// first build says so and shows cargo's progress (unless `quiet`); later
/// ones are silent.
pub fn prepare(
    cargo: &OsStr,
    dir: &Path,
    build_args: &[OsString],
    env: &[(String, OsString)],
    quiet: bool,
) -> Result<Runtime, Error> {
    let fail = |what: String| Error::Build(format!("leakcheck's injected runtime: {what}"));
    let source = runtime_source();
    if !source.join("Cargo.toml").is_file() {
        return Err(fail(format!(
            "its source is not at {} (cargo-leakcheck is used beside the leakcheck \
             checkout it was installed from); pass --no-inject to check only binaries \
             that install leakcheck themselves",
            source.display()
        )));
    }
    std::fs::create_dir_all(dir.join("notes")).map_err(|e| fail(e.to_string()))?;
    super::shadow::remove_stale(&roots_dir(&dir.join("notes")));
    write_if_changed(&dir.join("Cargo.toml"), &manifest(&source))
        .map_err(|e| fail(e.to_string()))?;
    write_if_changed(&dir.join("lib.rs"), LIB_RS).map_err(|e| fail(e.to_string()))?;
    // The versions leakcheck was tested with, where the lockfile is there.
    let lock = source.join("../Cargo.lock");
    if !dir.join("Cargo.lock").exists() && lock.is_file() {
        let _ = std::fs::copy(&lock, dir.join("Cargo.lock"));
    }
    let first = !dir.join("target").exists();
    if first && !quiet {
        eprintln!(
            "{:>12} leakcheck's runtime, once for this target directory \
             (linked into test binaries that do not install leakcheck)",
            "Building"
        );
    }
    let mut command = Command::new(cargo);
    command
        .args(["build", "--lib", "--message-format=json"])
        .args((!first || quiet).then_some("--quiet"))
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .args(build_args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_os_str())))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let rlib = super::artifact::build(&mut command, CRATE, "rlib").map_err(fail)?;
    let parent = rlib.parent().unwrap_or(Path::new("."));
    let deps = if parent.ends_with("deps") {
        parent.to_owned()
    } else {
        parent.join("deps")
    };
    Ok(Runtime {
        rlib,
        deps,
        notes: dir.join("notes"),
    })
}

fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text)
}

/// The value after `flag` in rustc's arguments (`--flag value`), or in
/// `--flag=value` form.
fn value<'a>(args: &'a [OsString], flag: &str) -> impl Iterator<Item = &'a str> + 'a {
    let prefix = format!("{flag}=");
    let flag = flag.to_owned();
    args.iter().enumerate().filter_map(move |(i, a)| {
        let a = a.to_str()?;
        if a == flag {
            args.get(i + 1)?.to_str()
        } else {
            a.strip_prefix(prefix.as_str())
        }
    })
}

/// Whether the rustc command line `args` (rustc's own, without the
/// program, run in `cwd`) builds a test crate that gets the runtime: a
/// libtest harness (`--test`), or an integration test of `tests` (a
/// `harness = false` one), of a package cargo was asked for. The package's
/// binaries never get it: a test may run them, and they would take the
/// session's file for their own.
pub fn wanted(args: &[OsString], primary: bool, cwd: &Path, tests: &[PathBuf]) -> bool {
    let harness = harness(args);
    let test_target = || root_source(args, cwd).is_some_and(|src| tests.contains(&src));
    primary && (harness || test_target())
}

/// Whether rustc builds a libtest harness (`--test`).
pub fn harness(args: &[OsString]) -> bool {
    args.iter().any(|a| a == "--test")
}

/// The crate root on rustc's command line `args` (run in `cwd`).
pub fn root_source(args: &[OsString], cwd: &Path) -> Option<PathBuf> {
    Some(cwd.join(&args[super::shadow::root_index(args)?]))
}

/// Whether the crate depends on leakcheck-rt (a dev-dependency is passed
/// to every test target, whether it installs it or not).
pub fn links_leakcheck(args: &[OsString]) -> bool {
    value(args, "--extern").any(|e| e == "leakcheck_rt" || e.starts_with("leakcheck_rt="))
}

/// Why a crate root (its text) cannot take the runtime, if it cannot:
/// the runtime needs `std`, and leaves an entry point of the crate's own
/// alone. A libtest harness (`harness`) links std whatever the root says
/// (`#![no_std]` crates test with `#[cfg(test)] extern crate std;`).
pub fn unsuited(root: &str, harness: bool) -> Option<&'static str> {
    let attribute = |name: &str| {
        root.lines()
            .map(|l| l.split_whitespace().collect::<String>())
            .any(|l| l.starts_with(&format!("#![{name}]")))
    };
    if attribute("no_std") && !harness {
        Some("a `#![no_std]` crate root (leakcheck's runtime needs std)")
    } else if attribute("no_main") {
        Some("a `#![no_main]` crate root (an entry point of its own: left as it is)")
    } else {
        None
    }
}

/// The integration tests' sources, as [`Runtime::env`] passed them.
pub fn test_sources(value: &OsStr) -> Vec<PathBuf> {
    value
        .to_string_lossy()
        .lines()
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// The arguments that link the runtime into a crate that names it.
pub fn extern_args(rlib: &Path, deps: &Path) -> Vec<OsString> {
    let mut name = OsString::from(format!("{CRATE}="));
    name.push(rlib);
    let mut dependency = OsString::from("dependency=");
    dependency.push(deps);
    vec!["--extern".into(), name, "-L".into(), dependency]
}

/// The arguments that link the runtime into a crate that never names it.
pub fn injected_args(rlib: &Path, deps: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["-Z".into(), "unstable-options".into()];
    args.extend(extern_args(rlib, deps));
    let mut force = OsString::from("force:");
    force.push(&args[3]);
    args[3] = force;
    args
}

/// `true` when rustc refused the runtime because the crate has a
/// `#[global_allocator]` of its own.
pub fn has_own_allocator(stderr: &str) -> bool {
    stderr.contains(CONFLICT)
}

/// Why rustc could not build a crate with the runtime in it, in one
/// line: its first error.
pub fn refusal(stderr: &str) -> String {
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or("rustc failed");
    format!("rustc could not link leakcheck's runtime into it ({error})")
}

/// The executable rustc writes for `args`: `--out-dir` / crate name and
/// `-C extra-filename`, as cargo names test binaries.
pub fn output_file(args: &[OsString]) -> Option<PathBuf> {
    let dir = value(args, "--out-dir").next()?;
    let name = value(args, "--crate-name").next()?;
    let extra = value(args, "-C")
        .find_map(|v| v.strip_prefix("extra-filename="))
        .unwrap_or("");
    Some(Path::new(dir).join(format!("{name}{extra}")))
}

/// Where a crate's own `#[global_allocator]` is, from the dep-info file
/// rustc wrote beside `binary`: `file:line` and the static's line, or
/// `None` when it cannot be found.
pub fn own_allocator_site(binary: &Path) -> Option<String> {
    let dep_info = std::fs::read_to_string(binary.with_extension("d")).ok()?;
    let first = dep_info.lines().next()?;
    let (_, sources) = first.split_once(": ")?;
    for file in sources.split_whitespace().filter(|f| f.ends_with(".rs")) {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.trim_start().starts_with("#[global_allocator]") {
                continue;
            }
            let (n, item) = lines
                .iter()
                .enumerate()
                .skip(i + 1)
                .find(|(_, l)| l.contains("static "))?;
            return Some(format!("{file}:{}: {}", n + 1, item.trim()));
        }
    }
    None
}

/// Adds the runtime to the dep-info rustc wrote for `binary`, so that
/// cargo relinks the binary when the runtime is rebuilt (cargo knows the
/// crate's own dependencies, not the one the wrapper added).
pub fn depend_on_runtime(binary: &Path, rlib: &Path) {
    let path = binary.with_extension("d");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let rlib = rlib.display().to_string().replace(' ', "\\ ");
    if text.contains(&rlib) {
        return;
    }
    // Every output's line (the binary's, the dep-info's own) gets it.
    let output = binary.display().to_string();
    let output = output.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| match line.split_once(": ") {
            Some((target, _)) if !output.is_empty() && target.starts_with(output) => {
                format!("{line} {rlib}")
            }
            _ => line.to_owned(),
        })
        .collect();
    lines.push(String::new());
    lines.push(format!("{rlib}:"));
    let _ = std::fs::write(&path, lines.join("\n") + "\n");
}

/// Where the wrapper's shadows of crate roots go ([`super::shadow`]),
/// beside the notes.
pub fn roots_dir(notes: &Path) -> PathBuf {
    notes.with_file_name("roots")
}

/// The wrapper's notes on one binary: why it measures nothing, kept as
/// long as cargo's build of the binary (a later run that does not
/// rebuild it reads them still).
pub struct Notes {
    own_allocator: PathBuf,
    not_checked: PathBuf,
}

impl Notes {
    pub fn new(notes: &Path, binary: &Path) -> Notes {
        let name = binary.file_name().unwrap_or_default();
        let path = |suffix: &str| {
            let mut file = name.to_owned();
            file.push(suffix);
            notes.join(file)
        };
        Notes {
            own_allocator: path(OWN_ALLOCATOR),
            not_checked: path(NOT_CHECKED),
        }
    }

    /// Forgets what an earlier build of the binary said.
    pub fn clear(&self) {
        let _ = std::fs::remove_file(&self.own_allocator);
        let _ = std::fs::remove_file(&self.not_checked);
    }

    /// `binary` has its own `#[global_allocator]`, at `site`.
    pub fn own_allocator(&self, binary: &Path, site: &str) {
        let _ = std::fs::write(&self.own_allocator, note(binary, site));
    }

    /// The runtime cannot go into the binary, for `reason`.
    pub fn not_checked(&self, binary: &Path, reason: &str) {
        let _ = std::fs::write(&self.not_checked, note(binary, reason));
    }
}

fn note(binary: &Path, text: &str) -> String {
    format!("{}\n{text}\n", binary.display())
}

/// The binaries with an allocator of their own, with where it is.
pub fn own_allocators(notes: &Path) -> Vec<(PathBuf, String)> {
    read_notes(notes, OWN_ALLOCATOR)
}

/// The binaries the runtime could not go into, with why.
pub fn not_checked(notes: &Path) -> Vec<(PathBuf, String)> {
    read_notes(notes, NOT_CHECKED)
}

/// The notes in `notes` ending in `suffix`: the binary, and the text.
fn read_notes(notes: &Path, suffix: &str) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(notes) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let binary = name.strip_suffix(suffix)?.to_owned();
            let text = std::fs::read_to_string(e.path()).ok()?;
            let (path, site) = text.split_once('\n').unwrap_or((text.as_str(), ""));
            (Path::new(path).file_name()? == binary.as_str())
                .then(|| (PathBuf::from(path), site.trim_end().to_owned()))
        })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
#[path = "inject_tests.rs"]
mod tests;
