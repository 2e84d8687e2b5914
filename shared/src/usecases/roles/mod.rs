//! Editing and deleting a role. Memberships copy their roles' names and permissions, and open
//! invitations name roles by id, so a change reaches every holder in the same transaction as
//! the role itself. While it is computed, the role is locked ([`crate::roles::lock`]): invites,
//! role assignments and accepts that name it are refused meanwhile, so none can slip in between
//! the read of the holders and the write, and no invitation keeps a role that was deleted.

mod delete;
mod edit;
mod usage;

pub use delete::{Holding, delete};
pub use edit::{Edited, edit};
pub use usage::{RoleUsage, usage};

use crate::domain::RoleName;
use crate::roles::lock::LockError;

/// Why a role change was refused. A refused change wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum RoleChangeError {
    /// The caller is not an admin of the customer.
    #[error("Only an admin of this customer may manage its roles.")]
    NotAdmin,
    /// No such role in the customer.
    #[error("There is no such role in this customer.")]
    NotFound,
    /// Another change of the role is under way, or what it reaches changed meanwhile.
    #[error("This role is being changed right now; try again in a moment.")]
    Busy,
    /// Members hold the role; it is not deleted without the request's confirmation.
    #[error(
        "{members} member(s) hold this role. Assign them other roles first, or confirm that they lose it (`?confirm=remove-from-members`)."
    )]
    InUse {
        /// How many.
        members: u32,
    },
    /// Another role of the customer has the new name (in any case).
    #[error("Another role of this customer is called `{0}` already (names are compared regardless of case).")]
    NameTaken(RoleName),
    /// The change would leave the customer without an admin.
    #[error("This change would leave the customer without any admin.")]
    LastAdmin,
    /// Other requests kept conflicting.
    #[error("The service is busy.")]
    Contention,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<LockError> for RoleChangeError {
    fn from(error: LockError) -> Self {
        match error {
            LockError::NotFound => Self::NotFound,
            LockError::Held => Self::Busy,
            LockError::Unexpected(error) => Self::Unexpected(error),
        }
    }
}
