#[leakcheck_rt::leak_test(iters = 99999999999999999999999)]
fn too_many_iterations() {}

#[leakcheck_rt::leak_test(warmup = 300u8)]
fn out_of_range_for_suffix() {}

#[leakcheck_rt::leak_test(min_bytes_per_iter = 1e400)]
fn infinite_rate() {}

fn main() {}
