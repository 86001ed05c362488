//! The environment variables a runner sets for a test binary, and the
//! modes `LEAKCHECK_MODE` carries.

/// The file a test binary run as a session records into at exit (what was
/// still live, per-test snapshots, the leak tests it ran). Set by
/// `cargo leakcheck` for the session run only.
pub const SESSION: &str = "LEAKCHECK_SESSION";
/// How a `#[leak_test]` measures: one of [`Mode`].
pub const MODE: &str = "LEAKCHECK_MODE";
/// The file a leak test run alone writes its per-test report to.
pub const REPORT: &str = "LEAKCHECK_REPORT";
/// The root that source paths in reports are made relative to.
pub const WORKSPACE_ROOT: &str = "LEAKCHECK_WORKSPACE_ROOT";
/// `1`: register every live block from the first allocation, and say
/// what retains each leaking site's blocks (the run of a leaking test
/// that `cargo leakcheck` makes once more for it).
pub const RETAIN: &str = "LEAKCHECK_RETAIN";
/// With [`RETAIN`] in a session run: the session growth sites to say what
/// retains, one `FILE:LINE` a line.
pub const RETAIN_SITES: &str = "LEAKCHECK_RETAIN_SITES";
/// With [`RETAIN_SITES`]: where the session writes what retains them, a
/// test report whose sites carry `retained_by`.
pub const RETAIN_OUT: &str = "LEAKCHECK_RETAIN_OUT";
/// In a [`Mode::Child`] run, the pid of the test process that started it.
pub const PARENT_PID: &str = "LEAKCHECK_PARENT_PID";
/// An absolute directory where a test process keeps the frames it named,
/// one [`FrameFile`](crate::frame_file::FrameFile) per object file, for
/// the next process of the same binary to read instead of debug info.
pub const FRAME_CACHE: &str = "LEAKCHECK_FRAME_CACHE";

/// What a leak test run alone does once it has measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run by `cargo leakcheck`: measure, write the report, and judge
    /// (fail on a leak, check the leak snapshot).
    Measure,
    /// Run by the leak test itself from libtest's parallel runner: measure
    /// and write the report only; the parent judges.
    Child,
}

impl Mode {
    /// The value of [`MODE`] for this mode.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Measure => "measure",
            Mode::Child => "child",
        }
    }

    /// The mode a value of [`MODE`] names, if any.
    pub fn parse(value: &str) -> Option<Mode> {
        [Mode::Measure, Mode::Child]
            .into_iter()
            .find(|mode| mode.as_str() == value)
    }

    /// The mode this process was started in, from [`MODE`].
    pub fn from_env() -> Option<Mode> {
        Mode::parse(std::env::var(MODE).ok()?.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_back_as_written() {
        for mode in [Mode::Measure, Mode::Child] {
            assert_eq!(Mode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(Mode::parse("measure"), Some(Mode::Measure));
        assert_eq!(Mode::parse("child"), Some(Mode::Child));
        assert_eq!(Mode::parse("session"), None);
        assert_eq!(Mode::parse(""), None);
    }
}
