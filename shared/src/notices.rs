//! What the API tells a user in words: a stable code the frontend can translate itself, and the
//! sentence in the user's language (English or German) for a frontend that shows it as it is.

use crate::domain::Language;
use serde::Serialize;

/// A sentence for the user, with its stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Stable, e.g. `no-customer-access`.
    pub code: &'static str,
    /// The sentence in the user's language.
    pub text: &'static str,
}

/// A user with no customer (any more): only language settings and log-out remain.
pub fn no_customer_access(language: Language) -> Notice {
    Notice {
        code: "no-customer-access",
        text: match language {
            Language::En => {
                "You have no access to any customer. Only your language settings and log-out remain. \
                 To be given access, contact an admin of a customer; you can also delete your account yourself, in Settings."
            }
            Language::De => {
                "Sie haben keinen Zugang zu einem Kunden. Nur Ihre Spracheinstellungen und das Abmelden stehen Ihnen offen. \
                 Für einen Zugang wenden Sie sich an einen Admin eines Kunden; Ihr Konto können Sie auch selbst löschen, unter Einstellungen."
            }
        },
    }
}

/// A user who just left its last customer.
pub fn left_last_customer(language: Language) -> Notice {
    Notice {
        code: "left-last-customer",
        text: match language {
            Language::En => {
                "You no longer have access to any customer. Only your language settings and log-out remain. \
                 To be given access again, contact an admin of a customer; you can also delete your account yourself, in Settings."
            }
            Language::De => {
                "Sie haben keinen Zugang mehr zu einem Kunden. Nur Ihre Spracheinstellungen und das Abmelden stehen Ihnen offen. \
                 Für einen erneuten Zugang wenden Sie sich an einen Admin eines Kunden; Ihr Konto können Sie auch selbst löschen, unter Einstellungen."
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_notice_has_one_code_and_a_sentence_per_language() {
        for notice in [no_customer_access, left_last_customer] {
            let (en, de) = (notice(Language::En), notice(Language::De));
            assert_eq!(en.code, de.code);
            assert_ne!(en.text, de.text);
            assert!(de.text.contains("Zugang") && en.text.contains("access"));
            // Deleting the account is the user's own step now (`DELETE /me`), not support's.
            assert!(!en.text.contains("support") && !de.text.contains("Support"), "{en:?}");
            assert!(en.text.contains("delete your account yourself") && de.text.contains("selbst löschen"));
        }
        assert_ne!(
            no_customer_access(Language::En).code,
            left_last_customer(Language::En).code
        );
    }
}
