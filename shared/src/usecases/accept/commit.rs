//! The accept's one transaction, and what its refusal means.

use super::{AcceptError, Accepted, Acceptor, Context};
use crate::accounts::{CredentialItem, UserItem};
use crate::customers::{add_admin, member_count_change};
use crate::domain::{Permission, RoleId, TokenHash};
use crate::invitations::{self, Invitation};
use crate::memberships::{self, Joining};
use crate::roles::lock::unchanged;
use crate::seats;
use crate::sessions;
use crate::store::Store;
use crate::store::transactions::{Part, Refused, Transaction, TransactionError};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Accepts in one transaction: the invitation consumed (this link still current and live), its
/// link forgotten, its seat handed to the member, the membership written (or revived), each
/// role unchanged since read, the account and credential when new, the admin count when the
/// roles make an admin, and the answer's session.
pub(super) async fn commit(
    store: &Store,
    link: &TokenHash,
    invitation: &Invitation,
    context: &Context,
    acceptor: Acceptor,
    now: OffsetDateTime,
) -> Result<Accepted, AcceptError> {
    let customer = &invitation.customer_number;
    let user_id = match &acceptor {
        Acceptor::New { user, .. } => user.id,
        Acceptor::Existing { user_id, .. } => *user_id,
    };
    let roles = context.role_refs();
    let permissions: BTreeSet<Permission> = context
        .roles
        .iter()
        .flat_map(|role| role.permissions.iter().copied())
        .collect();
    let role_ids: BTreeSet<RoleId> = context.roles.iter().map(|role| role.id).collect();

    let mut transaction = Transaction::new(store);
    transaction
        .add(
            Part::Invitation,
            invitations::consume(store, invitation, link, user_id, now)?,
        )
        .add(Part::Link, invitations::link::forget(store, link)?)
        .add(
            Part::Seat,
            seats::hand_to_member(
                store,
                customer,
                &invitation.email,
                invitation.id,
                user_id,
                role_ids.clone(),
                now,
            )?,
        )
        .add(
            Part::Membership(user_id),
            memberships::join(
                store,
                &Joining {
                    user_id,
                    email: &invitation.email,
                    customer,
                    company_name: &context.customer.company_name,
                    role_ids: &role_ids,
                },
                now,
            )?,
        );
    for role in &context.roles {
        transaction.add(Part::Role(role.id), unchanged(store, customer, role, now)?);
    }
    if let Acceptor::New { user, password_hash } = &acceptor {
        transaction.add(Part::User, store.put_new(UserItem::new(user))?).add(
            Part::Credential,
            store.put_new(CredentialItem::new(&user.email, user.id, password_hash))?,
        );
    }
    let admin = permissions.contains(&Permission::UserManagement);
    if admin {
        transaction.add(Part::AdminSet, add_admin(store, customer, &user_id, None)?);
    }
    transaction.add(
        Part::Customer,
        member_count_change(store, customer, 1, i64::from(admin))?,
    );
    let (session_token, session, put_session) = sessions::start_within(store, user_id, &invitation.email, now)?;
    transaction.add(Part::Session, put_session);

    match transaction.commit("accept an invitation").await {
        Ok(()) => Ok(Accepted {
            user_id,
            email: invitation.email.clone(),
            account_created: matches!(acceptor, Acceptor::New { .. }),
            customer_number: customer.clone(),
            company_name: context.customer.company_name.clone(),
            roles,
            permissions,
            session_token,
            session,
        }),
        Err(TransactionError::Refused(refused)) => Err(refusal(&refused, link, user_id)),
        Err(TransactionError::Contention) => Err(AcceptError::Contention),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}

/// Why the accept transaction was refused, judged in order: the invitation first, so that of
/// concurrent accepts every loser hears that the link is used.
fn refusal(refused: &Refused, link: &TokenHash, user_id: crate::domain::UserId) -> AcceptError {
    if refused.failed(&Part::Invitation) {
        return if invitations::still_links_to(refused.item(&Part::Invitation), link) {
            AcceptError::Expired
        } else {
            AcceptError::NotFound
        };
    }
    if refused.failed(&Part::Seat) {
        return if seats::held_by_member(refused.item(&Part::Seat)) {
            AcceptError::AlreadyMember
        } else {
            AcceptError::NotFound
        };
    }
    if refused.failed(&Part::Membership(user_id)) {
        return AcceptError::AlreadyMember;
    }
    if refused.failed_any(|part| matches!(part, Part::Role(_))) {
        return AcceptError::RolesChanged;
    }
    if refused.failed(&Part::User) || refused.failed(&Part::Credential) {
        return AcceptError::AccountExists;
    }
    AcceptError::Unexpected(refused.unexplained("accept an invitation"))
}

#[cfg(test)]
mod tests {
    use crate::store::keys;

    #[test]
    fn an_expiry_bound_at_the_same_millisecond_refuses() {
        let now = time::macros::datetime!(2026-11-24 09:30:00.123 UTC);
        let id = crate::domain::InvitationId::generate();
        let bound = format!("{}~", keys::invitation_lsi1_prefix(now));
        assert!(keys::invitation_lsi1sk(now, &id) < bound, "expiring now is expired");
        assert!(keys::invitation_lsi1sk(now + time::Duration::milliseconds(1), &id) > bound);
    }
}
