//! Where the functions find the link keys: the keyring in Secrets Manager, read at the first
//! request that needs it and again every [`REFRESH_EVERY`], never per request. The key is never
//! in a function's configuration: only the secret's id is (`LINK_KEYS_SECRET_ID`), and only the
//! functions that make, send or open links may read the secret.

use super::{KeyId, Keyring, LinkKey};
use anyhow::Context as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The environment variable naming the secret (its ARN or name).
pub const KEYS_SECRET_VAR: &str = "LINK_KEYS_SECRET_ID";
/// How long a read keyring is used before it is read again: a rotation reaches every function
/// within this time (sooner where a link of the new key arrives, see [`LinkKeys::key`]).
pub const REFRESH_EVERY: Duration = Duration::from_secs(300);
/// The least time between reads forced by links of keys the keyring does not know, so that
/// forged key ids cannot make a function read the secret on every request.
const UNKNOWN_KEY_GAP: Duration = Duration::from_secs(10);
/// After a failed read, the time before the next try; meanwhile the last keyring serves, or
/// requests are answered 503 at once.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// How long the last keyring keeps serving while Secrets Manager cannot be read.
const SERVE_STALE_FOR: Duration = Duration::from_secs(3600);

/// The link keys of one function, read from their source and kept. Cheap to clone.
#[derive(Clone)]
pub struct LinkKeys(Arc<Inner>);

struct Inner {
    source: Source,
    refresh_every: Duration,
    // One lock for the cache and the read, so that concurrent requests of a cold start read once.
    state: Mutex<State>,
}

enum Source {
    /// A keyring given at start (the local stack, tests).
    Fixed(Arc<Keyring>),
    /// The secret holding the keyring.
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
    },
}

#[derive(Default)]
struct State {
    keyring: Option<Arc<Keyring>>,
    read_at: Option<Instant>,
    next_try: Option<Instant>,
    forced_at: Option<Instant>,
}

/// The keyring could not be read (Secrets Manager down, slow, or refusing), and no earlier read
/// may serve instead. The request changed nothing; it may be retried.
#[derive(Debug, thiserror::Error)]
#[error("The invitation link keys cannot be read right now.")]
pub struct KeysUnavailable(#[source] anyhow::Error);

impl std::fmt::Debug for LinkKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0.source {
            Source::Fixed(_) => f.write_str("LinkKeys(fixed)"),
            Source::SecretsManager { secret_id, .. } => write!(f, "LinkKeys(secret {secret_id})"),
        }
    }
}

impl LinkKeys {
    /// Keys that never change: the local stack's development keyring, tests.
    pub fn fixed(keyring: Keyring) -> Self {
        Self::new(Source::Fixed(Arc::new(keyring)), REFRESH_EVERY)
    }

    /// The keyring in the secret `secret_id`.
    pub fn secrets_manager(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        Self::new(
            Source::SecretsManager {
                client,
                secret_id: secret_id.into(),
            },
            REFRESH_EVERY,
        )
    }

    /// The same source, read again after `every` instead of [`REFRESH_EVERY`] (tests of rotation).
    pub fn refreshing_every(self, every: Duration) -> Self {
        let source = match &self.0.source {
            Source::Fixed(keyring) => Source::Fixed(keyring.clone()),
            Source::SecretsManager { client, secret_id } => Source::SecretsManager {
                client: client.clone(),
                secret_id: secret_id.clone(),
            },
        };
        Self::new(source, every)
    }

    fn new(source: Source, refresh_every: Duration) -> Self {
        Self(Arc::new(Inner {
            source,
            refresh_every,
            state: Mutex::new(State::default()),
        }))
    }

    /// The secret named by `LINK_KEYS_SECRET_ID`, if set, with a client configured from
    /// Lambda's environment. Reads nothing yet.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        let Some(secret_id) = std::env::var(KEYS_SECRET_VAR).ok().filter(|id| !id.is_empty()) else {
            return Ok(None);
        };
        let config = crate::aws::sdk_config(crate::aws::Service::SecretsManager)?;
        Ok(Some(Self::secrets_manager(
            aws_sdk_secretsmanager::Client::new(&config),
            secret_id,
        )))
    }

    /// The keyring in force: the one read last, or a new read once that is older than the
    /// refresh interval. While the secret cannot be read, the last keyring serves for an hour.
    pub async fn keyring(&self) -> Result<Arc<Keyring>, KeysUnavailable> {
        let mut state = self.0.state.lock().await;
        let fresh = state.read_at.is_some_and(|at| at.elapsed() < self.0.refresh_every);
        match (&state.keyring, fresh) {
            (Some(keyring), true) => Ok(keyring.clone()),
            _ => self.read(&mut state).await,
        }
    }

    /// The key named `id`, if it is in force. A key the kept keyring does not know may be one
    /// that another function already rotated to, so the secret is read once more first.
    pub async fn key(&self, id: &KeyId) -> Result<Option<LinkKey>, KeysUnavailable> {
        let keyring = self.keyring().await?;
        if let Some(key) = keyring.key(id) {
            return Ok(Some(key.clone()));
        }
        let mut state = self.0.state.lock().await;
        let gap = UNKNOWN_KEY_GAP.min(self.0.refresh_every);
        let keyring = match state.forced_at {
            Some(at) if at.elapsed() < gap => state.keyring.clone().unwrap_or(keyring),
            _ => {
                state.forced_at = Some(Instant::now());
                self.read(&mut state).await?
            }
        };
        Ok(keyring.key(id).cloned())
    }

    /// Reads the source into `state`; on failure the last keyring serves while it may.
    async fn read(&self, state: &mut State) -> Result<Arc<Keyring>, KeysUnavailable> {
        let stale = |state: &State| {
            state
                .keyring
                .clone()
                .filter(|_| state.read_at.is_some_and(|at| at.elapsed() < SERVE_STALE_FOR))
        };
        // Shortly after a failed read, requests do not queue up behind another one.
        if state.next_try.is_some_and(|at| Instant::now() < at) {
            return stale(state).ok_or_else(|| {
                KeysUnavailable(anyhow::anyhow!(
                    "The link keys could not be read moments ago; the next try is due shortly."
                ))
            });
        }
        match self.fetch().await {
            Ok(keyring) => {
                let keyring = Arc::new(keyring);
                state.keyring = Some(keyring.clone());
                state.read_at = Some(Instant::now());
                state.next_try = None;
                Ok(keyring)
            }
            Err(error) => {
                state.next_try = Some(Instant::now() + RETRY_AFTER_FAILURE);
                match stale(state) {
                    Some(keyring) => {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            "the link keys could not be read again; the last ones serve"
                        );
                        Ok(keyring)
                    }
                    None => Err(KeysUnavailable(error)),
                }
            }
        }
    }

    async fn fetch(&self) -> anyhow::Result<Keyring> {
        match &self.0.source {
            Source::Fixed(keyring) => Ok(Keyring::clone(keyring)),
            Source::SecretsManager { client, secret_id } => {
                let output =
                    client
                        .get_secret_value()
                        .secret_id(secret_id)
                        .send()
                        .await
                        .map_err(crate::aws::sdk_error(
                            "Failed to read the invitation link keys from Secrets Manager.",
                        ))?;
                let text = output
                    .secret_string()
                    .context("The link key secret has no text value.")?;
                Ok(Keyring::from_secret(text)?)
            }
        }
    }
}
