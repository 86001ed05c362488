//! `cargo leakcheck --native` on `tests/fixtures/ffi`: C code behind FFI,
//! in a static library built by `cc` (csrc/store.c) and in a shared
//! library the tests load with `dlopen` (csrc/registry.c). With
//! `--native` its `malloc`s are tracked and charged at their C line, with
//! the Rust line that called them; without it, they are not, and the
//! report says so.

use leakcheck_tests::{cargo_leakcheck_json, line_of, serial};
use serde_json::Value;

fn binary<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["binary"] == name)
        .unwrap_or_else(|| panic!("no binary {name} in {report}"))
}

fn leak_test<'a>(report: &'a Value, name: &str) -> &'a Value {
    binary(report, "ffi::leaks")["leak_tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["report"]["name"] == name)
        .unwrap_or_else(|| panic!("no leak test {name} in {report}"))
}

fn run(name: &str, args: &[&str]) -> (leakcheck_tests::Run, Value) {
    let (run, text) = cargo_leakcheck_json("ffi", name, args);
    (run, serde_json::from_str(&text).unwrap())
}

#[test]
fn c_allocations_are_charged_at_their_c_line_with_native() {
    let _serial = serial();
    let (run, report) = run("ffi-native", &["--native"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);

    // The C function that loses a buffer per call: a leak at its malloc,
    // called from the Rust line that called into C.
    let leak = leak_test(&report, "c_store_that_forgets");
    assert_eq!(leak["status"], "leak", "{leak}");
    let site = &leak["report"]["sites"][0];
    let c_line = line_of("ffi", "csrc/store.c", "C LEAK");
    let rust_line = line_of("ffi", "src/lib.rs", "RUST CALLS LEAK");
    assert_eq!(site["file"], "csrc/store.c", "{site}");
    assert_eq!(site["line"], c_line, "{site}");
    assert_eq!(site["function"], "store_leak", "{site}");
    assert_eq!(site["bytes_per_iter"], 64.0, "{site}");
    assert_eq!(site["blocks_per_iter"], 1.0, "{site}");
    assert_eq!(site["caller"]["file"], "src/lib.rs", "{site}");
    assert_eq!(site["caller"]["line"], rust_line, "{site}");
    assert!(
        run.stderr.contains(&format!(
            "csrc/store.c:{c_line}  (64.0 B/iter, 1.00 blocks/iter)  in store_leak  \
             called from src/lib.rs:{rust_line}"
        )),
        "{}",
        run.stderr
    );
    // The one that frees what it replaces is clean, and so is the C
    // library's time zone, read once by the first `localtime_r`.
    assert_eq!(leak_test(&report, "c_store_that_frees")["status"], "clean");
    assert_eq!(
        leak_test(&report, "c_library_one_time_buffers")["status"],
        "clean"
    );

    // `strdup` (the C library's, built without frame pointers) allocates
    // for the C line that called it: that line is the site, not the Rust
    // line that called the C function.
    let dup = leak_test(&report, "c_strdup_that_forgets");
    assert_eq!(dup["status"], "leak", "{dup}");
    let site = &dup["report"]["sites"][0];
    assert_eq!(site["file"], "csrc/store.c", "{site}");
    assert_eq!(
        site["line"],
        line_of("ffi", "csrc/store.c", "C STRDUP LEAK"),
        "{site}"
    );
    assert_eq!(site["function"], "store_name_leak", "{site}");
    assert_eq!(site["blocks_per_iter"], 1.0, "{site}");
    assert_eq!(site["caller"]["file"], "src/lib.rs", "{site}");
    assert_eq!(
        site["caller"]["line"],
        line_of("ffi", "src/lib.rs", "RUST CALLS STRDUP"),
        "{site}"
    );

    // A library built without frame pointers: its block is still found at
    // its C line, but the walk ends in it (no Rust caller), and the report
    // names the library, once.
    let nofp = leak_test(&report, "c_without_frame_pointers");
    assert_eq!(nofp["status"], "leak", "{nofp}");
    let site = &nofp["report"]["sites"][0];
    assert_eq!(site["file"], "csrc/nofp.c", "{site}");
    assert_eq!(
        site["line"],
        line_of("ffi", "csrc/nofp.c", "C NO FRAME POINTERS"),
        "{site}"
    );
    assert_eq!(site["bytes_per_iter"], 40.0, "{site}");
    assert!(site["caller"].is_null(), "{site}");
    let notes: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("note: stacks end in "))
        .collect();
    assert_eq!(
        notes,
        [
            "note: stacks end in libnofp.so, which has no frame pointers: the frames that called \
          into it are not recorded (build it with -fno-omit-frame-pointer)"
        ],
        "{}",
        run.stderr
    );

    // The shared library's registry, loaded with dlopen, grows with every
    // test: session growth at its C line.
    let growth: Vec<&Value> = report["session"]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["growth"] == true)
        .collect();
    assert_eq!(growth.len(), 1, "{report}");
    assert_eq!(growth[0]["binary"], "ffi::plugins");
    assert_eq!(growth[0]["file"], "csrc/registry.c");
    assert_eq!(
        growth[0]["line"],
        line_of("ffi", "csrc/registry.c", "C REGISTRY")
    );
    assert_eq!(growth[0]["tests"].as_array().unwrap().len(), 6);

    // C's allocation functions keep their contracts through threads,
    // fork, exec, dlopen with thread-locals and glibc's own blocks.
    let robust = binary(&report, "ffi::robust");
    assert_eq!(robust["instrumented"], true, "{robust}");
    assert_eq!(robust["tests_passed"], 4, "{robust}");
    assert_eq!(robust["failed_tests"].as_array().unwrap().len(), 0);
    assert!(!run.stderr.contains("were not tracked"), "{}", run.stderr);
}

#[test]
fn without_native_c_allocations_are_untracked_and_the_report_says_so() {
    let _serial = serial();
    let (run, report) = run("ffi-plain", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        leak_test(&report, "c_store_that_forgets")["status"],
        "clean"
    );
    assert!(
        run.stderr.contains(
            "note: C and C++ allocations were not tracked (the tests link native code: \
             ffi: static=store); `cargo leakcheck --native` tracks them"
        ),
        "{}",
        run.stderr
    );
}
