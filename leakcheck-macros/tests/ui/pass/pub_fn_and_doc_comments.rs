// Visibility and doc comments are kept.

mod inner {
    /// Checks that nothing leaks.
    ///
    /// More prose.
    #[leakcheck_rt::leak_test(iters = 500)]
    pub fn public() {}

    #[doc = "An attribute-style doc comment."]
    #[leakcheck_rt::leak_test]
    pub(crate) fn crate_visible() {}
}

fn main() {}
