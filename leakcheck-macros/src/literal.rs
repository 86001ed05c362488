//! Turns the value of one `key = value` argument into a typed number or
//! bool, with an error that points at the value when it does not fit.

use std::ops::RangeInclusive;

use syn::{Error, Expr, ExprLit, ExprUnary, Lit, LitFloat, LitInt, LitStr, UnOp};

/// Reads a non-negative integer literal for `key` that lies in `range`.
///
/// Accepts `_` separators and any integer suffix whose type holds the value
/// (`10_000u32`, `25usize`); the value must also fit the argument's own range.
pub(crate) fn int(key: &str, expr: &Expr, range: RangeInclusive<u64>) -> syn::Result<u64> {
    let lit = match strip_group(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit,
        Expr::Unary(unary) if is_negated_number(unary) => {
            return Err(Error::new_spanned(
                expr,
                format!("`{key}` cannot be negative"),
            ));
        }
        _ => return Err(expected(key, "an integer literal", expr)),
    };
    let value = u64::try_from(int_value(key, lit)?).map_err(|_| {
        Error::new_spanned(lit, format!("`{key}` is too large: it must fit in a u64"))
    })?;
    if range.contains(&value) {
        return Ok(value);
    }
    let message = match (range.start(), range.end()) {
        (min, &u64::MAX) => format!("`{key}` must be at least {min}"),
        (min, max) => format!("`{key}` must be between {min} and {max}"),
    };
    Err(Error::new_spanned(lit, message))
}

/// Reads a non-negative, finite float or integer literal for `key`.
pub(crate) fn float(key: &str, expr: &Expr) -> syn::Result<f64> {
    match strip_group(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Float(lit),
            ..
        }) => float_value(key, lit),
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => match lit.suffix() {
            // `8f64` is lexed as an integer literal with a float suffix.
            "f32" | "f64" => float_value(key, &LitFloat::new(&lit.to_string(), lit.span())),
            // Every u128 converts to a finite f64.
            _ => int_value(key, lit).map(|value| value as f64),
        },
        Expr::Unary(unary) if is_negated_number(unary) => Err(Error::new_spanned(
            expr,
            format!("`{key}` cannot be negative"),
        )),
        _ => Err(expected(key, "a number", expr)),
    }
}

/// Reads a string literal for `key`.
pub(crate) fn string(key: &str, expr: &Expr) -> syn::Result<LitStr> {
    match strip_group(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        _ => Err(expected(key, "a string literal", expr)),
    }
}

/// Reads `true` or `false` for `key`.
pub(crate) fn boolean(key: &str, expr: &Expr) -> syn::Result<bool> {
    match strip_group(expr) {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(lit),
            ..
        }) => Ok(lit.value),
        _ => Err(expected(key, "`true` or `false`", expr)),
    }
}

/// The error for a value of the wrong kind.
fn expected(key: &str, what: &str, expr: &Expr) -> Error {
    let message = if matches!(strip_group(expr), Expr::Lit(_)) {
        format!("`{key}` expects {what}")
    } else {
        // The macro runs before names resolve: `iters = N` cannot work.
        format!(
            "`{key}` expects {what}; a macro argument cannot name a constant or compute a value"
        )
    };
    Error::new_spanned(expr, message)
}

/// A value that came through a `macro_rules!` fragment (`$n:expr`) arrives
/// wrapped in an invisible group; look through it.
fn strip_group(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => strip_group(&group.expr),
        _ => expr,
    }
}

fn is_negated_number(unary: &ExprUnary) -> bool {
    matches!(unary.op, UnOp::Neg(_))
        && matches!(
            strip_group(&unary.expr),
            Expr::Lit(ExprLit {
                lit: Lit::Int(_) | Lit::Float(_),
                ..
            })
        )
}

/// The value of an integer literal, checked against its own suffix.
fn int_value(key: &str, lit: &LitInt) -> syn::Result<u128> {
    let suffix = lit.suffix();
    let Some(max) = int_suffix_max(suffix) else {
        let message = if matches!(suffix, "f32" | "f64") {
            format!("`{key}` expects an integer literal, not a float")
        } else {
            format!("unexpected suffix `{suffix}` on the value of `{key}`")
        };
        return Err(Error::new(lit.span(), message));
    };
    let value = lit.base10_parse::<u128>().map_err(|_| {
        Error::new(
            lit.span(),
            format!("`{key}` is too large: it must fit in a u64"),
        )
    })?;
    if value > max {
        return Err(Error::new(
            lit.span(),
            format!("literal out of range for `{suffix}`: the maximum is {max}"),
        ));
    }
    Ok(value)
}

/// The largest value an integer literal with this suffix may hold, or
/// `None` when the suffix is not an integer type.
fn int_suffix_max(suffix: &str) -> Option<u128> {
    Some(match suffix {
        "" | "u128" => u128::MAX,
        "u8" => u8::MAX.into(),
        "u16" => u16::MAX.into(),
        "u32" => u32::MAX.into(),
        "u64" => u64::MAX.into(),
        "i8" => i8::MAX as u128,
        "i16" => i16::MAX as u128,
        "i32" => i32::MAX as u128,
        "i64" => i64::MAX as u128,
        "i128" => i128::MAX as u128,
        // A proc macro cannot see the target's pointer width; tests run on
        // 64-bit targets in practice, and rustc never sees this literal.
        "usize" => u64::MAX.into(),
        "isize" => i64::MAX as u128,
        _ => return None,
    })
}

fn float_value(key: &str, lit: &LitFloat) -> syn::Result<f64> {
    let value = match lit.suffix() {
        "" | "f64" => lit.base10_parse::<f64>()?,
        "f32" => f64::from(lit.base10_parse::<f32>()?),
        suffix => {
            return Err(Error::new(
                lit.span(),
                format!("unexpected suffix `{suffix}` on the value of `{key}`"),
            ));
        }
    };
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::new(lit.span(), format!("`{key}` is too large")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(src: &str) -> Expr {
        syn::parse_str(src).unwrap()
    }

    fn int_err(src: &str, range: RangeInclusive<u64>) -> String {
        int("iters", &expr(src), range).unwrap_err().to_string()
    }

    #[test]
    fn integers_accept_separators_and_fitting_suffixes() {
        for (src, want) in [("10_000", 10_000), ("255u8", 255), ("7i8", 7), ("0x10", 16)] {
            assert_eq!(
                int("iters", &expr(src), 1..=u64::MAX).unwrap(),
                want,
                "{src}"
            );
        }
        assert_eq!(
            int("iters", &expr("18_446_744_073_709_551_615"), 0..=u64::MAX).unwrap(),
            u64::MAX
        );
    }

    #[test]
    fn integers_reject_what_does_not_fit() {
        assert_eq!(int_err("0", 1..=u64::MAX), "`iters` must be at least 1");
        assert_eq!(int_err("129", 1..=128), "`iters` must be between 1 and 128");
        assert_eq!(int_err("-1", 1..=u64::MAX), "`iters` cannot be negative");
        assert_eq!(
            int_err("256u8", 1..=u64::MAX),
            "literal out of range for `u8`: the maximum is 255"
        );
        assert_eq!(
            int_err("18_446_744_073_709_551_616", 1..=u64::MAX),
            "`iters` is too large: it must fit in a u64"
        );
        assert_eq!(
            int_err("999999999999999999999999999999999999999999", 1..=u64::MAX),
            "`iters` is too large: it must fit in a u64"
        );
        assert_eq!(
            int_err("1.5", 1..=u64::MAX),
            "`iters` expects an integer literal"
        );
        assert_eq!(
            int_err("5f32", 1..=u64::MAX),
            "`iters` expects an integer literal, not a float"
        );
        assert_eq!(
            int_err("5_foo", 1..=u64::MAX),
            "unexpected suffix `foo` on the value of `iters`"
        );
        assert_eq!(
            int_err("\"10\"", 1..=u64::MAX),
            "`iters` expects an integer literal"
        );
        assert_eq!(
            int_err("N", 1..=u64::MAX),
            "`iters` expects an integer literal; \
             a macro argument cannot name a constant or compute a value"
        );
    }

    #[test]
    fn floats_accept_integers_and_suffixes() {
        for (src, want) in [
            ("0.5", 0.5),
            ("8", 8.0),
            ("8f64", 8.0),
            ("1_024.0", 1024.0),
            ("0.25f32", 0.25),
            ("1e3", 1000.0),
        ] {
            assert_eq!(
                float("min_bytes_per_iter", &expr(src)).unwrap(),
                want,
                "{src}"
            );
        }
    }

    #[test]
    fn floats_reject_negative_infinite_and_non_numbers() {
        let err = |src: &str| {
            float("min_bytes_per_iter", &expr(src))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(err("-0.5"), "`min_bytes_per_iter` cannot be negative");
        assert_eq!(err("1e400"), "`min_bytes_per_iter` is too large");
        assert_eq!(err("1e39f32"), "`min_bytes_per_iter` is too large");
        assert_eq!(err("true"), "`min_bytes_per_iter` expects a number");
    }

    #[test]
    fn booleans() {
        assert!(boolean("snapshot", &expr("true")).unwrap());
        assert!(!boolean("snapshot", &expr("false")).unwrap());
        let err = boolean("snapshot", &expr("1")).unwrap_err().to_string();
        assert_eq!(err, "`snapshot` expects `true` or `false`");
    }
}
