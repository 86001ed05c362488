//! The line of the workspace behind a site in a dependency.
//!
//! A site stays charged to tracemalloc's frame, the innermost one outside
//! the standard library: for a task that never finishes that is tokio's
//! `tokio-1.x/src/runtime/task/core.rs`, where the task is allocated. The
//! line a reader can change is further out, where the workspace called into
//! tokio (`tokio::spawn(...)`); reports show it beside the site.

use crate::report::Caller;
use crate::traceback::{FrameKind, Traceback};

/// The innermost workspace frame of `traceback`, when the frame the site is
/// charged to is not in the workspace itself; for a site in C or C++ code
/// (`--native`), the innermost Rust line of the workspace that called it.
pub fn workspace_caller(traceback: &Traceback) -> Option<Caller> {
    let charged = traceback.charged_frame()?;
    let c = charged.is_c_source();
    if charged.kind == FrameKind::Workspace && !c {
        return None;
    }
    let frame = traceback
        .frames()
        .iter()
        .rev()
        .skip_while(|f| c && !std::ptr::eq(*f, charged))
        .find(|f| f.kind == FrameKind::Workspace && f.line != 0 && !f.is_c_source())?;
    Some(Caller {
        file: frame.file.clone(),
        line: frame.line,
        function: frame.function.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Frame;

    fn frame(file: &str, line: u32, kind: FrameKind) -> Frame {
        Frame {
            file: file.into(),
            line,
            function: format!("f{line}"),
            kind,
        }
    }

    #[test]
    fn a_site_in_a_dependency_names_the_workspace_line_that_called_it() {
        let tb = Traceback::new(vec![
            frame("tests/service.rs", 49, FrameKind::Workspace),
            frame("src/lib.rs", 70, FrameKind::Workspace),
            frame("tokio-1.54.1/src/task/spawn.rs", 168, FrameKind::Registry),
            frame(
                "tokio-1.54.1/src/runtime/task/core.rs",
                261,
                FrameKind::Registry,
            ),
            frame("std:alloc/src/boxed.rs", 265, FrameKind::Std),
        ]);
        let caller = workspace_caller(&tb).unwrap();
        assert_eq!((caller.file.as_str(), caller.line), ("src/lib.rs", 70));
        assert_eq!(caller.function, "f70");
    }

    #[test]
    fn a_site_in_c_names_the_rust_line_that_called_it() {
        let tb = Traceback::new(vec![
            frame("tests/leaks.rs", 8, FrameKind::Workspace),
            frame("src/lib.rs", 13, FrameKind::Workspace),
            frame("csrc/wrap.c", 30, FrameKind::Workspace),
            frame("csrc/store.c", 9, FrameKind::Workspace),
        ]);
        let caller = workspace_caller(&tb).unwrap();
        assert_eq!((caller.file.as_str(), caller.line), ("src/lib.rs", 13));
        // A C site reached from no Rust line of the workspace has none.
        let tb = Traceback::new(vec![frame("csrc/store.c", 9, FrameKind::Workspace)]);
        assert_eq!(workspace_caller(&tb), None);
    }

    #[test]
    fn a_site_in_the_workspace_has_no_caller() {
        let tb = Traceback::new(vec![
            frame("tests/service.rs", 9, FrameKind::Workspace),
            frame("src/lib.rs", 20, FrameKind::Workspace),
            frame("std:alloc/src/vec/mod.rs", 3651, FrameKind::Std),
        ]);
        assert_eq!(workspace_caller(&tb), None);
        // A dependency reached from no workspace frame (a worker thread
        // running the dependency's own task) has none either.
        let tb = Traceback::new(vec![frame(
            "lru-0.6.0/src/lib.rs",
            123,
            FrameKind::Registry,
        )]);
        assert_eq!(workspace_caller(&tb), None);
    }
}
