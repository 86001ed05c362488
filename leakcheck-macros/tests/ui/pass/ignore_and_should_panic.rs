// `#[ignore]` and `#[should_panic]` pass through to the generated `#[test]`.

#[leakcheck_rt::leak_test(iters = 100)]
#[ignore]
fn ignored() {}

#[leakcheck_rt::leak_test]
#[ignore = "slow"]
fn ignored_with_reason() {}

#[leakcheck_rt::leak_test]
#[should_panic]
fn panics() {
    panic!("boom");
}

#[leakcheck_rt::leak_test]
#[should_panic(expected = "boom")]
fn panics_with_message() {
    panic!("boom");
}

fn main() {}
