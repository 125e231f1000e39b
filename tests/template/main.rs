//! `template.yaml` against the code: the table it declares is the table
//! `chatctl init` creates (`TABLE_DEFINITION`), every function is built the
//! way cargo-lambda's SAM integration expects, and the functions get the
//! environment the binaries read. CloudFormation's short tags (`!Ref`,
//! `!GetAtt`, `!Sub`) parse as tagged values (serde_norway).

use std::collections::BTreeSet;
use std::path::PathBuf;

use chat_shared::store::dynamo::TABLE_DEFINITION;
use serde_norway::Value;

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let text = std::fs::read_to_string(&path).expect("template.yaml is readable");
    serde_norway::from_str(&text).expect("template.yaml is YAML")
}

fn get<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |v, key| {
        v.get(*key)
            .unwrap_or_else(|| panic!("template has no `{}`", path.join(".")))
    })
}

/// A plain string; a tagged value (`!Ref X`) is not one.
fn text(value: &Value) -> &str {
    match value {
        Value::String(s) => s,
        other => panic!("expected a plain string, got {other:?}"),
    }
}

fn list(value: &Value) -> &Vec<Value> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("expected a list, got {value:?}"))
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    get(template, &["Resources"])
        .as_mapping()
        .expect("Resources is a mapping")
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(name, r)| (name.as_str().expect("resource names are strings"), r))
        .collect()
}

/// (attribute, key type) pairs of a KeySchema list.
fn key_schema(value: &Value) -> Vec<(String, String)> {
    list(value)
        .iter()
        .map(|k| {
            (
                text(get(k, &["AttributeName"])).to_owned(),
                text(get(k, &["KeyType"])).to_owned(),
            )
        })
        .collect()
}

fn pairs(hash: &str, range: &str) -> Vec<(String, String)> {
    vec![
        (hash.to_owned(), "HASH".to_owned()),
        (range.to_owned(), "RANGE".to_owned()),
    ]
}

#[test]
fn the_table_is_the_one_chatctl_init_creates() {
    let template = template();
    let tables = resources_of_type(&template, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "one table: {tables:?}");
    let (_, table) = tables[0];
    let props = get(table, &["Properties"]);
    let def = &TABLE_DEFINITION;

    assert_eq!(text(get(props, &["BillingMode"])), def.billing_mode);
    assert_eq!(
        key_schema(get(props, &["KeySchema"])),
        pairs(def.hash_key, def.range_key)
    );

    let attributes: BTreeSet<(String, String)> = list(get(props, &["AttributeDefinitions"]))
        .iter()
        .map(|a| {
            (
                text(get(a, &["AttributeName"])).to_owned(),
                text(get(a, &["AttributeType"])).to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = def
        .string_attributes
        .iter()
        .map(|a| ((*a).to_owned(), "S".to_owned()))
        .collect();
    assert_eq!(attributes, expected, "attribute definitions");

    let indexes = list(get(props, &["GlobalSecondaryIndexes"]));
    assert_eq!(indexes.len(), def.indexes.len(), "number of GSIs");
    for expected in def.indexes {
        let index = indexes
            .iter()
            .find(|i| text(get(i, &["IndexName"])) == expected.name)
            .unwrap_or_else(|| panic!("no index {} in the template", expected.name));
        assert_eq!(
            key_schema(get(index, &["KeySchema"])),
            pairs(expected.hash_key, expected.range_key),
            "{} keys",
            expected.name
        );
        assert_eq!(
            text(get(index, &["Projection", "ProjectionType"])),
            expected.projection,
            "{} projection",
            expected.name
        );
    }

    assert_eq!(
        text(get(props, &["TimeToLiveSpecification", "AttributeName"])),
        def.ttl_attribute
    );
    assert_eq!(
        get(props, &["TimeToLiveSpecification", "Enabled"]).as_bool(),
        Some(true)
    );
    assert_eq!(
        get(
            props,
            &[
                "PointInTimeRecoverySpecification",
                "PointInTimeRecoveryEnabled"
            ]
        )
        .as_bool(),
        Some(true)
    );
    assert_eq!(text(get(table, &["DeletionPolicy"])), "Retain");
    assert_eq!(text(get(table, &["UpdateReplacePolicy"])), "Retain");
}

#[test]
fn each_function_is_built_by_cargo_lambda_from_its_binary() {
    let template = template();
    let mut binaries: Vec<&str> = resources_of_type(&template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, f)| {
            assert_eq!(
                text(get(f, &["Metadata", "BuildMethod"])),
                "rust-cargolambda",
                "{name}"
            );
            assert_eq!(text(get(f, &["Properties", "CodeUri"])), ".", "{name}");
            text(get(f, &["Metadata", "BuildProperties", "Binary"]))
        })
        .collect();
    binaries.sort_unstable();
    assert_eq!(
        binaries,
        [
            "chat-files",
            "chat-messages",
            "chat-sessions",
            "chat-tenant"
        ]
    );

    let globals = get(&template, &["Globals", "Function"]);
    assert_eq!(text(get(globals, &["Runtime"])), "provided.al2023");
    assert_eq!(text(get(globals, &["Handler"])), "bootstrap");
    assert_eq!(
        list(get(globals, &["Architectures"]))
            .iter()
            .map(text)
            .collect::<Vec<_>>(),
        ["arm64"]
    );
}

#[test]
fn the_functions_get_the_settings_the_binaries_read() {
    let template = template();
    let env = get(
        &template,
        &["Globals", "Function", "Environment", "Variables"],
    );
    assert_eq!(text(get(env, &["CHAT_STORE"])), "dynamodb");
    // The routers serve /api/chat/...: the stage must not prefix the path.
    assert_eq!(
        text(get(env, &["AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"])),
        "true"
    );
    for name in ["TABLE_NAME", "BUCKET_NAME", "AI_PROVIDER"] {
        assert!(
            matches!(get(env, &[name]), Value::Tagged(_)),
            "{name} comes from the stack"
        );
    }
    // Every variable set anywhere is a setting the code knows.
    let known = [
        "CHAT_STORE",
        "TABLE_NAME",
        "BUCKET_NAME",
        "AI_PROVIDER",
        "CHAT_SESSION_TIMEOUT",
        "RUST_LOG",
        "TRUSTED_ORIGINS",
        "TRUSTED_PROXIES",
        "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "CUSTOM_PROVIDER_BASE_URL",
        "CUSTOM_PROVIDER_MODEL",
        "CUSTOM_PROVIDER_API_KEY",
        "ENABLE_DUMMY_PROVIDER",
        "CLAUDE_MODEL",
        "OPENAI_MODEL",
        "FILE_UPLOAD_MAX_MEMORY_SIZE",
        "WIDGET_BASE_URL",
        "KNOWLEDGE_EMBEDDINGS_BASE_URL",
        "KNOWLEDGE_EMBEDDINGS_MODEL",
        "KNOWLEDGE_EMBEDDINGS_API_KEY",
    ];
    let mut sets = vec![env];
    for (_, f) in resources_of_type(&template, "AWS::Serverless::Function") {
        if let Some(vars) = f
            .get("Properties")
            .and_then(|p| p.get("Environment"))
            .and_then(|e| e.get("Variables"))
        {
            sets.push(vars);
        }
    }
    for vars in sets {
        for (name, _) in vars.as_mapping().expect("variables are a mapping") {
            let name = name.as_str().expect("variable names are strings");
            assert!(known.contains(&name), "unknown setting {name}");
        }
    }
}

#[test]
fn provider_keys_are_never_plain_text() {
    let template = template();
    for secret in ["AnthropicApiKey", "OpenAiApiKey", "CustomProviderApiKey"] {
        let param = get(&template, &["Parameters", secret]);
        assert_eq!(
            get(param, &["NoEcho"]).as_bool(),
            Some(true),
            "{secret} is NoEcho"
        );
        assert_eq!(text(get(param, &["Default"])), "", "{secret} has no value");
    }
}
