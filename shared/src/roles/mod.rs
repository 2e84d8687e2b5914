//! Roles: per customer, a name and the portal areas it opens. Created before they can be
//! invited with; invitations refer to them by id, so editing a role changes what open
//! invitations will grant, and a deleted role is granted by none.

mod change;

pub use change::{Edited, MAX_MEMBERS_PER_EDIT, RoleChangeError, RoleUsage, delete, edit, usage};
pub(crate) use change::{change_admin_count, update_membership};

use crate::domain::{CustomerNumber, Permission, RoleId, RoleName, UserId};
use crate::memberships::admin_check;
use crate::store::transactions::{TransactionError, built, transact};
use crate::store::{Store, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// While a role is being edited or deleted, its item carries this attribute (epoch seconds until
/// which the change holds the role); invites and role assignments that name it are refused.
pub(crate) const CHANGING_UNTIL: &str = "changingUntil";

/// A role of one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// Its id.
    pub id: RoleId,
    /// Its name.
    pub name: RoleName,
    /// The areas it grants.
    pub permissions: BTreeSet<Permission>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    pub id: RoleId,
    pub name: RoleName,
    pub permissions: BTreeSet<Permission>,
    /// Bumped by every edit, so writes that copy a role's name or permissions can require
    /// that they copied the current ones.
    #[serde(default)]
    pub revision: u32,
    /// Whether the role holds the claim of its name ([`name_claim`]). Roles created before
    /// names were claimed hold none until they are renamed or edited.
    #[serde(default)]
    pub name_claimed: bool,
}

impl RoleItem {
    /// A new role's item; it is written together with its name's claim.
    pub(crate) fn new(customer: &CustomerNumber, role: &Role) -> Self {
        Self {
            pk: keys::customer(customer),
            sk: keys::role_sk(&role.id),
            id: role.id,
            name: role.name.clone(),
            permissions: role.permissions.clone(),
            revision: 0,
            name_claimed: true,
        }
    }
}

/// A role name's claim: one item per name (by its unique key) per customer, put only where
/// none is (`attribute_not_exists`) in the same transaction as the role it names, so two
/// roles of one customer can never take one name, however concurrent their writes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NameClaimItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    role_id: RoleId,
}

/// Puts the claim of `name` for `role`; fails its condition if another role holds it.
pub(crate) fn name_claim(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    name: &RoleName,
) -> anyhow::Result<TransactWriteItem> {
    let item = NameClaimItem {
        pk: keys::customer(customer),
        sk: keys::role_name_sk(&name.unique_key()),
        role_id: *role,
    };
    let put = built(
        Put::builder()
            .table_name(&store.tables.data)
            .set_item(Some(
                serde_dynamo::to_item(item).context("Failed to serialise a role name's claim.")?,
            ))
            .condition_expression("attribute_not_exists(PK)")
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Deletes `role`'s claim of `name` (a rename or a deletion frees the name); the condition
/// makes sure a claim is only ever deleted by the role holding it (a missing one is no matter).
pub(crate) fn release_name_claim(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    name: &RoleName,
) -> anyhow::Result<TransactWriteItem> {
    let delete = built(
        Delete::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(keys::customer(customer)))
            .key(keys::SK, AttributeValue::S(keys::role_name_sk(&name.unique_key())))
            .condition_expression("attribute_not_exists(PK) OR roleId = :role")
            .expression_attribute_values(":role", AttributeValue::S(role.to_string()))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

impl From<RoleItem> for Role {
    fn from(item: RoleItem) -> Self {
        Self {
            id: item.id,
            name: item.name,
            permissions: item.permissions,
        }
    }
}

/// Why a role could not be created. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// The caller is not an admin of the customer.
    #[error("Only an admin of the customer may manage its roles.")]
    NotAdmin,
    /// Another role of the customer has this name (in any case).
    #[error("Another role of this customer is called `{0}` already (names are compared regardless of case).")]
    NameTaken(RoleName),
    /// Other requests kept conflicting.
    #[error("The service is busy.")]
    Busy,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Every role of a customer, by id (one consistent Query).
pub async fn list(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Vec<Role>> {
    Ok(items(store, customer).await?.into_iter().map(Role::from).collect())
}

async fn items(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Vec<RoleItem>> {
    let mut roles = Vec::new();
    let mut start_key = None;
    loop {
        let output = store
            .client
            .query()
            .table_name(&store.tables.data)
            .key_condition_expression("PK = :pk AND begins_with(SK, :roles)")
            .expression_attribute_values(":pk", AttributeValue::S(keys::customer(customer)))
            .expression_attribute_values(":roles", AttributeValue::S(keys::ROLE_SK_PREFIX.into()))
            .consistent_read(true)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(crate::aws::sdk_error("Failed to query a customer's roles."))?;
        for item in output.items.unwrap_or_default() {
            roles.push(serde_dynamo::from_item(item).context("A stored role is malformed.")?);
        }
        start_key = output.last_evaluated_key;
        if start_key.is_none() {
            return Ok(roles);
        }
    }
}

/// What [`claim_names`] did with a customer's roles.
#[derive(Debug, Default)]
pub struct ClaimedNames {
    /// Roles whose names it claimed now.
    pub claimed: Vec<Role>,
    /// Roles that held their claim already.
    pub held: usize,
    /// Roles whose name another role holds (rename one of them), or that were being changed
    /// (run it again); left as they were.
    pub not_claimed: Vec<Role>,
}

/// Claims the names of a customer's roles made before names were claimed: an operator's step
/// after upgrading, so that a create cannot take such a name either. Safe to run again.
#[tracing::instrument(name = "Claiming role names", skip_all, fields(customer = %customer))]
pub async fn claim_names(
    store: &Store,
    customer: &CustomerNumber,
    now: time::OffsetDateTime,
) -> anyhow::Result<ClaimedNames> {
    let mut outcome = ClaimedNames::default();
    for item in items(store, customer).await? {
        if item.name_claimed {
            outcome.held += 1;
            continue;
        }
        // Not while an edit holds the role: it read the role unclaimed and would claim itself.
        let mark = built(
            aws_sdk_dynamodb::types::Update::builder()
                .table_name(&store.tables.data)
                .key(keys::PK, AttributeValue::S(keys::customer(customer)))
                .key(keys::SK, AttributeValue::S(keys::role_sk(&item.id)))
                .update_expression("SET #claimed = :true")
                .condition_expression(
                    "attribute_exists(PK) AND attribute_not_exists(#claimed) \
                     AND (attribute_not_exists(#changing) OR #changing < :now)",
                )
                .expression_attribute_names("#claimed", "nameClaimed")
                .expression_attribute_names("#changing", CHANGING_UNTIL)
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":now", AttributeValue::N(now.unix_timestamp().to_string()))
                .build(),
        )?;
        let transaction = vec![
            name_claim(store, customer, &item.id, &item.name)?,
            TransactWriteItem::builder().update(mark).build(),
        ];
        match transact(store, transaction, "claim a role's name").await {
            Ok(()) => outcome.claimed.push(item.into()),
            Err(TransactionError::Cancelled(_)) | Err(TransactionError::Contention) => {
                outcome.not_claimed.push(item.into());
            }
            Err(TransactionError::Other(error)) => return Err(error),
        }
    }
    Ok(outcome)
}

/// Creates a role, if `admin` is an admin of the customer and no other role of it has the name
/// (one transaction: the admin check, the role, its name's claim).
#[tracing::instrument(name = "Creating a role", skip_all, fields(customer = %customer))]
pub async fn create(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    name: RoleName,
    permissions: BTreeSet<Permission>,
) -> Result<Role, RoleError> {
    let role = Role {
        id: RoleId::generate(),
        name,
        permissions,
    };
    let put = built(
        Put::builder()
            .table_name(&store.tables.data)
            .set_item(Some(
                serde_dynamo::to_item(RoleItem::new(customer, &role)).context("Failed to serialise a role.")?,
            ))
            .condition_expression("attribute_not_exists(PK)")
            .build(),
    )?;
    let items = vec![
        admin_check(store, customer, admin)?,
        TransactWriteItem::builder().put(put).build(),
        name_claim(store, customer, &role.id, &role.name)?,
    ];
    match transact(store, items, "create a role").await {
        Ok(()) => Ok(role),
        Err(TransactionError::Cancelled(reasons)) if reasons.first().is_some_and(|r| r.condition_failed()) => {
            Err(RoleError::NotAdmin)
        }
        Err(TransactionError::Cancelled(reasons)) if reasons.get(2).is_some_and(|r| r.condition_failed()) => {
            Err(RoleError::NameTaken(role.name))
        }
        Err(TransactionError::Cancelled(reasons)) => {
            Err(anyhow::anyhow!("A new role's id was taken: {reasons:?}").into())
        }
        Err(TransactionError::Contention) => Err(RoleError::Busy),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}
