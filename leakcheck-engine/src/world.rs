//! Stopping the process's other threads for a scan, without `ptrace`
//! (which a container's seccomp profile forbids): each is sent a signal
//! whose handler writes down where the thread's stack is and what its
//! registers hold, says so, and waits until the scan is over (as Boehm
//! GC's `pthread_stop_world.c` does). While the world is stopped the
//! scanning thread must not allocate: a stopped thread may hold the
//! allocator's lock.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::*};

/// The signal, as Boehm GC's on Linux: nothing else in a test process uses
/// it.
pub(crate) const SIGNAL: libc::c_int = libc::SIGPWR;
/// Threads recorded at most (the rest are not stopped).
pub const MAX_THREADS: usize = 512;
/// General registers saved per thread.
pub const REGISTERS: usize = 23;

/// What a stopped thread wrote down.
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    pub tid: i32,
    /// Its stack pointer when the signal came.
    pub sp: usize,
    /// Its thread pointer (`%fs` base): its static TLS block is below it.
    pub tp: usize,
    /// Its general registers (x86-64; zero elsewhere).
    pub registers: [usize; REGISTERS],
}

const NOBODY: Stopped = Stopped {
    tid: 0,
    sp: 0,
    tp: 0,
    registers: [0; REGISTERS],
};

struct Slots(std::cell::UnsafeCell<[Stopped; MAX_THREADS]>);
// SAFETY: slot `i` is written only by the handler that took index `i`
// (from `NEXT`), and read by the scanner only after that handler counted
// itself in `ACKS` (Release/Acquire).
unsafe impl Sync for Slots {}

static SLOTS: Slots = Slots(std::cell::UnsafeCell::new([NOBODY; MAX_THREADS]));
static NEXT: AtomicUsize = AtomicUsize::new(0);
static ACKS: AtomicUsize = AtomicUsize::new(0);
/// Bumped to release the stopped threads.
static GENERATION: AtomicU32 = AtomicU32::new(0);
/// One stop at a time.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// The other threads, stopped until this is dropped.
#[derive(Debug)]
pub struct World {
    count: usize,
    /// Threads that were signalled but did not stop in time (they block
    /// the signal, or are stuck in the kernel).
    pub missed: usize,
    previous: libc::sigaction,
}

extern "C" fn on_signal(_: libc::c_int, _: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: errno is this thread's; everything below is async-signal-safe
    // (atomics, raw system calls, reads of the context the kernel passed).
    unsafe {
        let errno = *libc::__errno_location();
        let generation = GENERATION.load(Acquire);
        let index = NEXT.fetch_add(1, AcqRel);
        if index < MAX_THREADS {
            let slot = &mut (&mut *SLOTS.0.get())[index];
            slot.tid = libc::syscall(libc::SYS_gettid) as i32;
            slot.tp = super::local::thread_pointer_now();
            let here = 0usize;
            slot.sp = &here as *const usize as usize;
            #[cfg(target_arch = "x86_64")]
            {
                let uc = context.cast::<libc::ucontext_t>();
                let gregs = (*uc).uc_mcontext.gregs;
                for (r, g) in slot.registers.iter_mut().zip(gregs.iter()) {
                    *r = *g as usize;
                }
                slot.sp = gregs[libc::REG_RSP as usize] as usize;
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = context;
        }
        ACKS.fetch_add(1, Release);
        while GENERATION.load(Acquire) == generation {
            libc::syscall(
                libc::SYS_futex,
                GENERATION.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                generation,
                std::ptr::null::<libc::timespec>(),
            );
        }
        *libc::__errno_location() = errno;
    }
}

/// The ids of the process's threads (`/proc/self/task`), read with system
/// calls into `out` (no allocation); returns how many.
fn thread_ids(out: &mut [i32]) -> usize {
    let mut n = 0;
    // SAFETY: open, getdents64 and close on a descriptor of our own, into
    // a buffer of the length passed; the records are read within the bytes
    // the kernel wrote.
    unsafe {
        let fd = libc::open(
            c"/proc/self/task".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return 0;
        }
        let mut buf = [0u8; 4096];
        loop {
            let got = libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len());
            if got <= 0 {
                break;
            }
            let mut at = 0usize;
            while at < got as usize {
                // linux_dirent64: d_ino u64, d_off i64, d_reclen u16,
                // d_type u8, d_name NUL-terminated.
                let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
                let name = &buf[at + 19..at + reclen];
                let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
                if let Some(tid) = std::str::from_utf8(name).ok().and_then(|s| s.parse().ok())
                    && n < out.len()
                {
                    out[n] = tid;
                    n += 1;
                }
                at += reclen.max(1);
            }
        }
        libc::close(fd);
    }
    n
}

/// Stops every other thread of the process (up to [`MAX_THREADS`]): each
/// waits in a signal handler until the returned [`World`] is dropped.
/// `None` while another stop is in progress.
pub fn stop() -> Option<World> {
    if STOPPING.swap(true, Acquire) {
        return None;
    }
    // SAFETY: installs a handler for SIGNAL (the previous one is restored
    // when the world is dropped); `sigaction` structs are plain data.
    let previous = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal
            as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
            as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigfillset(&mut action.sa_mask);
        let mut previous: libc::sigaction = std::mem::zeroed();
        libc::sigaction(SIGNAL, &action, &mut previous);
        previous
    };
    NEXT.store(0, Relaxed);
    ACKS.store(0, Relaxed);
    let mut tids = [0i32; MAX_THREADS];
    let count = thread_ids(&mut tids);
    // SAFETY: plain system calls.
    let (pid, me) = unsafe { (libc::getpid(), libc::syscall(libc::SYS_gettid) as i32) };
    let mut sent = 0;
    for &tid in &tids[..count] {
        if tid == me {
            continue;
        }
        // SAFETY: signals a thread of this process; a thread that has
        // exited since makes it fail, which is counted out.
        if unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, SIGNAL) } == 0 {
            sent += 1;
        }
    }
    // Wait (up to about two seconds) for every thread signalled to stop.
    let mut waited = 0;
    while ACKS.load(Acquire) < sent && waited < 2_000 {
        // SAFETY: a plain sleep.
        unsafe { libc::usleep(1_000) };
        waited += 1;
    }
    let stopped = ACKS.load(Acquire);
    Some(World {
        count: stopped.min(MAX_THREADS),
        missed: sent.saturating_sub(stopped),
        previous,
    })
}

/// Where the saved registers are: a scan of the statics passes them over.
pub fn slots_range() -> (usize, usize) {
    let start = SLOTS.0.get() as usize;
    (start, start + std::mem::size_of::<[Stopped; MAX_THREADS]>())
}

impl World {
    /// The calling (scanning) thread's id.
    pub fn tid_of_caller(&self) -> i32 {
        // SAFETY: a plain system call.
        unsafe { libc::syscall(libc::SYS_gettid) as i32 }
    }

    /// The stopped threads.
    pub fn threads(&self) -> &[Stopped] {
        // SAFETY: slots below `count` were written by handlers that then
        // counted themselves (Release), read after the Acquire in `stop`.
        unsafe { &(&*SLOTS.0.get())[..self.count] }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        GENERATION.fetch_add(1, Release);
        // SAFETY: wakes every thread waiting on GENERATION, then restores
        // the handler the process had.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                GENERATION.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                i32::MAX,
            );
        }
        // A thread still waking reads GENERATION only; give the late ones a
        // moment before the handler goes.
        let mut waited = 0;
        while ACKS.load(Acquire) > self.count + self.missed && waited < 100 {
            // SAFETY: a plain sleep.
            unsafe { libc::usleep(1_000) };
            waited += 1;
        }
        // SAFETY: puts back the handler saved in `stop`.
        unsafe {
            libc::sigaction(SIGNAL, &self.previous, std::ptr::null_mut());
        }
        STOPPING.store(false, Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn other_threads_stop_and_go_on() {
        let _turn = crate::registry::TEST_TURN
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let counter = Arc::new(AtomicU64::new(0));
        let stop_flag = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (counter, stop_flag) = (counter.clone(), stop_flag.clone());
                std::thread::spawn(move || {
                    while !stop_flag.load(Relaxed) {
                        counter.fetch_add(1, Relaxed);
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let world = stop().expect("no other stop");
        let before = counter.load(Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(counter.load(Relaxed), before, "a worker ran while stopped");
        assert!(world.threads().len() >= 3, "{:?}", world.threads().len());
        for t in world.threads() {
            assert!(t.tid > 0 && t.sp != 0 && t.tp != 0);
        }
        drop(world);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(counter.load(Relaxed) > before, "workers did not go on");
        stop_flag.store(true, Relaxed);
        for w in workers {
            w.join().unwrap();
        }
    }
}
