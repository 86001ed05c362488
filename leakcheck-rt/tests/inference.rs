//! Linking leakcheck-rt must not change type inference in the user's
//! tests: no crate in its dependency graph may add trait impls on std types
//! that make ordinary comparisons ambiguous.
//!
//! serde_json did: its `impl PartialEq<Value> for u8` (and for every other
//! primitive, `str` and `String`) gives `u8 == ?T` a second candidate, so
//! every comparison below stopped compiling while serde_json was one of
//! leakcheck-rt's `[dependencies]`, as bytes 1.12.2's `tests/test_bytes.rs`
//! did. `cargo test -p leakcheck-rt --test inference` then failed with 13
//! errors, one or two on each of the 10 comparisons, such as:
//!
//! ```text
//! error[E0283]: type annotations needed
//!   --> leakcheck-rt/tests/inference.rs:38:5
//!    |
//! 38 |     assert_eq!(words[0], Default::default());
//!    |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ cannot infer type
//!    |
//!    = note: multiple `impl`s satisfying `u16: PartialEq<_>` found in the following crates: `core`, `serde_json`:
//!            - impl PartialEq for u16;
//!            - impl PartialEq<serde_json::value::Value> for u16;
//! ```
//!
//! This file only has to compile; the assertions check that inference
//! picked the std impl. Every line here failed with serde_json linked.

// The conversions are the point: each needs inference to pick std's impl.
#![allow(clippy::useless_conversion, clippy::nonminimal_bool)]

leakcheck_rt::install!();

#[test]
fn integer_comparisons_infer_their_right_hand_side() {
    let bytes: Vec<u8> = vec![1, b'a'];
    assert_eq!(bytes[0], 1.into());
    assert!(b"ab"[0] == b"a"[0].into());
    let words: [u16; 1] = [0];
    assert_eq!(words[0], Default::default());
    let n: i32 = -3;
    assert!(n == (-3).into());
    let big: u64 = 1 << 20;
    assert_eq!(big, (1u32 << 20).into());
    let count: usize = 2;
    assert_eq!(count, From::from(2u8));
}

#[test]
fn float_and_bool_comparisons_infer_their_right_hand_side() {
    let rate: f64 = 0.5;
    assert_eq!(rate, 0.5f32.into());
    let half: f32 = 0.25;
    assert!(half == Default::default() || half == 0.25);
    let yes = true;
    assert_eq!(yes, From::from(true));
    assert!(!yes == Default::default());
}
