use super::InvalidValue;
use serde::{Deserialize, Serialize};

/// A customer's number, the tenant's identity in URLs and emails: 1 to 20 ASCII letters, digits
/// or hyphens, stored upper-cased so `ab-1` and `AB-1` are one customer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomerNumber(String);

impl CustomerNumber {
    const MAX_LEN: usize = 20;

    /// Parses a customer number as typed by an operator or found in a path.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if valid {
            Ok(Self(raw.to_ascii_uppercase()))
        } else {
            Err(InvalidValue::new(
                "invalid-customer-number",
                format!("`{raw}` is not a customer number (1 to 20 letters, digits or hyphens)."),
            ))
        }
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CustomerNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CustomerNumber {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CustomerNumber> for String {
    fn from(value: CustomerNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_upper_cased() {
        assert_eq!(CustomerNumber::parse("100234").unwrap().as_str(), "100234");
        assert_eq!(CustomerNumber::parse("de-42a").unwrap().as_str(), "DE-42A");
    }

    #[test]
    fn empty_long_or_odd_numbers_are_refused() {
        for raw in ["", "1".repeat(21).as_str(), "10 02", "10/02", "ü1", "CUSTOMER#1"] {
            assert_eq!(
                CustomerNumber::parse(raw).unwrap_err().code,
                "invalid-customer-number",
                "{raw:?}"
            );
        }
    }
}
