use super::InvalidValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// A bearer secret (session token, invitation link token): 256 bits from the OS random
/// source, URL-safe. Never printed; only its [`TokenHash`] is stored.
pub struct SecretToken(SecretString);

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretToken([redacted])")
    }
}

impl SecretToken {
    const BYTES: usize = 32;
    /// Length of the base64url form of 32 bytes without padding.
    const ENCODED_LEN: usize = 43;

    /// Draws a new token from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; Self::BYTES];
        // Without the OS random source no secret can be made safely; the invocation must fail.
        getrandom::getrandom(&mut bytes).expect("the OS random source is available");
        Self(URL_SAFE_NO_PAD.encode(bytes).into())
    }

    /// Accepts only the shape `generate` produces, so junk never reaches the store.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let well_formed = raw.len() == Self::ENCODED_LEN
            && URL_SAFE_NO_PAD
                .decode(raw)
                .is_ok_and(|bytes| bytes.len() == Self::BYTES);
        if well_formed {
            Ok(Self(raw.into()))
        } else {
            Err(InvalidValue::new(
                "malformed-token",
                "The token is not one CloudHub issued.",
            ))
        }
    }

    /// The SHA-256 of the token, the only form that is stored or looked up. A fast hash is
    /// enough: the token has 256 bits of entropy, so there is nothing to brute-force.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.expose_secret())
    }

    /// The token itself, to hand to its holder once (response body or email link).
    pub fn reveal(&self) -> &str {
        self.0.expose_secret()
    }
}

/// The stored form of a [`SecretToken`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// The SHA-256 of a bearer secret's text, base64url.
    pub(crate) fn of(secret: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes())))
    }

    /// Wraps a stored hash.
    pub(crate) fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// The hash as text, for keys.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_distinct_parseable_and_hashed_stably() {
        let a = SecretToken::generate();
        let b = SecretToken::generate();
        assert_ne!(a.reveal(), b.reveal());
        let reparsed = SecretToken::parse(a.reveal()).unwrap();
        assert_eq!(reparsed.hash(), a.hash());
        assert_ne!(a.hash().as_str(), a.reveal());
    }

    #[test]
    fn tokens_never_print() {
        let token = SecretToken::generate();
        assert!(!format!("{token:?}").contains(token.reveal()));
    }

    #[test]
    fn foreign_strings_are_not_tokens() {
        let valid = SecretToken::generate();
        let too_long = format!("{}A", valid.reveal());
        let bad_alphabet = format!("{}+", &valid.reveal()[..42]);
        for raw in ["", "abc", too_long.as_str(), bad_alphabet.as_str()] {
            assert_eq!(SecretToken::parse(raw).unwrap_err().code, "malformed-token", "{raw:?}");
        }
    }
}
