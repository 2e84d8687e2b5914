//! Opening a link: finds the invitation a token was made for. A token names its invitation's key
//! (`{keyId}.{customer}.{invitationId}.{mac}`), so the invitation is read directly; a token sent
//! before tokens named it (`{keyId}.{mac}`) is found through its link item, written by the sends
//! of that time and kept until its TTL. Whether a link still works, and why not, is decided by the
//! invitation (its current hash and the previous ones, its outcome, its expiry), never by the
//! TTL: a link that stopped working says why (410) as long as the invitation is listed, instead
//! of "not found"; a token the invitation never held learns nothing. (The tokens themselves and
//! their keys are [`crate::links`].)

use super::{Invitation, InvitationItem, InvitationStatus, Outcome, find_item};
use crate::domain::{CustomerNumber, InvitationId, TokenHash};
use crate::links::LinkToken;
use crate::store::{Item, Store, item_key, keys};
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

/// What a link token opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// The invitation's current link, within its 24 hours.
    Live(Invitation),
    /// The invitation's current link, past its 24 hours (stored or not, it no longer works).
    Expired(Invitation),
    /// A link of this invitation that no longer works, and why.
    Ended(Ended),
    /// Never issued, as far as the table knows: no invitation has this link (or one of more
    /// than [`super::PREVIOUS_LINKS_KEPT`] sends ago), or it is no longer listed.
    Dead,
}

/// Why a link that was issued no longer works. Only a token whose hash the invitation holds
/// (current or replaced) learns it, so a forged or altered token learns nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// A newer link was sent since (a resend, or an expired invitation sent again).
    Superseded,
    /// The invitation was accepted.
    Accepted,
    /// The invited account declined it.
    Declined,
    /// An admin deleted it.
    Withdrawn,
}

impl Ended {
    /// The problem code it answers with.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Superseded => "invitation-superseded",
            Self::Accepted => "invitation-accepted",
            Self::Declined => "invitation-declined",
            Self::Withdrawn => "invitation-withdrawn",
        }
    }
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Superseded => {
                "This invitation link was replaced by a newer one: use the link in your latest invitation email."
            }
            Self::Accepted => "This invitation was accepted already: log in to CloudHub.",
            Self::Declined => {
                "This invitation was declined. Ask an admin of the customer for a new one if you changed your mind."
            }
            Self::Withdrawn => "This invitation was withdrawn by an admin of the customer.",
        })
    }
}

impl LinkState {
    /// What the invitation's item (or its absence) says of the link `hash` at `now`. Only a
    /// link the invitation holds (its current one, or one the last sends replaced) learns
    /// anything, and only while the invitation is listed; its outcome is told before a
    /// replacement (an old link of an accepted invitation says "accepted").
    pub(crate) fn of(item: Option<InvitationItem>, hash: &TokenHash, now: OffsetDateTime) -> Self {
        let Some(item) = item else {
            return Self::Dead;
        };
        let current = item.is_current_link(hash);
        if !current && !item.is_previous_link(hash) {
            return Self::Dead;
        }
        let invitation = Invitation::from(item);
        if !invitation.is_listed(now) {
            return Self::Dead;
        }
        match (&invitation.outcome, current) {
            (Some(Outcome::Accepted { .. }), _) => Self::Ended(Ended::Accepted),
            (Some(Outcome::Declined { .. }), _) => Self::Ended(Ended::Declined),
            (Some(Outcome::Deleted { .. }), _) => Self::Ended(Ended::Withdrawn),
            (None, false) => Self::Ended(Ended::Superseded),
            (None, true) => match invitation.status(now) {
                InvitationStatus::Pending => Self::Live(invitation),
                InvitationStatus::Expired => Self::Expired(invitation),
            },
        }
    }
}

/// The invitation a token names: its key in the token, or, for a token of the old form, its
/// link item (one consistent GetItem); `None` when the token names none.
pub(crate) async fn invitation_of(
    store: &Store,
    token: &LinkToken,
) -> anyhow::Result<Option<(CustomerNumber, InvitationId)>> {
    if let Some(named) = token.invitation_key() {
        return Ok(Some(named));
    }
    Ok(store
        .get::<LinkItem>(key(&token.hash()), "an invitation link")
        .await?
        .map(|link| (link.customer_number, link.invitation_id)))
}

/// Opens a link: one consistent GetItem of the invitation the token names (two for a token of
/// the old form: its link item, then the invitation). Expiry is judged by the clock, never by
/// whether TTL has removed the items.
pub async fn open_link(store: &Store, token: &LinkToken, now: OffsetDateTime) -> anyhow::Result<LinkState> {
    let Some((customer, id)) = invitation_of(store, token).await? else {
        return Ok(LinkState::Dead);
    };
    Ok(LinkState::of(
        find_item(store, &customer, &id).await?,
        &token.hash(),
        now,
    ))
}
