use super::InvalidValue;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $code:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Ulid);

        impl $name {
            /// A new id; ULIDs sort by creation time.
            pub fn generate() -> Self {
                Self(Ulid::new())
            }

            /// Parses the 26-character ULID form (case-insensitive).
            pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
                Ulid::from_string(raw)
                    .map(Self)
                    .map_err(|_| InvalidValue::new($code, format!("`{raw}` is not a valid {}.", $what)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
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
                value.0.to_string()
            }
        }
    };
}

ulid_id!(
    /// Identifies an account.
    UserId, "invalid-user-id", "user id"
);
ulid_id!(
    /// Identifies a role within its customer.
    RoleId, "invalid-role-id", "role id"
);
ulid_id!(
    /// Identifies an invitation within its customer.
    InvitationId, "invalid-invitation-id", "invitation id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_text_form() {
        let id = RoleId::generate();
        assert_eq!(RoleId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(RoleId::parse(&id.to_string().to_lowercase()).unwrap(), id);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for raw in ["", "123", "01J0000000000000000000000!", "ZZZZZZZZZZZZZZZZZZZZZZZZZZZ"] {
            assert_eq!(UserId::parse(raw).unwrap_err().code, "invalid-user-id", "{raw:?}");
        }
    }
}
