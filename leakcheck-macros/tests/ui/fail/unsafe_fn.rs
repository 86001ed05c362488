#[leakcheck_rt::leak_test]
unsafe fn not_safe() {}

#[leakcheck_rt::leak_test]
extern "C" fn foreign_abi() {}

fn main() {}
