//! The conformance suite of the blob port, for any driver: each check is
//! `pub async fn name(store: &dyn BlobStore)` on a fresh, empty store, and
//! [`run_all`] runs them all, naming the one that failed.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::join_all;

use super::{BlobError, BlobStore};

/// Prints which check failed when it panics.
struct Running(&'static str);

impl Drop for Running {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("blob conformance check `{}` FAILED", self.0);
        }
    }
}

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        /// The names of every check, in the order `run_all` runs them.
        pub const CHECKS: &[&str] = &[$(stringify!($name)),*];

        /// Runs every check, each on a fresh store from `make`, printing each
        /// name before it runs.
        pub async fn run_all<F, Fut>(make: F)
        where
            F: Fn() -> Fut,
            Fut: Future<Output = Arc<dyn BlobStore>>,
        {
            $(
                {
                    let store = make().await;
                    eprintln!("blob conformance: {}", stringify!($name));
                    let running = Running(stringify!($name));
                    $name(store.as_ref()).await;
                    drop(running);
                }
            )*
        }
    };
}

checks!(
    put_then_get,
    get_missing_is_none,
    overwrite_replaces,
    delete_removes_and_tolerates_missing,
    keys_are_independent,
    binary_and_empty_bodies,
    invalid_keys_are_refused,
    concurrent_puts_never_tear,
    head_reports_size,
);

async fn get(store: &dyn BlobStore, key: &str) -> Option<Vec<u8>> {
    store.get(key).await.unwrap().map(|b| b.to_vec())
}

pub async fn put_then_get(store: &dyn BlobStore) {
    let key = "tenant-1/files/0190.pdf";
    store
        .put(key, Bytes::from_static(b"%PDF-1.7"), "application/pdf")
        .await
        .unwrap();
    assert_eq!(get(store, key).await.as_deref(), Some(&b"%PDF-1.7"[..]));
}

pub async fn get_missing_is_none(store: &dyn BlobStore) {
    assert_eq!(get(store, "nothing").await, None);
    assert_eq!(get(store, "no/such/dir/file").await, None);
}

pub async fn overwrite_replaces(store: &dyn BlobStore) {
    store
        .put("k", Bytes::from(vec![1; 1000]), "")
        .await
        .unwrap();
    store
        .put("k", Bytes::from_static(b"short"), "")
        .await
        .unwrap();
    assert_eq!(get(store, "k").await.as_deref(), Some(&b"short"[..]));
}

pub async fn delete_removes_and_tolerates_missing(store: &dyn BlobStore) {
    store
        .put("d/x", Bytes::from_static(b"1"), "")
        .await
        .unwrap();
    store.delete("d/x").await.unwrap();
    assert_eq!(get(store, "d/x").await, None);
    store.delete("d/x").await.unwrap();
    store.delete("never/was").await.unwrap();
}

pub async fn keys_are_independent(store: &dyn BlobStore) {
    let keys = ["a/b", "a/c", "a.b", "A/b", "b/a", "a/b.c/d=e_f-g"];
    for (i, key) in keys.iter().enumerate() {
        store
            .put(key, Bytes::from(vec![i as u8]), "")
            .await
            .unwrap();
    }
    store.delete("a/c").await.unwrap();
    for (i, key) in keys.iter().enumerate() {
        let expected = (*key != "a/c").then(|| vec![i as u8]);
        assert_eq!(get(store, key).await, expected, "{key}");
    }
}

pub async fn binary_and_empty_bodies(store: &dyn BlobStore) {
    let all: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    store
        .put("bin", Bytes::from(all.clone()), "application/octet-stream")
        .await
        .unwrap();
    assert_eq!(get(store, "bin").await, Some(all));
    store
        .put("empty", Bytes::new(), "text/plain")
        .await
        .unwrap();
    assert_eq!(get(store, "empty").await, Some(Vec::new()));
}

pub async fn invalid_keys_are_refused(store: &dyn BlobStore) {
    let bad = [
        "",
        "../x",
        "a/../../x",
        "/abs",
        "a//b",
        "a/",
        "./a",
        "a/.",
        "..",
        "a\\b",
        "a b",
        "a\nb",
        "é",
        "a:b",
        "~x",
    ];
    let invalid = |r: Result<(), BlobError>| matches!(r, Err(BlobError::InvalidKey(_)));
    for key in bad {
        assert!(
            invalid(store.put(key, Bytes::from_static(b"x"), "").await),
            "put {key:?}"
        );
        assert!(
            matches!(store.get(key).await, Err(BlobError::InvalidKey(_))),
            "get {key:?}"
        );
        assert!(invalid(store.delete(key).await), "delete {key:?}");
    }
}

pub async fn concurrent_puts_never_tear(store: &dyn BlobStore) {
    let bodies: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 256 * 1024]).collect();
    let puts = bodies
        .iter()
        .map(|body| store.put("race/blob", Bytes::from(body.clone()), ""));
    for result in join_all(puts).await {
        result.unwrap();
    }
    let got = get(store, "race/blob").await.unwrap();
    assert!(
        bodies.contains(&got),
        "a blob is one whole put, never a mix"
    );
}

pub async fn head_reports_size(store: &dyn BlobStore) {
    assert_eq!(store.head("h/missing").await.unwrap(), None);
    store
        .put(
            "h/file.csv",
            bytes::Bytes::from_static(b"a,b\n1,2\n"),
            "text/csv",
        )
        .await
        .unwrap();
    let info = store.head("h/file.csv").await.unwrap().unwrap();
    assert_eq!(info.size, 8);
    if let Some(content_type) = info.content_type {
        assert_eq!(content_type, "text/csv");
    }
    assert!(store.head("../x").await.is_err());
}
