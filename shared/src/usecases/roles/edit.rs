//! Editing a role: its name and permissions, and every holder's membership with it.

use super::RoleChangeError;
use super::usage::{RoleUsage, holders};
use crate::customers::admin_count_change;
use crate::domain::{CustomerNumber, Permission, RoleId, RoleName, UserId};
use crate::memberships::{self, MembershipItem, RoleRef, admin_check, is_admin};
use crate::roles::lock::{Locked, lock, unlock, write_edit};
use crate::roles::{self, Role, name_claim, release_name_claim};
use crate::seats::SeatItem;
use crate::store::transactions::{MAX_ITEMS, Part, Transaction, TransactionError};
use crate::store::{Store, item_key, keys};
use anyhow::Context as _;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// Items of an edit's transaction besides the members': the role, the customer's admin count,
/// the admin check, and a rename's two name claims.
const EDIT_OVERHEAD: usize = 5;
/// Members one edit can update in its single transaction (with one item to spare).
pub const MAX_MEMBERS_PER_EDIT: usize = MAX_ITEMS - EDIT_OVERHEAD - 1;
// Every item an edit can carry (admin check, role, two name claims, the members, the admin
// count) fits one transaction.
const _: () = assert!(1 + 1 + 2 + MAX_MEMBERS_PER_EDIT + 1 < MAX_ITEMS);

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
    let locked = lock(store, customer, role_id, now).await?;
    let change = Change {
        store,
        admin,
        customer,
        locked: &locked,
    };
    let result = change.edit(name, permissions, now).await;
    if result.is_err() {
        unlock(store, customer, &locked).await;
    }
    result
}

/// An edit holding its role's lock.
struct Change<'a> {
    store: &'a Store,
    admin: &'a UserId,
    customer: &'a CustomerNumber,
    locked: &'a Locked,
}

impl Change<'_> {
    async fn edit(
        &self,
        name: RoleName,
        permissions: BTreeSet<Permission>,
        now: OffsetDateTime,
    ) -> Result<Edited, RoleChangeError> {
        let (store, customer) = (self.store, self.customer);
        let role_id = &self.locked.role.id;
        let (roles, holders) = tokio::try_join!(roles::list(store, customer), holders(store, customer))?;
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

        let holding = holders.seats_holding(role_id);
        if holding.len() > MAX_MEMBERS_PER_EDIT {
            return Err(RoleChangeError::TooWidelyHeld);
        }
        let memberships = read_memberships(store, customer, &holding).await?;
        let usage = holders.usage_of(role_id, now);

        let mut transaction = Transaction::new(store);
        let caller_holds_role = memberships.iter().any(|m| m.user_id == *self.admin);
        if !caller_holds_role {
            transaction.add(Part::AdminCheck, admin_check(store, customer, self.admin)?);
        }
        transaction.add(
            Part::Role(*role_id),
            write_edit(store, customer, self.locked, &name, &permissions)?,
        );
        self.move_name_claim(&mut transaction, &name)?;
        let admin_delta = self.update_holders(&mut transaction, &memberships, &name, &permissions_of)?;
        if admin_delta != 0 {
            transaction.add(Part::Customer, admin_count_change(store, customer, admin_delta)?);
        }
        match transaction.commit("edit a role").await {
            Ok(()) => Ok(Edited {
                role: Role {
                    id: *role_id,
                    name,
                    permissions,
                },
                usage,
            }),
            Err(TransactionError::Refused(refused)) => {
                if refused.failed(&Part::AdminCheck) {
                    Err(RoleChangeError::NotAdmin)
                } else if refused.failed(&Part::NameClaim) {
                    Err(RoleChangeError::NameTaken(name))
                } else if refused.failed(&Part::Customer) {
                    Err(RoleChangeError::LastAdmin)
                } else {
                    // A member's roles changed meanwhile, the caller stopped being an admin, or
                    // the lock ran out: nothing was written, try again.
                    Err(RoleChangeError::Busy)
                }
            }
            Err(TransactionError::Contention) => Err(RoleChangeError::Contention),
            Err(TransactionError::Other(error)) => Err(error.into()),
        }
    }

    /// A rename moves the claim; a role without one (made before claims) claims its name now.
    fn move_name_claim(&self, transaction: &mut Transaction<'_>, name: &RoleName) -> anyhow::Result<()> {
        let current = &self.locked.role;
        let renamed = current.name.unique_key() != name.unique_key();
        if renamed || !current.name_claimed {
            transaction.add(
                Part::NameClaim,
                name_claim(self.store, self.customer, &current.id, name)?,
            );
            if current.name_claimed {
                transaction.add(
                    Part::NameRelease,
                    release_name_claim(self.store, self.customer, &current.id, &current.name)?,
                );
            }
        }
        Ok(())
    }

    /// Adds each holder's membership with the role's new name and permissions; returns how the
    /// number of admins changes.
    fn update_holders(
        &self,
        transaction: &mut Transaction<'_>,
        memberships: &[MembershipItem],
        name: &RoleName,
        permissions_of: &BTreeMap<RoleId, BTreeSet<Permission>>,
    ) -> anyhow::Result<i64> {
        let role_id = &self.locked.role.id;
        let mut admin_delta: i64 = 0;
        for membership in memberships {
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
            let acting_admin = membership.user_id == *self.admin;
            transaction.add(
                Part::Membership(membership.user_id),
                memberships::set_roles(self.store, membership, &roles, &permissions, acting_admin)?,
            );
        }
        Ok(admin_delta)
    }
}

/// The memberships behind member seats (BatchGetItem, consistent).
async fn read_memberships(
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
    store
        .batch_get(wanted)
        .await
        .context("Failed to read memberships.")?
        .into_iter()
        .map(|item| crate::store::decode(item, "a membership"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_members_one_edit_reaches_are_the_documented_ones() {
        assert_eq!(MAX_MEMBERS_PER_EDIT, 94, "the limit the API and README document");
    }
}
