//! The query planner of the embedded store: a `Query` becomes a key range of
//! the items table or of the GSI1 table, read in either direction and paged
//! by count and by bytes, as DynamoDB pages.

use std::ops::Bound;

use redb::{AccessGuard, ReadTransaction, ReadableTable, StorageError};

use super::limits::{MAX_PAGE_BYTES, check_key};
use super::tables::{ITEMS, IndexKey, ItemKey, decode, index_table};
use super::{codec, invalid, unavailable};
use crate::store::{CountPage, Cursor, Index, Item, Key, Page, Query, SortCondition, StoreError};

/// Most entries one count-only page counts.
const COUNT_PAGE: usize = 100_000;

type Entry<'t, K, V> = Result<(AccessGuard<'t, K>, AccessGuard<'t, V>), StorageError>;
/// A key range of a redb table, in the direction of the query.
type Entries<'t, K, V> = Box<dyn Iterator<Item = Entry<'t, K, V>> + 't>;

/// The upper end of a sort key range.
enum Upper {
    /// The end of the partition.
    Open,
    /// Up to and including this sort key value.
    AtMost(String),
    /// Below this sort key value (the successor of a prefix).
    Below(String),
}

/// A validated query: the partition, the sort key range and the paging.
pub(super) struct Plan {
    index: Index,
    partition: String,
    lower: String,
    upper: Upper,
    forward: bool,
    limit: usize,
    after: Option<Cursor>,
    attributes: Option<&'static [&'static str]>,
}

impl Plan {
    /// Rejects what DynamoDB rejects before reading anything.
    pub(super) fn new(query: &Query) -> Result<Self, StoreError> {
        if query.partition.is_empty() {
            return Err(invalid("the partition key must be a non-empty string"));
        }
        if query.limit == Some(0) {
            return Err(invalid("a query limit must be at least 1"));
        }
        if query.attributes.is_some_and(|names| names.is_empty()) {
            return Err(invalid("a projection names at least one attribute"));
        }
        let (lower, upper) = match &query.sort {
            SortCondition::All => (String::new(), Upper::Open),
            SortCondition::BeginsWith(prefix) => (
                prefix.clone(),
                prefix_successor(prefix).map_or(Upper::Open, Upper::Below),
            ),
            SortCondition::Between(low, high) => {
                if low > high {
                    return Err(invalid(
                        "BETWEEN needs its low bound at most its high bound",
                    ));
                }
                (low.clone(), Upper::AtMost(high.clone()))
            }
            SortCondition::GreaterOrEqual(value) => (value.clone(), Upper::Open),
            SortCondition::LessOrEqual(value) => (String::new(), Upper::AtMost(value.clone())),
        };
        if let Some(cursor) = &query.start_after {
            check_key(&cursor.key)?;
            let partition = match query.index {
                Index::Primary => Some(&cursor.key.pk),
                Index::Gsi1 | Index::Gsi2 => cursor.index_key.as_ref().map(|(gpk, _)| gpk),
            };
            if partition != Some(&query.partition) {
                return Err(invalid("the cursor does not belong to this query"));
            }
        }
        Ok(Self {
            index: query.index,
            partition: query.partition.clone(),
            lower,
            upper,
            forward: query.forward,
            limit: query.limit.unwrap_or(usize::MAX),
            after: query.start_after.clone(),
            attributes: query.attributes,
        })
    }

    pub(super) fn run(&self, txn: &ReadTransaction) -> Result<Page, StoreError> {
        let items = txn.open_table(ITEMS).map_err(unavailable)?;
        match self.index {
            Index::Primary => self.run_primary(&items),
            index @ (Index::Gsi1 | Index::Gsi2) => {
                let entries = txn.open_table(index_table(index)).map_err(unavailable)?;
                self.run_index(&items, &entries)
            }
        }
    }

    /// The entries of the items table in the query's range, in its
    /// direction (`None`: the range is empty).
    fn primary_entries<'t>(
        &self,
        items: &'t impl ReadableTable<ItemKey, &'static [u8]>,
    ) -> Result<Option<Entries<'t, ItemKey, &'static [u8]>>, StoreError> {
        let pk = self.partition.as_str();
        let end = format!("{pk}\0");
        let mut lower: Bound<(&str, &str)> = Bound::Included((pk, self.lower.as_str()));
        let mut upper = match &self.upper {
            // The smallest key of the next possible partition.
            Upper::Open => Bound::Excluded((end.as_str(), "")),
            Upper::AtMost(sk) => Bound::Included((pk, sk.as_str())),
            Upper::Below(sk) => Bound::Excluded((pk, sk.as_str())),
        };
        if let Some(cursor) = &self.after {
            let at = Bound::Excluded((pk, cursor.key.sk.as_str()));
            if self.forward {
                lower = tighter_lower(lower, at);
            } else {
                upper = tighter_upper(upper, at);
            }
        }
        if is_empty(&lower, &upper) {
            return Ok(None);
        }
        let range = items
            .range::<(&str, &str)>((lower, upper))
            .map_err(unavailable)?;
        Ok(Some(if self.forward {
            Box::new(range)
        } else {
            Box::new(range.rev())
        }))
    }

    fn run_primary(
        &self,
        items: &impl ReadableTable<ItemKey, &'static [u8]>,
    ) -> Result<Page, StoreError> {
        let Some(entries) = self.primary_entries(items)? else {
            return Ok(Page::default());
        };
        let mut pager = Pager::new(self.limit);
        for entry in entries {
            if pager.at_limit() {
                break;
            }
            let (k, v) = entry.map_err(unavailable)?;
            let (pk, sk) = k.value();
            let key = Key::new(pk, sk);
            let bytes = v.value();
            if !pager.fits(bytes.len()) {
                break;
            }
            let item = self.decode(bytes, &key)?;
            let cursor = Cursor {
                key,
                index_key: None,
            };
            pager.push(item, bytes.len(), cursor);
        }
        Ok(pager.finish())
    }

    /// The entries of a secondary index's table in the query's range, in
    /// its direction (`None`: the range is empty).
    fn index_entries<'t>(
        &self,
        entries: &'t impl ReadableTable<IndexKey, ()>,
    ) -> Result<Option<Entries<'t, IndexKey, ()>>, StoreError> {
        let gpk = self.partition.as_str();
        let end = format!("{gpk}\0");
        let mut lower: Bound<(&str, &str, &str, &str)> =
            Bound::Included((gpk, self.lower.as_str(), "", ""));
        let at_most;
        let mut upper = match &self.upper {
            Upper::Open => Bound::Excluded((end.as_str(), "", "", "")),
            Upper::AtMost(gsk) => {
                // Every entry with this GSI1SK sorts before its successor.
                at_most = format!("{gsk}\0");
                Bound::Excluded((gpk, at_most.as_str(), "", ""))
            }
            Upper::Below(gsk) => Bound::Excluded((gpk, gsk.as_str(), "", "")),
        };
        if let Some(cursor) = &self.after {
            let gsk = cursor
                .index_key
                .as_ref()
                .map(|(_, gsk)| gsk.as_str())
                .ok_or_else(|| invalid("an index cursor needs its index key"))?;
            let at = Bound::Excluded((gpk, gsk, cursor.key.pk.as_str(), cursor.key.sk.as_str()));
            if self.forward {
                lower = tighter_lower(lower, at);
            } else {
                upper = tighter_upper(upper, at);
            }
        }
        if is_empty(&lower, &upper) {
            return Ok(None);
        }
        let range = entries
            .range::<(&str, &str, &str, &str)>((lower, upper))
            .map_err(unavailable)?;
        Ok(Some(if self.forward {
            Box::new(range)
        } else {
            Box::new(range.rev())
        }))
    }

    /// A query of a secondary index (GSI1 or GSI2: one layout).
    fn run_index(
        &self,
        items: &impl ReadableTable<ItemKey, &'static [u8]>,
        entries: &impl ReadableTable<IndexKey, ()>,
    ) -> Result<Page, StoreError> {
        let Some(entries) = self.index_entries(entries)? else {
            return Ok(Page::default());
        };
        let mut pager = Pager::new(self.limit);
        for entry in entries {
            if pager.at_limit() {
                break;
            }
            let (k, _) = entry.map_err(unavailable)?;
            let (gpk, gsk, pk, sk) = k.value();
            let key = Key::new(pk, sk);
            let stored = items.get((pk, sk)).map_err(unavailable)?.ok_or_else(|| {
                StoreError::Unavailable(format!("index entry without item {pk:?}/{sk:?}"))
            })?;
            let bytes = stored.value();
            if !pager.fits(bytes.len()) {
                break;
            }
            let item = self.decode(bytes, &key)?;
            let cursor = Cursor {
                key,
                index_key: Some((gpk.to_owned(), gsk.to_owned())),
            };
            pager.push(item, bytes.len(), cursor);
        }
        Ok(pager.finish())
    }

    /// The item, or the attributes of it the query projects.
    fn decode(&self, bytes: &[u8], key: &Key) -> Result<Item, StoreError> {
        match self.attributes {
            None => decode(bytes, key),
            Some(names) => codec::decode_only(bytes, names).map_err(|e| {
                StoreError::Unavailable(format!("corrupt item {:?}/{:?}: {e}", key.pk, key.sk))
            }),
        }
    }

    /// Counts a page of the query from keys alone: an index query walks the
    /// index's entries without reading a single item, a query of the table
    /// its keys without decoding one. A page counts at most `COUNT_PAGE`
    /// entries, which keeps a read transaction short on a huge partition.
    pub(super) fn count(&self, txn: &ReadTransaction) -> Result<CountPage, StoreError> {
        let limit = self.limit.min(COUNT_PAGE);
        let mut page = CountPage::default();
        match self.index {
            Index::Primary => {
                let items = txn.open_table(ITEMS).map_err(unavailable)?;
                let Some(entries) = self.primary_entries(&items)? else {
                    return Ok(page);
                };
                let mut last = None;
                for entry in entries {
                    if page.count == limit {
                        page.last_key = last.take().map(|(pk, sk)| Cursor {
                            key: Key::new(pk, sk),
                            index_key: None,
                        });
                        break;
                    }
                    let (k, _) = entry.map_err(unavailable)?;
                    page.count += 1;
                    if page.count == limit {
                        let (pk, sk) = k.value();
                        last = Some((pk.to_owned(), sk.to_owned()));
                    }
                }
            }
            index @ (Index::Gsi1 | Index::Gsi2) => {
                let table = txn.open_table(index_table(index)).map_err(unavailable)?;
                let Some(entries) = self.index_entries(&table)? else {
                    return Ok(page);
                };
                let mut last = None;
                for entry in entries {
                    if page.count == limit {
                        page.last_key = last.take();
                        break;
                    }
                    let (k, _) = entry.map_err(unavailable)?;
                    page.count += 1;
                    if page.count == limit {
                        let (gpk, gsk, pk, sk) = k.value();
                        last = Some(Cursor {
                            key: Key::new(pk, sk),
                            index_key: Some((gpk.to_owned(), gsk.to_owned())),
                        });
                    }
                }
            }
        }
        Ok(page)
    }
}

/// Fills a page up to the limit and the byte cap.
struct Pager {
    limit: usize,
    items: Vec<Item>,
    bytes: usize,
    last: Option<Cursor>,
    more: bool,
}

impl Pager {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            items: Vec::new(),
            bytes: 0,
            last: None,
            more: false,
        }
    }

    /// Whether the page is full by count: then the page ends, and since an
    /// item was left, its last item becomes the cursor. Checked before the
    /// next item is read.
    fn at_limit(&mut self) -> bool {
        self.more = self.items.len() >= self.limit;
        self.more
    }

    /// Whether the next item, of `size` bytes, still fits under the byte cap;
    /// when it does not, the page ends the same way. The first item always
    /// fits, as an item is far below the cap.
    fn fits(&mut self, size: usize) -> bool {
        self.more = !self.items.is_empty() && self.bytes.saturating_add(size) > MAX_PAGE_BYTES;
        !self.more
    }

    fn push(&mut self, item: Item, size: usize, cursor: Cursor) {
        self.items.push(item);
        self.bytes = self.bytes.saturating_add(size);
        self.last = Some(cursor);
    }

    fn finish(self) -> Page {
        Page {
            items: self.items,
            last_key: if self.more { self.last } else { None },
        }
    }
}

/// The smallest string above every string starting with `prefix`, or `None`
/// when there is none (empty prefix, or only `char::MAX`). UTF-8 byte order
/// is code point order, so bumping the last bumpable char is enough.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn tighter_lower<T: Ord>(a: Bound<T>, b: Bound<T>) -> Bound<T> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x > y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

fn tighter_upper<T: Ord>(a: Bound<T>, b: Bound<T>) -> Bound<T> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x < y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

/// Whether no key lies between the bounds; checked before asking redb, which
/// need not accept inverted ranges.
fn is_empty<T: Ord>(lower: &Bound<T>, upper: &Bound<T>) -> bool {
    match (lower, upper) {
        (Bound::Included(x), Bound::Included(y)) => x > y,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            x >= y
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_bounds_every_extension() {
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_successor("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
    }
}
