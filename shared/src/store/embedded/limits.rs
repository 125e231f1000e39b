//! DynamoDB's request and item rules, kept by the embedded driver so a caller
//! bug fails on a laptop as it would in the cloud: key and attribute names,
//! index key types, the item size, update paths and the page size.

use std::collections::HashSet;

use serde_json::Value;

use super::invalid;
use crate::store::{
    GSI1PK, GSI1SK, GSI2PK, GSI2SK, Item, Key, PK, SK, StoreError, Update, WriteOp,
};

/// Most bytes of stored items (their JSON) one query page carries, like
/// DynamoDB's 1 MB page, so callers that forget to paginate break in tests,
/// not in the cloud.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;
/// DynamoDB's item size limit (400 KB), measured the way DynamoDB measures it.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// DynamoDB rejects empty strings as key values; so does this driver.
pub(super) fn check_key(key: &Key) -> Result<(), StoreError> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(invalid("PK and SK must be non-empty strings"));
    }
    Ok(())
}

/// Checks an item about to be stored against DynamoDB's rules for this table.
pub(super) fn check_item(item: &Item) -> Result<(), StoreError> {
    let key = Key::of(item).ok_or_else(|| invalid("item lacks string PK and SK"))?;
    check_key(&key)?;
    if item.keys().any(String::is_empty) {
        return Err(invalid("attribute names must be non-empty"));
    }
    for name in [GSI1PK, GSI1SK, GSI2PK, GSI2SK] {
        match item.get(name) {
            None => {}
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => return Err(invalid(format!("{name} must be a non-empty string"))),
        }
    }
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(invalid(format!(
            "item of {size} bytes exceeds the {MAX_ITEM_BYTES}-byte limit"
        )));
    }
    Ok(())
}

/// DynamoDB rejects an update expression naming one attribute twice; the
/// port also has no update without actions (not every DynamoDB
/// implementation handles a missing update expression).
pub(super) fn check_update(update: &Update) -> Result<(), StoreError> {
    if update.set.is_empty()
        && update.set_if_absent.is_empty()
        && update.add.is_empty()
        && update.remove.is_empty()
    {
        return Err(invalid("an update needs at least one action"));
    }
    let names = update
        .set
        .iter()
        .map(|(n, _)| n)
        .chain(update.set_if_absent.iter().map(|(n, _)| n))
        .chain(update.add.iter().map(|(n, _)| n))
        .chain(update.remove.iter());
    let mut seen = HashSet::new();
    for name in names {
        if name.is_empty() {
            return Err(invalid("attribute names must be non-empty"));
        }
        if name == PK || name == SK {
            return Err(invalid(format!("cannot update key attribute {name}")));
        }
        if !seen.insert(name) {
            return Err(invalid(format!("update names attribute {name} twice")));
        }
    }
    Ok(())
}

/// The size DynamoDB bills and limits: attribute names plus values, numbers
/// at about one byte per two digits, containers with a few bytes overhead.
pub(super) fn item_size(item: &Item) -> usize {
    fn value_size(value: &Value) -> usize {
        match value {
            Value::Null | Value::Bool(_) => 1,
            Value::Number(n) => {
                let digits = n.to_string().bytes().filter(u8::is_ascii_digit).count();
                digits.div_ceil(2) + 1
            }
            Value::String(s) => s.len(),
            Value::Array(list) => 3 + list.iter().map(|v| value_size(v) + 1).sum::<usize>(),
            Value::Object(map) => {
                3 + map
                    .iter()
                    .map(|(k, v)| k.len() + value_size(v) + 1)
                    .sum::<usize>()
            }
        }
    }
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// A write op whose request-level rules have been checked.
#[derive(Debug)]
pub(super) struct Prepared {
    pub(super) key: Key,
    pub(super) op: WriteOp,
}

/// Rejects malformed ops before any state is read, as DynamoDB validates a
/// request before evaluating its conditions.
pub(super) fn prepare(ops: Vec<WriteOp>) -> Result<Vec<Prepared>, StoreError> {
    ops.into_iter()
        .map(|op| {
            let key = op.key()?;
            check_key(&key)?;
            match &op {
                WriteOp::Put { item, .. } => check_item(item)?,
                WriteOp::Update { update, .. } => check_update(update)?,
                WriteOp::Delete { .. } | WriteOp::Check { .. } => {}
            }
            Ok(Prepared { key, op })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn item_size_counts_like_dynamodb() {
        let mut it = Item::new();
        it.insert(PK.into(), json!("P"));
        it.insert(SK.into(), json!("S"));
        it.insert("body".into(), json!("x".repeat(1000)));
        it.insert("n".into(), json!(12345));
        // "PK"+"P", "SK"+"S", "body"+1000, "n"+3 (5 digits -> 3 bytes + 1 -> 4)
        assert_eq!(item_size(&it), 3 + 3 + 4 + 1000 + 1 + 4);
    }
}
