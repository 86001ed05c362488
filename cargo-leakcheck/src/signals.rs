//! Unix signals by name: how a report and an error name the signal that
//! ended a process or the run.

/// The name and meaning of a Unix signal.
pub fn signal_name(signal: i32) -> Option<(&'static str, &'static str)> {
    #[cfg(unix)]
    {
        let found = match signal {
            libc::SIGABRT => ("SIGABRT", "aborted"),
            libc::SIGSEGV => ("SIGSEGV", "segmentation fault"),
            libc::SIGBUS => ("SIGBUS", "bus error"),
            libc::SIGILL => ("SIGILL", "illegal instruction"),
            libc::SIGFPE => ("SIGFPE", "arithmetic exception"),
            libc::SIGTRAP => ("SIGTRAP", "trace trap"),
            libc::SIGKILL => ("SIGKILL", "killed"),
            libc::SIGTERM => ("SIGTERM", "terminated"),
            libc::SIGINT => ("SIGINT", "interrupted"),
            libc::SIGQUIT => ("SIGQUIT", "quit"),
            libc::SIGHUP => ("SIGHUP", "hangup"),
            libc::SIGPIPE => ("SIGPIPE", "broken pipe"),
            libc::SIGALRM => ("SIGALRM", "alarm clock"),
            libc::SIGUSR1 => ("SIGUSR1", "user signal 1"),
            libc::SIGUSR2 => ("SIGUSR2", "user signal 2"),
            libc::SIGSYS => ("SIGSYS", "bad system call"),
            libc::SIGXCPU => ("SIGXCPU", "CPU time limit exceeded"),
            libc::SIGXFSZ => ("SIGXFSZ", "file size limit exceeded"),
            _ => return None,
        };
        Some(found)
    }
    #[cfg(not(unix))]
    {
        let _ = signal;
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn signals_are_named() {
        assert_eq!(signal_name(libc::SIGKILL), Some(("SIGKILL", "killed")));
        assert_eq!(signal_name(1000), None);
    }
}
