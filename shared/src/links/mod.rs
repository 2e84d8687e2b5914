//! Invitation links. A link's token is `{keyId}.{customer}.{invitationId}.{mac}`: the id of the
//! key that made it, the invitation's key (so that opening a link reads the invitation directly,
//! beside its customer, in one request) and `HMAC-SHA256(key, keyId, customer, invitation id,
//! nonce)`, where the nonce is 128 bits from the OS random source, drawn anew for every send.
//! Links sent before tokens carried the invitation's key, `{keyId}.{mac}` with
//! `HMAC-SHA256(key, keyId, invitation id, nonce)`, keep working until they expire: they are
//! found through their link item. The store keeps the nonce, the key's id and the token's
//! hash, never the token or the key: the function that sends the email rebuilds the token from the
//! item and the key, so writing an invitation and owing its email stay one write.
//!
//! The keys live only in Secrets Manager ([`LinkKeys`]), as a keyring of a current key (which
//! makes new links) and the previous one (whose links still work until their 24 hours are over).
//! Rotating makes a new current key and retires the previous one: links of a retired key stop
//! working at once, which is also how an operator kills every link of a leaked key.

mod keys;

pub use keys::{KEYS_SECRET_VAR, KeysUnavailable, LinkKeys, REFRESH_EVERY};

use crate::domain::{CustomerNumber, InvalidValue, InvitationId, TokenHash};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;

/// The name of a link key: 1 to 16 lower-case letters and digits. Links carry it in the clear.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    const MAX_LEN: usize = 16;

    /// Accepts 1 to 16 characters of `a-z` and `0-9`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid = (1..=Self::MAX_LEN).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(
                "invalid-link-key",
                "A link key's id has 1 to 16 lower-case letters and digits.",
            ))
        }
    }

    /// A new random id (8 characters), for a rotation.
    pub fn generate() -> Self {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).expect("the OS random source is available");
        Self(
            bytes
                .iter()
                .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
                .collect(),
        )
    }

    /// The id of no key (a link stored before links named their key); no keyring holds it.
    pub fn none() -> Self {
        Self("unkeyed".into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for KeyId {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<KeyId> for String {
    fn from(value: KeyId) -> Self {
        value.0
    }
}

/// One secret that makes invitation links: at least 32 bytes, with its id.
#[derive(Clone)]
pub struct LinkKey {
    id: KeyId,
    secret: Arc<[u8]>,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkKey({}, [redacted])", self.id)
    }
}

impl LinkKey {
    const MIN_BYTES: usize = 32;

    /// The key `id` with the secret in its base64url form (padding optional).
    pub fn parse(id: KeyId, encoded: &str) -> Result<Self, InvalidValue> {
        let secret = URL_SAFE_NO_PAD
            .decode(encoded.trim().trim_end_matches('='))
            .ok()
            .filter(|bytes| bytes.len() >= Self::MIN_BYTES)
            .ok_or_else(|| InvalidValue::new("invalid-link-key", "A link key is at least 32 bytes, in base64url."))?;
        Ok(Self {
            id,
            secret: secret.into(),
        })
    }

    /// A new key of 32 bytes from the OS random source.
    pub fn generate(id: KeyId) -> Self {
        let mut secret = [0u8; Self::MIN_BYTES];
        getrandom::getrandom(&mut secret).expect("the OS random source is available");
        Self {
            id,
            secret: secret.into(),
        }
    }

    /// Its id, which the links it makes carry.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The token of the link for this customer's invitation and nonce.
    pub fn token(&self, customer: &CustomerNumber, invitation: &InvitationId, nonce: &LinkNonce) -> LinkToken {
        let mac = self.mac(&[
            b"cloudhub-invitation-link/3",
            self.id.as_str().as_bytes(),
            customer.as_str().as_bytes(),
            invitation.to_string().as_bytes(),
            nonce.0.as_bytes(),
        ]);
        LinkToken(format!("{}.{customer}.{invitation}.{mac}", self.id).into())
    }

    /// The token a link had before tokens carried the invitation's key (`{keyId}.{mac}`), which
    /// the email of an invitation sent then still carries.
    pub fn legacy_token(&self, invitation: &InvitationId, nonce: &LinkNonce) -> LinkToken {
        let mac = self.mac(&[
            b"cloudhub-invitation-link/2",
            self.id.as_str().as_bytes(),
            invitation.to_string().as_bytes(),
            nonce.0.as_bytes(),
        ]);
        LinkToken(format!("{}.{mac}", self.id).into())
    }

    fn mac(&self, parts: &[&[u8]]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        for part in parts {
            mac.update(part);
            mac.update(b"\0");
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn encoded(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.secret)
    }
}

/// The link keys in force: the current one makes links; links of the previous one still work.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: LinkKey,
    previous: Option<LinkKey>,
}

/// The secret's JSON. Flat, so that CloudFormation can generate the first key
/// (`GenerateStringKey: currentKey`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoredKeyring {
    current_key_id: KeyId,
    current_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_key_id: Option<KeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_key: Option<String>,
}

impl Keyring {
    /// A keyring of one key.
    pub fn single(key: LinkKey) -> Self {
        Self {
            current: key,
            previous: None,
        }
    }

    /// The key new links are made with.
    pub fn current(&self) -> &LinkKey {
        &self.current
    }

    /// The key whose links still work until their 24 hours are over, if any.
    pub fn previous(&self) -> Option<&LinkKey> {
        self.previous.as_ref()
    }

    /// The key named `id`, if it is still in force.
    pub fn key(&self, id: &KeyId) -> Option<&LinkKey> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|key| key.id == *id)
    }

    /// The keyring after a rotation: a new current key, today's current one as the previous,
    /// today's previous one retired.
    pub fn rotated(&self) -> Self {
        let id = std::iter::repeat_with(KeyId::generate)
            .find(|id| self.key(id).is_none())
            .expect("random ids differ eventually");
        Self {
            current: LinkKey::generate(id),
            previous: Some(self.current.clone()),
        }
    }

    /// Reads the secret's text: `{"currentKeyId","currentKey","previousKeyId"?,"previousKey"?}`.
    pub fn from_secret(text: &str) -> Result<Self, InvalidValue> {
        let invalid = |reason: String| InvalidValue::new("invalid-link-key", reason);
        let stored: StoredKeyring = serde_json::from_str(text)
            .map_err(|e| invalid(format!("The link key secret is not a keyring: {}", e.classify_name())))?;
        let current = LinkKey::parse(stored.current_key_id, &stored.current_key)?;
        let previous = match (stored.previous_key_id, stored.previous_key) {
            (Some(id), Some(key)) => Some(LinkKey::parse(id, &key)?),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "The link key secret has a previous key id without a key, or a key without an id.".into(),
                ));
            }
        };
        if [Some(&current), previous.as_ref()]
            .into_iter()
            .flatten()
            .any(|key| key.id == KeyId::none())
        {
            return Err(invalid(format!("A link key may not be named `{}`.", KeyId::none())));
        }
        if previous.as_ref().is_some_and(|previous| previous.id == current.id) {
            return Err(invalid("The link key secret's two keys have the same id.".into()));
        }
        Ok(Self { current, previous })
    }

    /// The secret's text, as [`Keyring::from_secret`] reads it (the operator's rotation writes it).
    pub fn to_secret(&self) -> SecretString {
        let stored = StoredKeyring {
            current_key_id: self.current.id.clone(),
            current_key: self.current.encoded(),
            previous_key_id: self.previous.as_ref().map(|key| key.id.clone()),
            previous_key: self.previous.as_ref().map(LinkKey::encoded),
        };
        serde_json::to_string(&stored).expect("a keyring serialises").into()
    }
}

/// Names the kind of a JSON error without quoting the secret's text back.
trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not JSON",
            serde_json::error::Category::Data => "missing, unknown or malformed fields",
        }
    }
}

/// The bearer secret of one invitation link, `{keyId}.{customer}.{invitationId}.{mac}` (or, sent
/// before tokens carried the invitation's key, `{keyId}.{mac}`). Never printed; only its
/// [`TokenHash`] is stored.
pub struct LinkToken(SecretString);

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken([redacted])")
    }
}

impl LinkToken {
    /// Length of the base64url form of an HMAC-SHA256 without padding.
    const MAC_LEN: usize = 43;

    /// Accepts only the shapes [`LinkKey::token`] and [`LinkKey::legacy_token`] make, so junk
    /// never reaches the store.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let parts: Vec<&str> = raw.split('.').collect();
        let (id, key, mac) = match parts.as_slice() {
            [id, mac] => (id, None, mac),
            [id, customer, invitation, mac] => (id, Some((customer, invitation)), mac),
            _ => (&"", None, &""),
        };
        let well_formed = KeyId::parse(id).is_ok()
            && mac.len() == Self::MAC_LEN
            && URL_SAFE_NO_PAD.decode(mac).is_ok_and(|bytes| bytes.len() == 32)
            && key.is_none_or(|(customer, invitation)| {
                // Only the forms the key makes: a number as normalised, an id as ULIDs print.
                CustomerNumber::parse(customer).is_ok_and(|parsed| parsed.as_str() == *customer)
                    && InvitationId::parse(invitation).is_ok_and(|parsed| parsed.to_string() == **invitation)
            });
        if well_formed {
            Ok(Self(raw.into()))
        } else {
            Err(InvalidValue::new(
                "malformed-token",
                "The token is not one CloudHub issued.",
            ))
        }
    }

    /// The id of the key that made it.
    pub fn key_id(&self) -> KeyId {
        let (id, _) = self
            .0
            .expose_secret()
            .split_once('.')
            .expect("parsed or made with a key id");
        KeyId(id.to_owned())
    }

    /// The customer and the id of the invitation it was made for; `None` for a token made
    /// before tokens carried them (found through its link item instead).
    pub fn invitation_key(&self) -> Option<(CustomerNumber, InvitationId)> {
        let parts: Vec<&str> = self.0.expose_secret().split('.').collect();
        let [_, customer, invitation, _] = parts.as_slice() else {
            return None;
        };
        Some((
            CustomerNumber::parse(customer).ok()?,
            InvitationId::parse(invitation).ok()?,
        ))
    }

    /// The SHA-256 of the token, the only form that is stored or looked up.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.expose_secret())
    }

    /// The token itself, to put into the email's link once.
    pub fn reveal(&self) -> &str {
        self.0.expose_secret()
    }
}

/// What the store keeps of an invitation's current link: the key's id, the nonce and the token's
/// hash. With the keyring it gives the token back; without the key it gives nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    /// The key that made it.
    pub key_id: KeyId,
    /// Its public random part.
    pub nonce: LinkNonce,
    /// The token's hash, by which the link is found.
    pub hash: TokenHash,
}

impl StoredLink {
    /// A new link for `customer`'s `invitation`, made with `key`.
    pub fn new(key: &LinkKey, customer: &CustomerNumber, invitation: &InvitationId) -> Self {
        let nonce = LinkNonce::generate();
        let hash = key.token(customer, invitation, &nonce).hash();
        Self {
            key_id: key.id().clone(),
            nonce,
            hash,
        }
    }

    /// The link's token, if its key is still in `keyring` (a retired key's links are dead): the
    /// form whose hash is the stored one, so that a link stored before tokens carried the
    /// invitation's key is rebuilt as it was sent.
    pub fn token(&self, customer: &CustomerNumber, invitation: &InvitationId, keyring: &Keyring) -> Option<LinkToken> {
        self.token_with(keyring.key(&self.key_id)?, customer, invitation)
    }

    /// The same with its key, if `key` is the one that made it.
    pub fn token_with(&self, key: &LinkKey, customer: &CustomerNumber, invitation: &InvitationId) -> Option<LinkToken> {
        [
            key.token(customer, invitation, &self.nonce),
            key.legacy_token(invitation, &self.nonce),
        ]
        .into_iter()
        .find(|token| token.hash() == self.hash)
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

    fn key(id: &str, byte: u8) -> LinkKey {
        LinkKey::parse(KeyId::parse(id).unwrap(), &URL_SAFE_NO_PAD.encode([byte; 32])).unwrap()
    }

    fn customer(raw: &str) -> CustomerNumber {
        CustomerNumber::parse(raw).unwrap()
    }

    #[test]
    fn a_link_is_reproducible_from_key_id_and_nonce_only() {
        let (acme, id, nonce) = (customer("ACME-1"), InvitationId::generate(), LinkNonce::generate());
        let token = key("k1", 7).token(&acme, &id, &nonce);
        assert_eq!(token.hash(), key("k1", 7).token(&acme, &id, &nonce).hash());
        assert_eq!(
            token.reveal().split('.').take(3).collect::<Vec<_>>(),
            ["k1", "ACME-1", &id.to_string()]
        );
        assert_eq!(token.key_id(), KeyId::parse("k1").unwrap());
        assert_eq!(token.invitation_key(), Some((acme.clone(), id)));
        assert_eq!(LinkToken::parse(token.reveal()).unwrap().hash(), token.hash());
        for other in [
            key("k1", 7).token(&acme, &id, &LinkNonce::generate()),
            key("k1", 7).token(&acme, &InvitationId::generate(), &nonce),
            key("k1", 7).token(&customer("ACME-2"), &id, &nonce),
            key("k1", 8).token(&acme, &id, &nonce),
            key("k2", 7).token(&acme, &id, &nonce),
            key("k1", 7).legacy_token(&id, &nonce),
        ] {
            assert_ne!(other.hash(), token.hash());
        }
    }

    #[test]
    fn a_token_naming_another_invitation_is_not_the_link_of_it() {
        // The MAC covers the key the token names: moving a MAC onto another invitation's key (or
        // the legacy form's MAC into the new form) makes a token no stored hash matches.
        let (acme, id, nonce) = (customer("ACME-1"), InvitationId::generate(), LinkNonce::generate());
        let token = key("k1", 7).token(&acme, &id, &nonce);
        let mac = token.reveal().rsplit_once('.').unwrap().1.to_owned();
        let other = InvitationId::generate();
        let moved = LinkToken::parse(&format!("k1.ACME-1.{other}.{mac}")).unwrap();
        assert_ne!(moved.hash(), key("k1", 7).token(&acme, &other, &nonce).hash());
        let legacy_mac = key("k1", 7)
            .legacy_token(&id, &nonce)
            .reveal()
            .split_once('.')
            .unwrap()
            .1
            .to_owned();
        let dressed = LinkToken::parse(&format!("k1.ACME-1.{id}.{legacy_mac}")).unwrap();
        assert_ne!(dressed.hash(), token.hash());
    }

    #[test]
    fn a_stored_link_gives_back_the_form_it_was_sent_in() {
        let keyring = Keyring::single(key("k1", 7));
        let (acme, id) = (customer("ACME-1"), InvitationId::generate());
        let current = StoredLink::new(keyring.current(), &acme, &id);
        let token = current.token(&acme, &id, &keyring).unwrap();
        assert_eq!(token.hash(), current.hash);
        assert!(token.invitation_key().is_some());
        // A link stored before tokens carried the invitation's key: its old form.
        let nonce = LinkNonce::generate();
        let legacy = StoredLink {
            key_id: KeyId::parse("k1").unwrap(),
            hash: keyring.current().legacy_token(&id, &nonce).hash(),
            nonce,
        };
        let token = legacy.token(&acme, &id, &keyring).unwrap();
        assert_eq!(token.hash(), legacy.hash);
        assert_eq!(token.invitation_key(), None);
        assert!(
            legacy.token(&acme, &id, &Keyring::single(key("k2", 7))).is_none(),
            "retired key"
        );
    }

    #[test]
    fn short_or_malformed_keys_and_tokens_are_refused() {
        let k1 = KeyId::parse("k1").unwrap();
        assert!(LinkKey::parse(k1.clone(), &URL_SAFE_NO_PAD.encode([1u8; 31])).is_err());
        assert!(LinkKey::parse(k1, "not base64 !").is_err());
        for id in ["", "K1", "k-1", "k.1", "abcdefghijklmnopq"] {
            assert!(KeyId::parse(id).is_err(), "{id:?}");
        }
        assert!(!format!("{:?}", key("k1", 7)).contains('7'));
        let id = InvitationId::generate();
        let token = key("k1", 7).token(&customer("ACME-1"), &id, &LinkNonce::generate());
        let mac = token.reveal().rsplit_once('.').unwrap().1.to_owned();
        assert!(LinkToken::parse(&format!("k1.{mac}")).is_ok(), "the legacy form");
        for raw in [
            mac.clone(),
            format!(".{mac}"),
            format!("K1.{mac}"),
            format!("k1.{mac}A"),
            format!("k1.{}", &mac[..42]),
            format!("k1.{}+", &mac[..42]),
            format!("k1.k1.{mac}"),
            format!("k1.acme-1.{id}.{mac}"),
            format!("k1.ACME-1.{}.{mac}", id.to_string().to_lowercase()),
            format!("k1.ACME_1.{id}.{mac}"),
            format!("k1.ACME-1.not-an-id.{mac}"),
            format!("k1.ACME-1.{id}.{mac}.x"),
            format!("k1..{id}.{mac}"),
        ] {
            assert_eq!(LinkToken::parse(&raw).unwrap_err().code, "malformed-token", "{raw:?}");
        }
        assert!(!format!("{token:?}").contains(&mac));
    }

    #[test]
    fn a_rotation_keeps_the_current_key_as_previous_and_retires_the_previous_one() {
        let first = Keyring::single(key("k1", 1));
        let second = first.rotated();
        assert_ne!(second.current().id(), first.current().id());
        assert!(
            second.key(first.current().id()).is_some(),
            "links of the previous key still work"
        );
        let third = second.rotated();
        assert!(third.key(second.current().id()).is_some());
        assert!(third.key(first.current().id()).is_none(), "a retired key is gone");
    }

    #[test]
    fn the_secret_round_trips_and_cloudformations_first_secret_reads() {
        let keyring = Keyring::single(key("k1", 1)).rotated();
        let text = keyring.to_secret();
        let read = Keyring::from_secret(text.expose_secret()).unwrap();
        let (acme, id, nonce) = (customer("ACME-1"), InvitationId::generate(), LinkNonce::generate());
        assert_eq!(
            read.current().token(&acme, &id, &nonce).hash(),
            keyring.current().token(&acme, &id, &nonce).hash()
        );
        assert!(read.key(&KeyId::parse("k1").unwrap()).is_some());
        // What `GenerateSecretString` makes: 64 letters and digits under `currentKey`.
        let generated = format!(r#"{{"currentKeyId":"k1","currentKey":"{}"}}"#, "aZ09".repeat(16));
        assert_eq!(Keyring::from_secret(&generated).unwrap().current().id().as_str(), "k1");
    }

    #[test]
    fn a_malformed_secret_is_refused_without_quoting_it() {
        let secret_text = format!(r#"{{"currentKeyId":"k1","currentKey":"{}","extra":1}}"#, "a".repeat(64));
        for text in [
            "not json".to_owned(),
            secret_text,
            r#"{"currentKeyId":"k1","currentKey":"short"}"#.to_owned(),
            format!(
                r#"{{"currentKeyId":"k1","currentKey":"{0}","previousKeyId":"k1","previousKey":"{0}"}}"#,
                "a".repeat(64)
            ),
            format!(
                r#"{{"currentKeyId":"k1","currentKey":"{}","previousKeyId":"k0"}}"#,
                "a".repeat(64)
            ),
            format!(r#"{{"currentKeyId":"unkeyed","currentKey":"{}"}}"#, "a".repeat(64)),
        ] {
            let error = Keyring::from_secret(&text).unwrap_err();
            assert_eq!(error.code, "invalid-link-key", "{text}");
            assert!(!error.reason.contains("aaaaaaaa"), "{error}");
        }
    }
}
