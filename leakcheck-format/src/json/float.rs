//! f64 as JSON text: the shortest digits that read back as the same value,
//! laid out as serde_json lays them out (`1024.0`, `0.001`, `1.5e+16`), so
//! that files keep their bytes.

use std::fmt::{self, Write};

/// Displays a float: fixed notation for decimal exponents -5 to 15,
/// scientific (`1.25e-7`, `1e+300`) outside; `NaN`, `inf`, `-inf`.
pub struct Float(pub f64);

impl fmt::Display for Float {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_nan() {
            return f.write_str("NaN");
        }
        if v.is_infinite() {
            return f.write_str(if v < 0.0 { "-inf" } else { "inf" });
        }
        // `{:e}` gives the shortest round-trip digits: `-1.2345e3`.
        let mut sci = String::with_capacity(32);
        write!(sci, "{v:e}")?;
        let (mantissa, exp) = sci.split_once('e').expect("`{:e}` writes an exponent");
        let exp: i32 = exp.parse().expect("`{:e}` writes an integer exponent");
        let (negative, mantissa) = match mantissa.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, mantissa),
        };
        let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        let mut exp = exp;
        if let Some((even, even_exp)) = even_of_tie(v, &digits, exp) {
            (digits, exp) = (even, even_exp);
        }
        let len = digits.len() as i32;
        if negative {
            f.write_char('-')?;
        }
        if (-5..=15).contains(&exp) {
            if len - 1 <= exp {
                // 1234e7 -> 12340000000.0
                f.write_str(&digits)?;
                for _ in 0..exp + 1 - len {
                    f.write_char('0')?;
                }
                f.write_str(".0")
            } else if exp >= 0 {
                // 1234e-2 -> 12.34
                let (int, frac) = digits.split_at(exp as usize + 1);
                write!(f, "{int}.{frac}")
            } else {
                // 1234e-6 -> 0.001234
                f.write_str("0.")?;
                for _ in 0..-exp - 1 {
                    f.write_char('0')?;
                }
                f.write_str(&digits)
            }
        } else {
            // 1234e30 -> 1.234e+33
            let (first, rest) = digits.split_at(1);
            f.write_str(first)?;
            if !rest.is_empty() {
                write!(f, ".{rest}")?;
            }
            let sign = if exp < 0 { '-' } else { '+' };
            write!(f, "e{sign}{}", exp.unsigned_abs())
        }
    }
}

/// When `v` lies exactly halfway between two shortest candidates, std
/// picks the upper one and serde_json's the even one; this returns the even
/// one when std's pick is odd and the even one reads back as `v` too.
fn even_of_tie(v: f64, digits: &str, exp: i32) -> Option<(String, i32)> {
    let last = *digits.as_bytes().last()?;
    if (last - b'0').is_multiple_of(2) {
        return None;
    }
    // An f64's exact decimal expansion has at most 767 significant digits.
    let exact = format!("{:.800e}", v.abs());
    let (mantissa, exact_exp) = exact.split_once('e')?;
    let exact_digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exact_digits = exact_digits.trim_end_matches('0');
    if exact_exp.parse::<i32>().ok()? != exp
        || exact_digits.len() != digits.len() + 1
        || !exact_digits.ends_with('5')
    {
        return None;
    }
    // The tie is between the exact value's first digits and the next number
    // up: std wrote one of them, and the other is the even choice.
    let lower = &exact_digits[..digits.len()];
    let other = if lower == digits {
        let mut up = lower.as_bytes().to_vec();
        let end = up.last_mut()?;
        if *end == b'9' {
            return None;
        }
        *end += 1;
        String::from_utf8(up).ok()?
    } else {
        lower.to_owned()
    };
    let (first, rest) = other.split_at(1);
    let text = format!("{first}.{rest}e{exp}");
    let reads_back = text.parse::<f64>().ok()? == v.abs();
    reads_back.then_some((other, exp))
}

#[cfg(test)]
mod tests {
    use super::Float;

    // The halfway cases are exact values, written out in full.
    #[allow(clippy::excessive_precision)]
    #[test]
    fn layouts() {
        for (v, text) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1024.0, "1024.0"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (12.34, "12.34"),
            (0.001234, "0.001234"),
            (0.00001, "0.00001"),
            (0.000001, "1e-6"),
            (1.25e-7, "1.25e-7"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e300, "1e+300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            // Halfway between two shortest candidates: the even one.
            (1658206780088562.25, "1658206780088562.2"),
            (-26829767983277.3125, "-26829767983277.312"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(Float(v).to_string(), text, "{v:e}");
        }
    }

    #[test]
    fn text_reads_back_as_the_same_value() {
        let mut bits: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            bits ^= bits << 13;
            bits ^= bits >> 7;
            bits ^= bits << 17;
            let v = f64::from_bits(bits);
            if v.is_finite() {
                let text = Float(v).to_string();
                assert_eq!(
                    text.parse::<f64>().unwrap().to_bits(),
                    v.to_bits(),
                    "{text}"
                );
            }
        }
    }
}
