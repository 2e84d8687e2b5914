//! The operator's side of the invitation link keys: reading the keyring from its secret (to print
//! an invitation's link) and rotating it. A rotation writes a new version of the secret with a new
//! current key and today's current one as the previous; the functions pick it up within
//! [`cloudhub::links::REFRESH_EVERY`] (sooner where a link of the new key arrives). Links of the
//! previous key keep working until their 24 hours are over; links of the key that was previous
//! before the rotation stop working at once (rotate twice to kill every link of a leaked key).

use anyhow::Context as _;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use cloudhub::links::{KeyId, Keyring};
use secrecy::ExposeSecret as _;

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// The new current key.
    pub current: KeyId,
    /// The key that is now the previous one (its links still work).
    pub previous: KeyId,
    /// The key retired by the rotation, if there was a previous one (its links are dead).
    pub retired: Option<KeyId>,
}

/// The keyring in the secret `secret_id`.
pub async fn read(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> anyhow::Result<Keyring> {
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("Reading the secret {secret_id} failed: {}", DisplayErrorContext(&error)))?;
    let text = output
        .secret_string()
        .context("The link key secret has no text value.")?;
    Ok(Keyring::from_secret(text)?)
}

/// Rotates the keyring in `secret_id`: a new current key, the current one kept as the previous.
pub async fn rotate(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> anyhow::Result<Rotated> {
    let before = read(client, secret_id).await?;
    let after = before.rotated();
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(after.to_secret().expose_secret())
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("Writing the secret {secret_id} failed: {}", DisplayErrorContext(&error)))?;
    Ok(Rotated {
        current: after.current().id().clone(),
        previous: before.current().id().clone(),
        retired: before.previous().map(|key| key.id().clone()),
    })
}
