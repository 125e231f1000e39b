#![allow(clippy::unwrap_used)]
//! A store written by the previous version (items as JSON) opens, is
//! converted to the binary format, and answers as it did.
//!
//! The fixture `tests/fixtures/store-v1/table.redb` is a real data directory
//! of `chatctl serve` built from the previous version's code: five sessions
//! (three users: alice twice, bob, carol; one without a user and with
//! numbers of every kind in its config), two exchanges each.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable};
use serde_json::json;

use super::migrate::{CURRENT_FORMAT, format_of, migrate};
use super::tables::ITEMS;
use super::{EmbeddedTable, codec};
use crate::store::repo::{Repository, UserStat};
use crate::store::{Item, Key, PK, SK, Table, keys};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/store-v1/table.redb"
);
const CACHE: usize = 1 << 20;

/// Every item of the file as its bytes decode, and whether all are JSON.
fn raw_items(db: &Database) -> (Vec<(Key, Item)>, bool) {
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(ITEMS).unwrap();
    let mut all_json = true;
    let items = table
        .iter()
        .unwrap()
        .map(|entry| {
            let (k, v) = entry.unwrap();
            let (pk, sk) = k.value();
            all_json &= codec::is_legacy(v.value());
            (Key::new(pk, sk), codec::decode(v.value()).unwrap())
        })
        .collect();
    (items, all_json)
}

fn fixture_copy(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("table.redb");
    std::fs::copy(FIXTURE, &path).unwrap();
    path
}

#[tokio::test]
async fn a_store_of_the_previous_version_is_converted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_copy(dir.path());
    let (before, all_json) = {
        let db = Database::open(&path).unwrap();
        assert_eq!(format_of(&db), 1);
        raw_items(&db)
    };
    assert!(all_json, "the fixture holds JSON items");
    assert!(before.len() > 30, "{} items", before.len());

    let table = EmbeddedTable::open(&path, CACHE).unwrap();
    for (key, item) in &before {
        assert_eq!(table.get(key).await.unwrap().as_ref(), Some(item));
    }
    let user = before
        .iter()
        .find(|(key, _)| key.sk.starts_with(keys::USER_PREFIX))
        .unwrap();
    let tenant = user.0.pk.strip_prefix("TENANT#").unwrap().parse().unwrap();
    let repo = Repository::new(Arc::new(table.clone()) as Arc<dyn Table>);
    let stat = |user: &str, n| UserStat {
        user_identifier: user.into(),
        session_count: n,
    };
    assert_eq!(
        repo.user_stats(tenant).await.unwrap(),
        [
            stat("alice@example.com", 2),
            stat("bob@example.com", 1),
            stat("carol", 1)
        ]
    );
    assert_eq!(repo.count_active_since(tenant, 0).await.unwrap(), 5);
    drop((repo, table));

    let db = Database::open(&path).unwrap();
    assert_eq!(format_of(&db), CURRENT_FORMAT);
    let (after, all_json) = raw_items(&db);
    assert!(!all_json);
    assert_eq!(after, before, "every item reads as it did");
    let txn = db.begin_read().unwrap();
    let items = txn.open_table(ITEMS).unwrap();
    assert!(
        items
            .iter()
            .unwrap()
            .all(|e| !codec::is_legacy(e.unwrap().1.value())),
        "no JSON item is left"
    );
}

#[tokio::test]
async fn an_interrupted_conversion_leaves_the_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_copy(dir.path());
    let original = std::fs::read(&path).unwrap();
    {
        let db = Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        assert!(migrate(&txn).unwrap() > 30);
        // Stopped before the commit, as by a crash: nothing is written.
        txn.abort().unwrap();
        assert_eq!(format_of(&db), 1);
        assert!(raw_items(&db).1, "still all JSON");
    }
    assert_eq!(std::fs::read(&path).unwrap().len(), original.len());
    // The next open converts from the start.
    let table = EmbeddedTable::open(&path, CACHE).unwrap();
    drop(table);
    let db = Database::open(&path).unwrap();
    assert_eq!(format_of(&db), CURRENT_FORMAT);
    assert!(!raw_items(&db).1);
}

/// More items than one step of the walk, written by the previous version's
/// encoder (`serde_json::to_vec`, as it stored them), some already binary.
#[tokio::test]
async fn a_large_legacy_store_is_converted_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.redb");
    let n = 3_000;
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut items = txn.open_table(ITEMS).unwrap();
            for i in 0..n {
                let item: Item = serde_json::from_value(json!({
                    PK: format!("P#{}", i % 7), SK: format!("S#{i:05}"), "n": i, "f": 0.5,
                }))
                .unwrap();
                let bytes = if i % 10 == 0 {
                    codec::encode(&item).unwrap()
                } else {
                    serde_json::to_vec(&item).unwrap()
                };
                let key = (item[PK].as_str().unwrap(), item[SK].as_str().unwrap());
                items.insert(key, bytes.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
    }
    let table = EmbeddedTable::open(&path, CACHE).unwrap();
    let item = table
        .get(&Key::new("P#3", "S#02999"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item["n"], json!(2999));
    drop(table);
    let db = Database::open(&path).unwrap();
    let (items, _) = raw_items(&db);
    assert_eq!(items.len(), n);
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(ITEMS).unwrap();
    assert!(
        table
            .iter()
            .unwrap()
            .all(|e| !codec::is_legacy(e.unwrap().1.value()))
    );
}
