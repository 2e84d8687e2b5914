//! Invitation links. A link's token is `HMAC-SHA256(key, invitation id, nonce)`, where the nonce
//! is 128 bits from the OS random source, drawn anew for every send. The store keeps the nonce
//! and the token's hash, never the token: the function that sends the email rebuilds the token
//! from the item and the key, so writing an invitation and owing its email stay one write.

use crate::domain::{InvalidValue, InvitationId, SecretToken};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::sync::Arc;

/// The secret that makes invitation links (`LINK_SIGNING_KEY`: at least 32 bytes, base64url).
#[derive(Clone)]
pub struct LinkKey(Arc<[u8]>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([redacted])")
    }
}

/// The environment variable holding the key.
pub const LINK_KEY_VAR: &str = "LINK_SIGNING_KEY";

impl LinkKey {
    const MIN_BYTES: usize = 32;

    /// Parses the base64url form (padding optional).
    pub fn parse(encoded: &str) -> Result<Self, InvalidValue> {
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded.trim().trim_end_matches('='))
            .ok()
            .filter(|bytes| bytes.len() >= Self::MIN_BYTES)
            .ok_or_else(|| {
                InvalidValue::new(
                    "invalid-link-key",
                    "LINK_SIGNING_KEY must be at least 32 bytes, base64url.",
                )
            })?;
        Ok(Self(bytes.into()))
    }

    /// The key from `LINK_SIGNING_KEY`, if set.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        match std::env::var(LINK_KEY_VAR) {
            Ok(encoded) => Ok(Some(Self::parse(&encoded)?)),
            Err(_) => Ok(None),
        }
    }

    /// The token of the link for this invitation and nonce.
    pub fn token(&self, invitation: &InvitationId, nonce: &LinkNonce) -> SecretToken {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(b"cloudhub-invitation-link\0");
        mac.update(invitation.to_string().as_bytes());
        mac.update(b"\0");
        mac.update(nonce.0.as_bytes());
        let token = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        SecretToken::parse(&token).expect("an HMAC-SHA256 in base64url has the shape of a token")
    }
}

/// The public, random part of one link: 128 bits from the OS random source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkNonce(String);

impl LinkNonce {
    /// A new nonce.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).expect("the OS random source is available");
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a stored nonce.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LinkKey {
        LinkKey::parse(&URL_SAFE_NO_PAD.encode([7u8; 32])).unwrap()
    }

    #[test]
    fn a_link_is_reproducible_from_key_id_and_nonce_only() {
        let id = InvitationId::generate();
        let nonce = LinkNonce::generate();
        assert_eq!(key().token(&id, &nonce).hash(), key().token(&id, &nonce).hash());
        assert_ne!(
            key().token(&id, &nonce).hash(),
            key().token(&id, &LinkNonce::generate()).hash()
        );
        assert_ne!(
            key().token(&id, &nonce).hash(),
            key().token(&InvitationId::generate(), &nonce).hash()
        );
        let other_key = LinkKey::parse(&URL_SAFE_NO_PAD.encode([8u8; 32])).unwrap();
        assert_ne!(key().token(&id, &nonce).hash(), other_key.token(&id, &nonce).hash());
    }

    #[test]
    fn short_or_malformed_keys_are_refused() {
        assert!(LinkKey::parse(&URL_SAFE_NO_PAD.encode([1u8; 31])).is_err());
        assert!(LinkKey::parse("not base64 !").is_err());
        assert!(!format!("{:?}", key()).contains('7'));
    }
}
