//! End-to-end tests of leakcheck on fixture crates.
