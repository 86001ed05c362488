//! The allocation-heavy workloads timed under every allocator. Each is
//! sized to take roughly 50–150 ms under the System allocator on the
//! reference machine, and is deterministic.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;

/// A timed workload, built into every bench binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Small `Box` alloc/free in a tight loop: the allocator's fixed cost.
    BoxLoop,
    /// Building and dropping many `String`s.
    Strings,
    /// Parsing a ~100 KB JSON document into a `serde_json::Value`.
    Json,
    /// `BTreeMap` insert/remove churn.
    BTree,
    /// Two threads running small alloc/free loops at once.
    TwoThreads,
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::BoxLoop,
        Workload::Strings,
        Workload::Json,
        Workload::BTree,
        Workload::TwoThreads,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::BoxLoop => "box_loop",
            Workload::Strings => "strings",
            Workload::Json => "json",
            Workload::BTree => "btree",
            Workload::TwoThreads => "two_threads",
        }
    }

    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Builds the workload's input, outside the timed region.
    pub fn prepare(self) -> Input {
        match self {
            Workload::Json => Input::Json(json_document(100 * 1024)),
            _ => Input::None,
        }
    }

    /// Runs the workload once.
    pub fn run(self, input: &Input) {
        match (self, input) {
            (Workload::BoxLoop, _) => box_loop(BOX_LOOP_ITERS),
            (Workload::Strings, _) => strings(STRING_ROUNDS),
            (Workload::Json, Input::Json(doc)) => json(doc, JSON_PARSES),
            (Workload::Json, Input::None) => json(&json_document(100 * 1024), JSON_PARSES),
            (Workload::BTree, _) => btree(BTREE_OPS),
            (Workload::TwoThreads, _) => two_threads(TWO_THREAD_ITERS),
        }
    }
}

/// Prepared input of a workload.
#[derive(Debug)]
pub enum Input {
    None,
    Json(String),
}

const BOX_LOOP_ITERS: usize = 4_000_000;
const STRING_ROUNDS: usize = 400;
const JSON_PARSES: usize = 40;
const BTREE_OPS: usize = 600_000;
const TWO_THREAD_ITERS: usize = 2_000_000;

/// A small deterministic pseudo-random sequence (64-bit LCG).
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 ^ (self.0 >> 33)
    }
}

#[inline(never)]
pub fn box_loop(iters: usize) {
    for i in 0..iters {
        black_box(Box::new(i as u64));
    }
}

#[inline(never)]
pub fn strings(rounds: usize) {
    for round in 0..rounds {
        let mut all: Vec<String> = Vec::new();
        for i in 0..1_000 {
            let mut s = String::new();
            let _ = write!(s, "item-{i}-round-{round}");
            if i % 3 == 0 {
                s.push_str(" with a longer tail that makes the string grow");
            }
            all.push(s);
        }
        let joined = all[..100].join(",");
        black_box((&all, joined));
    }
}

/// A deterministic JSON document of about `bytes` bytes: an array of
/// records with strings, numbers, nested objects and arrays.
pub fn json_document(bytes: usize) -> String {
    let mut rng = Lcg::new(42);
    let mut out = String::from("[");
    let mut i = 0u64;
    while out.len() < bytes {
        if i > 0 {
            out.push(',');
        }
        let r = rng.next_u64();
        let _ = write!(
            out,
            r#"{{"id":{i},"name":"user-{r:x}","score":{score:.3},"active":{active},"tags":["t{a}","t{b}","t{c}"],"address":{{"city":"city-{city}","zip":"{zip:05}"}},"history":[{h0},{h1},{h2},{h3}]}}"#,
            score = (r % 10_000) as f64 / 7.0,
            active = r.is_multiple_of(2),
            a = r % 17,
            b = (r >> 8) % 17,
            c = (r >> 16) % 17,
            city = (r >> 24) % 100,
            zip = (r >> 32) % 100_000,
            h0 = r % 1000,
            h1 = (r >> 10) % 1000,
            h2 = (r >> 20) % 1000,
            h3 = (r >> 30) % 1000,
        );
        i += 1;
    }
    out.push(']');
    out
}

#[inline(never)]
pub fn json(doc: &str, parses: usize) {
    for _ in 0..parses {
        let value: serde_json::Value = serde_json::from_str(black_box(doc)).expect("valid JSON");
        black_box(&value);
    }
}

/// Grows a map to 2,000 random keys and removes them again, `ops` inserts
/// and as many removes in all: leaves split and merge, so the churn
/// allocates and frees nodes. (A map held at a steady size allocates a
/// node only every few hundred operations, and measures the map, not the
/// allocator.)
#[inline(never)]
pub fn btree(ops: usize) {
    const SIZE: usize = 2_000;
    let mut rng = Lcg::new(7);
    let mut keys = Vec::with_capacity(SIZE);
    for _ in 0..ops / SIZE {
        let mut map = BTreeMap::new();
        keys.clear();
        for _ in 0..SIZE {
            let k = rng.next_u64();
            map.insert(k, k);
            keys.push(k);
        }
        // Remove in another order than inserted.
        for i in 0..SIZE {
            map.remove(&keys[(i * 7919) % SIZE]);
        }
        black_box(&map);
    }
}

#[inline(never)]
pub fn two_threads(iters_per_thread: usize) {
    std::thread::scope(|s| {
        for t in 0..2u64 {
            s.spawn(move || {
                let mut keep: Vec<Box<u64>> = Vec::new();
                for i in 0..iters_per_thread as u64 {
                    black_box(Box::new(i ^ t));
                    if i % 64 == 0 {
                        keep.push(Box::new(i));
                    }
                    if keep.len() == 256 {
                        keep.clear();
                    }
                }
                black_box(keep);
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_document_is_valid_and_about_100_kb() {
        let doc = json_document(100 * 1024);
        assert!((100 * 1024..110 * 1024).contains(&doc.len()));
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert!(v.as_array().unwrap().len() > 500);
        assert_eq!(doc, json_document(100 * 1024));
    }

    #[test]
    fn names_round_trip() {
        for w in Workload::ALL {
            assert_eq!(Workload::from_name(w.name()), Some(w));
        }
    }
}
