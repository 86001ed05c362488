//! `bench-system` in a binary that links tokio, serde and regex.

fn main() -> std::process::ExitCode {
    leakcheck_bench::fixed::exercise_large();
    leakcheck_bench::child::main(leakcheck_bench::child::Variant::System)
}
