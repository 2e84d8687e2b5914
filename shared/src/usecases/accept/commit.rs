//! The accept's one transaction, and what its refusal means.

use super::{AcceptError, Acceptor, NewSession};
use crate::accounts::{CredentialItem, UserItem, credential_held_by};
use crate::customers::{CustomerItem, add_admin, member_count_change};
use crate::domain::{Permission, RoleId, TokenHash, UserId};
use crate::invitations::{self, Invitation};
use crate::memberships::{self, Joining};
use crate::roles::RoleItem;
use crate::roles::lock::{grants_no_admin, unchanged};
use crate::seats;
use crate::sessions;
use crate::store::Store;
use crate::store::transactions::{Part, Refused, Transaction, TransactionError};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// The roles an accept grants, and what it requires of them.
pub(super) enum Grant<'a> {
    /// Read before: each must be unchanged; those that still exist are granted, and make the
    /// member an admin if one grants `user-management`.
    Read(&'a [RoleItem]),
    /// Not read (the first attempt): each of these must still exist, not be being changed and
    /// grant no `user-management`; all are granted, and the member is no admin.
    Unread(&'a BTreeSet<RoleId>),
}

/// The link an accept consumes: the invitation's current one, by its hash. (A token of the old
/// form keeps its link item, so that it can say the invitation was accepted.)
pub(crate) struct Link {
    pub hash: TokenHash,
    /// Whether the accept signs the member in (a link's holder), or the caller's session goes on
    /// (accepting from one's invitations).
    pub new_session: bool,
}

/// What an accept's transaction wrote.
pub(super) struct Committed {
    pub user_id: UserId,
    pub account_created: bool,
    pub role_ids: BTreeSet<RoleId>,
    pub session: Option<NewSession>,
}

/// Accepts in one transaction: the invitation consumed (this link still current and live), its seat handed to the member, the membership
/// written (or revived), each role as [`Grant`] requires, the account and credential when new
/// (or, for a session, the credential still the session's account), the admin set and counts,
/// and the answer's session.
pub(super) async fn commit(
    store: &Store,
    link: &Link,
    invitation: &Invitation,
    customer_item: &CustomerItem,
    grant: Grant<'_>,
    acceptor: &Acceptor,
    now: OffsetDateTime,
) -> Result<Committed, AcceptError> {
    let customer = &invitation.customer_number;
    let user_id = acceptor.user_id();
    let (role_ids, admin): (BTreeSet<RoleId>, bool) = match grant {
        Grant::Read(roles) => (
            roles.iter().map(|role| role.id).collect(),
            roles
                .iter()
                .any(|role| role.permissions.contains(&Permission::UserManagement)),
        ),
        Grant::Unread(ids) => (ids.clone(), false),
    };

    let mut transaction = Transaction::new(store);
    transaction
        .add(
            Part::Invitation,
            invitations::consume(store, invitation, &link.hash, user_id, now)?,
        )
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
                    company_name: &customer_item.company_name,
                    role_ids: &role_ids,
                    invitation: (invitation.id, invitation.invited_by),
                },
                now,
            )?,
        );
    match grant {
        Grant::Read(roles) => {
            for role in roles {
                transaction.add(Part::Role(role.id), unchanged(store, customer, role, now)?);
            }
        }
        Grant::Unread(ids) => {
            for role in ids {
                transaction.add(Part::Role(*role), grants_no_admin(store, customer, role, now)?);
            }
        }
    }
    match acceptor {
        Acceptor::New { user, password_hash } => {
            transaction.add(Part::User, store.put_new(UserItem::new(user))?).add(
                Part::Credential,
                store.put_new(CredentialItem::new(&user.email, user.id, password_hash))?,
            );
        }
        Acceptor::BySession { user_id } => {
            transaction.add(Part::Credential, credential_held_by(store, &invitation.email, user_id)?);
        }
        Acceptor::ByPassword { .. } => {}
    }
    if admin {
        transaction.add(Part::AdminSet, add_admin(store, customer, &user_id, None)?);
    }
    transaction.add(
        Part::Customer,
        member_count_change(store, customer, 1, i64::from(admin))?,
    );
    let session = if link.new_session {
        let (token, session, put_session) = sessions::start_within(store, user_id, &invitation.email, now)?;
        transaction.add(Part::Session, put_session);
        Some(NewSession { token, session })
    } else {
        None
    };

    match transaction.commit("accept an invitation").await {
        Ok(()) => Ok(Committed {
            user_id,
            account_created: matches!(acceptor, Acceptor::New { .. }),
            role_ids,
            session,
        }),
        Err(TransactionError::Refused(refused)) => Err(refusal(&refused, &link.hash, acceptor, now)),
        Err(TransactionError::Contention) => Err(AcceptError::Contention),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}

/// Why the accept transaction was refused, judged in order: the invitation first, so that of
/// concurrent accepts every loser hears that the link is used (accepted).
fn refusal(refused: &Refused, link: &TokenHash, acceptor: &Acceptor, now: OffsetDateTime) -> AcceptError {
    if refused.failed(&Part::Invitation) {
        return match invitations::link_state_of(refused.item(&Part::Invitation), link, now) {
            Ok(state) => AcceptError::from_state(state),
            Err(error) => error.into(),
        };
    }
    if refused.failed(&Part::Seat) {
        return if seats::held_by_member(refused.item(&Part::Seat)) {
            AcceptError::AlreadyMember
        } else {
            AcceptError::NotFound
        };
    }
    if refused.failed(&Part::Membership(acceptor.user_id())) {
        return AcceptError::AlreadyMember;
    }
    if refused.failed(&Part::Credential) && matches!(acceptor, Acceptor::BySession { .. }) {
        // The session's account no longer has the invited email (or never had it).
        return AcceptError::WrongAccount;
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
