//! Sizes and rates in the unit a person reads: `512 B`, `12.0 KiB`,
//! `4.9 MiB/interval`. Every report that shows a size or a rate to a
//! person (the human report, `cargo leakcheck diff`, the HTML page) writes
//! it here, so they read alike. The JSON keeps plain numbers.

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

/// `512 B`, `12.0 KiB`, `-3.4 MiB`.
pub fn bytes(n: i64) -> String {
    let a = n.unsigned_abs() as f64;
    let sign = if n < 0 { "-" } else { "" };
    if a >= MIB {
        format!("{sign}{:.1} MiB", a / MIB)
    } else if a >= KIB {
        format!("{sign}{:.1} KiB", a / KIB)
    } else {
        format!("{sign}{a} B")
    }
}

/// Bytes per `per` (`iter`, `interval`, `s`): `512.0 B/iter`,
/// `12.5 KiB/s`, `4.9 MiB/interval`.
pub fn rate(bytes: f64, per: &str) -> String {
    let a = bytes.abs();
    if a >= MIB {
        format!("{:.1} MiB/{per}", bytes / MIB)
    } else if a >= KIB {
        format!("{:.1} KiB/{per}", bytes / KIB)
    } else {
        format!("{bytes:.1} B/{per}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_their_unit() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(12 * 1024), "12.0 KiB");
        assert_eq!(bytes(-(3 * 1024 * 1024 + 400 * 1024)), "-3.4 MiB");
    }

    #[test]
    fn rates_read_in_their_unit() {
        assert_eq!(rate(512.0, "s"), "512.0 B/s");
        assert_eq!(rate(12.5 * 1024.0, "s"), "12.5 KiB/s");
        assert_eq!(rate(3.25 * 1024.0 * 1024.0, "s"), "3.2 MiB/s");
        assert_eq!(rate(5_175_296.0, "interval"), "4.9 MiB/interval");
        assert_eq!(rate(8.2, "iter"), "8.2 B/iter");
        assert_eq!(rate(1024.0, "iter"), "1.0 KiB/iter");
    }
}
