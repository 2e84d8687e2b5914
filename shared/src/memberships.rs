//! Memberships: a user's access to one customer, with that customer's roles.
//!
//! A membership stores the ids of its roles, never what they grant: names and permissions are
//! read from the role items when a membership is read ([`resolve`]), so editing a role changes
//! what every holder may do on the holder's next request, whatever the number of holders, by
//! writing one item. Whether the member is an admin is kept in the customer's admin set
//! ([`crate::customers`]), changed in the same transactions. This module owns every condition
//! and write on memberships: joining, role changes, leaving, and the welcome tour.

use crate::domain::{CompanyName, CustomerNumber, Email, InvitationId, Permission, RoleId, UserId};
use crate::roles::RoleItem;
use crate::store::stamp::{self, ChangeKind};
use crate::store::{IntoTransactionItem as _, Item, Store, item_key, keys, number, text, time_text, value};
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

pub use crate::domain::RoleRef;

/// The attributes expressions name.
pub(crate) mod attr {
    pub(crate) const STATUS: &str = "status";
    pub(crate) const ROLE_IDS: &str = "roleIds";
    pub(crate) const REVISION: &str = "revision";
    pub(crate) const TOUR_SEEN: &str = "tourSeen";
    pub(crate) const LEFT_AT: &str = "leftAt";
    pub(crate) const JOINED_AT: &str = "joinedAt";
    pub(crate) const USER_ID: &str = "userId";
    pub(crate) const EMAIL: &str = "email";
    pub(crate) const CUSTOMER_NUMBER: &str = "customerNumber";
    pub(crate) const COMPANY_NAME: &str = "companyName";
    /// The admin who sent the invitation the member joined by (the one told of it).
    pub(crate) const INVITED_BY: &str = "invitedBy";
    /// That invitation.
    pub(crate) const INVITATION_ID: &str = "invitationId";
    /// Memberships stored before role ids named their roles with names and kept the union of
    /// their permissions; a write of roles removes both.
    pub(crate) const LEGACY_ROLES: &str = "roles";
    pub(crate) const LEGACY_PERMISSIONS: &str = "permissions";
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
    /// The roles held, by id (absent while none: DynamoDB has no empty sets).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    role_ids: BTreeSet<RoleId>,
    /// Memberships stored before role ids: their roles, with names; read, never written.
    #[serde(default, rename = "roles", skip_serializing)]
    legacy_roles: Vec<RoleRef>,
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
    /// The admin who sent the invitation the member joined by; absent for a customer's first
    /// admin and for memberships stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<UserId>,
    /// That invitation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<InvitationId>,
}

impl MembershipItem {
    /// A new, active membership with `role_ids`.
    pub(crate) fn new(
        user_id: UserId,
        email: &Email,
        customer: &CustomerNumber,
        company_name: &CompanyName,
        role_ids: BTreeSet<RoleId>,
        joined_at: OffsetDateTime,
    ) -> Self {
        Self {
            pk: keys::user(&user_id),
            sk: keys::membership_sk(customer),
            gsi1pk: keys::customer(customer),
            gsi1sk: keys::member_gsi1sk(email),
            user_id,
            email: email.clone(),
            customer_number: customer.clone(),
            company_name: company_name.clone(),
            role_ids,
            legacy_roles: Vec::new(),
            status: MembershipStatus::Active,
            joined_at,
            revision: 0,
            tour_seen: BTreeSet::new(),
            invited_by: None,
            invitation_id: None,
        }
    }

    /// The ids of the roles held (a membership stored before role ids: those it names).
    pub(crate) fn role_ids(&self) -> BTreeSet<RoleId> {
        if self.role_ids.is_empty() {
            self.legacy_roles.iter().map(|role| role.id).collect()
        } else {
            self.role_ids.clone()
        }
    }
}

/// A membership as it grants now: its roles that exist, named and with their permissions as
/// `roles` (the customer's role items, by id) have them.
pub(crate) fn resolve(item: MembershipItem, roles: &BTreeMap<RoleId, RoleItem>) -> Membership {
    let held: Vec<&RoleItem> = item.role_ids().iter().filter_map(|id| roles.get(id)).collect();
    Membership {
        roles: held.iter().map(|role| role.as_ref()).collect(),
        permissions: held.iter().flat_map(|role| role.permissions.iter().copied()).collect(),
        user_id: item.user_id,
        email: item.email,
        customer_number: item.customer_number,
        company_name: item.company_name,
        status: item.status,
        joined_at: item.joined_at,
        tour_seen: item.tour_seen,
    }
}

/// The role items `memberships` name, for [`resolve`], by customer: one consistent
/// BatchGetItem per 100 roles (none when they name no role).
pub(crate) async fn roles_of(
    store: &Store,
    memberships: &[&MembershipItem],
) -> anyhow::Result<BTreeMap<CustomerNumber, BTreeMap<RoleId, RoleItem>>> {
    let wanted: Vec<Item> = memberships
        .iter()
        .flat_map(|m| {
            m.role_ids()
                .into_iter()
                .map(|role| crate::roles::key(&m.customer_number, &role))
        })
        .collect();
    let mut by_customer: BTreeMap<CustomerNumber, BTreeMap<RoleId, RoleItem>> = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(by_customer);
    }
    for item in store.batch_get(wanted).await? {
        let customer = item
            .get(keys::PK)
            .and_then(|pk| pk.as_s().ok())
            .and_then(|pk| keys::customer_of_pk(pk));
        let role: RoleItem = crate::store::decode(item, "a role")?;
        if let Some(customer) = customer {
            by_customer.entry(customer).or_default().insert(role.id, role);
        }
    }
    Ok(by_customer)
}

fn key(user: &UserId, customer: &CustomerNumber) -> Item {
    item_key(keys::user(user), keys::membership_sk(customer))
}

/// The condition, inside a transaction, that `user` is an admin of `customer` (the
/// customer's admin set: [`crate::customers::admin_check`]).
pub(crate) fn admin_check(
    store: &Store,
    customer: &CustomerNumber,
    user: &UserId,
) -> anyhow::Result<TransactWriteItem> {
    crate::customers::admin_check(store, customer, user)
}

/// Whether `user` is an admin of `customer` (one consistent GetItem of its admin set), for
/// reads that cannot carry the check as a transaction condition.
pub async fn is_admin(store: &Store, customer: &CustomerNumber, user: &UserId) -> anyhow::Result<bool> {
    crate::customers::is_admin(store, customer, user).await
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

/// Sets a membership's roles, if it is active and unchanged since it was read (and drops what
/// a membership stored before role ids kept instead).
/// Stamped for the activity log as roles assigned by `admin`.
pub(crate) fn set_roles(
    store: &Store,
    membership: &MembershipItem,
    role_ids: &BTreeSet<RoleId>,
    admin: &crate::domain::Admin,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let expression = if role_ids.is_empty() {
        "SET #revision = :next, #change = :change REMOVE #roleIds, #roles, #permissions"
    } else {
        "SET #roleIds = :roleIds, #revision = :next, #change = :change REMOVE #roles, #permissions"
    };
    let mut update = store
        .update(key(&membership.user_id, &membership.customer_number))
        .update_expression(expression)
        .condition_expression(format!("#status = :active AND {UNCHANGED}"))
        .expression_attribute_names("#roleIds", attr::ROLE_IDS)
        .expression_attribute_names("#roles", attr::LEGACY_ROLES)
        .expression_attribute_names("#permissions", attr::LEGACY_PERMISSIONS)
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_values(":next", number(membership.revision + 1))
        .expression_attribute_values(":seen", number(membership.revision))
        .expression_attribute_values(":zero", number(0))
        .expression_attribute_values(":active", text(MembershipStatus::Active.code()));
    if !role_ids.is_empty() {
        update = update.expression_attribute_values(":roleIds", value(role_ids)?);
    }
    stamp::stamped_by(ChangeKind::RolesAssigned, admin.user_id, &admin.email, now)
        .onto(update)?
        .into_item()
}

/// Who joins a customer, with what.
pub(crate) struct Joining<'a> {
    pub user_id: UserId,
    pub email: &'a Email,
    pub customer: &'a CustomerNumber,
    pub company_name: &'a CompanyName,
    pub role_ids: &'a BTreeSet<RoleId>,
    /// The invitation accepted, and the admin who sent it (told by email that the member joined).
    pub invitation: (InvitationId, UserId),
}

/// Writes the membership, or revives one the user cancelled earlier; fails if the user is an
/// active member already. Its revision goes up, so a role change computed from the old
/// membership cannot land on the new one.
pub(crate) fn join(store: &Store, joining: &Joining<'_>, now: OffsetDateTime) -> anyhow::Result<TransactWriteItem> {
    let (set_roles, remove_roles) = if joining.role_ids.is_empty() {
        ("", ", #roleIds")
    } else {
        (", #roleIds = :roleIds", "")
    };
    let mut update = store
        .update(key(&joining.user_id, joining.customer))
        .update_expression(format!(
            "SET #gsi1pk = :gsi1pk, #gsi1sk = :gsi1sk, #user = :user, #email = :email, \
             #customer = :customer, #company = :company, #status = :active, #joined = :joined, \
             #invitedBy = :invitedBy, #invitationId = :invitationId{set_roles} \
             REMOVE #left, #roles, #permissions{remove_roles} ADD #revision :one"
        ))
        .condition_expression("attribute_not_exists(PK) OR #status = :left")
        .expression_attribute_names("#gsi1pk", keys::GSI1PK)
        .expression_attribute_names("#gsi1sk", keys::GSI1SK)
        .expression_attribute_names("#user", attr::USER_ID)
        .expression_attribute_names("#email", attr::EMAIL)
        .expression_attribute_names("#customer", attr::CUSTOMER_NUMBER)
        .expression_attribute_names("#company", attr::COMPANY_NAME)
        .expression_attribute_names("#roleIds", attr::ROLE_IDS)
        .expression_attribute_names("#roles", attr::LEGACY_ROLES)
        .expression_attribute_names("#permissions", attr::LEGACY_PERMISSIONS)
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#joined", attr::JOINED_AT)
        .expression_attribute_names("#left", attr::LEFT_AT)
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_names("#invitedBy", attr::INVITED_BY)
        .expression_attribute_names("#invitationId", attr::INVITATION_ID)
        .expression_attribute_values(":invitedBy", text(joining.invitation.1))
        .expression_attribute_values(":invitationId", text(joining.invitation.0))
        .expression_attribute_values(":gsi1pk", text(keys::customer(joining.customer)))
        .expression_attribute_values(":gsi1sk", text(keys::member_gsi1sk(joining.email)))
        .expression_attribute_values(":user", text(joining.user_id))
        .expression_attribute_values(":email", text(joining.email))
        .expression_attribute_values(":customer", text(joining.customer))
        .expression_attribute_values(":company", text(joining.company_name))
        .expression_attribute_values(":active", text(MembershipStatus::Active.code()))
        .expression_attribute_values(":left", text(MembershipStatus::Left.code()))
        .expression_attribute_values(":joined", time_text(now)?)
        .expression_attribute_values(":one", number(1));
    if !joining.role_ids.is_empty() {
        update = update.expression_attribute_values(":roleIds", value(joining.role_ids)?);
    }
    update.into_item()
}

/// Marks an active membership left, if unchanged since it was read; stamped for the activity
/// log as the member's leaving (by itself, or by deleting its account).
pub(crate) fn mark_left(
    store: &Store,
    membership: &MembershipItem,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let update = store
        .update(key(&membership.user_id, &membership.customer_number))
        .update_expression("SET #status = :left, #leftAt = :now, #change = :change ADD #revision :one")
        .condition_expression(format!("#status = :active AND {UNCHANGED}"))
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#leftAt", attr::LEFT_AT)
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_values(":left", text(MembershipStatus::Left.code()))
        .expression_attribute_values(":active", text(MembershipStatus::Active.code()))
        .expression_attribute_values(":now", time_text(now)?)
        .expression_attribute_values(":one", number(1))
        .expression_attribute_values(":seen", number(membership.revision))
        .expression_attribute_values(":zero", number(0));
    stamp::stamped_by(ChangeKind::MemberLeft, membership.user_id, &membership.email, now)
        .onto(update)?
        .into_item()
}

/// Removes a membership with its account (the account's deletion), if unchanged since it was
/// read: an active one only while still active (the deletion is its leaving), a left one only
/// while still left.
pub(crate) fn remove(store: &Store, membership: &MembershipItem) -> anyhow::Result<TransactWriteItem> {
    use crate::store::IntoTransactionItem as _;
    store
        .delete(key(&membership.user_id, &membership.customer_number))
        .condition_expression(format!("#status = :status AND {UNCHANGED}"))
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_values(":status", text(membership.status.code()))
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
    /// The membership's roles changed meanwhile.
    #[error("Your access to this customer changed meanwhile; try again.")]
    ChangedMeanwhile,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Records welcome-tour steps as seen on `membership` (as read, and resolved to what it
/// reaches), atomically (a set `ADD`), and returns the membership after it. Only steps of
/// areas the membership reaches can be recorded, all or none; the write requires the
/// membership active and its roles unchanged since read. Recording a seen step again changes
/// nothing, so a retried request answers alike.
pub(crate) async fn complete_tour(
    store: &Store,
    item: MembershipItem,
    roles: &BTreeMap<RoleId, RoleItem>,
    steps: &BTreeSet<Permission>,
) -> Result<Membership, TourError> {
    let revision = item.revision;
    let membership = resolve(item, roles);
    if membership.status != MembershipStatus::Active {
        return Err(TourError::NotAMember);
    }
    let not_due: Vec<Permission> = steps.difference(&membership.permissions).copied().collect();
    if !not_due.is_empty() {
        return Err(TourError::NotDue(not_due));
    }
    let result = store
        .update_item(key(&membership.user_id, &membership.customer_number))
        .update_expression("ADD #seen :steps")
        .condition_expression(format!("#status = :active AND {UNCHANGED}"))
        .expression_attribute_names("#seen", attr::TOUR_SEEN)
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_values(
            ":steps",
            aws_sdk_dynamodb::types::AttributeValue::Ss(steps.iter().map(|step| step.code().to_owned()).collect()),
        )
        .expression_attribute_values(":active", text(MembershipStatus::Active.code()))
        .expression_attribute_values(":seen", number(revision))
        .expression_attribute_values(":zero", number(0));
    match store.update_returning::<MembershipItem>(result, "tour steps").await? {
        crate::store::Updated::Done(item) => Ok(resolve(item, roles)),
        crate::store::Updated::Refused(_) => Err(TourError::ChangedMeanwhile),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attributes_expressions_name_are_on_the_item() {
        let mut item = MembershipItem::new(
            UserId::generate(),
            &Email::parse("anna@example.com").unwrap(),
            &CustomerNumber::parse("100234").unwrap(),
            &CompanyName::parse("ACME").unwrap(),
            [RoleId::generate()].into(),
            OffsetDateTime::UNIX_EPOCH,
        );
        item.tour_seen.insert(Permission::Orders);
        let stored: Item = serde_dynamo::to_item(item).unwrap();
        for name in [
            attr::STATUS,
            attr::ROLE_IDS,
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

    #[test]
    fn a_membership_stored_before_role_ids_reads_its_roles_from_their_names() {
        let role = RoleId::generate();
        let stored = serde_json::json!({
            "PK": "USER#01KAWDEM0ADM1N000000000000", "SK": "MEMBERSHIP#100234",
            "GSI1PK": "CUSTOMER#100234", "GSI1SK": "MEMBER#anna@example.com",
            "userId": "01KAWDEM0ADM1N000000000000", "email": "anna@example.com",
            "customerNumber": "100234", "companyName": "ACME",
            "roles": [{"id": role.to_string(), "name": "Buyer"}], "permissions": ["orders"],
            "status": "active", "joinedAt": "2026-11-24T09:30:00Z", "revision": 3
        });
        let stored: Item = serde_dynamo::to_item(stored).unwrap();
        let item: MembershipItem = serde_dynamo::from_item(stored).unwrap();
        assert_eq!(item.role_ids(), [role].into());
        // What it granted is read from the role as it is now, never from the stored copy.
        let membership = resolve(item, &BTreeMap::new());
        assert!(membership.permissions.is_empty() && membership.roles.is_empty());
    }
}
