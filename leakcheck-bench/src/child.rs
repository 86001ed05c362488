//! The side of the benchmark that runs inside each bench binary: one
//! measure per process, reported as `key value` lines on stdout.

use std::process::ExitCode;

use crate::fixed;
use crate::probe;
use crate::tracing;
use crate::workloads::Workload;

/// Set to `1` in `bench-leakcheck`'s environment: it traces sampled at
/// the default rate (the [`Variant::Sampled`] variant), not exactly.
pub const SAMPLED_ENV: &str = "LEAKCHECK_BENCH_SAMPLED";

/// What a measure runs under: the global allocator a bench binary was
/// built with, or one of those binaries built or run another way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    /// `bench-system`: the System allocator.
    System,
    /// `bench-leakcheck`: leakcheck's tracking allocator.
    Leakcheck,
    /// `bench-dhat`: dhat-rs.
    Dhat,
    /// `bench-leakcheck` built with `LEAKCHECK_NATIVE=1`, as `cargo
    /// leakcheck --native` builds tests: the binary's own `malloc` counts
    /// every block, Rust's through `System`. It runs as [`Variant::Leakcheck`].
    Native,
    /// `bench-system` run under heaptrack. It runs as [`Variant::System`].
    Heaptrack,
    /// `bench-system` started as `cargo leakcheck run` starts a program:
    /// leakcheck's library preloaded, counting every `malloc`, its stacks
    /// taken by walking frame pointers (`unwind=0`). It runs as
    /// [`Variant::System`].
    Run,
    /// As [`Variant::Run`], its stacks taken with the DWARF unwinder
    /// (`unwind=1`, what `cargo leakcheck run` does for a program without
    /// frame pointers).
    RunUnwind,
    /// `bench-leakcheck` with [`SAMPLED_ENV`] set: sampled tracking at
    /// [`leakcheck_rt::SampleRate::default`]. It runs as
    /// [`Variant::Leakcheck`].
    Sampled,
    /// As [`Variant::Run`], sampled at the default rate, as `cargo leakcheck
    /// run --sample` runs a program (`sample=MEAN:MIN`).
    RunSampled,
}

impl Variant {
    pub const ALL: [Variant; 9] = [
        Variant::System,
        Variant::Leakcheck,
        Variant::Dhat,
        Variant::Native,
        Variant::Heaptrack,
        Variant::Run,
        Variant::RunUnwind,
        Variant::Sampled,
        Variant::RunSampled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::System => "system",
            Variant::Leakcheck => "leakcheck",
            Variant::Dhat => "dhat",
            Variant::Native => "native",
            Variant::Heaptrack => "heaptrack",
            Variant::Run => "run",
            Variant::RunUnwind => "run-unwind",
            Variant::Sampled => "sampled",
            Variant::RunSampled => "run-sampled",
        }
    }
}

/// A measure a child can be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A timed workload, after `warmup` untimed runs.
    Workload(Workload, usize),
    /// A million live blocks of this many bytes.
    Hold(usize),
    /// Snapshot and diff over a million blocks (leakcheck only).
    Snapshot,
    /// The leak-test loop (tracked under leakcheck, body only elsewhere).
    LeakTest,
    /// Two snapshots and a report's first lines, the process's totals.
    Fixed,
}

impl Measure {
    /// The command-line form, parsed back by [`Measure::parse`].
    pub fn args(self) -> Vec<String> {
        match self {
            Measure::Workload(w, warmup) => {
                vec![w.name().into(), "--warmup".into(), warmup.to_string()]
            }
            Measure::Hold(size) => vec!["hold".into(), size.to_string()],
            Measure::Snapshot => vec!["snapshot".into()],
            Measure::LeakTest => vec!["leak_test".into()],
            Measure::Fixed => vec!["fixed".into()],
        }
    }

    /// A name for the measure in reports (the warm-up left out).
    pub fn label(self) -> String {
        match self {
            Measure::Workload(w, _) => w.name().into(),
            Measure::Hold(size) => format!("hold {size}"),
            Measure::Snapshot => "snapshot".into(),
            Measure::LeakTest => "leak_test".into(),
            Measure::Fixed => "fixed".into(),
        }
    }

    pub fn parse(args: &[String]) -> Option<Measure> {
        let number = |i: usize| args.get(i).and_then(|s| s.parse().ok());
        match args.first()?.as_str() {
            "hold" => Some(Measure::Hold(number(1)?)),
            "snapshot" => Some(Measure::Snapshot),
            "leak_test" => Some(Measure::LeakTest),
            "fixed" => Some(Measure::Fixed),
            name => {
                let warmup = match args.get(1).map(String::as_str) {
                    Some("--warmup") => number(2)?,
                    _ => 1,
                };
                Some(Measure::Workload(Workload::from_name(name)?, warmup))
            }
        }
    }
}

/// Entry point of a bench binary, after its allocator is set up.
pub fn main(variant: Variant) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(measure) = Measure::parse(&args) else {
        eprintln!(
            "usage: bench-{} <box_loop|strings|json|btree|two_threads> [--warmup N] \
             | hold <bytes> | snapshot | leak_test | fixed",
            variant.name()
        );
        return ExitCode::from(2);
    };
    let tracked = variant == Variant::Leakcheck;
    // How the binary started tracing, before the measure: exact, or
    // sampled ([`SAMPLED_ENV`]).
    let sampled = tracked && leakcheck_rt::sample_rate().is_some();
    let mut metrics = match measure {
        Measure::Workload(w, warmup) => {
            let input = w.prepare();
            for _ in 0..warmup {
                w.run(&input);
            }
            let s = probe::measure(|| w.run(&input));
            let mut metrics = vec![
                ("nanos", s.nanos as f64),
                ("cpu_nanos", s.cpu_nanos as f64),
                ("minflt", s.minor_faults as f64),
                ("majflt", s.major_faults as f64),
            ];
            if tracked {
                let native = tracing::counts_c_malloc();
                metrics.push(("c_malloc_traced", f64::from(u8::from(native))));
            }
            metrics
        }
        Measure::Hold(size) => tracing::hold(size, tracked),
        Measure::Snapshot if tracked => tracing::snapshot_and_diff(),
        Measure::LeakTest if variant != Variant::Dhat => tracing::leak_test_loop(tracked),
        Measure::Fixed if variant != Variant::Dhat => fixed::fixed_cost(tracked),
        _ => {
            eprintln!("bench-{}: {args:?} is not measured here", variant.name());
            return ExitCode::from(2);
        }
    };
    if tracked {
        metrics.push(("sampled", f64::from(u8::from(sampled))));
    }
    for (key, value) in metrics {
        println!("{key} {value}");
    }
    ExitCode::SUCCESS
}
