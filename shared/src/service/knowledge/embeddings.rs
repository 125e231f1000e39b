//! Embeddings for the knowledge base's dense ranking: an OpenAI-compatible
//! `/embeddings` endpoint when one is configured, the engine's local hash
//! embedding on deployments with the dummy provider (tests, demos), none
//! otherwise (BM25 alone).

use std::time::Duration;

use chat_knowledge::{Embedder, HashEmbedder};
use serde::Deserialize;
use serde_json::json;

use super::KnowledgeError;
use crate::config::{Config, EmbeddingsSettings, ExposeSecret, Secret};
use crate::secrets::ProviderKey;

/// Texts per `/embeddings` request.
const BATCH: usize = 64;
/// How long one `/embeddings` request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

pub enum Embeddings {
    None,
    Local(HashEmbedder),
    Remote {
        settings: EmbeddingsSettings,
        client: reqwest::Client,
        /// From the environment, or Secrets Manager / Parameter Store.
        key: Option<ProviderKey>,
    },
}

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl Embeddings {
    pub fn from_config(config: &Config) -> Self {
        match &config.knowledge_embeddings {
            Some(settings) => Embeddings::Remote {
                key: ProviderKey::from_setting(
                    settings.api_key.as_ref(),
                    settings.api_key_ref.as_ref(),
                ),
                settings: settings.clone(),
                client: reqwest::Client::builder()
                    .timeout(TIMEOUT)
                    .build()
                    .unwrap_or_default(),
            },
            None if config.enable_dummy_provider => Embeddings::Local(HashEmbedder::default()),
            None => Embeddings::None,
        }
    }

    /// One vector per text, in order; `None` when there is no embedding.
    pub async fn embed(&self, texts: &[String]) -> Result<Option<Vec<Vec<f32>>>, KnowledgeError> {
        match self {
            Embeddings::None => Ok(None),
            Embeddings::Local(e) => Ok(Some(texts.iter().map(|t| e.embed(t)).collect())),
            Embeddings::Remote {
                settings,
                client,
                key,
            } => {
                let mut out = Vec::with_capacity(texts.len());
                for batch in texts.chunks(BATCH) {
                    out.extend(remote_with_key(client, settings, key.as_ref(), batch).await?);
                }
                Ok(Some(out))
            }
        }
    }

    /// The question's vector; a failed remote call is logged and the search
    /// goes on with BM25 alone (a visitor's answer never waits on it failing).
    pub async fn embed_query(&self, query: &str) -> Option<Vec<f32>> {
        match self.embed(&[query.to_owned()]).await {
            Ok(v) => v.and_then(|mut v| v.pop()),
            Err(e) => {
                tracing::warn!(error = %e, "query embedding failed; BM25 alone");
                None
            }
        }
    }
}

/// [`remote`] with the key's current value; after a 401, once more with
/// the key read again when it changed (rotated where it is kept).
async fn remote_with_key(
    client: &reqwest::Client,
    settings: &EmbeddingsSettings,
    key: Option<&ProviderKey>,
    batch: &[String],
) -> Result<Vec<Vec<f32>>, KnowledgeError> {
    let failed = |e: String| KnowledgeError::Embeddings(e);
    let Some(key) = key else {
        return remote(client, settings, None, batch).await;
    };
    let used = key.get().await.map_err(|e| failed(e.to_string()))?;
    let first = remote(client, settings, Some(&used), batch).await;
    if !matches!(&first, Err(KnowledgeError::Embeddings(e)) if e == UNAUTHORIZED) {
        return first;
    }
    match key.refreshed(&used).await {
        Ok(Some(fresh)) => remote(client, settings, Some(&fresh), batch).await,
        _ => first,
    }
}

/// How [`remote`] reports a 401.
const UNAUTHORIZED: &str = "status 401 Unauthorized";

/// One `/embeddings` call: `{"model", "input": [...]}` ->
/// `{"data": [{"embedding": [...], "index": i}]}`.
async fn remote(
    client: &reqwest::Client,
    settings: &EmbeddingsSettings,
    key: Option<&Secret>,
    batch: &[String],
) -> Result<Vec<Vec<f32>>, KnowledgeError> {
    let url = format!("{}/embeddings", settings.base_url.trim_end_matches('/'));
    let mut request = client
        .post(url)
        .json(&json!({"model": settings.model, "input": batch}));
    if let Some(key) = key {
        request = request.bearer_auth(key.expose_secret());
    }
    let failed = |e: String| KnowledgeError::Embeddings(e);
    let response = request.send().await.map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("status {}", response.status())));
    }
    let mut body: EmbeddingsResponse = response.json().await.map_err(|e| failed(e.to_string()))?;
    if body.data.len() != batch.len() {
        return Err(failed(format!(
            "{} vectors for {} texts",
            body.data.len(),
            batch.len()
        )));
    }
    body.data.sort_by_key(|d| d.index.unwrap_or(0));
    Ok(body
        .data
        .into_iter()
        .map(|d| normalized(d.embedding))
        .collect())
}

/// L2-normalized, as the index compares by cosine.
fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}
