//! The link item: finds an invitation from a token's hash. Whether the link still works is
//! decided by the invitation (current hash, expiry), never by the TTL; the item is kept as long
//! as its invitation is listed, so that an expired link says "expired" (410) all that time
//! instead of "not found". (The tokens themselves and their keys are [`crate::links`].)

use super::{Invitation, InvitationItem, InvitationStatus, LISTED_AFTER_EXPIRY, find_item};
use crate::domain::{CustomerNumber, InvitationId, TokenHash};
use crate::links::LinkToken;
use crate::store::{IntoTransactionItem as _, Item, Store, epoch_seconds, item_key, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LinkItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    pub customer_number: CustomerNumber,
    pub invitation_id: InvitationId,
    ttl: i64,
}

impl LinkItem {
    /// The item of the link `hash` to invitation `id`, whose link expires at `expires_at`.
    fn new(hash: &TokenHash, customer: &CustomerNumber, id: InvitationId, expires_at: OffsetDateTime) -> Self {
        Self {
            pk: keys::link(hash),
            sk: keys::LINK_SK.into(),
            customer_number: customer.clone(),
            invitation_id: id,
            // The invitation's own TTL: DynamoDB may delete the link item any time after it
            // (an expired link then answers 404 like a withdrawn one), never while the
            // invitation is listed as expired; reads check expiry by the clock.
            ttl: epoch_seconds(expires_at + LISTED_AFTER_EXPIRY),
        }
    }
}

fn key(hash: &TokenHash) -> Item {
    item_key(keys::link(hash), keys::LINK_SK.into())
}

/// The link item of an invitation's current link (a new hash: it cannot exist yet).
pub(crate) fn put(store: &Store, invitation: &Invitation) -> anyhow::Result<TransactWriteItem> {
    put_for(
        store,
        &invitation.link.hash,
        &invitation.customer_number,
        invitation.id,
        invitation.expires_at,
    )
}

/// The link item of link `hash` to invitation `id`, expiring at `expires_at`.
pub(crate) fn put_for(
    store: &Store,
    hash: &TokenHash,
    customer: &CustomerNumber,
    id: InvitationId,
    expires_at: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    store.put_new(LinkItem::new(hash, customer, id, expires_at))
}

/// Forgets a used link.
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

/// Opens a link: the link item by the token's hash, then its invitation, whose current link it
/// must still be (two consistent GetItems). Expiry is judged by the clock, never by whether TTL
/// has removed the items.
pub async fn open_link(store: &Store, token: &LinkToken, now: OffsetDateTime) -> anyhow::Result<LinkState> {
    let hash = token.hash();
    let Some(link) = store.get::<LinkItem>(key(&hash), "an invitation link").await? else {
        return Ok(LinkState::Dead);
    };
    let Some(item): Option<InvitationItem> = find_item(store, &link.customer_number, &link.invitation_id).await? else {
        return Ok(LinkState::Dead);
    };
    if item.link_hash != hash.as_str() {
        return Ok(LinkState::Dead);
    }
    let invitation = Invitation::from(item);
    Ok(match invitation.status(now) {
        InvitationStatus::Pending => LinkState::Live(invitation),
        InvitationStatus::Expired => LinkState::Expired(invitation),
    })
}
