//! Roles: per customer, a name and the portal areas it opens. Created before they can be
//! invited with; invitations refer to them by id, so editing a role changes what open
//! invitations will grant, and a deleted role is granted by none. Names are unique per
//! customer regardless of case (a claim item per name); [`lock`] holds a role while it is
//! edited or deleted. Editing and deleting are use cases ([`crate::usecases::roles`]): they
//! reach members and invitations.

pub(crate) mod lock;

use crate::customers::admin_check;
use crate::domain::RoleRef;
use crate::domain::{Admin, CustomerNumber, Permission, RoleId, RoleName};
use crate::store::stamp::{self, ChangeKind};
use crate::store::transactions::{Part, Transaction, TransactionError};
use crate::store::{IntoTransactionItem as _, Item, Store, item_key, keys, text};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The attributes expressions name.
pub(crate) mod attr {
    pub(crate) const NAME: &str = "name";
    pub(crate) const PERMISSIONS: &str = "permissions";
    pub(crate) const REVISION: &str = "revision";
    pub(crate) const NAME_CLAIMED: &str = "nameClaimed";
    /// While a role is being edited or deleted, epoch seconds until which the change holds it.
    pub(crate) const CHANGING_UNTIL: &str = "changingUntil";
    /// On a name claim: the role holding it.
    pub(crate) const ROLE_ID: &str = "roleId";
}

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

#[derive(Debug, Serialize, Deserialize)]
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
    /// The role as a membership names it.
    pub(crate) fn as_ref(&self) -> RoleRef {
        RoleRef {
            id: self.id,
            name: self.name.clone(),
        }
    }

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

/// How long the record of a role's deletion is kept: long enough for the table's stream to carry
/// it to the activity log (the stream keeps records 24 hours).
const DELETION_RECORD_KEPT: time::Duration = time::Duration::days(2);

/// The record of a role's deletion: the role as it was, stamped with who deleted it. A removal's
/// stream record has only the item before it, so the deletion's transaction puts this beside it
/// (one item more, no round trip) for the activity log; TTL removes it after
/// [`DELETION_RECORD_KEPT`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeletionRecordItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    id: RoleId,
    name: RoleName,
    permissions: BTreeSet<Permission>,
    ttl: i64,
}

/// The deletion record of `role`, deleted by `admin` at `now`.
pub(crate) fn deletion_record(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleItem,
    admin: &Admin,
    now: time::OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let record = DeletionRecordItem {
        pk: keys::customer(customer),
        sk: keys::role_deletion_sk(&role.id, now),
        id: role.id,
        name: role.name.clone(),
        permissions: role.permissions.clone(),
        ttl: crate::store::epoch_seconds(now + DELETION_RECORD_KEPT),
    };
    let stamp = stamp::stamped_by(ChangeKind::RoleDeleted, admin.user_id, &admin.email, now);
    store.put_new_stamped(record, &stamp)
}

/// A role's key.
pub(crate) fn key(customer: &CustomerNumber, role: &RoleId) -> Item {
    item_key(keys::customer(customer), keys::role_sk(role))
}

/// Puts the claim of `name` for `role`; fails its condition if another role holds it.
pub(crate) fn name_claim(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    name: &RoleName,
) -> anyhow::Result<TransactWriteItem> {
    store.put_new(NameClaimItem {
        pk: keys::customer(customer),
        sk: keys::role_name_sk(&name.unique_key()),
        role_id: *role,
    })
}

/// Deletes `role`'s claim of `name` (a rename or a deletion frees the name); the condition
/// makes sure a claim is only ever deleted by the role holding it (a missing one is no matter).
pub(crate) fn release_name_claim(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    name: &RoleName,
) -> anyhow::Result<TransactWriteItem> {
    store
        .delete(item_key(
            keys::customer(customer),
            keys::role_name_sk(&name.unique_key()),
        ))
        .condition_expression("attribute_not_exists(PK) OR #role = :role")
        .expression_attribute_names("#role", attr::ROLE_ID)
        .expression_attribute_values(":role", text(role))
        .into_item()
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
    #[error("Only an admin of this customer may manage its roles.")]
    NotAdmin,
    /// Another role of the customer has this name (in any case).
    #[error("Another role of this customer is called `{0}` already (names are compared regardless of case).")]
    NameTaken(RoleName),
    /// Other requests kept conflicting.
    #[error("The service is busy.")]
    Contention,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Every role of a customer, by id (one consistent Query).
pub async fn list(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Vec<Role>> {
    Ok(items(store, customer).await?.into_iter().map(Role::from).collect())
}

/// Every role of a customer as stored, by id (one consistent Query; name claims have another
/// prefix and are not read).
pub(crate) async fn items(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Vec<RoleItem>> {
    let query = store.query_prefix(keys::customer(customer), keys::ROLE_SK_PREFIX);
    store.query_all(query, "a customer's roles").await
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
        let mark = store
            .update(key(customer, &item.id))
            .update_expression("SET #claimed = :true")
            .condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(#claimed) \
                 AND (attribute_not_exists(#changing) OR #changing < :now)",
            )
            .expression_attribute_names("#claimed", attr::NAME_CLAIMED)
            .expression_attribute_names("#changing", attr::CHANGING_UNTIL)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":now", crate::store::number(now.unix_timestamp()))
            .into_item()?;
        let mut transaction = Transaction::new(store);
        transaction
            .add(Part::NameClaim, name_claim(store, customer, &item.id, &item.name)?)
            .add(Part::Role(item.id), mark);
        match transaction.commit("claim a role's name").await {
            Ok(()) => outcome.claimed.push(item.into()),
            Err(TransactionError::Refused(_)) | Err(TransactionError::Contention) => {
                outcome.not_claimed.push(item.into());
            }
            Err(TransactionError::Other(error)) => return Err(error),
        }
    }
    Ok(outcome)
}

/// Creates a role, if `admin` is an admin of the customer and no other role of it has the name
/// (one transaction: the admin check, the role, its name's claim).
pub async fn create(
    store: &Store,
    admin: &Admin,
    customer: &CustomerNumber,
    name: RoleName,
    permissions: BTreeSet<Permission>,
    now: time::OffsetDateTime,
) -> Result<Role, RoleError> {
    let role = Role {
        id: RoleId::generate(),
        name,
        permissions,
    };
    let stamp = stamp::stamped_by(ChangeKind::RoleCreated, admin.user_id, &admin.email, now);
    let mut transaction = Transaction::new(store);
    transaction
        .add(Part::AdminCheck, admin_check(store, customer, &admin.user_id)?)
        .add(
            Part::Role(role.id),
            store.put_new_stamped(RoleItem::new(customer, &role), &stamp)?,
        )
        .add(Part::NameClaim, name_claim(store, customer, &role.id, &role.name)?);
    match transaction.commit("create a role").await {
        Ok(()) => Ok(role),
        Err(TransactionError::Refused(refused)) if refused.failed(&Part::AdminCheck) => Err(RoleError::NotAdmin),
        Err(TransactionError::Refused(refused)) if refused.failed(&Part::NameClaim) => {
            Err(RoleError::NameTaken(role.name))
        }
        Err(TransactionError::Refused(refused)) => Err(refused.unexplained("create a role").into()),
        Err(TransactionError::Contention) => Err(RoleError::Contention),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attributes_expressions_name_are_on_the_items() {
        let customer = CustomerNumber::parse("100234").unwrap();
        let role = Role {
            id: RoleId::generate(),
            name: RoleName::parse("Buyer").unwrap(),
            permissions: [Permission::Orders].into_iter().collect(),
        };
        let stored: Item = serde_dynamo::to_item(RoleItem::new(&customer, &role)).unwrap();
        for name in [attr::NAME, attr::PERMISSIONS, attr::REVISION, attr::NAME_CLAIMED] {
            assert!(stored.contains_key(name), "{name}");
        }
        let claim: Item = serde_dynamo::to_item(NameClaimItem {
            pk: keys::customer(&customer),
            sk: keys::role_name_sk(&role.name.unique_key()),
            role_id: role.id,
        })
        .unwrap();
        assert!(claim.contains_key(attr::ROLE_ID));
    }
}
