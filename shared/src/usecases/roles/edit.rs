//! Editing a role: its name and permissions. Memberships hold role ids and read what their
//! roles grant when they are read, so an edit writes the role alone, whatever the number of
//! holders; only when it gives or takes `user-management` does it change the customer's admin
//! set (at most [`ADMIN_SHARDS`](crate::customers::ADMIN_SHARDS) items) and its admin count,
//! in the same transaction, with the customer item (its admin count, and a revision that keeps
//! two such changes from landing on one read).

use super::RoleChangeError;
use super::usage::{Holders, RoleUsage, holders};
use crate::customers::{self, AdminState, admin_roles_change, too_few_admins};
use crate::domain::{Admin, CustomerNumber, Permission, RoleId, RoleName, UserId};
use crate::memberships::{admin_check, is_admin};
use crate::roles::lock::{Locked, lock, unlock, write_edit};
use crate::roles::{self, Role, name_claim, release_name_claim};
use crate::store::Store;
use crate::store::transactions::{Part, Transaction, TransactionError};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// What an edit changed.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The role as it is now.
    pub role: Role,
    /// Holders at the time of the edit.
    pub usage: RoleUsage,
}

/// Renames a role and/or changes its permissions; every holder's access follows on its next
/// request. Open invitations refer to the role by id and grant what it is when accepted.
pub async fn edit(
    store: &Store,
    acting: &Admin,
    customer: &CustomerNumber,
    role_id: &RoleId,
    name: RoleName,
    permissions: BTreeSet<Permission>,
    now: OffsetDateTime,
) -> Result<Edited, RoleChangeError> {
    let admin = &acting.user_id;
    if !is_admin(store, customer, admin).await? {
        return Err(RoleChangeError::NotAdmin);
    }
    let locked = lock(store, customer, role_id, now).await?;
    let change = Change {
        store,
        admin,
        acting,
        customer,
        locked: &locked,
    };
    let result = change.edit(name, permissions, now).await;
    if result.is_err() {
        unlock(store, customer, &locked).await;
    }
    result
}

/// A role change holding its role's lock.
pub(super) struct Change<'a> {
    pub store: &'a Store,
    pub admin: &'a UserId,
    /// The admin, as the activity log names it.
    pub acting: &'a Admin,
    pub customer: &'a CustomerNumber,
    pub locked: &'a Locked,
}

/// Which holders of `role` hold an admin role when the roles grant what `permissions_of` says
/// (the role changed included, a deleted role left out).
pub(super) fn admins_after(
    holders: &Holders,
    role: &RoleId,
    permissions_of: &BTreeMap<RoleId, BTreeSet<Permission>>,
) -> BTreeSet<UserId> {
    holders
        .seats_holding(role)
        .into_iter()
        .filter(|seat| {
            seat.role_ids.iter().any(|role| {
                permissions_of
                    .get(role)
                    .is_some_and(|p| p.contains(&Permission::UserManagement))
            })
        })
        .filter_map(|seat| seat.user_id)
        .collect()
}

impl Change<'_> {
    async fn edit(
        &self,
        name: RoleName,
        permissions: BTreeSet<Permission>,
        now: OffsetDateTime,
    ) -> Result<Edited, RoleChangeError> {
        let (store, customer) = (self.store, self.customer);
        let current = &self.locked.role;
        let role_id = &current.id;
        let toggles_admin = current.permissions.contains(&Permission::UserManagement)
            != permissions.contains(&Permission::UserManagement);
        // The admin set before the seats: a member who leaves after the set was read changes its
        // revision (the write below then fails); one who left before is gone from the seats.
        let (roles, holders, admins) = if toggles_admin {
            let (roles, admins) =
                tokio::try_join!(roles::list(store, customer), customers::admin_state(store, customer))?;
            (roles, holders(store, customer).await?, Some(admins))
        } else {
            let (roles, holders) = tokio::try_join!(roles::list(store, customer), holders(store, customer))?;
            (roles, holders, None)
        };
        // Roles from before names were claimed hold no claim that could refuse this name; the
        // roles just read show them. Claimed names are refused atomically by the claim below.
        if roles
            .iter()
            .any(|role| role.id != *role_id && role.name.unique_key() == name.unique_key())
        {
            return Err(RoleChangeError::NameTaken(name));
        }
        let usage = holders.usage_of(role_id, now);
        let mut transaction = Transaction::new(store);
        transaction.add(
            Part::Role(*role_id),
            write_edit(store, customer, self.locked, &name, &permissions, self.acting, now)?,
        );
        self.move_name_claim(&mut transaction, &name)?;
        let mut permissions_of: BTreeMap<RoleId, BTreeSet<Permission>> =
            roles.into_iter().map(|role| (role.id, role.permissions)).collect();
        permissions_of.insert(*role_id, permissions.clone());
        let delta = match &admins {
            Some(admins) => Some(self.change_admins(&mut transaction, &holders, admins, &permissions_of)?),
            None => None,
        };
        let checked = delta.is_some_and(|(_, checked)| checked);
        if !checked {
            transaction.add(Part::AdminCheck, admin_check(store, customer, self.admin)?);
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
                } else if let Some((delta, _)) = delta
                    && refused.failed(&Part::Customer)
                    && too_few_admins(refused.item(&Part::Customer), delta)
                {
                    Err(RoleChangeError::LastAdmin)
                } else {
                    // The admin set changed meanwhile (someone joined, left, got or lost the
                    // right), or the lock ran out: nothing was written, try again.
                    Err(RoleChangeError::Busy)
                }
            }
            Err(TransactionError::Contention) => Err(RoleChangeError::Contention),
            Err(TransactionError::Other(error)) => Err(error.into()),
        }
    }

    /// Adds the admin set's change and the admin count's to `transaction`: of the role's
    /// holders (whose roles cannot change while the role is locked), those who hold an admin
    /// role after the change are admins, the others not. Returns whether one of the writes
    /// carries the acting admin's check, and the admin count's change.
    pub(super) fn change_admins(
        &self,
        transaction: &mut Transaction<'_>,
        holders: &Holders,
        admins: &AdminState,
        permissions_of: &BTreeMap<RoleId, BTreeSet<Permission>>,
    ) -> anyhow::Result<(i64, bool)> {
        let shards = &admins.shards;
        let role = &self.locked.role.id;
        let before = customers::admins_of(shards);
        let after = admins_after(holders, role, permissions_of);
        let holding: BTreeSet<UserId> = holders.seats_holding(role).iter().filter_map(|s| s.user_id).collect();
        let added: BTreeSet<UserId> = after.difference(&before).copied().collect();
        let removed: BTreeSet<UserId> = holding
            .difference(&after)
            .filter(|user| before.contains(user))
            .copied()
            .collect();
        let (writes, delta, checked) =
            customers::change_admins(self.store, self.customer, shards, &added, &removed, Some(self.admin))?;
        for write in writes {
            transaction.add(Part::AdminSet, write);
        }
        // Always, even when nobody's standing changes: two changes of roles' user-management
        // computed from one state must not both land.
        transaction.add(
            Part::Customer,
            admin_roles_change(self.store, self.customer, admins, delta)?,
        );
        Ok((delta, checked))
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
}
