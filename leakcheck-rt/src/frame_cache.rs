//! Frames kept on disk between processes of one binary.
//!
//! Naming a return address reads the debug info of its compile unit (and
//! the units its call path inlines from): some 20 ms of a small test
//! process's 30, paid again by every process that runs the same binary.
//! `cargo leakcheck` runs each test binary several times (its session, its
//! tests in doubt, its leak tests) and, warm, runs unchanged binaries again;
//! so it names a directory ([`env::FRAME_CACHE`]) where each process keeps
//! the frames it named, one file per object file:
//!
//! ```text
//!  ip ─► object (path, bias) ─► its file's identity ─► <dir>/<identity>.json
//!                                                        └─► frames at ip − bias
//! ```
//!
//! A file is named by its object file's identity as the file system gives
//! it (device, inode, size, modification time), by leakcheck's version and
//! by the workspace root paths are shown relative to: a binary rebuilt,
//! named by another leakcheck or for another workspace, has a file of its
//! own.
//! What a file holds was named in a process of the same binary, with the
//! same debug info, so it is what this process would name. A file that
//! cannot be read or parsed is taken as empty, and written afresh; files
//! are replaced whole (`atomic_file`), so a reader sees one writer's.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use leakcheck_format::frame_file::FrameFile;
use leakcheck_format::protocol::env;
use leakcheck_format::traceback::Frame;

/// The frames of the objects looked at so far, and where they are kept.
#[derive(Default)]
pub(crate) struct FrameCache {
    /// `None` until first asked; `Some(None)` when no directory was given.
    dir: Option<Option<PathBuf>>,
    /// By object path and bias (an object loaded again elsewhere is
    /// another entry, with the same file).
    objects: HashMap<(PathBuf, usize), Option<ObjectFrames>>,
}

/// The frames of one object file, by address relative to its bias.
struct ObjectFrames {
    /// The object file's path, written into the file for its reader.
    object: String,
    file: PathBuf,
    frames: HashMap<u64, Arc<[Frame]>>,
    /// Frames named in this process, not yet written.
    added: bool,
}

impl FrameCache {
    /// The frames at `ip` in the object at `object` (its path and bias),
    /// from the directory, or `name(ip)` kept for it; `root` is the
    /// workspace root the frames' files are shown relative to.
    pub(crate) fn frames(
        &mut self,
        object: Option<(&Path, usize)>,
        ip: usize,
        root: Option<&Path>,
        name: impl FnOnce() -> Arc<[Frame]>,
    ) -> Arc<[Frame]> {
        let Some((path, bias)) = object else {
            return name();
        };
        let Some(dir) = self.dir() else {
            return name();
        };
        let entry = self
            .objects
            .entry((path.to_owned(), bias))
            .or_insert_with(|| ObjectFrames::load(&dir, path, root));
        let Some(object) = entry else {
            return name();
        };
        let at = ip.wrapping_sub(bias) as u64;
        if let Some(frames) = object.frames.get(&at) {
            return frames.clone();
        }
        let frames = name();
        object.frames.insert(at, frames.clone());
        object.added = true;
        frames
    }

    /// Writes the files that gained frames in this process. Failures are
    /// silent: the cache only saves time.
    pub(crate) fn save(&mut self) {
        for object in self.objects.values_mut().flatten() {
            if !object.added {
                continue;
            }
            object.added = false;
            let mut frames: Vec<(u64, Vec<Frame>)> = object
                .frames
                .iter()
                .map(|(&at, f)| (at, f.to_vec()))
                .collect();
            frames.sort_unstable_by_key(|&(at, _)| at);
            let text = FrameFile {
                object: object.object.clone(),
                frames,
            }
            .to_json();
            if let Some(parent) = object.file.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = leakcheck_format::atomic_file::write(&object.file, text);
        }
    }

    fn dir(&mut self) -> Option<PathBuf> {
        self.dir
            .get_or_insert_with(|| {
                leakcheck_engine::env_value(env::FRAME_CACHE)
                    .map(|v| PathBuf::from(v.as_os_str()))
                    .filter(|d| d.is_absolute())
            })
            .clone()
    }

    /// A cache in `dir`, whatever the environment says (tests).
    #[cfg(test)]
    fn in_dir(dir: &Path) -> Self {
        FrameCache {
            dir: Some(Some(dir.to_owned())),
            objects: HashMap::new(),
        }
    }
}

impl ObjectFrames {
    /// The frames kept for the object file at `path`; `None` when its
    /// identity cannot be read.
    fn load(dir: &Path, path: &Path, root: Option<&Path>) -> Option<ObjectFrames> {
        let file = dir.join(format!("{:016x}.json", identity(path, root)?));
        let frames = std::fs::read(&file)
            .ok()
            .and_then(|bytes| FrameFile::from_json(&bytes))
            .map(|stored| {
                stored
                    .frames
                    .into_iter()
                    .map(|(at, frames)| (at, Arc::from(frames)))
                    .collect()
            })
            .unwrap_or_default();
        Some(ObjectFrames {
            object: std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.to_owned())
                .display()
                .to_string(),
            file,
            frames,
            added: false,
        })
    }
}

/// The identity of the file at `path` (followed, for `/proc/self/exe`):
/// FNV-1a of its device, inode, size and modification time, of
/// leakcheck's version, and of the workspace root that frames' files are
/// shown relative to.
fn identity(path: &Path, root: Option<&Path>) -> Option<u64> {
    let meta = std::fs::metadata(path).ok()?;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let words = [
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime() as u64,
        meta.mtime_nsec() as u64,
    ];
    let root = root
        .map(|r| r.as_os_str().as_encoded_bytes().to_vec())
        .unwrap_or_default();
    let bytes = words
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .chain(env!("CARGO_PKG_VERSION").bytes())
        .chain([0])
        .chain(root);
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakcheck_format::traceback::FrameKind;

    fn frame(line: u32) -> Arc<[Frame]> {
        Arc::from(vec![Frame {
            file: "src/lib.rs".into(),
            line,
            function: "crate::f".into(),
            kind: FrameKind::Workspace,
        }])
    }

    #[test]
    fn frames_named_in_one_process_are_read_back_in_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let object = dir.path().join("object");
        std::fs::write(&object, b"an object file").unwrap();
        let mut first = FrameCache::in_dir(dir.path());
        let named = first.frames(Some((&object, 0x1000)), 0x1234, None, || frame(7));
        assert_eq!(named, frame(7));
        first.save();

        // Loaded elsewhere: the same address relative to its bias.
        let mut next = FrameCache::in_dir(dir.path());
        let read = next.frames(Some((&object, 0x5000)), 0x5234, None, || {
            panic!("named again, not read back")
        });
        assert_eq!(read, frame(7));
        // Another address is named, and kept.
        assert_eq!(
            next.frames(Some((&object, 0x5000)), 0x5300, None, || frame(9)),
            frame(9)
        );
    }

    #[test]
    fn a_changed_object_file_or_a_corrupt_cache_file_is_named_again() {
        let dir = tempfile::tempdir().unwrap();
        let object = dir.path().join("object");
        std::fs::write(&object, b"an object file").unwrap();
        let mut first = FrameCache::in_dir(dir.path());
        first.frames(Some((&object, 0)), 0x10, None, || frame(1));
        first.save();

        // Another workspace root: paths are shown relative to another.
        assert_ne!(
            identity(&object, Some(Path::new("/work/a"))),
            identity(&object, Some(Path::new("/work/b")))
        );

        // Rebuilt: another size, another identity.
        std::fs::write(&object, b"an object file, rebuilt").unwrap();
        let mut rebuilt = FrameCache::in_dir(dir.path());
        assert_eq!(
            rebuilt.frames(Some((&object, 0)), 0x10, None, || frame(2)),
            frame(2)
        );
        rebuilt.save();

        // A cache file cut short reads as empty.
        let file = dir
            .path()
            .join(format!("{:016x}.json", identity(&object, None).unwrap()));
        let text = std::fs::read(&file).unwrap();
        std::fs::write(&file, &text[..text.len() / 2]).unwrap();
        let mut cut = FrameCache::in_dir(dir.path());
        assert_eq!(
            cut.frames(Some((&object, 0)), 0x10, None, || frame(3)),
            frame(3)
        );

        // No object, or no directory: named each time, nothing kept.
        let mut off = FrameCache {
            dir: Some(None),
            objects: HashMap::new(),
        };
        assert_eq!(
            off.frames(Some((&object, 0)), 0x10, None, || frame(4)),
            frame(4)
        );
        assert_eq!(off.frames(None, 0x10, None, || frame(5)), frame(5));
    }
}
