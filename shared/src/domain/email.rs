use super::InvalidValue;
use email_address::{EmailAddress, Options};
use serde::{Deserialize, Serialize};

/// An email address with valid syntax, trimmed and lower-cased: one account per address,
/// compared case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// RFC 5321's limit on a forward path.
    const MAX_LEN: usize = 254;

    /// Accepts `local@domain.tld`; refuses display names, domain literals and single-label domains.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let candidate = raw.trim();
        let refuse = || InvalidValue::new("invalid-email", format!("`{candidate}` is not a valid email address."));
        if candidate.is_empty() || candidate.len() > Self::MAX_LEN {
            return Err(refuse());
        }
        let options = Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        EmailAddress::parse_with_options(candidate, options).map_err(|_| refuse())?;
        Ok(Self(candidate.to_lowercase()))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_are_accepted_and_lower_cased() {
        assert_eq!(
            Email::parse("Anna.Schmidt@Example.COM").unwrap().as_str(),
            "anna.schmidt@example.com"
        );
        assert_eq!(
            Email::parse("  a+tag@sub.example.de ").unwrap().as_str(),
            "a+tag@sub.example.de"
        );
    }

    #[test]
    fn invalid_addresses_are_refused_with_a_stable_code() {
        for raw in [
            "",
            "   ",
            "plainaddress",
            "@example.com",
            "anna@",
            "anna@localhost",
            "anna@@example.com",
            "Anna <anna@example.com>",
            "anna@[127.0.0.1]",
            "anna example@example.com",
        ] {
            let err = Email::parse(raw).unwrap_err();
            assert_eq!(err.code, "invalid-email", "{raw:?} should be refused");
        }
    }

    #[test]
    fn overlong_addresses_are_refused() {
        let raw = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&raw).is_err());
    }
}
