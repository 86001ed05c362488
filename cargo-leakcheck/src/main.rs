//! `cargo leakcheck`: see the library docs, or `cargo leakcheck --help`.

#![forbid(unsafe_code)]

fn main() {
    std::process::exit(cargo_leakcheck::main_with_args(std::env::args_os()));
}
