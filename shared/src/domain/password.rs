use super::InvalidValue;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use icu_normalizer::ComposingNormalizerBorrowed;
use secrecy::{ExposeSecret, SecretString};

/// A password as typed by a person, in Unicode NFC (NIST SP 800-63B): `café` typed with a
/// combining accent and with a precomposed `é` is one password. Never printed, never logged.
#[derive(Clone)]
pub struct Password {
    normalised: SecretString,
    /// The password as typed, when NFC changed it: hashes stored before passwords were
    /// normalised were made from this form.
    as_typed: Option<SecretString>,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Which passwords CloudHub accepts.
pub enum PasswordPolicy {
    /// A password chosen now: 10 to 128 characters, not only spaces.
    New,
    /// A password offered at log-in: anything up to 1024 bytes, so that the policy
    /// in force today does not lock out accounts created under an earlier one.
    Existing,
}

impl Password {
    /// Fewest characters a new password may have.
    pub const MIN_CHARS: usize = 10;
    /// Most characters a new password may have.
    pub const MAX_CHARS: usize = 128;
    const MAX_EXISTING_BYTES: usize = 1024;

    /// Takes a password under the given policy, which counts the NFC form.
    pub fn parse(raw: String, policy: PasswordPolicy) -> Result<Self, InvalidValue> {
        let raw = SecretString::from(raw);
        let normalised = SecretString::from(
            ComposingNormalizerBorrowed::new_nfc()
                .normalize(raw.expose_secret())
                .into_owned(),
        );
        let nfc = normalised.expose_secret();
        let acceptable = match policy {
            PasswordPolicy::New => {
                let chars = nfc.chars().count();
                (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) && !nfc.trim().is_empty()
            }
            PasswordPolicy::Existing => !nfc.is_empty() && nfc.len() <= Self::MAX_EXISTING_BYTES,
        };
        if !acceptable {
            return Err(InvalidValue::new(
                "invalid-password",
                format!(
                    "A password has {} to {} characters and is not only spaces.",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        let as_typed = (raw.expose_secret() != normalised.expose_secret()).then_some(raw);
        Ok(Self { normalised, as_typed })
    }

    /// Whether a password offered under the `Existing` policy would also pass as a new one.
    pub fn check_new(&self) -> Result<(), InvalidValue> {
        Self::parse(self.normalised.expose_secret().to_owned(), PasswordPolicy::New).map(drop)
    }

    /// Hashes with argon2id on a blocking thread: it takes tens of milliseconds of CPU by design.
    pub async fn hash(self) -> anyhow::Result<PasswordHash> {
        tokio::task::spawn_blocking(move || self.hash_blocking()).await?
    }

    fn hash_blocking(&self) -> anyhow::Result<PasswordHash> {
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).map_err(|e| anyhow::anyhow!("reading the OS random source: {e}"))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("encoding a salt: {e}"))?;
        let phc = hasher()
            .hash_password(self.normalised.expose_secret().as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
        Ok(PasswordHash(phc.to_string()))
    }
}

/// OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    keep_large_allocations_mapped();
    let params = Params::new(19 * 1024, 2, 1, None).expect("argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// glibc raises its mmap threshold when a large mapped block is freed; from then on argon2's
/// 19 MiB block array comes from the heap, where the aligned arrays fragment it: resident memory
/// then grew by about 19 MiB per hash, to some 150 MiB after 8 (`cargo bench -p cloudhub --bench
/// argon2` prints the growth; `tests/argon2_memory.rs` fails on it). A fixed threshold keeps every such array mapped and returns it
/// to the system when freed, so a warm function stays at one array. The price: mapping fresh
/// pages costs 2 to 3 ms per hash (of ~40 in the release build).
fn keep_large_allocations_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static PINNED: std::sync::Once = std::sync::Once::new();
        PINNED.call_once(|| {
            // SAFETY: mallopt only changes allocator tuning; any value is valid for this option.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
            }
        });
    }
}

/// An argon2id hash in PHC string form, as stored. Debug output hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// A hash of a random password nobody knows, with the same parameters as real ones: log-in
/// verifies against it when the email is unknown, so both answers take the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Y2xvdWRodWItZHVtbXktc2FsdA$ZCmVe6pe6Z4FN9ySl2AoRLyOTBwUPVIqOrLnpQH/dKA";

impl PasswordHash {
    /// Wraps a PHC string read from the store.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storing.
    pub fn as_stored(&self) -> &str {
        &self.0
    }

    /// The stand-in hash for unknown accounts; see `DUMMY_HASH`.
    pub fn dummy() -> Self {
        Self(DUMMY_HASH.to_owned())
    }

    /// Checks a password on a blocking thread. A malformed stored hash verifies nothing.
    pub async fn verify(self, password: Password) -> anyhow::Result<bool> {
        Ok(tokio::task::spawn_blocking(move || self.verify_blocking(&password)).await?)
    }

    fn verify_blocking(&self, password: &Password) -> bool {
        let Ok(parsed) = argon2::password_hash::PasswordHash::new(&self.0) else {
            tracing::error!("a stored password hash is not a PHC string");
            return false;
        };
        let verifies = |form: &SecretString| {
            hasher()
                .verify_password(form.expose_secret().as_bytes(), &parsed)
                .is_ok()
        };
        // A hash made before passwords were normalised holds the form as typed then; trying it
        // second keeps such accounts working without knowing which kind of hash this is.
        verifies(&password.normalised) || password.as_typed.as_ref().is_some_and(verifies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_password(raw: &str) -> Result<Password, InvalidValue> {
        Password::parse(raw.to_owned(), PasswordPolicy::New)
    }

    #[test]
    fn new_passwords_follow_the_length_policy() {
        assert!(new_password("correct horse").is_ok());
        assert!(
            new_password(&"ä".repeat(10)).is_ok(),
            "characters, not bytes, are counted"
        );
        assert!(new_password(&"x".repeat(128)).is_ok());
        for raw in ["", "short", "123456789", &" ".repeat(12), &"x".repeat(129)] {
            assert_eq!(new_password(raw).unwrap_err().code, "invalid-password", "{raw:?}");
        }
    }

    #[test]
    fn log_in_passwords_are_only_bounded() {
        assert!(Password::parse("short".into(), PasswordPolicy::Existing).is_ok());
        assert!(Password::parse(String::new(), PasswordPolicy::Existing).is_err());
        assert!(Password::parse("x".repeat(1025), PasswordPolicy::Existing).is_err());
    }

    #[test]
    fn passwords_and_hashes_never_print() {
        let password = new_password("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
        assert!(!format!("{:?}", PasswordHash::dummy()).contains("argon2"));
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = new_password("correct horse battery").unwrap().hash().await.unwrap();
        assert!(hash.as_stored().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hash.clone()
                .verify(new_password("correct horse battery").unwrap())
                .await
                .unwrap()
        );
        assert!(!hash.verify(new_password("wrong horse battery").unwrap()).await.unwrap());
    }

    const DECOMPOSED: &str = "cafe\u{301} au lait, bitte";
    const PRECOMPOSED: &str = "caf\u{e9} au lait, bitte";

    #[tokio::test]
    async fn both_unicode_spellings_of_a_password_verify_against_a_hash_of_either() {
        for hashed in [DECOMPOSED, PRECOMPOSED] {
            let hash = new_password(hashed).unwrap().hash().await.unwrap();
            for typed in [DECOMPOSED, PRECOMPOSED] {
                let password = Password::parse(typed.into(), PasswordPolicy::Existing).unwrap();
                assert!(hash.verify_blocking(&password), "hashed {hashed:?}, typed {typed:?}");
            }
            assert!(!hash.verify_blocking(&new_password("cafe au lait, bitte").unwrap()));
        }
    }

    #[test]
    fn a_hash_made_before_normalisation_still_verifies_the_password_as_typed() {
        let salt = SaltString::encode_b64(b"legacy-salt-0000").unwrap();
        let legacy = PasswordHash(
            hasher()
                .hash_password(DECOMPOSED.as_bytes(), &salt)
                .unwrap()
                .to_string(),
        );
        assert!(legacy.verify_blocking(&new_password(DECOMPOSED).unwrap()));
        assert!(!legacy.verify_blocking(&new_password("cafe au lait, bitte").unwrap()));
    }

    #[test]
    fn the_length_policy_counts_the_normalised_password() {
        // Ten characters once composed, though typed as twenty code points.
        assert!(new_password(&"e\u{301}".repeat(10)).is_ok());
        assert_eq!(
            new_password(&"e\u{301}".repeat(5)).unwrap_err().code,
            "invalid-password"
        );
        assert!(new_password(&"e\u{301}".repeat(128)).is_ok());
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_costs() {
        let dummy = argon2::password_hash::PasswordHash::new(DUMMY_HASH).unwrap();
        let real = hasher();
        let params = Params::try_from(&dummy).unwrap();
        assert_eq!(dummy.algorithm.as_str(), "argon2id");
        assert_eq!(params.m_cost(), real.params().m_cost());
        assert_eq!(params.t_cost(), real.params().t_cost());
        assert_eq!(params.p_cost(), real.params().p_cost());
        assert_eq!(
            params.output_len(),
            real.params().output_len().or(Some(Params::DEFAULT_OUTPUT_LEN))
        );
    }

    #[test]
    fn a_malformed_stored_hash_verifies_nothing() {
        let hash = PasswordHash::from_stored("not a phc string".into());
        assert!(!hash.verify_blocking(&new_password("correct horse battery").unwrap()));
    }
}
