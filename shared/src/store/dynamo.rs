//! The DynamoDB driver of the table port (aws-sdk-dynamodb, serde_dynamo).
//!
//! Every port call is one request (`batch_delete`: one per chunk of 25, plus
//! retries of unprocessed keys). Requests are counted per operation by an
//! SDK interceptor, so tests hold the round-trip budgets on the real wire.
//! Throttling and transient errors are retried by the SDK's retry config.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, DeleteRequest,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue,
    ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem, Update as DynamoUpdate,
    WriteRequest,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

use super::{
    BATCH_DELETE_CHUNK, Condition, Cursor, GSI1PK, GSI1SK, GSI2PK, GSI2SK, Index, Item, Key,
    MAX_TRANSACT_ITEMS, PK, Page, Query, SK, SortCondition, StoreError, TTL, Table, Update,
    WriteOp,
};

/// The names of the global secondary indexes.
pub const GSI1_NAME: &str = "GSI1";
pub const GSI2_NAME: &str = "GSI2";

/// Attributes that are index keys: non-empty strings wherever they are set.
const INDEX_KEYS: [&str; 4] = [GSI1PK, GSI1SK, GSI2PK, GSI2SK];

/// The DynamoDB index a query reads (`None`: the table).
fn index_name(index: Index) -> Option<String> {
    match index {
        Index::Primary => None,
        Index::Gsi1 => Some(GSI1_NAME.to_owned()),
        Index::Gsi2 => Some(GSI2_NAME.to_owned()),
    }
}

/// One global secondary index of [`TableDefinition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: &'static str,
    pub hash_key: &'static str,
    pub range_key: &'static str,
    /// DynamoDB's projection type (`ALL`, `KEYS_ONLY`, `INCLUDE`).
    pub projection: &'static str,
}

/// The table the code expects, as data: `chatctl init` creates it from this
/// ([`DynamoTable::create_if_missing`]) and a test holds `template.yaml`'s
/// table to it, so the deployed table and the local one cannot drift apart.
/// Names are DynamoDB's own spellings (`PAY_PER_REQUEST`, `ALL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDefinition {
    pub hash_key: &'static str,
    pub range_key: &'static str,
    /// Every attribute a key schema names; all are strings (`S`).
    pub string_attributes: &'static [&'static str],
    pub indexes: &'static [IndexDefinition],
    /// The attribute DynamoDB's TTL deletes items by (epoch seconds).
    pub ttl_attribute: &'static str,
    pub billing_mode: &'static str,
}

/// The one table: (`PK`, `SK`), GSI1 on (`GSI1PK`, `GSI1SK`) and GSI2 on
/// (`GSI2PK`, `GSI2SK`) projecting everything, TTL on `ttl`, on-demand billing.
pub const TABLE_DEFINITION: TableDefinition = TableDefinition {
    hash_key: PK,
    range_key: SK,
    string_attributes: &[PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK],
    indexes: &[
        IndexDefinition {
            name: GSI1_NAME,
            hash_key: GSI1PK,
            range_key: GSI1SK,
            projection: "ALL",
        },
        IndexDefinition {
            name: GSI2_NAME,
            hash_key: GSI2PK,
            range_key: GSI2SK,
            projection: "ALL",
        },
    ],
    ttl_attribute: TTL,
    billing_mode: "PAY_PER_REQUEST",
};

/// How long `create_if_missing` waits for a new table to become active. The
/// SDK's waiter polls every 20 s and more (a local server answers ACTIVE at
/// the first poll); a new on-demand table with one index is active in well
/// under this.
const TABLE_ACTIVE_WAIT: Duration = Duration::from_secs(300);

/// How often unprocessed keys of a batch are sent again before giving up.
const BATCH_RETRIES: u32 = 8;

type AttributeMap = HashMap<String, AttributeValue>;

/// Requests sent to DynamoDB, by operation name (`GetItem`, `Query`, ...).
#[derive(Debug, Default, Clone)]
pub struct RequestCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl RequestCounter {
    /// The counts so far, then zero.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    // Once per operation (retries are not counted), after the operation's
    // configuration, which names it, is in place.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map_or_else(|| "unknown".to_owned(), |m| m.name().to_owned());
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(operation)
            .or_default() += 1;
        Ok(())
    }
}

/// The table port on a DynamoDB table.
#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
    counter: RequestCounter,
}

impl fmt::Debug for DynamoTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoTable")
            .field("table", &self.table)
            .finish()
    }
}

fn unavailable(e: impl fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn built(e: BuildError) -> StoreError {
    StoreError::Invalid(e.to_string())
}

/// The detailed service message of an SDK error, for logs.
fn sdk_message<E: std::error::Error + 'static, R: fmt::Debug>(e: &SdkError<E, R>) -> String {
    match e {
        SdkError::ServiceError(s) => format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(s.err())
        ),
        other => format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(other)
        ),
    }
}

fn to_av(value: &Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn to_map(item: &Item) -> Result<AttributeMap, StoreError> {
    item.iter()
        .map(|(k, v)| Ok((k.clone(), to_av(v)?)))
        .collect()
}

fn from_map(map: AttributeMap) -> Result<Item, StoreError> {
    serde_dynamo::from_item(map)
        .map_err(|e| StoreError::Unavailable(format!("item does not decode: {e}")))
}

fn key_map(key: &Key) -> AttributeMap {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn string_attr(map: &AttributeMap, name: &str) -> Option<String> {
    match map.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Expression placeholders: `#n0`, `:v0`, ... with their bindings.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: AttributeMap,
}

impl Expr {
    fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn condition(&mut self, condition: &Condition) -> Result<String, StoreError> {
        Ok(match condition {
            Condition::Exists => format!("attribute_exists({})", self.name(PK)),
            Condition::NotExists => format!("attribute_not_exists({})", self.name(PK)),
            Condition::AttributeExists(a) => format!("attribute_exists({})", self.name(a)),
            Condition::AttributeNotExists(a) => format!("attribute_not_exists({})", self.name(a)),
            Condition::Equals(a, v) => {
                let n = self.name(a);
                let v = self.value(to_av(v)?);
                // An absent attribute equals nothing, not even NULL; said
                // explicitly, since not every DynamoDB implementation agrees.
                format!("attribute_exists({n}) AND {n} = {v}")
            }
            Condition::LessThan(a, bound) => {
                let n = self.name(a);
                let v = self.value(AttributeValue::N(bound.to_string()));
                // An absent counter is 0: below any positive bound.
                if *bound > 0 {
                    format!("attribute_not_exists({n}) OR {n} < {v}")
                } else {
                    format!("attribute_exists({n}) AND {n} < {v}")
                }
            }
            Condition::And(all) => {
                if all.is_empty() {
                    return Err(StoreError::Invalid("empty AND condition".into()));
                }
                let parts = all
                    .iter()
                    .map(|c| self.condition(c).map(|s| format!("({s})")))
                    .collect::<Result<Vec<_>, _>>()?;
                parts.join(" AND ")
            }
        })
    }

    /// The update expression; the port has no update without actions.
    fn update(&mut self, update: &Update) -> Result<String, StoreError> {
        let mut touched = std::collections::HashSet::new();
        let mut check = |name: &str| {
            if name == PK || name == SK {
                return Err(StoreError::Invalid(format!(
                    "cannot update key attribute {name}"
                )));
            }
            if !touched.insert(name.to_owned()) {
                return Err(StoreError::Invalid(format!(
                    "attribute {name} updated twice"
                )));
            }
            Ok(())
        };
        // Index keys must stay non-empty strings (DynamoDB validates this
        // against the index definition; checked here for every server).
        let index_key = |name: &str, value: Option<&Value>| {
            let is_index = INDEX_KEYS.contains(&name);
            if is_index && value.and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(StoreError::Invalid(format!(
                    "{name} must be a non-empty string"
                )));
            }
            Ok(())
        };
        for (name, _) in &update.add {
            index_key(name, None)?;
        }
        let mut set = Vec::new();
        for (name, value) in update.set.iter().chain(&update.set_if_absent) {
            index_key(name, Some(value))?;
        }
        for (name, value) in &update.set {
            check(name)?;
            let (n, v) = (self.name(name), self.value(to_av(value)?));
            set.push(format!("{n} = {v}"));
        }
        for (name, value) in &update.set_if_absent {
            check(name)?;
            let (n, v) = (self.name(name), self.value(to_av(value)?));
            set.push(format!("{n} = if_not_exists({n}, {v})"));
        }
        let mut add = Vec::new();
        for (name, delta) in &update.add {
            check(name)?;
            let (n, v) = (
                self.name(name),
                self.value(AttributeValue::N(delta.to_string())),
            );
            add.push(format!("{n} {v}"));
        }
        let mut remove = Vec::new();
        for name in &update.remove {
            check(name)?;
            remove.push(self.name(name));
        }
        let mut clauses = Vec::new();
        if !set.is_empty() {
            clauses.push(format!("SET {}", set.join(", ")));
        }
        if !add.is_empty() {
            clauses.push(format!("ADD {}", add.join(", ")));
        }
        if !remove.is_empty() {
            clauses.push(format!("REMOVE {}", remove.join(", ")));
        }
        if clauses.is_empty() {
            return Err(StoreError::Invalid(
                "an update needs at least one action".into(),
            ));
        }
        Ok(clauses.join(" "))
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<AttributeMap> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

fn validate_put(item: &Item) -> Result<Key, StoreError> {
    let key = Key::of(item)
        .ok_or_else(|| StoreError::Invalid("put item lacks string PK and SK".into()))?;
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(StoreError::Invalid("empty key attribute".into()));
    }
    for name in INDEX_KEYS {
        if item
            .get(name)
            .is_some_and(|v| v.as_str().is_none_or(str::is_empty))
        {
            return Err(StoreError::Invalid(format!(
                "{name} must be a non-empty string"
            )));
        }
    }
    Ok(key)
}

impl DynamoTable {
    /// A client from the standard AWS configuration chain (`AWS_REGION`,
    /// credentials, `AWS_ENDPOINT_URL[_DYNAMODB]`), counting its requests.
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        let counter = RequestCounter::default();
        let config = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(counter.clone())
            .build();
        Self {
            client: Client::from_conf(config),
            table: table.into(),
            counter,
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Requests sent, by operation.
    pub fn requests(&self) -> &RequestCounter {
        &self.counter
    }

    /// Creates the table (keys, GSI1, TTL, on-demand billing) unless it
    /// exists; waits until it is active. Returns whether it was created.
    pub async fn create_if_missing(&self) -> Result<bool, StoreError> {
        if self.exists().await? {
            return Ok(false);
        }
        self.create_request()?
            .send()
            .await
            .map_err(|e| unavailable(sdk_message(&e)))?;
        // The SDK's waiter polls DescribeTable until the table is ACTIVE.
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(TABLE_ACTIVE_WAIT)
            .await
            .map_err(|e| {
                unavailable(format!(
                    "table {} did not become active: {}",
                    self.table,
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                ))
            })?;
        self.enable_ttl().await?;
        Ok(true)
    }

    /// Whether the table exists (in any state).
    async fn exists(&self) -> Result<bool, StoreError> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(sdk_message(&e))),
        }
    }

    /// The CreateTable request for [`TABLE_DEFINITION`] (keys, GSI1, billing).
    fn create_request(&self) -> Result<CreateTableFluentBuilder, StoreError> {
        let def = &TABLE_DEFINITION;
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(built)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(built)
        };
        let mut create = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::from(def.billing_mode))
            .key_schema(key(def.hash_key, KeyType::Hash)?)
            .key_schema(key(def.range_key, KeyType::Range)?);
        for name in def.string_attributes {
            create = create.attribute_definitions(attr(name)?);
        }
        for index in def.indexes {
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.hash_key, KeyType::Hash)?)
                .key_schema(key(index.range_key, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection))
                        .build(),
                )
                .build()
                .map_err(built)?;
            create = create.global_secondary_indexes(gsi);
        }
        Ok(create)
    }

    /// Turns on TTL deletes by [`TABLE_DEFINITION`]'s TTL attribute; the
    /// table must be active.
    async fn enable_ttl(&self) -> Result<(), StoreError> {
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TABLE_DEFINITION.ttl_attribute)
                    .enabled(true)
                    .build()
                    .map_err(built)?,
            )
            .send()
            .await
            .map_err(|e| unavailable(sdk_message(&e)))?;
        Ok(())
    }

    fn transact_item(&self, op: &WriteOp) -> Result<TransactWriteItem, StoreError> {
        let mut expr = Expr::default();
        let item = match op {
            WriteOp::Put { item, condition } => {
                validate_put(item)?;
                let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                TransactWriteItem::builder().put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_map(item)?))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(built)?,
                )
            }
            WriteOp::Update {
                key,
                update,
                condition,
            } => {
                let update_expression = expr.update(update)?;
                let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                TransactWriteItem::builder().update(
                    DynamoUpdate::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .update_expression(update_expression)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(built)?,
                )
            }
            WriteOp::Delete { key, condition } => {
                let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                TransactWriteItem::builder().delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(built)?,
                )
            }
            WriteOp::Check { key, condition } => {
                let condition = expr.condition(condition)?;
                TransactWriteItem::builder().condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(key)))
                        .condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(built)?,
                )
            }
        };
        Ok(item.build())
    }
}

/// A query's key condition expression, its names and values bound in `expr`.
fn key_condition(query: &Query, expr: &mut Expr) -> Result<String, StoreError> {
    let (pk_name, sk_name) = query.index.key_attributes();
    let pk = expr.name(pk_name);
    let pv = expr.value(AttributeValue::S(query.partition.clone()));
    let mut key_condition = format!("{pk} = {pv}");
    let sk = expr.name(sk_name);
    match &query.sort {
        SortCondition::All => {}
        SortCondition::BeginsWith(p) => {
            let v = expr.value(AttributeValue::S(p.clone()));
            key_condition.push_str(&format!(" AND begins_with({sk}, {v})"));
        }
        SortCondition::Between(lo, hi) => {
            if lo > hi {
                return Err(StoreError::Invalid("BETWEEN bounds out of order".into()));
            }
            let lo = expr.value(AttributeValue::S(lo.clone()));
            let hi = expr.value(AttributeValue::S(hi.clone()));
            key_condition.push_str(&format!(" AND {sk} BETWEEN {lo} AND {hi}"));
        }
        SortCondition::GreaterOrEqual(v) => {
            let v = expr.value(AttributeValue::S(v.clone()));
            key_condition.push_str(&format!(" AND {sk} >= {v}"));
        }
        SortCondition::LessOrEqual(v) => {
            let v = expr.value(AttributeValue::S(v.clone()));
            key_condition.push_str(&format!(" AND {sk} <= {v}"));
        }
    }
    if matches!(query.sort, SortCondition::All) {
        // The sort key placeholder is unused; DynamoDB rejects unused names.
        expr.names.retain(|_, n| n != sk_name);
    }
    Ok(key_condition)
}

/// A query's cursor as DynamoDB's `ExclusiveStartKey` (on an index it
/// carries the index key too); a cursor from another partition is refused.
fn exclusive_start_key(query: &Query) -> Result<Option<AttributeMap>, StoreError> {
    let Some(cursor) = &query.start_after else {
        return Ok(None);
    };
    let mut map = key_map(&cursor.key);
    if query.index != Index::Primary {
        let (ipk_name, isk_name) = query.index.key_attributes();
        let (ipk, isk) = cursor
            .index_key
            .clone()
            .ok_or_else(|| StoreError::Invalid("GSI cursor without index key".into()))?;
        if ipk != query.partition {
            return Err(StoreError::Invalid("cursor from another partition".into()));
        }
        map.insert(ipk_name.into(), AttributeValue::S(ipk));
        map.insert(isk_name.into(), AttributeValue::S(isk));
    } else if cursor.key.pk != query.partition {
        return Err(StoreError::Invalid("cursor from another partition".into()));
    }
    Ok(Some(map))
}

/// The cursor of a page from DynamoDB's `LastEvaluatedKey`.
fn cursor_of(index: Index, map: &AttributeMap) -> Option<Cursor> {
    Some(Cursor {
        key: Key::new(string_attr(map, PK)?, string_attr(map, SK)?),
        index_key: match index {
            Index::Primary => None,
            Index::Gsi1 | Index::Gsi2 => {
                let (ipk, isk) = index.key_attributes();
                Some((string_attr(map, ipk)?, string_attr(map, isk)?))
            }
        },
    })
}

/// Whether a single write failed its condition.
fn condition_failed<E>(e: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> bool
where
    E: ProvideErrorMetadata,
{
    e.as_service_error()
        .is_some_and(|s| s.code() == Some("ConditionalCheckFailedException"))
}

fn single_write_error<E>(e: SdkError<E, aws_smithy_runtime_api::http::Response>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if condition_failed(&e) {
        StoreError::ConditionFailed
    } else if e
        .as_service_error()
        .is_some_and(|s| s.code() == Some("TransactionConflictException"))
    {
        // The item is in a transaction under way: a conflict to retry.
        StoreError::TransactionCancelled { failed: vec![] }
    } else if e
        .as_service_error()
        .is_some_and(|s| s.code() == Some("ValidationException"))
    {
        StoreError::Invalid(sdk_message(&e))
    } else {
        unavailable(sdk_message(&e))
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(single_write_error)?;
        out.item.map(from_map).transpose()
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        if query.partition.is_empty() {
            return Err(StoreError::Invalid("empty partition key".into()));
        }
        if query.limit == Some(0) {
            return Err(StoreError::Invalid("limit must be at least 1".into()));
        }
        let mut expr = Expr::default();
        let key_condition = key_condition(query, &mut expr)?;
        let start = exclusive_start_key(query)?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index_name(query.index))
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .scan_index_forward(query.forward)
            .set_limit(query.limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX)))
            .set_exclusive_start_key(start)
            .set_consistent_read((query.index == Index::Primary).then_some(true))
            .send()
            .await
            .map_err(single_write_error)?;
        let last_key = out
            .last_evaluated_key
            .and_then(|map| cursor_of(query.index, &map));
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_map)
            .collect::<Result<_, _>>()?;
        Ok(Page { items, last_key })
    }

    async fn write(&self, op: WriteOp) -> Result<Option<Item>, StoreError> {
        let mut expr = Expr::default();
        match op {
            WriteOp::Put { item, condition } => {
                validate_put(&item)?;
                let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(to_map(&item)?))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
                    .await
                    .map_err(single_write_error)?;
                Ok(None)
            }
            WriteOp::Update {
                key,
                update,
                condition,
            } => {
                let update_expression = expr.update(&update)?;
                let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                let out = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_map(&key)))
                    .update_expression(update_expression)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .return_values(ReturnValue::AllNew)
                    .send()
                    .await
                    .map_err(single_write_error)?;
                out.attributes.map(from_map).transpose()
            }
            WriteOp::Delete { key, condition } => {
                let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_map(&key)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
                    .await
                    .map_err(single_write_error)?;
                Ok(None)
            }
            WriteOp::Check { .. } => Err(StoreError::Invalid(
                "a condition check only exists inside a transaction".into(),
            )),
        }
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Err(StoreError::Invalid("empty transaction".into()));
        }
        if ops.len() > MAX_TRANSACT_ITEMS {
            return Err(StoreError::Invalid(format!(
                "a transaction holds at most {MAX_TRANSACT_ITEMS} operations"
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for op in &ops {
            if !seen.insert(op.key()?) {
                return Err(StoreError::Invalid("two operations on one item".into()));
            }
        }
        let items = ops
            .iter()
            .map(|op| self.transact_item(op))
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let failed = cancelled
                        .cancellation_reasons()
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(i, _)| i)
                        .collect();
                    Err(StoreError::TransactionCancelled { failed })
                }
                Some(s) if s.code() == Some("ValidationException") => {
                    Err(StoreError::Invalid(sdk_message(&e)))
                }
                _ => Err(unavailable(sdk_message(&e))),
            },
        }
    }

    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        let mut unique = Vec::with_capacity(keys.len());
        let mut seen = std::collections::HashSet::new();
        for key in keys {
            if seen.insert(key.clone()) {
                unique.push(key);
            }
        }
        for chunk in unique.chunks(BATCH_DELETE_CHUNK) {
            let mut requests = chunk
                .iter()
                .map(|key| {
                    Ok(WriteRequest::builder()
                        .delete_request(
                            DeleteRequest::builder()
                                .set_key(Some(key_map(key)))
                                .build()
                                .map_err(built)?,
                        )
                        .build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut attempt = 0;
            while !requests.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(single_write_error)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                attempt += 1;
                if attempt > BATCH_RETRIES {
                    return Err(StoreError::Unavailable(format!(
                        "{} deletes still unprocessed after {BATCH_RETRIES} retries",
                        requests.len()
                    )));
                }
                // Unprocessed items mean throttling: back off before resending.
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_definition_names_known_dynamodb_values() {
        let def = &TABLE_DEFINITION;
        assert!(BillingMode::values().contains(&def.billing_mode));
        for index in def.indexes {
            assert!(ProjectionType::values().contains(&index.projection));
            for key in [index.hash_key, index.range_key] {
                assert!(def.string_attributes.contains(&key), "{key} is defined");
            }
        }
        for key in [def.hash_key, def.range_key] {
            assert!(def.string_attributes.contains(&key), "{key} is defined");
        }
    }
}
