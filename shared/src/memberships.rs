//! Memberships: a user's access to one customer, with that customer's roles.
//!
//! A membership stores its roles' names and the union of their permissions, so that access
//! checks are one GetItem or one condition inside a transaction. Whatever changes a role
//! changes the memberships holding it in the same transaction.

use crate::domain::{CompanyName, CustomerNumber, Email, Permission, RoleId, RoleName, UserId};
use crate::store::transactions::built;
use crate::store::{Store, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Whether a membership still grants access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MembershipStatus {
    /// The user has access.
    Active,
    /// The user cancelled its access; blocked from then on.
    Left,
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
}

impl Membership {
    /// Holds `user-management` in an active membership.
    pub fn is_admin(&self) -> bool {
        self.status == MembershipStatus::Active && self.permissions.contains(&Permission::UserManagement)
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
        }
    }
}

/// The condition, inside a transaction, that `user` is an active admin of `customer`.
pub(crate) fn admin_check(
    store: &Store,
    customer: &CustomerNumber,
    user: &UserId,
) -> anyhow::Result<TransactWriteItem> {
    let check = built(
        ConditionCheck::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(keys::user(user)))
            .key(keys::SK, AttributeValue::S(keys::membership_sk(customer)))
            .condition_expression("#status = :active AND contains(#permissions, :admin)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#permissions", "permissions")
            .expression_attribute_values(":active", AttributeValue::S("active".into()))
            .expression_attribute_values(":admin", AttributeValue::S(Permission::UserManagement.code().into()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None)
            .build(),
    )?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// Whether `user` is an active admin of `customer` (one consistent GetItem), for reads that
/// cannot carry the check as a transaction condition.
pub async fn is_admin(store: &Store, customer: &CustomerNumber, user: &UserId) -> anyhow::Result<bool> {
    let output = store
        .client
        .get_item()
        .table_name(&store.tables.data)
        .key(keys::PK, AttributeValue::S(keys::user(user)))
        .key(keys::SK, AttributeValue::S(keys::membership_sk(customer)))
        .consistent_read(true)
        .send()
        .await
        .context("Failed to read a membership.")?;
    let Some(item) = output.item else {
        return Ok(false);
    };
    let membership: MembershipItem = serde_dynamo::from_item(item).context("A stored membership is malformed.")?;
    Ok(Membership::from(membership).is_admin())
}
