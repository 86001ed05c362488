//! What finding the retainers of a leak costs at scale: a million live
//! blocks (32 bytes, each reached from the stack through one `Vec`), with
//! the live-block registry on (`--no-registry`: off, for the allocation
//! loop's cost without it). Prints the allocation loop's time, then, with
//! the registry, each scan's time (stop the threads, copy and sort the
//! registry, flood from the roots, the edges between unreached blocks)
//! and the memory it took: the registry's tables and the scan's own.
//!
//! ```text
//! cargo run --release -p leakcheck-bench --bin bench-retain
//! cargo run --release -p leakcheck-bench --bin bench-retain -- --no-registry
//! ```

use std::hint::black_box;
use std::time::Instant;

leakcheck_rt::install!();

const BLOCKS: usize = 1_000_000;

/// `VmRSS` and `VmHWM` of this process, in KiB.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let registry = !std::env::args().any(|a| a == "--no-registry");
    if registry {
        leakcheck_engine::retain_blocks();
    }
    leakcheck_rt::start(25);
    let (rss_before, _) = rss();
    let start = Instant::now();
    let blocks: Vec<Box<[u8; 32]>> = (0..BLOCKS).map(|i| Box::new([i as u8; 32])).collect();
    let allocating = start.elapsed();
    let (rss_live, _) = rss();
    println!(
        "registry {}: {BLOCKS} blocks allocated in {:.1} ms; RSS +{} MiB",
        if registry { "on" } else { "off" },
        allocating.as_secs_f64() * 1e3,
        (rss_live - rss_before) / 1024
    );
    if !registry {
        black_box(&blocks);
        return;
    }
    let objects = leakcheck_engine::loaded_objects();
    let (statics, tls) = leakcheck_engine::roots_of(&objects);
    for round in 1..=3 {
        let (_, hwm_before) = rss();
        let start = Instant::now();
        let scan = leakcheck_engine::scan(&statics, &tls).expect("the registry is on");
        let took = start.elapsed();
        let (_, hwm_after) = rss();
        let reached = scan
            .parents
            .iter()
            .filter(|p| **p != leakcheck_engine::Parent::None)
            .count();
        assert!(
            reached >= BLOCKS,
            "{reached} of {} blocks reached",
            scan.blocks.len()
        );
        println!(
            "scan {round}: {:.1} ms for {} live blocks ({reached} reached); peak RSS +{} MiB \
             (the scan's own buffers, {} MiB)",
            took.as_secs_f64() * 1e3,
            scan.blocks.len(),
            hwm_after.saturating_sub(hwm_before) / 1024,
            (scan.blocks.capacity() * std::mem::size_of::<leakcheck_engine::ScannedBlock>()
                + scan.parents.capacity() * std::mem::size_of::<leakcheck_engine::Parent>())
                / (1 << 20)
        );
    }
    black_box(&blocks);
}
