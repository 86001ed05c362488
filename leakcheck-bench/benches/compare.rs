//! `cargo bench -p leakcheck-bench`: System vs leakcheck vs dhat-rs, in
//! release and in the debug build `cargo leakcheck` makes, leakcheck's
//! `--native` build, `cargo leakcheck run`'s preloaded library, sampled
//! tracking (`start_sampled` and `run --sample`) and heaptrack on the same
//! workloads, and the fixed cost per process in a small and a large
//! binary.
//!
//! Options after `--`: `--rounds N` (default 7), `--dhat-rounds N` (3),
//! `--heaptrack-rounds N` (3), `--run-unwind-rounds N` (3: `cargo leakcheck
//! run` with the DWARF unwinder), `--no-trim` (children run with glibc's
//! heap trimming off), `--no-debug` (skip building and measuring the debug
//! binaries).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use leakcheck_bench::driver::{self, Build, Config};

/// Crates `cargo leakcheck` builds optimised in every profile (its
/// `OPTIMISED_PACKAGES`; the bench does not link cargo-leakcheck).
const OPTIMISED_PACKAGES: [&str; 9] = [
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

const BINARIES: [&str; 4] = [
    "bench-system",
    "bench-leakcheck",
    "bench-large-system",
    "bench-large-leakcheck",
];

/// `cargo build --quiet --message-format=json`, the caller adding the
/// package and the rest.
fn cargo() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "--quiet", "--message-format=json"]);
    command
}

/// Runs a `cargo` build; returns its JSON messages.
fn messages(what: &str, mut command: Command) -> Vec<serde_json::Value> {
    eprintln!("building {what}");
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "the build of {what} failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Runs `cargo build` of leakcheck-bench with `args` (and `env`); returns
/// the executables of `names`, in that order.
fn cargo_build<const N: usize>(
    what: &str,
    args: &[String],
    env: &[(&str, &str)],
    names: [&str; N],
) -> [PathBuf; N] {
    let mut command = cargo();
    command
        .args(["-p", "leakcheck-bench"])
        .args(args)
        .envs(env.iter().copied());
    let mut found: [Option<PathBuf>; N] = std::array::from_fn(|_| None);
    for message in messages(what, command) {
        let name = message["target"]["name"].as_str().unwrap_or_default();
        if let (Some(i), Some(exe)) = (
            names.iter().position(|b| *b == name),
            message["executable"].as_str(),
        ) {
            found[i] = Some(PathBuf::from(exe));
        }
    }
    std::array::from_fn(|i| {
        found[i]
            .clone()
            .unwrap_or_else(|| panic!("cargo built no {}", names[i]))
    })
}

/// Builds the bench binaries as `cargo leakcheck` builds tests: the test
/// profile, with its overrides.
fn build_debug() -> Build {
    let mut args: Vec<String> = ["--bins", "--profile", "test"].map(String::from).into();
    for package in OPTIMISED_PACKAGES {
        args.push("--config".to_owned());
        args.push(format!("profile.test.package.{package}.opt-level=3"));
    }
    let [system, leakcheck, large_system, large_leakcheck] =
        cargo_build("the debug bench binaries", &args, &[], BINARIES);
    Build {
        small: [system, leakcheck],
        large: [large_system, large_leakcheck],
    }
}

/// Builds `bench-leakcheck` as `cargo leakcheck --native` would build it
/// in the bench profile (`LEAKCHECK_NATIVE=1` compiles the engine's
/// `malloc` front end in), into `bench-native` under the target directory,
/// so that the release build beside it stays as it is.
fn build_native() -> PathBuf {
    let target = target_dir();
    let args = [
        "--bin".to_owned(),
        "bench-leakcheck".to_owned(),
        "--profile".to_owned(),
        "bench".to_owned(),
        "--target-dir".to_owned(),
        target.join("bench-native").display().to_string(),
    ];
    let [native] = cargo_build(
        "bench-leakcheck with LEAKCHECK_NATIVE=1",
        &args,
        &[("LEAKCHECK_NATIVE", "1")],
        ["bench-leakcheck"],
    );
    native
}

/// The target directory the release bench binaries were built in.
fn target_dir() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bench-leakcheck"))
        .parent()
        .and_then(Path::parent)
        .expect("the binary lies in <target>/<profile>/")
}

/// Builds the library `cargo leakcheck run` preloads as that command
/// builds it (cargo-leakcheck's `cargo::preload`: release, the engine's
/// `malloc` front end, frame pointers, line tables, the caller's rustflags
/// and target left out), into `bench-preload` under the target directory.
fn build_preload() -> PathBuf {
    let mut command = cargo();
    command
        .args(["-p", "leakcheck-preload", "--lib", "--release"])
        .arg("--target-dir")
        .arg(target_dir().join("bench-preload"))
        .env("LEAKCHECK_NATIVE", "1")
        .env("CARGO_ENCODED_RUSTFLAGS", "-Cforce-frame-pointers=yes")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "line-tables-only")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    messages(
        "leakcheck-preload as `cargo leakcheck run` builds it",
        command,
    )
    .iter()
    .filter(|m| m["target"]["name"] == "leakcheck_preload")
    .filter_map(|m| m["filenames"].as_array())
    .flatten()
    .filter_map(|f| f.as_str())
    .find(|f| f.ends_with(".so"))
    .map(PathBuf::from)
    .expect("cargo built no libleakcheck_preload.so")
}

fn main() {
    let binaries = [
        PathBuf::from(env!("CARGO_BIN_EXE_bench-system")),
        PathBuf::from(env!("CARGO_BIN_EXE_bench-leakcheck")),
        PathBuf::from(env!("CARGO_BIN_EXE_bench-dhat")),
    ];
    let release = Build {
        small: [binaries[0].clone(), binaries[1].clone()],
        large: [
            PathBuf::from(env!("CARGO_BIN_EXE_bench-large-system")),
            PathBuf::from(env!("CARGO_BIN_EXE_bench-large-leakcheck")),
        ],
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let debug = (!args.iter().any(|a| a == "--no-debug")).then(build_debug);
    let native = build_native();
    let preload = build_preload();
    let config = Config::from_args(binaries, native, preload, release, debug, &args);
    let results = driver::run(&config);
    print!("{}", driver::report(&config, &results));
}
