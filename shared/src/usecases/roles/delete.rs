//! Deleting a role: from every open invitation that names it, and, when the request confirms
//! it, from every member who holds it (who may become restricted).

use super::RoleChangeError;
use super::edit::Change;
use super::usage::{Holders, RoleUsage, holders};
use crate::customers::{self, too_few_admins};
use crate::domain::{Admin, CustomerNumber, Permission, RoleId};
use crate::invitations;
use crate::memberships::{admin_check, is_admin};
use crate::roles::lock::{lock, unlock, write_delete};
use crate::roles::{self, release_name_claim};
use crate::store::transactions::{MAX_ITEMS, Part, Transaction, TransactionError};
use crate::store::{Store, item_key, keys, value};
use aws_sdk_dynamodb::types::TransactWriteItem;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// Items the last transaction of a delete carries besides invitations, at the most: the admin
/// check, the role, its deletion's record (the activity log's), its name's claim, and when
/// admins lose the right, every item of the admin set and the customer item.
const fn overhead(admin_writes: usize) -> usize {
    4 + admin_writes
}

/// What a delete does with members holding the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// Refuse while members hold it (409 `role-in-use`): they would lose access silently.
    Refuse,
    /// Remove it from them: the request confirmed it.
    RemoveFromMembers,
}

/// Deletes a role and removes it from every invitation that names it; members holding it are
/// refused ([`Holding::Refuse`]) or lose it ([`Holding::RemoveFromMembers`]): at once, since
/// memberships read what their roles grant, and the admin set in the same transaction as the
/// role's deletion. The ids left on their memberships and seats are cleaned up after.
pub async fn delete(
    store: &Store,
    acting: &Admin,
    customer: &CustomerNumber,
    role_id: &RoleId,
    holding: Holding,
    now: OffsetDateTime,
) -> Result<RoleUsage, RoleChangeError> {
    let admin = &acting.user_id;
    if !is_admin(store, customer, admin).await? {
        return Err(RoleChangeError::NotAdmin);
    }
    let locked = lock(store, customer, role_id, now).await?;
    let change = Change {
        store,
        admin,
        acting,
        customer,
        locked: &locked,
    };
    let result = delete_locked(&change, holding, now).await;
    match &result {
        Ok((_, holders)) => clean_up_members(store, customer, role_id, holders).await,
        Err(_) => unlock(store, customer, &locked).await,
    }
    result.map(|(usage, _)| usage)
}

async fn delete_locked(
    change: &Change<'_>,
    holding: Holding,
    now: OffsetDateTime,
) -> Result<(RoleUsage, Holders), RoleChangeError> {
    let (store, customer, locked) = (change.store, change.customer, change.locked);
    let role = &locked.role;
    let grants_admin = role.permissions.contains(&Permission::UserManagement);
    // With the role locked no invite or assignment can add it, so the holders read now are
    // all there are; the admin set is read before them (see `edit`).
    let admins = if grants_admin {
        Some(customers::admin_state(store, customer).await?)
    } else {
        None
    };
    let (holders, roles) = tokio::try_join!(holders(store, customer), roles::list(store, customer))?;
    let usage = holders.usage_of(&role.id, now);
    if usage.members > 0 && holding == Holding::Refuse {
        return Err(RoleChangeError::InUse { members: usage.members });
    }
    let mut last = Transaction::new(store);
    last.add(Part::Role(role.id), write_delete(store, customer, locked)?)
        .add(
            Part::RoleDeletion,
            roles::deletion_record(store, customer, role, change.acting, now)?,
        );
    // The name is free again once its role is gone.
    if role.name_claimed {
        last.add(
            Part::NameRelease,
            release_name_claim(store, customer, &role.id, &role.name)?,
        );
    }
    let mut delta = None;
    if let Some(admins) = &admins
        && usage.members > 0
    {
        let permissions_of: BTreeMap<RoleId, BTreeSet<Permission>> = roles
            .into_iter()
            .filter(|other| other.id != role.id)
            .map(|other| (other.id, other.permissions))
            .collect();
        delta = Some(change.change_admins(&mut last, &holders, admins, &permissions_of)?);
    }
    if !delta.is_some_and(|(_, checked)| checked) {
        last.add(Part::AdminCheck, admin_check(store, customer, change.admin)?);
    }
    // Refused before anything is written: the invitations' transactions below commit on their
    // own, ahead of the role's (the transaction's own condition still decides a race).
    if let (Some((delta, _)), Some(admins)) = (delta, &admins)
        && admins.admin_count + delta < 1
    {
        return Err(RoleChangeError::LastAdmin);
    }
    let admin_writes = delta.map_or(0, |_| customers::ADMIN_SHARDS as usize + 1);
    strip_invitations(store, customer, &role.id, &holders, &mut last, overhead(admin_writes)).await?;
    match last.commit("delete a role").await {
        Ok(()) => Ok((usage, holders)),
        Err(TransactionError::Refused(refused)) => {
            if refused.failed(&Part::AdminCheck) {
                Err(RoleChangeError::NotAdmin)
            } else if let Some((delta, _)) = delta
                && refused.failed(&Part::Customer)
                && too_few_admins(refused.item(&Part::Customer), delta)
            {
                Err(RoleChangeError::LastAdmin)
            } else {
                Err(RoleChangeError::Busy)
            }
        }
        Err(TransactionError::Contention) => Err(RoleChangeError::Contention),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}

/// Removes the role from the invitations naming it: in transactions of their own, the last
/// ones (those that fit) in `last`, beside the role's deletion. A crash in between leaves the
/// role locked for a minute and then deletable again.
async fn strip_invitations(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    holders: &Holders,
    last: &mut Transaction<'_>,
    overhead: usize,
) -> Result<(), RoleChangeError> {
    let strips = holders
        .invitations_naming(role)
        .into_iter()
        .map(|invitation| invitations::strip_role(store, customer, &invitation.id, &invitation.role_ids, role))
        .collect::<anyhow::Result<Vec<TransactWriteItem>>>()?;
    let room = MAX_ITEMS - overhead;
    let (early, late) = strips.split_at(strips.len().saturating_sub(room));
    for batch in early.chunks(MAX_ITEMS) {
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
    for strip in late {
        last.add(Part::Invitation, strip.clone());
    }
    Ok(())
}

/// Clean-up writes at once.
const CLEAN_UPS_AT_ONCE: usize = 16;

/// Takes the deleted role's id off its former holders' seats and memberships (each only if its
/// roles are still those read). What it granted is gone already (the role item is); this only
/// keeps the items tidy, so a failure is logged and left.
async fn clean_up_members(store: &Store, customer: &CustomerNumber, role: &RoleId, holders: &Holders) {
    let mut writes = Vec::new();
    for seat in holders.seats_holding(role) {
        let Some(user) = seat.user_id else { continue };
        for key in [
            item_key(seat.pk.clone(), seat.sk.clone()),
            item_key(keys::user(&user), keys::membership_sk(customer)),
        ] {
            writes.push((key, seat.role_ids.clone()));
        }
    }
    let mut writes = writes.into_iter();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < CLEAN_UPS_AT_ONCE {
            let Some((key, seen)) = writes.next() else { break };
            let (store, role) = (store.clone(), *role);
            running.spawn(async move { take_off(&store, key, &seen, &role).await });
        }
        match running.join_next().await {
            Some(Ok(Err(error))) => tracing::warn!(error = ?error, "a deleted role was not taken off a holder"),
            Some(_) => {}
            None => break,
        }
    }
}

async fn take_off(
    store: &Store,
    key: crate::store::Item,
    seen: &BTreeSet<RoleId>,
    role: &RoleId,
) -> anyhow::Result<()> {
    let remaining: BTreeSet<RoleId> = seen.iter().filter(|r| *r != role).copied().collect();
    let mut update = store
        .update_item(key)
        .condition_expression("#roles = :seen")
        .expression_attribute_names("#roles", crate::seats::attr::ROLE_IDS)
        .expression_attribute_values(":seen", value(seen)?);
    update = if remaining.is_empty() {
        update.update_expression("REMOVE #roles")
    } else {
        update
            .update_expression("SET #roles = :remaining")
            .expression_attribute_values(":remaining", value(&remaining)?)
    };
    match update.send().await {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(crate::aws::sdk_error("Failed to take a deleted role off a holder.")(
            error,
        )),
    }
}
