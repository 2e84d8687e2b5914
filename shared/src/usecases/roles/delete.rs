//! Deleting a role no member holds, and removing it from every invitation that names it.

use super::RoleChangeError;
use super::usage::{RoleUsage, holders};
use crate::domain::{CustomerNumber, RoleId, UserId};
use crate::invitations;
use crate::memberships::{admin_check, is_admin};
use crate::roles::lock::{Locked, lock, unlock, write_delete};
use crate::roles::release_name_claim;
use crate::store::Store;
use crate::store::transactions::{MAX_ITEMS, Part, Transaction, TransactionError};
use aws_sdk_dynamodb::types::TransactWriteItem;
use time::OffsetDateTime;

/// Items the last transaction of a delete carries besides invitations: the admin check, the
/// role, and its name's claim.
const DELETE_OVERHEAD: usize = 3;
/// Invitations updated per transaction while a role is deleted.
const INVITATIONS_PER_TRANSACTION: usize = MAX_ITEMS - DELETE_OVERHEAD;

/// Deletes a role no member holds and removes it from every invitation that names it.
/// Refused (409) while members hold it: they would silently lose access.
pub async fn delete(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    role_id: &RoleId,
    now: OffsetDateTime,
) -> Result<RoleUsage, RoleChangeError> {
    if !is_admin(store, customer, admin).await? {
        return Err(RoleChangeError::NotAdmin);
    }
    let locked = lock(store, customer, role_id, now).await?;
    let result = delete_locked(store, admin, customer, &locked, now).await;
    if result.is_err() {
        unlock(store, customer, &locked).await;
    }
    result
}

async fn delete_locked(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    locked: &Locked,
    now: OffsetDateTime,
) -> Result<RoleUsage, RoleChangeError> {
    let role = &locked.role;
    // With the role locked no invite can add it, so the holders read now are all there are.
    let holders = holders(store, customer).await?;
    let usage = holders.usage_of(&role.id, now);
    if usage.members > 0 {
        return Err(RoleChangeError::InUse { members: usage.members });
    }
    let strips = holders
        .invitations_naming(&role.id)
        .into_iter()
        .map(|invitation| invitations::strip_role(store, customer, &invitation.id, &invitation.role_ids, &role.id))
        .collect::<anyhow::Result<Vec<TransactWriteItem>>>()?;
    // Earlier batches only strip the role from invitations; the last one deletes the role. A
    // crash in between leaves the role locked for a minute and then deletable again.
    let mut batches: Vec<&[TransactWriteItem]> = strips.chunks(INVITATIONS_PER_TRANSACTION).collect();
    let last = batches.pop().unwrap_or_default();
    for batch in batches {
        let mut transaction = Transaction::new(store);
        for strip in batch {
            transaction.add(Part::Invitation, strip.clone());
        }
        match transaction.commit("remove a role from invitations").await {
            Ok(()) => {}
            Err(TransactionError::Refused(_)) => return Err(RoleChangeError::Busy),
            Err(TransactionError::Contention) => return Err(RoleChangeError::Contention),
            Err(TransactionError::Other(error)) => return Err(error.into()),
        }
    }
    let mut transaction = Transaction::new(store);
    transaction
        .add(Part::AdminCheck, admin_check(store, customer, admin)?)
        .add(Part::Role(role.id), write_delete(store, customer, locked)?);
    // The name is free again once its role is gone.
    if role.name_claimed {
        transaction.add(
            Part::NameRelease,
            release_name_claim(store, customer, &role.id, &role.name)?,
        );
    }
    for strip in last {
        transaction.add(Part::Invitation, strip.clone());
    }
    match transaction.commit("delete a role").await {
        Ok(()) => Ok(usage),
        Err(TransactionError::Refused(refused)) if refused.failed(&Part::AdminCheck) => Err(RoleChangeError::NotAdmin),
        Err(TransactionError::Refused(_)) => Err(RoleChangeError::Busy),
        Err(TransactionError::Contention) => Err(RoleChangeError::Contention),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}
