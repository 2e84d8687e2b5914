//! Editing and deleting a role. Memberships copy their roles' names and permissions, and open
//! invitations name roles by id, so a change reaches every holder in the same transaction as
//! the role itself. While it is computed, the role is locked (`changingUntil`): invites, role
//! assignments and accepts that name it are refused meanwhile, so none can slip in between the
//! read of the holders and the write, and no invitation keeps a role that was deleted.

use super::{CHANGING_UNTIL, Role, RoleItem, list, name_claim, release_name_claim};
use crate::domain::{CustomerNumber, InvitationId, Permission, RoleId, RoleName, UserId};
use crate::memberships::{MembershipItem, RoleRef, admin_check, is_admin};
use crate::seats::{SeatItem, SeatStatus};
use crate::store::transactions::{TransactionError, built, transact};
use crate::store::{Store, epoch_seconds, item_key, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use time::{Duration, OffsetDateTime};

/// How long a change may hold a role before others may take it over (a crashed change).
const LOCK_FOR: Duration = Duration::seconds(60);
/// Members one edit can update in its single transaction (100 items less the role, the
/// customer, the admin check, a rename's two name claims, and one spare).
pub const MAX_MEMBERS_PER_EDIT: usize = 94;
/// Invitations updated per transaction while a role is deleted (100 items less the admin
/// check, the role and its name's claim, which the last transaction carries).
const INVITATIONS_PER_TRANSACTION: usize = 97;

/// Who holds a role now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleUsage {
    /// Active members holding it.
    pub members: u32,
    /// Listed invitations (pending, or expired less than 30 days ago) that would grant it.
    pub open_invitations: u32,
}

/// Why a role change was refused. A refused change wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum RoleChangeError {
    /// The caller is not an admin of the customer.
    #[error("Only an admin of the customer may manage its roles.")]
    NotAdmin,
    /// No such role in the customer.
    #[error("There is no such role in this customer.")]
    NotFound,
    /// Another change of the role is under way.
    #[error("This role is being changed right now; try again in a moment.")]
    Busy,
    /// Members hold the role; it cannot be deleted silently.
    #[error("{members} member(s) hold this role. Assign them other roles first, then delete it.")]
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
    /// More members hold the role than one edit can update at once.
    #[error("More than {MAX_MEMBERS_PER_EDIT} members hold this role; it cannot be edited in one step.")]
    TooWidelyHeld,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

struct Holders {
    seats: Vec<SeatItem>,
    invitations: Vec<(InvitationId, BTreeSet<RoleId>, OffsetDateTime)>,
}

async fn query_prefix(
    store: &Store,
    customer: &CustomerNumber,
    prefix: &str,
) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
    let mut items = Vec::new();
    let mut start_key = None;
    loop {
        let output = store
            .client
            .query()
            .table_name(&store.tables.data)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(keys::customer(customer)))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.into()))
            .consistent_read(true)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(crate::aws::sdk_error("Failed to query a customer's partition."))?;
        items.extend(output.items.unwrap_or_default());
        start_key = output.last_evaluated_key;
        if start_key.is_none() {
            return Ok(items);
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvitationRoles {
    id: InvitationId,
    #[serde(default)]
    role_ids: BTreeSet<RoleId>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// Every member seat and every invitation of the customer (two consistent Queries).
async fn holders(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Holders> {
    let (seats, invitations) = tokio::try_join!(
        query_prefix(store, customer, "EMAIL#"),
        query_prefix(store, customer, keys::INVITATION_SK_PREFIX),
    )?;
    let seats = seats
        .into_iter()
        .map(|item| serde_dynamo::from_item::<_, SeatItem>(item).context("A stored seat is malformed."))
        .filter(|seat| seat.as_ref().map_or(true, |s| s.status == SeatStatus::Member))
        .collect::<anyhow::Result<_>>()?;
    let invitations = invitations
        .into_iter()
        .map(|item| {
            let i: InvitationRoles = serde_dynamo::from_item(item).context("A stored invitation is malformed.")?;
            Ok((i.id, i.role_ids, i.expires_at))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Holders { seats, invitations })
}

/// How many members and open invitations hold each role of the customer.
pub async fn usage(
    store: &Store,
    customer: &CustomerNumber,
    now: OffsetDateTime,
) -> anyhow::Result<BTreeMap<RoleId, RoleUsage>> {
    let holders = holders(store, customer).await?;
    let mut usage: BTreeMap<RoleId, RoleUsage> = BTreeMap::new();
    for seat in &holders.seats {
        for role in &seat.role_ids {
            usage.entry(*role).or_default().members += 1;
        }
    }
    let listed_since = now - crate::invitations::LISTED_AFTER_EXPIRY;
    for (_, roles, expires_at) in &holders.invitations {
        if *expires_at > listed_since {
            for role in roles {
                usage.entry(*role).or_default().open_invitations += 1;
            }
        }
    }
    Ok(usage)
}

fn role_key(customer: &CustomerNumber, role: &RoleId) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (keys::PK.to_owned(), AttributeValue::S(keys::customer(customer))),
        (keys::SK.to_owned(), AttributeValue::S(keys::role_sk(role))),
    ])
}

/// Takes the role's lock; returns the role as it is and the lock's expiry.
async fn lock(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    now: OffsetDateTime,
) -> Result<(RoleItem, i64), RoleChangeError> {
    let until = epoch_seconds(now + LOCK_FOR);
    let result = store
        .client
        .update_item()
        .table_name(&store.tables.data)
        .set_key(Some(role_key(customer, role)))
        .update_expression("SET #changing = :until")
        .condition_expression("attribute_exists(PK) AND (attribute_not_exists(#changing) OR #changing < :now)")
        .expression_attribute_names("#changing", CHANGING_UNTIL)
        .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
        .expression_attribute_values(":now", AttributeValue::N(epoch_seconds(now).to_string()))
        .return_values(ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(output) => {
            let item = output.attributes.context("A locked role came back empty.")?;
            Ok((
                serde_dynamo::from_item(item).context("A stored role is malformed.")?,
                until,
            ))
        }
        Err(error) => match error.as_service_error() {
            Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                failed,
            )) => {
                if failed.item().is_some() {
                    Err(RoleChangeError::Busy)
                } else {
                    Err(RoleChangeError::NotFound)
                }
            }
            _ => Err(crate::aws::sdk_error("Failed to lock a role.")(error).into()),
        },
    }
}

/// Releases the lock if it is still ours; a failure only means it expires on its own.
async fn unlock(store: &Store, customer: &CustomerNumber, role: &RoleId, until: i64) {
    let result = store
        .client
        .update_item()
        .table_name(&store.tables.data)
        .set_key(Some(role_key(customer, role)))
        .update_expression("REMOVE #changing")
        .condition_expression("#changing = :until")
        .expression_attribute_names("#changing", CHANGING_UNTIL)
        .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
        .send()
        .await;
    if let Err(error) = result {
        tracing::warn!(error = %error, "a role lock was not released; it expires by itself");
    }
}

/// What an edit changed.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The role as it is now.
    pub role: Role,
    /// Holders at the time of the edit.
    pub usage: RoleUsage,
}

/// Renames a role and/or changes its permissions, and updates every member holding it, in one
/// transaction. Open invitations refer to the role by id and grant what it is when accepted.
#[tracing::instrument(name = "Editing a role", skip_all, fields(customer = %customer, role = %role_id))]
pub async fn edit(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    role_id: &RoleId,
    name: RoleName,
    permissions: BTreeSet<Permission>,
    now: OffsetDateTime,
) -> Result<Edited, RoleChangeError> {
    if !is_admin(store, customer, admin).await? {
        return Err(RoleChangeError::NotAdmin);
    }
    let (current, until) = lock(store, customer, role_id, now).await?;
    let result = edit_locked(store, admin, customer, &current, name, permissions, until, now).await;
    if result.is_err() {
        unlock(store, customer, role_id, until).await;
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn edit_locked(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    current: &RoleItem,
    name: RoleName,
    permissions: BTreeSet<Permission>,
    until: i64,
    now: OffsetDateTime,
) -> Result<Edited, RoleChangeError> {
    let role_id = &current.id;
    let (roles, holders) = tokio::try_join!(list(store, customer), holders(store, customer))?;
    // Roles from before names were claimed hold no claim that could refuse this name; the
    // roles just read show them. Claimed names are refused atomically by the claim below.
    if roles
        .iter()
        .any(|role| role.id != *role_id && role.name.unique_key() == name.unique_key())
    {
        return Err(RoleChangeError::NameTaken(name));
    }
    let mut permissions_of: BTreeMap<RoleId, BTreeSet<Permission>> =
        roles.into_iter().map(|role| (role.id, role.permissions)).collect();
    permissions_of.insert(*role_id, permissions.clone());

    let holding: Vec<&SeatItem> = holders
        .seats
        .iter()
        .filter(|seat| seat.role_ids.contains(role_id))
        .collect();
    if holding.len() > MAX_MEMBERS_PER_EDIT {
        return Err(RoleChangeError::TooWidelyHeld);
    }
    let memberships = read_memberships(store, customer, &holding).await?;
    let listed_since = now - crate::invitations::LISTED_AFTER_EXPIRY;
    let usage = RoleUsage {
        members: u32::try_from(holding.len()).unwrap_or(u32::MAX),
        open_invitations: u32::try_from(
            holders
                .invitations
                .iter()
                .filter(|(_, roles, expires_at)| roles.contains(role_id) && *expires_at > listed_since)
                .count(),
        )
        .unwrap_or(u32::MAX),
    };

    let table = &store.tables.data;
    let caller_holds_role = memberships.iter().any(|m| m.user_id == *admin);
    let mut items = Vec::new();
    if !caller_holds_role {
        items.push(admin_check(store, customer, admin)?);
    }
    let role_update = built(
        Update::builder()
            .table_name(table)
            .set_key(Some(role_key(customer, role_id)))
            .update_expression(
                "SET #name = :name, #permissions = :permissions, #claimed = :true ADD #revision :one REMOVE #changing",
            )
            .condition_expression("#changing = :until")
            .expression_attribute_names("#claimed", "nameClaimed")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#permissions", "permissions")
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_names("#changing", CHANGING_UNTIL)
            .expression_attribute_values(":name", AttributeValue::S(name.to_string()))
            .expression_attribute_values(
                ":permissions",
                serde_dynamo::to_attribute_value(&permissions).map_err(anyhow::Error::from)?,
            )
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
            .build(),
    )?;
    items.push(TransactWriteItem::builder().update(role_update).build());
    // A rename moves the claim; a role without one (made before claims) claims its name now.
    let claim_index = items.len();
    let renamed = current.name.unique_key() != name.unique_key();
    if renamed || !current.name_claimed {
        items.push(name_claim(store, customer, role_id, &name)?);
        if current.name_claimed {
            items.push(release_name_claim(store, customer, role_id, &current.name)?);
        }
    }
    let claims = items.len() - claim_index;

    let mut admin_delta: i64 = 0;
    for membership in &memberships {
        let was_admin = membership.permissions.contains(&Permission::UserManagement);
        let roles: Vec<RoleRef> = membership
            .roles
            .iter()
            .map(|r| RoleRef {
                id: r.id,
                name: if r.id == *role_id { name.clone() } else { r.name.clone() },
            })
            .collect();
        let permissions: BTreeSet<Permission> = roles
            .iter()
            .flat_map(|r| permissions_of.get(&r.id).cloned().unwrap_or_default())
            .collect();
        admin_delta += i64::from(permissions.contains(&Permission::UserManagement)) - i64::from(was_admin);
        items.push(update_membership(
            store,
            membership,
            &roles,
            &permissions,
            membership.user_id == *admin,
        )?);
    }
    let customer_index = items.len();
    if admin_delta != 0 {
        items.push(change_admin_count(store, customer, admin_delta)?);
    }
    match transact(store, items, "edit a role").await {
        Ok(()) => Ok(Edited {
            role: Role {
                id: *role_id,
                name,
                permissions,
            },
            usage,
        }),
        Err(TransactionError::Cancelled(reasons)) => {
            if !caller_holds_role && reasons[0].condition_failed() {
                Err(RoleChangeError::NotAdmin)
            } else if claims > 0 && reasons[claim_index].condition_failed() {
                Err(RoleChangeError::NameTaken(name))
            } else if admin_delta != 0 && reasons[customer_index].condition_failed() {
                Err(RoleChangeError::LastAdmin)
            } else {
                // A member's roles changed meanwhile, the caller stopped being an admin, or
                // the lock ran out: nothing was written, try again.
                Err(RoleChangeError::Busy)
            }
        }
        Err(TransactionError::Contention) => Err(RoleChangeError::Busy),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}

/// The memberships behind member seats (BatchGetItem, consistent).
pub(crate) async fn read_memberships(
    store: &Store,
    customer: &CustomerNumber,
    seats: &[&SeatItem],
) -> anyhow::Result<Vec<MembershipItem>> {
    let wanted = seats
        .iter()
        .map(|seat| {
            let user = seat.user_id.context("A member seat has no user id.")?;
            Ok(item_key(keys::user(&user), keys::membership_sk(customer)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let memberships = store
        .batch_get(wanted)
        .await
        .context("Failed to read memberships.")?
        .into_iter()
        .map(|item| serde_dynamo::from_item(item).context("A stored membership is malformed."))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(memberships)
}

/// Sets a membership's roles and permissions, if it is unchanged since it was read.
pub(crate) fn update_membership(
    store: &Store,
    membership: &MembershipItem,
    roles: &[RoleRef],
    permissions: &BTreeSet<Permission>,
    acting_admin: bool,
) -> anyhow::Result<TransactWriteItem> {
    // A transaction may touch an item once: when the admin acting is this member, the admin
    // check is part of this update's condition instead of an item of its own.
    let admin_condition = if acting_admin {
        " AND contains(#permissions, :admin)"
    } else {
        ""
    };
    let mut update = Update::builder()
            .table_name(&store.tables.data)
        .key(keys::PK, AttributeValue::S(membership.pk.clone()))
        .key(keys::SK, AttributeValue::S(membership.sk.clone()))
            .update_expression("SET #roles = :roles, #permissions = :permissions, #revision = :next")
            .condition_expression(format!(
                "#status = :active AND (#revision = :seen OR (attribute_not_exists(#revision) AND :seen = :zero)){admin_condition}"
            ))
            .expression_attribute_names("#roles", "roles")
            .expression_attribute_names("#permissions", "permissions")
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":roles", serde_dynamo::to_attribute_value(roles)?)
            .expression_attribute_values(":permissions", serde_dynamo::to_attribute_value(permissions)?)
            .expression_attribute_values(":next", AttributeValue::N((membership.revision + 1).to_string()))
            .expression_attribute_values(":seen", AttributeValue::N(membership.revision.to_string()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":active", AttributeValue::S("active".into()));
    if acting_admin {
        update =
            update.expression_attribute_values(":admin", AttributeValue::S(Permission::UserManagement.code().into()));
    }
    Ok(TransactWriteItem::builder().update(built(update.build())?).build())
}

/// Adds `delta` to the customer's admin count, refusing to let it fall below one.
pub(crate) fn change_admin_count(
    store: &Store,
    customer: &CustomerNumber,
    delta: i64,
) -> anyhow::Result<TransactWriteItem> {
    let update = built(
        Update::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(keys::customer(customer)))
            .key(keys::SK, AttributeValue::S(keys::CUSTOMER_SK.into()))
            .update_expression("ADD adminCount :delta")
            .condition_expression("adminCount >= :needed")
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
            // After the change at least one admin remains.
            .expression_attribute_values(":needed", AttributeValue::N((1 - delta.min(0)).to_string()))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Deletes a role no member holds and removes it from every invitation that names it.
/// Refused (409) while members hold it: they would silently lose access.
#[tracing::instrument(name = "Deleting a role", skip_all, fields(customer = %customer, role = %role_id))]
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
    let (current, until) = lock(store, customer, role_id, now).await?;
    let result = delete_locked(store, admin, customer, &current, until, now).await;
    if result.is_err() {
        unlock(store, customer, role_id, until).await;
    }
    result
}

async fn delete_locked(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    current: &RoleItem,
    until: i64,
    now: OffsetDateTime,
) -> Result<RoleUsage, RoleChangeError> {
    let role_id = &current.id;
    // With the role locked no invite can add it, so the holders read now are all there are.
    let holders = holders(store, customer).await?;
    let members = holders
        .seats
        .iter()
        .filter(|seat| seat.role_ids.contains(role_id))
        .count();
    if members > 0 {
        return Err(RoleChangeError::InUse {
            members: u32::try_from(members).unwrap_or(u32::MAX),
        });
    }
    let listed_since = now - crate::invitations::LISTED_AFTER_EXPIRY;
    let naming: Vec<_> = holders
        .invitations
        .iter()
        .filter(|(_, roles, _)| roles.contains(role_id))
        .collect();
    let usage = RoleUsage {
        members: 0,
        open_invitations: u32::try_from(
            naming
                .iter()
                .filter(|(_, _, expires_at)| *expires_at > listed_since)
                .count(),
        )
        .unwrap_or(u32::MAX),
    };
    let mut updates = Vec::new();
    for (id, roles, _) in &naming {
        let remaining: BTreeSet<RoleId> = roles.iter().filter(|r| *r != role_id).copied().collect();
        let update = built(
            Update::builder()
                .table_name(&store.tables.data)
                .key(keys::PK, AttributeValue::S(keys::customer(customer)))
                .key(keys::SK, AttributeValue::S(keys::invitation_sk(id)))
                .update_expression("SET roleIds = :remaining")
                // Unchanged since read (a re-invite with other roles, or a delete, wins).
                .condition_expression("roleIds = :seen")
                .expression_attribute_values(
                    ":remaining",
                    serde_dynamo::to_attribute_value(&remaining).map_err(anyhow::Error::from)?,
                )
                .expression_attribute_values(
                    ":seen",
                    serde_dynamo::to_attribute_value(roles).map_err(anyhow::Error::from)?,
                )
                .build(),
        )?;
        updates.push(TransactWriteItem::builder().update(update).build());
    }
    // Earlier batches only strip the role from invitations; the last one deletes the role. A
    // crash in between leaves the role locked for a minute and then deletable again.
    let mut batches: Vec<Vec<TransactWriteItem>> =
        updates.chunks(INVITATIONS_PER_TRANSACTION).map(<[_]>::to_vec).collect();
    if batches.is_empty() {
        batches.push(Vec::new());
    }
    let last = batches.len() - 1;
    for (index, mut batch) in batches.into_iter().enumerate() {
        if index == last {
            batch.insert(0, admin_check(store, customer, admin)?);
            let delete = built(
                Delete::builder()
                    .table_name(&store.tables.data)
                    .set_key(Some(role_key(customer, role_id)))
                    .condition_expression("#changing = :until")
                    .expression_attribute_names("#changing", CHANGING_UNTIL)
                    .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
                    .build(),
            )?;
            batch.insert(1, TransactWriteItem::builder().delete(delete).build());
            // The name is free again once its role is gone.
            if current.name_claimed {
                batch.insert(2, release_name_claim(store, customer, role_id, &current.name)?);
            }
        }
        match transact(store, batch, "delete a role").await {
            Ok(()) => {}
            Err(TransactionError::Cancelled(reasons)) if index == last && reasons[0].condition_failed() => {
                return Err(RoleChangeError::NotAdmin);
            }
            Err(TransactionError::Cancelled(_)) | Err(TransactionError::Contention) => {
                return Err(RoleChangeError::Busy);
            }
            Err(TransactionError::Other(error)) => return Err(error.into()),
        }
    }
    Ok(usage)
}
