//! The invitations table: a customer's invitations by status, page by page, searched by email
//! prefix, with the counts per status; and one invitation.

use crate::domain::{CustomerNumber, InvalidValue, InvitationId, RoleId, RoleName, UserId};
use crate::invitations::{
    Invitation, InvitationError, InvitationItem, KEPT_AFTER_OUTCOME, LISTED_AFTER_EXPIRY, OutcomeKind, find_item,
};
use crate::memberships::{RoleRef, is_admin};
use crate::roles;
use crate::store::{Store, decode, keys, text};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Which invitations to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// The open ones: pending and expired (not the kept outcomes).
    All,
    /// Links still valid.
    Pending,
    /// Links expired in the last 30 days.
    Expired,
    /// Accepted in the last 365 days.
    Accepted,
    /// Declined in the last 365 days.
    Declined,
    /// Deleted in the last 365 days.
    Deleted,
}

impl StatusFilter {
    /// Parses `pending`, `expired`, `accepted`, `declined`, `deleted` or `all`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "all" => Ok(Self::All),
            "pending" => Ok(Self::Pending),
            "expired" => Ok(Self::Expired),
            "accepted" => Ok(Self::Accepted),
            "declined" => Ok(Self::Declined),
            "deleted" => Ok(Self::Deleted),
            other => Err(InvalidValue {
                code: "invalid-status-filter",
                reason: format!(
                    "`{}` is not a status to filter by (pending, expired, all, accepted, declined, deleted).",
                    other.chars().take(64).collect::<String>()
                ),
            }),
        }
    }

    /// As the query string names it.
    pub const fn code(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Pending => "pending",
            Self::Expired => "expired",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Deleted => "deleted",
        }
    }

    fn outcome(self) -> Option<OutcomeKind> {
        match self {
            Self::Accepted => Some(OutcomeKind::Accepted),
            Self::Declined => Some(OutcomeKind::Declined),
            Self::Deleted => Some(OutcomeKind::Deleted),
            Self::All | Self::Pending | Self::Expired => None,
        }
    }

    /// The LSI1SK range (inclusive) of what it lists at `now`: pending, expiry after now;
    /// expired, expiry within the last 30 days up to now; an outcome, within the last 365 days.
    /// "…#~" sorts after every id at that millisecond, and after every key of its prefix.
    fn range(self, now: OffsetDateTime) -> (String, String) {
        let now_bound = format!("{}~", keys::invitation_lsi1_prefix(now));
        let listed_from = keys::invitation_lsi1_prefix(now - LISTED_AFTER_EXPIRY);
        match self {
            Self::All => (listed_from, keys::OPEN_LSI1_END.to_owned()),
            Self::Pending => (now_bound, keys::OPEN_LSI1_END.to_owned()),
            Self::Expired => (listed_from, now_bound),
            Self::Accepted | Self::Declined | Self::Deleted => {
                let code = self.outcome().map(OutcomeKind::code).unwrap_or_default();
                (
                    keys::outcome_lsi1_prefix(code, now - KEPT_AFTER_OUTCOME),
                    keys::outcome_lsi1_end(code),
                )
            }
        }
    }
}

/// What the invitations table asks for: a status, a search, a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Which invitations.
    pub status: StatusFilter,
    /// Invitations whose email starts with this (lower case, as emails are stored).
    pub email_prefix: Option<String>,
    /// Rows at most (1 to [`MAX_PAGE_SIZE`]).
    pub limit: u16,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// The filters, as a cursor names them: a cursor continues only the listing it came from.
    fn filters(&self) -> String {
        format!(
            "status={};email={}",
            self.status.code(),
            self.email_prefix.as_deref().unwrap_or("")
        )
    }
}

/// An invitation with its roles resolved to names (deleted roles left out).
#[derive(Debug, Clone)]
pub struct ListedInvitation {
    /// The invitation.
    pub invitation: Invitation,
    /// Its roles that still exist.
    pub roles: Vec<RoleRef>,
}

pub use crate::invitation_counts::Counts;

/// One page of the list: newest send (or newest outcome) first, or by email when searched.
#[derive(Debug, Clone)]
pub struct Page {
    /// The invitations.
    pub invitations: Vec<ListedInvitation>,
    /// Opaque; present when there may be more.
    pub next_cursor: Option<String>,
    /// The counts per status; on the first page only (no cursor), which is what reads them.
    pub counts: Option<Counts>,
}

/// Largest page.
pub const MAX_PAGE_SIZE: u16 = 100;
/// Queries a searched page with a pending or expired filter may take to fill itself (that
/// filter is judged on the rows of the open range read); past them the page ends early, with a
/// cursor, so its cost stays bounded.
const QUERIES_PER_PAGE: usize = 8;

#[derive(Serialize, Deserialize)]
struct Cursor {
    customer: String,
    filters: String,
    sk: String,
    /// The index's sort key where the page ended: LSI1SK, or GSI1SK when searched.
    at: String,
}

fn invalid_cursor() -> InvalidValue {
    InvalidValue {
        code: "invalid-cursor",
        reason: "The cursor is not one this list issued for this customer, status and search.".into(),
    }
}

fn encode_cursor(customer: &CustomerNumber, query: &ListQuery, sk: String, at: String) -> String {
    let cursor = Cursor {
        customer: customer.to_string(),
        filters: query.filters(),
        sk,
        at,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

fn decode_cursor(raw: &str, customer: &CustomerNumber, query: &ListQuery) -> Result<Cursor, InvalidValue> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid_cursor())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if cursor.customer != customer.to_string()
        || cursor.filters != query.filters()
        || !cursor.sk.starts_with(keys::INVITATION_SK_PREFIX)
        || cursor.sk.len() > 100
        || cursor.at.len() > 400
    {
        return Err(invalid_cursor());
    }
    Ok(cursor)
}

/// Where the Query reads.
enum Source {
    /// LSI1's key range of the status, newest first; no filter.
    ByTime { low: String, high: String },
    /// GSI1's partition of the group (open, or an outcome), the email prefix's key range; a
    /// filter on LSI1SK keeps the status's range (pending or expired, or the listed window).
    ByEmail {
        partition: String,
        prefix: String,
        low: String,
        high: String,
    },
}

/// A page of a customer's invitations. Unfiltered (or by status) it reads a key range of LSI1,
/// newest send first (an outcome: newest outcome first): one Query of `limit` items, no filter,
/// whatever the number of invitations. Searched by email it reads the prefix's key range of
/// GSI1 in the status's group (open invitations, or one outcome), by email: one Query, with a
/// filter that leaves out only open invitations no longer listed (not yet removed by TTL);
/// searched with `pending` or `expired`, the filter also leaves out the other of the two, so a
/// page may take more Queries (at most [`QUERIES_PER_PAGE`]). The first page (no cursor) also
/// counts the pending and expired invitations ([`crate::invitation_counts::read`]: the counter
/// items and the two bounds' minutes; see `store`'s documentation for their cost). Beside them,
/// the admin check and the role names, all in the same round trip.
pub async fn list(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    query: &ListQuery,
    now: OffsetDateTime,
) -> Result<Page, ListError> {
    let cursor = query
        .cursor
        .as_deref()
        .map(|raw| decode_cursor(raw, customer, query))
        .transpose()?;
    let (low, high) = query.status.range(now);
    let source = match &query.email_prefix {
        None => {
            if let Some(cursor) = &cursor {
                if cursor.at > high {
                    return Err(invalid_cursor().into());
                }
                if cursor.at < low {
                    // Time moved past the rest of this list since the last page.
                    return Ok(Page {
                        invitations: Vec::new(),
                        next_cursor: None,
                        counts: None,
                    });
                }
            }
            Source::ByTime { low, high }
        }
        Some(prefix) => {
            let group = query.status.outcome().map_or(keys::OPEN_INVITATIONS, OutcomeKind::code);
            let prefix = format!("{}{prefix}", keys::INVITATION_SK_PREFIX);
            if let Some(cursor) = &cursor
                && !cursor.at.starts_with(&prefix)
            {
                return Err(invalid_cursor().into());
            }
            Source::ByEmail {
                partition: keys::invitations_gsi1pk(customer, group),
                prefix,
                low,
                high,
            }
        }
    };
    let limit = query.limit.clamp(1, MAX_PAGE_SIZE);
    let first_page = cursor.is_none();
    let (admin, (items, next), roles, counts) = tokio::try_join!(
        is_admin(store, customer, admin),
        read_page(store, customer, &source, cursor, limit),
        roles::list(store, customer),
        async {
            if first_page {
                crate::invitation_counts::read(store, customer, now).await.map(Some)
            } else {
                Ok(None)
            }
        },
    )?;
    if !admin {
        return Err(ListError::NotAdmin);
    }
    let names = role_names(roles);
    let invitations = items
        .into_iter()
        .map(|item| ListedInvitation::new(Invitation::from(item), &names))
        .collect();
    Ok(Page {
        invitations,
        next_cursor: next.map(|(sk, at)| encode_cursor(customer, query, sk, at)),
        counts,
    })
}

/// Up to `limit` items from `source` after `cursor`, and where to go on, if there may be more.
async fn read_page(
    store: &Store,
    customer: &CustomerNumber,
    source: &Source,
    cursor: Option<Cursor>,
    limit: u16,
) -> anyhow::Result<(Vec<InvitationItem>, Option<(String, String)>)> {
    let pk = keys::customer(customer);
    let mut start = cursor.map(|cursor| (cursor.sk, cursor.at));
    let mut items = Vec::new();
    let queries = match source {
        Source::ByTime { .. } => 1,
        Source::ByEmail { .. } => QUERIES_PER_PAGE,
    };
    for _ in 0..queries {
        // One item more than the page: a full page then knows whether anything follows (a
        // Query that stops at its limit returns a LastEvaluatedKey even when nothing does).
        let mut request = store.query().limit(i32::from(limit) + 1);
        request = match source {
            Source::ByTime { low, high } => {
                let mut request = request
                    .index_name(keys::LSI1)
                    .key_condition_expression("PK = :pk AND LSI1SK BETWEEN :low AND :high")
                    .expression_attribute_values(":pk", text(&pk))
                    .expression_attribute_values(":low", text(low))
                    .expression_attribute_values(":high", text(high))
                    .scan_index_forward(false);
                if let Some((sk, at)) = &start {
                    request = request
                        .exclusive_start_key(keys::PK, text(&pk))
                        .exclusive_start_key(keys::SK, text(sk))
                        .exclusive_start_key(keys::LSI1SK, text(at));
                }
                request
            }
            Source::ByEmail {
                partition,
                prefix,
                low,
                high,
            } => {
                // A global index reads eventually consistently: an invitation written a moment
                // ago may be missing from a search for that moment (the list by time has it).
                let mut request = request
                    .consistent_read(false)
                    .index_name(keys::GSI1)
                    .key_condition_expression("GSI1PK = :group AND begins_with(GSI1SK, :prefix)")
                    .filter_expression("LSI1SK BETWEEN :low AND :high")
                    .expression_attribute_values(":group", text(partition))
                    .expression_attribute_values(":prefix", text(prefix))
                    .expression_attribute_values(":low", text(low))
                    .expression_attribute_values(":high", text(high));
                if let Some((sk, at)) = &start {
                    request = request
                        .exclusive_start_key(keys::PK, text(&pk))
                        .exclusive_start_key(keys::SK, text(sk))
                        .exclusive_start_key(keys::GSI1PK, text(partition))
                        .exclusive_start_key(keys::GSI1SK, text(at));
                }
                request
            }
        };
        let output = request
            .send()
            .await
            .map_err(crate::aws::sdk_error("Failed to query invitations."))?;
        let found = output.items.unwrap_or_default();
        let read = found.len();
        for (index, item) in found.into_iter().enumerate() {
            items.push(decode::<InvitationItem>(item, "an invitation")?);
            if items.len() == usize::from(limit) {
                // Full: it goes on after its last row, if the range has more.
                let more = index + 1 < read || output.last_evaluated_key.is_some();
                let next = if more {
                    items.last().and_then(|last| position(source, last))
                } else {
                    None
                };
                return Ok((items, next));
            }
        }
        start = output.last_evaluated_key.and_then(|key| {
            let text = |name: &str| key.get(name).and_then(|v| v.as_s().ok()).cloned();
            let at = match source {
                Source::ByTime { .. } => text(keys::LSI1SK),
                Source::ByEmail { .. } => text(keys::GSI1SK),
            };
            Some((text(keys::SK)?, at?))
        });
        if start.is_none() {
            return Ok((items, None));
        }
    }
    Ok((items, start))
}

/// Where a page that ends at `item` goes on.
fn position(source: &Source, item: &InvitationItem) -> Option<(String, String)> {
    let at = match source {
        Source::ByTime { .. } => item.lsi1sk.clone(),
        Source::ByEmail { .. } => item.gsi1sk.clone()?,
    };
    Some((keys::invitation_sk(&item.id), at))
}

/// One invitation of a customer as the list shows it: a consistent GetItem of the invitation,
/// concurrently with the admin check and the customer's roles (names). Unknown ids and ids of
/// another customer's invitations are not found; a non-admin learns neither.
pub async fn get(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    id: &InvitationId,
    now: OffsetDateTime,
) -> Result<ListedInvitation, InvitationError> {
    let (admin, item, roles) = tokio::try_join!(
        is_admin(store, customer, admin),
        find_item(store, customer, id),
        roles::list(store, customer),
    )?;
    if !admin {
        return Err(InvitationError::NotAdmin);
    }
    let invitation = Invitation::from(item.ok_or(InvitationError::NotFound)?);
    // The same window as the list (30 days after expiry, 365 after an outcome), whether or not
    // TTL removed it.
    if !invitation.is_listed(now) {
        return Err(InvitationError::NotFound);
    }
    Ok(ListedInvitation::new(invitation, &role_names(roles)))
}

fn role_names(roles: Vec<roles::Role>) -> BTreeMap<RoleId, RoleName> {
    roles.into_iter().map(|role| (role.id, role.name)).collect()
}

impl ListedInvitation {
    /// As the list and `GET .../invitations/{invitationId}` show it, at `now`.
    pub fn view(&self, now: OffsetDateTime) -> crate::invitations::InvitationView {
        crate::invitations::InvitationView::new(&self.invitation, Some(self.roles.clone()), now)
    }

    /// `invitation` as the list shows it, its roles named from `roles` (the customer's roles as
    /// read; ids not among them are left out, as deleted roles are).
    pub fn with_roles(invitation: Invitation, roles: Vec<roles::Role>) -> Self {
        Self::new(invitation, &role_names(roles))
    }

    fn new(invitation: Invitation, names: &BTreeMap<RoleId, RoleName>) -> Self {
        let roles = invitation
            .role_ids
            .iter()
            .filter_map(|id| {
                names.get(id).map(|name| RoleRef {
                    id: *id,
                    name: name.clone(),
                })
            })
            .collect();
        Self { invitation, roles }
    }
}

/// Why a list was refused.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The caller is not an admin of the customer.
    #[error("Only an admin of this customer may list its invitations.")]
    NotAdmin,
    /// A malformed cursor.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}
