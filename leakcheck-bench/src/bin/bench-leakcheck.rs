//! The workloads under leakcheck's tracking allocator, 25-frame stacks;
//! sampled at the default rate when `LEAKCHECK_BENCH_SAMPLED=1` (the
//! `sampled` variant).

leakcheck_rt::install!();

fn main() -> std::process::ExitCode {
    if std::env::var_os(leakcheck_bench::child::SAMPLED_ENV).is_some_and(|v| v == "1") {
        leakcheck_rt::start_sampled(25, leakcheck_rt::SampleRate::default());
    } else {
        leakcheck_rt::start(25);
    }
    leakcheck_bench::child::main(leakcheck_bench::child::Variant::Leakcheck)
}
