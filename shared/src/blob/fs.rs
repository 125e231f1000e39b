//! The blob port on a local directory: each key is a file under the root.
//!
//! A put writes a temporary file beside the target and renames it over the
//! target, so a reader or a crash sees the old blob or the new one, never a
//! torn one. Temporary names contain `~`, which keys cannot, so no key can
//! ever name a half-written file.
//!
//! Unlike an object store, a directory cannot hold a blob `a` and a blob
//! `a/b` at once: such a put is refused with `InvalidKey`.
//!
//! On Linux a large blob is written past the page cache (`O_DIRECT`, see
//! `direct`): it is synced to disk at once anyway, and on a machine whose
//! memory is full of cached pages a buffered write of 10 MB waits for the
//! kernel to reclaim room for it (BENCHMARKS.md: "Uploads past the page
//! cache").

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;

use super::{BlobError, BlobStore, validate_key};

/// Tells apart the temporary files of concurrent puts of one process; the
/// process id tells apart processes sharing the root.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// Blobs as files under `root`.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// A store under `root`, which is created on the first put.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a key; safe to join since `validate_key` admits no
    /// absolute paths, no `..` and no separators other than `/`.
    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

/// Runs blocking file work off the async runtime, as one task per call
/// rather than one per `tokio::fs` step.
async fn blocking<T, F>(work: F) -> Result<T, BlobError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, BlobError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BlobError::Unavailable(format!("blob task failed: {e}")))?
}

fn unavailable(what: &str, path: &Path, e: &std::io::Error) -> BlobError {
    BlobError::Unavailable(format!("{what} {}: {e}", path.display()))
}

/// The key collides with the directory of other keys, or a prefix of it is a
/// blob: a caller's key scheme problem, not an outage to retry.
fn collides(key: &str) -> BlobError {
    BlobError::InvalidKey(format!(
        "{key:?} collides with another key's directory in the file store"
    ))
}

fn write_atomically(key: &str, path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    let dir = path
        .parent()
        .ok_or_else(|| BlobError::InvalidKey(format!("{key:?} has no parent directory")))?;
    std::fs::create_dir_all(dir).map_err(|e| match e.kind() {
        ErrorKind::NotADirectory | ErrorKind::AlreadyExists => collides(key),
        _ => unavailable("cannot create", dir, &e),
    })?;
    if path.is_dir() {
        return Err(collides(key));
    }
    let temp = dir.join(format!(
        ".put~{}~{}",
        std::process::id(),
        NEXT_TEMP.fetch_add(1, Ordering::Relaxed)
    ));
    if let Err(e) = write_then_rename(&temp, path, bytes) {
        // Best effort: the error that matters is the one returned.
        let _ = std::fs::remove_file(&temp);
        return Err(match e.kind() {
            ErrorKind::IsADirectory | ErrorKind::DirectoryNotEmpty => collides(key),
            _ => unavailable("cannot write", path, &e),
        });
    }
    // Make the rename itself durable.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| unavailable("cannot sync", dir, &e))
}

fn write_then_rename(temp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let file = std::fs::File::create_new(temp)?;
    #[cfg(target_os = "linux")]
    direct::write(&file, bytes)?;
    #[cfg(not(target_os = "linux"))]
    std::io::Write::write_all(&mut &file, bytes)?;
    // Durable before it becomes visible: a crash after the rename must not
    // leave an empty file under the key.
    file.sync_all()?;
    std::fs::rename(temp, path)
}

/// Writing a large blob with direct I/O, from an aligned bounce buffer.
#[cfg(target_os = "linux")]
mod direct {
    use std::fs::File;
    use std::io::Write;
    use std::os::unix::fs::FileExt;

    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    use rustix::io::Errno;

    /// Blobs from this size on are written past the page cache; smaller
    /// ones are not worth the copy through the bounce buffer.
    const MIN_BYTES: usize = 1 << 20;
    /// Direct I/O asks the buffer, the offset and the length to be aligned
    /// to the device's logical block size: 512 bytes or 4 KiB on common
    /// devices, so 4 KiB suits both.
    const ALIGN: usize = 4096;
    /// The bounce buffer: the blob is copied through it, not held twice.
    const CHUNK: usize = 1 << 20;

    /// Writes `bytes` to the new, empty `file`, with direct I/O when the
    /// blob is large and the file system takes it; true when it did.
    pub(super) fn write(file: &File, bytes: &[u8]) -> std::io::Result<bool> {
        if bytes.len() < MIN_BYTES {
            return buffered(file, bytes);
        }
        let mut buffer = vec![0u8; CHUNK + ALIGN];
        let start = buffer.as_ptr().align_offset(ALIGN);
        write_through(file, bytes, &mut buffer[start..start + CHUNK])
    }

    fn buffered(mut file: &File, bytes: &[u8]) -> std::io::Result<bool> {
        file.write_all(bytes).map(|()| false)
    }

    /// Direct I/O through `buffer`, else buffered: a file system without
    /// direct I/O refuses the flag, or a write with `EINVAL` (so does a
    /// direct write cut short, whose rest would be unaligned); the file is
    /// then emptied and written again, buffered.
    fn write_through(file: &File, bytes: &[u8], buffer: &mut [u8]) -> std::io::Result<bool> {
        let Ok(flags) = fcntl_getfl(file) else {
            return buffered(file, bytes);
        };
        if fcntl_setfl(file, flags | OFlags::DIRECT).is_err() {
            return buffered(file, bytes);
        }
        match write_aligned(file, bytes, buffer) {
            Ok(()) => Ok(true),
            Err(e) if Errno::from_io_error(&e) == Some(Errno::INVAL) => {
                fcntl_setfl(file, flags)?;
                file.set_len(0)?;
                file.write_all_at(bytes, 0).map(|()| false)
            }
            Err(e) => Err(e),
        }
    }

    /// Chunk by chunk through `buffer`; the last chunk is padded to the
    /// alignment and the file cut back to the blob's length.
    fn write_aligned(file: &File, bytes: &[u8], buffer: &mut [u8]) -> std::io::Result<()> {
        let mut offset = 0u64;
        for chunk in bytes.chunks(buffer.len()) {
            let padded = chunk.len().next_multiple_of(ALIGN);
            buffer[..chunk.len()].copy_from_slice(chunk);
            buffer[chunk.len()..padded].fill(0);
            file.write_all_at(&buffer[..padded], offset)?;
            offset += padded as u64;
        }
        if offset != bytes.len() as u64 {
            file.set_len(bytes.len() as u64)?;
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used)]

        use super::*;

        /// Whether the file system under `dir` takes direct I/O at all.
        fn takes_direct_io(dir: &std::path::Path) -> bool {
            let probe = File::create_new(dir.join("probe")).unwrap();
            let flags = fcntl_getfl(&probe).unwrap();
            fcntl_setfl(&probe, flags | OFlags::DIRECT).is_ok()
        }

        fn blob(len: usize) -> Vec<u8> {
            (0..len).map(|i| (i * 31 % 251) as u8).collect()
        }

        /// Where the file system takes it, a large blob is written with
        /// direct I/O; either way it reads back exact.
        #[test]
        fn a_large_blob_is_written_direct_where_the_file_system_takes_it() {
            let dir = tempfile::tempdir().unwrap();
            let direct = takes_direct_io(dir.path());
            let bytes = blob(2 * CHUNK + ALIGN + 7);
            let path = dir.path().join("blob");
            let file = File::create_new(&path).unwrap();
            assert_eq!(write(&file, &bytes).unwrap(), direct);
            assert!(std::fs::read(&path).unwrap() == bytes);
            let small = dir.path().join("small");
            assert!(!write(&File::create_new(&small).unwrap(), &bytes[..1000]).unwrap());
            assert!(std::fs::read(&small).unwrap()[..] == bytes[..1000]);
        }

        /// A direct write refused with `EINVAL` (here: a buffer one byte
        /// off the alignment) leaves the blob written whole, buffered.
        #[test]
        fn a_refused_direct_write_is_redone_buffered() {
            let dir = tempfile::tempdir().unwrap();
            let bytes = blob(CHUNK + 7);
            let path = dir.path().join("blob");
            let file = File::create_new(&path).unwrap();
            let mut buffer = vec![0u8; CHUNK + 2 * ALIGN];
            let start = buffer.as_ptr().align_offset(ALIGN) + 1;
            let written = write_through(&file, &bytes, &mut buffer[start..start + CHUNK]).unwrap();
            assert!(!written, "a misaligned buffer cannot be written direct");
            assert!(std::fs::read(&path).unwrap() == bytes);
        }
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    /// The content type is not kept: the port's `get` does not return it, and
    /// whoever serves a blob knows its type from the item that points to it.
    async fn put(&self, key: &str, bytes: Bytes, _content_type: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        let key = key.to_owned();
        blocking(move || write_atomically(&key, &path, &bytes)).await
    }

    async fn head(&self, key: &str) -> Result<Option<super::BlobInfo>, BlobError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some(super::BlobInfo {
                size: meta.len(),
                content_type: None,
            })),
            Ok(_) => Ok(None),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                Ok(None)
            }
            Err(e) => Err(unavailable("cannot stat", &path, &e)),
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            // A directory, or a path through a file, holds no blob.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::NotFound | ErrorKind::IsADirectory | ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(unavailable("cannot read", &path, &e)),
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::NotFound | ErrorKind::IsADirectory | ErrorKind::NotADirectory
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable("cannot delete", &path, &e)),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::blob::conformance;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let n = AtomicU64::new(0);
        conformance::run_all(|| {
            let root = root.join(n.fetch_add(1, Ordering::Relaxed).to_string());
            async move { Arc::new(FsBlobStore::new(root)) as Arc<dyn BlobStore> }
        })
        .await;
    }

    fn files_under(dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(files_under(&path));
            } else {
                found.push(path.display().to_string());
            }
        }
        found
    }

    #[tokio::test]
    async fn files_land_under_the_root_and_no_temporaries_remain() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("blobs");
        let store = FsBlobStore::new(root.clone());
        store
            .put("t/a.txt", Bytes::from_static(b"1"), "text/plain")
            .await
            .unwrap();
        store
            .put("t/a.txt", Bytes::from_static(b"2"), "text/plain")
            .await
            .unwrap();
        assert_eq!(std::fs::read(root.join("t/a.txt")).unwrap(), b"2");
        assert!(store.put("../escape", Bytes::new(), "").await.is_err());
        assert_eq!(
            files_under(dir.path()),
            vec![root.join("t/a.txt").display().to_string()]
        );
    }

    /// Large blobs go through the direct-I/O path (on Linux): sizes around
    /// its threshold, over several chunks, and not a multiple of the
    /// alignment, each read back whole and exact.
    #[tokio::test]
    async fn large_blobs_are_stored_exactly_whatever_their_length() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path().to_owned());
        let mib = 1 << 20;
        for len in [mib - 1, mib, mib + 1, 3 * mib, 2 * mib + 4096 + 7] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let key = format!("t/{len}");
            store
                .put(&key, Bytes::from(bytes.clone()), "text/csv")
                .await
                .unwrap();
            let back = store.get(&key).await.unwrap().unwrap();
            assert_eq!(back.len(), len, "length of {key}");
            assert!(back[..] == bytes[..], "content of {key}");
        }
        assert_eq!(files_under(dir.path()).len(), 5, "no temporaries remain");
    }

    #[tokio::test]
    async fn a_key_and_its_prefix_collide_without_damage() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path().to_owned());
        store
            .put("a/b", Bytes::from_static(b"x"), "")
            .await
            .unwrap();
        assert!(matches!(
            store.put("a", Bytes::from_static(b"y"), "").await,
            Err(BlobError::InvalidKey(_))
        ));
        assert_eq!(store.get("a").await.unwrap(), None);
        store.delete("a").await.unwrap();
        assert!(matches!(
            store.put("a/b/c", Bytes::from_static(b"z"), "").await,
            Err(BlobError::InvalidKey(_))
        ));
        assert_eq!(store.get("a/b/c").await.unwrap(), None);
        store.delete("a/b/c").await.unwrap();
        assert_eq!(store.get("a/b").await.unwrap().as_deref(), Some(&b"x"[..]));
    }
}
