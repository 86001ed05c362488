//! `cargo bench -p leakcheck-bench`: System vs leakcheck vs dhat-rs.
//! Options after `--`: `--rounds N` (default 7), `--dhat-rounds N` (3),
//! `--no-trim` (children run with glibc's heap trimming off).

use std::path::PathBuf;

use leakcheck_bench::driver::{self, Config};

fn main() {
    let binaries = [
        PathBuf::from(env!("CARGO_BIN_EXE_bench-system")),
        PathBuf::from(env!("CARGO_BIN_EXE_bench-leakcheck")),
        PathBuf::from(env!("CARGO_BIN_EXE_bench-dhat")),
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = Config::from_args(binaries, &args);
    let results = driver::run(&config);
    print!("{}", driver::report(&config, &results));
}
