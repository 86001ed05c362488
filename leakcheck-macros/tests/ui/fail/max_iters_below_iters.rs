#[leakcheck_rt::leak_test(iters = 1_000, max_iters = 999)]
fn both_given() {}

#[leakcheck_rt::leak_test(max_iters = 5_000)]
fn default_iters() {}

fn main() {}
