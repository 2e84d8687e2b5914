//! Opening a link: finds the invitation a token was made for. A token names its invitation's key
//! (`{keyId}.{customer}.{invitationId}.{mac}`), so the invitation is read directly; a token sent
//! before tokens named it (`{keyId}.{mac}`) is found through its link item, written by the sends
//! of that time and kept as long as its invitation is listed. Whether a link still works is
//! decided by the invitation (its current hash, its expiry), never by the TTL: an expired link
//! says "expired" (410) as long as the invitation is listed, instead of "not found". (The tokens
//! themselves and their keys are [`crate::links`].)

use super::{Invitation, InvitationItem, InvitationStatus, find_item};
use crate::domain::{CustomerNumber, InvitationId, TokenHash};
use crate::links::LinkToken;
use crate::store::{IntoTransactionItem as _, Item, Store, item_key, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::Deserialize;
use time::OffsetDateTime;

/// The link item of a token sent before tokens named their invitation.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkItem {
    customer_number: CustomerNumber,
    invitation_id: InvitationId,
}

fn key(hash: &TokenHash) -> Item {
    item_key(keys::link(hash), keys::LINK_SK.into())
}

/// Forgets a used link's item (only tokens of the old form have one).
pub(crate) fn forget(store: &Store, hash: &TokenHash) -> anyhow::Result<TransactWriteItem> {
    store.delete(key(hash)).into_item()
}

/// What a link token opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// The invitation's current link, within its 24 hours.
    Live(Invitation),
    /// The invitation's current link, past its 24 hours (stored or not, it no longer works).
    Expired(Invitation),
    /// Never issued, or dead: resent since, deleted, or accepted.
    Dead,
}

impl LinkState {
    /// What the invitation's item (or its absence) says of the link `hash`: only its current
    /// link opens it.
    pub(crate) fn of(item: Option<InvitationItem>, hash: &TokenHash, now: OffsetDateTime) -> Self {
        let Some(item) = item.filter(|item| item.link_hash == hash.as_str()) else {
            return Self::Dead;
        };
        let invitation = Invitation::from(item);
        match invitation.status(now) {
            InvitationStatus::Pending => Self::Live(invitation),
            InvitationStatus::Expired => Self::Expired(invitation),
        }
    }
}

/// Opens a link: one consistent GetItem of the invitation the token names (two for a token of
/// the old form: its link item, then the invitation). Expiry is judged by the clock, never by
/// whether TTL has removed the items.
pub async fn open_link(store: &Store, token: &LinkToken, now: OffsetDateTime) -> anyhow::Result<LinkState> {
    let hash = token.hash();
    let (customer, id) = match token.invitation_key() {
        Some(named) => named,
        None => match store.get::<LinkItem>(key(&hash), "an invitation link").await? {
            Some(link) => (link.customer_number, link.invitation_id),
            None => return Ok(LinkState::Dead),
        },
    };
    Ok(LinkState::of(find_item(store, &customer, &id).await?, &hash, now))
}
