// Every argument, with separators, suffixes, an integer for the float and
// a trailing comma.

#[leakcheck_rt::leak_test(
    warmup = 3,
    iters = 10_000u32,
    frames = 64usize,
    checkpoints = 16,
    max_iters = 50_000,
    min_bytes_per_iter = 8,
    min_growth_bytes = 1_024,
    snapshot = false,
)]
fn every_argument() {
    let _ = Box::new(1u8);
}

#[leakcheck_rt::leak_test(iters = 3, checkpoints = 3, max_iters = 3, min_bytes_per_iter = 0.5f64)]
fn smallest_loop() {}

#[leakcheck_rt::leak_test(iters = 18_446_744_073_709_551_615, warmup = 0x10, min_growth_bytes = 0)]
fn largest_loop() {}

fn main() {}
