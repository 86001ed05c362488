//! Checks that the item under `#[leak_test]` is a function the runner can
//! call: `fn name()` or `fn name(lt: &mut LeakLoop)` (either may be
//! `async`) returning `()`, not already a test.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Attribute, Error, FnArg, ItemFn, PatType, ReturnType, Type};

const PARAMETER: &str = "a leak test takes no parameters, or one `&mut leakcheck_rt::LeakLoop` \
                         (`fn name(lt: &mut LeakLoop)`) to build its state once";

/// Every reason this function cannot be a leak test, in source order.
pub(crate) fn check(func: &ItemFn) -> Vec<Error> {
    let mut errors = Vec::new();
    for attr in func.attrs.iter().filter(|attr| is_test_attribute(attr)) {
        errors.push(Error::new_spanned(
            attr,
            "`#[leak_test]` already makes this function a `#[test]`; remove this attribute",
        ));
    }
    for attr in func
        .attrs
        .iter()
        .filter(|attr| is_leak_test_attribute(attr))
    {
        errors.push(Error::new_spanned(
            attr,
            "duplicate `#[leak_test]` attribute",
        ));
    }

    let sig = &func.sig;
    let qualifier = |tokens: &dyn ToTokens, what: &str, why: &str| {
        Error::new_spanned(tokens, format!("a leak test cannot be {what}: {why}"))
    };
    if let Some(token) = &sig.constness {
        errors.push(qualifier(
            token,
            "`const`",
            "its body runs at run time, in a loop",
        ));
    }
    if let Some(token) = &sig.unsafety {
        errors.push(qualifier(
            token,
            "`unsafe fn`",
            "put an `unsafe` block inside a safe test function",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(qualifier(abi, "`extern`", "tests use the Rust ABI"));
    }
    if !sig.generics.params.is_empty() {
        errors.push(Error::new_spanned(
            &sig.generics,
            "a leak test cannot be generic: the test harness calls it without type arguments",
        ));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        errors.push(Error::new_spanned(
            where_clause,
            "a leak test cannot have a `where` clause",
        ));
    }
    let mut inputs = sig.inputs.iter();
    if let Some(first) = inputs.next()
        && leak_loop_parameter(first).is_none()
    {
        errors.push(Error::new_spanned(first, PARAMETER));
    }
    let rest: TokenStream = inputs.map(ToTokens::to_token_stream).collect();
    if !rest.is_empty() {
        errors.push(Error::new_spanned(
            rest,
            "a leak test takes at most one parameter, the `&mut leakcheck_rt::LeakLoop`",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(Error::new_spanned(variadic, PARAMETER));
    }
    if let ReturnType::Type(_, ty) = &sig.output
        && !is_unit(ty)
    {
        errors.push(Error::new_spanned(
            ty,
            "a leak test must return `()`: its body runs many times and the results are dropped",
        ));
    }
    errors
}

/// The parameter of a stateful leak test: `pattern: &mut LeakLoop`, the
/// type written as any path that ends in `LeakLoop` (the type checker
/// makes sure it is leakcheck's).
pub(crate) fn leak_loop_parameter(arg: &FnArg) -> Option<&PatType> {
    let FnArg::Typed(typed) = arg else {
        return None;
    };
    let Type::Reference(reference) = strip(&typed.ty) else {
        return None;
    };
    reference.mutability?;
    let Type::Path(path) = strip(&reference.elem) else {
        return None;
    };
    let last = path.path.segments.last()?;
    (path.qself.is_none() && last.ident == "LeakLoop" && last.arguments.is_none()).then_some(typed)
}

fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Paren(paren) => strip(&paren.elem),
        Type::Group(group) => strip(&group.elem),
        _ => ty,
    }
}

/// `#[test]`, `#[core::prelude::v1::test]`, `#[tokio::test]`: anything that
/// would register the function as a test a second time.
pub(crate) fn is_test_attribute(attr: &Attribute) -> bool {
    // A `#[test]` written above `#[leak_test]` expands first and leaves no
    // trace on the item this macro receives, so only the ones below are seen.
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "test")
}

/// The message `#[should_panic]` expects: `Some("")` for any panic,
/// `Some(text)` for `#[should_panic(expected = "text")]` or
/// `#[should_panic = "text"]`, `None` without the attribute. A malformed one
/// is rustc's to reject; here it counts as any panic.
pub(crate) fn should_panic(attrs: &[Attribute]) -> Option<String> {
    let attr = attrs.iter().find(|a| a.path().is_ident("should_panic"))?;
    let expected = match &attr.meta {
        syn::Meta::NameValue(nv) => string_literal(&nv.value),
        syn::Meta::List(_) => {
            let mut expected = None;
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("expected") {
                    expected = string_literal(&meta.value()?.parse()?);
                }
                Ok(())
            });
            expected
        }
        syn::Meta::Path(_) => None,
    };
    Some(expected.unwrap_or_default())
}

fn string_literal(expr: &syn::Expr) -> Option<String> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

fn is_leak_test_attribute(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "leak_test")
}

fn is_unit(ty: &Type) -> bool {
    match ty {
        Type::Tuple(tuple) => tuple.elems.is_empty(),
        Type::Paren(paren) => is_unit(&paren.elem),
        Type::Group(group) => is_unit(&group.elem),
        _ => false,
    }
}

/// The error for an item that is not a function, pointing at its header
/// (`struct Name`, `impl Trait`, `const NAME`) rather than at its body.
pub(crate) fn not_a_function(item: &TokenStream) -> Error {
    const MESSAGE: &str = "`#[leak_test]` applies only to functions: `fn name() { ... }`";
    let mut header = TokenStream::new();
    let mut tokens = item.clone().into_iter().peekable();
    while let Some(tree) = tokens.next() {
        match &tree {
            // Outer attributes: `#` then `[...]`.
            TokenTree::Punct(punct) if punct.as_char() == '#' && header.is_empty() => {
                tokens.next_if(|next| matches!(next, TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket));
                continue;
            }
            // The body, a field list or an initialiser ends the header.
            TokenTree::Group(group) if group.delimiter() != Delimiter::Parenthesis => break,
            TokenTree::Punct(punct) if matches!(punct.as_char(), ';' | '=' | ':' | '<') => break,
            _ => {}
        }
        let is_name =
            matches!(&tree, TokenTree::Ident(ident) if !is_item_keyword(&ident.to_string()));
        header.extend([tree]);
        if is_name {
            break;
        }
    }
    if header.is_empty() {
        Error::new_spanned(item, MESSAGE)
    } else {
        Error::new_spanned(header, MESSAGE)
    }
}

fn is_item_keyword(word: &str) -> bool {
    matches!(
        word,
        "pub"
            | "crate"
            | "in"
            | "self"
            | "super"
            | "struct"
            | "enum"
            | "union"
            | "mod"
            | "trait"
            | "impl"
            | "const"
            | "static"
            | "mut"
            | "type"
            | "use"
            | "extern"
            | "unsafe"
            | "auto"
            | "default"
            | "safe"
            | "macro_rules"
            | "fn"
            | "async"
    )
}
