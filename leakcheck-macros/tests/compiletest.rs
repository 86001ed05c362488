//! The compile-time behaviour of `#[leak_test]`: accepted forms in
//! `ui/pass`, and in `ui/fail` the errors, which must point at the
//! offending token. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p leakcheck-macros --test compiletest`
//! and read every one before committing it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
