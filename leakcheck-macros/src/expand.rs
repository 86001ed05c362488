//! Code generation for `#[leak_test]`: an ordinary `#[test]` whose body
//! hands the user's body to `leakcheck_rt`'s runner as a closure.

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{AttrStyle, Error, ItemFn};

use crate::args::{self, Args, Flavor};
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
    if let Ok(args) = &args
        && func.sig.asyncness.is_none()
    {
        errors.extend(runtime_arguments_need_async(args));
    }
    match args {
        Ok(args) if errors.is_empty() => generate(&func, &args),
        _ => {
            // Without `#[test]` the function is never called; say so once
            // here rather than in a `dead_code` warning beside each error.
            // A second test attribute is left out: it is reported, and
            // `#[tokio::test]` would add an unresolved-crate error.
            let mut func = func;
            func.attrs
                .retain(|attr| !signature::is_test_attribute(attr));
            let item = quote! { #[allow(dead_code)] #func };
            with_errors(item, errors)
        }
    }
}

/// `flavor` and `worker_threads` configure the runtime of an `async fn`;
/// on a plain `fn` they would do nothing.
fn runtime_arguments_need_async(args: &Args) -> Vec<Error> {
    let spans = args.runtime_spans;
    [
        ("flavor", spans.flavor),
        ("worker_threads", spans.worker_threads),
    ]
    .into_iter()
    .filter_map(|(key, span)| {
        Some(Error::new(
            span?,
            format!(
                "`{key}` sets up the runtime of an `async fn` leak test; this function is \
                     not `async`"
            ),
        ))
    })
    .collect()
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
    let should_panic = signature::should_panic(attrs);
    let config = config(&fn_name, args, sig.asyncness.is_some(), should_panic);

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
    let leak_loop = sig.inputs.first().and_then(signature::leak_loop_parameter);
    let run = match (&sig.asyncness, leak_loop) {
        (None, None) => quote! {
            ::leakcheck_rt::__private::run_leak_test(&#config, &mut || #block, #check_snapshot);
        },
        (None, Some(param)) => {
            let (pat, ty) = (&param.pat, &param.ty);
            quote! {
                ::leakcheck_rt::__private::run_leak_loop(
                    &#config,
                    &mut |#pat: #ty| #block,
                    #check_snapshot,
                );
            }
        }
        (Some(_), param) => {
            let test = match param {
                Some(param) => {
                    let (pat, ty) = (&param.pat, &param.ty);
                    quote! { |#pat: #ty| ::std::boxed::Box::pin(async move #block) }
                }
                // The body is the one call the loop repeats.
                None => quote! {
                    |__leakcheck_loop: &mut ::leakcheck_rt::LeakLoop| ::std::boxed::Box::pin(async move {
                        __leakcheck_loop.iter_async(async |_| #block).await;
                    })
                },
            };
            let runtime = runtime(args);
            quote! {
                ::leakcheck_rt::__private::async_leak_test!(
                    &#config,
                    &#runtime,
                    &mut #test,
                    #check_snapshot,
                );
            }
        }
    };
    // Without leakcheck-rt's `tokio` feature this is a `compile_error!`,
    // put on `async` by its span; outside the `#[test]` function, it is
    // seen in builds without `--test` too.
    let requires_tokio = sig.asyncness.map(|token| {
        quote_spanned! {token.span=> ::leakcheck_rt::__private::requires_tokio!(); }
    });
    // The generated `fn` is never `async` and takes no parameters.
    let mut sig = sig.clone();
    sig.asyncness = None;
    sig.inputs.clear();

    quote! {
        #requires_tokio
        // Spelled out so that a `test` macro imported by the user (tokio's,
        // for one) does not take its place.
        #[::core::prelude::v1::test]
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #run
        }
    }
}

/// The `RuntimeConfig` literal of an `async fn` leak test.
fn runtime(args: &Args) -> TokenStream {
    let flavor = match args.flavor {
        Flavor::CurrentThread => quote!(CurrentThread),
        Flavor::MultiThread => quote!(MultiThread),
    };
    let worker_threads = match args.worker_threads {
        Some(n) => {
            let n = Literal::usize_unsuffixed(n);
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        ::leakcheck_rt::__private::RuntimeConfig {
            flavor: ::leakcheck_rt::__private::Flavor::#flavor,
            worker_threads: #worker_threads,
        }
    }
}

/// The `LeakTestConfig` literal; every number is written out unsuffixed so
/// the field types decide.
fn config(fn_name: &str, args: &Args, is_async: bool, should_panic: Option<String>) -> TokenStream {
    let Args {
        warmup,
        iters,
        checkpoints,
        max_iters,
        min_bytes_per_iter,
        min_growth_bytes,
        snapshot,
        ..
    } = *args;
    let warmup = Literal::u64_unsuffixed(warmup);
    let iters = Literal::u64_unsuffixed(iters);
    let frames = Literal::usize_unsuffixed(args.frames_for(is_async));
    let checkpoints = Literal::u32_unsuffixed(checkpoints);
    let max_iters = Literal::u64_unsuffixed(max_iters);
    let min_bytes_per_iter = Literal::f64_unsuffixed(min_bytes_per_iter);
    let min_growth_bytes = Literal::u64_unsuffixed(min_growth_bytes);
    let snapshot = snapshot.into_token_stream();
    let should_panic = match should_panic {
        Some(expected) => quote!(::core::option::Option::Some(#expected)),
        None => quote!(::core::option::Option::None),
    };
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
            should_panic: #should_panic,
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
    fn should_panic_tells_the_runner_what_it_expects() {
        let none = expand("", "fn f() {}");
        assert!(
            none.contains("should_panic : :: core :: option :: Option :: None ,"),
            "{none}"
        );
        for (attr, expected) in [
            ("#[should_panic]", "\"\""),
            ("#[should_panic = \"boom\"]", "\"boom\""),
            ("#[should_panic(expected = \"boom\")]", "\"boom\""),
        ] {
            let out = expand("", &format!("{attr} fn f() {{}}"));
            let field =
                format!("should_panic : :: core :: option :: Option :: Some ({expected}) ,");
            assert!(out.contains(&field), "{attr}: {out}");
            // The attribute still reaches the generated `#[test]`.
            assert!(out.contains("# [should_panic"), "{out}");
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
    fn a_leak_loop_parameter_becomes_the_closure_parameter() {
        let out = expand("", "fn f(lt: &mut LeakLoop) { lt.iter(|i| g(i)); }");
        assert!(out.contains("fn f () {"), "{out}");
        assert!(
            out.contains("run_leak_loop (& :: leakcheck_rt :: __private :: LeakTestConfig"),
            "{out}"
        );
        assert!(
            out.contains("& mut | lt : & mut LeakLoop | { lt . iter (| i | g (i)) ; }"),
            "{out}"
        );
    }

    #[test]
    fn an_async_fn_runs_on_the_runtime_it_asks_for() {
        let out = expand(
            "flavor = \"multi_thread\", worker_threads = 2",
            "async fn f() { h().await; }",
        );
        assert!(
            out.starts_with(":: leakcheck_rt :: __private :: requires_tokio ! () ;"),
            "{out}"
        );
        assert!(out.contains("fn f () {"), "{out}");
        assert!(
            out.contains("flavor : :: leakcheck_rt :: __private :: Flavor :: MultiThread"),
            "{out}"
        );
        assert!(
            out.contains("worker_threads : :: core :: option :: Option :: Some (2)"),
            "{out}"
        );
        assert!(
            out.contains("__leakcheck_loop . iter_async (async | _ | { h () . await ; }) . await"),
            "{out}"
        );
        let out = expand(
            "",
            "async fn f(lt: &mut LeakLoop) { lt.iter_async(async |i| h(i).await).await; }",
        );
        assert!(
            out.contains("flavor : :: leakcheck_rt :: __private :: Flavor :: CurrentThread"),
            "{out}"
        );
        assert!(
            out.contains("worker_threads : :: core :: option :: Option :: None"),
            "{out}"
        );
        assert!(
            out.contains("| lt : & mut LeakLoop | :: std :: boxed :: Box :: pin (async move {"),
            "{out}"
        );
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
