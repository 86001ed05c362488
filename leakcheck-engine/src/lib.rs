//! leakcheck's internal allocation engine. Not a public interface: it has no
//! stability promise and changes with every leakcheck release; use
//! [leakcheck-rt](https://docs.rs/leakcheck-rt) (as `nextest-runner` is to
//! `cargo-nextest`, this crate is to leakcheck).
//!
//! It holds what every block goes through and the only `unsafe` code of
//! leakcheck:
//!
//! ```text
//!  alloc ──► real allocator ──► header { epoch, stack id } ──► user block
//!              │
//!              └─ stack::capture (frame pointers) ─► recent ─► intern ─► per-thread counters
//! ```
//!
//! Each block carries an 8-byte header (more for over-aligned layouts) with
//! the id of its interned call stack, the tracing epoch it was counted in,
//! and whether it is one of the tracker's own blocks, which come from the
//! tracker's allocator (`System`) and never from the user's. Live bytes and
//! blocks are counted per stack id in per-thread tables that only their
//! thread writes; [`collect`] sums the tables. Nothing on the hot path
//! takes a lock or allocates through the global allocator.
//!
//! # Module map
//!
//! | module | what it holds |
//! | --- | --- |
//! | `account.rs` | the raw operations around each block: [`request`], [`after_alloc`], [`before_dealloc`], [`before_realloc`], [`after_realloc`] |
//! | `global.rs` | [`TrackingAllocator`], the `GlobalAlloc` front end; [`object_stack`] |
//! | `native.rs` | the `malloc` front end (`cfg(leakcheck_native)`, set by the build script when `LEAKCHECK_NATIVE=1`): the process's `malloc` and its family, for C and C++ code and for `System` |
//! | `hooks.rs` | [`Hooks`]: what a front end runs where the engine calls out of an allocation |
//! | `header.rs` | the header word in front of every block and the outer layout |
//! | `guard.rs` | whose code a thread runs: [`Guard`], [`as_tracker`], [`untracked`] |
//! | `local.rs` | the engine's thread-locals (`thread_state!`), reached at a fixed offset from the thread pointer in builds with the `malloc` front end, so that none calls into the loader from inside `malloc` |
//! | `control.rs` | tracing on and off, epochs, the tracemalloc-style controls, [`collect`] |
//! | `stack.rs`, `replay.rs`, `recent.rs` | stack capture: the frame-pointer walk (or the DWARF unwinder), replay of a thread's last walks, its recently interned stacks |
//! | `intern.rs` | the lock-free table of interned stacks |
//! | `counters.rs` | the per-thread tables of live bytes and blocks per stack |
//! | `fast.rs` | the one word that tells an allocation it may take the fast path (sampled tracking, nothing else to do) |
//! | `sample.rs` | sampled tracking: each thread's byte and allocation countdowns, and the weight of a sampled block |
//! | `registry.rs` | the live-block registry (every user block's address and size), kept only in a run that looks for what retains a leak ([`retain_blocks`]) |
//! | `world.rs`, `scan.rs` | the other threads stopped with a signal handshake (no `ptrace`), and the flood from statics, thread-locals, stacks and registers through every live block ([`scan`]) |
//! | `raw.rs` | memory from `mmap` for the tables |
//! | `wake.rs` | a signal turned into a byte on a pipe, for snapshots on demand ([`wake_on_signal`]) |
//! | `fork.rs`, `process.rs` | `pthread_atfork`, `atexit`, the environment as the process started |
//! | `object.rs` | the loaded objects and their files, for leakcheck-rt's symbolisation |
//!
//! # The interface for front ends
//!
//! A front end owns the real allocators and calls the engine around them;
//! the engine never allocates a user's block itself:
//!
//! ```text
//!  alloc:    request(layout) ─► allocate req.outer() from (req.for_tracker() ? tracker's : user's)
//!                          ─► after_alloc(base, req, size, hook)        = user pointer
//!  dealloc:  before_dealloc(ptr, layout) = block ─► free block.base()/block.outer() to its owner
//!  realloc:  before_realloc(ptr, layout, new) = (block, new_outer)
//!                          ─► realloc with block's owner ─► after_realloc(base, block, old, new, hook)
//! ```
//!
//! - [`request`], [`after_alloc`], [`before_dealloc`], [`before_realloc`],
//!   [`after_realloc`]: the raw operations, with [`Request`] and [`Block`].
//!   The `hook` is a plain `fn()` run once per process inside the first
//!   allocation ([`Hooks::first_allocation`]).
//! - [`start`], [`stop`], [`clear_traces`], [`start_owned`], [`epoch`],
//!   [`is_tracing`], [`traceback_limit`], [`traced_memory`],
//!   [`reset_peak`], [`tracker_memory`]: tracing and its epochs.
//! - [`collect`] (live blocks per stack id, as [`RawTrace`]s),
//!   [`stack_frames`], [`object_stack`]: the raw traces, which leakcheck-rt
//!   symbolises.
//! - [`Guard`], [`as_tracker`], [`untracked`]: whose code a thread runs.
//!
//! Front ends:
//!
//! - [`TrackingAllocator`], the `GlobalAlloc` front end (leakcheck-rt
//!   names it `leakcheck_rt::TrackingAllocator` with its session hook). Its
//!   methods are generic, so they are compiled in the crate that installs
//!   it; the raw operations they call are `#[inline]` in builds without
//!   debug assertions, and out of line (compiled here, at this crate's
//!   optimisation level) with them; see `account.rs`.
//! - A crate injected at build time (`cargo leakcheck` on a crate that does
//!   not install leakcheck) installs the same `GlobalAlloc`.
//! - The `malloc` front end (`native.rs`, `cargo leakcheck --native`, and
//!   the leakcheck-preload library that `cargo leakcheck run` preloads
//!   into a program: `install_preloaded`, `stand_aside`)
//!   defines the process's `malloc` and its family in the test binary
//!   itself, with `__libc_malloc` and friends as both the user's and the
//!   tracker's allocator; in such a build [`TrackingAllocator`] passes
//!   Rust's blocks on to its inner allocator, whose `malloc` counts them.
//!   Inside `malloc` the stack bounds come from `/proc/self/maps`, not
//!   `pthread_getattr_np`, which holds its thread's lock while it calls
//!   `realloc`.
//!
//! # Thread-local state, and what a `malloc` front end can call
//!
//! Every thread-local of the engine is `const`-initialised and of a type
//! without `Drop`, so none registers a destructor
//! (`__cxa_thread_atexit_impl`, which callocs) and none allocates on first
//! use; each is read with `try_with`, so it also works during thread
//! teardown:
//!
//! | thread-local | type | on the hot path |
//! | --- | --- | --- |
//! | `guard::MODE` | `Cell<Mode>` | every operation ([`request`], the realloc's mode) |
//! | `counters::CURRENT` | `Cell<*const Table>` | every counted alloc and free |
//! | `stack::STACK_BOUNDS` | `Cell<(usize, usize)>` | every stack capture |
//! | `recent::RECENT` | `UnsafeCell<[Recent; 64]>` (`Copy` records) | every stack capture |
//! | `replay::WALKS` | `UnsafeCell<Walks>` (arrays of integers) | every stack capture |
//! | `sample::COUNTDOWN` | `Cells` (the byte and allocation countdowns and the random state, `Cell`s of integers) | every alloc while tracing is sampled |
//! | `replay::{WALK_ONLY, REPLAYS}` | `Cell` | unit tests only (`#[cfg(test)]`) |
//!
//! A thread's counter table is released at thread exit through a pthread
//! key destructor (`pthread_key_create`), not a Rust thread-local.
//!
//! So the raw operations are safe for a `malloc` front end as far as
//! thread-locals go. What remains for a preload, all of it inside a
//! [`Guard`] (its allocations are the tracker's, served by the tracker's
//! allocator, and are never tracked):
//!
//! - the first capture on a thread looks up its stack bounds with
//!   `pthread_getattr_np`, which calls glibc's `malloc`;
//! - a thread's first counted block registers its table with
//!   `pthread_setspecific`, which may `calloc` its key's second-level array;
//! - without frame pointers the capture falls back to libgcc's unwinder,
//!   which takes the loader's lock and may allocate;
//! - the first allocation runs the front end's hook, and [`start`] checks
//!   the frame pointers with the `backtrace` crate, which allocates.
//!
//! A preload must therefore route every `Request` that
//! [`Request::for_tracker`] names to `__libc_malloc`, never to its own
//! exported `malloc` (the `malloc` front end does). And in a shared
//! library a Rust thread-local is general-dynamic on stable Rust: each
//! access calls `__tls_get_addr`, which may `malloc` (a thread's DTV grown
//! after a `dlopen`) before any guard is set, and such a nested `malloc`
//! would reach the same thread-locals again (glibc's manual asks for
//! initial-exec TLS in a `malloc` replacement). So with the `malloc` front
//! end compiled in, every thread-local above is declared with
//! `thread_state!` (`local.rs`) and reached at its offset from the thread
//! pointer once the first access has learnt it: as initial-exec code
//! reaches it, without the loader.
//!
//! # The rest
//!
//! The loaded objects and their file maps ([`loaded_objects`],
//! [`map_file`], [`system_frame`]), the process's start-up environment
//! ([`env_value`]), `atexit` and `pthread_atfork` ([`at_exit`],
//! [`at_fork`]) are C library calls that leakcheck-rt's symbolisation and
//! session need; they are here because this crate holds all of leakcheck's
//! `unsafe` code.

mod account;
mod control;
mod counters;
mod fast;
mod fork;
mod global;
mod guard;
mod header;
mod hooks;
mod intern;
mod local;
#[cfg(all(leakcheck_native, target_os = "linux", target_env = "gnu"))]
mod native;
mod object;
mod process;
mod raw;
mod recent;
mod registry;
mod replay;
mod sample;
mod scan;
mod stack;
mod wake;
mod world;

pub use account::{
    Block, Request, after_alloc, after_realloc, before_dealloc, before_realloc, request,
};
pub use control::UNWINDER_NOTICE;
pub use control::{
    RawTrace, clear_traces, collect, epoch, is_tracing, reset_peak, sampling, start, start_owned,
    start_sampled, stop, traceback_limit, traced_memory, tracker_memory, walk_depth,
};
pub use fork::{ForkHandler, at_fork};
pub use global::{TrackingAllocator, object_stack};
pub use guard::{Guard, as_tracker, untracked};
pub use hooks::{Hooks, NoHooks};
pub use intern::{CAPACITY as STACK_CAPACITY, OVERFLOW_ID, intern, overflowed, stack_frames};
#[cfg(all(leakcheck_native, target_os = "linux", target_env = "gnu"))]
pub use native::{install_preloaded, stand_aside};
pub use object::{
    LoadedObject, SystemFrame, loaded_objects, map_file, release_file_pages, system_frame,
};
pub use process::{EnvValue, at_exit, env_value, libc_heap_in_use, resident_bytes};
pub use registry::{enable as retain_blocks, enabled as retaining_blocks};
pub use scan::{Parent, RootKind, RootRange, Scan, ScannedBlock, ScannedThread, roots_of, scan};
pub use stack::MAX_NFRAME;
pub use wake::{stop_waking, wake_on_signal};
