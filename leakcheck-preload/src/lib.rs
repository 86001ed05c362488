//! The library `cargo leakcheck run` preloads (`LD_PRELOAD`) into a
//! program it starts unchanged: leakcheck's engine behind the program's
//! `malloc` and its family (the engine's `malloc` front end, the same one
//! `cargo leakcheck --native` links into test binaries), and
//! [`dump_every`](leakcheck_rt::dump_every)'s numbered snapshots while the
//! program runs, for `cargo leakcheck diff`.
//!
//! ```text
//!  ld.so ──► this library's constructor (before the program's main)
//!              LEAKCHECK_RUN names this process? ──no──► stand aside: glibc's malloc, untracked
//!                  │yes
//!                  └──► install, start(25), dump_every(interval, LEAKCHECK_RUN_DIR)
//!  program's malloc / free / … ──► the engine's front end ──► glibc (`__libc_malloc`)
//!  exit ──► stop the dumping (a dump in progress is finished)
//! ```
//!
//! Built by `cargo leakcheck run` with `LEAKCHECK_NATIVE=1` (Linux with
//! glibc); without it the library holds nothing. Not meant to be loaded
//! any other way: the engine's thread-locals are reached at offsets that
//! hold for a library loaded with the program (see the engine's `local`
//! module), not for one `dlopen`ed later.
//!
//! # Module map
//!
//! | module | what it holds |
//! | --- | --- |
//! | `start.rs` | the constructor: the settings `cargo leakcheck run` passed, tracing and the dumps, and their end at exit |

#[cfg(all(leakcheck_native, target_os = "linux", target_env = "gnu"))]
mod start;
