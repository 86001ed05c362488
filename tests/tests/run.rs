//! `cargo leakcheck run -- PROGRAM`: a program started unchanged, with
//! leakcheck's library preloaded, writes numbered snapshots that
//! `cargo leakcheck diff` judges. The program is the release binary of
//! `tests/fixtures/server`, which knows nothing of leakcheck.

use std::path::{Path, PathBuf};

use leakcheck_tests::{
    Run, RustFlags, cargo_leakcheck_bin, clean_command, fixture, fixture_target_dir,
    flags_target_dir, line_of, serial,
};
use serde_json::Value;

/// The server's release binary, built as its crate builds it.
fn server() -> PathBuf {
    release_build("server", "server")
}

/// The release binary `bin` of the fixture crate `name`.
fn release_build(name: &str, bin: &str) -> PathBuf {
    let build: Run = clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &fixture(name),
    )
    .args(["build", "--release", "--quiet", "--bin", bin])
    .output()
    .expect("cargo runs")
    .into();
    assert_eq!(build.code, Some(0), "{}", build.stderr);
    fixture_target_dir().join("release").join(bin)
}

/// `cargo leakcheck ARGS`, started in `dir`.
fn leakcheck_in(dir: &Path, args: &[&str]) -> Run {
    clean_command(cargo_leakcheck_bin(), dir)
        .arg("leakcheck")
        .args(args)
        .output()
        .expect("cargo-leakcheck runs")
        .into()
}

/// `cargo leakcheck run -q --native` started in `dir`, a snapshot every
/// 100 ms into `dumps`, of `program` (with its arguments).
fn run_native(dir: &Path, dumps: &str, program: &[&str]) -> Run {
    let mut args = vec![
        "run",
        "-q",
        "--native",
        "--dump-every",
        "100ms",
        "--dump-dir",
        dumps,
        "--",
    ];
    args.extend_from_slice(program);
    leakcheck_in(dir, &args)
}

/// Runs the server under `cargo leakcheck run` with `run_args`, snapshots
/// every 150 ms into `<work>/<name>`, and judges them with
/// `cargo leakcheck diff`: the run, the diff and its JSON report.
fn run_and_judge(
    work: &Path,
    name: &str,
    run_args: &[&str],
    server_args: &[&str],
) -> (Run, Run, Value) {
    let bin = server();
    let mut args = vec!["run", "--dump-every", "150ms", "--dump-dir", name];
    args.extend_from_slice(run_args);
    args.push("--");
    let bin_arg = bin.display().to_string();
    args.push(&bin_arg);
    args.extend_from_slice(server_args);
    let run = leakcheck_in(work, &args);
    let json = format!("{name}.json");
    let diff = leakcheck_in(work, &["diff", name, "--json", &json]);
    let report = std::fs::read_to_string(work.join(&json))
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or_else(|e| panic!("no report ({e}):\n{}\n{}", run.stderr, diff.stderr));
    (run, diff, report)
}

fn snapshot_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with("snapshot-") && name.ends_with(".json")
        })
        .count()
}

#[test]
fn an_unchanged_release_binary_is_checked_over_its_dumps() {
    let _serial = serial();
    let bin = server();
    let image = std::fs::read(&bin).unwrap();
    assert!(
        !image.windows(b"leakcheck".len()).any(|w| w == b"leakcheck"),
        "the server binary names leakcheck"
    );
    let work = fixture("server");
    let scratch = tempfile::tempdir_in(fixture_target_dir()).unwrap();
    let dumps = scratch.path().join("leaky");
    let dumps_arg = dumps.display().to_string();
    // It forks every 500 requests (a child that serves 50 requests and
    // `_exit`s), while the dumping thread may be at work.
    let (run, diff, report) =
        run_and_judge(&work, &dumps_arg, &[], &["--run-ms", "2500", "--fork"]);

    // The program ran as it runs alone: its own output and exit status.
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("served "), "{}", run.stdout);
    let running = run.stderr.lines().find(|l| l.contains("Running")).unwrap();
    // It keeps frame pointers (the fixtures' build adds them): walked.
    assert!(!run.stderr.contains("Note"), "{}", run.stderr);
    assert!(
        running.ends_with(&format!(
            "with leakcheck: a snapshot every 150ms into {dumps_arg}; judge them with \
             `cargo leakcheck diff {dumps_arg}`"
        )),
        "{running}"
    );
    let files = snapshot_count(&dumps);
    assert!(files >= 5, "{files} snapshots:\n{}", run.stderr);

    // The leak is found at its line, in the function that holds it.
    assert_eq!(diff.code, Some(1), "{}", diff.stderr);
    let line = line_of("server", "src/main.rs", "leaks: one entry per request");
    let test = &report["tests"][0];
    assert_eq!(test["verdict"], "leak", "{report}");
    let site = &test["sites"][0];
    assert_eq!(site["file"], "src/main.rs", "{site}");
    assert_eq!(site["line"], line, "{site}");
    let leak_row = diff.stderr.lines().find(|l| l.contains("LEAK")).unwrap();
    assert!(
        leak_row.contains(&format!("src/main.rs:{line} "))
            && leak_row.ends_with("in handle_request"),
        "{leak_row}"
    );
    // Nothing else grew: no site of the tracker, of the C library or of
    // std's own caches.
    let sites = test["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 1, "{report}");
}

/// A release build as cargo makes it by default, without frame pointers:
/// `run` reads that from its code, says so, and takes stacks with the
/// DWARF unwinder, which still names the line.
#[test]
fn a_program_without_frame_pointers_is_unwound() {
    let _serial = serial();
    let target = flags_target_dir(RustFlags::NoFramePointers);
    let build: Run = clean_command(
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &fixture("server"),
    )
    .env("RUSTFLAGS", "")
    .env("CARGO_TARGET_DIR", &target)
    .args(["build", "--release", "--quiet"])
    .output()
    .expect("cargo runs")
    .into();
    assert_eq!(build.code, Some(0), "{}", build.stderr);
    let bin = target.join("release/server").display().to_string();
    let scratch = tempfile::tempdir_in(fixture_target_dir()).unwrap();
    let dumps = scratch.path().join("unwound").display().to_string();
    let work = fixture("server");
    let run = leakcheck_in(
        &work,
        &[
            "run",
            "--dump-every",
            "150ms",
            "--dump-dir",
            &dumps,
            "--",
            &bin,
            "--run-ms",
            "2500",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let note = run
        .stderr
        .lines()
        .find(|l| l.contains("Note"))
        .unwrap_or_else(|| panic!("no note:\n{}", run.stderr));
    assert!(
        note.ends_with(&format!(
            "Note {bin} keeps no frame pointers: every allocation's stack is taken with the \
             DWARF unwinder, many times slower; build it with frame pointers (`-C \
             force-frame-pointers=yes`, `-fno-omit-frame-pointer`) to have them walked"
        )),
        "{note}"
    );
    let diff = leakcheck_in(&work, &["diff", &dumps]);
    assert_eq!(diff.code, Some(1), "{}", diff.stderr);
    let line = line_of("server", "src/main.rs", "leaks: one entry per request");
    let leak_rows: Vec<&str> = diff.stderr.lines().filter(|l| l.contains("LEAK")).collect();
    assert_eq!(leak_rows.len(), 1, "{}", diff.stderr);
    assert!(
        leak_rows[0].contains(&format!("src/main.rs:{line} ")),
        "{}",
        diff.stderr
    );
}

#[test]
fn a_bounded_cache_and_the_children_of_the_program_are_not_leaks() {
    let _serial = serial();
    let work = fixture("server");
    let scratch = tempfile::tempdir_in(fixture_target_dir()).unwrap();
    let dumps = scratch.path().join("bounded");
    let dumps_arg = dumps.display().to_string();
    let (run, diff, report) = run_and_judge(
        &work,
        &dumps_arg,
        &["--native", "-q"],
        &["--run-ms", "2500", "--bounded", "--children"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stderr, "", "-q prints nothing of its own");
    assert_eq!(diff.code, Some(0), "{}", diff.stderr);
    assert_eq!(report["tests"][0]["verdict"], "clean", "{report}");
    // The children (`/bin/sh`, which `exec`s a copy of the server for
    // 400 ms, every 500 requests) loaded the library too, and stood aside:
    // every snapshot is the server's own.
    let pids: std::collections::BTreeSet<u64> = std::fs::read_dir(&dumps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let snapshot: Value =
                serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            snapshot["origin"]["pid"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(pids.len(), 1, "{pids:?}");
}

/// `--children`: the copies of itself the server starts through `/bin/sh`
/// (which `exec`s them) are tracked too, each into `pid-<its pid>/`, a
/// series `diff` judges on its own.
#[test]
fn children_are_tracked_when_asked() {
    let _serial = serial();
    let bin = server().display().to_string();
    let scratch = tempfile::tempdir_in(fixture_target_dir()).unwrap();
    let dumps = scratch.path().join("family");
    let dumps_arg = dumps.display().to_string();
    let work = fixture("server");
    let run = leakcheck_in(
        &work,
        &[
            "run",
            "-q",
            "--children",
            "--dump-every",
            "100ms",
            "--dump-dir",
            &dumps_arg,
            "--",
            &bin,
            "--run-ms",
            "1200",
            "--bounded",
            "--children",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let children: Vec<PathBuf> = std::fs::read_dir(&dumps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert!(!children.is_empty(), "no child's directory in {dumps_arg}");
    for child in &children {
        let name = child.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("pid-"), "{name}");
        // 400 ms of serving at a snapshot every 100 ms.
        assert!(snapshot_count(child) >= 2, "{}", child.display());
        let diff = leakcheck_in(&work, &["diff", child.to_str().unwrap()]);
        assert_eq!(diff.code, Some(0), "{}", diff.stderr);
    }
    assert!(snapshot_count(&dumps) >= 5, "the server's own series");
}

#[test]
fn programs_it_cannot_track_get_one_line_and_exit_2() {
    let _serial = serial();
    let work = tempfile::tempdir().unwrap();
    let missing = leakcheck_in(work.path(), &["run", "--", "no-such-program-anywhere"]);
    assert_eq!(missing.code, Some(2), "{}", missing.stderr);
    assert_eq!(
        missing.only_stderr_line(),
        "error: `no-such-program-anywhere` was not found (no such file, or no such program in PATH)"
    );
    let text = work.path().join("notes.txt");
    std::fs::write(&text, "not a program").unwrap();
    let not_elf = leakcheck_in(work.path(), &["run", "--", "./notes.txt"]);
    assert_eq!(not_elf.code, Some(2), "{}", not_elf.stderr);
    assert_eq!(
        not_elf.only_stderr_line(),
        "error: `./notes.txt` is neither an ELF executable nor a script"
    );
    // Debian's ldconfig is a static executable.
    let ldconfig = Path::new("/sbin/ldconfig");
    if ldconfig.exists() {
        let static_run = leakcheck_in(work.path(), &["run", "--", "/sbin/ldconfig", "-p"]);
        assert_eq!(static_run.code, Some(2), "{}", static_run.stderr);
        assert!(
            static_run
                .only_stderr_line()
                .starts_with("error: `/sbin/ldconfig` is statically linked: "),
            "{}",
            static_run.stderr
        );
    }
    // A program whose global allocator is mimalloc: its Rust blocks never
    // reach malloc.
    let own = release_build("own-allocator", "own-allocator");
    let own_arg = own.display().to_string();
    let refused = leakcheck_in(work.path(), &["run", "--", &own_arg]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert_eq!(
        refused.only_stderr_line(),
        format!(
            "error: `{own_arg}` has an allocator of its own (mimalloc): its allocations never \
             reach the C library's malloc, which is what leakcheck's preloaded library tracks \
             (check it with `dump_every` inside, built with leakcheck's allocator)"
        )
    );
    // A stripped program: Rust's blocks cannot be told from C's, unless
    // every block is wanted (--native).
    let stripped = work.path().join("server-stripped");
    std::fs::copy(server(), &stripped).unwrap();
    let strip: Run = std::process::Command::new("strip")
        .arg(&stripped)
        .output()
        .expect("strip runs")
        .into();
    assert_eq!(strip.code, Some(0), "{}", strip.stderr);
    let refused = leakcheck_in(work.path(), &["run", "--", "./server-stripped"]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused
            .only_stderr_line()
            .starts_with("error: `./server-stripped` has no symbol table (stripped): "),
        "{}",
        refused.stderr
    );
    let dumps = work.path().join("stripped-dumps").display().to_string();
    let native = run_native(
        work.path(),
        &dumps,
        &["./server-stripped", "--run-ms", "300"],
    );

    assert_eq!(native.code, Some(0), "{}", native.stderr);
    assert!(snapshot_count(Path::new(&dumps)) >= 1, "{}", native.stderr);

    // A name that would be a terminal escape is shown inert.
    let hostile = leakcheck_in(work.path(), &["run", "--", "./\u{1b}[31mred"]);
    assert_eq!(hostile.code, Some(2), "{}", hostile.stderr);
    assert!(!hostile.stderr.contains('\u{1b}'), "{:?}", hostile.stderr);
    let bad_interval = leakcheck_in(work.path(), &["run", "--dump-every", "soon", "--", "true"]);
    assert_eq!(bad_interval.code, Some(2), "{}", bad_interval.stderr);
}

/// The `ffi` fixture's program (`src/bin/ffi-service.rs`), built in
/// release: C code in a static library built by `cc`, and a shared library
/// loaded with `dlopen` whose thread-local every worker thread sets up.
fn ffi_service() -> PathBuf {
    release_build("ffi", "ffi-service")
}

#[test]
fn c_allocations_are_tracked_with_native_and_left_out_without() {
    let _serial = serial();
    let bin = ffi_service().display().to_string();
    let work = fixture("ffi");
    let scratch = tempfile::tempdir_in(fixture_target_dir()).unwrap();
    let judge = |name: &str, native: bool, sample: Option<&str>| {
        let dumps = scratch.path().join(name).display().to_string();
        let json = format!("{dumps}.json");
        let mut args = vec!["run", "-q", "--dump-every", "150ms", "--dump-dir", &dumps];
        if native {
            args.push("--native");
        }
        args.extend(sample);
        args.extend(["--", &bin, "--run-ms", "2500"]);
        let run = leakcheck_in(&work, &args);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert!(run.stdout.starts_with("served "), "{}", run.stdout);
        let diff = leakcheck_in(&work, &["diff", &dumps, "--json", &json]);
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (diff, report)
    };

    // --native: the C store's lost buffers at their C line, and the
    // registry in the shared library at its line.
    let (diff, report) = judge("native", true, None);
    assert_eq!(diff.code, Some(1), "{}", diff.stderr);
    let sites: Vec<(String, u64)> = report["tests"][0]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap().to_owned(),
                s["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let store = line_of("ffi", "csrc/store.c", "C LEAK");
    let registry = line_of("ffi", "csrc/registry.c", "C REGISTRY");
    assert!(
        sites.contains(&("csrc/store.c".into(), store.into())),
        "{sites:?}\n{}",
        diff.stderr
    );
    assert!(
        sites.contains(&("csrc/registry.c".into(), registry.into())),
        "{sites:?}\n{}",
        diff.stderr
    );
    assert!(
        sites.iter().all(|(file, _)| file.starts_with("csrc/")),
        "{sites:?}\n{}",
        diff.stderr
    );

    // Without it: the same program, only Rust's allocations, none of
    // which grows.
    let (diff, report) = judge("rust", false, None);
    assert_eq!(diff.code, Some(0), "{}", diff.stderr);
    assert_eq!(report["tests"][0]["verdict"], "clean", "{report}");

    // Sampled: most blocks, C's and Rust's, are glibc's as they are (the
    // registry's `realloc`ed array, the freed copies); the C store's leak
    // is still named at its line, from its samples.
    let (diff, report) = judge("sampled", true, Some("--sample=512"));
    assert_eq!(diff.code, Some(1), "{}", diff.stderr);
    let leaks: Vec<(String, u64)> = report["tests"][0]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["verdict"] == "leak")
        .map(|s| {
            (
                s["file"].as_str().unwrap().to_owned(),
                s["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        leaks.contains(&("csrc/store.c".into(), store.into())),
        "{leaks:?}\n{}",
        diff.stderr
    );
}

/// Thread-local storage set up inside `malloc`: 64 more copies of a shared
/// library with a thread-local, loaded while a thread waits, whose first
/// reads of them grow its thread-local table in `__tls_get_addr` with
/// `malloc`, which is the preloaded library's (and reads its own
/// thread-locals). The program runs to its end, as it does alone.
#[test]
fn thread_locals_set_up_inside_malloc_do_not_recurse() {
    let _serial = serial();
    let bin = ffi_service().display().to_string();
    let scratch = tempfile::tempdir_in(fixture_target_dir()).unwrap();
    let dumps = scratch.path().join("libraries").display().to_string();
    let run = run_native(
        &fixture("ffi"),
        &dumps,
        &[&bin, "--libraries", "64", "--run-ms", "500"],
    );

    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("served "), "{}", run.stdout);
    assert!(snapshot_count(Path::new(&dumps)) >= 2, "{}", run.stderr);
}

/// `--sample` and `--dump-signal`: a service in production mode. No timer
/// fires within the run (`--dump-every 1h`); each `SIGUSR2` writes one
/// snapshot, whose counts are estimates at the rate asked for, and the
/// series still names the leaking line, with heap and RSS beside it.
#[test]
fn a_sampled_run_dumps_on_a_signal_and_still_names_the_leak() {
    let _serial = serial();
    let bin = server();
    let work = fixture("server");
    let scratch = tempfile::tempdir_in(fixture_target_dir()).unwrap();
    let dumps = scratch.path().join("sampled");
    let dumps_arg = dumps.display().to_string();
    let child = clean_command(cargo_leakcheck_bin(), &work)
        .args([
            "leakcheck",
            "run",
            "--sample=16KiB",
            "--dump-signal",
            "USR2",
        ])
        .args(["--dump-every", "1h", "--dump-dir", &dumps_arg, "--"])
        .arg(&bin)
        .args(["--run-ms", "4000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The program runs as this child's process (exec): its pid is the
    // child's. Wait for the library to set up (the directory appears).
    let pid = child.id() as i32;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !dumps.is_dir() {
        assert!(std::time::Instant::now() < deadline, "no dump directory");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut asked = 0;
    while asked < 6 {
        std::thread::sleep(std::time::Duration::from_millis(400));
        // SAFETY: signals the child started above, still running (it runs
        // for 4 s).
        assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR2) }, 0);
        asked += 1;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while snapshot_count(&dumps) < asked {
            assert!(
                std::time::Instant::now() < deadline,
                "no dump for signal {asked}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    let run: Run = child.wait_with_output().unwrap().into();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let running = run.stderr.lines().find(|l| l.contains("Running")).unwrap();
    assert!(
        running.contains("(sampled: 1 per 16.0 KiB, sizes and counts estimated)")
            && running.contains("a snapshot every 60m and on signal 12"),
        "{running}"
    );
    // Only the signals wrote snapshots (the timer's first is an hour away).
    assert_eq!(snapshot_count(&dumps), 6, "{}", run.stderr);

    let first: Value =
        serde_json::from_str(&std::fs::read_to_string(dumps.join("snapshot-000001.json")).unwrap())
            .unwrap();
    assert_eq!(
        first["origin"]["sampling"],
        serde_json::json!({"mean_bytes": 16384, "min_one_in": 1024})
    );
    assert!(first["origin"]["memory"]["rss_bytes"].as_u64().unwrap() > 1 << 20);

    let diff = leakcheck_in(&work, &["diff", &dumps_arg, "--json", "sampled.json"]);
    assert_eq!(diff.code, Some(1), "{}", diff.stderr);
    let line = line_of("server", "src/main.rs", "leaks: one entry per request");
    let leak_row = diff.stderr.lines().find(|l| l.contains("LEAK")).unwrap();
    assert!(
        leak_row.contains(&format!("src/main.rs:{line} ")),
        "{leak_row}"
    );
    assert!(
        diff.stderr.contains(
            "note: sizes and counts are estimated, 1 sample per 16 KiB and at least 1 in \
             1024 allocations"
        ),
        "{}",
        diff.stderr
    );
    let memory = diff
        .stderr
        .lines()
        .find(|l| l.starts_with("memory over "))
        .unwrap_or_else(|| panic!("{}", diff.stderr));
    assert!(
        memory.contains("heap counted") && memory.contains("resident (RSS)"),
        "{memory}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("sampled.json")).unwrap()).unwrap();
    std::fs::remove_file(work.join("sampled.json")).unwrap();
    let test = &report["tests"][0];
    assert_eq!(test["estimated"]["mean_bytes"], 16384, "{report}");
    assert_eq!(test["memory"].as_array().unwrap().len(), 6, "{report}");
    let site = &test["sites"][0];
    assert_eq!(
        (site["file"].as_str(), site["line"].as_u64()),
        (Some("src/main.rs"), Some(line as u64)),
        "{site}"
    );
}
