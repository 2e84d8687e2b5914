use super::InvalidValue;
use serde::{Deserialize, Serialize};

macro_rules! bounded_name {
    ($(#[$doc:meta])* $name:ident, $max:literal, $code:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Trims, then accepts 1 to the maximum number of characters without control characters.
            pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
                let trimmed = raw.trim();
                let chars = trimmed.chars().count();
                if (1..=$max).contains(&chars) && !trimmed.chars().any(char::is_control) {
                    Ok(Self(trimmed.to_owned()))
                } else {
                    Err(InvalidValue::new(
                        $code,
                        format!(concat!("A ", $what, " has 1 to {} characters and no control characters."), $max),
                    ))
                }
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

bounded_name!(
    /// A customer's company name, as shown in emails and the portal.
    CompanyName, 200, "invalid-company-name", "company name"
);
bounded_name!(
    /// A role's name, unique in meaning only to its customer's admins.
    RoleName, 64, "invalid-role-name", "role name"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(CompanyName::parse("  ACME GmbH ").unwrap().as_str(), "ACME GmbH");
        assert_eq!(RoleName::parse(&"r".repeat(64)).unwrap().as_str().len(), 64);
        assert_eq!(RoleName::parse(&"r".repeat(65)).unwrap_err().code, "invalid-role-name");
        assert_eq!(CompanyName::parse("   ").unwrap_err().code, "invalid-company-name");
        assert_eq!(CompanyName::parse("a\u{0}b").unwrap_err().code, "invalid-company-name");
    }
}
