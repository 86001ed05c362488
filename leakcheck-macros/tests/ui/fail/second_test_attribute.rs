#[leakcheck_rt::leak_test]
#[test]
fn plain_test() {}

#[leakcheck_rt::leak_test]
#[::core::prelude::v1::test]
fn qualified_test() {}

#[leakcheck_rt::leak_test]
#[leakcheck_rt::leak_test]
fn twice() {}

fn main() {}
