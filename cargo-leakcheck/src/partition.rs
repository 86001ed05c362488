//! `--partition count:K/N` and `hash:K/N`: one shard of a suite split
//! across a CI matrix, as nextest splits it.
//!
//! The unit is the test binary: its session needs all its tests in one
//! process (session growth counts the tests that left memory at a site),
//! and its leak tests are found by that session. So the shards' reports
//! hold whole binaries, and `cargo leakcheck merge` of all N of them is
//! the unsharded run's report.

use std::fmt;
use std::str::FromStr;

/// How binaries are dealt to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Round robin over the binaries sorted by name: even shards, but a
    /// new binary moves the ones after it to other shards.
    Count,
    /// By a hash of the binary's name: a binary stays in its shard when
    /// others come and go.
    Hash,
}

/// Shard `shard` (1-based) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// How binaries are dealt.
    pub scheme: Scheme,
    /// This shard, 1 to `total`.
    pub shard: u64,
    /// The number of shards.
    pub total: u64,
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let expected = || format!("expected `count:K/N` or `hash:K/N` with 1 <= K <= N; got `{s}`");
        let (scheme, rest) = s.split_once(':').ok_or_else(expected)?;
        let scheme = match scheme {
            "count" => Scheme::Count,
            "hash" => Scheme::Hash,
            _ => return Err(expected()),
        };
        let (k, n) = rest.split_once('/').ok_or_else(expected)?;
        let (shard, total) = match (k.parse::<u64>(), n.parse::<u64>()) {
            (Ok(k), Ok(n)) if 1 <= k && k <= n => (k, n),
            _ => return Err(expected()),
        };
        Ok(Partition {
            scheme,
            shard,
            total,
        })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Count => "count",
            Scheme::Hash => "hash",
        };
        write!(f, "{scheme}:{}/{}", self.shard, self.total)
    }
}

impl Partition {
    /// The items of this shard, from all items in their stable order
    /// (`name` gives an item's binary name).
    pub fn select<T>(&self, items: Vec<T>, name: impl Fn(&T) -> &str) -> Vec<T> {
        items
            .into_iter()
            .enumerate()
            .filter(|(i, item)| {
                let bucket = match self.scheme {
                    Scheme::Count => *i as u64,
                    Scheme::Hash => fnv1a(name(item).as_bytes()),
                };
                bucket % self.total == self.shard - 1
            })
            .map(|(_, item)| item)
            .collect()
    }
}

/// FNV-1a, 64 bits: stable across Rust releases and machines, which std's
/// `DefaultHasher` does not promise; shards on different runners must
/// agree.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_nextest_spells_it() {
        let p: Partition = "count:2/3".parse().unwrap();
        assert_eq!((p.scheme, p.shard, p.total), (Scheme::Count, 2, 3));
        assert_eq!(p.to_string(), "count:2/3");
        assert_eq!(
            "hash:1/1".parse::<Partition>().unwrap().scheme,
            Scheme::Hash
        );
        for bad in [
            "count:0/2",
            "count:3/2",
            "count:1",
            "slice:1/2",
            "hash:a/b",
            "1/2",
        ] {
            let e = bad.parse::<Partition>().unwrap_err();
            assert!(e.contains("expected `count:K/N`"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_item_is_in_exactly_one_shard() {
        let names: Vec<String> = (0..17).map(|i| format!("bin_{i}")).collect();
        for scheme in ["count", "hash"] {
            let mut seen: Vec<String> = Vec::new();
            for k in 1..=4 {
                let p: Partition = format!("{scheme}:{k}/4").parse().unwrap();
                let shard = p.select(names.clone(), |s| s);
                if scheme == "count" {
                    assert!((4..=5).contains(&shard.len()), "{p}: {shard:?}");
                }
                seen.extend(shard);
            }
            seen.sort();
            let mut all = names.clone();
            all.sort();
            assert_eq!(seen, all, "{scheme}");
        }
        let p: Partition = "count:2/4".parse().unwrap();
        assert_eq!(
            p.select(names.clone(), |s| s),
            ["bin_1", "bin_5", "bin_9", "bin_13"]
        );
    }

    #[test]
    fn hash_shards_do_not_move_when_others_come_and_go() {
        let p: Partition = "hash:1/3".parse().unwrap();
        let few = p.select(vec!["a", "b", "c", "d"], |s| s);
        let more = p.select(vec!["a", "aa", "b", "bb", "c", "d"], |s| s);
        assert!(few.iter().all(|x| more.contains(x)), "{few:?} {more:?}");
        // The hash is fixed: FNV-1a of "a".
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
