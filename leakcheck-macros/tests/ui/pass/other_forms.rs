// An imported attribute, `#[cfg]`, an inner attribute, a raw identifier,
// an explicit `-> ()` and an early `return`.

use leakcheck_rt::leak_test;

#[leak_test]
#[cfg(not(any()))]
fn with_cfg() {}

#[leak_test]
#[cfg(any())]
fn configured_out(this_would_not: compile) {}

#[leak_test]
fn inner_attribute() {
    #![allow(unused_variables)]
    let unused = 1;
}

#[leak_test]
fn r#match() -> () {
    if std::hint::black_box(true) {
        return;
    }
}

macro_rules! leak_test_with {
    ($iters:expr) => {
        #[leak_test(iters = $iters)]
        fn from_macro_rules() {}
    };
}
leak_test_with!(5_000);

fn main() {}
