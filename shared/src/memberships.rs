//! Memberships: a user's access to one customer, with that customer's roles.
//!
//! A membership stores its roles' names and the union of their permissions, so that access
//! checks are one GetItem or one condition inside a transaction. Whatever changes a role
//! changes the memberships holding it in the same transaction.

use crate::domain::{CompanyName, CustomerNumber, Email, Permission, RoleId, RoleName, UserId};
use crate::store::transactions::{TransactionError, built, transact};
use crate::store::{Store, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
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
    /// The areas whose welcome-tour step the member has seen.
    pub tour_seen: BTreeSet<Permission>,
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
    let output = store
        .client
        .get_item()
        .table_name(&store.tables.data)
        .key(keys::PK, AttributeValue::S(keys::user(user)))
        .key(keys::SK, AttributeValue::S(keys::membership_sk(customer)))
        .consistent_read(true)
        .send()
        .await
        .map_err(crate::aws::sdk_error("Failed to read a membership."))?;
    output
        .item
        .map(|item| serde_dynamo::from_item(item).context("A stored membership is malformed."))
        .transpose()
}

/// Where the portal goes after a member left a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextScreen {
    /// Two or more customers remain: the user picks one.
    ChooseCustomer,
    /// One customer remains: its home page.
    Home(Membership),
    /// None remain: only language settings and log-out work.
    NoAccess {
        /// The user's language, to tell it so.
        language: crate::domain::Language,
    },
}

/// Why a member could not leave. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum LeaveError {
    /// The user has no active membership in the customer.
    #[error("You have no access to this customer.")]
    NotMember,
    /// The user is the customer's last admin.
    #[error("You are the last admin of this customer. Make another member an admin first, then leave.")]
    LastAdmin,
    /// The membership kept changing meanwhile.
    #[error("Your access to this customer changed meanwhile; try again.")]
    Busy,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Cancels `user`'s membership in `customer`, blocking its access at once: every access check
/// reads the membership consistently, so the very next request, on any session, is refused.
/// One read of the account, then one transaction: the membership marked left (unchanged since
/// read), its seat freed (so the user can be invited again), and the admin count lowered when
/// the user was an admin, on condition another admin remains. The membership's change to `left`
/// is what owes the admins their email (the table's stream publishes it).
#[tracing::instrument(name = "Leaving a customer", skip_all, fields(user_id = %user, customer = %customer))]
pub async fn leave(
    store: &Store,
    user: &UserId,
    customer: &CustomerNumber,
    now: OffsetDateTime,
) -> Result<NextScreen, LeaveError> {
    // A role change racing the leave changes the revision; read again and retry.
    for _ in 0..3 {
        let (account, memberships) = crate::accounts::load_items(store, user).await?;
        let language = account.map(|user| user.language).unwrap_or_default();
        let (leaving, others): (Vec<_>, Vec<_>) = memberships
            .into_iter()
            .filter(|m| m.status == MembershipStatus::Active)
            .partition(|m| &m.customer_number == customer);
        let leaving = leaving.into_iter().next().ok_or(LeaveError::NotMember)?;
        let was_admin = leaving.permissions.contains(&Permission::UserManagement);

        let mut items = vec![mark_left(store, &leaving, now)?, free_seat(store, &leaving)?];
        if was_admin {
            items.push(crate::roles::change_admin_count(store, customer, -1)?);
        }
        match transact(store, items, "leave a customer").await {
            Ok(()) => {
                tracing::info!("left the customer");
                let mut others: Vec<Membership> = others.into_iter().map(Membership::from).collect();
                return Ok(match others.len() {
                    0 => NextScreen::NoAccess { language },
                    1 => NextScreen::Home(others.remove(0)),
                    _ => NextScreen::ChooseCustomer,
                });
            }
            Err(TransactionError::Cancelled(reasons)) => {
                if was_admin && reasons[2].condition_failed() && !reasons[0].condition_failed() {
                    return Err(LeaveError::LastAdmin);
                }
            }
            Err(TransactionError::Contention) => return Err(LeaveError::Busy),
            Err(TransactionError::Other(error)) => return Err(error.into()),
        }
    }
    Err(LeaveError::Busy)
}

fn mark_left(store: &Store, membership: &MembershipItem, now: OffsetDateTime) -> anyhow::Result<TransactWriteItem> {
    let update = built(
        Update::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(membership.pk.clone()))
            .key(keys::SK, AttributeValue::S(membership.sk.clone()))
            .update_expression("SET #status = :left, leftAt = :now ADD #revision :one")
            .condition_expression(
                "#status = :active AND (#revision = :seen OR (attribute_not_exists(#revision) AND :seen = :zero))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_values(":left", AttributeValue::S("left".into()))
            .expression_attribute_values(":active", AttributeValue::S("active".into()))
            .expression_attribute_values(
                ":now",
                AttributeValue::S(
                    now.format(&time::format_description::well_known::Rfc3339)
                        .context("Failed to format a time.")?,
                ),
            )
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":seen", AttributeValue::N(membership.revision.to_string()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn free_seat(store: &Store, membership: &MembershipItem) -> anyhow::Result<TransactWriteItem> {
    let delete = built(
        Delete::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(keys::customer(&membership.customer_number)))
            .key(keys::SK, AttributeValue::S(keys::claimed_email_sk(&membership.email)))
            .condition_expression("#status = :member AND userId = :user")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":member", AttributeValue::S("member".into()))
            .expression_attribute_values(":user", AttributeValue::S(membership.user_id.to_string()))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().delete(delete).build())
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

impl From<TourError> for crate::http::ApiError {
    fn from(error: TourError) -> Self {
        let detail = error.to_string();
        match error {
            TourError::NotAMember => Self::NotFound {
                code: "membership-not-found",
                detail,
            },
            TourError::NotDue(_) => Self::InvalidValue(crate::domain::InvalidValue {
                code: "invalid-tour-step",
                reason: detail,
            }),
            TourError::Unexpected(error) => Self::Unexpected(error),
        }
    }
}

/// Records welcome-tour steps as seen, atomically (a set `ADD`), and returns the membership
/// after it. Only steps of areas the membership reaches can be recorded, all or none, in the
/// same UpdateItem (a condition per step); recording a seen step again changes nothing, so a
/// retried request answers alike.
#[tracing::instrument(name = "Completing tour steps", skip_all, fields(user_id = %user, customer = %customer))]
pub async fn complete_tour(
    store: &Store,
    user: &UserId,
    customer: &CustomerNumber,
    steps: &BTreeSet<Permission>,
) -> Result<Membership, TourError> {
    let mut condition = "#status = :active".to_owned();
    let mut request = store
        .client
        .update_item()
        .table_name(&store.tables.data)
        .key(keys::PK, AttributeValue::S(keys::user(user)))
        .key(keys::SK, AttributeValue::S(keys::membership_sk(customer)))
        .update_expression("ADD tourSeen :steps")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#permissions", "permissions")
        .expression_attribute_values(
            ":steps",
            AttributeValue::Ss(steps.iter().map(|step| step.code().to_owned()).collect()),
        )
        .expression_attribute_values(":active", AttributeValue::S("active".into()));
    for (i, step) in steps.iter().enumerate() {
        condition.push_str(&format!(" AND contains(#permissions, :step{i})"));
        request = request.expression_attribute_values(format!(":step{i}"), AttributeValue::S(step.code().into()));
    }
    let result = request
        .condition_expression(condition)
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    let error = match result {
        Ok(output) => {
            let item: MembershipItem = serde_dynamo::from_item(output.attributes.unwrap_or_default())
                .context("A stored membership is malformed.")?;
            return Ok(item.into());
        }
        Err(error) => error,
    };
    if !error
        .as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
    {
        return Err(crate::aws::sdk_error("Failed to record tour steps.")(error).into());
    }
    // The membership as the condition saw it: none or left, or active without some step's area.
    let item = match error.into_service_error() {
        UpdateItemError::ConditionalCheckFailedException(failed) => failed.item,
        _ => None,
    };
    let Some(item) = item else {
        return Err(TourError::NotAMember);
    };
    let membership: MembershipItem = serde_dynamo::from_item(item).context("A stored membership is malformed.")?;
    if membership.status != MembershipStatus::Active {
        return Err(TourError::NotAMember);
    }
    Err(TourError::NotDue(
        steps.difference(&membership.permissions).copied().collect(),
    ))
}
