//! Inviting an email address to a customer.

use crate::domain::{Admin, CustomerNumber, Email, InvitationId, Language, RoleId};
use crate::invitations::{self, Invitation, InvitationError, InvitationStatus, LINK_LIFETIME, quota_exhausted};
use crate::links::{LinkKey, StoredLink};
use crate::memberships::admin_check;
use crate::quota;
use crate::roles::lock::{refused_roles, usable};
use crate::seats::{self, Expected, Holder};
use crate::store::Store;
use crate::store::transactions::{Part, Refused, Transaction, TransactionError};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// What an admin asks for.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The customer to grant access to.
    pub customer: CustomerNumber,
    /// Whom to invite.
    pub email: Email,
    /// The roles to grant (may be none: restricted access until an admin assigns some).
    pub role_ids: BTreeSet<RoleId>,
    /// The email's language, if the admin chooses one.
    pub language: Option<Language>,
}

/// Invites an email to a customer in one transaction: the admin's daily counter, the admin
/// check, a check per role, the seat (not a member, not invited), the invitation and its link.
///
/// An email whose earlier invitation was deleted is invited afresh; one whose invitation has
/// expired gets that invitation sent again with the new roles (one invitation per email and
/// customer, so the list never shows two).
pub async fn invite(
    store: &Store,
    key: &LinkKey,
    admin: &Admin,
    new: NewInvitation,
    now: OffsetDateTime,
) -> Result<Invitation, InvitationError> {
    let mut seat = Expected::Free;
    // At most: a stale seat found, then a conflict with a concurrent invite; more is contention.
    for _ in 0..3 {
        let invitation = fresh(key, admin, &new, now);
        let mut transaction = sending(store, admin, &new, now)?;
        transaction
            .add(
                Part::Seat,
                seats::take_for_invitation(store, &new.customer, &new.email, invitation.id, seat)?,
            )
            .add(Part::Invitation, invitations::put_new(store, &invitation)?);
        let refused = match transaction.commit("create an invitation").await {
            Ok(()) => {
                tracing::info!(invitation = %invitation.id, "invitation created");
                return Ok(invitation);
            }
            Err(TransactionError::Refused(refused)) => refused,
            Err(TransactionError::Contention) => return Err(InvitationError::Contention),
            Err(TransactionError::Other(error)) => return Err(error.into()),
        };
        refused_send(&refused, now)?;
        if !refused.failed(&Part::Seat) {
            return Err(refused.unexplained("create an invitation").into());
        }
        match seats::holder(refused.item(&Part::Seat))? {
            Holder::Member => return Err(InvitationError::AlreadyMember),
            Holder::Invitation(held_by) => match invitations::find(store, &new.customer, &held_by).await? {
                // Deleted (kept as an outcome, or removed by TTL): the seat is free to take over.
                None => seat = Expected::Stale(held_by),
                Some(kept) if !kept.is_open() => seat = Expected::Stale(held_by),
                Some(existing) if existing.status(now) == InvitationStatus::Pending => {
                    return Err(InvitationError::AlreadyInvited(existing.id));
                }
                Some(expired) => return reinvite(store, key, admin, expired, &new, now).await,
            },
        }
    }
    Err(InvitationError::Contention)
}

/// A new invitation of `new`, sent by `admin` now.
pub(super) fn fresh(key: &LinkKey, admin: &Admin, new: &NewInvitation, now: OffsetDateTime) -> Invitation {
    let id = InvitationId::generate();
    Invitation {
        id,
        customer_number: new.customer.clone(),
        email: new.email.clone(),
        role_ids: new.role_ids.clone(),
        invited_by: admin.user_id,
        invited_by_email: admin.email.clone(),
        first_invited_by: admin.user_id,
        first_invited_by_email: admin.email.clone(),
        language: new.language,
        created_at: now,
        last_sent_at: now,
        send_count: 1,
        expires_at: now + LINK_LIFETIME,
        link: StoredLink::new(key, &new.customer, &id),
        outcome: None,
    }
}

/// `expired` sent again now by `admin`, with the roles and language of `new` and a new link;
/// who first invited stays.
pub(super) fn sent_again(
    key: &LinkKey,
    admin: &Admin,
    expired: Invitation,
    new: &NewInvitation,
    now: OffsetDateTime,
) -> Invitation {
    Invitation {
        role_ids: new.role_ids.clone(),
        invited_by: admin.user_id,
        invited_by_email: admin.email.clone(),
        language: new.language,
        last_sent_at: now,
        send_count: expired.send_count + 1,
        expires_at: now + LINK_LIFETIME,
        link: StoredLink::new(key, &expired.customer_number, &expired.id),
        ..expired
    }
}

/// The parts every send of an invitation starts with: one from the admin's quota, the admin
/// check, and each role usable.
fn sending<'a>(
    store: &'a Store,
    admin: &Admin,
    new: &NewInvitation,
    now: OffsetDateTime,
) -> anyhow::Result<Transaction<'a>> {
    let mut transaction = Transaction::new(store);
    transaction
        .add(Part::Quota, quota::spend_one(store, &admin.user_id, now)?)
        .add(Part::AdminCheck, admin_check(store, &new.customer, &admin.user_id)?);
    for role in &new.role_ids {
        transaction.add(Part::Role(*role), usable(store, &new.customer, role, now)?);
    }
    Ok(transaction)
}

/// The refusals of [`sending`]'s parts, in order of precedence: a non-admin learns nothing
/// about roles or emails, and the quota is judged last (a refused invite spends nothing).
fn refused_send(refused: &Refused, now: OffsetDateTime) -> Result<(), InvitationError> {
    if refused.failed(&Part::AdminCheck) {
        return Err(InvitationError::NotAdmin);
    }
    if let Some(roles) = refused_roles(refused) {
        return Err(roles.into());
    }
    if refused.failed(&Part::Quota) && !refused.failed_any(|part| matches!(part, Part::Seat | Part::Invitation)) {
        return Err(quota_exhausted(now));
    }
    Ok(())
}

/// Sends an expired invitation again, with the roles and sender of the new request; who first
/// invited stays.
async fn reinvite(
    store: &Store,
    key: &LinkKey,
    admin: &Admin,
    expired: Invitation,
    new: &NewInvitation,
    now: OffsetDateTime,
) -> Result<Invitation, InvitationError> {
    let previous = expired.link.hash.clone();
    let invitation = sent_again(key, admin, expired, new, now);
    let mut transaction = sending(store, admin, new, now)?;
    transaction.add(
        Part::Invitation,
        invitations::replace_expired(store, &invitation, &previous)?,
    );
    match transaction.commit("send an expired invitation again").await {
        Ok(()) => Ok(invitation),
        Err(TransactionError::Refused(refused)) => {
            refused_send(&refused, now)?;
            if refused.failed(&Part::Invitation) {
                // Resent, deleted or re-invited meanwhile: the caller may simply try again.
                Err(InvitationError::ChangedMeanwhile)
            } else {
                Err(refused.unexplained("send an expired invitation again").into())
            }
        }
        Err(TransactionError::Contention) => Err(InvitationError::Contention),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}
