//! Helpers shared by the allocator's reliability tests: a watchdog that
//! turns a hang into a failure, the size of a run, and the live bytes and
//! blocks a snapshot charges to marked lines of a test file.
//!
//! Every binary runs a short default that fits CI; `LEAKCHECK_STRESS=full`
//! runs the heavy variant (more threads, rounds and operations).

#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use leakcheck_rt::{KeyType, Snapshot};

/// `true` when `LEAKCHECK_STRESS=full` asks for the heavy variants.
pub fn full() -> bool {
    std::env::var("LEAKCHECK_STRESS").is_ok_and(|v| v == "full")
}

/// `default` in a normal run, `heavy` under `LEAKCHECK_STRESS=full`.
pub fn scale(default: usize, heavy: usize) -> usize {
    if full() { heavy } else { default }
}

/// Aborts the whole process with `what` on stderr if it still runs after
/// `secs` seconds (four times as long in a full stress run): a deadlock
/// fails the test instead of stalling CI. The message is written with
/// `write(2)`, so a deadlocked allocator or stderr lock cannot stop it.
pub fn watchdog(secs: u64, what: &'static str) {
    let secs = if full() { secs * 4 } else { secs };
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            let msgs: [&[u8]; 3] = [
                b"\nwatchdog: ",
                what.as_bytes(),
                b" did not finish in time (deadlock?); aborting\n",
            ];
            for msg in msgs {
                // SAFETY: writes a valid buffer to stderr; no allocation, no lock.
                unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
            }
            std::process::abort();
        })
        .expect("spawn the watchdog");
}

/// The 1-based numbers of the lines of `src` that end with `marker`.
pub fn marked_lines(src: &str, marker: &str) -> Vec<u32> {
    let lines: Vec<u32> = src
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end().ends_with(marker))
        .map(|(i, _)| i as u32 + 1)
        .collect();
    assert!(!lines.is_empty(), "no line ends with {marker:?}");
    lines
}

/// The one line of `src` that ends with `marker`.
pub fn marked_line(src: &str, marker: &str) -> u32 {
    let lines = marked_lines(src, marker);
    assert_eq!(lines.len(), 1, "{marker:?} marks several lines");
    lines[0]
}

/// Live (bytes, blocks) that `snap` charges to each line of `file`.
pub fn by_line(snap: &Snapshot, file: &str) -> HashMap<u32, (u64, u64)> {
    snap.statistics(KeyType::Lineno)
        .into_iter()
        .filter_map(|s| {
            let frame = s.traceback.charged_frame()?;
            (frame.file == file).then_some((frame.line, (s.size, s.count)))
        })
        .collect()
}

/// Live (bytes, blocks) charged to `line` of `file`, (0, 0) if none.
pub fn at_line(snap: &Snapshot, file: &str, line: u32) -> (u64, u64) {
    by_line(snap, file).get(&line).copied().unwrap_or((0, 0))
}

/// A small deterministic generator (xorshift64*), so a failing run can be
/// replayed from its seed and the tests need no extra dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `true` with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
