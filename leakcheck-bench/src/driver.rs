//! The driver: runs the bench binaries interleaved (one process per
//! measure, the order of allocators rotated every round), then prints the
//! medians, the ratios and their spread across rounds as Markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::child::{Measure, SAMPLED_ENV, Variant};
use crate::heaptrack::{self, DataDir};
use crate::preloaded::{self, DumpDir};
use crate::tracing::median;
use crate::workloads::Workload;

/// The System and leakcheck bench binaries of one build, small and large
/// (the large ones link tokio, serde and regex).
#[derive(Debug, Clone)]
pub struct Build {
    /// `bench-system`, `bench-leakcheck`.
    pub small: [PathBuf; 2],
    /// `bench-large-system`, `bench-large-leakcheck`.
    pub large: [PathBuf; 2],
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// `bench-system`, `bench-leakcheck`, `bench-dhat`.
    pub binaries: [PathBuf; 3],
    /// `bench-leakcheck` built with `LEAKCHECK_NATIVE=1` ([`Variant::Native`]).
    pub native: PathBuf,
    /// `libleakcheck_preload.so`, built as `cargo leakcheck run` builds it
    /// ([`Variant::Run`], [`Variant::RunUnwind`], [`Variant::RunSampled`]).
    pub preload: PathBuf,
    /// The heaptrack launcher; `None` when heaptrack is not installed, and
    /// its figures are left out.
    pub heaptrack: Option<PathBuf>,
    /// The release (bench profile) build, for the fixed cost.
    pub release: Build,
    /// The build `cargo leakcheck` makes: the test profile, leakcheck-rt and
    /// the symbolisation crates optimised (`None` with `--no-debug`).
    pub debug: Option<Build>,
    /// Rounds of every measure under System and leakcheck.
    pub rounds: usize,
    /// Rounds of the workloads under dhat (it is 30–150x slower).
    pub dhat_rounds: usize,
    /// Rounds of the workloads under heaptrack.
    pub heaptrack_rounds: usize,
    /// Rounds of the workloads under `cargo leakcheck run` with the DWARF
    /// unwinder (30–150x System on the allocation loops).
    pub run_unwind_rounds: usize,
    /// Stop glibc from trimming the top of the heap (and faulting it back
    /// in) in every child, so that the ratios leave out where glibc's
    /// trimming heuristic happens to fire.
    pub no_trim: bool,
}

impl Config {
    /// Reads `--rounds N`, `--dhat-rounds N`, `--heaptrack-rounds N`,
    /// `--run-unwind-rounds N` and `--no-trim`; other arguments (cargo
    /// passes `--bench`) are ignored.
    pub fn from_args(
        binaries: [PathBuf; 3],
        native: PathBuf,
        preload: PathBuf,
        release: Build,
        debug: Option<Build>,
        args: &[String],
    ) -> Config {
        let flag = |name: &str, default: usize| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Config {
            binaries,
            native,
            preload,
            heaptrack: heaptrack::find(),
            release,
            debug,
            rounds: flag("--rounds", 7).max(1),
            dhat_rounds: flag("--dhat-rounds", 3),
            heaptrack_rounds: flag("--heaptrack-rounds", 3),
            run_unwind_rounds: flag("--run-unwind-rounds", 3),
            no_trim: args.iter().any(|a| a == "--no-trim"),
        }
    }

    /// The binary a variant runs.
    fn binary(&self, variant: Variant) -> &Path {
        match variant {
            Variant::System
            | Variant::Heaptrack
            | Variant::Run
            | Variant::RunUnwind
            | Variant::RunSampled => &self.binaries[0],
            Variant::Leakcheck | Variant::Sampled => &self.binaries[1],
            Variant::Dhat => &self.binaries[2],
            Variant::Native => &self.native,
        }
    }

    /// The untimed runs before a workload's timed one under `variant` in
    /// `round`, or `None` when the variant sits the round out.
    fn warmup(&self, variant: Variant, round: usize) -> Option<usize> {
        match variant {
            // dhat gets no warm-up run: it is the slow one, and its ratio
            // target has a wide margin.
            Variant::Dhat => (round < self.dhat_rounds).then_some(0),
            Variant::Heaptrack => {
                (self.heaptrack.is_some() && round < self.heaptrack_rounds).then_some(1)
            }
            Variant::RunUnwind => (round < self.run_unwind_rounds).then_some(1),
            _ => Some(1),
        }
    }
}

/// glibc tunable that keeps freed memory at the top of the heap mapped.
const NO_TRIM: &str = "glibc.malloc.trim_threshold=4294967295";

/// Every value a measure reported, per round.
type Results = BTreeMap<(Variant, String), Vec<BTreeMap<String, f64>>>;

fn run_child(config: &Config, variant: Variant, measure: Measure) -> BTreeMap<String, f64> {
    let bin = config.binary(variant);
    let sample = preloaded::default_sample();
    match (variant, &config.heaptrack) {
        (Variant::Heaptrack, Some(launcher)) => run_heaptrack(config, launcher, bin, measure),
        (Variant::Native, _) => {
            let values = run_binary(config, bin, measure);
            let what = "does not count C's malloc: not a LEAKCHECK_NATIVE=1 build";
            check_flag(&values, "c_malloc_traced", true, bin, what);
            values
        }
        (Variant::Leakcheck, _) => {
            let values = run_binary(config, bin, measure);
            check_flag(&values, "sampled", false, bin, "sampled: not exact");
            values
        }
        (Variant::Sampled, _) => {
            let mut command = Command::new(bin);
            command.env(SAMPLED_ENV, "1");
            let values = run_command(config, command, measure);
            let what = "did not sample: `leakcheck_rt::sample_rate()` is None";
            check_flag(&values, "sampled", true, bin, what);
            values
        }
        (Variant::Run, _) => run_preloaded(config, bin, false, None, measure),
        (Variant::RunUnwind, _) => run_preloaded(config, bin, true, None, measure),
        (Variant::RunSampled, _) => run_preloaded(config, bin, false, Some(sample), measure),
        _ => run_binary(config, bin, measure),
    }
}

/// Checks the `0`/`1` metric `key` of a tracked run: `expected`, or `bin`
/// `what`.
fn check_flag(values: &BTreeMap<String, f64>, key: &str, expected: bool, bin: &Path, what: &str) {
    let value = values.get(key);
    assert!(value.is_some(), "{} printed no {key}", bin.display());
    assert_eq!(value == Some(&1.0), expected, "{} {what}", bin.display());
}

/// `bin` as it is: `bench-leakcheck` tracks exactly ([`SAMPLED_ENV`] is
/// cleared, whatever the bench's own environment holds).
fn run_binary(config: &Config, bin: &Path, measure: Measure) -> BTreeMap<String, f64> {
    let mut command = Command::new(bin);
    command.env_remove(SAMPLED_ENV);
    run_command(config, command, measure)
}

/// `bin` under heaptrack; also reports the wall time of the whole wrapped
/// run (`heaptrack_run_nanos`): the launcher, the child's warm-up run and
/// the interpreter's finishing of the data file included.
fn run_heaptrack(
    config: &Config,
    launcher: &Path,
    bin: &Path,
    measure: Measure,
) -> BTreeMap<String, f64> {
    let dir = DataDir::create().expect("a directory for heaptrack's data file");
    let t = Instant::now();
    let mut values = run_command(config, dir.command(launcher, bin), measure);
    values.insert("heaptrack_run_nanos".into(), t.elapsed().as_nanos() as f64);
    values
}

/// `bin` started as `cargo leakcheck run` starts a program, with the
/// preloaded library tracking it, its stacks taken with the DWARF unwinder
/// if `unwind`, else by walking frame pointers, sampled at `sample` if
/// given; checks that the run was tracked.
fn run_preloaded(
    config: &Config,
    bin: &Path,
    unwind: bool,
    sample: Option<(u64, u64)>,
    measure: Measure,
) -> BTreeMap<String, f64> {
    let dir = DumpDir::fresh().expect("a fresh path for the dump directory");
    let command = dir.command(&config.preload, bin, unwind, sample);
    let output = output(config, command, measure);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        dir.tracked(&stderr),
        "{} did not track {}: it created no dump directory, or gave up{}",
        config.preload.display(),
        bin.display(),
        if stderr.is_empty() {
            String::new()
        } else {
            format!(":\n{stderr}")
        }
    );
    metrics(&output)
}

/// Runs `command` with `measure`'s arguments and reads back the `key value`
/// lines of its stdout (other lines, such as a wrapper's own, are skipped).
fn run_command(config: &Config, command: Command, measure: Measure) -> BTreeMap<String, f64> {
    metrics(&output(config, command, measure))
}

/// Runs `command` with `measure`'s arguments to its end; panics if it
/// fails.
fn output(config: &Config, mut command: Command, measure: Measure) -> Output {
    command.args(measure.args());
    if config.no_trim {
        command.env("GLIBC_TUNABLES", NO_TRIM);
    }
    let what = format!("{command:?}");
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("failed to run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The `key value` lines of a child's stdout.
fn metrics(output: &Output) -> BTreeMap<String, f64> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(metric)
        .collect()
}

/// A `key value` line of a child: a key of letters, digits and `_`, and a
/// number.
fn metric(line: &str) -> Option<(String, f64)> {
    let (key, value) = line.split_once(' ')?;
    let is_key = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let value = value.trim().parse().ok()?;
    is_key.then(|| (key.to_owned(), value))
}

/// Runs every measure `config.rounds` times, interleaved.
pub fn run(config: &Config) -> Results {
    let mut results = Results::new();
    let record = |results: &mut Results, variant: Variant, measure: Measure, config: &Config| {
        let values = run_child(config, variant, measure);
        results
            .entry((variant, measure.label()))
            .or_default()
            .push(values);
    };
    for round in 0..config.rounds {
        eprintln!("round {}/{}", round + 1, config.rounds);
        for workload in Workload::ALL {
            for k in 0..Variant::ALL.len() {
                let variant = Variant::ALL[(round + k) % Variant::ALL.len()];
                if let Some(warmup) = config.warmup(variant, round) {
                    let measure = Measure::Workload(workload, warmup);
                    record(&mut results, variant, measure, config);
                }
            }
        }
        let both = if round % 2 == 0 {
            [Variant::System, Variant::Leakcheck]
        } else {
            [Variant::Leakcheck, Variant::System]
        };
        for measure in [Measure::Hold(16), Measure::Hold(24), Measure::LeakTest] {
            for variant in both {
                record(&mut results, variant, measure, config);
            }
        }
        record(&mut results, Variant::Leakcheck, Measure::Snapshot, config);
        run_builds(config, round, &mut results);
    }
    results
}

/// The label of a measure in a build other than the release one.
fn in_build(build: &str, measure: &str) -> String {
    format!("{build} {measure}")
}

/// The fixed cost in every build, and the workloads in the debug build.
fn run_builds(config: &Config, round: usize, results: &mut Results) {
    let order = if round.is_multiple_of(2) {
        [0, 1]
    } else {
        [1, 0]
    };
    let variants = [Variant::System, Variant::Leakcheck];
    let mut builds = vec![("release", &config.release)];
    if let Some(debug) = &config.debug {
        builds.push(("debug", debug));
    }
    for (name, build) in builds {
        for (size, bins) in [("small", &build.small), ("large", &build.large)] {
            for i in order {
                let values = run_binary(config, &bins[i], Measure::Fixed);
                results
                    .entry((variants[i], in_build(name, &format!("fixed {size}"))))
                    .or_default()
                    .push(values);
            }
        }
        if name == "debug" {
            for workload in Workload::ALL {
                for i in order {
                    let measure = Measure::Workload(workload, 1);
                    let values = run_binary(config, &build.small[i], measure);
                    results
                        .entry((variants[i], in_build(name, workload.name())))
                        .or_default()
                        .push(values);
                }
            }
        }
    }
}

/// The tracked / System target of a workload.
fn system_target(w: Workload) -> f64 {
    match w {
        Workload::BoxLoop | Workload::TwoThreads => 2.0,
        _ => 1.25,
    }
}

/// The sampled / System target, on every workload.
const SAMPLED_TARGET: f64 = 1.05;

/// The exact / System target beside sampled tracking: the
/// allocation loops at 2.2x, the rest as [`system_target`].
fn exact_target(w: Workload) -> f64 {
    match w {
        Workload::BoxLoop | Workload::TwoThreads => 2.2,
        _ => system_target(w),
    }
}

fn values(results: &Results, variant: Variant, measure: &str, key: &str) -> Vec<f64> {
    results
        .get(&(variant, measure.to_owned()))
        .map(|rounds| rounds.iter().filter_map(|r| r.get(key).copied()).collect())
        .unwrap_or_default()
}

fn med(results: &Results, variant: Variant, measure: &str, key: &str) -> f64 {
    median(&mut values(results, variant, measure, key))
}

/// Ratio of medians, and the min–max of the per-round ratios.
fn ratio(a: &[f64], b: &[f64]) -> (f64, f64, f64) {
    let per_round: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = per_round.iter().copied().fold(0.0, f64::max);
    (median(&mut a.to_vec()) / median(&mut b.to_vec()), lo, hi)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// The machine the figures were taken on.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "rustc (unknown version)".into());
    format!("{cores} cores, {cpu}, {rustc}")
}

/// The Markdown report of one run.
pub fn report(config: &Config, results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Machine: {}. Rounds: {} (dhat: {}, heaptrack: {}, `run` with the unwinder: {}){}; \
         medians, ratio of medians, and the min–max of the per-round ratios. The System targets are judged \
         on CPU time (all threads), which another process on the machine does \
         not inflate.\n",
        machine(),
        config.rounds,
        config.dhat_rounds.min(config.rounds),
        heaptrack_rounds(config),
        config.run_unwind_rounds.min(config.rounds),
        if config.no_trim {
            format!(", `GLIBC_TUNABLES={NO_TRIM}`")
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "| workload | System ms | leakcheck ms | dhat ms | leakcheck / System | by CPU time | \
         target | leakcheck / dhat | target | minor faults S / L / D |"
    );
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: |"
    );
    for w in Workload::ALL {
        let m = w.name();
        let sys = values(results, Variant::System, m, "nanos");
        let lc = values(results, Variant::Leakcheck, m, "nanos");
        let dh = values(results, Variant::Dhat, m, "nanos");
        let (r, lo, hi) = ratio(&lc, &sys);
        let (cpu, cpu_lo, cpu_hi) = ratio(
            &values(results, Variant::Leakcheck, m, "cpu_nanos"),
            &values(results, Variant::System, m, "cpu_nanos"),
        );
        let limit = system_target(w);
        let dhat_cell = if dh.is_empty() {
            ("–".to_owned(), "–".to_owned(), "–")
        } else {
            // Against the rounds dhat ran in, so the spread and the median agree.
            let (d, dlo, dhi) = ratio(&lc[..dh.len().min(lc.len())], &dh);
            (
                format!("{:.1}", median(&mut dh.clone()) / 1e6),
                format!("{d:.3} ({dlo:.3}–{dhi:.3})"),
                verdict(d <= 0.1),
            )
        };
        let faults = |v: Variant| med(results, v, m, "minflt");
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {} | {r:.2}x ({lo:.2}–{hi:.2}) | {cpu:.2}x ({cpu_lo:.2}–{cpu_hi:.2}) | ≤ {limit}x {} | {} | ≤ 0.1 {} | {:.0} / {:.0} / {:.0} |",
            w.name(),
            median(&mut sys.clone()) / 1e6,
            median(&mut lc.clone()) / 1e6,
            dhat_cell.0,
            verdict(cpu <= limit),
            dhat_cell.1,
            dhat_cell.2,
            faults(Variant::System),
            faults(Variant::Leakcheck),
            faults(Variant::Dhat),
        );
    }

    let _ = writeln!(
        out,
        "\n| 1M live blocks of | RSS / block, System | RSS / block, leakcheck | \
         RSS overhead / block | `tracker_memory()` / block | target |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | --- |");
    for size in [16, 24] {
        let m = format!("hold {size}");
        let sys = med(results, Variant::System, &m, "rss_per_block");
        let lc = med(results, Variant::Leakcheck, &m, "rss_per_block");
        let tracker = med(results, Variant::Leakcheck, &m, "tracker_per_block");
        let _ = writeln!(
            out,
            "| {size} B | {sys:.1} B | {lc:.1} B | {:.1} B | {tracker:.1} B | ≤ 32 B {} |",
            lc - sys,
            verdict(tracker <= 32.0 && lc - sys <= 32.0),
        );
    }

    let cold = values(results, Variant::Leakcheck, "snapshot", "cold_snapshot_ns");
    let warm = values(
        results,
        Variant::Leakcheck,
        "snapshot",
        "warm_snapshot_diff_ns",
    );
    let diff = med(results, Variant::Leakcheck, "snapshot", "diff_ns");
    let by_stack = med(results, Variant::Leakcheck, "snapshot", "diff_traceback_ns");
    let changed = med(results, Variant::Leakcheck, "snapshot", "stacks_changed");
    let traces = med(results, Variant::Leakcheck, "snapshot", "traces");
    let distinct = med(
        results,
        Variant::Leakcheck,
        "snapshot",
        "stacks_with_1000_blocks",
    );
    let spread = |xs: &[f64]| {
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min) / 1e6;
        let hi = xs.iter().copied().fold(0.0, f64::max) / 1e6;
        format!("{:.1} ms ({lo:.1}–{hi:.1})", median(&mut xs.to_vec()) / 1e6)
    };
    let warm_ms = median(&mut warm.clone()) / 1e6;
    let _ = writeln!(
        out,
        "\n| snapshot, 1M live blocks over {distinct:.0} distinct stacks ({traces:.0} traces) | time | target |"
    );
    let _ = writeln!(out, "| --- | ---: | --- |");
    let _ = writeln!(
        out,
        "| first `take_snapshot` (symbolises every stack) | {} | |",
        spread(&cold)
    );
    let _ = writeln!(
        out,
        "| warm `take_snapshot` + `compare_to(Lineno)` | {} | ≤ 50 ms {} |",
        spread(&warm),
        verdict(warm_ms <= 50.0)
    );
    let _ = writeln!(
        out,
        "| of which `compare_to(Lineno)` | {:.1} ms | |",
        diff / 1e6
    );
    let _ = writeln!(
        out,
        "| `compare_to(Traceback)` ({changed:.0} of the stacks changed) | {:.1} ms | |",
        by_stack / 1e6
    );

    let dump = med(results, Variant::Leakcheck, "snapshot", "dump_ns");
    let dump_bytes = med(results, Variant::Leakcheck, "snapshot", "dump_bytes");
    let _ = writeln!(
        out,
        "| `Snapshot::dump` of it (one `dump_every` tick after the snapshot; {:.0} KiB file) | {:.1} ms | |",
        dump_bytes / 1024.0,
        dump / 1e6
    );

    let sys = values(results, Variant::System, "leak_test", "nanos");
    let lc = values(results, Variant::Leakcheck, "leak_test", "nanos");
    let _ = writeln!(
        out,
        "\n| leak-test loop, 10,000 iterations, 8 checkpoints | time |\n| --- | ---: |"
    );
    let _ = writeln!(out, "| body alone, System | {} |", spread(&sys));
    let _ = writeln!(
        out,
        "| start, warm-up, 9 snapshots, diff, stop, leakcheck | {} |",
        spread(&lc)
    );
    native_table(&mut out, config, results);
    run_table(&mut out, config, results);
    sampled_table(&mut out, config, results);
    if config.debug.is_some() {
        debug_table(&mut out, results);
    }
    fixed_table(&mut out, config, results);
    out
}

/// The rounds heaptrack ran in: none when it is not installed.
fn heaptrack_rounds(config: &Config) -> usize {
    if config.heaptrack.is_some() {
        config.heaptrack_rounds.min(config.rounds)
    } else {
        0
    }
}

/// [`ratio`] over the rounds both ran in, so the spread and the median
/// agree; `None` when either did not run.
fn paired_ratio(a: &[f64], b: &[f64]) -> Option<(f64, f64, f64)> {
    let n = a.len().min(b.len());
    (n > 0).then(|| ratio(&a[..n], &b[..n]))
}

/// A ratio cell, `r (lo–hi)`, of [`paired_ratio`]; `–` when either did not
/// run.
fn ratio_cell(a: &[f64], b: &[f64]) -> String {
    paired_ratio(a, b).map_or_else(
        || "–".into(),
        |(r, lo, hi)| format!("{r:.2}x ({lo:.2}–{hi:.2})"),
    )
}

/// A target cell, `≤ limit x` and the verdict on the median ratio of
/// [`paired_ratio`]; `–` when either did not run.
fn target_cell(a: &[f64], b: &[f64], limit: f64) -> String {
    paired_ratio(a, b).map_or_else(
        || "–".into(),
        |(r, _, _)| format!("≤ {limit}x {}", verdict(r <= limit)),
    )
}

/// A median in milliseconds, `–` when there are no values.
fn ms_cell(xs: &[f64]) -> String {
    if xs.is_empty() {
        "–".into()
    } else {
        format!("{:.1}", median(&mut xs.to_vec()) / 1e6)
    }
}

/// The median of the minor faults of `measure` under `variant`, `–` when
/// it did not run.
fn faults_cell(results: &Results, variant: Variant, measure: &str) -> String {
    match values(results, variant, measure, "minflt") {
        xs if xs.is_empty() => "–".to_owned(),
        mut xs => format!("{:.0}", median(&mut xs)),
    }
}

/// The workloads under `cargo leakcheck --native`'s `malloc` front end and
/// under heaptrack, beside System and the global-allocator tracker of the
/// same rounds. By wall time: heaptrack's interpreter works in a process
/// of its own, outside the child's CPU time.
fn native_table(out: &mut String, config: &Config, results: &Results) {
    let _ = writeln!(
        out,
        "\n`--native` (`bench-leakcheck` built with `LEAKCHECK_NATIVE=1`) and heaptrack \
         (`heaptrack -o DIR bench-system`, {} rounds): the wall time of the timed run, as the \
         child prints it after one untimed warm-up run in the same process (wall time, as \
         heaptrack's interpreter works in a process of its own, outside the child's CPU time); \
         the whole heaptrack run (the launcher, the warm-up run and the writing of the data file \
         included) in the last column but one.",
        heaptrack_rounds(config)
    );
    if config.heaptrack.is_none() {
        let _ = writeln!(
            out,
            "\nheaptrack is not installed here (`apt-get install heaptrack`): its columns are empty."
        );
    }
    let _ = writeln!(
        out,
        "\n| workload | System ms | leakcheck ms | --native ms | heaptrack ms | \
         --native / System | --native / leakcheck | heaptrack / System | --native / heaptrack | \
         heaptrack whole run ms | minor faults S / L / N / H |"
    );
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for w in Workload::ALL {
        let m = w.name();
        let nanos = |v: Variant| values(results, v, m, "nanos");
        let (sys, lc, native, ht) = (
            nanos(Variant::System),
            nanos(Variant::Leakcheck),
            nanos(Variant::Native),
            nanos(Variant::Heaptrack),
        );
        let whole = values(results, Variant::Heaptrack, m, "heaptrack_run_nanos");
        let faults = [
            Variant::System,
            Variant::Leakcheck,
            Variant::Native,
            Variant::Heaptrack,
        ]
        .map(|v| faults_cell(results, v, m));
        let _ = writeln!(
            out,
            "| {m} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            ms_cell(&sys),
            ms_cell(&lc),
            ms_cell(&native),
            ms_cell(&ht),
            ratio_cell(&native, &sys),
            ratio_cell(&native, &lc),
            ratio_cell(&ht, &sys),
            ratio_cell(&native, &ht),
            ms_cell(&whole),
            faults.join(" / "),
        );
    }
}

/// The workloads under `cargo leakcheck run`'s preloaded library, its
/// stacks walked by frame pointers and taken with the DWARF unwinder, a row
/// each, beside System, the global-allocator tracker and heaptrack of the
/// same rounds. By wall time, as [`native_table`].
fn run_table(out: &mut String, config: &Config, results: &Results) {
    let _ = writeln!(
        out,
        "\n`cargo leakcheck run` (`bench-system` started with `LD_PRELOAD` of \
         `libleakcheck_preload.so`, `{}=pid=<its pid>,{}`; the DWARF unwinder's rows with \
         `unwind=1`, rounds: {}): the wall time of the timed run, as the child prints it \
         after one untimed warm-up run in the same process.",
        leakcheck_format::protocol::run::RUN,
        preloaded::settings_after_pid(false, None),
        config.run_unwind_rounds.min(config.rounds),
    );
    let _ = writeln!(
        out,
        "\n| workload | stacks | System ms | leakcheck ms | heaptrack ms | run ms | \
         run / System | run / leakcheck | run / heaptrack | minor faults S / run |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for w in Workload::ALL {
        let m = w.name();
        let nanos = |v: Variant| values(results, v, m, "nanos");
        let (sys, lc, ht) = (
            nanos(Variant::System),
            nanos(Variant::Leakcheck),
            nanos(Variant::Heaptrack),
        );
        for (stacks, variant) in [
            ("frame pointers", Variant::Run),
            ("DWARF unwinder", Variant::RunUnwind),
        ] {
            let run = nanos(variant);
            let _ = writeln!(
                out,
                "| {m} | {stacks} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
                ms_cell(&sys),
                ms_cell(&lc),
                ms_cell(&ht),
                ms_cell(&run),
                ratio_cell(&run, &sys),
                ratio_cell(&run, &lc),
                ratio_cell(&run, &ht),
                faults_cell(results, Variant::System, m),
                faults_cell(results, variant, m),
            );
        }
    }
}

/// The workloads under sampled tracking, in `bench-leakcheck` and in
/// `cargo leakcheck run --sample`, beside exact tracking and heaptrack of
/// the same rounds, against their targets. The ratios to System by CPU
/// time, as the first table; heaptrack's by wall time, as [`native_table`].
fn sampled_table(out: &mut String, config: &Config, results: &Results) {
    let (mean, min) = preloaded::default_sample();
    let _ = writeln!(
        out,
        "\nSampled tracking: `bench-leakcheck` with `{SAMPLED_ENV}=1`, which calls \
         `start_sampled(25, SampleRate::default())` (one sample per {} KiB on average, at least \
         one in {min} allocations) and reports that `sample_rate()` is `Some`, and `cargo \
         leakcheck run --sample` (`bench-system` under the preloaded library, \
         `{}=pid=<its pid>,{}`), beside exact tracking (`start(25)`) and heaptrack ({} rounds). \
         The ratios to System by CPU time (all threads), as in the first table; heaptrack's by \
         wall time, as its interpreter works in a process of its own.",
        mean / 1024,
        leakcheck_format::protocol::run::RUN,
        preloaded::settings_after_pid(false, Some((mean, min))),
        heaptrack_rounds(config),
    );
    let _ = writeln!(
        out,
        "\n| workload | System CPU ms | sampled CPU ms | sampled / System | target | \
         `run --sample` / System | target | exact / System | target | heaptrack / System | \
         sampled / heaptrack | exact / heaptrack |"
    );
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | --- | ---: | --- | ---: | --- | ---: | ---: | ---: |"
    );
    for w in Workload::ALL {
        let m = w.name();
        let cpu = |v: Variant| values(results, v, m, "cpu_nanos");
        let nanos = |v: Variant| values(results, v, m, "nanos");
        let (sys, sampled, run, exact) = (
            cpu(Variant::System),
            cpu(Variant::Sampled),
            cpu(Variant::RunSampled),
            cpu(Variant::Leakcheck),
        );
        let ht = nanos(Variant::Heaptrack);
        let _ = writeln!(
            out,
            "| {m} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            ms_cell(&sys),
            ms_cell(&sampled),
            ratio_cell(&sampled, &sys),
            target_cell(&sampled, &sys, SAMPLED_TARGET),
            ratio_cell(&run, &sys),
            target_cell(&run, &sys, SAMPLED_TARGET),
            ratio_cell(&exact, &sys),
            target_cell(&exact, &sys, exact_target(w)),
            ratio_cell(&ht, &nanos(Variant::System)),
            ratio_cell(&nanos(Variant::Sampled), &ht),
            ratio_cell(&nanos(Variant::Leakcheck), &ht),
        );
    }
}

/// The workloads in the build `cargo leakcheck` makes.
fn debug_table(out: &mut String, results: &Results) {
    let _ = writeln!(
        out,
        "\n| workload, debug build (test profile, leakcheck-rt optimised) | System ms | \
         leakcheck ms | leakcheck / System by CPU time | target |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | --- |");
    for w in Workload::ALL {
        let m = in_build("debug", w.name());
        let cpu = |v: Variant| values(results, v, &m, "cpu_nanos");
        let (r, lo, hi) = ratio(&cpu(Variant::Leakcheck), &cpu(Variant::System));
        let limit = system_target(w);
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {r:.2}x ({lo:.2}–{hi:.2}) | ≤ {limit}x {} |",
            w.name(),
            med(results, Variant::System, &m, "cpu_nanos") / 1e6,
            med(results, Variant::Leakcheck, &m, "cpu_nanos") / 1e6,
            verdict(r <= limit),
        );
    }
}

/// The fixed cost per process: leakcheck's process minus System's doing
/// the same work untracked.
fn fixed_table(out: &mut String, config: &Config, results: &Results) {
    let _ = writeln!(
        out,
        "\n| fixed cost per process: `start(25)`, two snapshots, `compare_to`, \
         10 report lines | binary | CPU ms, leakcheck − System | target | \
         peak RSS MiB, leakcheck − System | target |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | --- | ---: | --- |");
    let mut builds = vec![("release", &config.release)];
    if let Some(debug) = &config.debug {
        builds.push(("debug", debug));
    }
    for (name, build) in builds {
        for (size, bins) in [("small", &build.small), ("large", &build.large)] {
            let m = in_build(name, &format!("fixed {size}"));
            let delta = |key: &str| {
                med(results, Variant::Leakcheck, &m, key) - med(results, Variant::System, &m, key)
            };
            let cpu_ms = delta("process_cpu_nanos") / 1e6;
            let rss_mib = delta("max_rss_bytes") / (1024.0 * 1024.0);
            let mib = std::fs::metadata(&bins[1]).map_or(0.0, |m| m.len() as f64 / 1048576.0);
            let _ = writeln!(
                out,
                "| {name}, {size} | {mib:.0} MiB | {cpu_ms:.1} | ≤ 25 {} | {rss_mib:.1} | ≤ 16 {} |",
                verdict(cpu_ms <= 25.0),
                verdict(rss_mib <= 16.0),
            );
        }
    }
}
