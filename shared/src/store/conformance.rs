//! The conformance suite of the table port: the invariants the repository
//! relies on, checked against any driver, so the embedded driver and the
//! DynamoDB driver are held to the very same behaviour.
//!
//! Each check is `pub async fn name(table: &dyn Table)` and expects a fresh,
//! empty table; it panics on the first violation. [`run_all`] runs every check
//! on its own fresh table and names the check that failed.
//!
//! The checks assert only what DynamoDB guarantees, so a cloud driver can pass
//! them: a page cut by its limit may carry a `last_key` although nothing
//! follows, a cancelled transaction may report more than the first failing
//! operation, and GSI reads are polled until they settle since DynamoDB's
//! indexes are eventually consistent.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use super::{
    Condition, GSI1PK, GSI1SK, GSI2PK, GSI2SK, Item, Key, MAX_TRANSACT_ITEMS, PK, Query, SK,
    SortCondition, StoreError, Table, Update, WriteOp,
};

/// Prints which check failed when it panics, since the panic message of an
/// `assert!` inside a long suite does not say.
struct Running(&'static str);

impl Drop for Running {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("store conformance check `{}` FAILED", self.0);
        }
    }
}

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        /// The names of every check, in the order `run_all` runs them.
        pub const CHECKS: &[&str] = &[$(stringify!($name)),*];

        /// Runs every check, each on a fresh table from `make`, printing each
        /// name before it runs.
        pub async fn run_all<F, Fut>(make: F)
        where
            F: Fn() -> Fut,
            Fut: Future<Output = Arc<dyn Table>>,
        {
            $(
                {
                    let table = make().await;
                    eprintln!("store conformance: {}", stringify!($name));
                    let running = Running(stringify!($name));
                    $name(table.as_ref()).await;
                    drop(running);
                }
            )*
        }
    };
}

checks!(
    get_missing_and_present,
    put_replaces_whole_item,
    put_if_not_exists_only_once,
    conditions_on_attributes,
    counter_stays_below_its_bound,
    update_creates_missing_item,
    update_add_counts_from_zero,
    update_set_if_absent_keeps_existing,
    update_remove_drops_attribute,
    update_returns_new_item,
    update_of_key_attribute_is_invalid,
    update_with_failed_condition_writes_nothing,
    delete_with_and_without_condition,
    malformed_writes_are_invalid,
    transact_applies_all,
    transact_failing_condition_applies_none,
    transact_duplicate_keys_are_invalid,
    transact_size_limits,
    transact_check_op,
    query_order_both_directions,
    query_sort_conditions,
    query_pagination_visits_each_item_once,
    query_partition_isolation,
    malformed_queries_are_invalid,
    gsi_membership_follows_attributes,
    gsi_pagination_visits_each_item_once,
    gsi2_is_an_index_of_its_own,
    page_is_capped_at_one_megabyte,
    batch_delete_many_keys,
    concurrent_adds_are_not_lost,
    concurrent_conditional_puts_have_one_winner,
    relaxed_writes_behave_as_writes,
    count_matches_query,
    projection_returns_named_attributes,
    sharded_counters_sum_exactly,
);

/// Every page of a GSI2 partition, its sort keys in order.
async fn gsi2_sort_keys(table: &dyn Table, query: Query) -> Vec<String> {
    all_pages(table, &query)
        .await
        .iter()
        .map(|i| i[GSI2SK].as_str().unwrap().to_owned())
        .collect()
}

/// GSI2 keeps its own entries beside GSI1's: an item may be in both, in
/// either, or in neither; updates move it; cursors carry its keys.
pub async fn gsi2_is_an_index_of_its_own(table: &dyn Table) {
    put(
        table,
        item(
            "A",
            "1",
            json!({GSI1PK: "G", GSI1SK: "1", GSI2PK: "U", GSI2SK: "3"}),
        ),
    )
    .await;
    put(table, item("A", "2", json!({GSI2PK: "U", GSI2SK: "1"}))).await;
    put(table, item("A", "3", json!({GSI2PK: "U", GSI2SK: "2"}))).await;
    put(table, item("A", "4", json!({GSI2PK: "V", GSI2SK: "1"}))).await;
    put(table, item("A", "5", json!({GSI2PK: "U"}))).await;
    gsi_settles(table, "G", &["1"]).await;
    for _ in 0..50 {
        if gsi2_sort_keys(table, Query::partition("U").on_gsi2())
            .await
            .len()
            == 3
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let descending = Query::partition("U").on_gsi2().descending();
    assert_eq!(
        gsi2_sort_keys(table, descending.clone()).await,
        ["3", "2", "1"]
    );
    let first = table.query(&descending.clone().limit(1)).await.unwrap();
    let cursor = first.last_key.expect("more follow");
    assert_eq!(cursor.index_key, Some(("U".into(), "3".into())));
    let rest = table
        .query(&descending.clone().start_after(Some(cursor)))
        .await
        .unwrap();
    assert_eq!(sks(&rest.items), ["3", "2"]);
    let ranged = Query::partition("U")
        .on_gsi2()
        .sort(SortCondition::Between("2".into(), "3".into()));
    assert_eq!(gsi2_sort_keys(table, ranged).await, ["2", "3"]);
    // Moving an item's GSI2SK moves it in GSI2 only; GSI1 is untouched.
    table
        .write(WriteOp::update(
            Key::new("A", "1"),
            Update::new().set(GSI2SK, "0"),
        ))
        .await
        .unwrap();
    table
        .write(WriteOp::delete(Key::new("A", "3")))
        .await
        .unwrap();
    for _ in 0..50 {
        if gsi2_sort_keys(table, Query::partition("U").on_gsi2()).await == ["0", "1"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        gsi2_sort_keys(table, Query::partition("U").on_gsi2()).await,
        ["0", "1"]
    );
    gsi_settles(table, "G", &["1"]).await;
    assert!(is_invalid(
        table
            .write(WriteOp::put(item(
                "A",
                "6",
                json!({GSI2PK: "U", GSI2SK: ""})
            )))
            .await
    ));
}

/// An item with key `pk`/`sk` and the attributes of the JSON object `attrs`.
pub fn item(pk: &str, sk: &str, attrs: Value) -> Item {
    let mut item = Item::new();
    item.insert(PK.into(), json!(pk));
    item.insert(SK.into(), json!(sk));
    if let Value::Object(map) = attrs {
        item.extend(map);
    }
    item
}

fn sks(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| i[SK].as_str().unwrap().to_owned())
        .collect()
}

fn is_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Invalid(_)))
}

async fn put(table: &dyn Table, item: Item) {
    assert!(table.write(WriteOp::put(item)).await.unwrap().is_none());
}

/// Every item of `query`, following `last_key` page by page; checks that no
/// page exceeds the limit and that paging ends.
async fn all_pages(table: &dyn Table, query: &Query) -> Vec<Item> {
    let mut items = Vec::new();
    let mut query = query.clone();
    for _ in 0..10_000 {
        let page = table.query(&query).await.unwrap();
        if let Some(limit) = query.limit {
            assert!(page.items.len() <= limit, "page exceeds its limit");
        }
        let cut = page.last_key.is_some();
        if cut && page.items.is_empty() {
            panic!("an empty page must not carry a cursor");
        }
        items.extend(page.items);
        match page.last_key {
            Some(cursor) => query.start_after = Some(cursor),
            None => return items,
        }
    }
    panic!("query pagination does not end");
}

/// The sort keys on GSI1 partition `gpk`, polled until they equal `expected`
/// (DynamoDB's indexes are eventually consistent), then asserted.
async fn gsi_settles(table: &dyn Table, gpk: &str, expected: &[&str]) -> Vec<Item> {
    let query = Query::partition(gpk).on_gsi1();
    let mut items = Vec::new();
    for _ in 0..50 {
        items = all_pages(table, &query).await;
        if sks(&items) == expected {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sks(&items), expected, "GSI1 partition {gpk}");
    items
}

pub async fn get_missing_and_present(table: &dyn Table) {
    let key = Key::new("T#1", "S#1");
    assert!(table.get(&key).await.unwrap().is_none());
    let stored = item(
        "T#1",
        "S#1",
        json!({"name": "x", "n": 3, "f": 1.5, "flag": true, "none": null,
               "list": [1, "a", {"b": []}], "map": {"k": {"deep": "v"}}, "empty": ""}),
    );
    put(table, stored.clone()).await;
    assert_eq!(table.get(&key).await.unwrap(), Some(stored));
    assert!(table.get(&Key::new("T#1", "S#2")).await.unwrap().is_none());
    assert!(table.get(&Key::new("T#2", "S#1")).await.unwrap().is_none());
}

pub async fn put_replaces_whole_item(table: &dyn Table) {
    put(table, item("P", "S", json!({"a": 1, "b": 2}))).await;
    put(table, item("P", "S", json!({"c": 3}))).await;
    assert_eq!(
        table.get(&Key::new("P", "S")).await.unwrap(),
        Some(item("P", "S", json!({"c": 3})))
    );
}

pub async fn put_if_not_exists_only_once(table: &dyn Table) {
    let first = item("P", "S", json!({"v": 1}));
    let op = |i: Item| WriteOp::put(i).when(Condition::NotExists);
    assert!(table.write(op(first.clone())).await.unwrap().is_none());
    let second = table.write(op(item("P", "S", json!({"v": 2})))).await;
    assert!(
        matches!(second, Err(StoreError::ConditionFailed)),
        "{second:?}"
    );
    assert_eq!(table.get(&Key::new("P", "S")).await.unwrap(), Some(first));
}

pub async fn conditions_on_attributes(table: &dyn Table) {
    let key = Key::new("P", "S");
    put(table, item("P", "S", json!({"state": "open", "n": 1}))).await;
    let write = |c: Condition, v: i64| {
        table.write(WriteOp::update(key.clone(), Update::new().set("v", v)).when(c))
    };
    let failed =
        |r: Result<Option<Item>, StoreError>| matches!(r, Err(StoreError::ConditionFailed));

    assert!(
        write(Condition::Equals("state".into(), json!("open")), 1)
            .await
            .is_ok()
    );
    assert!(failed(
        write(Condition::Equals("state".into(), json!("closed")), 2).await
    ));
    assert!(failed(
        write(Condition::Equals("n".into(), json!("1")), 2).await
    ));
    assert!(failed(
        write(Condition::Equals("absent".into(), Value::Null), 2).await
    ));
    assert!(write(Condition::Exists, 3).await.is_ok());
    assert!(failed(write(Condition::NotExists, 4).await));
    assert!(
        write(Condition::AttributeExists("n".into()), 5)
            .await
            .is_ok()
    );
    assert!(failed(
        write(Condition::AttributeExists("zz".into()), 6).await
    ));
    assert!(
        write(Condition::AttributeNotExists("zz".into()), 7)
            .await
            .is_ok()
    );
    assert!(failed(
        write(Condition::AttributeNotExists("n".into()), 8).await
    ));
    let both = |second: Condition| Condition::And(vec![Condition::Exists, second]);
    assert!(
        write(both(Condition::Equals("n".into(), json!(1))), 9)
            .await
            .is_ok()
    );
    assert!(failed(
        write(both(Condition::Equals("n".into(), json!(2))), 10).await
    ));
    assert_eq!(table.get(&key).await.unwrap().unwrap()["v"], json!(9));

    // On a missing item only the absence conditions hold.
    let missing = Key::new("P", "missing");
    let on_missing = |c: Condition| table.write(WriteOp::delete(missing.clone()).when(c));
    assert!(failed(on_missing(Condition::Exists).await));
    assert!(failed(
        on_missing(Condition::AttributeExists("n".into())).await
    ));
    assert!(failed(
        on_missing(Condition::Equals("n".into(), json!(1))).await
    ));
    assert!(on_missing(Condition::NotExists).await.is_ok());
    assert!(
        on_missing(Condition::AttributeNotExists("n".into()))
            .await
            .is_ok()
    );
}

/// `LessThan`: an absent counter is 0; concurrent conditional `ADD`s stop
/// exactly at the bound; in a transaction every failing index is reported.
pub async fn counter_stays_below_its_bound(table: &dyn Table) {
    let key = Key::new("P", "bounded");
    let bumped = |bound: i64| {
        WriteOp::update(key.clone(), Update::new().add("n", 1))
            .when(Condition::LessThan("n".into(), bound))
    };
    assert!(matches!(
        table.write(bumped(0)).await,
        Err(StoreError::ConditionFailed)
    ));
    let tasks = (0..20).map(|_| async {
        let mut won = 0;
        for _ in 0..5 {
            if table.write(bumped(37)).await.is_ok() {
                won += 1;
            }
        }
        won
    });
    let won: i32 = join_all(tasks).await.into_iter().sum();
    assert_eq!(won, 37);
    assert_eq!(table.get(&key).await.unwrap().unwrap()["n"], json!(37));
    put(table, item("P", "text", json!({"n": "7"}))).await;
    let text = WriteOp::update(Key::new("P", "text"), Update::new().add("m", 1))
        .when(Condition::LessThan("n".into(), 100));
    assert!(table.write(text).await.is_err());
    let other = Key::new("P", "other");
    let ops = vec![
        bumped(37),
        WriteOp::update(other.clone(), Update::new().add("n", 1))
            .when(Condition::LessThan("n".into(), 1)),
        WriteOp::update(Key::new("P", "third"), Update::new().add("n", 1))
            .when(Condition::LessThan("n".into(), 0)),
    ];
    match table.transact(ops).await {
        Err(StoreError::TransactionCancelled { failed }) => assert_eq!(failed, vec![0, 2]),
        other => panic!("expected a cancellation, got {other:?}"),
    }
    assert!(table.get(&other).await.unwrap().is_none());
}

pub async fn update_creates_missing_item(table: &dyn Table) {
    let key = Key::new("P", "S");
    let new = table
        .write(WriteOp::update(key.clone(), Update::new().set("a", "x")))
        .await
        .unwrap();
    let expected = item("P", "S", json!({"a": "x"}));
    assert_eq!(new.as_ref(), Some(&expected));
    assert_eq!(table.get(&key).await.unwrap(), Some(expected));
    // The port has no update without actions.
    let bare = Key::new("P", "bare");
    assert!(matches!(
        table
            .write(WriteOp::update(bare.clone(), Update::new()))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(table.get(&bare).await.unwrap(), None);
}

pub async fn update_add_counts_from_zero(table: &dyn Table) {
    let key = Key::new("P", "S");
    let add = |delta: i64| table.write(WriteOp::update(key.clone(), Update::new().add("n", delta)));
    assert_eq!(add(5).await.unwrap().unwrap()["n"], json!(5));
    assert_eq!(add(-7).await.unwrap().unwrap()["n"], json!(-2));
    assert_eq!(add(2).await.unwrap().unwrap()["n"], json!(0));
    let two = Update::new().add("a", 1).add("b", -1);
    let got = table
        .write(WriteOp::update(key.clone(), two))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got["a"].clone(), got["b"].clone()), (json!(1), json!(-1)));
    put(table, item("P", "T", json!({"n": "text"}))).await;
    let on_text = table
        .write(WriteOp::update(
            Key::new("P", "T"),
            Update::new().add("n", 1),
        ))
        .await;
    assert!(is_invalid(on_text), "ADD on a string must be invalid");
}

pub async fn update_set_if_absent_keeps_existing(table: &dyn Table) {
    let key = Key::new("P", "S");
    put(table, item("P", "S", json!({"created": 1}))).await;
    let update = Update::new()
        .set_if_absent("created", 2)
        .set_if_absent("other", 3);
    let got = table
        .write(WriteOp::update(key.clone(), update))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, item("P", "S", json!({"created": 1, "other": 3})));
    assert_eq!(table.get(&key).await.unwrap(), Some(got));
}

pub async fn update_remove_drops_attribute(table: &dyn Table) {
    let key = Key::new("P", "S");
    put(table, item("P", "S", json!({"a": 1, "b": 2}))).await;
    let update = Update::new().remove("a").remove("never");
    table
        .write(WriteOp::update(key.clone(), update))
        .await
        .unwrap();
    assert_eq!(
        table.get(&key).await.unwrap(),
        Some(item("P", "S", json!({"b": 2})))
    );
}

pub async fn update_returns_new_item(table: &dyn Table) {
    let key = Key::new("P", "S");
    put(table, item("P", "S", json!({"a": 1, "b": 2, "n": 10}))).await;
    let update = Update::new().set("a", "one").add("n", 1).remove("b");
    let got = table
        .write(WriteOp::update(key.clone(), update))
        .await
        .unwrap();
    let expected = item("P", "S", json!({"a": "one", "n": 11}));
    assert_eq!(got, Some(expected.clone()));
    assert_eq!(table.get(&key).await.unwrap(), Some(expected));
    assert!(table.write(WriteOp::delete(key)).await.unwrap().is_none());
}

pub async fn update_of_key_attribute_is_invalid(table: &dyn Table) {
    let key = Key::new("P", "S");
    put(table, item("P", "S", json!({"a": 1}))).await;
    for update in [
        Update::new().set(PK, "Q"),
        Update::new().set(SK, "T"),
        Update::new().set_if_absent(SK, "T"),
        Update::new().remove(PK),
        Update::new().add(SK, 1),
    ] {
        let result = table
            .write(WriteOp::update(key.clone(), update.clone()))
            .await;
        assert!(is_invalid(result), "{update:?} must be invalid");
    }
    let missing = table
        .write(WriteOp::update(
            Key::new("P", "new"),
            Update::new().set(PK, "Q"),
        ))
        .await;
    assert!(is_invalid(missing));
    assert!(table.get(&Key::new("P", "new")).await.unwrap().is_none());
    assert_eq!(
        table.get(&key).await.unwrap(),
        Some(item("P", "S", json!({"a": 1})))
    );
}

pub async fn update_with_failed_condition_writes_nothing(table: &dyn Table) {
    let key = Key::new("P", "S");
    let update = WriteOp::update(key.clone(), Update::new().add("n", 1)).when(Condition::Exists);
    let result = table.write(update).await;
    assert!(
        matches!(result, Err(StoreError::ConditionFailed)),
        "{result:?}"
    );
    assert!(
        table.get(&key).await.unwrap().is_none(),
        "a failed update must not create"
    );
}

pub async fn delete_with_and_without_condition(table: &dyn Table) {
    let key = Key::new("P", "S");
    assert!(
        table
            .write(WriteOp::delete(key.clone()))
            .await
            .unwrap()
            .is_none()
    );
    put(table, item("P", "S", json!({"v": 1}))).await;
    let guarded =
        |v: i64| WriteOp::delete(key.clone()).when(Condition::Equals("v".into(), json!(v)));
    assert!(matches!(
        table.write(guarded(2)).await,
        Err(StoreError::ConditionFailed)
    ));
    assert!(table.get(&key).await.unwrap().is_some());
    assert!(table.write(guarded(1)).await.unwrap().is_none());
    assert!(table.get(&key).await.unwrap().is_none());
    put(table, item("P", "S", json!({}))).await;
    table.write(WriteOp::delete(key.clone())).await.unwrap();
    assert!(table.get(&key).await.unwrap().is_none());
}

/// What DynamoDB rejects as a validation error, a driver rejects as
/// `Invalid`, and writes nothing.
pub async fn malformed_writes_are_invalid(table: &dyn Table) {
    let mut no_sk = Item::new();
    no_sk.insert(PK.into(), json!("P"));
    assert!(is_invalid(table.write(WriteOp::put(no_sk)).await));
    let numeric_pk = item("P", "S", json!({}))
        .into_iter()
        .chain([(PK.into(), json!(1))]);
    assert!(is_invalid(
        table.write(WriteOp::put(numeric_pk.collect())).await
    ));
    assert!(is_invalid(
        table.write(WriteOp::put(item("", "S", json!({})))).await
    ));
    assert!(is_invalid(
        table.write(WriteOp::put(item("P", "", json!({})))).await
    ));
    assert!(is_invalid(table.get(&Key::new("", "S")).await));
    let check = WriteOp::Check {
        key: Key::new("P", "S"),
        condition: Condition::NotExists,
    };
    assert!(
        is_invalid(table.write(check).await),
        "Check is for transactions"
    );
    let bad_gsi = item("P", "S", json!({GSI1PK: 7, GSI1SK: "x"}));
    assert!(is_invalid(table.write(WriteOp::put(bad_gsi)).await));
    let empty_gsi = item("P", "S", json!({GSI1PK: "G", GSI1SK: ""}));
    assert!(is_invalid(table.write(WriteOp::put(empty_gsi)).await));
    let huge = item("P", "S", json!({"body": "x".repeat(500 * 1024)}));
    assert!(
        is_invalid(table.write(WriteOp::put(huge)).await),
        "items cap at 400 KB"
    );
    let overlapping = Update::new().set("a", 1).add("a", 1);
    let result = table
        .write(WriteOp::update(Key::new("P", "S"), overlapping))
        .await;
    assert!(is_invalid(result), "an update may name an attribute once");
    let bad_gsi_update = Update::new().set(GSI1SK, 5);
    let result = table
        .write(WriteOp::update(Key::new("P", "S"), bad_gsi_update))
        .await;
    assert!(is_invalid(result));
    assert!(
        table
            .query(&Query::partition("P"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub async fn transact_applies_all(table: &dyn Table) {
    put(table, item("P", "old", json!({"x": 1}))).await;
    put(table, item("P", "counter", json!({"n": 1}))).await;
    put(table, item("P", "guard", json!({"open": true}))).await;
    table
        .transact(vec![
            WriteOp::put(item("P", "new", json!({"y": 2}))).when(Condition::NotExists),
            WriteOp::update(Key::new("P", "counter"), Update::new().add("n", 1))
                .when(Condition::Exists),
            WriteOp::delete(Key::new("P", "old")).when(Condition::Exists),
            WriteOp::Check {
                key: Key::new("P", "guard"),
                condition: Condition::Equals("open".into(), json!(true)),
            },
        ])
        .await
        .unwrap();
    let all = all_pages(table, &Query::partition("P")).await;
    assert_eq!(
        all,
        vec![
            item("P", "counter", json!({"n": 2})),
            item("P", "guard", json!({"open": true})),
            item("P", "new", json!({"y": 2})),
        ]
    );
}

pub async fn transact_failing_condition_applies_none(table: &dyn Table) {
    put(table, item("P", "a", json!({"v": 1}))).await;
    put(table, item("P", "b", json!({"v": 1}))).await;
    let before = all_pages(table, &Query::partition("P")).await;
    let result = table
        .transact(vec![
            WriteOp::put(item("P", "c", json!({}))),
            WriteOp::update(Key::new("P", "a"), Update::new().add("v", 1)),
            WriteOp::delete(Key::new("P", "b")).when(Condition::Equals("v".into(), json!(2))),
            WriteOp::update(Key::new("P", "d"), Update::new().set("v", 1)),
        ])
        .await;
    match result {
        Err(StoreError::TransactionCancelled { failed }) => assert_eq!(failed, vec![2]),
        other => panic!("expected TransactionCancelled, got {other:?}"),
    }
    assert_eq!(all_pages(table, &Query::partition("P")).await, before);

    // With two failing operations, the report names failing ones only.
    let result = table
        .transact(vec![
            WriteOp::put(item("P", "a", json!({}))).when(Condition::NotExists),
            WriteOp::put(item("P", "e", json!({}))).when(Condition::NotExists),
            WriteOp::delete(Key::new("P", "zz")).when(Condition::Exists),
        ])
        .await;
    match result {
        Err(StoreError::TransactionCancelled { failed }) => {
            assert!(!failed.is_empty() && failed.iter().all(|i| [0, 2].contains(i)));
        }
        other => panic!("expected TransactionCancelled, got {other:?}"),
    }
    assert_eq!(all_pages(table, &Query::partition("P")).await, before);
}

pub async fn transact_duplicate_keys_are_invalid(table: &dyn Table) {
    let result = table
        .transact(vec![
            WriteOp::put(item("P", "a", json!({}))),
            WriteOp::update(Key::new("P", "a"), Update::new().set("x", 1)),
        ])
        .await;
    assert!(is_invalid(result));
    let result = table
        .transact(vec![
            WriteOp::put(item("P", "b", json!({}))),
            WriteOp::Check {
                key: Key::new("P", "b"),
                condition: Condition::NotExists,
            },
        ])
        .await;
    assert!(is_invalid(result));
    assert!(
        table
            .query(&Query::partition("P"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub async fn transact_size_limits(table: &dyn Table) {
    assert!(is_invalid(table.transact(Vec::new()).await));
    let puts = |n: usize| {
        (0..n)
            .map(|i| WriteOp::put(item("P", &format!("{i:03}"), json!({}))))
            .collect::<Vec<_>>()
    };
    assert!(is_invalid(
        table.transact(puts(MAX_TRANSACT_ITEMS + 1)).await
    ));
    assert!(
        table
            .query(&Query::partition("P"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    table.transact(puts(MAX_TRANSACT_ITEMS)).await.unwrap();
    let all = all_pages(table, &Query::partition("P")).await;
    assert_eq!(all.len(), MAX_TRANSACT_ITEMS);
}

pub async fn transact_check_op(table: &dyn Table) {
    put(table, item("P", "quota", json!({"used": 3}))).await;
    let check = |used: i64| WriteOp::Check {
        key: Key::new("P", "quota"),
        condition: Condition::Equals("used".into(), json!(used)),
    };
    let write = || WriteOp::put(item("P", "msg", json!({})));
    let result = table.transact(vec![check(4), write()]).await;
    match result {
        Err(StoreError::TransactionCancelled { failed }) => assert_eq!(failed, vec![0]),
        other => panic!("expected TransactionCancelled, got {other:?}"),
    }
    assert!(table.get(&Key::new("P", "msg")).await.unwrap().is_none());
    table.transact(vec![check(3), write()]).await.unwrap();
    assert!(table.get(&Key::new("P", "msg")).await.unwrap().is_some());
    assert_eq!(
        table.get(&Key::new("P", "quota")).await.unwrap(),
        Some(item("P", "quota", json!({"used": 3}))),
        "a check writes nothing"
    );
    // A check on a missing item sees no item.
    let absent = WriteOp::Check {
        key: Key::new("P", "none"),
        condition: Condition::NotExists,
    };
    table.transact(vec![absent]).await.unwrap();
    assert!(table.get(&Key::new("P", "none")).await.unwrap().is_none());
}

pub async fn query_order_both_directions(table: &dyn Table) {
    // Sort keys order by UTF-8 bytes: upper case before lower case, a
    // prefix before its extensions, multi-byte characters last.
    let keys = ["b", "a#", "é", "B", "aa", "a", "0", "a#1"];
    for sk in keys {
        put(table, item("P", sk, json!({"sk": sk}))).await;
    }
    let mut expected: Vec<String> = keys.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    let up = table.query(&Query::partition("P")).await.unwrap();
    assert_eq!(sks(&up.items), expected);
    assert!(up.last_key.is_none());
    assert_eq!(up.items[0], item("P", "0", json!({"sk": "0"})));
    let down = table
        .query(&Query::partition("P").descending())
        .await
        .unwrap();
    expected.reverse();
    assert_eq!(sks(&down.items), expected);
    assert!(down.last_key.is_none());
    let none = table.query(&Query::partition("nothing")).await.unwrap();
    assert!(none.items.is_empty() && none.last_key.is_none());
}

pub async fn query_sort_conditions(table: &dyn Table) {
    let keys = [
        "MSG#001", "MSG#002", "MSG#010", "MSG#011", "MSG#1", "MSG", "MSF#9", "MSH", "FILE#1",
    ];
    for sk in keys {
        put(table, item("P", sk, json!({}))).await;
    }
    let run = |sort: SortCondition| async move {
        let up = all_pages(table, &Query::partition("P").sort(sort.clone())).await;
        let mut down = all_pages(table, &Query::partition("P").sort(sort).descending()).await;
        down.reverse();
        assert_eq!(
            sks(&up),
            sks(&down),
            "both directions select the same items"
        );
        sks(&up)
    };
    assert_eq!(
        run(SortCondition::BeginsWith("MSG#".into())).await,
        ["MSG#001", "MSG#002", "MSG#010", "MSG#011", "MSG#1"]
    );
    assert_eq!(
        run(SortCondition::BeginsWith("MSG#01".into())).await,
        ["MSG#010", "MSG#011"]
    );
    assert_eq!(
        run(SortCondition::BeginsWith("MSG#2".into())).await,
        Vec::<String>::new()
    );
    assert_eq!(
        run(SortCondition::Between("MSG#002".into(), "MSG#011".into())).await,
        ["MSG#002", "MSG#010", "MSG#011"]
    );
    assert_eq!(
        run(SortCondition::Between("MSG#010".into(), "MSG#010".into())).await,
        ["MSG#010"]
    );
    assert_eq!(
        run(SortCondition::GreaterOrEqual("MSG#011".into())).await,
        ["MSG#011", "MSG#1", "MSH"]
    );
    assert_eq!(
        run(SortCondition::LessOrEqual("MSG".into())).await,
        ["FILE#1", "MSF#9", "MSG"]
    );
    assert_eq!(run(SortCondition::All).await.len(), keys.len());
}

pub async fn query_pagination_visits_each_item_once(table: &dyn Table) {
    let n = 57;
    let all: Vec<String> = (0..n).map(|i| format!("ITEM#{i:03}")).collect();
    for chunk in all.chunks(25) {
        let ops = chunk
            .iter()
            .map(|sk| WriteOp::put(item("P", sk, json!({}))))
            .collect();
        table.transact(ops).await.unwrap();
    }
    let query = Query::partition("P").limit(10);
    let first = table.query(&query).await.unwrap();
    assert_eq!(first.items.len(), 10);
    assert!(
        first.last_key.is_some(),
        "a page cut by its limit has a cursor"
    );
    assert_eq!(sks(&all_pages(table, &query).await), all);

    let mut reversed = all.clone();
    reversed.reverse();
    let down = all_pages(table, &query.clone().descending()).await;
    assert_eq!(sks(&down), reversed);

    for limit in [1, 19, 56, 57, 58] {
        let q = Query::partition("P").limit(limit);
        assert_eq!(sks(&all_pages(table, &q).await), all, "limit {limit}");
    }

    let between = SortCondition::Between("ITEM#005".into(), "ITEM#049".into());
    let q = Query::partition("P").sort(between).limit(7);
    assert_eq!(sks(&all_pages(table, &q).await), all[5..50].to_vec());
    let mut expected = all[5..50].to_vec();
    expected.reverse();
    assert_eq!(sks(&all_pages(table, &q.descending()).await), expected);
}

pub async fn query_partition_isolation(table: &dyn Table) {
    for pk in ["A", "A#B", "A#", "AB", "B", "a"] {
        for sk in ["1", "2", "B#1"] {
            put(table, item(pk, sk, json!({"pk": pk}))).await;
        }
    }
    for pk in ["A", "A#B", "A#"] {
        for query in [
            Query::partition(pk),
            Query::partition(pk).descending(),
            Query::partition(pk).limit(1),
            Query::partition(pk).sort(SortCondition::GreaterOrEqual("0".into())),
            Query::partition(pk).sort(SortCondition::LessOrEqual("\u{10FFFF}".into())),
            Query::partition(pk).sort(SortCondition::BeginsWith("B".into())),
        ] {
            let items = all_pages(table, &query).await;
            assert!(!items.is_empty());
            assert!(
                items.iter().all(|i| i[PK] == json!(pk)),
                "partition {pk} leaked: {items:?}"
            );
        }
        assert_eq!(all_pages(table, &Query::partition(pk)).await.len(), 3);
    }
}

/// DynamoDB rejects these queries; so must every driver.
pub async fn malformed_queries_are_invalid(table: &dyn Table) {
    put(table, item("P", "S", json!({}))).await;
    assert!(is_invalid(table.query(&Query::partition("")).await));
    assert!(is_invalid(
        table.query(&Query::partition("P").limit(0)).await
    ));
    let inverted = SortCondition::Between("b".into(), "a".into());
    assert!(is_invalid(
        table.query(&Query::partition("P").sort(inverted)).await
    ));
}

pub async fn gsi_membership_follows_attributes(table: &dyn Table) {
    put(table, item("T#1", "A", json!({GSI1PK: "G"}))).await;
    put(table, item("T#1", "B", json!({GSI1SK: "2"}))).await;
    put(
        table,
        item("T#1", "C", json!({GSI1PK: "G", GSI1SK: "3", "x": 1})),
    )
    .await;
    put(table, item("T#2", "D", json!({GSI1PK: "G", GSI1SK: "1"}))).await;
    put(table, item("T#2", "E", json!({GSI1PK: "GX", GSI1SK: "1"}))).await;
    put(table, item("T#2", "F", json!({GSI1PK: "G#", GSI1SK: "1"}))).await;
    let items = gsi_settles(table, "G", &["D", "C"]).await;
    // The index projects whole items.
    assert_eq!(
        items[1],
        item("T#1", "C", json!({GSI1PK: "G", GSI1SK: "3", "x": 1}))
    );
    let down = table
        .query(&Query::partition("G").on_gsi1().descending())
        .await
        .unwrap();
    assert_eq!(sks(&down.items), ["C", "D"]);

    // Gaining the missing attribute brings the item in.
    let set_gsk =
        |sk: &str, gsk: &str| WriteOp::update(Key::new("T#1", sk), Update::new().set(GSI1SK, gsk));
    table.write(set_gsk("A", "2")).await.unwrap();
    gsi_settles(table, "G", &["D", "A", "C"]).await;
    // Changing GSI1SK moves it; changing GSI1PK moves it to another partition.
    table.write(set_gsk("A", "9")).await.unwrap();
    gsi_settles(table, "G", &["D", "C", "A"]).await;
    let move_c = Update::new().set(GSI1PK, "H").set("x", 2);
    table
        .write(WriteOp::update(Key::new("T#1", "C"), move_c))
        .await
        .unwrap();
    gsi_settles(table, "G", &["D", "A"]).await;
    let moved = gsi_settles(table, "H", &["C"]).await;
    assert_eq!(moved[0]["x"], json!(2), "the index serves the current item");
    // A put without the attributes takes the item out.
    put(table, item("T#1", "C", json!({"x": 3}))).await;
    gsi_settles(table, "H", &[]).await;
    // REMOVE of either attribute, and delete, take it out.
    let remove = Update::new().remove(GSI1SK);
    table
        .write(WriteOp::update(Key::new("T#1", "A"), remove))
        .await
        .unwrap();
    gsi_settles(table, "G", &["D"]).await;
    table
        .write(WriteOp::delete(Key::new("T#2", "D")))
        .await
        .unwrap();
    gsi_settles(table, "G", &[]).await;
    gsi_settles(table, "GX", &["E"]).await;
    gsi_settles(table, "G#", &["F"]).await;
    // A transaction keeps the index in step too.
    table
        .transact(vec![
            WriteOp::put(item("T#3", "X", json!({GSI1PK: "G", GSI1SK: "5"}))),
            WriteOp::update(Key::new("T#2", "E"), Update::new().set(GSI1PK, "G")),
        ])
        .await
        .unwrap();
    gsi_settles(table, "G", &["E", "X"]).await;
    gsi_settles(table, "GX", &[]).await;
    table
        .batch_delete(vec![Key::new("T#3", "X"), Key::new("T#2", "E")])
        .await
        .unwrap();
    gsi_settles(table, "G", &[]).await;
}

pub async fn gsi_pagination_visits_each_item_once(table: &dyn Table) {
    // Several items share a GSI1SK, so the cursor must carry the primary key.
    let mut expected = BTreeSet::new();
    for i in 0..31 {
        let pk = format!("T#{}", i % 4);
        let sk = format!("S#{i:02}");
        let gsk = format!("K#{:02}", i / 3);
        put(table, item(&pk, &sk, json!({GSI1PK: "G", GSI1SK: gsk}))).await;
        expected.insert(sk);
    }
    put(
        table,
        item("T#0", "other", json!({GSI1PK: "G2", GSI1SK: "K#00"})),
    )
    .await;
    let gsks = |items: &[Item]| {
        items
            .iter()
            .map(|i| i[GSI1SK].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let all = Query::partition("G").on_gsi1();
    for _ in 0..50 {
        if all_pages(table, &all).await.len() == expected.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for forward in [true, false] {
        for limit in [1, 4, 10, 31] {
            let mut query = Query::partition("G").on_gsi1().limit(limit);
            query.forward = forward;
            let first = table.query(&query).await.unwrap();
            if let Some(cursor) = &first.last_key {
                assert_eq!(
                    cursor.index_key.as_ref().map(|(gpk, _)| gpk.as_str()),
                    Some("G"),
                    "a GSI cursor carries the index key"
                );
            }
            let items = all_pages(table, &query).await;
            let got: BTreeSet<String> = sks(&items).into_iter().collect();
            assert_eq!(
                items.len(),
                expected.len(),
                "limit {limit}, forward {forward}"
            );
            assert_eq!(got, expected);
            // DynamoDB leaves the order of equal GSI1SKs unspecified, so only
            // the GSI1SK order is checked.
            let mut order = gsks(&items);
            if !forward {
                order.reverse();
            }
            assert!(order.is_sorted(), "GSI1SK order, forward {forward}");
        }
    }
    let between = SortCondition::Between("K#02".into(), "K#04".into());
    let q = Query::partition("G").on_gsi1().sort(between).limit(2);
    let items = all_pages(table, &q).await;
    assert_eq!(items.len(), 9);
    assert!(
        gsks(&items)
            .iter()
            .all(|k| ("K#02"..="K#04").contains(&k.as_str()))
    );
    let prefix = SortCondition::BeginsWith("K#1".into());
    let q = Query::partition("G")
        .on_gsi1()
        .sort(prefix)
        .limit(4)
        .descending();
    assert_eq!(all_pages(table, &q).await.len(), 1);
}

pub async fn page_is_capped_at_one_megabyte(table: &dyn Table) {
    let n = 25;
    let body = "x".repeat(100_000);
    for i in 0..n {
        let attrs = json!({"body": body, GSI1PK: "G", GSI1SK: format!("{i:02}")});
        put(table, item("P", &format!("{i:02}"), attrs)).await;
    }
    let expected: Vec<String> = (0..n).map(|i| format!("{i:02}")).collect();
    for query in [Query::partition("P"), Query::partition("G").on_gsi1()] {
        let first = table.query(&query).await.unwrap();
        assert!(first.items.len() < n, "a page holds about 1 MB");
        assert!(first.last_key.is_some(), "a capped page has a cursor");
        let mut seen = Vec::new();
        let mut query = query.clone();
        for _ in 0..n + 1 {
            let page = table.query(&query).await.unwrap();
            assert!(page.items.len() <= 11, "page of {} items", page.items.len());
            seen.extend(sks(&page.items));
            match page.last_key {
                Some(cursor) => query.start_after = Some(cursor),
                None => break,
            }
        }
        assert_eq!(seen, expected);
    }
}

pub async fn batch_delete_many_keys(table: &dyn Table) {
    for i in 0..50 {
        put(table, item("P", &format!("{i:02}"), json!({}))).await;
    }
    put(table, item("Q", "00", json!({}))).await;
    // 40 present, 20 missing (one of them twice), across several chunks.
    let mut keys: Vec<Key> = (10..70).map(|i| Key::new("P", format!("{i:02}"))).collect();
    keys.push(Key::new("P", "69"));
    table.batch_delete(keys).await.unwrap();
    let left = sks(&all_pages(table, &Query::partition("P")).await);
    let expected: Vec<String> = (0..10).map(|i| format!("{i:02}")).collect();
    assert_eq!(left, expected);
    assert!(table.get(&Key::new("Q", "00")).await.unwrap().is_some());
    table.batch_delete(Vec::new()).await.unwrap();
}

pub async fn concurrent_adds_are_not_lost(table: &dyn Table) {
    let key = Key::new("P", "counter");
    let tasks = (0..20).map(|_| {
        let key = key.clone();
        async move {
            for _ in 0..10 {
                let op = WriteOp::update(key.clone(), Update::new().add("n", 1));
                table.write(op).await.unwrap();
            }
        }
    });
    join_all(tasks).await;
    let counter = table.get(&key).await.unwrap().unwrap();
    assert_eq!(counter["n"], json!(200));
}

pub async fn concurrent_conditional_puts_have_one_winner(table: &dyn Table) {
    let tasks = (0..10).map(|i| async move {
        let op = WriteOp::put(item("P", "lock", json!({"owner": i}))).when(Condition::NotExists);
        (i, table.write(op).await)
    });
    let results = join_all(tasks).await;
    let winners: Vec<i32> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one put wins: {results:?}");
    assert!(
        results
            .iter()
            .all(|(_, r)| r.is_ok() || matches!(r, Err(StoreError::ConditionFailed)))
    );
    let lock = table.get(&Key::new("P", "lock")).await.unwrap().unwrap();
    assert_eq!(lock["owner"], json!(winners[0]));
}

/// `write_relaxed` may be acknowledged before it is durable, but reads see
/// it at once, its conditions hold, and concurrent relaxed and durable writes
/// lose nothing: each relaxed `ADD` returns a distinct count.
pub async fn relaxed_writes_behave_as_writes(table: &dyn Table) {
    let counter = Key::new("P", "relaxed");
    let tasks = (0..20).map(|i| {
        let counter = counter.clone();
        async move {
            let mut counts = Vec::new();
            for j in 0..5 {
                let op = WriteOp::update(counter.clone(), Update::new().add("n", 1));
                let after = table.write_relaxed(op).await.unwrap().unwrap();
                counts.push(after["n"].as_i64().unwrap());
                table
                    .transact(vec![
                        WriteOp::put(item("P", &format!("m#{i:02}#{j}"), json!({}))),
                        WriteOp::update(Key::new("P", "durable"), Update::new().add("n", 1)),
                    ])
                    .await
                    .unwrap();
            }
            counts
        }
    });
    let mut counts: Vec<i64> = join_all(tasks).await.into_iter().flatten().collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=100).collect::<Vec<i64>>());
    assert_eq!(table.get(&counter).await.unwrap().unwrap()["n"], json!(100));
    let durable = table.get(&Key::new("P", "durable")).await.unwrap().unwrap();
    assert_eq!(durable["n"], json!(100));

    let guarded =
        WriteOp::update(counter.clone(), Update::new().add("n", 1)).when(Condition::NotExists);
    assert!(matches!(
        table.write_relaxed(guarded).await,
        Err(StoreError::ConditionFailed)
    ));
    assert!(is_invalid(
        table
            .write_relaxed(WriteOp::update(counter, Update::new()))
            .await
    ));
}

/// Every item `query` counts, page by page, and how many pages it took.
async fn count_pages(table: &dyn Table, query: &Query) -> (usize, usize) {
    let mut query = query.clone();
    let (mut count, mut pages) = (0, 0);
    for _ in 0..10_000 {
        let page = table.count(&query).await.unwrap();
        if let Some(limit) = query.limit {
            assert!(page.count <= limit, "count page exceeds its limit");
        }
        count += page.count;
        pages += 1;
        match page.last_key {
            Some(cursor) => query.start_after = Some(cursor),
            None => return (count, pages),
        }
    }
    panic!("count pagination does not end");
}

/// A count-only query counts what the query returns, on the table and on an
/// index, with sort conditions, limits and cursors (`Select=COUNT`).
pub async fn count_matches_query(table: &dyn Table) {
    for i in 0..23 {
        let attrs = json!({GSI1PK: "G", GSI1SK: format!("K#{:02}", i / 2), "n": i});
        put(table, item("P", &format!("S#{i:02}"), attrs)).await;
    }
    put(
        table,
        item("P2", "S#00", json!({GSI1PK: "G2", GSI1SK: "K#00"})),
    )
    .await;
    let queries = [
        Query::partition("P"),
        Query::partition("P").sort(SortCondition::BeginsWith("S#1".into())),
        Query::partition("P").sort(SortCondition::GreaterOrEqual("S#05".into())),
        Query::partition("P").descending().limit(4),
        Query::partition("G").on_gsi1(),
        Query::partition("G")
            .on_gsi1()
            .sort(SortCondition::GreaterOrEqual("K#03".into())),
        Query::partition("G").on_gsi1().limit(5),
        Query::partition("G").on_gsi1().descending().limit(3),
        Query::partition("nothing"),
    ];
    for query in queries {
        let mut expected = 0;
        for _ in 0..50 {
            expected = all_pages(table, &query).await.len();
            if query.index == super::Index::Primary || expected > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (count, pages) = count_pages(table, &query).await;
        assert_eq!(count, expected, "{query:?}");
        if let Some(limit) = query.limit {
            assert!(pages >= expected / limit, "{query:?} in {pages} pages");
        }
    }
}

/// A projected query returns only the named attributes an item has, in the
/// same pages and order as the whole items (`ProjectionExpression`).
pub async fn projection_returns_named_attributes(table: &dyn Table) {
    for i in 0..9 {
        let mut attrs = json!({"a": i, "b": {"deep": [i, "x"]}, "c": format!("c{i}"),
                               GSI1PK: "G", GSI1SK: format!("K#{i}")});
        if i % 3 == 0 {
            attrs.as_object_mut().unwrap().remove("c");
        }
        put(table, item("P", &format!("S#{i}"), attrs)).await;
    }
    const NAMES: &[&str] = &["a", "c", "missing"];
    for base in [Query::partition("P"), Query::partition("G").on_gsi1()] {
        let whole = base.clone();
        let mut expected = Vec::new();
        for _ in 0..50 {
            expected = all_pages(table, &whole).await;
            if expected.len() == 9 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let projected = all_pages(table, &base.clone().project(NAMES).limit(2)).await;
        let expected: Vec<Item> = expected
            .into_iter()
            .map(|mut i| {
                i.retain(|name, _| NAMES.contains(&name.as_str()));
                i
            })
            .collect();
        assert_eq!(projected, expected, "{base:?}");
    }
    assert!(is_invalid(
        table.query(&Query::partition("P").project(&[])).await
    ));
}

/// The sharded tenant counters (`STATS#S..`, `DAY#date#S..`, see
/// `store::keys`): concurrent transactions adding to shards picked by their
/// session lose nothing, and one query per counter (or per range of days)
/// finds every shard beside the unsharded item written before the split,
/// and nothing of the neighbouring keys.
pub async fn sharded_counters_sum_exactly(table: &dyn Table) {
    use super::keys;
    use uuid::Uuid;
    let tenant = Uuid::from_u128(7);
    let pk = keys::tenant_pk(tenant);
    let legacy_stats = keys::stats(tenant);
    let legacy_day = keys::day(tenant, "2025-12-02");
    for (key, n) in [(legacy_stats, 5), (legacy_day, 3)] {
        let op = WriteOp::update(key, Update::new().add("n", n));
        table.write(op).await.unwrap();
    }
    for sk in ["DAY#2025-12-01#S03", "DAY#2025-12-03", "TENANT", "KEY#x"] {
        put(table, item(&pk, sk, json!({"n": 1000}))).await;
    }
    let pk = pk.as_str();
    let tasks = (0..20u128).map(|task| async move {
        for j in 0..10u128 {
            let session = Uuid::from_u128(task * 100 + j);
            let ops = vec![
                WriteOp::put(item(pk, &format!("M#{session}"), json!({}))),
                WriteOp::update(
                    keys::stats_shard(tenant, session),
                    Update::new().add("n", 1),
                ),
                WriteOp::update(
                    keys::day_shard(tenant, "2025-12-02", session),
                    Update::new().add("n", 1),
                ),
            ];
            // A conflict with a concurrent transaction on the same shard
            // (DynamoDB cancels one) is retried, as the repository does.
            let mut attempts = 0;
            loop {
                match table.transact(ops.clone()).await {
                    Err(StoreError::TransactionCancelled { failed })
                        if failed.is_empty() && attempts < 50 =>
                    {
                        attempts += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    other => break other.unwrap(),
                }
            }
        }
    });
    join_all(tasks).await;
    let sum = |items: &[Item]| items.iter().map(|i| i["n"].as_i64().unwrap()).sum::<i64>();
    let (low, high) = keys::stats_range();
    let stats = all_pages(
        table,
        &Query::partition(pk).sort(SortCondition::Between(low, high)),
    )
    .await;
    assert_eq!(sum(&stats), 205, "{:?}", sks(&stats));
    assert!(
        stats.len() > 2,
        "writes spread over shards: {:?}",
        sks(&stats)
    );
    assert_eq!(sks(&stats)[0], "STATS", "the unsharded item sorts first");
    let (low, high) = keys::day_range("2025-12-02", "2025-12-02");
    let day = all_pages(
        table,
        &Query::partition(pk).sort(SortCondition::Between(low, high)),
    )
    .await;
    assert_eq!(sum(&day), 203, "{:?}", sks(&day));
    assert!(
        day.iter()
            .all(|i| keys::date_of_day_sk(i[SK].as_str().unwrap()) == Some("2025-12-02"))
    );
    let (low, high) = keys::day_range("2025-12-01", "2025-12-03");
    let days = all_pages(
        table,
        &Query::partition(pk).sort(SortCondition::Between(low, high)),
    )
    .await;
    assert_eq!(sum(&days), 2203, "neighbouring days are in the wider range");
}
