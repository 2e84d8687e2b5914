//! Sending an invitation again, and withdrawing (deleting) one.

use crate::domain::{Admin, CustomerNumber, InvitationId};
use crate::invitations::{self, InvitationError, LINK_LIFETIME, quota_exhausted};
use crate::links::{LinkKey, StoredLink};
use crate::memberships::admin_check;
use crate::quota;
use crate::store::Store;
use crate::store::transactions::{Part, Transaction, TransactionError};
use time::OffsetDateTime;

/// What a resend changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resent {
    /// The invitation.
    pub id: InvitationId,
    /// Now.
    pub last_sent_at: OffsetDateTime,
    /// 24 hours from now.
    pub expires_at: OffsetDateTime,
}

/// Sends an invitation again with a new link valid for 24 hours; every earlier link dies at
/// once. Counts toward the admin's quota. One transaction: the counter, the admin check, the
/// invitation's new link and sender, and the link item. The resending admin becomes the
/// invitation's sender (its email names them); who first invited is kept.
pub async fn resend(
    store: &Store,
    key: &LinkKey,
    admin: &Admin,
    customer: &CustomerNumber,
    id: &InvitationId,
    now: OffsetDateTime,
) -> Result<Resent, InvitationError> {
    let link = StoredLink::new(key, customer, id);
    let expires_at = now + LINK_LIFETIME;
    let mut transaction = Transaction::new(store);
    transaction
        .add(Part::Quota, quota::spend_one(store, &admin.user_id, now)?)
        .add(Part::AdminCheck, admin_check(store, customer, &admin.user_id)?)
        .add(
            Part::Invitation,
            invitations::send_again(store, customer, id, &link, admin, now)?,
        );
    match transaction.commit("resend an invitation").await {
        Ok(()) => Ok(Resent {
            id: *id,
            last_sent_at: now,
            expires_at,
        }),
        Err(TransactionError::Refused(refused)) => {
            if refused.failed(&Part::AdminCheck) {
                Err(InvitationError::NotAdmin)
            } else if refused.failed(&Part::Invitation) {
                Err(InvitationError::NotFound)
            } else if refused.failed(&Part::Quota) {
                Err(quota_exhausted(now))
            } else {
                Err(refused.unexplained("resend an invitation").into())
            }
        }
        Err(TransactionError::Contention) => Err(InvitationError::Contention),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}

/// Deletes an invitation: kept as deleted by `admin` (for 365 days), its link dead at once (one
/// transaction with the admin check). Its link item is left to expire: the invitation it finds
/// has no link any more.
pub async fn withdraw(
    store: &Store,
    admin: &Admin,
    customer: &CustomerNumber,
    id: &InvitationId,
    now: OffsetDateTime,
) -> Result<(), InvitationError> {
    let mut transaction = Transaction::new(store);
    transaction
        .add(Part::AdminCheck, admin_check(store, customer, &admin.user_id)?)
        .add(Part::Invitation, invitations::delete(store, customer, id, admin, now)?);
    match transaction.commit("delete an invitation").await {
        Ok(()) => Ok(()),
        Err(TransactionError::Refused(refused)) if refused.failed(&Part::AdminCheck) => Err(InvitationError::NotAdmin),
        Err(TransactionError::Refused(_)) => Err(InvitationError::NotFound),
        Err(TransactionError::Contention) => Err(InvitationError::Contention),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}
