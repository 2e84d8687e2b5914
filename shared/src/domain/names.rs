use super::InvalidValue;
use icu_normalizer::ComposingNormalizerBorrowed;
use serde::{Deserialize, Deserializer, Serialize};

/// Characters that change how a name reads without being seen: bidirectional embeddings,
/// overrides, isolates and marks (which can show `Admin` for what is stored as `nimdA`, or
/// reorder a company name in an email) and zero-width characters (which make two names that
/// look the same differ).
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'
            | '\u{FEFF}'
    )
}

macro_rules! bounded_name {
    ($(#[$doc:meta])* $name:ident, $max:literal, $code:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
        #[serde(into = "String")]
        pub struct $name(String);

        impl $name {
            /// Trims, then accepts 1 to the maximum number of characters without control,
            /// bidirectional or zero-width characters.
            pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
                let trimmed = raw.trim();
                let chars = trimmed.chars().count();
                if (1..=$max).contains(&chars) && !trimmed.chars().any(|c| c.is_control() || is_invisible_format(c)) {
                    Ok(Self(trimmed.to_owned()))
                } else {
                    Err(InvalidValue::new(
                        $code,
                        format!(
                            concat!(
                                "A ",
                                $what,
                                " has 1 to {} characters and no control, bidirectional or zero-width characters."
                            ),
                            $max
                        ),
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

        impl<'de> Deserialize<'de> for $name {
            /// Reads a name as stored: it was parsed when written, and one written under earlier,
            /// looser rules must stay readable. Request input is parsed with `parse`.
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let stored = String::deserialize(deserializer)?;
                if stored.is_empty() {
                    return Err(serde::de::Error::custom(concat!("a ", $what, " is empty")));
                }
                Ok(Self(stored))
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
    /// A role's name, unique in its customer regardless of case.
    RoleName, 64, "invalid-role-name", "role name"
);

impl RoleName {
    /// What makes two names one within a customer: lower-cased (Unicode) and in NFC, so that
    /// `Sales`, `SALES` and `sales` with a composed or a combining accent cannot sit side by side.
    pub fn unique_key(&self) -> String {
        ComposingNormalizerBorrowed::new_nfc()
            .normalize(&self.0.to_lowercase())
            .into_owned()
    }
}

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

    const INVISIBLE: [char; 17] = [
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}',
    ];

    #[test]
    fn bidirectional_and_zero_width_characters_are_refused_anywhere_in_a_name() {
        for c in INVISIBLE {
            for raw in [format!("Sales{c}"), format!("{c}Sales"), format!("Sa{c}les")] {
                assert_eq!(RoleName::parse(&raw).unwrap_err().code, "invalid-role-name", "{c:?}");
                assert_eq!(
                    CompanyName::parse(&format!("ACME {raw}")).unwrap_err().code,
                    "invalid-company-name",
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn names_in_any_script_and_with_accents_are_accepted() {
        for raw in ["Einkäufer", "Бухгалтерия", "経理", "مشتريات", "Ops & Sales (EU)"] {
            assert_eq!(RoleName::parse(raw).unwrap().as_str(), raw);
            assert_eq!(CompanyName::parse(raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn role_names_that_differ_only_in_case_or_composition_have_one_key() {
        let key = |raw: &str| RoleName::parse(raw).unwrap().unique_key();
        assert_eq!(key("Sales"), key("SALES"));
        assert_eq!(key(" sales "), key("Sales"));
        assert_eq!(key("Café"), key("CAFE\u{301}"));
        assert_eq!(key("ÄRGER"), key("ärger"));
        assert_ne!(key("Sales"), key("Sale"));
    }

    #[test]
    fn stored_names_read_back_as_stored() {
        let stored: RoleName = serde_json::from_str("\"Sales\u{200B}\"").unwrap();
        assert_eq!(stored.as_str(), "Sales\u{200B}");
        assert!(serde_json::from_str::<CompanyName>("\"\"").is_err());
    }
}
