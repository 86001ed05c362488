//! The workloads under dhat-rs, set up as its documentation shows.

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() -> std::process::ExitCode {
    // Testing mode profiles exactly as `Profiler::new_heap()` does, but
    // skips writing `dhat-heap.json` when the profiler is dropped.
    let _profiler = dhat::Profiler::builder().testing().build();
    leakcheck_bench::child::main(leakcheck_bench::child::Variant::Dhat)
}
