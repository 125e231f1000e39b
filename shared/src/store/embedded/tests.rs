#![allow(clippy::unwrap_used)]
//! The embedded driver as a whole: the conformance suite, reopening, TTL
//! purging and corrupt data.

use std::sync::Arc;

use serde_json::{Value, json};

use super::tables::ITEMS;
use super::writer::MAX_UNSYNCED_COMMITS;
use super::{EmbeddedTable, PURGE_BATCH};
use crate::store::{
    GSI1PK, GSI1SK, Item, Key, MAX_TRANSACT_ITEMS, PK, Query, SK, StoreError, TTL, Table, Update,
    WriteOp, conformance,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite() {
    conformance::run_all(|| async {
        Arc::new(EmbeddedTable::temporary().unwrap()) as Arc<dyn Table>
    })
    .await;
}

fn item(pk: &str, sk: &str, extra: &[(&str, Value)]) -> Item {
    let mut item = Item::new();
    item.insert(PK.into(), json!(pk));
    item.insert(SK.into(), json!(sk));
    for (name, value) in extra {
        item.insert((*name).into(), value.clone());
    }
    item
}

const TEST_CACHE: usize = 1 << 20;

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/table.redb");
    {
        let table = EmbeddedTable::open(&path, TEST_CACHE).unwrap();
        assert!(matches!(
            EmbeddedTable::open(&path, TEST_CACHE),
            Err(StoreError::Locked(_))
        ));
        let gsi = [(GSI1PK, json!("G")), (GSI1SK, json!("1"))];
        table
            .write(WriteOp::put(item("A", "1", &gsi)))
            .await
            .unwrap();
        table
            .write(WriteOp::update(
                Key::new("A", "2"),
                Update::new().add("n", 5),
            ))
            .await
            .unwrap();
    }
    let table = EmbeddedTable::open(&path, TEST_CACHE).unwrap();
    let got = table.get(&Key::new("A", "2")).await.unwrap().unwrap();
    assert_eq!(got.get("n"), Some(&json!(5)));
    let page = table.query(&Query::partition("G").on_gsi1()).await.unwrap();
    assert_eq!(
        page.items,
        vec![item(
            "A",
            "1",
            &[(GSI1PK, json!("G")), (GSI1SK, json!("1"))]
        )]
    );
}

#[tokio::test]
async fn relaxed_writes_survive_a_clean_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.redb");
    {
        let table = EmbeddedTable::open(&path, TEST_CACHE).unwrap();
        table
            .write(WriteOp::put(item("A", "durable", &[])))
            .await
            .unwrap();
        // More relaxed commits than are ever left unsynced, none after
        // them durable: the last ones exist only in memory until closed.
        for _ in 0..(MAX_UNSYNCED_COMMITS + 3) {
            table
                .write_relaxed(WriteOp::update(
                    Key::new("A", "relaxed"),
                    Update::new().add("n", 1),
                ))
                .await
                .unwrap();
        }
    }
    let table = EmbeddedTable::open(&path, TEST_CACHE).unwrap();
    let got = table.get(&Key::new("A", "relaxed")).await.unwrap().unwrap();
    assert_eq!(got.get("n"), Some(&json!(MAX_UNSYNCED_COMMITS + 3)));
    assert!(
        table
            .get(&Key::new("A", "durable"))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn purge_expired_deletes_only_past_items_and_their_index_entries() {
    let table = EmbeddedTable::temporary().unwrap();
    let gsi = |sk: &str| vec![(GSI1PK, json!("G")), (GSI1SK, json!(sk))];
    for (sk, ttl) in [("a", 100), ("b", 199), ("c", 200), ("d", 300)] {
        let mut extra = gsi(sk);
        extra.push((TTL, json!(ttl)));
        table
            .write(WriteOp::put(item("P", sk, &extra)))
            .await
            .unwrap();
    }
    // A ttl that is not an integer is not a TTL, as in DynamoDB.
    let mut odd = gsi("e");
    odd.push((TTL, json!("100")));
    table
        .write(WriteOp::put(item("P", "e", &odd)))
        .await
        .unwrap();
    // Moving an item's ttl forward must move its expiry entry.
    table
        .write(WriteOp::update(
            Key::new("P", "a"),
            Update::new().set(TTL, 1000),
        ))
        .await
        .unwrap();

    // Expired but not yet purged items are still served, as in DynamoDB.
    assert!(table.get(&Key::new("P", "b")).await.unwrap().is_some());
    assert_eq!(table.purge_expired(200).await.unwrap(), 1);
    assert_eq!(table.purge_expired(200).await.unwrap(), 0);
    assert!(table.get(&Key::new("P", "b")).await.unwrap().is_none());
    let left: Vec<_> = table
        .query(&Query::partition("G").on_gsi1())
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i[SK].clone())
        .collect();
    assert_eq!(left, vec![json!("a"), json!("c"), json!("d"), json!("e")]);
    assert_eq!(table.purge_expired(i64::MAX).await.unwrap(), 3);
    let left = table.query(&Query::partition("P")).await.unwrap().items;
    assert_eq!(left.len(), 1);
    assert!(
        table
            .query(&Query::partition("G").on_gsi1())
            .await
            .unwrap()
            .items
            .len()
            == 1
    );
}

#[tokio::test]
async fn purge_handles_more_than_one_batch() {
    let table = EmbeddedTable::temporary().unwrap();
    let n = PURGE_BATCH * 2 + 3;
    for chunk in (0..n).collect::<Vec<_>>().chunks(MAX_TRANSACT_ITEMS) {
        let ops = chunk
            .iter()
            .map(|i| WriteOp::put(item("P", &format!("{i:05}"), &[(TTL, json!(1))])))
            .collect();
        table.transact(ops).await.unwrap();
    }
    assert_eq!(table.purge_expired(2).await.unwrap(), n as u64);
    assert!(
        table
            .query(&Query::partition("P"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn corrupt_stored_value_is_unavailable_not_a_panic() {
    let table = EmbeddedTable::temporary().unwrap();
    let txn = table.db.begin_write().unwrap();
    txn.open_table(ITEMS)
        .unwrap()
        .insert(("P", "S"), b"{not json".as_slice())
        .unwrap();
    txn.commit().unwrap();
    let key = Key::new("P", "S");
    assert!(matches!(
        table.get(&key).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        table.query(&Query::partition("P")).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        table
            .write(WriteOp::update(key, Update::new().add("n", 1)))
            .await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn partition_versions_change_with_writes_to_their_partition_only() {
    let table = EmbeddedTable::temporary().unwrap();
    let v1 = table.partition_version("A").unwrap();
    assert_eq!(table.partition_version("A"), Some(v1), "unchanged");
    let b = table.partition_version("B").unwrap();
    assert_ne!(v1, b);
    table
        .write(WriteOp::put(item("A", "1", &[])))
        .await
        .unwrap();
    let v2 = table.partition_version("A").unwrap();
    assert_ne!(v2, v1, "a put renumbers");
    assert_eq!(
        table.partition_version("B"),
        Some(b),
        "another partition's stays"
    );
    table
        .write_relaxed(WriteOp::update(
            Key::new("A", "2"),
            Update::new().add("n", 1),
        ))
        .await
        .unwrap();
    let v3 = table.partition_version("A").unwrap();
    assert_ne!(v3, v2, "a relaxed write renumbers");
    table.batch_delete(vec![Key::new("A", "1")]).await.unwrap();
    let v4 = table.partition_version("A").unwrap();
    assert_ne!(v4, v3, "a delete renumbers");
    table
        .write(WriteOp::put(item("A", "3", &[(TTL, json!(10))])))
        .await
        .unwrap();
    let v5 = table.partition_version("A").unwrap();
    assert_eq!(table.purge_expired(100).await.unwrap(), 1);
    assert_ne!(
        table.partition_version("A"),
        Some(v5),
        "an expiry renumbers"
    );
    // Another table never hands out a number this one did.
    let other = EmbeddedTable::temporary().unwrap();
    assert_ne!(other.partition_version("A"), table.partition_version("A"));
}
