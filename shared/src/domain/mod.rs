//! Values that cannot be invalid: each is parsed once, at the edge, and trusted from then on.

mod customer_number;
mod email;
mod ids;
mod language;
mod names;
mod password;
mod permission;
mod source_address;
pub mod timestamp;
mod token;

pub use customer_number::CustomerNumber;
pub use email::Email;
pub use ids::{InvitationId, RoleId, UserId};
pub use language::Language;
pub use names::{CompanyName, RoleName};
pub use password::{Password, PasswordHash, PasswordPolicy};
pub use permission::{Permission, is_restricted};
pub use source_address::SourceAddress;
pub use token::{SecretToken, TokenHash};

/// A role as the API names it: its id and name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    /// The role.
    pub id: RoleId,
    /// Its name.
    pub name: RoleName,
}

/// A signed-in user acting as an admin of a customer. Whether the user is one is not known yet:
/// every write of an admin's use case checks it in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// The account.
    pub user_id: UserId,
    /// Its email address (an invitation names it as the sender).
    pub email: Email,
}

/// Why a raw value was refused, with the stable problem `code` the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidValue {
    /// Stable machine-readable code, e.g. `invalid-email`.
    pub code: &'static str,
    /// A sentence for humans that names what was wrong.
    pub reason: String,
}

impl InvalidValue {
    pub(crate) fn new(code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}
