//! The role lock, and the conditions other writes put on a role.
//!
//! While a role is edited or deleted, its item carries `changingUntil` (epoch seconds): the
//! change holds the role, so invites, role assignments and accepts that name it are refused
//! meanwhile and none can slip in between the change's read of the holders and its write. A
//! crashed change's lock runs out after [`LOCK_FOR`].

use super::{RoleItem, attr, key};
use crate::domain::{Admin, CustomerNumber, Permission, RoleId, RoleName};
use crate::store::stamp::{self, ChangeKind};
use crate::store::transactions::{Part, Refused};
use crate::store::{IntoTransactionItem as _, Store, Updated, epoch_seconds, number, text, value};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

/// How long a change may hold a role before others may take it over (a crashed change).
pub(crate) const LOCK_FOR: Duration = Duration::seconds(60);

/// Not being changed now (or the change's lock has run out).
const NOT_LOCKED: &str = "(attribute_not_exists(#changing) OR #changing < :now)";

/// A role held by one change, until `until`.
#[derive(Debug)]
pub(crate) struct Locked {
    /// The role as it was when the lock was taken.
    pub role: RoleItem,
    /// The lock's expiry (epoch seconds); the change's write requires it unchanged.
    pub until: i64,
}

/// Why a role could not be locked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    /// No such role.
    #[error("There is no such role.")]
    NotFound,
    /// Another change holds it.
    #[error("The role is being changed.")]
    Held,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Takes the role's lock (one conditional UpdateItem) and returns the role as it is.
pub(crate) async fn lock(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    now: OffsetDateTime,
) -> Result<Locked, LockError> {
    let until = epoch_seconds(now + LOCK_FOR);
    let update = store
        .update_item(key(customer, role))
        .update_expression("SET #changing = :until")
        .condition_expression(format!("attribute_exists(PK) AND {NOT_LOCKED}"))
        .expression_attribute_names("#changing", attr::CHANGING_UNTIL)
        .expression_attribute_values(":until", number(until))
        .expression_attribute_values(":now", number(epoch_seconds(now)));
    match store.update_returning::<RoleItem>(update, "a role's lock").await? {
        Updated::Done(role) => Ok(Locked { role, until }),
        Updated::Refused(Some(_)) => Err(LockError::Held),
        Updated::Refused(None) => Err(LockError::NotFound),
    }
}

/// Releases the lock if it is still this change's; a failure only means it runs out by itself.
pub(crate) async fn unlock(store: &Store, customer: &CustomerNumber, locked: &Locked) {
    let result = store
        .update_item(key(customer, &locked.role.id))
        .update_expression("REMOVE #changing")
        .condition_expression("#changing = :until")
        .expression_attribute_names("#changing", attr::CHANGING_UNTIL)
        .expression_attribute_values(":until", number(locked.until))
        .send()
        .await;
    if let Err(error) = result {
        tracing::warn!(error = %error, "a role lock was not released; it expires by itself");
    }
}

/// The edit's write of the role: its new name and permissions, the name claimed, the revision
/// up and the lock released; only while the lock is still this change's.
pub(crate) fn write_edit(
    store: &Store,
    customer: &CustomerNumber,
    locked: &Locked,
    name: &RoleName,
    permissions: &BTreeSet<Permission>,
    admin: &Admin,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let update = store
        .update(key(customer, &locked.role.id))
        .update_expression(
            "SET #name = :name, #permissions = :permissions, #claimed = :true, #change = :change \
             ADD #revision :one REMOVE #changing",
        )
        .condition_expression("#changing = :until")
        .expression_attribute_names("#name", attr::NAME)
        .expression_attribute_names("#permissions", attr::PERMISSIONS)
        .expression_attribute_names("#claimed", attr::NAME_CLAIMED)
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_names("#changing", attr::CHANGING_UNTIL)
        .expression_attribute_values(":name", text(name))
        .expression_attribute_values(":permissions", value(permissions)?)
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .expression_attribute_values(":one", number(1))
        .expression_attribute_values(":until", number(locked.until));
    stamp::stamped_by(ChangeKind::RoleEdited, admin.user_id, &admin.email, now)
        .onto(update)?
        .into_item()
}

/// The delete's write of the role; only while the lock is still this change's.
pub(crate) fn write_delete(
    store: &Store,
    customer: &CustomerNumber,
    locked: &Locked,
) -> anyhow::Result<TransactWriteItem> {
    store
        .delete(key(customer, &locked.role.id))
        .condition_expression("#changing = :until")
        .expression_attribute_names("#changing", attr::CHANGING_UNTIL)
        .expression_attribute_values(":until", number(locked.until))
        .into_item()
}

/// The transaction item that checks a role exists and is not being changed (invites). On
/// failure the refusal carries the role if it exists, so [`refused_roles`] can tell an unknown
/// role from one being changed.
pub(crate) fn usable(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    store
        .check(key(customer, role))
        .condition_expression(format!("attribute_exists(PK) AND {NOT_LOCKED}"))
        .expression_attribute_names("#changing", attr::CHANGING_UNTIL)
        .expression_attribute_values(":now", number(epoch_seconds(now)))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .into_item()
}

/// The transaction item that checks a role is not being changed, or is gone (a member giving a
/// role up: an edit holding it counted the member as a holder).
pub(crate) fn not_locked(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    store
        .check(key(customer, role))
        .condition_expression(format!("attribute_not_exists(PK) OR {NOT_LOCKED}"))
        .expression_attribute_names("#changing", attr::CHANGING_UNTIL)
        .expression_attribute_values(":now", number(epoch_seconds(now)))
        .into_item()
}

/// The transaction item that checks a role is as it was read: still there, the same revision
/// (a role stored before revisions counts as revision 0), and not being changed (accepts and
/// role assignments, which copy its name and permissions).
pub(crate) fn unchanged(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleItem,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    store
        .check(key(customer, &role.id))
        .condition_expression(format!(
            "attribute_exists(PK) AND (#revision = :revision OR (attribute_not_exists(#revision) AND :revision = :zero)) \
             AND {NOT_LOCKED}"
        ))
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_names("#changing", attr::CHANGING_UNTIL)
        .expression_attribute_values(":revision", number(role.revision))
        .expression_attribute_values(":zero", number(0))
        .expression_attribute_values(":now", number(epoch_seconds(now)))
        .into_item()
}

/// The transaction item that checks a role nobody read is still there, not being changed, and
/// grants no `user-management` (an accept's first attempt, which grants the invitation's roles
/// without reading them and so makes no admin): whatever it grants otherwise, the member holds
/// it by id and its permissions are resolved when read. A refusal sends the accept back to read
/// the role and require it [`unchanged`].
pub(crate) fn grants_no_admin(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    store
        .check(key(customer, role))
        .condition_expression(format!(
            "attribute_exists(PK) AND NOT contains(#permissions, :admin) AND {NOT_LOCKED}"
        ))
        .expression_attribute_names("#permissions", attr::PERMISSIONS)
        .expression_attribute_names("#changing", attr::CHANGING_UNTIL)
        .expression_attribute_values(":admin", text(Permission::UserManagement.code()))
        .expression_attribute_values(":now", number(epoch_seconds(now)))
        .into_item()
}

/// Why [`usable`] checks refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RolesRefused {
    /// These roles do not exist.
    Unknown(Vec<RoleId>),
    /// This role is being changed.
    BeingChanged(RoleId),
}

/// The roles whose [`usable`] checks failed: unknown ones first, else the first being changed.
pub(crate) fn refused_roles(refused: &Refused) -> Option<RolesRefused> {
    let failed: Vec<(RoleId, bool)> = refused
        .failures()
        .filter_map(|(part, item)| match part {
            Part::Role(id) => Some((*id, item.is_some())),
            _ => None,
        })
        .collect();
    let unknown: Vec<RoleId> = failed.iter().filter(|(_, exists)| !exists).map(|(id, _)| *id).collect();
    match failed.first() {
        None => None,
        Some(_) if !unknown.is_empty() => Some(RolesRefused::Unknown(unknown)),
        Some((id, _)) => Some(RolesRefused::BeingChanged(*id)),
    }
}
