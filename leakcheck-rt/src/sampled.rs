//! Sampled tracking for services in production ([`start_sampled`],
//! [`SampleRate`]), and the process's own view of its memory, which every
//! snapshot records beside the heap that leakcheck counts.

use leakcheck_engine as alloc;
use leakcheck_format::snapshot::{ProcessMemory, Sampling};

/// How often [`start_sampled`] picks an allocation: one sample per
/// `mean_bytes` allocated bytes on average, and at least one in
/// `min_one_in` allocations whatever their size (so that a leak of small
/// blocks is seen: by bytes alone, a 48-byte node would be sampled once in
/// about eleven thousand allocations at the default rate).
///
/// A block of `s` bytes is sampled with probability
/// `p(s) = 1 − e^(−s/mean_bytes) · (1 − 1/min_one_in)` and stands for
/// `1/p(s)` blocks and `s/p(s)` bytes, so sizes and counts are unbiased
/// estimates, as in jemalloc's and Go's heap profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SampleRate {
    mean_bytes: u64,
    min_one_in: u64,
}

impl SampleRate {
    /// One sample per `mean_bytes` allocated bytes on average, and at least
    /// one in `min_one_in` allocations. Zeros count as 1 (every block).
    pub const fn new(mean_bytes: u64, min_one_in: u64) -> Self {
        SampleRate {
            mean_bytes: if mean_bytes == 0 { 1 } else { mean_bytes },
            min_one_in: if min_one_in == 0 { 1 } else { min_one_in },
        }
    }

    /// Bytes allocated per sample, on average.
    pub const fn mean_bytes(&self) -> u64 {
        self.mean_bytes
    }

    /// The floor: at least one sample in this many allocations.
    pub const fn min_one_in(&self) -> u64 {
        self.min_one_in
    }

    /// The probability that a block of `size` bytes is sampled.
    pub fn probability(&self, size: u64) -> f64 {
        self.as_sampling().probability(size)
    }

    fn as_sampling(&self) -> Sampling {
        Sampling {
            mean_bytes: self.mean_bytes,
            min_one_in: self.min_one_in,
        }
    }
}

impl Default for SampleRate {
    /// One sample per 512 KiB (jemalloc's `lg_prof_sample:19`, Go's
    /// `MemProfileRate`), and at least one in 1,024 allocations.
    fn default() -> Self {
        SampleRate::new(512 << 10, 1024)
    }
}

/// Starts sampled tracing, keeping `nframe` frames per sampled call stack:
/// only the allocations `rate` picks are traced, and a snapshot's sizes and
/// counts are unbiased estimates ([`Snapshot::sampling`](crate::Snapshot::sampling)
/// says so, with the rate). An allocation that is not picked costs a
/// countdown on its thread; its `free` reads the block's header and
/// nothing else.
///
/// Traces of an earlier run are cleared (unless tracing is already sampled
/// at this rate: then only the frame limit changes). [`dump_every`](crate::dump_every)
/// keeps a sampled run sampled; [`start`](crate::start) goes back to exact
/// tracing. In a `cargo leakcheck` session, which traces exactly, it does
/// nothing.
///
/// ```no_run
/// leakcheck_rt::install!();
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     leakcheck_rt::start_sampled(25, leakcheck_rt::SampleRate::default());
///     let _dumps = leakcheck_rt::dump_every(
///         std::time::Duration::from_secs(60),
///         "leakcheck-snapshots",
///     )?;
///     // serve();
///     Ok(())
/// }
/// ```
///
/// # Panics
///
/// If `nframe` is 0 or above 128, or if the global allocator is not a
/// [`TrackingAllocator`](crate::TrackingAllocator).
pub fn start_sampled(nframe: usize, rate: SampleRate) {
    alloc::start_sampled(nframe, rate.mean_bytes, rate.min_one_in);
}

/// The rate tracing samples at, or `None` while it is exact or off.
pub fn sample_rate() -> Option<SampleRate> {
    alloc::sampling().map(|(mean_bytes, min_one_in)| SampleRate::new(mean_bytes, min_one_in))
}

/// The sampling of the counts being taken now, for a snapshot's origin.
pub(crate) fn sampling_now() -> Option<Sampling> {
    sample_rate().map(|rate| rate.as_sampling())
}

/// The process's resident set and the C allocator's own count now.
pub(crate) fn process_memory() -> Option<ProcessMemory> {
    let rss_bytes = alloc::resident_bytes()?;
    let in_use = alloc::libc_heap_in_use();
    Some(ProcessMemory {
        rss_bytes,
        allocator_in_use_bytes: in_use,
        allocator: in_use.map(|_| "glibc".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rate_is_jemallocs_with_a_floor() {
        let rate = SampleRate::default();
        assert_eq!((rate.mean_bytes(), rate.min_one_in()), (512 << 10, 1024));
        assert_eq!(SampleRate::new(0, 0), SampleRate::new(1, 1));
        assert!((rate.probability(1 << 30) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_process_reports_its_resident_memory() {
        let memory = process_memory().expect("/proc/self/statm is readable on Linux");
        assert!(memory.rss_bytes > 1 << 20, "{memory:?}");
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert_eq!(memory.allocator.as_deref(), Some("glibc"));
        }
    }
}
