#[leakcheck_rt::leak_test(iters = -1)]
fn negative_iters() {}

#[leakcheck_rt::leak_test(min_bytes_per_iter = -0.5)]
fn negative_rate() {}

#[leakcheck_rt::leak_test(min_growth_bytes = -256)]
fn negative_bytes() {}

fn main() {}
