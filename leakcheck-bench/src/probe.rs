//! What a child measures around a workload: wall time, page faults, RSS.

use std::time::Instant;

/// Minor and major page faults of the whole process so far (all threads).
pub fn faults() -> (u64, u64) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    (usage.ru_minflt as u64, usage.ru_majflt as u64)
}

/// Resident set size in bytes, from `/proc/self/statm`.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf with a valid name only reads system configuration.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}

/// One timed run: nanoseconds and the page faults taken during it.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub nanos: u64,
    pub minor_faults: u64,
    pub major_faults: u64,
}

/// Runs `f` once and measures it.
pub fn measure(f: impl FnOnce()) -> Sample {
    let (min0, maj0) = faults();
    let t = Instant::now();
    f();
    let nanos = t.elapsed().as_nanos() as u64;
    let (min1, maj1) = faults();
    Sample {
        nanos,
        minor_faults: min1 - min0,
        major_faults: maj1 - maj0,
    }
}
