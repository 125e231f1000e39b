//! The redb tables of the embedded store and how one item is kept in them:
//! the item itself, its GSI1 and GSI2 entries and its expiry entry always
//! move together.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::{codec, unavailable};
use crate::store::{Index, Item, Key, StoreError, TTL};

pub(super) type ItemKey = (&'static str, &'static str);
pub(super) type IndexKey = (&'static str, &'static str, &'static str, &'static str);
pub(super) type ExpiryKey = (i64, &'static str, &'static str);

pub(super) const ITEMS: TableDefinition<ItemKey, &[u8]> = TableDefinition::new("items");
pub(super) const GSI1: TableDefinition<IndexKey, ()> = TableDefinition::new("gsi1");
pub(super) const GSI2: TableDefinition<IndexKey, ()> = TableDefinition::new("gsi2");
pub(super) const EXPIRY: TableDefinition<ExpiryKey, ()> = TableDefinition::new("expiry");
/// Facts about the file itself, such as the format of its items.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The redb table of a secondary index.
pub(super) fn index_table(index: Index) -> TableDefinition<'static, IndexKey, ()> {
    match index {
        Index::Gsi2 => GSI2,
        Index::Primary | Index::Gsi1 => GSI1,
    }
}

/// An item's keys in a secondary index, when it is in the index.
pub(super) fn index_key(item: &Item, index: Index) -> Option<(&str, &str)> {
    let (pk, sk) = index.key_attributes();
    Some((item.get(pk)?.as_str()?, item.get(sk)?.as_str()?))
}

/// The expiry of an item, when it has one TTL can act on.
pub(super) fn expiry(item: &Item) -> Option<i64> {
    item.get(TTL)?.as_i64()
}

pub(super) fn decode(bytes: &[u8], key: &Key) -> Result<Item, StoreError> {
    codec::decode(bytes).map_err(|e| {
        StoreError::Unavailable(format!("corrupt item {:?}/{:?}: {e}", key.pk, key.sk))
    })
}

pub(super) fn read_item(
    items: &impl ReadableTable<ItemKey, &'static [u8]>,
    key: &Key,
) -> Result<Option<Item>, StoreError> {
    items
        .get((key.pk.as_str(), key.sk.as_str()))
        .map_err(unavailable)?
        .map(|bytes| decode(bytes.value(), key))
        .transpose()
}

/// The tables inside one write transaction.
pub(super) struct WriteTables<'t> {
    pub(super) items: redb::Table<'t, ItemKey, &'static [u8]>,
    pub(super) gsi1: redb::Table<'t, IndexKey, ()>,
    pub(super) gsi2: redb::Table<'t, IndexKey, ()>,
    pub(super) expiry: redb::Table<'t, ExpiryKey, ()>,
}

impl<'t> WriteTables<'t> {
    pub(super) fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            items: txn.open_table(ITEMS).map_err(unavailable)?,
            gsi1: txn.open_table(GSI1).map_err(unavailable)?,
            gsi2: txn.open_table(GSI2).map_err(unavailable)?,
            expiry: txn.open_table(EXPIRY).map_err(unavailable)?,
        })
    }

    pub(super) fn read(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        read_item(&self.items, key)
    }

    /// Stores `new` in place of `old`, moving its index entries.
    pub(super) fn store(
        &mut self,
        key: &Key,
        old: Option<&Item>,
        new: &Item,
    ) -> Result<(), StoreError> {
        let bytes = codec::encode(new)?;
        self.items
            .insert((key.pk.as_str(), key.sk.as_str()), bytes.as_slice())
            .map_err(unavailable)?;
        if let Some(old) = old {
            self.unindex(key, old)?;
        }
        for index in Index::SECONDARY {
            if let Some((gpk, gsk)) = index_key(new, index) {
                self.index_mut(index)
                    .insert((gpk, gsk, key.pk.as_str(), key.sk.as_str()), ())
                    .map_err(unavailable)?;
            }
        }
        if let Some(at) = expiry(new) {
            self.expiry
                .insert((at, key.pk.as_str(), key.sk.as_str()), ())
                .map_err(unavailable)?;
        }
        Ok(())
    }

    pub(super) fn remove(&mut self, key: &Key, old: &Item) -> Result<(), StoreError> {
        self.items
            .remove((key.pk.as_str(), key.sk.as_str()))
            .map_err(unavailable)?;
        self.unindex(key, old)
    }

    fn index_mut(&mut self, index: Index) -> &mut redb::Table<'t, IndexKey, ()> {
        match index {
            Index::Gsi2 => &mut self.gsi2,
            Index::Primary | Index::Gsi1 => &mut self.gsi1,
        }
    }

    fn unindex(&mut self, key: &Key, old: &Item) -> Result<(), StoreError> {
        for index in Index::SECONDARY {
            if let Some((gpk, gsk)) = index_key(old, index) {
                self.index_mut(index)
                    .remove((gpk, gsk, key.pk.as_str(), key.sk.as_str()))
                    .map_err(unavailable)?;
            }
        }
        if let Some(at) = expiry(old) {
            self.expiry
                .remove((at, key.pk.as_str(), key.sk.as_str()))
                .map_err(unavailable)?;
        }
        Ok(())
    }
}
