//! Where the measured loop stops for a snapshot, and how far it is extended.

/// The checkpoints that split the measured calls `from+1 ..= to` into `k`
/// stretches, ending exactly at `to`.
///
/// The stretches are deliberately uneven: each checkpoint but the last is
/// moved by up to 40% of a stretch, by a fixed pseudo-random sequence.
/// With evenly spaced snapshots, a sawtooth whose period is close to the
/// spacing (or a divisor of it) is seen at a phase that creeps forward by
/// the same amount at every checkpoint, which looks exactly like steady
/// growth; so does any spacing with a regular pattern (a golden-ratio
/// sequence has only two gap lengths). Irregular spacing scrambles those
/// phases so the falls show. The positions depend only on the arguments,
/// so a verdict never depends on chance.
pub(crate) fn checkpoints(from: u64, to: u64, k: u32) -> Vec<u64> {
    if to <= from {
        return Vec::new();
    }
    let k = u64::from(k.max(1));
    let span = to - from;
    let mut out: Vec<u64> = Vec::with_capacity(k as usize);
    for i in 1..k {
        let unit = (mix(from ^ mix(i)) >> 11) as f64 / (1u64 << 53) as f64;
        let jitter = (unit - 0.5) * 0.8;
        let at = from as f64 + span as f64 * (i as f64 + jitter) / k as f64;
        let at = (at.round() as u64).clamp(from + 1, to);
        if out.last().is_none_or(|&last| at > last) && at < to {
            out.push(at);
        }
    }
    out.push(to);
    out
}

/// splitmix64's finaliser: a fixed, well-spread hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The next end of the loop when the verdict asks for more evidence:
/// twice as many measured calls, but never past `max_iters`. `None` when
/// the loop already reached the cap.
pub(crate) fn extend(current: u64, max_iters: u64) -> Option<u64> {
    (current < max_iters).then(|| current.saturating_mul(2).min(max_iters))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_are_increasing_and_end_at_the_end() {
        for (from, to, k) in [(0, 10_000, 8), (10_000, 20_000, 8), (0, 5, 8), (0, 1, 3)] {
            let c = checkpoints(from, to, k);
            assert_eq!(c.last(), Some(&to));
            assert!(c.len() <= k as usize);
            assert!(c.windows(2).all(|w| w[0] < w[1]), "{c:?}");
            assert!(c[0] > from);
        }
        assert!(checkpoints(7, 7, 8).is_empty());
    }

    #[test]
    fn checkpoints_are_uneven_but_close_to_even() {
        let c = checkpoints(0, 10_000, 8);
        assert_eq!(c.len(), 8);
        let gaps: Vec<u64> = std::iter::once(c[0])
            .chain(c.windows(2).map(|w| w[1] - w[0]))
            .collect();
        assert!(gaps.iter().all(|&g| (200..=2300).contains(&g)), "{gaps:?}");
        assert!(gaps.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn extension_doubles_up_to_the_cap() {
        assert_eq!(extend(10_000, 40_000), Some(20_000));
        assert_eq!(extend(20_000, 40_000), Some(40_000));
        assert_eq!(extend(30_000, 40_000), Some(40_000));
        assert_eq!(extend(40_000, 40_000), None);
        assert_eq!(extend(10_000, 10_000), None);
    }
}
