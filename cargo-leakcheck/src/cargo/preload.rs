//! The library `cargo leakcheck run` preloads into a program: the
//! `leakcheck-preload` crate beside this cargo-leakcheck's source, built
//! once (release, with frame pointers, line tables and the engine's
//! `malloc` front end) into `target/leakcheck/preload` of that checkout,
//! so every project shares one build. `LEAKCHECK_PRELOAD` names a library
//! built before instead (a host without a toolchain).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::errors::Error;

/// A library built before, used as it is.
pub const PRELOAD: &str = "LEAKCHECK_PRELOAD";

/// The crate's source: beside leakcheck-rt, whose source the injected
/// runtime is built from too.
fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../leakcheck-preload")
}

/// The library, built if it needs to be; cargo's progress is shown on its
/// first build unless `quiet`.
pub fn library(cargo: &OsStr, quiet: bool) -> Result<PathBuf, Error> {
    if let Some(given) = std::env::var_os(PRELOAD) {
        let given = PathBuf::from(given);
        return match given.is_file() {
            true => Ok(given),
            false => Err(Error::Build(format!(
                "{PRELOAD} names `{}`, which is not a file",
                given.display()
            ))),
        };
    }
    let fail = |what: String| Error::Build(format!("leakcheck's preloaded library: {what}"));
    let source = source();
    if !source.join("Cargo.toml").is_file() {
        return Err(fail(format!(
            "its source is not at {} (cargo-leakcheck is used beside the leakcheck checkout \
             it was installed from), and {PRELOAD} names no library built before",
            source.display()
        )));
    }
    let target_dir = source.join("../target/leakcheck/preload");
    let first = !target_dir.exists();
    if first && !quiet {
        eprintln!(
            "{:>12} leakcheck's preloaded library, once for this checkout of leakcheck",
            "Building"
        );
    }
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--lib", "--message-format=json"])
        .args((!first || quiet).then_some("--quiet"))
        .arg("--manifest-path")
        .arg(source.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // leakcheck's own configuration, not the project's the command
        // was started in.
        .current_dir(&source)
        .env("LEAKCHECK_NATIVE", "1")
        .env("CARGO_ENCODED_RUSTFLAGS", "-Cforce-frame-pointers=yes")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "line-tables-only")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    super::artifact::build(&mut command, "leakcheck_preload", "so").map_err(fail)
}
