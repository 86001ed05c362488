//! The arguments of `#[leak_test(...)]`: parsing, defaults and validation.
//!
//! Parsing collects every problem instead of stopping at the first, so a
//! user who got three arguments wrong sees three errors in one build.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::{Error, Expr, Token};

use crate::literal;

/// The keys `#[leak_test]` accepts, in the order the docs list them.
const KEYS: &[&str] = &[
    "warmup",
    "iters",
    "frames",
    "checkpoints",
    "max_iters",
    "min_bytes_per_iter",
    "min_growth_bytes",
    "snapshot",
    "flavor",
    "worker_threads",
];

pub(crate) const DEFAULT_WARMUP: u64 = 1;
pub(crate) const DEFAULT_ITERS: u64 = 10_000;
pub(crate) const DEFAULT_FRAMES: u64 = 25;
/// The default of an `async fn` leak test. Between the test function and
/// its body, tokio's `block_on`, scheduler, budget and task harness add
/// some 20 frames, and a task the body spawned adds as many again; with 25
/// the test's own lines and often the line that called into tokio fall
/// off the stack. A frame costs about a nanosecond to walk.
pub(crate) const DEFAULT_ASYNC_FRAMES: u64 = 64;
/// The most frames the tracker keeps per stack; a test in leakcheck-rt
/// (`leak_test/config.rs`) ties it to the allocator's limit.
pub(crate) const MAX_FRAMES: u64 = 128;
pub(crate) const DEFAULT_CHECKPOINTS: u64 = 8;
/// The verdict reads a site's series in thirds, halves and quarters of the
/// run, which takes three checkpoints; the runtime's `MIN_CHECKPOINTS`
/// (`leakcheck-rt/src/leak_test/config.rs`) is the same number, and a test
/// there ties the two.
pub(crate) const MIN_CHECKPOINTS: u64 = 3;
pub(crate) const MAX_CHECKPOINTS: u64 = 64;
/// `max_iters` defaults to this many times `iters`.
pub(crate) const DEFAULT_MAX_ITERS_FACTOR: u64 = 4;
pub(crate) const DEFAULT_MIN_GROWTH_BYTES: u64 = 256;
/// More worker threads than this is a typo, not a test.
pub(crate) const MAX_WORKER_THREADS: u64 = 1024;

/// The tokio scheduler of an `async fn` leak test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// Where the runtime arguments were written, so that an error on a plain
/// `fn` can point at them. Spans do not compare; any two are equal.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RuntimeSpans {
    pub flavor: Option<Span>,
    pub worker_threads: Option<Span>,
}

impl PartialEq for RuntimeSpans {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The validated settings of one leak test, every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Args {
    pub warmup: u64,
    pub iters: u64,
    pub frames: usize,
    pub checkpoints: u32,
    pub max_iters: u64,
    pub min_bytes_per_iter: f64,
    pub min_growth_bytes: u64,
    pub snapshot: bool,
    pub flavor: Flavor,
    pub worker_threads: Option<usize>,
    pub runtime_spans: RuntimeSpans,
    /// `frames` was written; otherwise an `async fn` gets
    /// [`DEFAULT_ASYNC_FRAMES`].
    pub frames_given: bool,
}

impl Args {
    /// The frames to keep per allocation for this function.
    pub(crate) fn frames_for(&self, is_async: bool) -> usize {
        if is_async && !self.frames_given {
            DEFAULT_ASYNC_FRAMES as usize
        } else {
            self.frames
        }
    }
}

/// A value the user wrote, with the span of its expression for errors.
#[derive(Debug, Clone, Copy)]
struct Given<T> {
    value: T,
    span: Span,
}

/// What the user wrote, before defaults and cross-field checks.
#[derive(Debug, Default)]
struct Raw {
    warmup: Option<Given<u64>>,
    iters: Option<Given<u64>>,
    frames: Option<Given<u64>>,
    checkpoints: Option<Given<u64>>,
    max_iters: Option<Given<u64>>,
    min_bytes_per_iter: Option<Given<f64>>,
    min_growth_bytes: Option<Given<u64>>,
    snapshot: Option<Given<bool>>,
    flavor: Option<Given<Flavor>>,
    worker_threads: Option<Given<u64>>,
    /// Keys whose value was rejected; no cross-field check uses them.
    rejected: Vec<String>,
}

/// Parses and validates the attribute's arguments; all errors are
/// combined into one.
pub(crate) fn parse(args: TokenStream) -> syn::Result<Args> {
    let mut raw = Raw::default();
    let mut seen: Vec<String> = Vec::new();
    let mut errors: Vec<Error> = Vec::new();
    let parser = syn::meta::parser(|meta| parse_one(&meta, &mut raw, &mut seen, &mut errors));
    // A syntax error (a missing comma, a stray token) ends parsing; it is
    // reported together with what was collected before it.
    if let Err(error) = parser.parse2(args) {
        errors.push(error);
    }
    let args = validate(&raw);
    if let Err(error) = &args {
        errors.push(error.clone());
    }
    match combine(errors) {
        Some(error) => Err(error),
        None => args,
    }
}

/// Handles one `key = value`; semantic errors are pushed to `errors` and
/// parsing continues with the next argument.
fn parse_one(
    meta: &ParseNestedMeta<'_>,
    raw: &mut Raw,
    seen: &mut Vec<String>,
    errors: &mut Vec<Error>,
) -> syn::Result<()> {
    let key = meta.path.get_ident().map(ToString::to_string);
    let Some(key) = key.filter(|key| KEYS.contains(&key.as_str())) else {
        let name = quote::ToTokens::to_token_stream(&meta.path)
            .to_string()
            .replace(' ', "");
        let expected = KEYS
            .iter()
            .map(|key| format!("`{key}`"))
            .collect::<Vec<_>>()
            .join(", ");
        errors.push(meta.error(format!(
            "unknown argument `{name}`; expected one of: {expected}"
        )));
        return skip_value(meta.input);
    };
    if seen.contains(&key) {
        errors.push(meta.error(format!("duplicate argument `{key}`")));
        return skip_value(meta.input);
    }
    seen.push(key.clone());
    if !meta.input.peek(Token![=]) {
        errors.push(meta.error(format!(
            "`{key}` needs a value, as in `{key} = {}`",
            example(&key)
        )));
        return skip_value(meta.input);
    }
    let expr: Expr = meta.value()?.parse()?;
    let span = syn::spanned::Spanned::span(&expr);
    let given = |value| Given { value, span };
    let result = match key.as_str() {
        "warmup" => literal::int(&key, &expr, 1..=u64::MAX).map(|v| raw.warmup = Some(given(v))),
        "iters" => literal::int(&key, &expr, 1..=u64::MAX).map(|v| raw.iters = Some(given(v))),
        "frames" => literal::int(&key, &expr, 1..=MAX_FRAMES).map(|v| raw.frames = Some(given(v))),
        "checkpoints" => literal::int(&key, &expr, MIN_CHECKPOINTS..=MAX_CHECKPOINTS)
            .map(|v| raw.checkpoints = Some(given(v))),
        "max_iters" => {
            literal::int(&key, &expr, 1..=u64::MAX).map(|v| raw.max_iters = Some(given(v)))
        }
        "min_bytes_per_iter" => literal::float(&key, &expr).map(|v| {
            raw.min_bytes_per_iter = Some(Given { value: v, span });
        }),
        "min_growth_bytes" => {
            literal::int(&key, &expr, 0..=u64::MAX).map(|v| raw.min_growth_bytes = Some(given(v)))
        }
        "snapshot" => literal::boolean(&key, &expr).map(|v| {
            raw.snapshot = Some(Given { value: v, span });
        }),
        "flavor" => flavor(&key, &expr).map(|v| raw.flavor = Some(Given { value: v, span })),
        "worker_threads" => literal::int(&key, &expr, 1..=MAX_WORKER_THREADS)
            .map(|v| raw.worker_threads = Some(given(v))),
        _ => unreachable!("every key in KEYS is handled"),
    };
    if let Err(error) = result {
        errors.push(error);
        raw.rejected.push(key);
    }
    Ok(())
}

/// Reads `"current_thread"` or `"multi_thread"`, as `#[tokio::test]` does.
fn flavor(key: &str, expr: &Expr) -> syn::Result<Flavor> {
    let lit = literal::string(key, expr)?;
    match lit.value().as_str() {
        "current_thread" => Ok(Flavor::CurrentThread),
        "multi_thread" => Ok(Flavor::MultiThread),
        other => Err(Error::new(
            lit.span(),
            format!(
                "unknown runtime flavor `{other}`; expected `\"current_thread\"` or \
                 `\"multi_thread\"`"
            ),
        )),
    }
}

/// A sample value shown in the "needs a value" error.
fn example(key: &str) -> &'static str {
    match key {
        "min_bytes_per_iter" => "0.5",
        "snapshot" => "false",
        "flavor" => "\"multi_thread\"",
        "worker_threads" => "2",
        _ => "10",
    }
}

/// Skips the rest of an argument that was rejected, up to the next
/// top-level comma, so the arguments after it are still checked.
fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            if matches!(&tree, TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

/// Fills in defaults and checks the arguments against each other.
fn validate(raw: &Raw) -> syn::Result<Args> {
    let value = |given: Option<Given<u64>>, default: u64| given.map_or(default, |g| g.value);
    let iters = value(raw.iters, DEFAULT_ITERS);
    let checkpoints = value(raw.checkpoints, DEFAULT_CHECKPOINTS);
    let max_iters = value(
        raw.max_iters,
        iters.saturating_mul(DEFAULT_MAX_ITERS_FACTOR),
    );
    let usable = |key: &str| !raw.rejected.iter().any(|k| k == key);
    let mut errors = Vec::new();

    if checkpoints > iters && usable("iters") && usable("checkpoints") {
        // Point at whichever of the two the user wrote; with both given, the
        // checkpoints are the smaller knob.
        errors.push(match (raw.checkpoints, raw.iters) {
            (Some(given), _) => Error::new(
                given.span,
                format!("`checkpoints` ({checkpoints}) cannot exceed `iters` ({iters})"),
            ),
            (None, Some(given)) => Error::new(
                given.span,
                format!(
                    "`iters` ({iters}) must be at least `checkpoints` ({checkpoints} by default)"
                ),
            ),
            // Both defaults: 8 <= 10_000.
            (None, None) => unreachable!("the defaults are consistent"),
        });
    }
    if let Some(given) = raw
        .max_iters
        .filter(|_| max_iters < iters && usable("iters"))
    {
        errors.push(Error::new(
            given.span,
            format!("`max_iters` ({max_iters}) cannot be less than `iters` ({iters})"),
        ));
    }
    let flavor = raw.flavor.map_or(Flavor::CurrentThread, |g| g.value);
    if let Some(given) = raw
        .worker_threads
        .filter(|_| flavor == Flavor::CurrentThread && usable("flavor"))
    {
        errors.push(Error::new(
            given.span,
            "`worker_threads` needs `flavor = \"multi_thread\"`: a current-thread runtime runs \
             everything on the test's thread",
        ));
    }
    if let Some(error) = combine(errors) {
        return Err(error);
    }

    Ok(Args {
        warmup: value(raw.warmup, DEFAULT_WARMUP),
        iters,
        // Both bounded by their ranges above: 128 and 64.
        frames: value(raw.frames, DEFAULT_FRAMES) as usize,
        checkpoints: checkpoints as u32,
        max_iters,
        min_bytes_per_iter: raw.min_bytes_per_iter.map_or(0.0, |g| g.value),
        min_growth_bytes: value(raw.min_growth_bytes, DEFAULT_MIN_GROWTH_BYTES),
        snapshot: raw.snapshot.is_none_or(|g| g.value),
        flavor,
        // Bounded by MAX_WORKER_THREADS above.
        worker_threads: raw.worker_threads.map(|g| g.value as usize),
        runtime_spans: RuntimeSpans {
            flavor: raw.flavor.map(|g| g.span),
            worker_threads: raw.worker_threads.map(|g| g.span),
        },
        frames_given: raw.frames.is_some(),
    })
}

/// Folds errors into one, which renders as one `compile_error!` each.
pub(crate) fn combine(errors: impl IntoIterator<Item = Error>) -> Option<Error> {
    errors.into_iter().reduce(|mut all, error| {
        all.combine(error);
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> syn::Result<Args> {
        parse(src.parse().unwrap())
    }

    /// Every message of a (combined) error, in order.
    fn errors(src: &str) -> Vec<String> {
        parse_str(src)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn empty_arguments_give_the_defaults() {
        let want = Args {
            warmup: 1,
            iters: 10_000,
            frames: 25,
            checkpoints: 8,
            max_iters: 40_000,
            min_bytes_per_iter: 0.0,
            min_growth_bytes: 256,
            snapshot: true,
            flavor: Flavor::CurrentThread,
            worker_threads: None,
            runtime_spans: RuntimeSpans::default(),
            frames_given: false,
        };
        assert_eq!(parse_str("").unwrap(), want);
    }

    #[test]
    fn every_argument_is_read() {
        let args = parse_str(
            "warmup = 5, iters = 200, frames = 128, checkpoints = 64, max_iters = 200, \
             min_bytes_per_iter = 0.5, min_growth_bytes = 0, snapshot = false, \
             flavor = \"multi_thread\", worker_threads = 3,",
        )
        .unwrap();
        let want = Args {
            warmup: 5,
            iters: 200,
            frames: 128,
            checkpoints: 64,
            max_iters: 200,
            min_bytes_per_iter: 0.5,
            min_growth_bytes: 0,
            snapshot: false,
            flavor: Flavor::MultiThread,
            worker_threads: Some(3),
            runtime_spans: RuntimeSpans::default(),
            frames_given: true,
        };
        assert_eq!(args, want);
        assert!(args.runtime_spans.flavor.is_some());
        assert!(args.runtime_spans.worker_threads.is_some());
    }

    #[test]
    fn unknown_and_duplicate_keys() {
        assert_eq!(
            errors("iterations = 5"),
            [
                "unknown argument `iterations`; expected one of: `warmup`, `iters`, `frames`, \
              `checkpoints`, `max_iters`, `min_bytes_per_iter`, `min_growth_bytes`, `snapshot`, \
                 `flavor`, `worker_threads`"
            ]
        );
        assert_eq!(
            errors("iters = 5_000, iters = 6_000"),
            ["duplicate argument `iters`"]
        );
        assert_eq!(
            errors("snapshot"),
            ["`snapshot` needs a value, as in `snapshot = false`"]
        );
    }

    #[test]
    fn all_errors_are_reported_together() {
        let got = errors("warmup = 0, nope(1, 2), frames = 500, iters = -3, snapshot = 1");
        assert_eq!(
            got,
            [
                "`warmup` must be at least 1",
                "unknown argument `nope`; expected one of: `warmup`, `iters`, `frames`, \
                 `checkpoints`, `max_iters`, `min_bytes_per_iter`, `min_growth_bytes`, `snapshot`, \
                 `flavor`, `worker_threads`",
                "`frames` must be between 1 and 128",
                "`iters` cannot be negative",
                "`snapshot` expects `true` or `false`",
            ]
        );
    }

    #[test]
    fn cross_field_checks() {
        assert_eq!(
            errors("iters = 10, checkpoints = 16"),
            ["`checkpoints` (16) cannot exceed `iters` (10)"]
        );
        assert_eq!(
            errors("iters = 4"),
            ["`iters` (4) must be at least `checkpoints` (8 by default)"]
        );
        assert_eq!(
            errors("iters = 100, max_iters = 99"),
            ["`max_iters` (99) cannot be less than `iters` (100)"]
        );
        // A default `iters` is checked too.
        assert_eq!(
            errors("max_iters = 5_000"),
            ["`max_iters` (5000) cannot be less than `iters` (10000)"]
        );
        assert_eq!(
            parse_str("iters = 3, checkpoints = 3").unwrap().max_iters,
            12
        );
    }

    #[test]
    fn a_rejected_value_takes_no_part_in_cross_field_checks() {
        assert_eq!(
            errors("iters = 0, max_iters = 5"),
            ["`iters` must be at least 1"]
        );
        assert_eq!(
            errors("iters = 4, checkpoints = 1"),
            ["`checkpoints` must be between 3 and 64"]
        );
    }

    #[test]
    fn runtime_flavors() {
        let current = parse_str("flavor = \"current_thread\"").unwrap();
        assert_eq!(current.flavor, Flavor::CurrentThread);
        assert_eq!(current.worker_threads, None);
        let multi = parse_str("flavor = \"multi_thread\"").unwrap();
        assert_eq!(multi.flavor, Flavor::MultiThread);
        assert_eq!(
            errors("flavor = \"multi\""),
            ["unknown runtime flavor `multi`; expected `\"current_thread\"` or `\"multi_thread\"`"]
        );
        assert_eq!(
            errors("flavor = multi_thread"),
            ["`flavor` expects a string literal; \
                 a macro argument cannot name a constant or compute a value"]
        );
        assert_eq!(
            errors("worker_threads = 2"),
            [
                "`worker_threads` needs `flavor = \"multi_thread\"`: a current-thread runtime \
                 runs everything on the test's thread"
            ]
        );
        assert_eq!(
            errors("flavor = \"multi_thread\", worker_threads = 0"),
            ["`worker_threads` must be between 1 and 1024"]
        );
        // A rejected flavor does not also reject `worker_threads`.
        assert_eq!(errors("flavor = \"multi\", worker_threads = 2").len(), 1);
    }

    #[test]
    fn a_syntax_error_is_reported_with_what_came_before() {
        let got = errors("warmup = 0, iters = 10 frames = 3");
        assert_eq!(got, ["`warmup` must be at least 1", "expected `,`"]);
    }
}
