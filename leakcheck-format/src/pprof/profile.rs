//! The `Profile` message of pprof's `profile.proto` and the messages it
//! holds, with the field numbers of the `.proto` beside each field.
//! Fields leakcheck neither reads nor writes (`Sample.breakdown`,
//! `Profile.label_set`, ...) are skipped on reading.

/// A profile: samples, each a call path of locations and one value per
/// sample type. Every string is an index into `string_table`, whose
/// first entry is `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// 1: what each of a sample's values measures, e.g. `inuse_space`/`bytes`.
    pub sample_type: Vec<ValueType>,
    /// 2
    pub sample: Vec<Sample>,
    /// 3
    pub mapping: Vec<Mapping>,
    /// 4
    pub location: Vec<Location>,
    /// 5
    pub function: Vec<Function>,
    /// 6
    pub string_table: Vec<String>,
    /// 7: a string index.
    pub drop_frames: i64,
    /// 8: a string index.
    pub keep_frames: i64,
    /// 9: when the profile was taken, in nanoseconds since the Unix epoch.
    pub time_nanos: i64,
    /// 10
    pub duration_nanos: i64,
    /// 11: what `period` counts, e.g. `space`/`bytes`.
    pub period_type: Option<ValueType>,
    /// 12: the events between two samples (a heap profile: the mean bytes).
    pub period: i64,
    /// 13: string indices of free-form comments.
    pub comment: Vec<i64>,
    /// 14: a string index, the sample type shown by default.
    pub default_sample_type: i64,
}

/// A value's type and unit, as string indices (`inuse_space`, `bytes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValueType {
    /// 1
    pub ty: i64,
    /// 2
    pub unit: i64,
}

/// One call path and its values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    /// 1: the locations, leaf (innermost) first.
    pub location_id: Vec<u64>,
    /// 2: one value per sample type.
    pub value: Vec<i64>,
    /// 3
    pub label: Vec<Label>,
}

/// A key and a string or a number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Label {
    /// 1: a string index.
    pub key: i64,
    /// 2: a string index.
    pub str: i64,
    /// 3
    pub num: i64,
    /// 4: a string index.
    pub num_unit: i64,
}

/// A binary or library mapped into the process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    /// 1: nonzero.
    pub id: u64,
    /// 2
    pub memory_start: u64,
    /// 3
    pub memory_limit: u64,
    /// 4
    pub file_offset: u64,
    /// 5: a string index, the object's path.
    pub filename: i64,
    /// 6: a string index.
    pub build_id: i64,
    /// 7
    pub has_functions: bool,
    /// 8
    pub has_filenames: bool,
    /// 9
    pub has_line_numbers: bool,
    /// 10
    pub has_inline_frames: bool,
}

/// An instruction address and what source lines it stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// 1: nonzero.
    pub id: u64,
    /// 2: 0 when unknown.
    pub mapping_id: u64,
    /// 3
    pub address: u64,
    /// 4: the innermost inlined function first, its caller last.
    pub line: Vec<Line>,
    /// 5
    pub is_folded: bool,
}

/// A line of a function.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Line {
    /// 1
    pub function_id: u64,
    /// 2
    pub line: i64,
    /// 3
    pub column: i64,
}

/// A function, by name and file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Function {
    /// 1: nonzero.
    pub id: u64,
    /// 2: a string index, the readable name.
    pub name: i64,
    /// 3: a string index, the name as linked (mangled).
    pub system_name: i64,
    /// 4: a string index.
    pub filename: i64,
    /// 5
    pub start_line: i64,
}

impl Profile {
    /// The string at index `i`, if there is one.
    pub fn string(&self, i: i64) -> Option<&str> {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.string_table.get(i))
            .map(String::as_str)
    }
}
