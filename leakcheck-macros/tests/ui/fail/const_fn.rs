#[leakcheck_rt::leak_test]
const fn constant() {}

fn main() {}
