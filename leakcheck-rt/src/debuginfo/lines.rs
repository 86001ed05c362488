//! A compile unit's line table, decoded once: the source line of an
//! address and the file names that `DW_AT_call_file` indices refer to.
//! Follows addr2line 0.25 (`src/line.rs`) row for row, so that locations
//! are the ones the `backtrace` crate gives.

use super::ranges::{Reader, range_order};

/// The file, and the line if the table has one (`0` means none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Location<'a> {
    pub(super) file: Option<&'a str>,
    pub(super) line: Option<u32>,
}

struct Sequence {
    start: u64,
    end: u64,
    rows: Box<[Row]>,
}

/// 16 bytes: a unit's table can have hundreds of thousands of rows.
struct Row {
    address: u64,
    file_index: u32,
    line: u32,
}

/// The decoded line program of one unit.
pub(super) struct Lines {
    files: Box<[String]>,
    sequences: Box<[Sequence]>,
}

impl Lines {
    pub(super) fn parse(unit: gimli::UnitRef<'_, Reader>) -> gimli::Result<Lines> {
        let Some(program) = unit.line_program.clone() else {
            return Ok(Lines {
                files: Box::new([]),
                sequences: Box::new([]),
            });
        };
        let mut sequences = Vec::new();
        let mut current = Vec::<Row>::new();
        let mut rows = program.rows();
        while let Some((_, row)) = rows.next_row()? {
            if row.end_sequence() {
                if let Some(start) = current.first().map(|r| r.address) {
                    sequences.push(Sequence {
                        start,
                        end: row.address(),
                        rows: std::mem::take(&mut current).into_boxed_slice(),
                    });
                }
                continue;
            }
            let address = row.address();
            // An index past `u32` names no file, as a missing one does.
            let file_index = u32::try_from(row.file_index()).unwrap_or(u32::MAX);
            let line = row.line().map_or(0, |l| l.get()) as u32;
            if let Some(last) = current.last_mut()
                && last.address == address
            {
                last.file_index = file_index;
                last.line = line;
                continue;
            }
            current.push(Row {
                address,
                file_index,
                line,
            });
        }
        sequences.sort_by_key(|s| s.start);

        let header = rows.header();
        let mut files = Vec::new();
        match header.file(0) {
            Some(file) => files.push(render_file(unit, file, header)?),
            // DWARF 4 and older have no file 0.
            None => files.push(String::new()),
        }
        let mut index = 1;
        while let Some(file) = header.file(index) {
            files.push(render_file(unit, file, header)?);
            index += 1;
        }
        Ok(Lines {
            files: files.into_boxed_slice(),
            sequences: sequences.into_boxed_slice(),
        })
    }

    pub(super) fn file(&self, index: u64) -> Option<&str> {
        self.files.get(index as usize).map(String::as_str)
    }

    /// The row that covers `probe`, if a sequence does.
    pub(super) fn find_location(&self, probe: u64) -> Option<Location<'_>> {
        let seq = self
            .sequences
            .binary_search_by(|s| range_order(s.start, s.end, probe))
            .ok()?;
        let rows = &self.sequences[seq].rows;
        let row = match rows.binary_search_by(|r| r.address.cmp(&probe)) {
            Ok(i) => &rows[i],
            Err(0) => return None,
            Err(i) => &rows[i - 1],
        };
        Some(Location {
            file: self.file(u64::from(row.file_index)),
            line: (row.line != 0).then_some(row.line),
        })
    }
}

/// The path of a line table's file entry: the unit's directory, the
/// entry's directory and its name, each replacing what comes before when
/// it is absolute (addr2line's `render_file`).
fn render_file(
    unit: gimli::UnitRef<'_, Reader>,
    file: &gimli::FileEntry<Reader, usize>,
    header: &gimli::LineProgramHeader<Reader, usize>,
) -> gimli::Result<String> {
    let mut path = match unit.comp_dir {
        Some(dir) => dir.to_string_lossy().into_owned(),
        None => String::new(),
    };
    // Directory 0 is the unit's own.
    if file.directory_index() != 0
        && let Some(directory) = file.directory(header)
    {
        path_push(&mut path, &unit.attr_string(directory)?.to_string_lossy());
    }
    path_push(
        &mut path,
        &unit.attr_string(file.path_name())?.to_string_lossy(),
    );
    Ok(path)
}

fn path_push(path: &mut String, p: &str) {
    if has_forward_slash_root(p) || has_backward_slash_root(p) {
        *path = p.to_owned();
    } else {
        let separator = if has_backward_slash_root(path) {
            '\\'
        } else {
            '/'
        };
        if !path.is_empty() && !path.ends_with(separator) {
            path.push(separator);
        }
        path.push_str(p);
    }
}

fn has_forward_slash_root(p: &str) -> bool {
    p.starts_with('/') || p.get(1..3) == Some(":/")
}

fn has_backward_slash_root(p: &str) -> bool {
    p.starts_with('\\') || p.get(1..3) == Some(":\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_as_addr2line_joins_them() {
        let mut p = String::from("/work/crate");
        path_push(&mut p, "src");
        path_push(&mut p, "lib.rs");
        assert_eq!(p, "/work/crate/src/lib.rs");
        path_push(&mut p, "/rustc/abc/library/core/src/ptr/mod.rs");
        assert_eq!(p, "/rustc/abc/library/core/src/ptr/mod.rs");
        let mut empty = String::new();
        path_push(&mut empty, "src/main.rs");
        assert_eq!(empty, "src/main.rs");
    }
}
