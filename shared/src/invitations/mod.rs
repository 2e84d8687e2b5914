//! Invitations: to one email address for one customer, with roles, sent by an admin.
//!
//! Pending while its link is valid (24 hours from the last send), expired after, and listed for
//! 30 days after expiry, when DynamoDB's TTL removes it. Each send draws a new link nonce; the
//! invitation keeps the hash of its current link, so older links die with every resend, and the
//! hashes of the links the last four sends replaced, so those say "superseded" ([`LinkState`]).
//!
//! **Outcomes.** Accepting, declining and deleting do not remove the invitation: the write they
//! already make turns it into a kept outcome ([`Outcome`]: accepted, declined, deleted), with no
//! live link any more (its nonce is removed, so no token can be rebuilt; its hashes stay, so its
//! links say what happened, and nothing accepts them: every write that uses a link requires the
//! invitation open), out of the open key ranges (`LSI1SK` becomes `OUTCOME#{outcome}#{at}#{id}`,
//! `GSI1PK` names the outcome), and with a TTL 365 days after the outcome. Every read that looks
//! for open invitations reads the open key ranges or checks [`Invitation::is_open`]. This
//! module owns the invitation item and every condition and write on it; [`link`] owns the link
//! item that finds an invitation from a token. The use cases (invite, resend, withdraw, list,
//! accept) are in [`crate::usecases`].

pub mod link;

pub use link::{Ended, LinkState, open_link};

use crate::domain::{Admin, CustomerNumber, Email, InvitationId, Language, RoleId, TokenHash, UserId};
use crate::links::{KeyId, Keyring, LinkNonce, LinkToken, StoredLink};
use crate::store::stamp::{self, ChangeKind};
use crate::store::{
    IntoTransactionItem as _, Item, Store, epoch_seconds, item_key, keys, number, text, time_text, value,
};
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

/// The attributes expressions name.
pub(crate) mod attr {
    pub(crate) const ROLE_IDS: &str = "roleIds";
    pub(crate) const INVITED_BY: &str = "invitedBy";
    pub(crate) const INVITED_BY_EMAIL: &str = "invitedByEmail";
    pub(crate) const FIRST_INVITED_BY: &str = "firstInvitedBy";
    pub(crate) const FIRST_INVITED_BY_EMAIL: &str = "firstInvitedByEmail";
    pub(crate) const LANGUAGE: &str = "language";
    pub(crate) const LAST_SENT_AT: &str = "lastSentAt";
    pub(crate) const SEND_COUNT: &str = "sendCount";
    pub(crate) const EXPIRES_AT: &str = "expiresAt";
    pub(crate) const LINK_KEY_ID: &str = "linkKeyId";
    pub(crate) const LINK_NONCE: &str = "linkNonce";
    pub(crate) const LINK_HASH: &str = "linkHash";
    pub(crate) const TTL: &str = "ttl";
    pub(crate) const OUTCOME: &str = "outcome";
    pub(crate) const OUTCOME_AT: &str = "outcomeAt";
    pub(crate) const OUTCOME_BY: &str = "outcomeBy";
    pub(crate) const OUTCOME_BY_EMAIL: &str = "outcomeByEmail";
    pub(crate) const EMAIL: &str = "email";
    /// The hashes of the links the last sends replaced, newest first: what a superseded link
    /// is recognised by (`if_not_exists` shifts them along on every send, unread).
    pub(crate) const PREVIOUS_LINK_HASHES: [&str; super::PREVIOUS_LINKS_KEPT] = [
        "previousLinkHash1",
        "previousLinkHash2",
        "previousLinkHash3",
        "previousLinkHash4",
    ];
    /// When the holder of the expired link last asked for a new one (epoch milliseconds).
    pub(crate) const RENEWAL_REQUESTED_AT: &str = "renewalRequestedAt";
}

/// How long a link works after it was sent.
pub const LINK_LIFETIME: Duration = Duration::hours(24);
/// How long an expired invitation stays listed (and can be resent).
pub const LISTED_AFTER_EXPIRY: Duration = Duration::days(30);
/// Most roles one invitation may carry.
pub const MAX_ROLES: usize = 20;
/// How long an accepted or deleted invitation stays listed with its outcome (then TTL removes it).
pub const KEPT_AFTER_OUTCOME: Duration = Duration::days(365);
/// How many replaced links of an invitation are still recognised (and answer "superseded"):
/// those of the last four sends before the current one. An older one is not found.
pub const PREVIOUS_LINKS_KEPT: usize = 4;
/// How often the holder of an expired link may ask for a new one.
pub const RENEWAL_REQUEST_EVERY: Duration = Duration::hours(24);

/// What became of an invitation that is no longer open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its link was accepted: `user_id` became a member.
    Accepted {
        /// When.
        at: OffsetDateTime,
        /// The member's account.
        user_id: UserId,
    },
    /// The invited account declined it (`user_id`, signed in with the invited email).
    Declined {
        /// When.
        at: OffsetDateTime,
        /// The account that declined.
        user_id: UserId,
    },
    /// An admin deleted (withdrew) it.
    Deleted {
        /// When.
        at: OffsetDateTime,
        /// The admin.
        by: UserId,
        /// That admin's email.
        by_email: Email,
    },
}

impl Outcome {
    /// When it happened.
    pub fn at(&self) -> OffsetDateTime {
        match self {
            Self::Accepted { at, .. } | Self::Declined { at, .. } | Self::Deleted { at, .. } => *at,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Self::Accepted { .. } => OutcomeKind::Accepted,
            Self::Declined { .. } => OutcomeKind::Declined,
            Self::Deleted { .. } => OutcomeKind::Deleted,
        }
    }
}

/// The kinds of [`Outcome`], as stored in `outcome` and named in keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    /// Accepted.
    Accepted,
    /// Declined by the invited account.
    Declined,
    /// Deleted by an admin.
    Deleted,
}

impl OutcomeKind {
    /// As stored and in keys.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Deleted => "deleted",
        }
    }
}

/// How the list shows an invitation: open (pending or expired, by the clock) or its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListedStatus {
    /// The link works.
    Pending,
    /// The link no longer works; the invitation can be resent.
    Expired,
    /// Accepted; kept for 365 days.
    Accepted,
    /// Declined by the invited account; kept for 365 days.
    Declined,
    /// Deleted by an admin; kept for 365 days.
    Deleted,
}

/// Pending or expired, judged by the clock on every read, never by whether TTL removed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    /// The link works.
    Pending,
    /// The link no longer works; the invitation can be resent.
    Expired,
}

/// An invitation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Its id.
    pub id: InvitationId,
    /// The customer it grants access to.
    pub customer_number: CustomerNumber,
    /// The invited address.
    pub email: Email,
    /// The roles it grants, by id; a role deleted since grants nothing.
    pub role_ids: BTreeSet<RoleId>,
    /// The admin who sent it last (the current link): the one its email names and charges.
    pub invited_by: UserId,
    /// That admin's email.
    pub invited_by_email: Email,
    /// The admin who first invited the address (then resends by others change only `invited_by`).
    pub first_invited_by: UserId,
    /// That admin's email.
    pub first_invited_by_email: Email,
    /// The email's language, if the admin chose one (else the customer's default).
    pub language: Option<Language>,
    /// First sent.
    pub created_at: OffsetDateTime,
    /// Last sent.
    pub last_sent_at: OffsetDateTime,
    /// How often it was sent.
    pub send_count: u32,
    /// When the current link stops working.
    pub expires_at: OffsetDateTime,
    /// The current link, as stored (never its token). A kept outcome has no nonce (no token can
    /// be rebuilt) but keeps the hash, which only says why its link stopped working.
    pub link: StoredLink,
    /// What became of it; `None` while it is open.
    pub outcome: Option<Outcome>,
}

impl Invitation {
    /// Open (no outcome yet): pending or expired, its seat held, counted as open.
    pub fn is_open(&self) -> bool {
        self.outcome.is_none()
    }

    /// As the list shows it at `now`.
    pub fn listed_status(&self, now: OffsetDateTime) -> ListedStatus {
        match (&self.outcome, self.status(now)) {
            (Some(Outcome::Accepted { .. }), _) => ListedStatus::Accepted,
            (Some(Outcome::Declined { .. }), _) => ListedStatus::Declined,
            (Some(Outcome::Deleted { .. }), _) => ListedStatus::Deleted,
            (None, InvitationStatus::Pending) => ListedStatus::Pending,
            (None, InvitationStatus::Expired) => ListedStatus::Expired,
        }
    }

    /// Whether the list still shows it at `now`: open, 30 days past its link's expiry; with an
    /// outcome, 365 days past it. Judged by the clock, whether or not TTL removed it.
    pub fn is_listed(&self, now: OffsetDateTime) -> bool {
        match &self.outcome {
            None => now <= self.expires_at + LISTED_AFTER_EXPIRY,
            Some(outcome) => now <= outcome.at() + KEPT_AFTER_OUTCOME,
        }
    }

    /// Pending until `expires_at` (exclusive), expired from then on.
    pub fn status(&self, now: OffsetDateTime) -> InvitationStatus {
        if now < self.expires_at {
            InvitationStatus::Pending
        } else {
            InvitationStatus::Expired
        }
    }

    /// The current link's token, while its key is in `keyring`. Only the email sender, the
    /// operator's `invitation-link` and tests need it.
    pub fn link_token(&self, keyring: &Keyring) -> Option<LinkToken> {
        if !self.is_open() {
            return None;
        }
        self.link.token(&self.customer_number, &self.id, keyring)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InvitationItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "LSI1SK")]
    pub(crate) lsi1sk: String,
    /// `INVITATIONS#{number}#open` while open, `#{outcome}` after: the email search's partition.
    /// Absent on invitations stored before the search (they are found once sent again).
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    /// `INVITATION#{email}#{id}`: by email within the partition.
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub(crate) gsi1sk: Option<String>,
    pub(crate) id: InvitationId,
    customer_number: CustomerNumber,
    email: Email,
    role_ids: BTreeSet<RoleId>,
    invited_by: UserId,
    invited_by_email: Email,
    /// Absent on invitations stored before resends named their sender: their `invitedBy` is
    /// still the first inviter (a resend then copies it here before replacing it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_invited_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_invited_by_email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<Language>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_sent_at: OffsetDateTime,
    send_count: u32,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    /// Invitations sent before links named their key have none: their links (made with a key
    /// that was never in the keyring) are dead, and a resend gives them one.
    #[serde(default = "KeyId::none")]
    link_key_id: KeyId,
    /// Removed with the outcome: a kept invitation has no link.
    #[serde(default)]
    link_nonce: String,
    #[serde(default)]
    pub(crate) link_hash: String,
    /// Removal once it is no longer listed; reads never rely on it.
    ttl: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<OutcomeKind>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    outcome_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome_by_email: Option<Email>,
    /// The invited address's inbox in GSI2 (`INVITEE#{email}`); absent on invitations stored
    /// before there was one.
    #[serde(rename = "GSI2PK", default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(rename = "GSI2SK", default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    /// The links the last sends replaced ([`attr::PREVIOUS_LINK_HASHES`]); empty where none was.
    #[serde(rename = "previousLinkHash1", default, skip_serializing_if = "Option::is_none")]
    previous_link_hash_1: Option<String>,
    #[serde(rename = "previousLinkHash2", default, skip_serializing_if = "Option::is_none")]
    previous_link_hash_2: Option<String>,
    #[serde(rename = "previousLinkHash3", default, skip_serializing_if = "Option::is_none")]
    previous_link_hash_3: Option<String>,
    #[serde(rename = "previousLinkHash4", default, skip_serializing_if = "Option::is_none")]
    previous_link_hash_4: Option<String>,
    /// When the expired link's holder last asked for a new one, in epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) renewal_requested_at: Option<i64>,
}

impl InvitationItem {
    pub(crate) fn new(invitation: &Invitation) -> Self {
        Self {
            pk: keys::customer(&invitation.customer_number),
            sk: keys::invitation_sk(&invitation.id),
            lsi1sk: keys::invitation_lsi1sk(invitation.expires_at, &invitation.id),
            gsi1pk: Some(keys::invitations_gsi1pk(
                &invitation.customer_number,
                keys::OPEN_INVITATIONS,
            )),
            gsi1sk: Some(keys::invitation_gsi1sk(&invitation.email, &invitation.id)),
            id: invitation.id,
            customer_number: invitation.customer_number.clone(),
            email: invitation.email.clone(),
            role_ids: invitation.role_ids.clone(),
            invited_by: invitation.invited_by,
            invited_by_email: invitation.invited_by_email.clone(),
            first_invited_by: Some(invitation.first_invited_by),
            first_invited_by_email: Some(invitation.first_invited_by_email.clone()),
            language: invitation.language,
            created_at: invitation.created_at,
            last_sent_at: invitation.last_sent_at,
            send_count: invitation.send_count,
            expires_at: invitation.expires_at,
            link_key_id: invitation.link.key_id.clone(),
            link_nonce: invitation.link.nonce.as_str().to_owned(),
            link_hash: invitation.link.hash.as_str().to_owned(),
            ttl: epoch_seconds(invitation.expires_at + LISTED_AFTER_EXPIRY),
            outcome: None,
            outcome_at: None,
            outcome_by: None,
            outcome_by_email: None,
            gsi2pk: Some(keys::invitee(&invitation.email)),
            gsi2sk: Some(keys::invitee_gsi2sk(&invitation.customer_number, &invitation.id)),
            previous_link_hash_1: None,
            previous_link_hash_2: None,
            previous_link_hash_3: None,
            previous_link_hash_4: None,
            renewal_requested_at: None,
        }
    }

    /// Whether `hash` is the current link's (live or not: an outcome keeps it, so its link
    /// still says what happened).
    pub(crate) fn is_current_link(&self, hash: &TokenHash) -> bool {
        !self.link_hash.is_empty() && self.link_hash == hash.as_str()
    }

    /// Whether `hash` is one of the links the last sends replaced.
    pub(crate) fn is_previous_link(&self, hash: &TokenHash) -> bool {
        [
            &self.previous_link_hash_1,
            &self.previous_link_hash_2,
            &self.previous_link_hash_3,
            &self.previous_link_hash_4,
        ]
        .into_iter()
        .flatten()
        .any(|previous| !previous.is_empty() && previous == hash.as_str())
    }
}

impl InvitationItem {
    /// The outcome its attributes record, if whole.
    fn outcome(&self) -> Option<Outcome> {
        let at = self.outcome_at?;
        let by = self.outcome_by?;
        Some(match self.outcome? {
            OutcomeKind::Accepted => Outcome::Accepted { at, user_id: by },
            OutcomeKind::Declined => Outcome::Declined { at, user_id: by },
            OutcomeKind::Deleted => Outcome::Deleted {
                at,
                by,
                by_email: self.outcome_by_email.clone()?,
            },
        })
    }
}

impl From<InvitationItem> for Invitation {
    fn from(item: InvitationItem) -> Self {
        let outcome = item.outcome();
        Self {
            outcome,
            id: item.id,
            customer_number: item.customer_number,
            email: item.email,
            role_ids: item.role_ids,
            first_invited_by: item.first_invited_by.unwrap_or(item.invited_by),
            first_invited_by_email: item
                .first_invited_by_email
                .unwrap_or_else(|| item.invited_by_email.clone()),
            invited_by: item.invited_by,
            invited_by_email: item.invited_by_email,
            language: item.language,
            created_at: item.created_at,
            last_sent_at: item.last_sent_at,
            send_count: item.send_count,
            expires_at: item.expires_at,
            link: StoredLink {
                key_id: item.link_key_id,
                nonce: LinkNonce::from_stored(item.link_nonce),
                hash: TokenHash::from_stored(item.link_hash),
            },
        }
    }
}

/// An invitation as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    /// Its id.
    pub id: InvitationId,
    /// The invited address.
    pub email: Email,
    /// Pending or expired now, or its outcome (accepted, deleted).
    pub status: ListedStatus,
    /// Its roles that still exist, with names. Absent only from the invite's answer: its one
    /// transaction checks that the roles exist but cannot read their names (a successful
    /// TransactWriteItems returns no item), and a read would be a second round trip; the
    /// answer's `Location` shows them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<crate::memberships::RoleRef>>,
    /// The role ids it grants.
    pub role_ids: BTreeSet<RoleId>,
    /// Who sent it last (the current link, whose email names this admin).
    pub invited_by: InviterView,
    /// Who first invited the address.
    pub first_invited_by: InviterView,
    /// First sent.
    #[serde(serialize_with = "crate::domain::timestamp::serialize")]
    pub created_at: OffsetDateTime,
    /// Last sent.
    #[serde(serialize_with = "crate::domain::timestamp::serialize")]
    pub last_sent_at: OffsetDateTime,
    /// How often it was sent.
    pub send_count: u32,
    /// When its link stops working (stopped, for a kept outcome).
    #[serde(serialize_with = "crate::domain::timestamp::serialize")]
    pub expires_at: OffsetDateTime,
    /// When it was accepted.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::domain::timestamp::serialize_option"
    )]
    pub accepted_at: Option<OffsetDateTime>,
    /// The member who accepted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<MemberView>,
    /// When an admin deleted it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::domain::timestamp::serialize_option"
    )]
    pub deleted_at: Option<OffsetDateTime>,
    /// The admin who deleted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<InviterView>,
    /// When the invited account declined it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::domain::timestamp::serialize_option"
    )]
    pub declined_at: Option<OffsetDateTime>,
}

/// The member an accepted invitation made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    /// The member's account.
    pub user_id: UserId,
}

/// An admin who sent an invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InviterView {
    /// The admin's id.
    pub user_id: UserId,
    /// The admin's email.
    pub email: Email,
}

impl InvitationView {
    /// `invitation` as the API shows it at `now`, with `roles` (those of its roles that exist).
    pub fn new(invitation: &Invitation, roles: Option<Vec<crate::memberships::RoleRef>>, now: OffsetDateTime) -> Self {
        Self {
            id: invitation.id,
            email: invitation.email.clone(),
            status: invitation.listed_status(now),
            roles,
            role_ids: invitation.role_ids.clone(),
            invited_by: InviterView {
                user_id: invitation.invited_by,
                email: invitation.invited_by_email.clone(),
            },
            first_invited_by: InviterView {
                user_id: invitation.first_invited_by,
                email: invitation.first_invited_by_email.clone(),
            },
            created_at: invitation.created_at,
            last_sent_at: invitation.last_sent_at,
            send_count: invitation.send_count,
            expires_at: invitation.expires_at,
            accepted_at: None,
            accepted_by: None,
            deleted_at: None,
            deleted_by: None,
            declined_at: None,
        }
        .with_outcome(invitation.outcome.as_ref())
    }

    fn with_outcome(mut self, outcome: Option<&Outcome>) -> Self {
        match outcome {
            None => {}
            Some(Outcome::Accepted { at, user_id }) => {
                self.accepted_at = Some(*at);
                self.accepted_by = Some(MemberView { user_id: *user_id });
            }
            Some(Outcome::Declined { at, .. }) => self.declined_at = Some(*at),
            Some(Outcome::Deleted { at, by, by_email }) => {
                self.deleted_at = Some(*at);
                self.deleted_by = Some(InviterView {
                    user_id: *by,
                    email: by_email.clone(),
                });
            }
        }
        self
    }
}

/// Why an invitation request was refused. Nothing was written and no quota was spent.
#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    /// The caller is not an active admin of the customer.
    #[error("Only an admin of this customer may manage its invitations.")]
    NotAdmin,
    /// Roles that do not exist in the customer.
    #[error("These roles do not exist in this customer: {}.", join(.0))]
    UnknownRoles(Vec<RoleId>),
    /// A role is being edited or deleted right now.
    #[error("The role {0} is being changed right now; try again in a moment.")]
    RoleBeingChanged(RoleId),
    /// The email's account is already an active member.
    #[error("This email address already has access to this customer.")]
    AlreadyMember,
    /// A pending invitation exists for the email.
    #[error("This email address has a pending invitation already; resend it instead.")]
    AlreadyInvited(InvitationId),
    /// No such invitation in this customer.
    #[error("There is no such invitation in this customer.")]
    NotFound,
    /// The admin's daily quota is used up.
    #[error(
        "You have sent {} invitation emails today, the daily limit. It resets at midnight UTC.",
        crate::quota::DAILY_LIMIT
    )]
    QuotaExhausted {
        /// The next UTC midnight.
        resets_at: OffsetDateTime,
        /// Seconds until then.
        retry_after_secs: u64,
    },
    /// Concurrent requests kept conflicting.
    #[error("The service is busy.")]
    Contention,
    /// The invitation was resent, deleted or re-invited while this request sent it again.
    #[error("This invitation changed meanwhile; try again.")]
    ChangedMeanwhile,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<crate::roles::lock::RolesRefused> for InvitationError {
    fn from(refused: crate::roles::lock::RolesRefused) -> Self {
        match refused {
            crate::roles::lock::RolesRefused::Unknown(ids) => Self::UnknownRoles(ids),
            crate::roles::lock::RolesRefused::BeingChanged(id) => Self::RoleBeingChanged(id),
        }
    }
}

fn join(ids: &[RoleId]) -> String {
    ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The refusal of a send the quota did not allow.
pub(crate) fn quota_exhausted(now: OffsetDateTime) -> InvitationError {
    let resets_at = crate::quota::resets_at(now);
    InvitationError::QuotaExhausted {
        resets_at,
        retry_after_secs: u64::try_from((resets_at - now).whole_seconds()).unwrap_or(1).max(1),
    }
}

/// One invitation of a customer, if it exists (one consistent GetItem).
pub async fn find(store: &Store, customer: &CustomerNumber, id: &InvitationId) -> anyhow::Result<Option<Invitation>> {
    Ok(find_item(store, customer, id).await?.map(Invitation::from))
}

/// The open invitations addressed to `email` in any customer, pending or expired, from GSI2
/// (eventually consistent: a change of the last second may not show yet). One Query; an
/// address has few. A kept outcome leaves GSI2 (its write removes the keys), and one the index
/// still shows for a moment is left out here.
pub async fn addressed_to(store: &Store, email: &Email) -> anyhow::Result<Vec<Invitation>> {
    let query = store
        .query()
        .index_name(keys::GSI2)
        .consistent_read(false)
        .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
        .expression_attribute_names("#pk", keys::GSI2PK)
        .expression_attribute_names("#sk", keys::GSI2SK)
        .expression_attribute_values(":pk", text(keys::invitee(email)))
        .expression_attribute_values(":prefix", text(keys::INVITEE_GSI2SK_PREFIX));
    let items: Vec<InvitationItem> = store.query_all(query, "the invitations addressed to an email").await?;
    Ok(items
        .into_iter()
        .map(Invitation::from)
        .filter(Invitation::is_open)
        .collect())
}

/// Those of `ids` that exist in a customer (consistent BatchGetItem, one call per 100 ids), in
/// no particular order.
pub async fn find_many(
    store: &Store,
    customer: &CustomerNumber,
    ids: &[InvitationId],
) -> anyhow::Result<Vec<Invitation>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // BatchGetItem refuses a key asked for twice.
    let unique: BTreeSet<&InvitationId> = ids.iter().collect();
    let keys = unique.into_iter().map(|id| key(customer, id)).collect();
    store
        .batch_get(keys)
        .await?
        .into_iter()
        .map(|item| crate::store::decode::<InvitationItem>(item, "an invitation").map(Invitation::from))
        .collect()
}

pub(crate) async fn find_item(
    store: &Store,
    customer: &CustomerNumber,
    id: &InvitationId,
) -> anyhow::Result<Option<InvitationItem>> {
    store.get(key(customer, id), "an invitation").await
}

/// An invitation's key.
pub(crate) fn key(customer: &CustomerNumber, id: &InvitationId) -> Item {
    item_key(keys::customer(customer), keys::invitation_sk(id))
}

/// A new invitation, where none of that id is; the activity log's "sent" by its sender.
pub(crate) fn put_new(store: &Store, invitation: &Invitation) -> anyhow::Result<TransactWriteItem> {
    let stamp = stamp::stamped_by(
        ChangeKind::InvitationSent,
        invitation.invited_by,
        &invitation.invited_by_email,
        invitation.last_sent_at,
    );
    store.put_new_stamped(InvitationItem::new(invitation), &stamp)
}

/// The names of what every send of an invitation sets: its link, sender, expiry and count.
const SEND_NAMES: &[(&str, &str)] = &[
    ("#sent", attr::LAST_SENT_AT),
    ("#expires", attr::EXPIRES_AT),
    ("#key", attr::LINK_KEY_ID),
    ("#nonce", attr::LINK_NONCE),
    ("#hash", attr::LINK_HASH),
    ("#ttl", attr::TTL),
    ("#firstBy", attr::FIRST_INVITED_BY),
    ("#firstByEmail", attr::FIRST_INVITED_BY_EMAIL),
    ("#by", attr::INVITED_BY),
    ("#byEmail", attr::INVITED_BY_EMAIL),
    ("#count", attr::SEND_COUNT),
    ("#prev1", attr::PREVIOUS_LINK_HASHES[0]),
    ("#prev2", attr::PREVIOUS_LINK_HASHES[1]),
    ("#prev3", attr::PREVIOUS_LINK_HASHES[2]),
    ("#prev4", attr::PREVIOUS_LINK_HASHES[3]),
];

/// Every send keeps the links it replaces, so that they can say "superseded": the current
/// link's hash becomes the newest previous one and the oldest falls off, all from the item as it
/// was before the update (right-hand sides read the old item), so the send still reads nothing.
/// `:noLink` (empty) fills a slot no earlier send had; it matches no token.
const SHIFT_PREVIOUS_LINKS: &str = "#prev4 = if_not_exists(#prev3, :noLink), \
     #prev3 = if_not_exists(#prev2, :noLink), #prev2 = if_not_exists(#prev1, :noLink), \
     #prev1 = if_not_exists(#hash, :noLink)";

/// The link, sender and expiry of one more send of an invitation, and its send count up; who
/// first invited is kept. Fails if the invitation is gone or has an outcome (accepted, deleted).
pub(crate) fn send_again(
    store: &Store,
    customer: &CustomerNumber,
    id: &InvitationId,
    link: &StoredLink,
    sender: &Admin,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let expires_at = now + LINK_LIFETIME;
    let update = store
        .update(key(customer, id))
        // An invitation stored before the first inviter was kept has it only in invitedBy;
        // right-hand sides read the item as it was before this update.
        .update_expression(format!(
            "SET #sent = :sent, #expires = :expires, LSI1SK = :lsi, #key = :key, \
             #nonce = :nonce, #hash = :hash, #ttl = :ttl, \
             #firstBy = if_not_exists(#firstBy, #by), \
             #firstByEmail = if_not_exists(#firstByEmail, #byEmail), \
             #by = :by, #byEmail = :byEmail, #change = :change, {SHIFT_PREVIOUS_LINKS} ADD #count :one",
        ))
        .condition_expression(OPEN)
        .set_expression_attribute_names(Some(with_outcome_name(names(SEND_NAMES))))
        .expression_attribute_values(":noLink", text(""))
        .expression_attribute_values(":sent", time_text(now)?)
        .expression_attribute_values(":expires", time_text(expires_at)?)
        .expression_attribute_values(":lsi", text(keys::invitation_lsi1sk(expires_at, id)))
        .expression_attribute_values(":key", text(&link.key_id))
        .expression_attribute_values(":nonce", text(link.nonce.as_str()))
        .expression_attribute_values(":hash", text(link.hash.as_str()))
        .expression_attribute_values(":ttl", number(epoch_seconds(expires_at + LISTED_AFTER_EXPIRY)))
        .expression_attribute_values(":one", number(1))
        .expression_attribute_values(":by", text(sender.user_id))
        .expression_attribute_values(":byEmail", text(&sender.email));
    stamp::stamped_by(ChangeKind::InvitationResent, sender.user_id, &sender.email, now)
        .onto(update)?
        .into_item()
}

/// An expired invitation sent again as `invitation` (new roles, sender, language, link), if it
/// is still the one read (its link `previous`): a concurrent resend or re-invite wins.
pub(crate) fn replace_expired(
    store: &Store,
    invitation: &Invitation,
    previous: &TokenHash,
) -> anyhow::Result<TransactWriteItem> {
    let item = InvitationItem::new(invitation);
    let mut names = with_outcome_name(names(SEND_NAMES));
    names.insert("#roles".into(), attr::ROLE_IDS.into());
    names.insert("#language".into(), attr::LANGUAGE.into());
    // The new request's language replaces the old one, including "none".
    let (set_language, remove_language) = match invitation.language {
        Some(_) => (", #language = :language", ""),
        None => ("", " REMOVE #language"),
    };
    let mut update = store
        .update(key(&invitation.customer_number, &invitation.id))
        .update_expression(format!(
            "SET #roles = :roles, #by = :by, #byEmail = :byEmail, #firstBy = :firstBy, \
             #firstByEmail = :firstByEmail, #sent = :sent, #expires = :expires, LSI1SK = :lsi, \
             #key = :key, #nonce = :nonce, #hash = :hash, #ttl = :ttl, #count = :count, \
             GSI1PK = :gsi1pk, GSI1SK = :gsi1sk, {SHIFT_PREVIOUS_LINKS}, {}{set_language}{remove_language}",
            stamp::SET
        ))
        .condition_expression(format!("{OPEN} AND #hash = :previous"))
        .set_expression_attribute_names(Some(names))
        .expression_attribute_values(":noLink", text(""))
        .expression_attribute_values(":roles", value(&item.role_ids)?)
        .expression_attribute_values(":by", text(item.invited_by))
        .expression_attribute_values(":byEmail", text(&item.invited_by_email))
        .expression_attribute_values(":firstBy", text(invitation.first_invited_by))
        .expression_attribute_values(":firstByEmail", text(&invitation.first_invited_by_email))
        .expression_attribute_values(":sent", time_text(invitation.last_sent_at)?)
        .expression_attribute_values(":expires", time_text(invitation.expires_at)?)
        .expression_attribute_values(":lsi", text(&item.lsi1sk))
        .expression_attribute_values(":key", text(&item.link_key_id))
        .expression_attribute_values(":nonce", text(&item.link_nonce))
        .expression_attribute_values(":hash", text(&item.link_hash))
        .expression_attribute_values(":ttl", number(item.ttl))
        .expression_attribute_values(":count", number(invitation.send_count))
        .expression_attribute_values(":gsi1pk", text(item.gsi1pk.as_deref().unwrap_or_default()))
        .expression_attribute_values(":gsi1sk", text(item.gsi1sk.as_deref().unwrap_or_default()))
        .expression_attribute_values(":previous", text(previous.as_str()));
    if let Some(language) = invitation.language {
        update = update.expression_attribute_values(":language", text(language.code()));
    }
    stamp::stamped_by(
        ChangeKind::InvitationSent,
        invitation.invited_by,
        &invitation.invited_by_email,
        invitation.last_sent_at,
    )
    .onto(update)?
    .into_item()
}

/// An invitation that exists and is open, and has none of these attributes yet.
const OPEN: &str = "attribute_exists(PK) AND attribute_not_exists(#outcome)";

fn with_outcome_name(
    mut names: std::collections::HashMap<String, String>,
) -> std::collections::HashMap<String, String> {
    names.insert("#outcome".into(), attr::OUTCOME.into());
    names
}

/// The update that turns an open invitation into the kept `outcome`: out of the open key
/// ranges (LSI1SK and GSI1PK name the outcome) and out of the invitee's inbox (GSI2's keys
/// removed), its link's nonce removed (no token can be rebuilt from it) but its hash and the
/// previous ones kept, so that its links say what happened (nothing accepts them: every write
/// that uses a link requires the invitation open), removed by TTL [`KEPT_AFTER_OUTCOME`] after
/// it. Conditions are the caller's.
fn record_outcome(
    store: &Store,
    customer: &CustomerNumber,
    id: &InvitationId,
    outcome: &Outcome,
    actor_email: &Email,
) -> anyhow::Result<aws_sdk_dynamodb::types::builders::UpdateBuilder> {
    let at = outcome.at();
    let kind = outcome.kind();
    let (by, by_email) = match outcome {
        Outcome::Accepted { user_id, .. } | Outcome::Declined { user_id, .. } => (user_id, None),
        Outcome::Deleted { by, by_email, .. } => (by, Some(by_email)),
    };
    let mut update = store
        .update(key(customer, id))
        .expression_attribute_names("#outcome", attr::OUTCOME)
        .expression_attribute_names("#outcomeAt", attr::OUTCOME_AT)
        .expression_attribute_names("#outcomeBy", attr::OUTCOME_BY)
        .expression_attribute_names("#ttl", attr::TTL)
        .expression_attribute_names("#nonce", attr::LINK_NONCE)
        .expression_attribute_values(":outcome", text(kind.code()))
        .expression_attribute_values(":outcomeAt", time_text(at)?)
        .expression_attribute_values(":outcomeBy", text(by))
        .expression_attribute_values(":lsi", text(keys::outcome_lsi1sk(kind.code(), at, id)))
        .expression_attribute_values(":gsi1pk", text(keys::invitations_gsi1pk(customer, kind.code())))
        .expression_attribute_values(":ttl", number(epoch_seconds(at + KEPT_AFTER_OUTCOME)));
    let set = "SET #outcome = :outcome, #outcomeAt = :outcomeAt, #outcomeBy = :outcomeBy, \
               LSI1SK = :lsi, GSI1PK = :gsi1pk, #ttl = :ttl, #change = :change";
    let change = match kind {
        OutcomeKind::Accepted => ChangeKind::InvitationAccepted,
        OutcomeKind::Declined => ChangeKind::InvitationDeclined,
        OutcomeKind::Deleted => ChangeKind::InvitationDeleted,
    };
    update = stamp::stamped_by(change, *by, actor_email, at).onto(update)?;
    update = match by_email {
        Some(email) => update
            .update_expression(format!(
                "{set}, #outcomeByEmail = :outcomeByEmail REMOVE #nonce, GSI2PK, GSI2SK"
            ))
            .expression_attribute_names("#outcomeByEmail", attr::OUTCOME_BY_EMAIL)
            .expression_attribute_values(":outcomeByEmail", text(email)),
        None => update.update_expression(format!("{set} REMOVE #nonce, GSI2PK, GSI2SK")),
    };
    Ok(update)
}

/// Deletes (withdraws) an open invitation: kept as deleted by `admin` at `now`, its link dead at
/// once. Fails if it does not exist or has an outcome already (a second delete).
pub(crate) fn delete(
    store: &Store,
    customer: &CustomerNumber,
    id: &InvitationId,
    admin: &Admin,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let outcome = Outcome::Deleted {
        at: now,
        by: admin.user_id,
        by_email: admin.email.clone(),
    };
    record_outcome(store, customer, id, &outcome, &admin.email)?
        .condition_expression(OPEN)
        .into_item()
}

/// Declines an open invitation for the account `user` signed in with `email`, kept as declined:
/// only while it is addressed to `email` (else it refuses, like one that does not exist).
pub(crate) fn decline(
    store: &Store,
    customer: &CustomerNumber,
    id: &InvitationId,
    email: &Email,
    user: UserId,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let outcome = Outcome::Declined { at: now, user_id: user };
    record_outcome(store, customer, id, &outcome, email)?
        .condition_expression(format!("{OPEN} AND #email = :email"))
        .expression_attribute_names("#email", attr::EMAIL)
        .expression_attribute_values(":email", text(email))
        .into_item()
}

/// Consumes an invitation by its link, kept as accepted by `member`: only while `link` is still
/// its current link and its 24 hours are not over (LSI1SK starts with the expiry in
/// milliseconds). On failure the refusal carries the invitation as it is ([`link_state_of`]).
pub(crate) fn consume(
    store: &Store,
    invitation: &Invitation,
    link: &TokenHash,
    member: UserId,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let outcome = Outcome::Accepted {
        at: now,
        user_id: member,
    };
    record_outcome(
        store,
        &invitation.customer_number,
        &invitation.id,
        &outcome,
        &invitation.email,
    )?
    .condition_expression("#hash = :link AND LSI1SK > :now AND attribute_not_exists(#outcome)")
    .expression_attribute_names("#hash", attr::LINK_HASH)
    .expression_attribute_values(":link", text(link.as_str()))
    .expression_attribute_values(":now", text(format!("{}~", keys::invitation_lsi1_prefix(now))))
    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    .into_item()
}

/// What the invitation a failed write found (as stored, if it exists) says of the link `hash`
/// at `now`: used, withdrawn, declined, replaced, expired, or (a concurrent change undone) live.
pub(crate) fn link_state_of(
    invitation: Option<&Item>,
    hash: &TokenHash,
    now: OffsetDateTime,
) -> anyhow::Result<LinkState> {
    let item = invitation
        .map(|item| crate::store::decode::<InvitationItem>(item.clone(), "an invitation"))
        .transpose()?;
    Ok(LinkState::of(item, hash, now))
}

/// Asks for a new link on behalf of the holder of an expired one: records when, on condition
/// that `hash` is still the invitation's current link, the invitation is open, its link expired
/// at `now` (yet still listed), and nobody asked in the [`RENEWAL_REQUEST_EVERY`] before. The
/// time is stored, never inferred from TTL (which may lag by days, or, locally, be quick). The
/// record owes the admins' email ([`crate::events`]); it sends nothing, spends no quota and
/// changes no link. On refusal, the invitation as it was.
pub(crate) async fn request_renewal(
    store: &Store,
    customer: &CustomerNumber,
    id: &InvitationId,
    hash: &TokenHash,
    now: OffsetDateTime,
) -> anyhow::Result<crate::store::Updated<InvitationItem>> {
    let update = store
        .update_item(key(customer, id))
        .update_expression("SET #renewal = :now")
        // Expired: LSI1SK (`INVITATION#{expiry ms}#{id}`) at or before now, and still listed:
        // at or after 30 days before now.
        .condition_expression(
            "#hash = :link AND attribute_not_exists(#outcome) AND LSI1SK < :expiredBy \
             AND LSI1SK >= :listedFrom AND (attribute_not_exists(#renewal) OR #renewal <= :lastAllowed)",
        )
        .expression_attribute_names("#hash", attr::LINK_HASH)
        .expression_attribute_names("#outcome", attr::OUTCOME)
        .expression_attribute_names("#renewal", attr::RENEWAL_REQUESTED_AT)
        .expression_attribute_values(":link", text(hash.as_str()))
        .expression_attribute_values(":now", number(epoch_millis(now)))
        .expression_attribute_values(":expiredBy", text(format!("{}~", keys::invitation_lsi1_prefix(now))))
        .expression_attribute_values(
            ":listedFrom",
            text(keys::invitation_lsi1_prefix(now - LISTED_AFTER_EXPIRY)),
        )
        .expression_attribute_values(":lastAllowed", number(epoch_millis(now - RENEWAL_REQUEST_EVERY)));
    store.update_returning(update, "an invitation's renewal request").await
}

/// Milliseconds since the epoch.
fn epoch_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Removes `role` from an invitation that names `seen`, if its roles are still those.
pub(crate) fn strip_role(
    store: &Store,
    customer: &CustomerNumber,
    id: &InvitationId,
    seen: &BTreeSet<RoleId>,
    role: &RoleId,
) -> anyhow::Result<TransactWriteItem> {
    let remaining: BTreeSet<RoleId> = seen.iter().filter(|r| *r != role).copied().collect();
    store
        .update(key(customer, id))
        .update_expression("SET #roles = :remaining")
        // Unchanged since read and still open (a re-invite with other roles, an accept or a
        // delete wins: a kept outcome keeps the roles it had).
        .condition_expression("#roles = :seen AND attribute_not_exists(#outcome)")
        .expression_attribute_names("#roles", attr::ROLE_IDS)
        .expression_attribute_names("#outcome", attr::OUTCOME)
        .expression_attribute_values(":remaining", value(&remaining)?)
        .expression_attribute_values(":seen", value(seen)?)
        .into_item()
}

/// The roles an invitation grants, and until when it is listed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleHolding {
    pub id: InvitationId,
    #[serde(default)]
    pub role_ids: BTreeSet<RoleId>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl RoleHolding {
    /// Still listed at `now` (pending, or expired less than 30 days ago).
    pub(crate) fn listed(&self, now: OffsetDateTime) -> bool {
        self.expires_at > now - LISTED_AFTER_EXPIRY
    }
}

/// The roles of every open invitation of a customer, listed or not yet removed by TTL: one
/// consistent Query of LSI1's open key range (all pages), so kept outcomes are never read.
pub(crate) async fn role_holdings(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Vec<RoleHolding>> {
    let query = store
        .query()
        .index_name(keys::LSI1)
        .key_condition_expression("PK = :pk AND LSI1SK BETWEEN :low AND :high")
        .expression_attribute_values(":pk", text(keys::customer(customer)))
        .expression_attribute_values(":low", text(keys::INVITATION_SK_PREFIX))
        .expression_attribute_values(":high", text(keys::OPEN_LSI1_END));
    store.query_all(query, "a customer's open invitations").await
}

fn names(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_attributes_expressions_name_are_on_the_item() {
        let id = InvitationId::generate();
        let admin = UserId::generate();
        let email = Email::parse("admin@acme.example").unwrap();
        let invitation = Invitation {
            id,
            customer_number: CustomerNumber::parse("100234").unwrap(),
            email: Email::parse("anna@example.com").unwrap(),
            role_ids: [RoleId::generate()].into_iter().collect(),
            invited_by: admin,
            invited_by_email: email.clone(),
            first_invited_by: admin,
            first_invited_by_email: email,
            language: Some(Language::De),
            created_at: OffsetDateTime::UNIX_EPOCH,
            last_sent_at: OffsetDateTime::UNIX_EPOCH,
            send_count: 1,
            expires_at: OffsetDateTime::UNIX_EPOCH + LINK_LIFETIME,
            link: StoredLink::new(
                crate::testing::test_keyring().current(),
                &CustomerNumber::parse("100234").unwrap(),
                &id,
            ),
            outcome: None,
        };
        let stored: Item = serde_dynamo::to_item(InvitationItem::new(&invitation)).unwrap();
        for name in [
            attr::ROLE_IDS,
            attr::INVITED_BY,
            attr::INVITED_BY_EMAIL,
            attr::FIRST_INVITED_BY,
            attr::FIRST_INVITED_BY_EMAIL,
            attr::LANGUAGE,
            attr::LAST_SENT_AT,
            attr::SEND_COUNT,
            attr::EXPIRES_AT,
            attr::LINK_KEY_ID,
            attr::LINK_NONCE,
            attr::LINK_HASH,
            attr::TTL,
            keys::LSI1SK,
        ] {
            assert!(stored.contains_key(name), "{name}");
        }
    }

    #[test]
    fn an_invitation_stored_before_links_named_their_key_reads_with_a_dead_link() {
        let stored = json!({
            "PK": "CUSTOMER#100234", "SK": "INVITATION#01KAWDEM0ADM1N000000000001",
            "LSI1SK": "INVITATION#001795685400000#01KAWDEM0ADM1N000000000001",
            "id": "01KAWDEM0ADM1N000000000001", "customerNumber": "100234", "email": "anna@example.com",
            "roleIds": [], "invitedBy": "01KAWDEM0ADM1N000000000000", "invitedByEmail": "admin@acme.example",
            "createdAt": "2026-11-24T09:30:00Z", "lastSentAt": "2026-11-24T09:30:00Z", "sendCount": 1,
            "expiresAt": "2026-11-25T09:30:00Z", "linkNonce": "bm9uY2U", "linkHash": "aGFzaA", "ttl": 1798277400
        });
        let stored: serde_dynamo::Item = serde_dynamo::to_item(stored).unwrap();
        let item: InvitationItem = serde_dynamo::from_item(stored).unwrap();
        let invitation = Invitation::from(item);
        assert_eq!(invitation.link.key_id, KeyId::none());
        assert!(invitation.link_token(&crate::testing::test_keyring()).is_none());
    }
}
