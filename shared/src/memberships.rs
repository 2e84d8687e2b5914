//! Memberships: a user's access to one customer, with that customer's roles.
//!
//! A membership stores its roles' names and the union of their permissions, so that access
//! checks are one GetItem or one condition inside a transaction. Whatever changes a role
//! changes the memberships holding it in the same transaction. This module owns every
//! condition and write on memberships: the admin check, joining, role changes, leaving, and
//! the welcome tour.

use crate::domain::{CompanyName, CustomerNumber, Email, Permission, RoleId, RoleName, UserId};
use crate::store::{IntoTransactionItem as _, Item, Store, Updated, item_key, keys, number, text, time_text, value};
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// The attributes expressions name.
pub(crate) mod attr {
    pub(crate) const STATUS: &str = "status";
    pub(crate) const PERMISSIONS: &str = "permissions";
    pub(crate) const ROLES: &str = "roles";
    pub(crate) const REVISION: &str = "revision";
    pub(crate) const TOUR_SEEN: &str = "tourSeen";
    pub(crate) const LEFT_AT: &str = "leftAt";
    pub(crate) const JOINED_AT: &str = "joinedAt";
    pub(crate) const USER_ID: &str = "userId";
    pub(crate) const EMAIL: &str = "email";
    pub(crate) const CUSTOMER_NUMBER: &str = "customerNumber";
    pub(crate) const COMPANY_NAME: &str = "companyName";
}

/// Whether a membership still grants access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MembershipStatus {
    /// The user has access.
    Active,
    /// The user cancelled its access; blocked from then on.
    Left,
}

impl MembershipStatus {
    /// As stored.
    pub(crate) const fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Left => "left",
        }
    }
}

/// A role as a membership names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    /// The role.
    pub id: RoleId,
    /// Its name.
    pub name: RoleName,
}

/// A user's access to one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The member.
    pub user_id: UserId,
    /// The member's email address.
    pub email: Email,
    /// The customer.
    pub customer_number: CustomerNumber,
    /// The customer's company name.
    pub company_name: CompanyName,
    /// The roles held in that customer.
    pub roles: Vec<RoleRef>,
    /// The union of those roles' permissions.
    pub permissions: BTreeSet<Permission>,
    /// Active or left.
    pub status: MembershipStatus,
    /// When access began.
    pub joined_at: OffsetDateTime,
    /// The areas whose welcome-tour step the member has seen.
    pub tour_seen: BTreeSet<Permission>,
}

impl Membership {
    /// Holds `user-management` in an active membership.
    pub fn is_admin(&self) -> bool {
        self.status == MembershipStatus::Active && self.permissions.contains(&Permission::UserManagement)
    }

    /// Whether it grants no rights (no roles, or roles without permissions): the restricted
    /// portal.
    pub fn is_restricted(&self) -> bool {
        crate::domain::is_restricted(&self.permissions)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MembershipItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub user_id: UserId,
    pub email: Email,
    pub customer_number: CustomerNumber,
    pub company_name: CompanyName,
    pub roles: Vec<RoleRef>,
    pub permissions: BTreeSet<Permission>,
    pub status: MembershipStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// Bumped by every change of roles, so a change computed from a read can require that
    /// nothing changed since.
    #[serde(default)]
    pub revision: u32,
    /// A string set, so that completing tour steps is one atomic `ADD`; absent while empty
    /// (DynamoDB has no empty sets).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tour_seen: BTreeSet<Permission>,
}

impl From<&Membership> for MembershipItem {
    fn from(m: &Membership) -> Self {
        Self {
            pk: keys::user(&m.user_id),
            sk: keys::membership_sk(&m.customer_number),
            gsi1pk: keys::customer(&m.customer_number),
            gsi1sk: keys::member_gsi1sk(&m.email),
            user_id: m.user_id,
            email: m.email.clone(),
            customer_number: m.customer_number.clone(),
            company_name: m.company_name.clone(),
            roles: m.roles.clone(),
            permissions: m.permissions.clone(),
            status: m.status,
            joined_at: m.joined_at,
            revision: 0,
            tour_seen: BTreeSet::new(),
        }
    }
}

impl From<MembershipItem> for Membership {
    fn from(item: MembershipItem) -> Self {
        Self {
            user_id: item.user_id,
            email: item.email,
            customer_number: item.customer_number,
            company_name: item.company_name,
            roles: item.roles,
            permissions: item.permissions,
            status: item.status,
            joined_at: item.joined_at,
            tour_seen: item.tour_seen,
        }
    }
}

fn key(user: &UserId, customer: &CustomerNumber) -> Item {
    item_key(keys::user(user), keys::membership_sk(customer))
}

/// The condition, inside a transaction, that `user` is an active admin of `customer`.
pub(crate) fn admin_check(
    store: &Store,
    customer: &CustomerNumber,
    user: &UserId,
) -> anyhow::Result<TransactWriteItem> {
    store
        .check(key(user, customer))
        .condition_expression("#status = :active AND contains(#permissions, :admin)")
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#permissions", attr::PERMISSIONS)
        .expression_attribute_values(":active", text(MembershipStatus::Active.code()))
        .expression_attribute_values(":admin", text(Permission::UserManagement.code()))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None)
        .into_item()
}

/// Whether `user` is an active admin of `customer` (one consistent GetItem), for reads that
/// cannot carry the check as a transaction condition.
pub async fn is_admin(store: &Store, customer: &CustomerNumber, user: &UserId) -> anyhow::Result<bool> {
    Ok(find_item(store, user, customer)
        .await?
        .is_some_and(|membership| Membership::from(membership).is_admin()))
}

/// The membership of `user` in `customer` as stored, if any (one consistent GetItem).
pub(crate) async fn find_item(
    store: &Store,
    user: &UserId,
    customer: &CustomerNumber,
) -> anyhow::Result<Option<MembershipItem>> {
    store.get(key(user, customer), "a membership").await
}

/// The revision a write computed from `seen` requires: unchanged since it was read (an item
/// stored before revisions counts as revision 0).
const UNCHANGED: &str = "(#revision = :seen OR (attribute_not_exists(#revision) AND :seen = :zero))";

/// Sets a membership's roles and permissions, if it is active and unchanged since it was read.
/// When the acting admin is this member, the admin check is part of this update's condition
/// (a transaction may touch an item once).
pub(crate) fn set_roles(
    store: &Store,
    membership: &MembershipItem,
    roles: &[RoleRef],
    permissions: &BTreeSet<Permission>,
    acting_admin: bool,
) -> anyhow::Result<TransactWriteItem> {
    let admin_condition = if acting_admin {
        " AND contains(#permissions, :admin)"
    } else {
        ""
    };
    let condition = format!("#status = :active AND {UNCHANGED}{admin_condition}");
    let mut update = store
        .update(key(&membership.user_id, &membership.customer_number))
        .update_expression("SET #roles = :roles, #permissions = :permissions, #revision = :next")
        .condition_expression(condition)
        .expression_attribute_names("#roles", attr::ROLES)
        .expression_attribute_names("#permissions", attr::PERMISSIONS)
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_values(":roles", value(&roles)?)
        .expression_attribute_values(":permissions", value(permissions)?)
        .expression_attribute_values(":next", number(membership.revision + 1))
        .expression_attribute_values(":seen", number(membership.revision))
        .expression_attribute_values(":zero", number(0))
        .expression_attribute_values(":active", text(MembershipStatus::Active.code()));
    if acting_admin {
        update = update.expression_attribute_values(":admin", text(Permission::UserManagement.code()));
    }
    update.into_item()
}

/// Who joins a customer, with what.
pub(crate) struct Joining<'a> {
    pub user_id: UserId,
    pub email: &'a Email,
    pub customer: &'a CustomerNumber,
    pub company_name: &'a CompanyName,
    pub roles: &'a [RoleRef],
    pub permissions: &'a BTreeSet<Permission>,
}

/// Writes the membership, or revives one the user cancelled earlier; fails if the user is an
/// active member already. Its revision goes up, so a role change computed from the old
/// membership cannot land on the new one.
pub(crate) fn join(store: &Store, joining: &Joining<'_>, now: OffsetDateTime) -> anyhow::Result<TransactWriteItem> {
    store
        .update(key(&joining.user_id, joining.customer))
        .update_expression(
            "SET GSI1PK = :gsi1pk, GSI1SK = :gsi1sk, #user = :user, #email = :email, \
             #customer = :customer, #company = :company, #roles = :roles, \
             #permissions = :permissions, #status = :active, #joined = :joined \
             REMOVE #left ADD #revision :one",
        )
        .condition_expression("attribute_not_exists(PK) OR #status = :left")
        .expression_attribute_names("#user", attr::USER_ID)
        .expression_attribute_names("#email", attr::EMAIL)
        .expression_attribute_names("#customer", attr::CUSTOMER_NUMBER)
        .expression_attribute_names("#company", attr::COMPANY_NAME)
        .expression_attribute_names("#roles", attr::ROLES)
        .expression_attribute_names("#permissions", attr::PERMISSIONS)
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#joined", attr::JOINED_AT)
        .expression_attribute_names("#left", attr::LEFT_AT)
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_values(":gsi1pk", text(keys::customer(joining.customer)))
        .expression_attribute_values(":gsi1sk", text(keys::member_gsi1sk(joining.email)))
        .expression_attribute_values(":user", text(joining.user_id))
        .expression_attribute_values(":email", text(joining.email))
        .expression_attribute_values(":customer", text(joining.customer))
        .expression_attribute_values(":company", text(joining.company_name))
        .expression_attribute_values(":roles", value(&joining.roles)?)
        .expression_attribute_values(":permissions", value(joining.permissions)?)
        .expression_attribute_values(":active", text(MembershipStatus::Active.code()))
        .expression_attribute_values(":left", text(MembershipStatus::Left.code()))
        .expression_attribute_values(":joined", time_text(now)?)
        .expression_attribute_values(":one", number(1))
        .into_item()
}

/// Marks an active membership left, if unchanged since it was read.
pub(crate) fn mark_left(
    store: &Store,
    membership: &MembershipItem,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    store
        .update(key(&membership.user_id, &membership.customer_number))
        .update_expression("SET #status = :left, #leftAt = :now ADD #revision :one")
        .condition_expression(format!("#status = :active AND {UNCHANGED}"))
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#leftAt", attr::LEFT_AT)
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_values(":left", text(MembershipStatus::Left.code()))
        .expression_attribute_values(":active", text(MembershipStatus::Active.code()))
        .expression_attribute_values(":now", time_text(now)?)
        .expression_attribute_values(":one", number(1))
        .expression_attribute_values(":seen", number(membership.revision))
        .expression_attribute_values(":zero", number(0))
        .into_item()
}

/// Why welcome-tour steps could not be marked seen. Nothing was recorded.
#[derive(Debug, thiserror::Error)]
pub enum TourError {
    /// The user has no active membership in the customer.
    #[error("You have no access to this customer.")]
    NotAMember,
    /// Steps of areas the member cannot reach: they are not due, and marking them seen now
    /// would hide them when a role grants the area.
    #[error(
        "These tour steps are not due: {}. Only the steps of areas you can use can be completed.",
        .0.iter().map(|step| step.code()).collect::<Vec<_>>().join(", ")
    )]
    NotDue(Vec<Permission>),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Records welcome-tour steps as seen, atomically (a set `ADD`), and returns the membership
/// after it. Only steps of areas the membership reaches can be recorded, all or none, in the
/// same UpdateItem (a condition per step); recording a seen step again changes nothing, so a
/// retried request answers alike.
pub async fn complete_tour(
    store: &Store,
    user: &UserId,
    customer: &CustomerNumber,
    steps: &BTreeSet<Permission>,
) -> Result<Membership, TourError> {
    let mut condition = "#status = :active".to_owned();
    let mut update = store
        .update_item(key(user, customer))
        .update_expression("ADD #seen :steps")
        .expression_attribute_names("#seen", attr::TOUR_SEEN)
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#permissions", attr::PERMISSIONS)
        .expression_attribute_values(
            ":steps",
            aws_sdk_dynamodb::types::AttributeValue::Ss(steps.iter().map(|step| step.code().to_owned()).collect()),
        )
        .expression_attribute_values(":active", text(MembershipStatus::Active.code()));
    for (i, step) in steps.iter().enumerate() {
        condition.push_str(&format!(" AND contains(#permissions, :step{i})"));
        update = update.expression_attribute_values(format!(":step{i}"), text(step.code()));
    }
    let update = update.condition_expression(condition);
    // The membership as the condition saw it: none or left, or active without some step's area.
    let membership = match store.update_returning::<MembershipItem>(update, "tour steps").await? {
        Updated::Done(item) => return Ok(item.into()),
        Updated::Refused(None) => return Err(TourError::NotAMember),
        Updated::Refused(Some(item)) => crate::store::decode::<MembershipItem>(item, "a membership")?,
    };
    if membership.status != MembershipStatus::Active {
        return Err(TourError::NotAMember);
    }
    Err(TourError::NotDue(
        steps.difference(&membership.permissions).copied().collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attributes_expressions_name_are_on_the_item() {
        let role = RoleRef {
            id: RoleId::generate(),
            name: RoleName::parse("Buyer").unwrap(),
        };
        let membership = Membership {
            user_id: UserId::generate(),
            email: Email::parse("anna@example.com").unwrap(),
            customer_number: CustomerNumber::parse("100234").unwrap(),
            company_name: CompanyName::parse("ACME").unwrap(),
            roles: vec![role],
            permissions: [Permission::Orders].into_iter().collect(),
            status: MembershipStatus::Active,
            joined_at: OffsetDateTime::UNIX_EPOCH,
            tour_seen: BTreeSet::new(),
        };
        let mut item = MembershipItem::from(&membership);
        item.tour_seen.insert(Permission::Orders);
        let stored: Item = serde_dynamo::to_item(item).unwrap();
        for name in [
            attr::STATUS,
            attr::PERMISSIONS,
            attr::ROLES,
            attr::REVISION,
            attr::TOUR_SEEN,
            attr::JOINED_AT,
            attr::USER_ID,
            attr::EMAIL,
            attr::CUSTOMER_NUMBER,
            attr::COMPANY_NAME,
            keys::GSI1PK,
            keys::GSI1SK,
        ] {
            assert!(stored.contains_key(name), "{name}");
        }
        for status in [MembershipStatus::Active, MembershipStatus::Left] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.code());
        }
    }
}
