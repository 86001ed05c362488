//! pprof heap profiles (google/pprof's `proto/profile.proto`), the format
//! `go tool pprof`, Pyroscope, Parca and `jemalloc_pprof` read and write:
//! the protobuf message, its wire format by hand (no code generator), gzip,
//! and a [`Snapshot`](crate::Snapshot) written as one and read from one
//! (`Snapshot::dump_pprof`, `Snapshot::from_pprof`).

mod decode;
mod encode;
mod frames;
mod profile;
mod snapshot;
mod wire;

#[cfg(test)]
mod tests;

pub use decode::{decode, is_pprof};
pub use encode::encode;
pub use profile::{Function, Label, Line, Location, Mapping, Profile, Sample, ValueType};
