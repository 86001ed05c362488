//! One object file's debug info: its sections straight from the mapped
//! file, the address ranges of its units from `.debug_aranges`, and the
//! units, functions and line tables read so far.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use object::{Object, ObjectSection, ObjectSymbol};

use super::functions::{self, Function, Functions};
use super::lines::{Lines, Location};
use super::ranges::Reader;
use leakcheck_engine as alloc;

/// One frame at an address, innermost (inlined) first: the raw name as
/// the debug info has it (mangled or not) and the source location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceFrame {
    pub(crate) name: &'static [u8],
    pub(crate) file: Option<String>,
    pub(crate) line: Option<u32>,
}

/// `[begin, end)` of code in the unit at `unit` (a `.debug_info` offset).
struct Arange {
    begin: u64,
    end: u64,
    unit: usize,
}

/// Units whose `DW_FORM_ref_addr` chains are followed this far, as
/// addr2line does.
const NAME_DEPTH: usize = 16;

/// Lookups between two releases of the file's resident pages
/// ([`alloc::release_file_pages`]).
const LOOKUPS_PER_RELEASE: u32 = 16;

pub(super) struct ObjectDebug {
    /// The whole file, mapped.
    map: &'static [u8],
    /// Lookups since its pages were last released.
    lookups: u32,
    file: object::File<'static>,
    dwarf: &'static gimli::Dwarf<Reader>,
    info_len: usize,
    aranges: Vec<Arange>,
    /// The longest arange, so that a lookup scans back only that far.
    longest: u64,
    /// The units the aranges name, sorted: known unit starts.
    arange_units: Vec<usize>,
    /// Unit start → end, for the units whose header was read.
    bounds: BTreeMap<usize, usize>,
    units: HashMap<usize, Option<Arc<gimli::Unit<Reader>>>>,
    functions: HashMap<usize, Option<Arc<Functions>>>,
    lines: HashMap<usize, Option<Arc<Lines>>>,
    parsed: HashMap<(usize, usize), Option<Arc<Function>>>,
}

impl ObjectDebug {
    /// The debug info of the file at `path`, or `None` if it has none this
    /// reader can use lazily: no `.debug_aranges`, compressed sections,
    /// not ELF.
    pub(super) fn open(path: &Path) -> Option<ObjectDebug> {
        let data = alloc::map_file(path)?;
        let file = object::File::parse(data).ok()?;
        let endian = if file.is_little_endian() {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        let section = |id: gimli::SectionId| -> Result<Reader, ()> {
            let Some(section) = file.section_by_name(id.name()) else {
                return Ok(gimli::EndianSlice::new(&[], endian));
            };
            let range = section.compressed_file_range().map_err(drop)?;
            if range.format != object::CompressionFormat::None {
                return Err(());
            }
            Ok(gimli::EndianSlice::new(
                section.data().map_err(drop)?,
                endian,
            ))
        };
        let dwarf = gimli::Dwarf::load(section).ok()?;
        let info_len = gimli::Section::reader(&dwarf.debug_info).len();
        let mut aranges = Vec::new();
        let mut headers = dwarf.debug_aranges.headers();
        while let Ok(Some(header)) = headers.next() {
            let unit = header.debug_info_offset().0;
            let mut entries = header.entries();
            // Like addr2line, skip entries that do not parse (an address
            // overflow has been seen for a unit with one variable).
            while let Some(entry) = entries.next().transpose() {
                if let Ok(entry) = entry
                    && entry.length() != 0
                {
                    let range = entry.range();
                    aranges.push(Arange {
                        begin: range.begin,
                        end: range.end,
                        unit,
                    });
                }
            }
        }
        if aranges.is_empty() {
            return None;
        }
        aranges.sort_by_key(|a| a.begin);
        let longest = aranges.iter().map(|a| a.end - a.begin).max().unwrap_or(0);
        let mut arange_units: Vec<usize> = aranges.iter().map(|a| a.unit).collect();
        arange_units.sort_unstable();
        arange_units.dedup();
        Some(ObjectDebug {
            map: data,
            lookups: 0,
            file,
            dwarf: Box::leak(Box::new(dwarf)),
            info_len,
            aranges,
            longest,
            arange_units,
            bounds: BTreeMap::new(),
            units: HashMap::new(),
            functions: HashMap::new(),
            lines: HashMap::new(),
            parsed: HashMap::new(),
        })
    }

    /// Frames at `probe` (an address as the file states it), innermost
    /// first, or `None` when neither a unit of the aranges nor the symbol
    /// table answers, or a unit could not be read.
    pub(super) fn frames(&mut self, probe: u64) -> Option<Vec<SourceFrame>> {
        self.lookups += 1;
        if self.lookups == LOOKUPS_PER_RELEASE {
            self.lookups = 0;
            alloc::release_file_pages(self.map);
        }
        let mut candidates: Vec<usize> = Vec::new();
        let end = self.aranges.partition_point(|a| a.begin <= probe);
        for a in self.aranges[..end].iter().rev() {
            if a.begin.saturating_add(self.longest) <= probe {
                break;
            }
            if probe < a.end && !candidates.contains(&a.unit) {
                candidates.push(a.unit);
            }
        }
        // addr2line takes the first unit (by range end) that has a
        // function or a line there; aranges seldom overlap.
        candidates.sort_unstable();
        if candidates.is_empty() {
            // Code without debug info (rustc's C `main`, which closes
            // every main-thread stack, its `__rust_try`): named from the
            // symbol table, as backtrace names it when no unit has it.
            return self.symbol_at(probe).map(|name| {
                vec![SourceFrame {
                    name,
                    file: None,
                    line: None,
                }]
            });
        }
        for unit in candidates {
            match self.frames_in(unit, probe) {
                Ok(Some(frames)) => return Some(frames),
                Ok(None) => continue,
                Err(_) => return None,
            }
        }
        None
    }

    /// The function or data symbol at or nearest below `probe`, if its
    /// size reaches `probe` (backtrace's `search_symtab`): the symbol
    /// table, else the dynamic one, scanned, since few addresses need it.
    fn symbol_at(&self, probe: u64) -> Option<&'static [u8]> {
        let symbols = if self.file.symbol_table().is_some() {
            self.file.symbols()
        } else {
            self.file.dynamic_symbols()
        };
        // Only the nearest symbol's name is read: reading every name
        // would walk the whole string table.
        let (address, size, index) = symbols
            .filter(|s| {
                s.address() <= probe
                    && matches!(
                        s.kind(),
                        object::SymbolKind::Text | object::SymbolKind::Data
                    )
                    && !s.is_undefined()
            })
            .map(|s| (s.address(), s.size(), s.index()))
            .fold(None, |best, s| match &best {
                Some((b, _, _)) if *b >= s.0 => best,
                _ => Some(s),
            })?;
        if probe > address + size {
            return None;
        }
        self.file.symbol_by_index(index).ok()?.name_bytes().ok()
    }

    fn frames_in(&mut self, unit_at: usize, probe: u64) -> gimli::Result<Option<Vec<SourceFrame>>> {
        let unit = self
            .unit(unit_at)
            .ok_or(gimli::Error::NoEntryAtGivenOffset)?;
        let functions = self.functions(unit_at, &unit)?;
        let lines = self.lines(unit_at, &unit)?;
        let location = lines.find_location(probe);
        // A frame without a name in the debug info (a line without a
        // function, a function without a name: rustc's line tables for
        // some shims) is named from the symbol table, as backtrace does.
        let Some(function_at) = functions.find(probe) else {
            return match (location, self.symbol_at(probe)) {
                (Some(_), Some(name)) => Ok(Some(vec![frame(name, location)])),
                (Some(_), None) => Err(gimli::Error::NoEntryAtGivenOffset),
                (None, _) => Ok(None),
            };
        };
        let function = self.function(unit_at, &unit, function_at)?;
        let dwarf = self.dwarf;
        let mut frames = Vec::new();
        let mut at = location;
        for inlined in function.inlined_at(probe).into_iter().rev() {
            let name = functions::entry_name(
                gimli::UnitRef::new(dwarf, &unit),
                inlined.entry,
                &mut |value, unit| self.name_attr(value, unit, NAME_DEPTH),
            )?;
            frames.push(frame(self.named(name, probe)?, at));
            at = Some(Location {
                file: inlined.call_file.and_then(|f| lines.file(f)),
                line: (inlined.call_line != 0).then_some(inlined.call_line),
            });
        }
        frames.push(frame(self.named(function.name, probe)?, at));
        Ok(Some(frames))
    }

    /// A name from the debug info, else the symbol table's at `probe`.
    fn named(&self, name: Option<Reader>, probe: u64) -> gimli::Result<&'static [u8]> {
        name.map(|n| n.slice())
            .or_else(|| self.symbol_at(probe))
            .ok_or(gimli::Error::NoEntryAtGivenOffset)
    }

    fn unit(&mut self, at: usize) -> Option<Arc<gimli::Unit<Reader>>> {
        if let Some(unit) = self.units.get(&at) {
            return unit.clone();
        }
        let unit = self
            .dwarf
            .debug_info
            .header_from_offset(gimli::DebugInfoOffset(at))
            .and_then(|header| self.dwarf.unit(header))
            .ok()
            // Split DWARF: the functions are in a `.dwo` file.
            .filter(|unit| unit.dwo_id.is_none())
            .map(Arc::new);
        if let Some(unit) = &unit {
            self.bounds
                .insert(at, at + unit.header.length_including_self());
        }
        self.units.insert(at, unit.clone());
        unit
    }

    fn functions(
        &mut self,
        at: usize,
        unit: &gimli::Unit<Reader>,
    ) -> gimli::Result<Arc<Functions>> {
        let dwarf = self.dwarf;
        let found = self.functions.entry(at).or_insert_with(|| {
            Functions::parse(gimli::UnitRef::new(dwarf, unit))
                .ok()
                .map(Arc::new)
        });
        found.clone().ok_or(gimli::Error::NoEntryAtGivenOffset)
    }

    fn lines(&mut self, at: usize, unit: &gimli::Unit<Reader>) -> gimli::Result<Arc<Lines>> {
        let dwarf = self.dwarf;
        let found = self.lines.entry(at).or_insert_with(|| {
            Lines::parse(gimli::UnitRef::new(dwarf, unit))
                .ok()
                .map(Arc::new)
        });
        found.clone().ok_or(gimli::Error::NoEntryAtGivenOffset)
    }

    fn function(
        &mut self,
        at: usize,
        unit: &gimli::Unit<Reader>,
        offset: gimli::UnitOffset,
    ) -> gimli::Result<Arc<Function>> {
        if let Some(found) = self.parsed.get(&(at, offset.0)) {
            return found.clone().ok_or(gimli::Error::NoEntryAtGivenOffset);
        }
        let dwarf = self.dwarf;
        let parsed = Function::parse(
            gimli::UnitRef::new(dwarf, unit),
            offset,
            &mut |value, unit| self.name_attr(value, unit, NAME_DEPTH),
        )
        .ok()
        .map(Arc::new);
        self.parsed.insert((at, offset.0), parsed.clone());
        parsed.ok_or(gimli::Error::NoEntryAtGivenOffset)
    }

    /// The name a `DW_AT_abstract_origin` or `DW_AT_specification` leads
    /// to (addr2line's `name_attr`), in this unit or, through
    /// `DW_FORM_ref_addr`, in another one, which is then read too.
    fn name_attr(
        &mut self,
        value: gimli::AttributeValue<Reader>,
        unit: &gimli::Unit<Reader>,
        depth: usize,
    ) -> gimli::Result<Option<Reader>> {
        if depth == 0 {
            return Ok(None);
        }
        match value {
            gimli::AttributeValue::UnitRef(offset) => self.name_entry(unit, offset, depth),
            gimli::AttributeValue::DebugInfoRef(dr) => {
                let other = self
                    .unit_containing(dr.0)
                    .ok_or(gimli::Error::NoEntryAtGivenOffset)?;
                let offset = dr
                    .to_unit_offset(&other.header)
                    .ok_or(gimli::Error::NoEntryAtGivenOffset)?;
                self.name_entry(&other, offset, depth)
            }
            _ => Ok(None),
        }
    }

    fn name_entry(
        &mut self,
        unit: &gimli::Unit<Reader>,
        offset: gimli::UnitOffset,
        depth: usize,
    ) -> gimli::Result<Option<Reader>> {
        let unit_ref = gimli::UnitRef::new(self.dwarf, unit);
        let mut entries = unit_ref.entries_raw(Some(offset))?;
        let Some(abbrev) = entries.read_abbreviation()? else {
            return Err(gimli::Error::NoEntryAtGivenOffset);
        };
        let mut name = None;
        let mut next = None;
        for spec in abbrev.attributes() {
            let attr = entries.read_attribute(*spec)?;
            match attr.name() {
                gimli::DW_AT_linkage_name | gimli::DW_AT_MIPS_linkage_name => {
                    if let Ok(val) = unit_ref.attr_string(attr.value()) {
                        return Ok(Some(val));
                    }
                }
                gimli::DW_AT_name => {
                    if let Ok(val) = unit_ref.attr_string(attr.value()) {
                        name = Some(val);
                    }
                }
                gimli::DW_AT_abstract_origin | gimli::DW_AT_specification => {
                    next = Some(attr.value());
                }
                _ => {}
            }
        }
        match (name, next) {
            (Some(name), _) => Ok(Some(name)),
            (None, Some(next)) => self.name_attr(next, unit, depth - 1),
            (None, None) => Ok(None),
        }
    }

    /// The unit that holds the `.debug_info` offset `target`: from the
    /// nearest unit start known below it, unit headers are read forward
    /// (each is a few bytes; the units in between are not parsed).
    fn unit_containing(&mut self, target: usize) -> Option<Arc<gimli::Unit<Reader>>> {
        let known = self
            .bounds
            .range(..=target)
            .next_back()
            .map(|(&s, &e)| (s, e));
        let past_known = match known {
            Some((start, end)) if target < end => return self.unit(start),
            Some((_, end)) => end,
            None => 0,
        };
        let below = self.arange_units.partition_point(|&u| u <= target);
        let named = below.checked_sub(1).map_or(0, |i| self.arange_units[i]);
        let mut start = past_known.max(named);
        while start < self.info_len {
            let header = self
                .dwarf
                .debug_info
                .header_from_offset(gimli::DebugInfoOffset(start))
                .ok()?;
            let end = start + header.length_including_self();
            self.bounds.insert(start, end);
            if target < end {
                return self.unit(start);
            }
            start = end;
        }
        None
    }
}

fn frame(name: &'static [u8], at: Option<Location<'_>>) -> SourceFrame {
    SourceFrame {
        name,
        file: at.and_then(|l| l.file).map(str::to_owned),
        line: at.and_then(|l| l.line),
    }
}
