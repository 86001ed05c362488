//! `LEAKCHECK_NATIVE=1` in the build's environment (`cargo leakcheck run`
//! sets it) compiles the start-up in, as it compiles the engine's `malloc`
//! front end in: `cfg(leakcheck_native)`.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(leakcheck_native)");
    println!("cargo::rerun-if-env-changed=LEAKCHECK_NATIVE");
    if std::env::var_os("LEAKCHECK_NATIVE").is_some_and(|v| v == "1") {
        println!("cargo::rustc-cfg=leakcheck_native");
    }
}
