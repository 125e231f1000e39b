//! What wraps the data keys: a KMS key (`GenerateDataKey` / `Decrypt`), or
//! a local key file for the embedded store (`chatctl serve`).

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use secrecy::{ExposeSecret, SecretBox};

use super::SecretsError;
use super::envelope::{KEY_LEN, NONCE_LEN, cipher, open_with, seal_with};

/// The KMS encryption context of every data key: IAM policies and the key
/// policy can require it, and CloudTrail shows it on each call.
pub const KMS_CONTEXT: (&str, &str) = ("purpose", "chat-tenant-secrets");

/// A plaintext data key: zeroed when dropped.
pub type DataKey = SecretBox<[u8; KEY_LEN]>;

#[async_trait]
pub trait KeyWrapper: Send + Sync {
    /// Stored with each sealed value (`SealedSecret::wrap`).
    fn name(&self) -> &'static str;
    /// A new data key: its plaintext and its wrapped form.
    async fn new_data_key(&self) -> Result<(DataKey, Vec<u8>), SecretsError>;
    /// The plaintext of a wrapped data key.
    async fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey, SecretsError>;
}

fn data_key(bytes: &[u8]) -> Result<DataKey, SecretsError> {
    let key: [u8; KEY_LEN] = bytes
        .try_into()
        .map_err(|_| SecretsError::Key(format!("a data key of {} bytes", bytes.len())))?;
    Ok(SecretBox::new(Box::new(key)))
}

/// A KMS key: one `GenerateDataKey` per data key, one `Decrypt` per data
/// key a process has not opened before.
pub struct KmsKeyWrapper {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsKeyWrapper {
    pub fn new(sdk: &aws_config::SdkConfig, key_id: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_kms::Client::new(sdk),
            key_id: key_id.into(),
        }
    }
}

#[async_trait]
impl KeyWrapper for KmsKeyWrapper {
    fn name(&self) -> &'static str {
        "kms"
    }

    async fn new_data_key(&self) -> Result<(DataKey, Vec<u8>), SecretsError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(KMS_CONTEXT.0, KMS_CONTEXT.1)
            .send()
            .await
            .map_err(|e| {
                SecretsError::Key(format!(
                    "GenerateDataKey: {}",
                    aws_sdk_kms::error::DisplayErrorContext(&e)
                ))
            })?;
        let (Some(plain), Some(wrapped)) = (out.plaintext(), out.ciphertext_blob()) else {
            return Err(SecretsError::Key("GenerateDataKey answered no key".into()));
        };
        Ok((data_key(plain.as_ref())?, wrapped.as_ref().to_vec()))
    }

    /// The key is not pinned: a value sealed under an earlier KMS key (the
    /// setting changed) still opens where IAM allows `Decrypt` on it. The
    /// encryption context is.
    async fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey, SecretsError> {
        let out = self
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(wrapped))
            .encryption_context(KMS_CONTEXT.0, KMS_CONTEXT.1)
            .send()
            .await
            .map_err(|e| {
                SecretsError::Key(format!(
                    "Decrypt: {}",
                    aws_sdk_kms::error::DisplayErrorContext(&e)
                ))
            })?;
        let plain = out
            .plaintext()
            .ok_or_else(|| SecretsError::Key("Decrypt answered no key".into()))?;
        data_key(plain.as_ref())
    }
}

/// A 256-bit key in a local file (hex), made when missing (mode 0600): the
/// embedded store's stand-in for KMS, so its table file holds no tenant
/// secret in plaintext. Whoever can read the key file can open them.
pub struct LocalKeyWrapper {
    cipher: aes_gcm::Aes256Gcm,
}

/// The associated data of a data key wrapped by the local key.
const LOCAL_WRAP_AAD: &[u8] = b"chat-data-key";

impl LocalKeyWrapper {
    /// The key in `path`, made there first when the file does not exist.
    pub fn open_or_create(path: &Path) -> Result<Self, SecretsError> {
        let failed = |reason: String| SecretsError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let hex_key = match std::fs::read_to_string(path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_key_file(path).map_err(|e| failed(format!("cannot create it: {e}")))?
            }
            Err(e) => return Err(failed(e.to_string())),
        };
        let key = hex::decode(&hex_key)
            .ok()
            .filter(|k| k.len() == KEY_LEN)
            .ok_or_else(|| failed("expected 64 hex digits".into()))?;
        Ok(Self {
            cipher: cipher(&key)?,
        })
    }

    /// The default key file of an embedded store's data directory.
    pub fn default_path(data_dir: &Path) -> PathBuf {
        data_dir.join("tenant-secrets.key")
    }
}

/// Writes a new random key; another process that made the file first wins
/// and its key is used.
fn create_key_file(path: &Path) -> std::io::Result<String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(std::io::Error::other)?;
    let text = hex::encode(key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            Ok(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path)?.trim().to_owned())
        }
        Err(e) => Err(e),
    }
}

#[async_trait]
impl KeyWrapper for LocalKeyWrapper {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn new_data_key(&self) -> Result<(DataKey, Vec<u8>), SecretsError> {
        let mut key = [0u8; KEY_LEN];
        getrandom::fill(&mut key).map_err(|e| SecretsError::Key(format!("no randomness: {e}")))?;
        let key = SecretBox::new(Box::new(key));
        let (nonce, data) = seal_with(&self.cipher, LOCAL_WRAP_AAD, key.expose_secret())?;
        Ok((key, [nonce.as_slice(), &data].concat()))
    }

    async fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey, SecretsError> {
        if wrapped.len() < NONCE_LEN {
            return Err(SecretsError::Corrupt);
        }
        let (nonce, data) = wrapped.split_at(NONCE_LEN);
        let plain = open_with(&self.cipher, LOCAL_WRAP_AAD, nonce, data)?;
        data_key(&plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_key_file_is_made_once_and_wraps_data_keys() {
        let dir = tempfile::tempdir().expect("dir");
        let path = LocalKeyWrapper::default_path(dir.path());
        let first = LocalKeyWrapper::open_or_create(&path).expect("made");
        let (key, wrapped) = first.new_data_key().await.expect("data key");
        let again = LocalKeyWrapper::open_or_create(&path).expect("read");
        let unwrapped = again.unwrap(&wrapped).await.expect("unwraps");
        assert_eq!(unwrapped.expose_secret(), key.expose_secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").expect("write");
        assert!(matches!(
            LocalKeyWrapper::open_or_create(&path),
            Err(SecretsError::KeyFile { .. })
        ));
    }
}
