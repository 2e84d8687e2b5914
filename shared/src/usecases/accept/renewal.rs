//! The holder of an expired link asks for a new one: the invitation records when (at most once
//! in 24 hours), and that record owes the admin who sent it an email (every admin of the
//! customer when that admin is gone or no admin any more). Nothing is sent to the holder, no
//! quota is spent and no link changes: sending a new link stays the admin's resend.
//!
//! One conditional UpdateItem (two round trips for a token of the old form: its link item
//! first); its refusal carries the invitation as it was, which says why.

use super::AcceptError;
use crate::invitations::{self, LinkState, RENEWAL_REQUEST_EVERY};
use crate::links::LinkToken;
use crate::store::{Store, Updated};
use time::OffsetDateTime;

/// Asks for a new link in place of the expired one `token` is. A link that is not expired gets
/// the answers a preview would give (not found, replaced, accepted, declined, withdrawn), a live
/// one [`AcceptError::NotExpired`]; asked again within 24 hours,
/// [`AcceptError::RenewalAlreadyRequested`].
pub async fn request_renewal(store: &Store, token: &LinkToken, now: OffsetDateTime) -> Result<(), AcceptError> {
    let Some((customer, id)) = invitations::link::invitation_of(store, token).await? else {
        return Err(AcceptError::NotFound);
    };
    let hash = token.hash();
    let refused = match invitations::request_renewal(store, &customer, &id, &hash, now).await? {
        Updated::Done(_) => {
            tracing::info!(invitation = %id, customer = %customer, "renewal requested");
            return Ok(());
        }
        Updated::Refused(item) => item,
    };
    let asked_at = refused
        .as_ref()
        .and_then(|item| item.get(invitations::attr::RENEWAL_REQUESTED_AT))
        .and_then(|at| at.as_n().ok())
        .and_then(|millis| millis.parse::<i128>().ok())
        .and_then(|millis| OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).ok());
    match invitations::link_state_of(refused.as_ref(), &hash, now)? {
        LinkState::Live(_) => Err(AcceptError::NotExpired),
        LinkState::Expired(_) => {
            let Some(asked_at) = asked_at else {
                return Err(anyhow::anyhow!("A renewal request of an expired link was refused unexplained.").into());
            };
            let wait = asked_at + RENEWAL_REQUEST_EVERY - now;
            Err(AcceptError::RenewalAlreadyRequested {
                retry_after_secs: u64::try_from(wait.whole_seconds()).unwrap_or(1).max(1),
            })
        }
        other => Err(AcceptError::from_state(other)),
    }
}
