//! The loaded objects of the process and, for each, its debug info once
//! an address in it was asked for.

use super::object::ObjectDebug;
pub(crate) use super::object::SourceFrame;
use leakcheck_engine::{self as alloc, LoadedObject};

/// What the symboliser knows of the process's objects; held under its
/// cache's lock, so it needs none of its own.
#[derive(Default)]
pub(crate) struct DebugInfo {
    /// `None` until the first address; listed again when an address is in
    /// none of them (a library loaded since).
    objects: Option<Vec<Loaded>>,
}

struct Loaded {
    object: LoadedObject,
    /// `None` until first needed; `Some(None)` when the object has no
    /// debug info this reader can use.
    debug: Option<Option<ObjectDebug>>,
}

impl DebugInfo {
    /// Frames at the code address `addr` (already moved back into the
    /// call instruction), innermost first, or `None` when the debug info
    /// cannot say and `backtrace` must.
    pub(crate) fn frames(&mut self, addr: usize) -> Option<Vec<SourceFrame>> {
        let index = match self.index_of(addr) {
            Some(i) => i,
            None => {
                self.reload();
                self.index_of(addr)?
            }
        };
        let loaded = &mut self.objects.as_mut()?[index];
        let bias = loaded.object.bias;
        let path = &loaded.object.path;
        let debug = loaded
            .debug
            .get_or_insert_with(|| ObjectDebug::open(path))
            .as_mut()?;
        debug.frames(addr.wrapping_sub(bias) as u64)
    }

    /// The file and bias of the object that holds the code address `addr`.
    pub(crate) fn object_of(&mut self, addr: usize) -> Option<(std::path::PathBuf, usize)> {
        let index = match self.index_of(addr) {
            Some(i) => i,
            None => {
                self.reload();
                self.index_of(addr)?
            }
        };
        let object = &self.objects.as_ref()?[index].object;
        Some((object.path.clone(), object.bias))
    }

    fn index_of(&mut self, addr: usize) -> Option<usize> {
        let objects = self.objects.get_or_insert_with(|| {
            alloc::loaded_objects()
                .into_iter()
                .map(|object| Loaded {
                    object,
                    debug: None,
                })
                .collect()
        });
        objects
            .iter()
            .position(|o| o.object.code.iter().any(|&(s, e)| (s..e).contains(&addr)))
    }

    /// Lists the objects again, keeping what was read of those still
    /// loaded at the same place.
    fn reload(&mut self) {
        let mut old = self.objects.take().unwrap_or_default();
        let objects = alloc::loaded_objects()
            .into_iter()
            .map(|object| {
                let kept = old
                    .iter()
                    .position(|o| o.object == object)
                    .map(|i| old.swap_remove(i));
                kept.unwrap_or(Loaded {
                    object,
                    debug: None,
                })
            })
            .collect();
        self.objects = Some(objects);
    }
}
