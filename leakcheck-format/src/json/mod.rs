//! leakcheck's own JSON reader and writer for its files (snapshots, session
//! records, reports).
//!
//! serde_json is not used here because its `impl PartialEq<Value> for u8`
//! (and for the other primitives, `str` and `String`) is visible to every
//! crate that links it, and makes `assert_eq!(bytes[0], 1.into())` in a
//! user's tests ambiguous. This module reads and writes serde types with
//! serde_json's grammar, limits, layout and error messages, and adds no
//! impls on std types.

mod access;
mod de;
mod error;
mod float;
mod read;
mod ser;
mod value;

#[cfg(test)]
mod tests;

pub use de::from_slice;
pub use error::Error;
pub use ser::{to_string, to_string_pretty};
pub use value::Value;
