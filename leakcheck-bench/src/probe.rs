//! What a child measures around a workload: wall time, page faults, RSS.

use std::time::Instant;

/// Page faults and CPU time of the whole process so far (all threads).
#[derive(Debug, Clone, Copy)]
struct Usage {
    minor_faults: u64,
    major_faults: u64,
    cpu_nanos: u64,
}

fn usage() -> Usage {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let nanos = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    Usage {
        minor_faults: usage.ru_minflt as u64,
        major_faults: usage.ru_majflt as u64,
        cpu_nanos: nanos(usage.ru_utime) + nanos(usage.ru_stime),
    }
}

/// CPU time (user + system, all threads) and peak RSS of the whole
/// process so far.
pub fn process_totals() -> (u64, u64) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let nanos = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    (
        nanos(usage.ru_utime) + nanos(usage.ru_stime),
        // Kilobytes on Linux.
        usage.ru_maxrss as u64 * 1024,
    )
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

/// One timed run: wall time, CPU time of all threads (user + system, to the
/// microsecond; unlike wall time it leaves out time spent waiting for a
/// core that another process holds), and the page faults taken during it.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub nanos: u64,
    pub cpu_nanos: u64,
    pub minor_faults: u64,
    pub major_faults: u64,
}

/// Runs `f` once and measures it.
pub fn measure(f: impl FnOnce()) -> Sample {
    let before = usage();
    let t = Instant::now();
    f();
    let nanos = t.elapsed().as_nanos() as u64;
    let after = usage();
    Sample {
        nanos,
        cpu_nanos: after.cpu_nanos - before.cpu_nanos,
        minor_faults: after.minor_faults - before.minor_faults,
        major_faults: after.major_faults - before.major_faults,
    }
}
