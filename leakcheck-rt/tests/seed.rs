//! The seed case: an unbounded cache found by two snapshots and a diff.

use std::collections::HashMap;

use leakcheck_rt::KeyType;

leakcheck_rt::install!();

struct Service {
    cache: HashMap<u64, Vec<u8>>,
}

impl Service {
    fn handle_request(&mut self, id: u64) {
        let payload = vec![0u8; 1024]; // LEAK LINE
        self.cache.insert(id, payload);
    }
}

fn leak_line() -> u32 {
    let src = include_str!("seed.rs");
    src.lines()
        .position(|l| l.contains("// LEAK LINE"))
        .unwrap() as u32
        + 1
}

#[test]
fn compare_to_names_the_leaking_line() {
    let mut service = Service {
        cache: HashMap::new(),
    };
    leakcheck_rt::start(25);
    service.handle_request(u64::MAX);
    let baseline = leakcheck_rt::take_snapshot();
    for id in 0..10_000 {
        service.handle_request(id);
    }
    let after = leakcheck_rt::take_snapshot();
    let top = after.compare_to(&baseline, KeyType::Lineno);
    for stat in top.iter().take(3) {
        println!("{stat}");
    }
    let first = &top[0];
    let frame = first.traceback.charged_frame().unwrap();
    assert_eq!(frame.file, "leakcheck-rt/tests/seed.rs");
    assert_eq!(frame.line, leak_line(), "{first}");
    assert_eq!(first.count_diff, 10_000);
    assert!(first.size_diff >= 10_240_000, "{first}");
    assert!(
        frame.function.ends_with("Service::handle_request"),
        "{}",
        frame.function
    );
    assert_eq!(
        first.to_string(),
        format!(
            "+10000.0 KiB  count  10000  leakcheck-rt/tests/seed.rs:{}",
            leak_line()
        )
    );

    // Grouped by traceback: the path from this test down to that line.
    let by_path = after.compare_to(&baseline, KeyType::Traceback);
    let path = by_path[0].traceback.format();
    let test_at = path
        .iter()
        .position(|l| l.contains("compare_to_names_the_leaking_line"))
        .unwrap_or_else(|| panic!("test frame missing: {path:#?}"));
    let leak_at = path
        .iter()
        .position(|l| l.starts_with(&format!("leakcheck-rt/tests/seed.rs:{} ", leak_line())))
        .unwrap_or_else(|| panic!("leak frame missing: {path:#?}"));
    assert!(test_at < leak_at, "oldest first: {path:#?}");
    assert!(
        path.iter().all(|l| !l.contains("leakcheck_rt::")),
        "{path:#?}"
    );

    let (current, peak) = leakcheck_rt::traced_memory();
    assert!(
        current >= 10_240_000 && peak >= current - (64 << 10),
        "{current} {peak}"
    );
    leakcheck_rt::stop();
    assert!(!leakcheck_rt::is_tracing());
    assert_eq!(leakcheck_rt::traced_memory().0, 0);
}
