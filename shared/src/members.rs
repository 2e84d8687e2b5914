//! The User Management table: a customer's members with their roles, and assigning roles.
//! Assigning roles lifts restricted access on the member's very next request (memberships are
//! read strongly consistently) and keeps the customer's admin count exact.

use crate::domain::{CustomerNumber, Email, Permission, RoleId, UserId};
use crate::memberships::{MembershipStatus, RoleRef, admin_check, is_admin};
use crate::roles::{CHANGING_UNTIL, Role, RoleItem, change_admin_count, update_membership};
use crate::seats::SeatItem;
use crate::store::transactions::{TransactionError, built, transact};
use crate::store::{Store, epoch_seconds, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// One row of the User Management table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The member's account.
    pub user_id: UserId,
    /// Its email address.
    pub email: Email,
    /// Its roles in this customer.
    pub roles: Vec<RoleRef>,
    /// Holds user-management.
    pub admin: bool,
    /// Has no rights (no roles, or roles without permissions): sees only Home, FAQ, Settings,
    /// Feedback and the home page's links until an admin assigns rights.
    pub restricted: bool,
    /// Always `active`: members who left are no longer listed.
    pub status: MembershipStatus,
    /// When access began.
    #[serde(serialize_with = "crate::http::timestamp::serialize_option")]
    pub joined_at: Option<OffsetDateTime>,
}

/// Why members could not be listed or roles not assigned. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    /// The caller is not an admin of the customer.
    #[error("Only an admin of this customer may manage its users.")]
    NotAdmin,
    /// No active member with that id in the customer.
    #[error("There is no such user in this customer.")]
    NotFound,
    /// Roles that do not exist in the customer.
    #[error("These roles do not exist in this customer: {0:?}.")]
    UnknownRoles(Vec<RoleId>),
    /// The change would leave the customer without an admin.
    #[error("This change would leave the customer without any admin.")]
    LastAdmin,
    /// A role or the member changed meanwhile; try again.
    #[error("The roles or the user changed meanwhile; try again.")]
    Busy,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The customer's active members by email, with role names (two consistent Queries, in parallel
/// with the admin check).
#[tracing::instrument(name = "Listing members", skip_all, fields(customer = %customer))]
pub async fn list(store: &Store, admin: &UserId, customer: &CustomerNumber) -> Result<Vec<Member>, MemberError> {
    let seats_query = async {
        store
            .client
            .query()
            .table_name(&store.tables.data)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .filter_expression("#status = :member")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pk", AttributeValue::S(keys::customer(customer)))
            .expression_attribute_values(":prefix", AttributeValue::S("EMAIL#".into()))
            .expression_attribute_values(":member", AttributeValue::S("member".into()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::aws::sdk_error("Failed to query a customer's members."))
    };
    let (is_admin, seats, roles) = tokio::try_join!(
        is_admin(store, customer, admin),
        seats_query,
        crate::roles::list(store, customer),
    )?;
    if !is_admin {
        return Err(MemberError::NotAdmin);
    }
    let roles: BTreeMap<RoleId, Role> = roles.into_iter().map(|role| (role.id, role)).collect();
    seats
        .into_iter()
        .map(|item| {
            let seat: SeatItem = serde_dynamo::from_item(item).context("A stored seat is malformed.")?;
            let email = Email::parse(seat.sk.trim_start_matches("EMAIL#")).context("A seat's key is not an email.")?;
            let held: Vec<&Role> = seat.role_ids.iter().filter_map(|id| roles.get(id)).collect();
            Ok(Member {
                user_id: seat.user_id.context("A member seat has no user id.")?,
                email,
                admin: held.iter().any(|r| r.permissions.contains(&Permission::UserManagement)),
                restricted: held.iter().all(|r| r.permissions.is_empty()),
                roles: held
                    .iter()
                    .map(|r| RoleRef {
                        id: r.id,
                        name: r.name.clone(),
                    })
                    .collect(),
                status: MembershipStatus::Active,
                joined_at: seat.joined_at,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(MemberError::from)
}

/// Replaces a member's roles in one transaction: the admin check, each role unchanged since it
/// was read and not being changed, the membership (unchanged since read), its seat, and the
/// customer's admin count when the member becomes or stops being an admin. Returns the roles and
/// the permissions they grant.
#[tracing::instrument(name = "Assigning roles", skip_all, fields(customer = %customer, user = %user))]
pub async fn assign_roles(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    user: &UserId,
    role_ids: BTreeSet<RoleId>,
    now: OffsetDateTime,
) -> Result<(Vec<RoleRef>, BTreeSet<Permission>), MemberError> {
    let membership_read = crate::memberships::find_item(store, user, customer);
    let roles_read = async {
        let output = store
            .client
            .query()
            .table_name(&store.tables.data)
            .key_condition_expression("PK = :pk AND begins_with(SK, :roles)")
            .expression_attribute_values(":pk", AttributeValue::S(keys::customer(customer)))
            .expression_attribute_values(":roles", AttributeValue::S(keys::ROLE_SK_PREFIX.into()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::aws::sdk_error("Failed to query a customer's roles."))?;
        output
            .into_iter()
            .map(|item| serde_dynamo::from_item::<_, RoleItem>(item).context("A stored role is malformed."))
            .collect::<anyhow::Result<Vec<_>>>()
    };
    let (caller_is_admin, membership, roles) =
        tokio::try_join!(is_admin(store, customer, admin), membership_read, roles_read)?;
    if !caller_is_admin {
        return Err(MemberError::NotAdmin);
    }
    let membership = membership
        .filter(|m| m.status == MembershipStatus::Active)
        .ok_or(MemberError::NotFound)?;
    let roles: BTreeMap<RoleId, RoleItem> = roles.into_iter().map(|role| (role.id, role)).collect();
    let unknown: Vec<RoleId> = role_ids.iter().filter(|id| !roles.contains_key(id)).copied().collect();
    if !unknown.is_empty() {
        return Err(MemberError::UnknownRoles(unknown));
    }
    let chosen: Vec<&RoleItem> = role_ids.iter().filter_map(|id| roles.get(id)).collect();
    let refs: Vec<RoleRef> = chosen
        .iter()
        .map(|r| RoleRef {
            id: r.id,
            name: r.name.clone(),
        })
        .collect();
    let permissions: BTreeSet<Permission> = chosen.iter().flat_map(|r| r.permissions.iter().copied()).collect();
    let was_admin = membership.permissions.contains(&Permission::UserManagement);
    let admin_delta = i64::from(permissions.contains(&Permission::UserManagement)) - i64::from(was_admin);

    let table = &store.tables.data;
    let acting_on_self = user == admin;
    let mut items = Vec::new();
    if !acting_on_self {
        items.push(admin_check(store, customer, admin)?);
    }
    for role in &chosen {
        let check = built(
            ConditionCheck::builder()
                .table_name(table)
                .key(keys::PK, AttributeValue::S(keys::customer(customer)))
                .key(keys::SK, AttributeValue::S(keys::role_sk(&role.id)))
                .condition_expression(
                    "attribute_exists(PK) AND #revision = :revision AND (attribute_not_exists(#changing) OR #changing < :now)",
                )
                .expression_attribute_names("#revision", "revision")
                .expression_attribute_names("#changing", CHANGING_UNTIL)
                .expression_attribute_values(":revision", AttributeValue::N(role.revision.to_string()))
                .expression_attribute_values(":now", AttributeValue::N(epoch_seconds(now).to_string()))
                .build(),
        )?;
        items.push(TransactWriteItem::builder().condition_check(check).build());
    }
    items.push(update_membership(
        store,
        &membership,
        &refs,
        &permissions,
        acting_on_self,
    )?);
    let seat = built(
        Update::builder()
            .table_name(table)
            .key(keys::PK, AttributeValue::S(keys::customer(customer)))
            .key(keys::SK, AttributeValue::S(keys::claimed_email_sk(&membership.email)))
            .update_expression("SET roleIds = :roles")
            .condition_expression("#status = :member AND userId = :user")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":roles",
                serde_dynamo::to_attribute_value(&role_ids).map_err(anyhow::Error::from)?,
            )
            .expression_attribute_values(":member", AttributeValue::S("member".into()))
            .expression_attribute_values(":user", AttributeValue::S(user.to_string()))
            .build(),
    )?;
    items.push(TransactWriteItem::builder().update(seat).build());
    let customer_index = items.len();
    if admin_delta != 0 {
        items.push(change_admin_count(store, customer, admin_delta)?);
    }
    match transact(store, items, "assign roles").await {
        Ok(()) => Ok((refs, permissions)),
        Err(TransactionError::Cancelled(reasons)) => {
            if !acting_on_self && reasons[0].condition_failed() {
                Err(MemberError::NotAdmin)
            } else if admin_delta != 0 && reasons[customer_index].condition_failed() {
                Err(MemberError::LastAdmin)
            } else {
                Err(MemberError::Busy)
            }
        }
        Err(TransactionError::Contention) => Err(MemberError::Busy),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}
