//! `cargo bench -p leakcheck-bench --bench suite`: the wall time of
//! `cargo leakcheck` against `cargo test` on real crates' suites that have
//! no leak tests.
//!
//! The crates are taken from crates.io at pinned versions (through cargo:
//! a scratch package depends on them, `cargo metadata` fetches them and
//! says where their sources are), copied under
//! `<target>/suite-bench/crates/`, and set up as a user would: `leakcheck-rt`
//! (this workspace's, by path) as a dev-dependency and
//! `leakcheck_rt::install!();` in each test target (the library's unit
//! tests under `#[cfg(test)]`; a target with a `#[global_allocator]` of its
//! own keeps it). `cargo-leakcheck` is built from this workspace (release,
//! as `cargo install` builds it). Both commands run once to build, then
//! `--rounds N` (default 5) warm runs each, interleaved, for the same
//! targets (`--lib --tests`) with their default parallelism; the report is
//! the median wall time of each and their ratio.
//!
//! Options after `--`: `--rounds N`, `--debug` (a dev build of
//! cargo-leakcheck instead of release), `--crate NAME` (only that crate;
//! repeatable), `--leakcheck PATH` (that `cargo-leakcheck` executable
//! instead of this workspace's, e.g. an earlier build to compare with).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The suites measured, pinned.
const CRATES: [(&str, &str); 4] = [
    ("bytes", "1.12.2"),
    ("indexmap", "2.14.2"),
    ("parking_lot", "0.13.0"),
    ("tokio-stream", "0.1.19"),
];

/// The targets both commands run.
const TARGETS: [&str; 2] = ["--lib", "--tests"];

struct Options {
    rounds: usize,
    debug: bool,
    only: Vec<String>,
    leakcheck: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut options = Options {
            rounds: 5,
            debug: false,
            only: Vec::new(),
            leakcheck: None,
        };
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--rounds" => {
                    options.rounds = iter
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .expect("--rounds takes a positive number");
                }
                "--debug" => options.debug = true,
                "--leakcheck" => {
                    let path = iter.next().expect("--leakcheck takes a path");
                    options.leakcheck = Some(PathBuf::from(path));
                }
                "--crate" => options
                    .only
                    .push(iter.next().expect("--crate takes a name").clone()),
                // `cargo bench` passes `--bench`; filters are not ours.
                _ => {}
            }
        }
        options
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --all-targets` runs a `harness = false` bench without
    // `--bench`: a bench of minutes is no test.
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("suite: not run outside `cargo bench`");
        return;
    }
    let options = Options::parse(&args);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("leakcheck-bench is in the workspace")
        .to_owned();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let base = target.join("suite-bench");
    let leakcheck = match &options.leakcheck {
        Some(path) => {
            assert!(
                path.file_name().is_some_and(|n| n == "cargo-leakcheck"),
                "--leakcheck names a `cargo-leakcheck` executable (cargo finds it by name)"
            );
            path.clone()
        }
        None => build_leakcheck(&workspace, options.debug),
    };
    let sources = fetch_sources(&base.join("fetch"));
    let crates: Vec<(String, PathBuf)> = CRATES
        .iter()
        .filter(|(name, _)| options.only.is_empty() || options.only.iter().any(|o| o == name))
        .map(|&(name, version)| {
            let label = format!("{name} {version}");
            let source = sources
                .iter()
                .find(|(n, _)| *n == label)
                .map(|(_, dir)| dir.clone())
                .unwrap_or_else(|| panic!("cargo fetched no {label}"));
            let dir = base.join("crates").join(format!("{name}-{version}"));
            prepare(&source, &dir, &workspace.join("leakcheck-rt"));
            (label, dir)
        })
        .collect();
    let cargo_target = base.join("target");
    let runner = Runner {
        leakcheck_dir: leakcheck
            .parent()
            .expect("an executable is in a directory")
            .to_owned(),
        target_dir: cargo_target,
    };

    for (label, dir) in &crates {
        eprintln!("suite: building {label} both ways");
        runner.run(Tool::Test, dir, true);
        runner.run(Tool::Leakcheck, dir, true);
    }
    let mut times: Vec<[Vec<Duration>; 2]> = crates.iter().map(|_| [vec![], vec![]]).collect();
    for round in 1..=options.rounds {
        eprintln!("suite: round {round}/{}", options.rounds);
        for (i, (_, dir)) in crates.iter().enumerate() {
            for (k, tool) in [Tool::Test, Tool::Leakcheck].into_iter().enumerate() {
                times[i][k].push(runner.run(tool, dir, false));
            }
        }
    }
    print!("{}", report(&crates, &mut times, &options));
}

#[derive(Clone, Copy)]
enum Tool {
    Test,
    Leakcheck,
}

struct Runner {
    leakcheck_dir: PathBuf,
    target_dir: PathBuf,
}

impl Runner {
    /// One run of `tool` in the crate at `dir`; its wall time.
    fn run(&self, tool: Tool, dir: &Path, first: bool) -> Duration {
        let mut command = Command::new(cargo());
        match tool {
            Tool::Test => command.arg("test"),
            Tool::Leakcheck => command.arg("leakcheck"),
        };
        command.args(TARGETS);
        let mut path = vec![self.leakcheck_dir.clone()];
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        command
            .current_dir(dir)
            .env("PATH", std::env::join_paths(path).expect("PATH joins"))
            .env("CARGO_TARGET_DIR", &self.target_dir)
            // Not the bench's own profile settings.
            .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
            .env_remove("CARGO_PROFILE_BENCH_DEBUG")
            .stdin(Stdio::null());
        let start = Instant::now();
        let out = command.output().expect("cargo runs");
        let took = start.elapsed();
        check(tool, dir, &out, first);
        took
    }
}

/// A run of the tests must succeed; `cargo leakcheck` may report findings
/// (exit 1) in a suite it has never seen, but nothing worse.
fn check(tool: Tool, dir: &Path, out: &Output, first: bool) {
    let code = out.status.code();
    let ok = match tool {
        Tool::Test => code == Some(0),
        Tool::Leakcheck => matches!(code, Some(0 | 1)),
    };
    if !ok || (first && code != Some(0)) {
        eprintln!(
            "suite: in {}: {}\n{}{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(ok, "the run failed");
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds this workspace's cargo-leakcheck; its executable.
fn build_leakcheck(workspace: &Path, debug: bool) -> PathBuf {
    eprintln!("suite: building cargo-leakcheck");
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace)
        .args(["build", "--quiet", "-p", "cargo-leakcheck", "--bin"])
        .arg("cargo-leakcheck")
        .arg("--message-format=json");
    if !debug {
        command.arg("--release");
    }
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "building cargo-leakcheck failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["target"]["name"] == "cargo-leakcheck")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo built cargo-leakcheck")
}

/// Fetches [`CRATES`] through a scratch package depending on them; each
/// crate's `name version` and source directory.
fn fetch_sources(scratch: &Path) -> Vec<(String, PathBuf)> {
    std::fs::create_dir_all(scratch.join("src")).expect("the scratch package is writable");
    let mut manifest = String::from(
        "[package]\nname = \"suite-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[workspace]\n\n[dependencies]\n",
    );
    for (name, version) in CRATES {
        let _ = writeln!(manifest, "{name} = \"={version}\"");
    }
    std::fs::write(scratch.join("Cargo.toml"), manifest).expect("writable");
    std::fs::write(scratch.join("src/lib.rs"), "").expect("writable");
    let output = Command::new(cargo())
        .current_dir(scratch)
        .args(["metadata", "--format-version", "1"])
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    metadata["packages"]
        .as_array()
        .expect("metadata lists packages")
        .iter()
        .filter_map(|p| {
            let manifest = Path::new(p["manifest_path"].as_str()?);
            Some((
                format!("{} {}", p["name"].as_str()?, p["version"].as_str()?),
                manifest.parent()?.to_owned(),
            ))
        })
        .collect()
}

/// Copies the crate at `source` to `dir` (afresh) and sets it up for
/// leakcheck as a user would.
fn prepare(source: &Path, dir: &Path, runtime: &Path) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).expect("the old copy can be removed");
    }
    copy_dir(source, dir);
    let manifest = dir.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).expect("the crate has a manifest");
    let _ = write!(
        text,
        "\n[dev-dependencies.leakcheck-rt]\npath = {:?}\n\n[workspace]\n",
        runtime.display().to_string()
    );
    std::fs::write(&manifest, text).expect("writable");
    let mut targets = vec![(dir.join("src/lib.rs"), true)];
    if let Ok(entries) = std::fs::read_dir(dir.join("tests")) {
        let mut tests: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        tests.sort();
        targets.extend(tests.into_iter().map(|p| (p, false)));
    }
    for (file, lib) in targets {
        let mut text = std::fs::read_to_string(&file).expect("the target's source is readable");
        if text.contains("#[global_allocator]") {
            continue;
        }
        text.push_str(if lib {
            "\n#[cfg(test)]\nleakcheck_rt::install!();\n"
        } else {
            "\nleakcheck_rt::install!();\n"
        });
        std::fs::write(&file, text).expect("writable");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("writable");
    for entry in std::fs::read_dir(from).expect("the source is readable") {
        let entry = entry.expect("the source is readable");
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).expect("the source is copyable");
        }
    }
}

fn median(xs: &mut [Duration]) -> Duration {
    xs.sort();
    let n = xs.len();
    match n % 2 {
        1 => xs[n / 2],
        _ => (xs[n / 2 - 1] + xs[n / 2]) / 2,
    }
}

fn report(crates: &[(String, PathBuf)], times: &mut [[Vec<Duration>; 2]], o: &Options) -> String {
    let mut out = format!(
        "\nSuite wall time: `cargo test {targets}` vs `cargo leakcheck {targets}` \
         ({build} cargo-leakcheck), median of {} warm runs, interleaved\n\n\
         | crate | cargo test | cargo leakcheck | ratio |\n|---|---:|---:|---:|\n",
        o.rounds,
        targets = TARGETS.join(" "),
        build = match (&o.leakcheck, o.debug) {
            (Some(path), _) => path.display().to_string(),
            (None, true) => "dev".to_owned(),
            (None, false) => "release".to_owned(),
        },
    );
    for ((label, _), [test, leakcheck]) in crates.iter().zip(times) {
        let (t, l) = (median(test), median(leakcheck));
        let _ = writeln!(
            out,
            "| {label} | {:.2} s | {:.2} s | {:.2}x |",
            t.as_secs_f64(),
            l.as_secs_f64(),
            l.as_secs_f64() / t.as_secs_f64()
        );
    }
    out
}
