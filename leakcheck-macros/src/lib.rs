//! Procedural macros of leakcheck. Use them through `leakcheck_rt`.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

/// Marks a leak test (documented in full once implemented).
#[proc_macro_attribute]
pub fn leak_test(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
