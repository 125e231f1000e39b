//! The blob port: opaque bytes under slash-separated keys (uploaded files,
//! exports). `fs` keeps them in a directory; a cloud driver would use S3.
//!
//! Keys are checked here, once for every driver, so a key that a filesystem
//! driver would resolve outside its root is refused before any driver sees it.

pub mod fs;
pub mod s3;

#[cfg(any(test, feature = "test-support"))]
pub mod conformance;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

/// Longest key in bytes, S3's limit, so keys valid here are valid there.
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest key segment in bytes: the usual file name limit (`NAME_MAX`).
pub const MAX_SEGMENT_BYTES: usize = 255;

/// The blob port.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`, replacing any blob there. Readers see the
    /// old blob or the new one, never a partial write.
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), BlobError>;

    /// The blob under `key`, `None` when there is none.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError>;

    /// Removes the blob under `key`; a missing blob is not an error, so
    /// retried deletes are harmless.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// The size of the blob under `key` (and its content type where the
    /// store keeps one), `None` when there is none. One request.
    async fn head(&self, key: &str) -> Result<Option<BlobInfo>, BlobError>;

    /// A URL a client can `PUT` the bytes to directly, bypassing the API
    /// (whose requests are too small for large files on Lambda). `None` when
    /// the store has no such thing; clients then use the multipart upload.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<Option<PresignedPut>, BlobError> {
        let _ = (key, content_type, expires_in);
        Ok(None)
    }
}

/// What `head` tells of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub size: u64,
    pub content_type: Option<String>,
}

/// A presigned upload: the client sends `PUT url` with exactly `headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPut {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob key: {0}")]
    InvalidKey(String),
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
}

/// Checks that `key` is a relative path of segments of `[A-Za-z0-9._=-]`
/// separated by single slashes, without `.` or `..` segments. Such a key
/// cannot climb out of a directory, name an absolute path, or need escaping
/// in a URL or an object store.
pub fn validate_key(key: &str) -> Result<(), BlobError> {
    let reject = |why: &str| Err(BlobError::InvalidKey(format!("{key:?}: {why}")));
    if key.is_empty() {
        return reject("empty");
    }
    if key.len() > MAX_KEY_BYTES {
        return reject("too long");
    }
    for segment in key.split('/') {
        if segment.is_empty() {
            return reject("empty segment (leading, trailing or double slash)");
        }
        if segment == "." || segment == ".." {
            return reject("relative segment");
        }
        if segment.len() > MAX_SEGMENT_BYTES {
            return reject("segment too long");
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'=' | b'-');
        if !segment.bytes().all(allowed) {
            return reject("characters outside [A-Za-z0-9._=-]");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in [
            "a",
            "t-1/files/abc.def_=x",
            "a/b/c",
            ".hidden",
            "a..b",
            "...",
            "x".repeat(255).as_str(),
        ] {
            assert!(validate_key(ok).is_ok(), "{ok:?}");
        }
        let long = format!("{}/x", "y".repeat(256));
        let longest = ["a"; 513].join("/");
        for bad in [
            "", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", ".", "..", "a\\b", "a b", "ä",
            "a\0b", "a?b", "a%2e", &long, &longest,
        ] {
            assert!(
                matches!(validate_key(bad), Err(BlobError::InvalidKey(_))),
                "{bad:?}"
            );
        }
    }
}
