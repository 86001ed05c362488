//! `cargo bench -p leakcheck-bench`: System vs leakcheck vs dhat-rs, in
//! release and in the debug build `cargo leakcheck` makes, and the fixed
//! cost per process in a small and a large binary.
//!
//! Options after `--`: `--rounds N` (default 7), `--dhat-rounds N` (3),
//! `--no-trim` (children run with glibc's heap trimming off), `--no-debug`
//! (skip building and measuring the debug binaries).

use std::path::PathBuf;
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

/// Builds the bench binaries as `cargo leakcheck` builds tests: the test
/// profile, with its overrides; returns them in [`BINARIES`] order.
fn build_debug() -> Build {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args([
        "build",
        "--quiet",
        "-p",
        "leakcheck-bench",
        "--bins",
        "--profile",
        "test",
        "--message-format=json",
    ]);
    for package in OPTIMISED_PACKAGES {
        command.args([
            "--config".to_owned(),
            format!("profile.test.package.{package}.opt-level=3"),
        ]);
    }
    eprintln!("building the debug bench binaries");
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "the debug build failed");
    let mut found: Vec<Option<PathBuf>> = vec![None; BINARIES.len()];
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let name = message["target"]["name"].as_str().unwrap_or_default();
        if let (Some(i), Some(exe)) = (
            BINARIES.iter().position(|b| *b == name),
            message["executable"].as_str(),
        ) {
            found[i] = Some(PathBuf::from(exe));
        }
    }
    let [system, leakcheck, large_system, large_leakcheck] = std::array::from_fn(|i| {
        found[i]
            .clone()
            .unwrap_or_else(|| panic!("cargo built no {}", BINARIES[i]))
    });
    Build {
        small: [system, leakcheck],
        large: [large_system, large_leakcheck],
    }
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
    let config = Config::from_args(binaries, release, debug, &args);
    let results = driver::run(&config);
    print!("{}", driver::report(&config, &results));
}
