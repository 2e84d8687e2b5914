//! Invitations: to one email address for one customer, with roles, sent by an admin.
//!
//! Pending while its link is valid (24 hours from the last send), expired after, and listed for
//! 30 days after expiry, when DynamoDB's TTL removes it. Each send draws a new link nonce; the
//! invitation keeps the hash of its current link, so older links die with every resend.

mod accept;
mod invite;
mod list;
mod resend;

pub use accept::{AcceptError, Accepted, Preview, Proof, accept, preview};
pub use invite::{NewInvitation, invite};
pub use list::{ListError, ListedInvitation, MAX_PAGE_SIZE, Page, StatusFilter, get, list};
pub use resend::{Resent, resend};

use crate::domain::{CustomerNumber, Email, InvitationId, Language, RoleId, TokenHash, UserId};
use crate::http::ApiError;
use crate::links::{KeyId, Keyring, LinkNonce, LinkToken, StoredLink};
use crate::memberships::admin_check;
use crate::store::transactions::{TransactionError, built, transact};
use crate::store::{Store, epoch_seconds, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

/// How long a link works after it was sent.
pub const LINK_LIFETIME: Duration = Duration::hours(24);
/// How long an expired invitation stays listed (and can be resent).
pub const LISTED_AFTER_EXPIRY: Duration = Duration::days(30);
/// Most roles one invitation may carry.
pub const MAX_ROLES: usize = 20;

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
    /// The current link, as stored (never its token).
    pub link: StoredLink,
}

impl Invitation {
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
        self.link.token(&self.id, keyring)
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
    lsi1sk: String,
    id: InvitationId,
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
    link_nonce: String,
    link_hash: String,
    /// Removal once it is no longer listed; reads never rely on it.
    ttl: i64,
}

impl InvitationItem {
    fn new(invitation: &Invitation) -> Self {
        Self {
            pk: keys::customer(&invitation.customer_number),
            sk: keys::invitation_sk(&invitation.id),
            lsi1sk: keys::invitation_lsi1sk(invitation.expires_at, &invitation.id),
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
        }
    }
}

impl From<InvitationItem> for Invitation {
    fn from(item: InvitationItem) -> Self {
        Self {
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
    /// Pending or expired, now.
    pub status: InvitationStatus,
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
    #[serde(serialize_with = "crate::http::timestamp::serialize")]
    pub created_at: OffsetDateTime,
    /// Last sent.
    #[serde(serialize_with = "crate::http::timestamp::serialize")]
    pub last_sent_at: OffsetDateTime,
    /// How often it was sent.
    pub send_count: u32,
    /// When its link stops working.
    #[serde(serialize_with = "crate::http::timestamp::serialize")]
    pub expires_at: OffsetDateTime,
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
    /// An invitation as the list and `GET .../invitations/{invitationId}` show it, at `now`.
    pub fn listed(listed: &ListedInvitation, now: OffsetDateTime) -> Self {
        Self::new(&listed.invitation, Some(listed.roles.clone()), now)
    }

    fn new(invitation: &Invitation, roles: Option<Vec<crate::memberships::RoleRef>>, now: OffsetDateTime) -> Self {
        Self {
            id: invitation.id,
            email: invitation.email.clone(),
            status: invitation.status(now),
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
        }
    }
}

/// The link item: finds the invitation from a token's hash. Whether the link still works is
/// decided by the invitation (current hash, expiry), never by the TTL; the item is kept as long
/// as its invitation is listed, so that an expired link says "expired" (410) all that time
/// instead of "not found".
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

fn put_link(store: &Store, invitation: &Invitation) -> anyhow::Result<TransactWriteItem> {
    let item = LinkItem::new(
        &invitation.link.hash,
        &invitation.customer_number,
        invitation.id,
        invitation.expires_at,
    );
    let put = built(
        Put::builder()
            .table_name(&store.tables.data)
            .set_item(Some(serde_dynamo::to_item(item)?))
            .condition_expression("attribute_not_exists(PK)")
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
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
    Busy,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

fn join(ids: &[RoleId]) -> String {
    ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl From<InvitationError> for ApiError {
    fn from(error: InvitationError) -> Self {
        let detail = error.to_string();
        match error {
            InvitationError::NotAdmin => ApiError::Forbidden {
                code: "not-an-admin",
                detail,
            },
            InvitationError::UnknownRoles(ids) => ApiError::Unprocessable {
                code: "unknown-role",
                detail,
                extensions: [("roleIds".to_owned(), serde_json::json!(ids))].into_iter().collect(),
            },
            InvitationError::RoleBeingChanged(_) => ApiError::Conflict {
                code: "role-busy",
                detail,
                extensions: Default::default(),
            },
            InvitationError::AlreadyMember => ApiError::Conflict {
                code: "already-member",
                detail,
                extensions: Default::default(),
            },
            InvitationError::AlreadyInvited(id) => ApiError::Conflict {
                code: "invitation-pending",
                detail,
                extensions: [("invitationId".to_owned(), serde_json::json!(id))]
                    .into_iter()
                    .collect(),
            },
            InvitationError::NotFound => ApiError::NotFound {
                code: "invitation-not-found",
                detail,
            },
            InvitationError::QuotaExhausted {
                resets_at,
                retry_after_secs,
            } => ApiError::QuotaExhausted {
                detail,
                resets_at,
                retry_after_secs,
            },
            InvitationError::Busy => ApiError::Unavailable { retry_after_secs: 1 },
            InvitationError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

fn quota_exhausted(now: OffsetDateTime) -> InvitationError {
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

async fn find_item(
    store: &Store,
    customer: &CustomerNumber,
    id: &InvitationId,
) -> anyhow::Result<Option<InvitationItem>> {
    let output = store
        .client
        .get_item()
        .table_name(&store.tables.data)
        .key(keys::PK, AttributeValue::S(keys::customer(customer)))
        .key(keys::SK, AttributeValue::S(keys::invitation_sk(id)))
        .consistent_read(true)
        .send()
        .await
        .map_err(crate::aws::sdk_error("Failed to read an invitation."))?;
    output
        .item
        .map(|item| serde_dynamo::from_item(item).context("A stored invitation is malformed."))
        .transpose()
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
/// must still be. Expiry is judged by the clock, never by whether TTL has removed the items.
#[tracing::instrument(name = "Opening an invitation link", skip_all)]
pub async fn open_link(store: &Store, token: &LinkToken, now: OffsetDateTime) -> anyhow::Result<LinkState> {
    let hash = token.hash();
    let output = store
        .client
        .get_item()
        .table_name(&store.tables.data)
        .key(keys::PK, AttributeValue::S(keys::link(&hash)))
        .key(keys::SK, AttributeValue::S(keys::LINK_SK.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(crate::aws::sdk_error("Failed to read an invitation link."))?;
    let Some(link) = output.item else {
        return Ok(LinkState::Dead);
    };
    let link: LinkItem = serde_dynamo::from_item(link).context("A stored link is malformed.")?;
    let Some(item) = find_item(store, &link.customer_number, &link.invitation_id).await? else {
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

/// Deletes an invitation; its link stops working at once (one transaction with the admin check).
/// Its link item is left to expire: it finds no invitation any more.
#[tracing::instrument(name = "Deleting an invitation", skip_all, fields(customer = %customer, invitation = %id))]
pub async fn delete(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    id: &InvitationId,
) -> Result<(), InvitationError> {
    let delete = built(
        Delete::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(keys::customer(customer)))
            .key(keys::SK, AttributeValue::S(keys::invitation_sk(id)))
            .condition_expression("attribute_exists(PK)")
            .build(),
    )?;
    let items = vec![
        admin_check(store, customer, admin)?,
        TransactWriteItem::builder().delete(delete).build(),
    ];
    match transact(store, items, "delete an invitation").await {
        Ok(()) => Ok(()),
        Err(TransactionError::Cancelled(reasons)) => {
            if reasons[0].condition_failed() {
                Err(InvitationError::NotAdmin)
            } else {
                Err(InvitationError::NotFound)
            }
        }
        Err(TransactionError::Contention) => Err(InvitationError::Busy),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}

/// The transaction item that checks a role exists in the customer and is not being changed.
fn role_check(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleId,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let check = built(
        aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(keys::customer(customer)))
            .key(keys::SK, AttributeValue::S(keys::role_sk(role)))
            .condition_expression("attribute_exists(PK) AND (attribute_not_exists(#changing) OR #changing < :now)")
            .expression_attribute_names("#changing", crate::roles::CHANGING_UNTIL)
            .expression_attribute_values(":now", AttributeValue::N(epoch_seconds(now).to_string()))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .build(),
    )?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// The roles whose checks failed: unknown ones, or the first one being changed.
fn failed_roles(role_ids: &[RoleId], reasons: &[crate::store::transactions::Reason]) -> Option<InvitationError> {
    let failed: Vec<(RoleId, bool)> = role_ids
        .iter()
        .zip(reasons)
        .filter(|(_, reason)| reason.condition_failed())
        .map(|(id, reason)| (*id, reason.item.is_some()))
        .collect();
    if failed.is_empty() {
        return None;
    }
    let unknown: Vec<RoleId> = failed.iter().filter(|(_, exists)| !exists).map(|(id, _)| *id).collect();
    if unknown.is_empty() {
        Some(InvitationError::RoleBeingChanged(failed[0].0))
    } else {
        Some(InvitationError::UnknownRoles(unknown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
