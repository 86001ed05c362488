#[leakcheck_rt::leak_test(checkpoints = 1)]
fn one_checkpoint() {}

// Three is the fewest the verdict can read (thirds, halves, quarters).
#[leakcheck_rt::leak_test(checkpoints = 2)]
fn two_checkpoints() {}

#[leakcheck_rt::leak_test(checkpoints = 65)]
fn too_many_checkpoints() {}

fn main() {}
