//! The User Management table: a customer's members with their roles, and assigning roles.
//! Assigning roles lifts restricted access on the member's very next request (memberships are
//! read strongly consistently) and keeps the customer's admin count exact.

use crate::customers::{add_admin, admin_count_change, remove_admin};
use crate::domain::{CustomerNumber, Email, InvalidValue, Permission, RoleId, UserId};
use crate::memberships::{self, MembershipStatus, RoleRef, admin_check, is_admin};
use crate::roles::lock::{not_locked, unchanged};
use crate::roles::{Role, RoleItem};
use crate::seats;
use crate::store::Store;
use crate::store::transactions::{Part, Transaction, TransactionError};
use anyhow::Context as _;
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
    #[serde(serialize_with = "crate::domain::timestamp::serialize_option")]
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
    ChangedMeanwhile,
    /// Other requests kept conflicting.
    #[error("The service is busy.")]
    Contention,
    /// A malformed cursor.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Most rows one page of the users table holds.
pub const MAX_PAGE_SIZE: u16 = 100;
/// Queries one page may take to fill itself when filters leave rows out; past them the page
/// ends early (with a cursor), so a page's cost stays bounded.
const QUERIES_PER_PAGE: usize = 8;

/// What the users table asks for: a page, by email, searched and filtered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberQuery {
    /// Members whose email starts with this (lower case).
    pub email_prefix: Option<String>,
    /// Members holding this role.
    pub role: Option<RoleId>,
    /// Members restricted (no rights) or not.
    pub restricted: Option<bool>,
    /// Admins or not.
    pub admin: Option<bool>,
    /// Rows at most.
    pub limit: u16,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

impl MemberQuery {
    /// The filters, as a cursor names them: a cursor continues only the listing it came from.
    fn filters(&self) -> String {
        format!(
            "email={};role={};restricted={:?};admin={:?}",
            self.email_prefix.as_deref().unwrap_or(""),
            self.role.map(|r| r.to_string()).unwrap_or_default(),
            self.restricted,
            self.admin
        )
    }
}

/// One page of the users table.
#[derive(Debug, Clone)]
pub struct MemberPage {
    /// Its rows, by email.
    pub members: Vec<Member>,
    /// Opaque; present when there may be more.
    pub next_cursor: Option<String>,
    /// Every active member of the customer, whatever the filters.
    pub total: u32,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    customer: String,
    filters: String,
    sk: String,
}

fn invalid_cursor() -> InvalidValue {
    InvalidValue {
        code: "invalid-cursor",
        reason: "The cursor is not one this list issued for these filters.".into(),
    }
}

fn decode_cursor(raw: &str, customer: &CustomerNumber, query: &MemberQuery) -> Result<String, InvalidValue> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| invalid_cursor())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if cursor.customer != customer.to_string()
        || cursor.filters != query.filters()
        || !cursor.sk.starts_with(crate::store::keys::SEAT_SK_PREFIX)
        || cursor.sk.len() > 300
    {
        return Err(invalid_cursor());
    }
    Ok(cursor.sk)
}

fn encode_cursor(customer: &CustomerNumber, query: &MemberQuery, sk: String) -> String {
    use base64::Engine as _;
    let cursor = Cursor {
        customer: customer.to_string(),
        filters: query.filters(),
        sk,
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

/// One page of the customer's active members by email, searched by email prefix and filtered
/// by role, restriction and admin. The unfiltered page and the email search read a key range of
/// the customer's seats (one Query per page, whatever the number of members; invited seats in
/// the range are read and left out); a role filter is a condition on that range, restricted
/// and admin filters are judged on the rows read, so a page may take more Queries (at most
/// [`QUERIES_PER_PAGE`]) when few rows match. Beside it: the admin check, the roles (names and
/// permissions) and the customer item (the total), all in the same round trip.
pub async fn list(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    query: &MemberQuery,
) -> Result<MemberPage, MemberError> {
    let start = query
        .cursor
        .as_deref()
        .map(|raw| decode_cursor(raw, customer, query))
        .transpose()?;
    let prefix = query.email_prefix.as_deref().unwrap_or("");
    let range = seats::MemberRange {
        customer,
        prefix,
        role: query.role.as_ref(),
        start,
        limit: query.limit,
        queries: QUERIES_PER_PAGE,
    };
    let (is_admin, roles, total, page) = if query.restricted.is_none() && query.admin.is_none() {
        let all = |_: &seats::SeatItem| true;
        tokio::try_join!(
            is_admin(store, customer, admin),
            crate::roles::list(store, customer),
            crate::customers::member_count(store, customer),
            range.read(store, &all),
        )?
    } else {
        // Restricted and admin are what the roles grant: the roles first, then the rows.
        let (is_admin, roles, total) = tokio::try_join!(
            is_admin(store, customer, admin),
            crate::roles::list(store, customer),
            crate::customers::member_count(store, customer),
        )?;
        let by_id: BTreeMap<RoleId, Role> = roles.iter().map(|role| (role.id, role.clone())).collect();
        let keep = |seat: &seats::SeatItem| {
            row(seat, &by_id).is_ok_and(|member| {
                query.restricted.is_none_or(|r| r == member.restricted) && query.admin.is_none_or(|a| a == member.admin)
            })
        };
        let page = range.read(store, &keep).await?;
        (is_admin, roles, total, page)
    };
    if !is_admin {
        return Err(MemberError::NotAdmin);
    }
    let roles: BTreeMap<RoleId, Role> = roles.into_iter().map(|role| (role.id, role)).collect();
    let members = page
        .seats
        .iter()
        .map(|seat| row(seat, &roles))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(MemberPage {
        members,
        next_cursor: page.last_sk.map(|sk| encode_cursor(customer, query, sk)),
        total,
    })
}

fn row(seat: &seats::SeatItem, roles: &BTreeMap<RoleId, Role>) -> anyhow::Result<Member> {
    let held: Vec<&Role> = seat.role_ids.iter().filter_map(|id| roles.get(id)).collect();
    let permissions: BTreeSet<Permission> = held.iter().flat_map(|r| r.permissions.iter().copied()).collect();
    Ok(Member {
        user_id: seat.user_id.context("A member seat has no user id.")?,
        email: seat.email()?,
        admin: permissions.contains(&Permission::UserManagement),
        restricted: crate::domain::is_restricted(&permissions),
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
}

/// Replaces a member's roles in one transaction: the admin check, each new role unchanged
/// since it was read and not being changed, each role given up not being changed (a role edit
/// holding it counted this member as it was), the membership (unchanged since read), its seat,
/// and when the member becomes or stops being an admin, the admin set and the admin count.
/// Returns the roles and the permissions they grant.
pub async fn assign_roles(
    store: &Store,
    acting: &crate::domain::Admin,
    customer: &CustomerNumber,
    user: &UserId,
    role_ids: BTreeSet<RoleId>,
    now: OffsetDateTime,
) -> Result<(Vec<RoleRef>, BTreeSet<Permission>), MemberError> {
    let admin = &acting.user_id;
    let (caller_is_admin, membership, roles) = tokio::try_join!(
        is_admin(store, customer, admin),
        memberships::find_item(store, user, customer),
        crate::roles::items(store, customer),
    )?;
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
    let grants = |ids: &BTreeSet<RoleId>| -> BTreeSet<Permission> {
        ids.iter()
            .filter_map(|id| roles.get(id))
            .flat_map(|r| r.permissions.iter().copied())
            .collect()
    };
    let held = membership.role_ids();
    let permissions = grants(&role_ids);
    let was_admin = grants(&held).contains(&Permission::UserManagement);
    let becomes_admin = permissions.contains(&Permission::UserManagement);

    let mut transaction = Transaction::new(store);
    let admin_set_written = was_admin != becomes_admin;
    // A transaction touches an item once: when the member's admin-set item is written and it
    // is also the caller's, that write carries the caller's admin check.
    if !(admin_set_written && crate::customers::checked_by_writes(admin, [user])) {
        transaction.add(Part::AdminCheck, admin_check(store, customer, admin)?);
    }
    for role in role_ids.iter().filter_map(|id| roles.get(id)) {
        transaction.add(Part::Role(role.id), unchanged(store, customer, role, now)?);
    }
    for given_up in held.difference(&role_ids) {
        transaction.add(Part::Role(*given_up), not_locked(store, customer, given_up, now)?);
    }
    transaction
        .add(
            Part::Membership(*user),
            memberships::set_roles(store, &membership, &role_ids, acting, now)?,
        )
        .add(
            Part::Seat,
            seats::set_roles(store, customer, &membership.email, user, &role_ids)?,
        );
    if becomes_admin && !was_admin {
        transaction
            .add(Part::AdminSet, add_admin(store, customer, user, Some(admin))?)
            .add(Part::Customer, admin_count_change(store, customer, 1)?);
    } else if was_admin && !becomes_admin {
        transaction
            .add(Part::AdminSet, remove_admin(store, customer, user, Some(admin))?)
            .add(Part::Customer, admin_count_change(store, customer, -1)?);
    }
    match transaction.commit("assign roles").await {
        Ok(()) => Ok((
            role_ids
                .iter()
                .filter_map(|id| roles.get(id))
                .map(RoleItem::as_ref)
                .collect(),
            permissions,
        )),
        Err(TransactionError::Refused(refused)) => {
            if refused.failed(&Part::AdminCheck) {
                Err(MemberError::NotAdmin)
            } else if refused.failed(&Part::Customer) {
                Err(MemberError::LastAdmin)
            } else {
                Err(MemberError::ChangedMeanwhile)
            }
        }
        Err(TransactionError::Contention) => Err(MemberError::Contention),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CompanyName, Email, Language, Password, PasswordPolicy, RoleName};
    use crate::testing::{a_tuesday_morning, add_member, fresh_store};
    use crate::usecases::onboarding::{FirstAdmin, NewCustomer, create};

    /// A customer with a "Buyer" role (orders) and its admin; returns the admin, the customer,
    /// and the role.
    async fn customer_with_a_buyer_role(store: &Store) -> (UserId, CustomerNumber, Role) {
        let customer = CustomerNumber::parse("100234").unwrap();
        let created = create(
            store,
            NewCustomer {
                number: customer.clone(),
                company_name: CompanyName::parse("ACME").unwrap(),
                default_language: Language::En,
                roles: vec![(RoleName::parse("Buyer").unwrap(), [Permission::Orders].into())],
            },
            FirstAdmin::NewAccount {
                user_id: UserId::generate(),
                email: Email::parse("admin@acme.example").unwrap(),
                password_hash: Password::parse("correct horse battery".into(), PasswordPolicy::New)
                    .unwrap()
                    .hash()
                    .await
                    .unwrap(),
                language: Language::En,
            },
            a_tuesday_morning(),
        )
        .await
        .unwrap();
        (created.admin.user_id, customer, created.roles[1].clone())
    }

    #[tokio::test]
    async fn a_role_stored_before_roles_had_revisions_can_be_assigned() {
        let store = fresh_store().await;
        let now = a_tuesday_morning();
        let (admin, customer, buyer) = customer_with_a_buyer_role(&store).await;
        let member = add_member(
            &store,
            &customer,
            &CompanyName::parse("ACME").unwrap(),
            &Email::parse("anna@example.com").unwrap(),
            "correct horse battery",
            &[],
            now,
        )
        .await;
        // As roles were stored before edits counted revisions.
        store
            .client()
            .update_item()
            .table_name(&store.tables().data)
            .set_key(Some(crate::roles::key(&customer, &buyer.id)))
            .update_expression("REMOVE #revision")
            .expression_attribute_names("#revision", crate::roles::attr::REVISION)
            .send()
            .await
            .unwrap();

        let admin = crate::domain::Admin {
            user_id: admin,
            email: Email::parse("admin@acme.example").unwrap(),
        };
        let (roles, permissions) = assign_roles(&store, &admin, &customer, &member, [buyer.id].into(), now)
            .await
            .expect("the role is unchanged since it was read: revision 0 either way");
        assert_eq!(roles.iter().map(|r| r.id).collect::<Vec<_>>(), vec![buyer.id]);
        assert_eq!(permissions, [Permission::Orders].into());
    }
}
