#[leakcheck_rt::leak_test(iters = 1_000, warmup = 2, iters = 2_000)]
fn twice() {}

fn main() {}
