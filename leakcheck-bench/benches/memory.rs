//! `cargo bench -p leakcheck-bench --bench memory`: the time and peak RSS
//! of leakcheck's files at scale.
//!
//! - **Session record.** A generated crate (`<target>/memory-bench/stacks`)
//!   has one test that leaves 2^17 = 131,072 blocks live, each from its own
//!   call stack: a recursion 17 levels deep that goes through one of two
//!   functions at each level, by one bit of the block's number. Its test
//!   binary (as `cargo leakcheck` builds it) runs once as a session, alone:
//!   the figures are its wall time and peak RSS, and the part of each that
//!   writing the session record at exit added (from the moment the test
//!   says its blocks are made, with the peak RSS it had then). Then
//!   `cargo leakcheck` runs on the crate: its wall time (two session runs of
//!   the binary, one on libtest's threads and one a test at a time, since
//!   the test left memory live) and the peak RSS of `cargo-leakcheck`'s own
//!   process, which reads and analyses both records (read from
//!   `/proc/PID/status` every 2 ms while it runs).
//! - **Diff.** 4,000 snapshot files of one process (400 traces of 12 frames
//!   each, every 25th trace growing with the snapshot's number) are written
//!   under `<target>/memory-bench/snapshots`, and `cargo leakcheck diff`
//!   judges them as one series: its wall time and peak RSS.
//!
//! Options after `--`: `--stacks-log2 N` (default 17), `--snapshots N`
//! (default 4000), `--traces N` (default 400), `--only session|diff`,
//! `--leakcheck PATH` (that `cargo-leakcheck` executable instead of a
//! release build of this workspace's, e.g. an earlier build to compare
//! with). The generated crate depends on this workspace's leakcheck-rt, so
//! the session record's writer measured is always this workspace's.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    stacks_log2: u32,
    snapshots: usize,
    traces: usize,
    only: Option<String>,
    leakcheck: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut options = Options {
            stacks_log2: 17,
            snapshots: 4000,
            traces: 400,
            only: None,
            leakcheck: None,
        };
        let mut iter = args.iter();
        let number = |iter: &mut std::slice::Iter<'_, String>, what: &str| -> usize {
            iter.next()
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| panic!("{what} takes a positive number"))
        };
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--stacks-log2" => {
                    options.stacks_log2 = number(&mut iter, "--stacks-log2").min(20) as u32;
                }
                "--snapshots" => options.snapshots = number(&mut iter, "--snapshots").max(3),
                "--traces" => options.traces = number(&mut iter, "--traces"),
                "--only" => options.only = iter.next().cloned(),
                "--leakcheck" => {
                    let path = iter.next().expect("--leakcheck takes a path");
                    options.leakcheck = Some(PathBuf::from(path));
                }
                // `cargo bench` passes `--bench`; filters are not ours.
                _ => {}
            }
        }
        options
    }

    fn runs(&self, part: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == part)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --all-targets` runs a `harness = false` bench without
    // `--bench`: a bench of minutes is no test.
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("memory: not run outside `cargo bench`");
        return;
    }
    let options = Options::parse(&args);
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the bench crate is in the workspace")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let base = target.join("memory-bench");
    let leakcheck = options
        .leakcheck
        .clone()
        .unwrap_or_else(|| build_leakcheck(&workspace));
    let mut report = format!(
        "\nMemory and time at scale (`{}`)\n\n| what | wall time | peak RSS |\n| --- | ---: | ---: |\n",
        leakcheck.display()
    );
    if options.runs("session") {
        session(&base, &workspace, &leakcheck, &options, &mut report);
    }
    if options.runs("diff") {
        diff(&base, &leakcheck, &options, &mut report);
    }
    println!("{report}");
}

// ---- the session record ---------------------------------------------------

/// The test that leaves `2^log2` blocks live from as many call stacks.
fn stacks_test(log2: u32) -> String {
    format!(
        r#"//! Generated by leakcheck-bench's `memory` bench.
use std::hint::black_box;

leakcheck_rt::install!();

const LOG2: u32 = {log2};

#[inline(never)]
fn left(depth: u32, path: u32, out: &mut Vec<Box<u32>>) {{
    step(depth, path, out);
    black_box(());
}}

#[inline(never)]
fn right(depth: u32, path: u32, out: &mut Vec<Box<u32>>) {{
    step(depth, path, out);
    black_box(());
}}

/// Block `path` comes from its own stack: bit `depth - 1` of it chooses
/// whether this level goes through `left` or `right`.
#[inline(never)]
fn step(depth: u32, path: u32, out: &mut Vec<Box<u32>>) {{
    if depth == 0 {{
        out.push(Box::new(path));
        return;
    }}
    if (path >> (depth - 1)) & 1 == 0 {{
        left(depth - 1, path, out);
    }} else {{
        right(depth - 1, path, out);
    }}
    black_box(());
}}

fn peak_kib() -> u64 {{
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}}

#[test]
fn many_stacks() {{
    let mut out = Vec::with_capacity(1 << LOG2);
    for path in 0..1u32 << LOG2 {{
        step(LOG2, path, &mut out);
    }}
    // Live at exit, in the session record.
    std::mem::forget(out);
    eprintln!("memory-bench: blocks made, peak {{}} KiB", peak_kib());
}}
"#
    )
}

fn session(
    base: &Path,
    workspace: &Path,
    leakcheck: &Path,
    options: &Options,
    report: &mut String,
) {
    let dir = base.join("stacks");
    std::fs::create_dir_all(dir.join("tests")).expect("the bench directory is writable");
    let manifest = format!(
        "[package]\nname = \"memory-stacks\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[workspace]\n\n[dev-dependencies]\nleakcheck-rt = {{ path = {:?} }}\n",
        workspace.join("leakcheck-rt").display().to_string()
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest);
    write_if_changed(&dir.join("src/lib.rs"), "");
    write_if_changed(
        &dir.join("tests/stacks.rs"),
        &stacks_test(options.stacks_log2),
    );
    let target_dir = base.join("target");
    let leakcheck_run = || {
        let mut command = Command::new(leakcheck);
        command
            .arg("leakcheck")
            .arg("--manifest-path")
            .arg(dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target_dir)
            .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
            .env_remove("CARGO_PROFILE_BENCH_DEBUG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    eprintln!(
        "memory: building the {}-stack test",
        1u64 << options.stacks_log2
    );
    let warm = leakcheck_run().output().expect("cargo-leakcheck runs");
    check_leakcheck(&warm.status, &warm.stderr);

    // The test binary alone, as a session.
    let binary = newest_test_binary(&target_dir.join("leakcheck/debug/deps"), "stacks-");
    let record = base.join("record.json");
    let _ = std::fs::remove_file(&record);
    let mut command = Command::new(&binary);
    command
        .args(["--test-threads=1", "--nocapture"])
        .env("LEAKCHECK_SESSION", &record)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = command.spawn().expect("the test binary runs");
    let stderr = child.stderr.take().expect("stderr is piped");
    let marker = std::thread::spawn(move || {
        let mut at = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("memory-bench: blocks made, peak ") {
                let kib: u64 = rest.trim_end_matches(" KiB").parse().unwrap_or(0);
                at = Some((Instant::now(), kib));
            }
        }
        at
    });
    let (status, peak) = wait_with_peak(child);
    let wall = start.elapsed();
    let (made_at, made_peak) = marker
        .join()
        .expect("the reader thread ends")
        .expect("the test says when its blocks are made");
    assert!(status.success(), "the test binary failed: {status}");
    let size = std::fs::metadata(&record)
        .expect("the session wrote its record")
        .len();
    let writing = wall.saturating_sub(made_at - start);
    let _ = writeln!(
        report,
        "| test process: {} live stacks, whole run | {} | {} |",
        1u64 << options.stacks_log2,
        secs(wall),
        mib(peak)
    );
    let _ = writeln!(
        report,
        "| of which writing the session record ({:.1} MiB) at exit | {} | +{} |",
        size as f64 / (1 << 20) as f64,
        secs(writing),
        mib(peak.saturating_sub(made_peak))
    );

    // `cargo leakcheck` on the crate.
    let start = Instant::now();
    let child = leakcheck_run().spawn().expect("cargo-leakcheck runs");
    let (status, out, peak) = poll_peak(child);
    let wall = start.elapsed();
    check_leakcheck(&status, out.as_bytes());
    let _ = writeln!(
        report,
        "| `cargo leakcheck` on it (2 session runs), `cargo-leakcheck`'s own process | {} | {} |",
        secs(wall),
        mib(peak)
    );
}

fn check_leakcheck(status: &std::process::ExitStatus, stderr: &[u8]) {
    if !matches!(status.code(), Some(0 | 1)) {
        eprintln!("{}", String::from_utf8_lossy(stderr));
        panic!("cargo leakcheck failed: {status}");
    }
}

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::create_dir_all(path.parent().expect("a file has a directory"))
            .expect("the bench directory is writable");
        std::fs::write(path, text).expect("the bench directory is writable");
    }
}

/// The most recently built executable `<prefix><hash>` in `deps`.
fn newest_test_binary(deps: &Path, prefix: &str) -> PathBuf {
    std::fs::read_dir(deps)
        .expect("cargo leakcheck built the test")
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(prefix) && !name.contains('.')
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
        .expect("the test binary is built")
}

// ---- diff ---------------------------------------------------------------

/// The `i`th snapshot of the series, as `dump_every` would write it.
fn snapshot_json(i: usize, traces: usize) -> String {
    const COMMON: usize = 8;
    const MIDDLE: usize = 40;
    let mut frames = Vec::new();
    for f in 0..COMMON {
        frames.push(serde_json::json!({
            "file": format!("src/server/layer_{f}.rs"),
            "line": 10 + f,
            "function": format!("service::server::layer_{f}::Handler<service::Config>::call"),
            "kind": "workspace",
        }));
    }
    for m in 0..MIDDLE {
        frames.push(serde_json::json!({
            "file": format!("src/routes/route_{m}.rs"),
            "line": 20 + m,
            "function": format!("service::routes::route_{m}::handle_request"),
            "kind": "workspace",
        }));
    }
    for t in 0..traces {
        frames.push(serde_json::json!({
            "file": format!("src/model/entity_{}.rs", t / 4),
            "line": 100 + t,
            "function": format!("service::model::entity_{}::Entity::build_from_row", t / 4),
            "kind": "workspace",
        }));
    }
    for (s, (file, function)) in [
        (
            "/rustc/0000/library/alloc/src/vec/mod.rs",
            "alloc::vec::Vec<T,A>::push",
        ),
        (
            "/rustc/0000/library/alloc/src/raw_vec.rs",
            "alloc::raw_vec::RawVec<T,A>::grow_one",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        frames.push(serde_json::json!({
            "file": file, "line": 1000 + s, "function": function, "kind": "std",
        }));
    }
    let std_base = COMMON + MIDDLE + traces;
    let traces: Vec<_> = (0..traces)
        .map(|t| {
            let grows = t % 25 == 0;
            let mut path: Vec<usize> = (0..COMMON).collect();
            path.push(COMMON + t % MIDDLE);
            path.push(COMMON + MIDDLE + t);
            path.extend([std_base, std_base + 1]);
            serde_json::json!({
                "size": 4096 + if grows { 512 * i } else { 0 },
                "count": 4 + if grows { i } else { 0 },
                "frames": path,
            })
        })
        .collect();
    let started = 1_700_000_000_000u64;
    let uptime = i as u64 * 60_000;
    serde_json::json!({
        "format": "leakcheck-snapshot",
        "version": 1,
        "traceback_limit": 25,
        "frames": frames,
        "traces": traces,
        "origin": {
            "leakcheck": env!("CARGO_PKG_VERSION"),
            "pid": 4242,
            "process_started_ms": started,
            "seq": i + 1,
            "uptime_ms": uptime,
            "taken_at_ms": started + uptime,
        },
    })
    .to_string()
}

fn diff(base: &Path, leakcheck: &Path, options: &Options, report: &mut String) {
    let dir = base.join("snapshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the bench directory is writable");
    eprintln!("memory: writing {} snapshots", options.snapshots);
    let mut bytes = 0;
    let files: Vec<PathBuf> = (0..options.snapshots)
        .map(|i| {
            let path = dir.join(format!("leakcheck-{:06}.json", i + 1));
            let text = snapshot_json(i, options.traces);
            bytes += text.len();
            std::fs::write(&path, text).expect("the bench directory is writable");
            path
        })
        .collect();
    let mut command = Command::new(leakcheck);
    command
        .args(["leakcheck", "diff", "--color", "never"])
        .args(&files)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let child = command.spawn().expect("cargo-leakcheck runs");
    let (status, out, peak) = poll_peak(child);
    let wall = start.elapsed();
    if status.code() != Some(1) {
        eprintln!("{out}");
        panic!("cargo leakcheck diff did not find the leak: {status}");
    }
    let _ = writeln!(
        report,
        "| `cargo leakcheck diff` of {} snapshots ({} traces each, {:.0} MiB of files) | {} | {} |",
        options.snapshots,
        options.traces,
        bytes as f64 / (1 << 20) as f64,
        secs(wall),
        mib(peak)
    );
}

// ---- measuring ----------------------------------------------------------

/// Waits for `child`; its exit status and peak RSS in KiB (`wait4`'s, which
/// for a process that starts none is its own).
fn wait_with_peak(child: std::process::Child) -> (std::process::ExitStatus, u64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; the pointers are
    // valid for the call.
    let ret = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(ret, pid, "wait4 failed");
    use std::os::unix::process::ExitStatusExt as _;
    (
        std::process::ExitStatus::from_raw(status),
        usage.ru_maxrss as u64,
    )
}

/// Waits for `child`, reading its own peak RSS (`VmHWM`, KiB) every 2 ms:
/// `wait4`'s would be the largest of its children's too. Its exit status,
/// its stderr and the last peak read.
fn poll_peak(mut child: std::process::Child) -> (std::process::ExitStatus, String, u64) {
    let status_file = format!("/proc/{}/status", child.id());
    let stderr = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_file)
            .ok()
            .as_deref()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmHWM:")))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("waiting works") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (status, reader.join().unwrap_or_default(), peak)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds this workspace's cargo-leakcheck (release, as `cargo install`
/// builds it); its executable.
fn build_leakcheck(workspace: &Path) -> PathBuf {
    eprintln!("memory: building cargo-leakcheck");
    let output = Command::new(cargo())
        .current_dir(workspace)
        .args(["build", "--quiet", "--release", "-p", "cargo-leakcheck"])
        .args(["--bin", "cargo-leakcheck", "--message-format=json"])
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
