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
            let binary = text(get(f, &["Metadata", "BuildProperties", "Binary"]));
            // Built in its own package's directory, so cargo resolves that
            // package's features alone (no embedded store from chatctl's).
            let code = text(get(f, &["Properties", "CodeUri"]));
            let group = binary.strip_prefix("chat-").unwrap_or(binary);
            assert_eq!(code, format!("functions/{group}"), "{name}");
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(code)
                .join("Cargo.toml");
            let manifest = std::fs::read_to_string(&manifest)
                .unwrap_or_else(|e| panic!("{name}: {}: {e}", manifest.display()));
            assert!(
                manifest.contains(&format!("name = \"{binary}\"")),
                "{name}: {code}/Cargo.toml has no binary {binary}"
            );
            binary
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
    // The architecture is the `Architecture` parameter (sam build reads it;
    // tests/build-lambda.sh passes the one it built), arm64 by default.
    let architectures = list(get(globals, &["Architectures"]));
    assert_eq!(architectures.len(), 1);
    match &architectures[0] {
        Value::Tagged(tagged) => {
            assert_eq!(tagged.tag, "Ref");
            assert_eq!(text(&tagged.value), "Architecture");
        }
        other => panic!("Architectures should be [!Ref Architecture], got {other:?}"),
    }
    let parameter = get(&template, &["Parameters", "Architecture"]);
    assert_eq!(text(get(parameter, &["Default"])), "arm64");
    assert_eq!(
        list(get(parameter, &["AllowedValues"]))
            .iter()
            .map(text)
            .collect::<Vec<_>>(),
        ["arm64", "x86_64"]
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
    for name in [
        "TABLE_NAME",
        "BUCKET_NAME",
        "AI_PROVIDER",
        "BEDROCK_MODEL_ID",
    ] {
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
        "METRICS_NAMESPACE",
        "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "CUSTOM_PROVIDER_BASE_URL",
        "CUSTOM_PROVIDER_MODEL",
        "CUSTOM_PROVIDER_API_KEY",
        "ENABLE_DUMMY_PROVIDER",
        "CLAUDE_MODEL",
        "OPENAI_MODEL",
        "BEDROCK_MODEL_ID",
        "FILE_UPLOAD_MAX_MEMORY_SIZE",
        "WIDGET_BASE_URL",
        "KNOWLEDGE_EMBEDDINGS_BASE_URL",
        "KNOWLEDGE_EMBEDDINGS_MODEL",
        "KNOWLEDGE_EMBEDDINGS_API_KEY",
        "ANTHROPIC_API_KEY_SECRET",
        "ANTHROPIC_API_KEY_PARAMETER",
        "OPENAI_API_KEY_SECRET",
        "OPENAI_API_KEY_PARAMETER",
        "CUSTOM_PROVIDER_API_KEY_SECRET",
        "CUSTOM_PROVIDER_API_KEY_PARAMETER",
        "KNOWLEDGE_EMBEDDINGS_API_KEY_SECRET",
        "KNOWLEDGE_EMBEDDINGS_API_KEY_PARAMETER",
        "TENANT_SECRETS_KMS_KEY_ID",
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

/// The actions of a function's inline policy statements (plain ones and
/// those inside `!If`), with the statement each is in.
fn kms_actions(function: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for policy in list(get(function, &["Properties", "Policies"])) {
        for statement in list(get(policy, &["Statement"])) {
            let statement = match statement {
                // `!If [condition, statement, !Ref AWS::NoValue]`
                Value::Tagged(tagged) => list(&tagged.value)[1].clone(),
                plain => plain.clone(),
            };
            let actions = match get(&statement, &["Action"]) {
                Value::String(one) => vec![one.clone()],
                many => list(many).iter().map(|a| text(a).to_owned()).collect(),
            };
            for action in actions.into_iter().filter(|a| a.starts_with("kms:")) {
                out.push((action, statement.clone()));
            }
        }
    }
    out
}

#[test]
fn the_secrets_key_is_kept_rotated_and_granted_per_function() {
    let template = template();
    let key = get(&template, &["Resources", "SecretsKey"]);
    assert_eq!(text(get(key, &["DeletionPolicy"])), "Retain");
    assert_eq!(
        get(key, &["Properties", "EnableKeyRotation"]).as_bool(),
        Some(true)
    );
    let context = "kms:EncryptionContext:purpose";
    for (name, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        let kms = kms_actions(function);
        let tenant_secrets: Vec<&str> = kms
            .iter()
            .filter(|(_, s)| {
                s.get("Condition")
                    .and_then(|c| c.get("StringEquals"))
                    .and_then(|c| c.get(context))
                    .is_some()
            })
            .map(|(a, _)| a.as_str())
            .collect();
        // Only the function that writes tenant items makes data keys; the
        // others only open what it sealed.
        let expected: &[&str] = if name == "TenantFunction" {
            &["kms:GenerateDataKey"]
        } else {
            &["kms:Decrypt"]
        };
        assert_eq!(tenant_secrets, expected, "{name}");
        // Any other KMS use is a Decrypt through Secrets Manager or SSM.
        for (action, statement) in &kms {
            let via = statement
                .get("Condition")
                .and_then(|c| c.get("StringEquals"))
                .and_then(|c| c.get("kms:ViaService"));
            assert!(
                via.is_some() || tenant_secrets.contains(&action.as_str()),
                "{name}: {action} without a condition"
            );
        }
    }
}

/// The `bedrock:` words (actions and condition keys) in a function's policies.
fn bedrock_words(function: &Value) -> BTreeSet<String> {
    let policies = function
        .get("Properties")
        .and_then(|p| p.get("Policies"))
        .map(|p| serde_norway::to_string(p).expect("policies serialize"))
        .unwrap_or_default();
    policies
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
        .filter_map(|word| word.strip_prefix("bedrock:"))
        .map(|word| word.trim_end_matches(':').to_owned())
        .collect()
}

#[test]
fn only_the_messages_function_may_call_bedrock_and_only_to_stream() {
    let template = template();
    let choices = list(get(
        &template,
        &["Parameters", "DefaultProvider", "AllowedValues"],
    ));
    assert!(choices.iter().any(|v| v.as_str() == Some("bedrock")));
    for (name, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        let words = bedrock_words(function);
        if name == "MessagesFunction" {
            assert_eq!(
                words,
                BTreeSet::from([
                    "InferenceProfileArn".to_owned(),
                    "InvokeModelWithResponseStream".to_owned(),
                ]),
                "ConverseStream's action, and the profile condition"
            );
        } else {
            assert!(words.is_empty(), "{name} is granted {words:?}");
        }
    }
}
