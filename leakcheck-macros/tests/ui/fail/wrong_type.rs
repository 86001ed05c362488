const N: u64 = 10;

#[leakcheck_rt::leak_test(iters = "10000")]
fn string() {}

#[leakcheck_rt::leak_test(warmup = 1.5)]
fn float_for_integer() {}

#[leakcheck_rt::leak_test(frames = 25f32)]
fn float_suffix_for_integer() {}

#[leakcheck_rt::leak_test(iters = N)]
fn constant() {}

#[leakcheck_rt::leak_test(snapshot = 1)]
fn integer_for_bool() {}

#[leakcheck_rt::leak_test(min_bytes_per_iter = true)]
fn bool_for_number() {}

#[leakcheck_rt::leak_test(iters = 10_000_bytes)]
fn unknown_suffix() {}

fn main() {}
