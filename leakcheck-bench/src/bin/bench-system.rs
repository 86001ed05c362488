//! The workloads under the System allocator.

fn main() -> std::process::ExitCode {
    leakcheck_bench::child::main(leakcheck_bench::child::Variant::System)
}
