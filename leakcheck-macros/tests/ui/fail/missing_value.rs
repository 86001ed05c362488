#[leakcheck_rt::leak_test(snapshot)]
fn bare_flag() {}

#[leakcheck_rt::leak_test(iters(10))]
fn call_syntax() {}

fn main() {}
