//! Procedural macros of leakcheck. Use them through `leakcheck_rt`, which
//! re-exports them: `#[leakcheck_rt::leak_test]`.
//!
//! | module | what it holds |
//! | --- | --- |
//! | `args.rs` | the arguments: parsing, defaults, limits (`MAX_FRAMES`, `MIN_CHECKPOINTS`, tied by tests in leakcheck-rt to the runtime's), cross-field checks |
//! | `literal.rs` | one `key = value` into a typed number or bool, with an error at the value |
//! | `signature.rs` | that the item is a function the runner can call: `fn name()` or `fn name(lt: &mut LeakLoop)`, maybe `async`, returning `()`, not already a test |
//! | `expand.rs` | the generated `#[test]`, naming only `::leakcheck_rt::__private` |
#![forbid(unsafe_code)]

mod args;
mod expand;
mod literal;
mod signature;

use proc_macro::TokenStream;

/// Turns a function into a leak test: an ordinary `#[test]` that calls the
/// body in a loop and fails when memory that the body allocates keeps
/// growing with the number of calls.
///
/// State built once (a service, a pool) is the usual shape: the function
/// takes a `&mut leakcheck_rt::LeakLoop`, builds its state, and calls
/// `lt.iter(|i| ...)` exactly once with the call to repeat (`i` counts
/// every call from 0, warm-up included). Setup is part of the baseline;
/// what runs after `iter` returns is not measured.
///
/// ```no_run
/// # struct Service;
/// # impl Service { fn new() -> Self { Service } fn handle_request(&mut self, _: u64) {} }
/// #[leakcheck_rt::leak_test(iters = 5_000)]
/// fn handle_request_does_not_leak(lt: &mut leakcheck_rt::LeakLoop) {
///     let mut svc = Service::new();
///     lt.iter(|i| svc.handle_request(i));
/// }
/// # fn main() {}
/// ```
///
/// With leakcheck-rt's `tokio` feature the function may be an `async fn`,
/// run on a runtime built once before the warm-up (`flavor` and
/// `worker_threads` below); the stateful form calls
/// `lt.iter_async(async |i| ...).await`, and a body without a parameter is
/// awaited once per call. Before each snapshot the tasks the body spawned
/// get the chance to finish.
///
/// ```ignore
/// #[leakcheck_rt::leak_test(iters = 2_000, flavor = "multi_thread", worker_threads = 2)]
/// async fn pool_does_not_leak(lt: &mut leakcheck_rt::LeakLoop) {
///     let pool = Pool::connect().await;
///     lt.iter_async(async |i| pool.query(i).await).await;
/// }
/// ```
///
/// A body without state can skip the parameter; it is then called whole:
///
/// ```no_run
/// # fn handle_request(_: u64) {}
/// # fn next_id() -> u64 { 0 }
/// #[leakcheck_rt::leak_test(warmup = 1, iters = 10_000)]
/// fn handle_request_does_not_leak() {
///     handle_request(next_id());
/// }
/// # fn main() {}
/// ```
///
/// The test binary must use leakcheck's tracking allocator
/// (`leakcheck_rt::install!()` once per binary). The test is an ordinary
/// `#[test]`, so `cargo test`, `cargo nextest run` and IDE runners list and
/// run it; `#[ignore]`, `#[should_panic]`, `#[cfg(...)]`, doc comments and
/// the function's visibility are kept as written.
///
/// # How it runs
///
/// The runner calls the body `warmup` times, takes a baseline snapshot,
/// then calls it `iters` more times with `checkpoints` snapshots spread over
/// the loop. Each allocation site's retained bytes across the checkpoints
/// decide its verdict: growth that keeps pace with the calls is a leak;
/// growth that stops, or rises and falls, is not. When the evidence is
/// ambiguous the loop is extended, up to `max_iters` measured calls in all.
/// A leak fails the test with a report of the leaking sites and the call
/// path of the worst one. Unless `snapshot = false`, the normalised report
/// is also checked as an `insta` snapshot named `<function name>_leaks`
/// (when growth is found or that snapshot exists), so a leak accepted with
/// `cargo insta review` passes and a new or grown one fails.
///
/// # Arguments
///
/// All are optional, written `key = literal` and separated by commas.
/// Integers accept `_` separators and any integer suffix that holds the
/// value (`10_000u32`).
///
/// | argument | type | default | meaning |
/// | --- | --- | --- | --- |
/// | `warmup` | integer ≥ 1 | `1` | calls before the baseline snapshot; raise it for caches and lazy statics that fill over several calls |
/// | `iters` | integer ≥ 1 | `10_000` | measured calls after the warm-up |
/// | `frames` | integer in 1..=128 | `25`, `64` for an `async fn` | stack frames kept per allocation, counted from the allocating line outwards (`1`: that line alone); tokio puts some 20 frames between the test and its body |
/// | `checkpoints` | integer in 3..=64, ≤ `iters` | `8` | snapshots taken through the measured loop |
/// | `max_iters` | integer ≥ `iters` | `4 * iters` | most measured calls when the loop is extended because the evidence is ambiguous |
/// | `min_bytes_per_iter` | number ≥ 0 | `0.0` | a site is a leak only if it retains at least this many bytes per call (`0.0`: any steady growth) |
/// | `min_growth_bytes` | integer ≥ 0 | `256` | ...and at least this many bytes in all, so a few stray bytes do not fail a test |
/// | `snapshot` | `true` or `false` | `true` | check the normalised report against an `insta` snapshot |
/// | `flavor` | `"current_thread"` or `"multi_thread"` | `"current_thread"` | `async fn` only: the tokio scheduler |
/// | `worker_threads` | integer in 1..=1024 | one per CPU | `async fn` with `flavor = "multi_thread"` only |
///
/// # What it expands to
///
/// The example above becomes the following (the `__private` items are not
/// a public interface; the runner owns the loop, the isolation and the
/// verdict). The real expansion spells `#[test]` as
/// `#[::core::prelude::v1::test]` so that an imported `test` macro does not
/// replace it.
///
/// ```no_run
/// # fn handle_request(_: u64) {}
/// # fn next_id() -> u64 { 0 }
/// #[test]
/// fn handle_request_does_not_leak() {
///     ::leakcheck_rt::__private::run_leak_test(
///         &::leakcheck_rt::__private::LeakTestConfig {
///             module_path: ::core::module_path!(),
///             fn_name: "handle_request_does_not_leak",
///             file: ::core::file!(),
///             manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
///             warmup: 1,
///             iters: 10000,
///             frames: 25,
///             checkpoints: 8,
///             max_iters: 40000,
///             min_bytes_per_iter: 0.0,
///             min_growth_bytes: 256,
///             snapshot: true,
///             // The message of a `#[should_panic]` on the test.
///             should_panic: None,
///         },
///         &mut || {
///             handle_request(next_id());
///         },
///         // `insta::assert_snapshot!` with leakcheck-rt's `insta` feature (on
///         // by default); without it, a compile error that says so. With
///         // `snapshot = false`, a closure that does nothing.
///         &|report: &str| {
///             ::leakcheck_rt::__private::check_snapshot!(
///                 "handle_request_does_not_leak_leaks",
///                 report
///             );
///         },
///     );
/// }
/// # fn main() {}
/// ```
///
/// Because the body becomes a closure, `return` inside it ends one call of
/// the body, not the whole test. A function with a `LeakLoop` parameter is
/// passed whole to `__private::run_leak_loop` as `&mut |lt: &mut LeakLoop|
/// { ... }`; an `async fn` to `__private::run_async_leak_loop` as a closure
/// returning the boxed future, next to `__private::requires_tokio!()`,
/// which is a compile error without the `tokio` feature.
///
/// # Compile errors
///
/// The function must be `fn name()` or `fn name(lt: &mut LeakLoop)`, maybe
/// `async` (with the `tokio` feature), returning `()`: no other
/// parameters, generics, `const`, `unsafe` or `extern`, and no other
/// `#[test]` attribute, `#[tokio::test]` included (it already is one).
/// `flavor` and `worker_threads` need an `async fn`, and `worker_threads`
/// needs `flavor = "multi_thread"`. Unknown or repeated arguments, values of
/// the wrong type or out of range, `checkpoints` above `iters` and
/// `max_iters` below `iters` are compile errors pointing at the offending
/// token; every error is reported in one build.
///
/// Write `#[leak_test]` above the function's other attributes. A `#[test]`
/// written above it is expanded first and leaves no trace the macro can
/// see, so it is not reported; the test would be registered twice.
#[proc_macro_attribute]
pub fn leak_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::leak_test(args.into(), item.into()).into()
}
