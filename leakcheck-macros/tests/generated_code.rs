//! Type-checks the code `#[leak_test]` generates. The trybuild `pass` cases
//! build without `--test`, where every `#[test]` function is compiled out;
//! here the functions are real tests, so the config literal, the body
//! closure and the `insta` call through `__private` are all checked (and
//! linted by clippy). They are ignored: running them is the runner's job,
//! covered by the runtime's own tests and the end-to-end tests.

use std::cell::RefCell;

use leakcheck_rt::leak_test;

fn handle_request(id: u64) -> Vec<u8> {
    vec![0; id as usize % 64]
}

thread_local! {
    static SEEN: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

#[leak_test]
#[ignore = "compile check only"]
fn defaults() {
    handle_request(7);
}

#[leak_test(
    warmup = 3,
    iters = 10_000u32,
    frames = 64usize,
    checkpoints = 16,
    max_iters = 50_000,
    min_bytes_per_iter = 8,
    min_growth_bytes = 1_024,
    snapshot = false
)]
#[ignore = "compile check only"]
fn every_argument() {
    SEEN.with(|seen| seen.borrow_mut().push(1));
}

/// A documented test that panics on purpose.
#[leak_test(min_bytes_per_iter = 0.5)]
#[ignore = "compile check only"]
#[should_panic(expected = "boom")]
pub fn public_should_panic() {
    panic!("boom");
}

#[leak_test]
#[ignore = "compile check only"]
fn inner_attribute_and_early_return() {
    #![allow(unused_variables)]
    let unused = handle_request(3);
    if std::hint::black_box(true) {
        return;
    }
    drop(handle_request(4));
}

#[leak_test]
#[ignore = "compile check only"]
fn r#match() -> () {}

mod nested {
    // The generated code names everything by absolute path, so a local item
    // called `core`, `leakcheck_rt` or `test` does not get in its way.
    #[allow(dead_code)]
    mod core {}
    #[allow(dead_code)]
    fn test() {}

    #[leakcheck_rt::leak_test(iters = 500)]
    #[ignore = "compile check only"]
    pub(crate) fn in_a_module() {
        let owned = String::from("captured nothing");
        assert!(!owned.is_empty());
    }
}

/// State built once: the body closure takes the loop, and the call closure
/// borrows the state mutably.
#[leak_test(iters = 1_000)]
#[ignore = "compile check only"]
fn state_built_once(lt: &mut leakcheck_rt::LeakLoop) {
    let mut cache: std::collections::HashMap<u64, Vec<u8>> = std::collections::HashMap::new();
    lt.iter(|i| cache.insert(i % 16, handle_request(i)));
    assert!(cache.len() <= 16);
}
