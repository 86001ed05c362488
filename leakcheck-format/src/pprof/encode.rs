//! A [`Profile`] as protobuf bytes, gzip'd as pprof's files are.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::profile::{Profile, ValueType};
use super::wire::Writer;

/// The profile as a gzip'd protobuf message, as `go tool pprof` reads it.
pub fn encode(profile: &Profile) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&encode_plain(profile))
        .expect("writing to a Vec cannot fail");
    gz.finish().expect("writing to a Vec cannot fail")
}

/// The profile as a protobuf message, not compressed.
pub fn encode_plain(p: &Profile) -> Vec<u8> {
    let mut w = Writer::default();
    for t in &p.sample_type {
        w.message(1, |w| value_type(w, t));
    }
    for s in &p.sample {
        w.message(2, |w| {
            w.packed(1, s.location_id.iter().copied());
            w.packed(2, s.value.iter().map(|&v| v as u64));
            for l in &s.label {
                w.message(3, |w| {
                    w.int(1, l.key);
                    w.int(2, l.str);
                    w.int(3, l.num);
                    w.int(4, l.num_unit);
                });
            }
        });
    }
    for m in &p.mapping {
        w.message(3, |w| {
            w.uint(1, m.id);
            w.uint(2, m.memory_start);
            w.uint(3, m.memory_limit);
            w.uint(4, m.file_offset);
            w.int(5, m.filename);
            w.int(6, m.build_id);
            w.bool(7, m.has_functions);
            w.bool(8, m.has_filenames);
            w.bool(9, m.has_line_numbers);
            w.bool(10, m.has_inline_frames);
        });
    }
    for l in &p.location {
        w.message(4, |w| {
            w.uint(1, l.id);
            w.uint(2, l.mapping_id);
            w.uint(3, l.address);
            for line in &l.line {
                w.message(4, |w| {
                    w.uint(1, line.function_id);
                    w.int(2, line.line);
                    w.int(3, line.column);
                });
            }
            w.bool(5, l.is_folded);
        });
    }
    for f in &p.function {
        w.message(5, |w| {
            w.uint(1, f.id);
            w.int(2, f.name);
            w.int(3, f.system_name);
            w.int(4, f.filename);
            w.int(5, f.start_line);
        });
    }
    for s in &p.string_table {
        w.bytes(6, s.as_bytes());
    }
    w.int(7, p.drop_frames);
    w.int(8, p.keep_frames);
    w.int(9, p.time_nanos);
    w.int(10, p.duration_nanos);
    if let Some(t) = &p.period_type {
        w.message(11, |w| value_type(w, t));
    }
    w.int(12, p.period);
    w.packed(13, p.comment.iter().map(|&v| v as u64));
    w.int(14, p.default_sample_type);
    w.buf
}

fn value_type(w: &mut Writer, t: &ValueType) {
    w.int(1, t.ty);
    w.int(2, t.unit);
}
