//! How the embedded store encodes an item: postcard, a compact binary
//! serde format, behind a one-byte format tag.
//!
//! Items are attribute maps of `serde_json::Value`s. postcard is not
//! self-describing (a value does not say its type, so `Value`'s own
//! `Deserialize`, which asks the format what comes next, cannot read it back);
//! every value is therefore written as a tagged variant: null, bool, a signed
//! or an unsigned 64-bit integer, a float, a string, a list or a map. That
//! keeps each `Value` exactly as it was, number kind included (`2` stays an
//! integer, `2.0` a float, `u64::MAX` unsigned). The port has no binary
//! attribute type: bytes reach it as strings or lists of numbers, which
//! round-trip like any other value.
//!
//! Items written by earlier versions are JSON objects, which always begin
//! with `{`; the postcard format starts with its own tag byte, so the two can
//! never be confused. `decode` reads both, so a store is readable at every
//! point of its migration (see `migrate`).

use std::fmt;

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use crate::store::{Item, StoreError};

/// The first byte of an item in the postcard format.
pub(super) const POSTCARD_TAG: u8 = 0x01;
/// The first byte of every item written as JSON by earlier versions.
pub(super) const JSON_TAG: u8 = b'{';

/// An item as stored: the tag byte, then the postcard bytes.
pub(super) fn encode(item: &Item) -> Result<Vec<u8>, StoreError> {
    let out = vec![POSTCARD_TAG];
    postcard::to_extend(&ItemRef(item), out)
        .map_err(|e| StoreError::Invalid(format!("cannot encode item: {e}")))
}

/// An item from its stored bytes, in either format.
pub(super) fn decode(bytes: &[u8]) -> Result<Item, String> {
    match bytes.first() {
        Some(&POSTCARD_TAG) => {
            let (item, rest) =
                postcard::take_from_bytes::<ItemOwned>(&bytes[1..]).map_err(|e| e.to_string())?;
            if rest.is_empty() {
                Ok(item.0)
            } else {
                Err(format!("{} bytes after the item", rest.len()))
            }
        }
        Some(&JSON_TAG) => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        Some(other) => Err(format!("unknown item format {other:#04x}")),
        None => Err("empty item".into()),
    }
}

/// Only the attributes `names` of an item, from its stored bytes: the others
/// are stepped over without being built.
pub(super) fn decode_only(bytes: &[u8], names: &[&str]) -> Result<Item, String> {
    match bytes.first() {
        Some(&POSTCARD_TAG) => {
            let mut d = postcard::Deserializer::from_bytes(&bytes[1..]);
            let item = ProjectedSeed(names)
                .deserialize(&mut d)
                .map_err(|e| e.to_string())?;
            if d.finalize().map_err(|e| e.to_string())?.is_empty() {
                Ok(item)
            } else {
                Err("bytes after the item".into())
            }
        }
        _ => {
            let mut item = decode(bytes)?;
            item.retain(|name, _| names.contains(&name.as_str()));
            Ok(item)
        }
    }
}

/// Whether stored bytes are in the format of earlier versions.
pub(super) fn is_legacy(bytes: &[u8]) -> bool {
    bytes.first() == Some(&JSON_TAG)
}

// The variants, in the order of their tags on disk: never reorder.
const VARIANTS: &[&str] = &["Null", "Bool", "Int", "UInt", "Float", "Str", "List", "Map"];

struct ItemRef<'a>(&'a Item);

impl Serialize for ItemRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, &ValueRef(value))?;
        }
        map.end()
    }
}

struct ValueRef<'a>(&'a Value);

impl Serialize for ValueRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit_variant("V", 0, VARIANTS[0]),
            Value::Bool(b) => s.serialize_newtype_variant("V", 1, VARIANTS[1], b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    s.serialize_newtype_variant("V", 2, VARIANTS[2], &i)
                } else if let Some(u) = n.as_u64() {
                    s.serialize_newtype_variant("V", 3, VARIANTS[3], &u)
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    s.serialize_newtype_variant("V", 4, VARIANTS[4], &f)
                }
            }
            Value::String(t) => s.serialize_newtype_variant("V", 5, VARIANTS[5], t.as_str()),
            Value::Array(list) => s.serialize_newtype_variant("V", 6, VARIANTS[6], &ListRef(list)),
            Value::Object(map) => s.serialize_newtype_variant("V", 7, VARIANTS[7], &MapRef(map)),
        }
    }
}

struct ListRef<'a>(&'a [Value]);

impl Serialize for ListRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for value in self.0 {
            seq.serialize_element(&ValueRef(value))?;
        }
        seq.end()
    }
}

struct MapRef<'a>(&'a Map<String, Value>);

impl Serialize for MapRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, &ValueRef(value))?;
        }
        map.end()
    }
}

struct ItemOwned(Item);

impl<'de> Deserialize<'de> for ItemOwned {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ItemVisitor).map(ItemOwned)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an item")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Item, A::Error> {
        let mut item = Item::new();
        while let Some((name, value)) = access.next_entry::<String, ValueOwned>()? {
            item.insert(name, value.0);
        }
        Ok(item)
    }
}

/// An item of which only some attributes are wanted.
struct ProjectedSeed<'n>(&'n [&'n str]);

impl<'de> DeserializeSeed<'de> for ProjectedSeed<'_> {
    type Value = Item;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ProjectedSeed<'_> {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an item")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Item, A::Error> {
        let mut item = Item::new();
        while let Some(name) = access.next_key::<&'de str>()? {
            if self.0.contains(&name) {
                item.insert(name.to_owned(), access.next_value::<ValueOwned>()?.0);
            } else {
                access.next_value::<Skipped>()?;
            }
        }
        Ok(item)
    }
}

/// A value read past without building it (strings are borrowed, not copied).
struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_enum("V", VARIANTS, SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skipped;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tagged value")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Skipped, A::Error> {
        let (tag, variant): (u32, _) = data.variant()?;
        match tag {
            0 => variant.unit_variant()?,
            1 => drop(variant.newtype_variant::<bool>()?),
            2 => drop(variant.newtype_variant::<i64>()?),
            3 => drop(variant.newtype_variant::<u64>()?),
            4 => drop(variant.newtype_variant::<f64>()?),
            5 => drop(variant.newtype_variant::<&'de str>()?),
            6 => drop(variant.newtype_variant::<Vec<Skipped>>()?),
            7 => drop(variant.newtype_variant::<Vec<(&'de str, Skipped)>>()?),
            other => return Err(de::Error::custom(format!("unknown value tag {other}"))),
        }
        Ok(Skipped)
    }
}

struct ValueOwned(Value);

impl<'de> Deserialize<'de> for ValueOwned {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_enum("V", VARIANTS, ValueVisitor)
            .map(ValueOwned)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tagged value")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, variant): (u32, _) = data.variant()?;
        Ok(match tag {
            0 => {
                variant.unit_variant()?;
                Value::Null
            }
            1 => Value::Bool(variant.newtype_variant()?),
            2 => Value::from(variant.newtype_variant::<i64>()?),
            3 => Value::from(variant.newtype_variant::<u64>()?),
            4 => {
                let f: f64 = variant.newtype_variant()?;
                Value::Number(
                    Number::from_f64(f).ok_or_else(|| de::Error::custom("non-finite float"))?,
                )
            }
            5 => Value::String(variant.newtype_variant()?),
            6 => Value::Array(variant.newtype_variant_seed(ListSeed)?),
            7 => Value::Object(variant.newtype_variant_seed(MapSeed)?),
            other => return Err(de::Error::custom(format!("unknown value tag {other}"))),
        })
    }
}

struct ListSeed;

impl<'de> DeserializeSeed<'de> for ListSeed {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Vec<Value>, A::Error> {
        let mut list = Vec::with_capacity(access.size_hint().unwrap_or(0).min(4096));
        while let Some(value) = access.next_element::<ValueOwned>()? {
            list.push(value.0);
        }
        Ok(list)
    }
}

struct MapSeed;

impl<'de> DeserializeSeed<'de> for MapSeed {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MapSeed {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some((name, value)) = access.next_entry::<String, ValueOwned>()? {
            map.insert(name, value.0);
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn item(attrs: Value) -> Item {
        serde_json::from_value(attrs).unwrap()
    }

    #[test]
    fn every_value_kind_round_trips_exactly() {
        let bytes: Vec<u8> = (0..=255).collect();
        let stored = item(json!({
            "PK": "T#1", "SK": "S#1", "null": null, "yes": true, "no": false,
            "zero": 0, "neg": -7, "min": i64::MIN, "max": i64::MAX, "umax": u64::MAX,
            "float": 1.5, "whole_float": 2.0, "tiny": 5e-324, "huge": 1.7976931348623157e308,
            "neg_zero": -0.0, "text": "héllo \u{0} \u{10FFFF}", "empty": "",
            "bytes": bytes, "list": [1, "a", null, [], {}, [[2.5]]],
            "map": {"k": {"deep": [true, {"x": -1}]}, "": 0},
        }));
        let encoded = encode(&stored).unwrap();
        assert_eq!(encoded[0], POSTCARD_TAG);
        let back = decode(&encoded).unwrap();
        assert_eq!(back, stored);
        // Number kinds survive, not just numeric equality.
        assert!(back["whole_float"].is_f64());
        assert!(back["max"].is_i64());
        assert!(back["umax"].is_u64() && !back["umax"].is_i64());
        assert_eq!(
            back["neg_zero"].as_f64().unwrap().to_bits(),
            (-0.0f64).to_bits()
        );
        // Smaller than the JSON it replaces.
        assert!(encoded.len() < serde_json::to_vec(&stored).unwrap().len());
    }

    #[test]
    fn projection_keeps_only_the_named_attributes() {
        let stored = item(json!({
            "PK": "T#1", "SK": "USER#a", "user_identifier": "a", "session_count": 3,
            "nested": {"x": [1, "two", {"y": null}]}, "f": 1.5, "ttl": 17,
        }));
        let wanted = ["session_count", "user_identifier", "absent"];
        let expected = item(json!({"user_identifier": "a", "session_count": 3}));
        assert_eq!(
            decode_only(&encode(&stored).unwrap(), &wanted).unwrap(),
            expected
        );
        let legacy = serde_json::to_vec(&stored).unwrap();
        assert_eq!(decode_only(&legacy, &wanted).unwrap(), expected);
    }

    #[test]
    fn legacy_json_items_still_decode() {
        let stored = item(json!({"PK": "A", "SK": "1", "n": 3, "f": 0.1}));
        let legacy = serde_json::to_vec(&stored).unwrap();
        assert!(is_legacy(&legacy));
        assert_eq!(decode(&legacy).unwrap(), stored);
        assert!(!is_legacy(&encode(&stored).unwrap()));
    }

    #[test]
    fn damaged_bytes_are_errors_not_panics() {
        let stored = item(json!({"PK": "A", "SK": "1", "list": [1, 2, 3], "s": "text"}));
        let encoded = encode(&stored).unwrap();
        for cut in 0..encoded.len() {
            assert!(decode(&encoded[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = encoded.clone();
        trailing.push(0);
        assert!(decode(&trailing).is_err());
        assert!(decode(&[0x7f, 1, 2]).is_err());
    }
}
