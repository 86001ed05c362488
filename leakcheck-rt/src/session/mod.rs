//! Sessions: a whole test binary run once, and what it left live at exit.

mod record;

pub use record::{SESSION_VERSION, SessionRecord, TestDelta};
