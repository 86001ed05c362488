#[leakcheck_rt::leak_test(checkpoints = 1)]
fn one_checkpoint() {}

#[leakcheck_rt::leak_test(checkpoints = 65)]
fn too_many_checkpoints() {}

fn main() {}
