//! The `#[leak_test]` runner end to end in this binary: each test measures
//! itself in a child process and judges the child's report.

use std::collections::{HashMap, VecDeque};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

use leakcheck_rt::__private::{LeakTestConfig, run_leak_test};

leakcheck_rt::install!();

const FILE: &str = "leakcheck-rt/tests/leak_test_runner.rs";

fn config(fn_name: &'static str, iters: u64) -> LeakTestConfig {
    LeakTestConfig {
        module_path: module_path!(),
        fn_name,
        file: file!(),
        manifest_dir: env!("CARGO_MANIFEST_DIR"),
        warmup: 1,
        iters,
        frames: 25,
        checkpoints: 8,
        max_iters: 4 * iters,
        min_bytes_per_iter: 0.0,
        min_growth_bytes: 256,
        snapshot: false,
        should_panic: None,
    }
}

/// Runs the leak test; `None` inside the child run (which only measures),
/// else the failure message, if any.
fn outcome(
    config: &LeakTestConfig,
    mut body: impl FnMut(),
    check_snapshot: &dyn Fn(&str),
) -> Option<Result<(), String>> {
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        run_leak_test(config, &mut body, check_snapshot)
    }));
    if std::env::var_os("LEAKCHECK_MODE").is_some() {
        if let Err(payload) = result {
            panic::resume_unwind(payload);
        }
        return None;
    }
    Some(result.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    }))
}

fn line_of(marker: &str) -> u32 {
    include_str!("leak_test_runner.rs")
        .lines()
        .position(|l| l.ends_with(marker))
        .expect("marker") as u32
        + 1
}

static CACHE: Mutex<Option<HashMap<u64, Vec<u8>>>> = Mutex::new(None);
static NEXT: Mutex<u64> = Mutex::new(0);

fn cache_payload() {
    let mut next = NEXT.lock().unwrap();
    *next += 1;
    let payload = vec![0u8; 1024]; // LEAK: cache
    CACHE
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(*next, payload); // LEAK: table
}

#[test]
fn unbounded_cache() {
    let Some(result) = outcome(&config("unbounded_cache", 10_000), cache_payload, &|_| {}) else {
        return;
    };
    let message = result.expect_err("the unbounded cache must fail");
    let site = format!("{FILE}:{}", line_of("// LEAK: cache"));
    let row = message
        .lines()
        .find(|l| l.trim_start().starts_with('+') && l.contains(&site))
        .unwrap_or_else(|| panic!("no row for {site} in:\n{message}"));
    assert!(row.contains("count  10000"), "{row}");
    assert!(row.contains("(1024.0 B/iter, 1.00 blocks/iter)"), "{row}");
    assert!(message.starts_with("unbounded_cache leaks: "), "{message}");
    assert!(
        message.contains(&format!("call path of {site} (oldest first):")),
        "{message}"
    );
    assert!(
        message.contains("leak_test_runner::cache_payload"),
        "{message}"
    );
}

static NESTED: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

fn nested_payload() {
    NESTED.lock().unwrap().push(vec![0u8; 512]); // LEAK: nested
}

#[test]
fn a_leak_test_called_by_another_runs_as_its_body() {
    // The inner leak test's function called from the outer one's body (as a
    // `#[leak_test]` calling another `#[leak_test]` fn): only the outer one
    // measures, and its report names the inner body's leak once.
    let outer = config("a_leak_test_called_by_another_runs_as_its_body", 2_000);
    let inner = config("nested_inner", 2_000);
    let body = || run_leak_test(&inner, &mut nested_payload, &|_| {});
    let Some(result) = outcome(&outer, body, &|_| {}) else {
        return;
    };
    let message = result.expect_err("the inner body leaks");
    assert!(
        message.starts_with("a_leak_test_called_by_another_runs_as_its_body leaks: "),
        "{message}"
    );
    let site = format!("{FILE}:{}", line_of("// LEAK: nested"));
    let rows: Vec<_> = message
        .lines()
        .filter(|l| l.trim_start().starts_with('+') && l.contains(&site))
        .collect();
    assert_eq!(rows.len(), 1, "{message}");
    // One call of the inner body per call of the outer one.
    assert!(rows[0].contains("count   2000"), "{message}");
    assert!(rows[0].contains(", 1.00 blocks/iter)"), "{message}");
    assert!(!message.contains("nested_inner"), "{message}");
}

struct Lru {
    map: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
}

static LRU: Mutex<Option<Lru>> = Mutex::new(None);

fn bounded_cache() {
    let mut next = NEXT.lock().unwrap();
    *next += 1;
    let mut guard = LRU.lock().unwrap();
    let lru = guard.get_or_insert_with(|| Lru {
        map: HashMap::new(),
        order: VecDeque::new(),
    });
    lru.map.insert(*next, vec![0u8; 256]);
    lru.order.push_back(*next);
    if lru.order.len() > 500 {
        let old = lru.order.pop_front().unwrap();
        lru.map.remove(&old);
    }
}

#[test]
fn bounded_cache_passes() {
    let Some(result) = outcome(
        &config("bounded_cache_passes", 10_000),
        bounded_cache,
        &|_| {},
    ) else {
        return;
    };
    result.unwrap();
}

// One block per item, as a batch of owned messages would hold.
#[allow(clippy::vec_box)]
static BATCH: Mutex<Vec<Box<[u8; 32]>>> = Mutex::new(Vec::new());

fn sawtooth() {
    let mut batch = BATCH.lock().unwrap();
    batch.push(Box::new([9; 32]));
    if batch.len() >= 3_000 {
        batch.clear();
        batch.shrink_to_fit();
    }
}

#[test]
fn sawtooth_passes() {
    let Some(result) = outcome(&config("sawtooth_passes", 10_000), sawtooth, &|_| {}) else {
        return;
    };
    result.unwrap();
}

static LOG: Mutex<Vec<u64>> = Mutex::new(Vec::new());

#[test]
fn vec_push_is_a_leak() {
    let body = || LOG.lock().unwrap().push(7); // LEAK: vec
    let Some(result) = outcome(&config("vec_push_is_a_leak", 10_000), body, &|_| {}) else {
        return;
    };
    let message = result.expect_err("a Vec that only grows must fail");
    let site = format!("{FILE}:{}", line_of("// LEAK: vec"));
    assert!(message.contains(&site), "{message}");
}

#[test]
fn a_panicking_body_fails_with_its_message() {
    let mut calls = 0;
    let body = || {
        calls += 1;
        if calls == 500 {
            panic!("the body broke on call {calls}");
        }
    };
    let Some(result) = outcome(
        &config("a_panicking_body_fails_with_its_message", 1_000),
        body,
        &|_| {},
    ) else {
        return;
    };
    let message = result.expect_err("the body's panic must fail the test");
    assert!(message.contains("the body broke on call 500"), "{message}");
}

#[test]
fn an_accepted_leak_passes_and_a_new_one_fails() {
    // Snapshots go to a workspace of their own; accepting writes the file
    // as insta does, since the runner checks that it holds the report.
    let workspace = tempfile::tempdir().unwrap();
    let cfg = LeakTestConfig {
        snapshot: true,
        should_panic: None,
        manifest_dir: Box::leak(workspace.path().display().to_string().into_boxed_str()),
        ..config("an_accepted_leak_passes_and_a_new_one_fails", 2_000)
    };
    let snap = workspace.path().join(
        "leakcheck-rt/tests/snapshots/\
         leak_test_runner__an_accepted_leak_passes_and_a_new_one_fails_leaks.snap",
    );
    let site = format!("{FILE}:{}", line_of("// LEAK: cache"));
    let table = format!("{FILE}:{}", line_of("// LEAK: table"));
    // The map's table grows by doubling on the insert line: a leak too.
    let text = format!(
        "test: an_accepted_leak_passes_and_a_new_one_fails\nverdict: leak\n\
         {site}  leak_test_runner::cache_payload  leak  ~1000 B/iter  ~1 blocks/iter\n\
         {table}  leak_test_runner::cache_payload  leak  ~50 B/iter  ~0 blocks/iter\n"
    );
    // insta is asked only to write the snapshot in place
    // (`INSTA_UPDATE=always`), as this does.
    let accept = |report: &str| {
        assert_eq!(report, text);
        std::fs::create_dir_all(snap.parent().unwrap()).unwrap();
        std::fs::write(&snap, format!("---\nsource: {FILE}\n---\n{report}")).unwrap();
    };
    let Some(result) = outcome(&cfg, cache_payload, &accept) else {
        return;
    };
    if let Err(message) = result {
        // New: it fails naming its sites, and the report waits in the
        // `.snap.new` (outside CI), which accepting moves over the `.snap`.
        assert!(
            message.contains(&format!(
                "new site: {site} in leak_test_runner::cache_payload  ~1000 B/iter"
            )),
            "{message}"
        );
        let pending = snap.with_extension("snap.new");
        match std::fs::read_to_string(&pending) {
            Ok(file) => {
                assert_eq!(leakcheck_rt::accepted_leaks::snapshot_contents(&file), text);
                std::fs::rename(&pending, &snap).unwrap();
            }
            Err(_) => accept(&text),
        }
    }

    // The same report against its accepted snapshot never reaches insta.
    let reject = |_: &str| panic!("snapshot assertion failed");
    let Some(result) = outcome(&cfg, cache_payload, &reject) else {
        return;
    };
    result.unwrap();

    // An accepted rate below today's: the report differs and fails, naming
    // the grown site, whatever insta would say.
    let lower = text.replace("~1000 B/iter", "~500 B/iter");
    assert_ne!(lower, text);
    std::fs::write(&snap, format!("---\nsource: {FILE}\n---\n{lower}")).unwrap();
    let Some(result) = outcome(&cfg, cache_payload, &reject) else {
        return;
    };
    let message = result.expect_err("a changed snapshot must fail");
    assert!(message.contains(&site), "{message}");
    assert!(
        message.contains(&format!(
            "accepted site grew: {site} in leak_test_runner::cache_payload: ~500 → ~1000 B/iter"
        )),
        "{message}"
    );
    assert!(message.contains("cargo insta review"), "{message}");
    assert!(!message.contains("snapshot assertion"), "{message}");
}
