//! Protobuf bytes, gzip'd or not, as a [`Profile`], checked: every string
//! index in range, every location and function a sample names present.

use std::io::Read;

use flate2::read::MultiGzDecoder;

use super::profile::{Function, Label, Line, Location, Mapping, Profile, Sample, ValueType};
use super::wire::{Reader, Value};

/// A decompressed profile larger than this is refused, not read into
/// memory (a small file can inflate a thousandfold).
const MAX_PROFILE_BYTES: u64 = 1 << 30;

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// `true` when `data` looks like a pprof profile rather than JSON: a gzip
/// stream, or a protobuf message that opens with a sample type (field 1,
/// length-delimited, holding field 1 as a varint), as Go and prost write
/// it. JSON never starts with those bytes: `0x0a` is a newline, but no
/// JSON has the byte `0x08` after a newline and one more byte.
pub fn is_pprof(data: &[u8]) -> bool {
    data.starts_with(&GZIP_MAGIC) || (data.first() == Some(&0x0a) && data.get(2) == Some(&0x08))
}

/// Reads a profile, gzip'd or plain. The error is one line, without the
/// file's name.
pub fn decode(data: &[u8]) -> Result<Profile, String> {
    let plain;
    let bytes = if data.starts_with(&GZIP_MAGIC) {
        plain = gunzip(data)?;
        &plain[..]
    } else {
        data
    };
    let profile = profile(bytes)?;
    check(&profile)?;
    Ok(profile)
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    MultiGzDecoder::new(data)
        .take(MAX_PROFILE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("bad gzip stream: {e}"))?;
    if out.len() as u64 > MAX_PROFILE_BYTES {
        return Err(format!(
            "it decompresses to more than {} MiB",
            MAX_PROFILE_BYTES >> 20
        ));
    }
    Ok(out)
}

/// The fields of a message, each handed to `each` with its number.
fn fields<'a>(
    data: &'a [u8],
    what: &str,
    mut each: impl FnMut(u64, Value<'a>) -> Result<(), String>,
) -> Result<(), String> {
    let mut r = Reader::new(data);
    while let Some((number, value)) = r.field().map_err(|e| format!("{what}: {e}"))? {
        each(number, value)?;
    }
    Ok(())
}

fn profile(data: &[u8]) -> Result<Profile, String> {
    let mut p = Profile::default();
    fields(data, "profile", |n, v| {
        match n {
            1 => p.sample_type.push(value_type(v.bytes("sample_type")?)?),
            2 => p.sample.push(sample(v.bytes("sample")?)?),
            3 => p.mapping.push(mapping(v.bytes("mapping")?)?),
            4 => p.location.push(location(v.bytes("location")?)?),
            5 => p.function.push(function(v.bytes("function")?)?),
            6 => p
                .string_table
                .push(String::from_utf8_lossy(v.bytes("string_table")?).into_owned()),
            7 => p.drop_frames = v.int("drop_frames")?,
            8 => p.keep_frames = v.int("keep_frames")?,
            9 => p.time_nanos = v.int("time_nanos")?,
            10 => p.duration_nanos = v.int("duration_nanos")?,
            11 => p.period_type = Some(value_type(v.bytes("period_type")?)?),
            12 => p.period = v.int("period")?,
            13 => v.each_int("comment", |c| p.comment.push(c))?,
            14 => p.default_sample_type = v.int("default_sample_type")?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(p)
}

fn value_type(data: &[u8]) -> Result<ValueType, String> {
    let mut t = ValueType::default();
    fields(data, "sample_type", |n, v| {
        match n {
            1 => t.ty = v.int("type")?,
            2 => t.unit = v.int("unit")?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(t)
}

fn sample(data: &[u8]) -> Result<Sample, String> {
    let mut s = Sample::default();
    fields(data, "sample", |n, v| {
        match n {
            1 => v.each_int("location_id", |id| s.location_id.push(id as u64))?,
            2 => v.each_int("value", |x| s.value.push(x))?,
            3 => {
                let mut l = Label::default();
                fields(v.bytes("label")?, "label", |n, v| {
                    match n {
                        1 => l.key = v.int("key")?,
                        2 => l.str = v.int("str")?,
                        3 => l.num = v.int("num")?,
                        4 => l.num_unit = v.int("num_unit")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                s.label.push(l);
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(s)
}

fn mapping(data: &[u8]) -> Result<Mapping, String> {
    let mut m = Mapping::default();
    fields(data, "mapping", |n, v| {
        match n {
            1 => m.id = v.uint("id")?,
            2 => m.memory_start = v.uint("memory_start")?,
            3 => m.memory_limit = v.uint("memory_limit")?,
            4 => m.file_offset = v.uint("file_offset")?,
            5 => m.filename = v.int("filename")?,
            6 => m.build_id = v.int("build_id")?,
            7 => m.has_functions = v.uint("has_functions")? != 0,
            8 => m.has_filenames = v.uint("has_filenames")? != 0,
            9 => m.has_line_numbers = v.uint("has_line_numbers")? != 0,
            10 => m.has_inline_frames = v.uint("has_inline_frames")? != 0,
            _ => {}
        }
        Ok(())
    })?;
    Ok(m)
}

fn location(data: &[u8]) -> Result<Location, String> {
    let mut l = Location::default();
    fields(data, "location", |n, v| {
        match n {
            1 => l.id = v.uint("id")?,
            2 => l.mapping_id = v.uint("mapping_id")?,
            3 => l.address = v.uint("address")?,
            4 => {
                let mut line = Line::default();
                fields(v.bytes("line")?, "line", |n, v| {
                    match n {
                        1 => line.function_id = v.uint("function_id")?,
                        2 => line.line = v.int("line")?,
                        3 => line.column = v.int("column")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                l.line.push(line);
            }
            5 => l.is_folded = v.uint("is_folded")? != 0,
            _ => {}
        }
        Ok(())
    })?;
    Ok(l)
}

fn function(data: &[u8]) -> Result<Function, String> {
    let mut f = Function::default();
    fields(data, "function", |n, v| {
        match n {
            1 => f.id = v.uint("id")?,
            2 => f.name = v.int("name")?,
            3 => f.system_name = v.int("system_name")?,
            4 => f.filename = v.int("filename")?,
            5 => f.start_line = v.int("start_line")?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(f)
}

/// What pprof's own reader checks: the string table opens with `""`,
/// string indices are in range, samples have one value per sample type,
/// ids are nonzero and every id a sample or line names exists.
fn check(p: &Profile) -> Result<(), String> {
    if p.string_table.first().is_some_and(|s| !s.is_empty()) {
        return Err("string_table[0] is not the empty string".into());
    }
    let string = |i: i64, what: &str| -> Result<(), String> {
        match p.string(i) {
            Some(_) => Ok(()),
            // An empty table: every index, even 0, is out of range, but
            // a profile without strings has only zeros to resolve.
            None if i == 0 && p.string_table.is_empty() => Ok(()),
            None => Err(format!(
                "{what} names string {i}, out of range (the string table has {})",
                p.string_table.len()
            )),
        }
    };
    for t in p.sample_type.iter().chain(&p.period_type) {
        string(t.ty, "a sample type")?;
        string(t.unit, "a sample type's unit")?;
    }
    for &c in &p.comment {
        string(c, "a comment")?;
    }
    string(p.default_sample_type, "default_sample_type")?;
    string(p.drop_frames, "drop_frames")?;
    string(p.keep_frames, "keep_frames")?;
    for m in &p.mapping {
        if m.id == 0 {
            return Err("a mapping has id 0".into());
        }
        string(m.filename, "a mapping's filename")?;
        string(m.build_id, "a mapping's build_id")?;
    }
    for f in &p.function {
        if f.id == 0 {
            return Err("a function has id 0".into());
        }
        string(f.name, "a function's name")?;
        string(f.system_name, "a function's system_name")?;
        string(f.filename, "a function's filename")?;
    }
    let functions: std::collections::HashSet<u64> = p.function.iter().map(|f| f.id).collect();
    let mappings: std::collections::HashSet<u64> = p.mapping.iter().map(|m| m.id).collect();
    for l in &p.location {
        if l.id == 0 {
            return Err("a location has id 0".into());
        }
        if l.mapping_id != 0 && !mappings.contains(&l.mapping_id) {
            return Err(format!(
                "location {} names mapping {}, which is not in the profile",
                l.id, l.mapping_id
            ));
        }
        if let Some(line) = l
            .line
            .iter()
            .find(|line| !functions.contains(&line.function_id))
        {
            return Err(format!(
                "location {} names function {}, which is not in the profile",
                l.id, line.function_id
            ));
        }
    }
    let locations: std::collections::HashSet<u64> = p.location.iter().map(|l| l.id).collect();
    for (i, s) in p.sample.iter().enumerate() {
        if s.value.len() != p.sample_type.len() {
            return Err(format!(
                "sample {i} has {} values for {} sample types",
                s.value.len(),
                p.sample_type.len()
            ));
        }
        if let Some(id) = s.location_id.iter().find(|id| !locations.contains(id)) {
            return Err(format!(
                "sample {i} names location {id}, which is not in the profile"
            ));
        }
        for l in &s.label {
            string(l.key, "a label")?;
            string(l.str, "a label")?;
            string(l.num_unit, "a label's unit")?;
        }
    }
    Ok(())
}
