//! The workloads under leakcheck's tracking allocator, 25-frame stacks.

leakcheck_rt::install!();

fn main() -> std::process::ExitCode {
    leakcheck_rt::start(25);
    leakcheck_bench::child::main(leakcheck_bench::child::Variant::Leakcheck)
}
