#[leakcheck_rt::leak_test(iterations = 10_000)]
fn typo() {}

#[leakcheck_rt::leak_test(leakcheck::iters = 10)]
fn path_key() {}

fn main() {}
