//! pprof heap profiles, out and in, checked against pprof's own reader:
//! `go tool pprof` (Debian's `golang-go`; `.ci/run` installs it) reads what
//! `Snapshot::dump_pprof` writes with leakcheck's own totals and top line,
//! and `cargo leakcheck diff` judges the heap profiles a Go program writes
//! with `runtime/pprof` as it judges leakcheck's snapshots: a leak is named
//! at its Go function with exit 1, a bounded cache exits 0, and `--pprof`
//! writes the growth as a profile `go tool pprof` reads.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use leakcheck_rt::{KeyType, Snapshot};
use leakcheck_tests::{
    Run, cargo_leakcheck_bin, clean_command, service_example_bin, workspace_root,
};

const EXAMPLE: &str = "leakcheck-rt/examples/service.rs";
const GO_FIXTURE: &str = "tests/fixtures/go-heap/main.go";

/// `go`, from `PATH`; a missing one fails the test, saying how to install it.
fn go_bin() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("go"))
            .find(|go| go.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`go` is not on PATH: the pprof tests read profiles with `go tool pprof`; \
             install it with `apt-get install -y golang-go` (as .ci/run does)"
        )
    })
}

/// A `go` command that writes only under `home` and reaches no network:
/// its caches there, the installed toolchain only, no module downloads.
fn go(home: &Path) -> Command {
    let mut cmd = Command::new(go_bin());
    cmd.env("HOME", home)
        .env("GOCACHE", home.join("cache"))
        .env("GOPATH", home.join("gopath"))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .env("GO111MODULE", "off")
        .env("GOPROXY", "off")
        .env("PPROF_TMPDIR", home.join("pprof"))
        .env_remove("GOROOT");
    cmd
}

fn run(cmd: &mut Command) -> Run {
    cmd.output().expect("the command runs").into()
}

/// `go tool pprof ARGS PROFILE`'s report; fails on a non-zero exit.
fn pprof(home: &Path, args: &[&str], profile: &Path) -> String {
    let out = run(go(home).args(["tool", "pprof"]).args(args).arg(profile));
    assert_eq!(out.code, Some(0), "go tool pprof failed:\n{}", out.stderr);
    out.stdout
}

/// The total of `go tool pprof -top`: `... of 8401872B total`.
fn total(top: &str) -> u64 {
    let line = top
        .lines()
        .find(|l| l.starts_with("Showing nodes accounting for"))
        .unwrap_or_else(|| panic!("no total in:\n{top}"));
    let total = line
        .rsplit(" of ")
        .next()
        .and_then(|t| t.strip_suffix(" total"))
        .unwrap_or_else(|| panic!("{line}"));
    total
        .trim_end_matches('B')
        .parse()
        .unwrap_or_else(|_| panic!("{line}"))
}

/// The first row of `go tool pprof -top`'s table.
fn top_row(top: &str) -> &str {
    let mut lines = top
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"));
    lines.next();
    lines.next().unwrap_or_else(|| panic!("no rows in:\n{top}"))
}

fn diff(args: &[&OsStr]) -> Run {
    clean_command(cargo_leakcheck_bin(), &workspace_root())
        .args(["leakcheck", "diff"])
        .args(args)
        .output()
        .expect("cargo-leakcheck runs")
        .into()
}

#[test]
fn go_tool_pprof_reads_dump_pprof_with_leakcheck_s_totals() {
    let _serial = leakcheck_tests::serial();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("heap.pb.gz");
    let service: Run = clean_command(service_example_bin(), &workspace_root())
        .arg("--dir")
        .arg(dir.path().join("dumps"))
        .args(["--interval-ms", "100", "--dumps", "2", "--pprof"])
        .arg(&profile)
        .output()
        .expect("the service runs")
        .into();
    assert_eq!(
        service.code,
        Some(0),
        "the service failed:\n{}",
        service.stderr
    );
    let own = Snapshot::load(dir.path().join("heap.pb.gz.json")).unwrap();
    let (bytes, blocks) = own.total();
    let top_line = &own.statistics(KeyType::Lineno)[0];
    let charged = top_line.traceback.charged_frame().unwrap();
    assert_eq!(charged.file, EXAMPLE, "{top_line:?}");

    let home = dir.path().join("go-home");
    let space = pprof(
        &home,
        &[
            "-sample_index=inuse_space",
            "-unit=B",
            "-top",
            "-lines",
            "-nodecount=5",
            "-hide=^std:",
        ],
        &profile,
    );
    assert!(space.contains("Type: inuse_space"), "{space}");
    assert_eq!(total(&space), bytes, "{space}");
    // pprof charges the innermost frame it shows: with the standard
    // library's frames hidden, leakcheck's charged line.
    let row = top_row(&space);
    assert!(
        row.contains(&format!("{}:{}", charged.file, charged.line)),
        "{row}\n{space}"
    );
    assert!(
        row.trim_start().starts_with(&format!("{}B", top_line.size)),
        "{row}: leakcheck has {} B there\n{space}",
        top_line.size
    );
    assert!(row.contains("handle_request"), "{row}");
    let objects = pprof(&home, &["-sample_index=inuse_objects", "-top"], &profile);
    assert_eq!(total(&objects), blocks, "{objects}");

    // And leakcheck reads its own profile back, with the same numbers.
    let back = Snapshot::load_pprof(&profile).unwrap();
    assert_eq!(back.total(), (bytes, blocks));
    assert_eq!(back.traces(), own.traces());
}

/// Builds the Go fixture and runs it: `mode` (`leak` or `bounded`) writes
/// 4 heap profiles into `dir`.
fn go_profiles(home: &Path, dir: &Path, mode: &str) -> Vec<PathBuf> {
    let bin = home.join("go-heap");
    if !bin.exists() {
        let build = run(go(home)
            .current_dir(home)
            .args(["build", "-o"])
            .arg(&bin)
            .arg(workspace_root().join(GO_FIXTURE)));
        assert_eq!(build.code, Some(0), "go build failed:\n{}", build.stderr);
    }
    std::fs::create_dir_all(dir).unwrap();
    let out = run(go(home).arg("version"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let run = run(Command::new(&bin).arg(mode).arg(dir).arg("4"));
    assert_eq!(run.code, Some(0), "the Go program failed:\n{}", run.stderr);
    (1..=4)
        .map(|i| dir.join(format!("heap-{i}.pb.gz")))
        .collect()
}

#[test]
fn go_heap_profiles_are_judged_as_snapshots_are() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("go-home");
    std::fs::create_dir_all(&home).unwrap();
    let leak = go_profiles(&home, &dir.path().join("leak"), "leak");
    let growth = dir.path().join("growth.pb.gz");

    // A directory of profiles is the series, in the order of their numbers.
    let run = diff(&[
        dir.path().join("leak").as_os_str(),
        "--pprof".as_ref(),
        growth.as_os_str(),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let leak_row = run.stderr_line_with("LEAK");
    assert!(
        leak_row.contains(&format!("{GO_FIXTURE}:")) && leak_row.ends_with("in main.retainRequest"),
        "{leak_row}\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Snapshot series: 4 snapshots over"),
        "{}",
        run.stderr
    );
    // 32 buffers of 64 KiB a profile, 3 profiles after the first (and, now
    // and then, one small block of the runtime's charged to the same line).
    assert!(
        leak_row.contains("count     96") || leak_row.contains("count     97"),
        "{leak_row}"
    );
    assert!(leak_row.contains("+6144."), "{leak_row}");

    // The growth, as a profile pprof reads: the leaking function on top.
    let top = pprof(
        &home,
        &["-sample_index=inuse_space", "-unit=B", "-top"],
        &growth,
    );
    let row = top_row(&top);
    assert!(row.contains("main.retainRequest"), "{top}");
    assert!(total(&top) >= 96 * 64 * 1024, "{top}");

    // Two of them: what changed, no verdict.
    let run = diff(&[leak[0].as_os_str(), leak[3].as_os_str()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("s apart), by line"), "{}", run.stderr);
    assert!(
        run.stderr
            .lines()
            .nth(1)
            .unwrap_or_default()
            .contains("in main.retainRequest"),
        "{}",
        run.stderr
    );

    let bounded = go_profiles(&home, &dir.path().join("bounded"), "bounded");
    // The Go runtime's own structures (a thread's `m`, a goroutine's `g`)
    // come and go by the kilobyte as its collector starts workers: a
    // threshold of 16 KiB, as a service would give, leaves them out and
    // keeps any 64 KiB buffer in.
    let mut args: Vec<&std::ffi::OsStr> = bounded.iter().map(|p| p.as_os_str()).collect();
    args.extend([
        std::ffi::OsStr::new("--min-growth-bytes"),
        std::ffi::OsStr::new("16384"),
    ]);
    let run = diff(&args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("LEAK"), "{}", run.stderr);
    assert!(run.stderr.contains("No leak"), "{}", run.stderr);

    // Given out of the order they were taken: a one-line error, exit 2.
    let run = diff(&[
        leak[1].as_os_str(),
        leak[0].as_os_str(),
        leak[2].as_os_str(),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    run.only_stderr_line();
    // A cut-short profile: the same.
    let cut = dir.path().join("cut.pb.gz");
    let bytes = std::fs::read(&leak[3]).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let run = diff(&[leak[0].as_os_str(), cut.as_os_str()]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let line = run.only_stderr_line();
    assert!(
        line.contains("cut.pb.gz is corrupt or truncated: bad gzip stream"),
        "{line}"
    );
}
