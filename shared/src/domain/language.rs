use serde::{Deserialize, Serialize};

/// The languages CloudHub speaks, in its screens and its emails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English, the default.
    #[default]
    En,
    /// German.
    De,
}

impl Language {
    /// Parses `en` or `de`.
    pub fn parse(raw: &str) -> Result<Self, super::InvalidValue> {
        match raw {
            "en" => Ok(Self::En),
            "de" => Ok(Self::De),
            other => Err(super::InvalidValue::new(
                "invalid-language",
                format!("`{other}` is not a supported language (en, de)."),
            )),
        }
    }

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_english_and_german_are_languages() {
        assert_eq!(Language::parse("de").unwrap(), Language::De);
        assert_eq!(Language::parse("en").unwrap().code(), "en");
        for raw in ["", "EN", "fr", "de-DE"] {
            assert_eq!(Language::parse(raw).unwrap_err().code, "invalid-language");
        }
    }
}
