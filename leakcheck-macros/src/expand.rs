//! Code generation for `#[leak_test]`: an ordinary `#[test]` whose body
//! hands the user's body to `leakcheck_rt`'s runner as a closure.

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::{AttrStyle, ItemFn};

use crate::args::{self, Args};
use crate::signature;

/// Expands `#[leak_test(args)] item`.
///
/// On any error the item is emitted unchanged next to the errors, so the
/// rest of the crate still type-checks and IDEs keep resolving the body.
pub(crate) fn leak_test(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = args::parse(args);
    let func = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let errors = [args.err(), Some(signature::not_a_function(&item))];
            return with_errors(item, errors.into_iter().flatten());
        }
    };
    let mut errors = args.as_ref().err().cloned().into_iter().collect::<Vec<_>>();
    errors.extend(signature::check(&func));
    match args {
        Ok(args) if errors.is_empty() => generate(&func, &args),
        _ => {
            // Without `#[test]` the function is never called; say so once
            // here rather than in a `dead_code` warning beside each error.
            let item = quote! { #[allow(dead_code)] #func };
            with_errors(item, errors)
        }
    }
}

fn with_errors(item: TokenStream, errors: impl IntoIterator<Item = syn::Error>) -> TokenStream {
    let errors = args::combine(errors).map(|error| error.to_compile_error());
    quote! { #item #errors }
}

/// The `#[test]` function: the user's attributes, visibility and signature,
/// then a call to the runner with the body as a closure.
fn generate(func: &ItemFn, args: &Args) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    // `#![...]` inside the body stays at the top of the generated body, where
    // it still covers the user's code (now inside the closure).
    let (inner, outer): (Vec<_>, Vec<_>) = attrs
        .iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    // libtest lists `fn r#match` as `r#match`, and the runner filters a
    // child process by that name; the snapshot file is better without `#`.
    let fn_name = sig.ident.to_string();
    let snapshot_name = format!("{}_leaks", sig.ident.unraw());
    let config = config(&fn_name, args);
    // Only a test that checks snapshots names insta: without leakcheck-rt's
    // `insta` feature, `snapshot = false` tests still compile.
    let check_snapshot = if args.snapshot {
        quote! {
            &|report: &::core::primitive::str| {
                ::leakcheck_rt::__private::check_snapshot!(#snapshot_name, report);
            }
        }
    } else {
        quote! { &|_: &::core::primitive::str| {} }
    };

    quote! {
        // Spelled out so that a `test` macro imported by the user (tokio's,
        // for one) does not take its place.
        #[::core::prelude::v1::test]
        #(#outer)*
        #vis #sig {
            #(#inner)*
            ::leakcheck_rt::__private::run_leak_test(
                &#config,
                &mut || #block,
                #check_snapshot,
            );
        }
    }
}

/// The `LeakTestConfig` literal; every number is written out unsuffixed so
/// the field types decide.
fn config(fn_name: &str, args: &Args) -> TokenStream {
    let Args {
        warmup,
        iters,
        frames,
        checkpoints,
        max_iters,
        min_bytes_per_iter,
        min_growth_bytes,
        snapshot,
    } = *args;
    let warmup = Literal::u64_unsuffixed(warmup);
    let iters = Literal::u64_unsuffixed(iters);
    let frames = Literal::usize_unsuffixed(frames);
    let checkpoints = Literal::u32_unsuffixed(checkpoints);
    let max_iters = Literal::u64_unsuffixed(max_iters);
    let min_bytes_per_iter = Literal::f64_unsuffixed(min_bytes_per_iter);
    let min_growth_bytes = Literal::u64_unsuffixed(min_growth_bytes);
    let snapshot = snapshot.into_token_stream();
    quote! {
        ::leakcheck_rt::__private::LeakTestConfig {
            module_path: ::core::module_path!(),
            fn_name: #fn_name,
            file: ::core::file!(),
            manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
            warmup: #warmup,
            iters: #iters,
            frames: #frames,
            checkpoints: #checkpoints,
            max_iters: #max_iters,
            min_bytes_per_iter: #min_bytes_per_iter,
            min_growth_bytes: #min_growth_bytes,
            snapshot: #snapshot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: &str, item: &str) -> String {
        leak_test(args.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn defaults_fill_the_config() {
        let out = expand("", "fn f() { g(); }");
        for field in [
            "warmup : 1 ,",
            "iters : 10000 ,",
            "frames : 25 ,",
            "checkpoints : 8 ,",
            "max_iters : 40000 ,",
            "min_bytes_per_iter : 0.0 ,",
            "min_growth_bytes : 256 ,",
            "snapshot : true ,",
            "fn_name : \"f\" ,",
            "check_snapshot ! (\"f_leaks\" , report)",
        ] {
            assert!(out.contains(field), "{field} missing from {out}");
        }
        assert!(
            out.starts_with("# [:: core :: prelude :: v1 :: test] fn f ()"),
            "{out}"
        );
    }

    #[test]
    fn arguments_override_the_defaults() {
        let out = expand(
            "warmup = 3, iters = 1_000u32, frames = 64, checkpoints = 4, max_iters = 5000, \
             min_bytes_per_iter = 8, min_growth_bytes = 0, snapshot = false",
            "fn f() {}",
        );
        for field in [
            "warmup : 3 ,",
            "iters : 1000 ,",
            "frames : 64 ,",
            "checkpoints : 4 ,",
            "max_iters : 5000 ,",
            "min_bytes_per_iter : 8.0 ,",
            "min_growth_bytes : 0 ,",
            "snapshot : false ,",
        ] {
            assert!(out.contains(field), "{field} missing from {out}");
        }
    }

    #[test]
    fn max_iters_defaults_to_four_times_iters_without_overflowing() {
        assert!(expand("iters = 9", "fn f() {}").contains("max_iters : 36 ,"));
        let out = expand("iters = 18446744073709551615", "fn f() {}");
        assert!(out.contains("max_iters : 18446744073709551615 ,"), "{out}");
    }

    #[test]
    fn raw_identifiers_keep_their_prefix_only_in_the_test_name() {
        let out = expand("", "fn r#match() {}");
        assert!(out.contains("fn_name : \"r#match\" ,"), "{out}");
        assert!(out.contains("\"match_leaks\""), "{out}");
    }

    #[test]
    fn inner_attributes_stay_at_the_top_of_the_body() {
        let out = expand("", "fn f() { #![allow(unused)] let x = 1; }");
        assert!(
            out.contains("fn f () { # ! [allow (unused)] :: leakcheck_rt"),
            "{out}"
        );
        assert!(out.contains("& mut || { let x = 1 ; }"), "{out}");
    }

    #[test]
    fn errors_keep_the_function() {
        let out = expand("iters = 0, bogus = 1", "fn f(x: u8) {}");
        assert!(
            out.starts_with("# [allow (dead_code)] fn f (x : u8) { }"),
            "{out}"
        );
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
    }
}
