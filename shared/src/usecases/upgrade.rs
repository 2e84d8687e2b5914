//! Operators' steps after upgrading: data written by an earlier version made whole.

use crate::customers::{self, admin_state};
use crate::domain::{CustomerNumber, Permission, RoleId, UserId};
use crate::roles;
use crate::seats;
use crate::store::transactions::{Part, Transaction, TransactionError};
use crate::store::{IntoTransactionItem as _, Store, number};
use std::collections::BTreeSet;

/// What [`write_admin_set`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSetWritten {
    /// The customer's admins: the members whose roles grant `user-management`.
    pub admins: BTreeSet<UserId>,
    /// Admins the set named already.
    pub kept: usize,
    /// Admins added to it now.
    pub added: usize,
    /// Ids it named that are no admins (removed now).
    pub removed: usize,
}

/// Writes a customer's admin set (and sets its admin and member counts) from its member seats
/// and what their roles grant:
/// once after upgrading to admin sets, for customers created before (their admins pass no
/// admin check until then). Safe to run again; refused (run again) if an admin change landed
/// meanwhile. Two reads (roles and member seats; the admin set and customer item) and one
/// transaction.
pub async fn write_admin_set(store: &Store, customer: &CustomerNumber) -> anyhow::Result<AdminSetWritten> {
    let (roles, seats, state) = tokio::try_join!(
        roles::items(store, customer),
        seats::members(store, customer),
        admin_state(store, customer),
    )?;
    let admin_roles: BTreeSet<RoleId> = roles
        .iter()
        .filter(|role| role.permissions.contains(&Permission::UserManagement))
        .map(|role| role.id)
        .collect();
    let admins: BTreeSet<UserId> = seats
        .iter()
        .filter(|seat| seat.role_ids.iter().any(|role| admin_roles.contains(role)))
        .filter_map(|seat| seat.user_id)
        .collect();
    anyhow::ensure!(
        !admins.is_empty(),
        "Customer {customer} has no member holding an admin role."
    );
    let before = customers::admins_of(&state.shards);
    let (writes, _, _) = customers::change_admins(
        store,
        customer,
        &state.shards,
        &admins,
        &before.difference(&admins).copied().collect(),
        None,
    )?;
    let mut transaction = Transaction::new(store);
    for write in writes {
        transaction.add(Part::AdminSet, write);
    }
    let count = store
        .update(customers::key(customer))
        .update_expression("SET #count = :count, #members = :members ADD #revision :one")
        .condition_expression(
            "attribute_exists(PK) AND (#revision = :seen OR (attribute_not_exists(#revision) AND :seen = :zero))",
        )
        .expression_attribute_names("#count", customers::attr::ADMIN_COUNT)
        .expression_attribute_names("#members", customers::attr::MEMBER_COUNT)
        .expression_attribute_values(":members", number(i64::try_from(seats.len())?))
        .expression_attribute_names("#revision", customers::attr::ADMIN_ROLES_REVISION)
        .expression_attribute_values(":count", number(i64::try_from(admins.len())?))
        .expression_attribute_values(":one", number(1))
        .expression_attribute_values(":zero", number(0))
        .expression_attribute_values(":seen", number(i64::try_from(state.roles_revision)?))
        .into_item()?;
    transaction.add(Part::Customer, count);
    match transaction.commit("write a customer's admin set").await {
        Ok(()) => {}
        Err(TransactionError::Refused(_)) | Err(TransactionError::Contention) => {
            anyhow::bail!("The admins of customer {customer} changed meanwhile; run the command again.")
        }
        Err(TransactionError::Other(error)) => return Err(error),
    }
    let kept = admins.intersection(&before).count();
    Ok(AdminSetWritten {
        kept,
        added: admins.len() - kept,
        removed: before.difference(&admins).count(),
        admins,
    })
}
