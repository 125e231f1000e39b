//! docs/SCALE.md's generated part is exactly what the model computes from
//! inputs.json: change either, and this fails until the document is
//! regenerated.

#![allow(clippy::unwrap_used)]

use chat_capacity::{doc_path, generate, generated_part, limits, num, scale};

#[test]
fn the_document_is_what_the_model_computes() {
    let doc = std::fs::read_to_string(doc_path()).expect("docs/SCALE.md");
    let generated = generate().expect("inputs.json");
    let written = generated_part(&doc).expect("docs/SCALE.md has the generated markers");
    assert!(
        written == generated,
        "docs/SCALE.md is out of date: run `cargo run -p chat-capacity -- --write`"
    );
}

#[test]
fn figures_grow_with_traffic_and_sharding_helps() {
    let text = std::fs::read_to_string(chat_capacity::inputs_path()).unwrap();
    let inputs: chat_capacity::Inputs = serde_json::from_str(&text).unwrap();
    let (small, big) = (scale(&inputs, 10.0), scale(&inputs, 1000.0));
    let ratio = big.costs.aws() / small.costs.aws();
    assert!((ratio - 100.0).abs() < 1.0, "costs are linear: {ratio}");
    let all = limits(&inputs);
    let at = |name: &str| {
        all.iter()
            .find(|l| l.name.starts_with(name))
            .unwrap()
            .reached_at()
    };
    let shards = inputs.limits.counter_shards.value;
    let gain = at("the hottest DAY") / at("one DAY");
    assert!((gain - shards).abs() < 1e-9, "{gain}");
    assert_eq!(num(1234567.0), "1,234,567");
    assert_eq!(num(0.5), "0.50");
}
