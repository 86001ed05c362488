//! The engine's thread-locals, reachable from inside `malloc` in a shared
//! library too.
//!
//! Each is declared with [`thread_state!`], which wraps a `const`
//! `thread_local!` in a unit value with a `try_with`. In a build without
//! the `malloc` front end, that is `LocalKey::try_with`. With it
//! (`cfg(leakcheck_native)`), the engine may be linked into a shared library
//! preloaded into a program (`cargo leakcheck run`), where a Rust
//! thread-local is general-dynamic: every access calls `__tls_get_addr`,
//! which, after a `dlopen` of a library with thread-locals, may grow the
//! thread's DTV with `malloc`: the engine's own `malloc`, which reads the
//! same thread-locals again (glibc's manual asks a `malloc` replacement for
//! initial-exec TLS, which stable Rust cannot ask for). So in such builds
//! a thread-local is reached as initial-exec code reaches it: at a fixed
//! offset from the thread pointer, learnt on its first access (on any
//! thread: the offset is the same on every thread for a library loaded
//! with the program, whose TLS is in the static block, and for the
//! executable's own). After that, no access calls into the loader.
//!
//! ```text
//!  try_with ──► offset known? ──yes──► thread pointer + offset
//!                    │no
//!                    └──► LocalKey::try_with (the loader), note the offset
//! ```

#[cfg(all(leakcheck_native, any(target_arch = "x86_64", target_arch = "aarch64")))]
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::thread::{AccessError, LocalKey};

/// Where a thread-local is, relative to the thread pointer: [`UNKNOWN`]
/// until its first access (one per thread-local; `malloc` front end only).
#[cfg(all(leakcheck_native, any(target_arch = "x86_64", target_arch = "aarch64")))]
pub struct Offset(AtomicIsize);

#[cfg(all(leakcheck_native, any(target_arch = "x86_64", target_arch = "aarch64")))]
const UNKNOWN: isize = isize::MIN;

#[cfg(all(leakcheck_native, any(target_arch = "x86_64", target_arch = "aarch64")))]
impl Offset {
    pub const fn new() -> Self {
        Offset(AtomicIsize::new(UNKNOWN))
    }
}

/// `LocalKey::try_with` of `key`, reached at its offset from the thread
/// pointer once `offset` is known; never fails for the engine's
/// thread-locals (`const`, without `Drop`) after that.
#[cfg(all(leakcheck_native, any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline]
pub fn try_with_at<T: 'static, R>(
    key: &'static LocalKey<T>,
    offset: &Offset,
    f: impl FnOnce(&T) -> R,
) -> Result<R, AccessError> {
    let tp = thread_pointer();
    let known = offset.0.load(Relaxed);
    if known != UNKNOWN {
        let value = tp.wrapping_add_signed(known) as *const T;
        // SAFETY: the offset was taken from this thread-local's address on
        // some thread; the thread-local is in the static TLS block (the
        // module's docs), so it is at the same offset from every thread's
        // pointer, and a `const` thread-local without `Drop` is valid for
        // the thread's whole life.
        return Ok(f(unsafe { &*value }));
    }
    key.try_with(|value| {
        let at = (value as *const T as usize).wrapping_sub(tp) as isize;
        offset.0.store(at, Relaxed);
        f(value)
    })
}

/// `LocalKey::try_with`, in a build without the `malloc` front end.
#[cfg(not(all(leakcheck_native, any(target_arch = "x86_64", target_arch = "aarch64"))))]
#[inline(always)]
pub fn try_with_at<T: 'static, R>(
    key: &'static LocalKey<T>,
    _offset: &(),
    f: impl FnOnce(&T) -> R,
) -> Result<R, AccessError> {
    key.try_with(f)
}

/// The calling thread's pointer (0 where it is not known): for the scan of
/// who retains a block, which finds each thread's static TLS block from it.
pub(crate) fn thread_pointer_now() -> usize {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    return thread_pointer();
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    0
}

/// The calling thread's pointer (`%fs:0` on x86-64, `tpidr_el0` on
/// AArch64): the static TLS block sits at fixed offsets from it.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn thread_pointer() -> usize {
    let tp: usize;
    // SAFETY: glibc keeps the thread control block's own address in its
    // first word, at `%fs:0`, for every thread; reading it has no effect.
    unsafe {
        std::arch::asm!(
            "mov {}, qword ptr fs:[0]",
            out(reg) tp,
            options(nostack, readonly, preserves_flags, pure)
        );
    }
    tp
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
fn thread_pointer() -> usize {
    let tp: usize;
    // SAFETY: `tpidr_el0` holds the thread pointer; reading it has no
    // effect.
    unsafe {
        std::arch::asm!(
            "mrs {}, tpidr_el0",
            out(reg) tp,
            options(nostack, nomem, preserves_flags, pure)
        );
    }
    tp
}

/// Declares an engine thread-local: `const`-initialised, of a type without
/// `Drop`, read with `NAME.try_with(f)`. `NAME` is a unit value whose
/// `try_with` names the `thread_local!` directly, so that an allocation
/// inlined into another crate reaches it without an indirect call.
macro_rules! thread_state {
    ($(#[$attr:meta])* static $name:ident: $t:ty = const $init:block;) => {
        $(#[$attr])*
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy)]
        struct $name;

        impl $name {
            #[inline(always)]
            #[allow(dead_code)]
            fn try_with<R>(
                self,
                f: impl FnOnce(&$t) -> R,
            ) -> Result<R, ::std::thread::AccessError> {
                ::std::thread_local! {
                    static KEY: $t = const $init;
                }
                #[cfg(all(leakcheck_native, any(target_arch = "x86_64", target_arch = "aarch64")))]
                static OFFSET: $crate::local::Offset = $crate::local::Offset::new();
                #[cfg(not(all(leakcheck_native, any(target_arch = "x86_64", target_arch = "aarch64"))))]
                static OFFSET: () = ();
                $crate::local::try_with_at(&KEY, &OFFSET, f)
            }
        }
    };
}
pub(crate) use thread_state;

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    thread_state! {
        static VALUE: Cell<u64> = const { Cell::new(7) };
    }

    #[test]
    fn each_thread_has_its_own_value_after_the_first_access() {
        assert_eq!(VALUE.try_with(Cell::get), Ok(7));
        VALUE.try_with(|v| v.set(1)).unwrap();
        let other = std::thread::spawn(|| {
            let first = VALUE.try_with(Cell::get).unwrap();
            VALUE.try_with(|v| v.set(2)).unwrap();
            (first, VALUE.try_with(Cell::get).unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(other, (7, 2));
        assert_eq!(VALUE.try_with(Cell::get), Ok(1));
        // Every access reaches one address per thread.
        let first = VALUE.try_with(|v| v as *const Cell<u64>);
        assert_eq!(VALUE.try_with(|v| v as *const Cell<u64>), first);
    }
}
