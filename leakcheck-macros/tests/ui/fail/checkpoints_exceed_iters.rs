#[leakcheck_rt::leak_test(iters = 10, checkpoints = 16)]
fn both_given() {}

#[leakcheck_rt::leak_test(iters = 4)]
fn default_checkpoints() {}

fn main() {}
