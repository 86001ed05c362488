//! Who retains a leak: `cargo leakcheck` on `tests/fixtures/retain`, whose
//! leak tests each leak into another root, runs each leaking test once
//! more with the live blocks registered and reports the path from the
//! root to the leaked block: a static `Mutex<HashMap>` (through its
//! table), a `thread_local!` cache, an `Rc` cycle per call, `mem::forget`,
//! a tokio task that never finishes, and a worker thread's local.

use leakcheck_tests::{cargo_leakcheck_json, line_of, serial};
use serde_json::{Value, json};

fn site<'a>(report: &'a Value, test: &str, marker: &str) -> &'a Value {
    let line = line_of("retain", "src/lib.rs", marker);
    let test = report["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["leak_tests"].as_array().unwrap())
        .find(|t| t["report"]["name"] == test)
        .unwrap_or_else(|| panic!("no leak test {test} in {report}"));
    assert_eq!(test["status"], "leak", "{test}");
    test["report"]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["file"] == "src/lib.rs" && s["line"] == line)
        .unwrap_or_else(|| panic!("no site at src/lib.rs:{line} in {test}"))
}

fn at(marker: &str, function: &str) -> Value {
    json!({ "file": "src/lib.rs", "line": line_of("retain", "src/lib.rs", marker), "function": function })
}

#[test]
fn each_leak_names_what_retains_it() {
    let _serial = serial();
    let (run, text) = cargo_leakcheck_json("retain", "retain", &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report: Value = serde_json::from_str(&text).unwrap();

    let retained = |test: &str, marker: &str| site(&report, test, marker)["retained_by"].clone();
    assert_eq!(
        retained("held_by_a_static", "HELD BY A STATIC"),
        json!([{ "kind": "static", "root": "retain::REGISTRY",
                 "path": [at("THE TABLE", "retain::register")] }])
    );
    assert_eq!(
        retained("held_by_a_thread_local", "HELD BY A THREAD-LOCAL"),
        json!([{ "kind": "thread_local", "root": "retain::CACHE",
                 "path": [at("HELD BY A THREAD-LOCAL", "retain::render::{{closure}}")] }])
    );
    let cycle = retained("held_by_a_cycle", "HELD BY A CYCLE");
    assert_eq!(cycle[0]["kind"], "cycle", "{cycle}");
    assert_eq!(cycle[0]["path"].as_array().unwrap().len(), 2, "{cycle}");
    assert_eq!(
        retained("held_by_nothing", "HELD BY NOTHING"),
        json!([{ "kind": "unreachable", "root": "", "path": [] }])
    );
    let spawn = line_of("retain", "src/lib.rs", "tokio::spawn");
    assert_eq!(
        retained("held_by_a_task", "HELD BY A TASK"),
        json!([{ "kind": "task", "root": format!("spawned at src/lib.rs:{spawn}"), "path": [] }])
    );
    assert_eq!(
        retained("held_by_a_thread_s_stack", "HELD BY A STACK"),
        json!([{ "kind": "stack", "root": "thread 'keeper'",
                 "path": [at("KEPT", "retain::Worker::start::{{closure}}")] }])
    );

    // The human report says it under each site.
    let table = line_of("retain", "src/lib.rs", "THE TABLE");
    assert!(
        run.stderr.contains(&format!(
            "retained by  static retain::REGISTRY  →  a block allocated at src/lib.rs:{table} \
             in retain::register  →  the block"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("retained by  unreachable: no root points at it (mem::forget, Box::leak)"),
        "{}",
        run.stderr
    );
}

/// Session growth too: `cargo leakcheck` on the crate that knows nothing
/// of leakcheck (its tests append to a static registry) runs the growing
/// binary's session once more with the live blocks registered, and names
/// the static at exit.
#[test]
fn session_growth_names_what_retains_it() {
    let _serial = serial();
    let (run, text) = cargo_leakcheck_json("unchanged", "unchanged-retain", &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report: Value = serde_json::from_str(&text).unwrap();
    let line = line_of("unchanged", "src/lib.rs", "GROWTH: greet");
    let growth: Vec<&Value> = report["session"]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["growth"] == true)
        .collect();
    assert_eq!(growth.len(), 1, "{report}");
    assert_eq!(
        growth[0]["retained_by"],
        json!([{ "kind": "static", "root": "unchanged::SEEN",
                 "path": [{ "file": "src/lib.rs", "line": line, "function": "unchanged::greet" }] }]),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "retained by  static unchanged::SEEN  →  a block allocated at src/lib.rs:{line} in \
             unchanged::greet  →  the block"
        )),
        "{}",
        run.stderr
    );
}
