//! A buffer for a large request body read whole (an uploaded file), in
//! memory of its own: an anonymous map (memmap2) when the length is
//! announced and large, so when the body is dropped its pages go straight
//! back to the system.
//!
//! Through the allocator, each 10 MB upload's buffer stayed resident for a
//! while after it was freed (mimalloc purges freed memory a second later,
//! and only when the thread allocates again): a run of uploads left the
//! server's resident memory some 30 MB above the one buffer it needs.

use bytes::{Bytes, BytesMut};
use memmap2::{MmapMut, MmapOptions};

/// Announced lengths from this size up get a map of their own; smaller
/// bodies are not worth a system call.
const MAP_AT_LEAST: usize = 1 << 20;

/// The body read so far.
pub struct BodyBuffer(Inner);

enum Inner {
    Heap(BytesMut),
    /// The first `len` bytes of the map are the body.
    Mapped(Filled),
}

struct Filled {
    map: MmapMut,
    len: usize,
}

impl AsRef<[u8]> for Filled {
    fn as_ref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl BodyBuffer {
    /// A buffer for about `expected` bytes: reserved once, so it never
    /// grows by copying itself. On Unix, pages of a map that are never
    /// written are never resident, so a length announced but not sent costs
    /// address space only; elsewhere (Windows commits a map's whole size)
    /// the buffer is the heap's.
    pub fn with_capacity(expected: usize) -> Self {
        if cfg!(unix)
            && expected >= MAP_AT_LEAST
            && let Ok(map) = MmapOptions::new().len(expected).map_anon()
        {
            return Self(Inner::Mapped(Filled { map, len: 0 }));
        }
        Self(Inner::Heap(BytesMut::with_capacity(expected)))
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Inner::Heap(bytes) => bytes.len(),
            Inner::Mapped(filled) => filled.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the body is in a map of its own.
    #[cfg(test)]
    fn is_mapped(&self) -> bool {
        matches!(self.0, Inner::Mapped(_))
    }

    /// Appends `chunk`. A body longer than announced moves to the heap
    /// (once) and goes on growing there.
    pub fn extend_from_slice(&mut self, chunk: &[u8]) {
        match &mut self.0 {
            Inner::Heap(bytes) => bytes.extend_from_slice(chunk),
            Inner::Mapped(filled) => {
                let end = filled.len + chunk.len();
                match filled.map.get_mut(filled.len..end) {
                    Some(room) => {
                        room.copy_from_slice(chunk);
                        filled.len = end;
                    }
                    None => {
                        // Room to go on growing without copying again soon.
                        let mut bytes = BytesMut::with_capacity(end.max(2 * filled.map.len()));
                        bytes.extend_from_slice(filled.as_ref());
                        bytes.extend_from_slice(chunk);
                        self.0 = Inner::Heap(bytes);
                    }
                }
            }
        }
    }

    /// The body, without a copy.
    pub fn freeze(self) -> Bytes {
        match self.0 {
            Inner::Heap(bytes) => bytes.freeze(),
            Inner::Mapped(filled) => Bytes::from_owner(filled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn a_body_comes_back_exactly_whatever_was_announced() {
        let body = pattern(3 * MAP_AT_LEAST / 2);
        // Announced exactly, more than sent, less than sent, nothing, small.
        for (announced, mapped) in [
            (body.len(), true),
            (body.len() + 64 * 1024, true),
            (MAP_AT_LEAST, true),
            (0, false),
            (1000, false),
        ] {
            let mut buffer = BodyBuffer::with_capacity(announced);
            let mapped = mapped && cfg!(unix);
            assert_eq!(buffer.is_mapped(), mapped, "announced {announced}");
            assert!(buffer.is_empty());
            for chunk in body.chunks(8 * 1024 + 3) {
                buffer.extend_from_slice(chunk);
            }
            assert_eq!(buffer.len(), body.len());
            assert_eq!(
                buffer.is_mapped(),
                mapped && announced >= body.len(),
                "a body longer than announced moves to the heap"
            );
            let frozen = buffer.freeze();
            assert_eq!(frozen.len(), body.len());
            assert!(frozen == body, "announced {announced}: bytes differ");
        }
    }

    #[test]
    fn slices_of_a_mapped_body_outlive_the_buffer() {
        let body = pattern(MAP_AT_LEAST + 10);
        let mut buffer = BodyBuffer::with_capacity(body.len());
        buffer.extend_from_slice(&body);
        let frozen = buffer.freeze();
        let tail = frozen.slice(MAP_AT_LEAST..);
        drop(frozen);
        assert_eq!(&tail[..], &body[MAP_AT_LEAST..]);
    }
}
