//! A signal turned into a byte on a pipe: how a service asks for a
//! snapshot on demand (`kill -USR2 <pid>`) without a timer. The handler
//! only writes one byte (async-signal-safe); a thread that reads the pipe
//! does the work.
//!
//! ```text
//!  kill -USR2 ──► handler: write(pipe, 1 byte) ──► reader thread wakes ──► dump
//! ```

use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, Ordering::Relaxed};

/// Signals 1..=64 (Linux's real-time signals included), indexed by number.
const SIGNALS: usize = 65;

/// The write end of each signal's pipe, or -1.
static WRITERS: [AtomicI32; SIGNALS] = [const { AtomicI32::new(-1) }; SIGNALS];

extern "C" fn on_signal(signal: libc::c_int) {
    let Some(writer) = WRITERS.get(signal as usize) else {
        return;
    };
    let fd = writer.load(Relaxed);
    if fd < 0 {
        return;
    }
    // SAFETY: errno is this thread's and is restored; `write` of one byte
    // from a live local is async-signal-safe. A full pipe (requests not
    // read yet) drops the byte: one pending request is as good as many.
    unsafe {
        let errno = *libc::__errno_location();
        let byte = 1u8;
        libc::write(fd, (&byte as *const u8).cast(), 1);
        *libc::__errno_location() = errno;
    }
}

/// Installs a handler for `signal` that writes a byte to a new pipe on
/// each delivery; returns the pipe's read end. A second call for the same
/// signal replaces the pipe (the earlier reader sees end of file).
///
/// Signals the process cannot catch, or that the engine and the runtime
/// use themselves (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGBUS`, `SIGILL`,
/// `SIGFPE`, `SIGPWR`), are refused with `InvalidInput`.
pub fn wake_on_signal(signal: i32) -> io::Result<File> {
    let refused = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        super::world::SIGNAL,
    ];
    if signal <= 0 || signal as usize >= SIGNALS || refused.contains(&signal) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signal} cannot ask for a snapshot"),
        ));
    }
    let mut fds = [0i32; 2];
    // SAFETY: `pipe2` writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let [read, write] = fds;
    // SAFETY: `write` is the pipe's write end, just made; a handler must
    // never block on it.
    unsafe {
        let flags = libc::fcntl(write, libc::F_GETFL);
        libc::fcntl(write, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let old = WRITERS[signal as usize].swap(write, Relaxed);
    // SAFETY: installs a plain handler; `sigaction` structs are plain data.
    let installed = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, std::ptr::null_mut())
    };
    if old >= 0 {
        // SAFETY: `old` was a write end this module made, and the handler
        // no longer reaches it.
        unsafe { libc::close(old) };
    }
    if installed != 0 {
        let error = io::Error::last_os_error();
        stop_waking(signal);
        // SAFETY: `read` is this function's own descriptor.
        unsafe { libc::close(read) };
        return Err(error);
    }
    // SAFETY: `read` is an open descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(read) })
}

/// The signal's deliveries write nothing from now on (its handler stays,
/// and ignores them), and its reader sees end of file.
pub fn stop_waking(signal: i32) {
    let Some(writer) = WRITERS.get(signal.max(0) as usize) else {
        return;
    };
    let old = writer.swap(-1, Relaxed);
    if old >= 0 {
        // SAFETY: `old` was a write end this module made; the handler no
        // longer reaches it.
        unsafe { libc::close(old) };
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn a_signal_becomes_a_byte_and_stopping_ends_the_pipe() {
        let mut reader = wake_on_signal(libc::SIGUSR2).unwrap();
        // SAFETY: sends a signal to this process, whose handler is set.
        unsafe { libc::raise(libc::SIGUSR2) };
        let mut byte = [0u8; 1];
        assert_eq!(reader.read(&mut byte).unwrap(), 1);
        stop_waking(libc::SIGUSR2);
        // A delivery after the stop is ignored, not fatal.
        // SAFETY: as above.
        unsafe { libc::raise(libc::SIGUSR2) };
        assert_eq!(reader.read(&mut byte).unwrap(), 0, "end of file");
        for signal in [libc::SIGKILL, libc::SIGSEGV, 0, 99] {
            assert!(wake_on_signal(signal).is_err(), "{signal}");
        }
    }
}
