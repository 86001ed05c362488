//! `bench-leakcheck` in a binary that links tokio, serde and regex.

leakcheck_rt::install!();

fn main() -> std::process::ExitCode {
    leakcheck_rt::start(25);
    leakcheck_bench::fixed::exercise_large();
    leakcheck_bench::child::main(leakcheck_bench::child::Variant::Leakcheck)
}
