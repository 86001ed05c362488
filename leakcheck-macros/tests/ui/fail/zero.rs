#[leakcheck_rt::leak_test(warmup = 0)]
fn no_warmup() {}

#[leakcheck_rt::leak_test(iters = 0)]
fn no_iterations() {}

#[leakcheck_rt::leak_test(max_iters = 0, iters = 10)]
fn no_max_iterations() {}

fn main() {}
