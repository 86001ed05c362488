//! The functions of a compile unit and the inlined calls inside one of
//! them, read as addr2line 0.25 reads them (`src/function.rs`): the same
//! attributes, the same order of preference for names, the same search
//! for the chain of inlined calls at an address.

use super::ranges::{Reader, range_order};

/// Follows `DW_AT_abstract_origin` or `DW_AT_specification` to a name;
/// given by the object, which can reach the other units.
pub(super) type NameOf<'a> = dyn FnMut(gimli::AttributeValue<Reader>, &gimli::Unit<Reader>) -> gimli::Result<Option<Reader>>
    + 'a;

/// The address ranges of a unit's `DW_TAG_subprogram`s, sorted.
pub(super) struct Functions {
    addresses: Box<[(gimli::Range, gimli::UnitOffset)]>,
}

impl Functions {
    pub(super) fn parse(unit: gimli::UnitRef<'_, Reader>) -> gimli::Result<Functions> {
        let mut addresses = Vec::new();
        let mut entries = unit.entries_raw(None)?;
        while !entries.is_empty() {
            let offset = entries.next_offset();
            let Some(abbrev) = entries.read_abbreviation()? else {
                continue;
            };
            if abbrev.tag() != gimli::DW_TAG_subprogram {
                entries.skip_attributes(abbrev.attributes())?;
                continue;
            }
            let mut ranges = RangeAttributes::default();
            for spec in abbrev.attributes() {
                let attr = entries.read_attribute(*spec)?;
                ranges.read(unit, &attr)?;
            }
            ranges.for_each_range(unit, |range| addresses.push((range, offset)))?;
        }
        // Identical code folded into one function gives equal ranges; like
        // addr2line, either may be found.
        addresses.sort_by_key(|(range, _)| range.begin);
        Ok(Functions {
            addresses: addresses.into_boxed_slice(),
        })
    }

    /// The `DW_TAG_subprogram` whose range holds `probe`.
    pub(super) fn find(&self, probe: u64) -> Option<gimli::UnitOffset> {
        self.addresses
            .binary_search_by(|(range, _)| range_order(range.begin, range.end, probe))
            .ok()
            .map(|i| self.addresses[i].1)
    }
}

/// One `DW_TAG_inlined_subroutine`: where it was called from, and its
/// entry, whose name is read (with [`entry_name`]) only when a looked-up
/// address is in the call: a function inlines many calls, and their names
/// lead into other units, whose debug info would otherwise be read for
/// calls no stack passes through.
pub(super) struct Inlined {
    pub(super) entry: gimli::UnitOffset,
    pub(super) call_file: Option<u64>,
    pub(super) call_line: u32,
}

/// The name of the entry at `offset` (addr2line's `Function::parse` and
/// `InlinedFunction::parse`): a linkage name wins; else the first, in the
/// entry's order, of its own name and the name its
/// `DW_AT_abstract_origin` or `DW_AT_specification` leads to.
pub(super) fn entry_name(
    unit: gimli::UnitRef<'_, Reader>,
    offset: gimli::UnitOffset,
    name_of: &mut NameOf<'_>,
) -> gimli::Result<Option<Reader>> {
    let mut entries = unit.entries_raw(Some(offset))?;
    let Some(abbrev) = entries.read_abbreviation()? else {
        return Err(gimli::Error::NoEntryAtGivenOffset);
    };
    let mut name = None;
    for spec in abbrev.attributes() {
        let attr = entries.read_attribute(*spec)?;
        match attr.name() {
            gimli::DW_AT_linkage_name | gimli::DW_AT_MIPS_linkage_name => {
                if let Ok(val) = unit.attr_string(attr.value()) {
                    name = Some(val);
                }
            }
            gimli::DW_AT_name if name.is_none() => name = unit.attr_string(attr.value()).ok(),
            gimli::DW_AT_abstract_origin | gimli::DW_AT_specification if name.is_none() => {
                name = name_of(attr.value(), unit.unit)?;
            }
            _ => {}
        }
    }
    Ok(name)
}

/// A function with every inlined call in it.
pub(super) struct Function {
    pub(super) name: Option<Reader>,
    inlined: Vec<Inlined>,
    /// `(range, call depth, index in inlined)`, by depth then start.
    addresses: Vec<(gimli::Range, usize, usize)>,
}

impl Function {
    pub(super) fn parse(
        unit: gimli::UnitRef<'_, Reader>,
        offset: gimli::UnitOffset,
        name_of: &mut NameOf<'_>,
    ) -> gimli::Result<Function> {
        let name = entry_name(unit, offset, name_of)?;
        let mut entries = unit.entries_raw(Some(offset))?;
        let depth = entries.next_depth();
        let Some(abbrev) = entries.read_abbreviation()? else {
            return Err(gimli::Error::NoEntryAtGivenOffset);
        };
        entries.skip_attributes(abbrev.attributes())?;
        let mut function = Function {
            name,
            inlined: Vec::new(),
            addresses: Vec::new(),
        };
        function.parse_children(unit, &mut entries, depth, 0)?;
        function
            .addresses
            .sort_by(|a, b| a.1.cmp(&b.1).then(a.0.begin.cmp(&b.0.begin)));
        Ok(function)
    }

    fn parse_children(
        &mut self,
        unit: gimli::UnitRef<'_, Reader>,
        entries: &mut gimli::EntriesRaw<'_, '_, Reader>,
        depth: isize,
        call_depth: usize,
    ) -> gimli::Result<()> {
        loop {
            let next_depth = entries.next_depth();
            if next_depth <= depth {
                return Ok(());
            }
            let offset = entries.next_offset();
            let Some(abbrev) = entries.read_abbreviation()? else {
                continue;
            };
            match abbrev.tag() {
                // A nested function is a function of its own.
                gimli::DW_TAG_subprogram => {
                    entries.skip_attributes(abbrev.attributes())?;
                    while entries.next_depth() > next_depth {
                        if let Some(abbrev) = entries.read_abbreviation()? {
                            entries.skip_attributes(abbrev.attributes())?;
                        }
                    }
                }
                gimli::DW_TAG_inlined_subroutine => {
                    self.parse_inlined(unit, entries, offset, abbrev, call_depth)?;
                    self.parse_children(unit, entries, next_depth, call_depth + 1)?;
                }
                // Lexical blocks and the like: their children are at the
                // same call depth.
                _ => entries.skip_attributes(abbrev.attributes())?,
            }
        }
    }

    fn parse_inlined(
        &mut self,
        unit: gimli::UnitRef<'_, Reader>,
        entries: &mut gimli::EntriesRaw<'_, '_, Reader>,
        entry: gimli::UnitOffset,
        abbrev: &gimli::Abbreviation,
        call_depth: usize,
    ) -> gimli::Result<()> {
        let mut ranges = RangeAttributes::default();
        let mut inlined = Inlined {
            entry,
            call_file: None,
            call_line: 0,
        };
        for spec in abbrev.attributes() {
            let attr = entries.read_attribute(*spec)?;
            ranges.read(unit, &attr)?;
            match attr.name() {
                gimli::DW_AT_call_file => {
                    // In DWARF 5, file 0 is a file (LLVM uses it).
                    if let gimli::AttributeValue::FileIndex(fi) = attr.value()
                        && (fi > 0 || unit.header.version() >= 5)
                    {
                        inlined.call_file = Some(fi);
                    }
                }
                gimli::DW_AT_call_line => {
                    inlined.call_line = attr.udata_value().unwrap_or(0) as u32;
                }
                _ => {}
            }
        }
        let index = self.inlined.len();
        self.inlined.push(inlined);
        ranges.for_each_range(unit, |range| {
            self.addresses.push((range, call_depth, index))
        })?;
        Ok(())
    }

    /// The inlined calls whose ranges hold `probe`, outermost first.
    pub(super) fn inlined_at(&self, probe: u64) -> Vec<&Inlined> {
        let mut chain = Vec::new();
        let mut addresses = &self.addresses[..];
        loop {
            let depth = chain.len();
            let found = addresses.binary_search_by(|(range, d, _)| {
                d.cmp(&depth)
                    .then(range_order(range.begin, range.end, probe))
            });
            let Ok(i) = found else {
                return chain;
            };
            chain.push(&self.inlined[addresses[i].2]);
            addresses = &addresses[i + 1..];
        }
    }
}

/// The attributes a DIE states its addresses with.
#[derive(Default)]
struct RangeAttributes {
    low_pc: Option<u64>,
    high_pc: Option<u64>,
    size: Option<u64>,
    ranges_offset: Option<gimli::RangeListsOffset>,
}

impl RangeAttributes {
    fn read(
        &mut self,
        unit: gimli::UnitRef<'_, Reader>,
        attr: &gimli::Attribute<Reader>,
    ) -> gimli::Result<()> {
        match (attr.name(), attr.value()) {
            (gimli::DW_AT_low_pc, gimli::AttributeValue::Addr(val)) => self.low_pc = Some(val),
            (gimli::DW_AT_low_pc, gimli::AttributeValue::DebugAddrIndex(index)) => {
                self.low_pc = Some(unit.address(index)?);
            }
            (gimli::DW_AT_high_pc, gimli::AttributeValue::Addr(val)) => self.high_pc = Some(val),
            (gimli::DW_AT_high_pc, gimli::AttributeValue::DebugAddrIndex(index)) => {
                self.high_pc = Some(unit.address(index)?);
            }
            (gimli::DW_AT_high_pc, gimli::AttributeValue::Udata(val)) => self.size = Some(val),
            (gimli::DW_AT_ranges, value) => {
                self.ranges_offset = unit.attr_ranges_offset(value)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Calls `f` with each non-empty range; `true` if there was one.
    fn for_each_range(
        &self,
        unit: gimli::UnitRef<'_, Reader>,
        mut f: impl FnMut(gimli::Range),
    ) -> gimli::Result<bool> {
        let mut any = false;
        let mut add = |range: gimli::Range| {
            if range.begin < range.end {
                f(range);
                any = true;
            }
        };
        if let Some(offset) = self.ranges_offset {
            let mut list = unit.ranges(offset)?;
            while let Some(range) = list.next()? {
                add(range);
            }
        } else if let (Some(begin), Some(end)) = (self.low_pc, self.high_pc) {
            add(gimli::Range { begin, end });
        } else if let (Some(begin), Some(size)) = (self.low_pc, self.size) {
            // A -1 tombstone wraps around and is dropped as empty.
            add(gimli::Range {
                begin,
                end: begin.wrapping_add(size),
            });
        }
        Ok(any)
    }
}
