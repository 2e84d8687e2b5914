//! The invitations table: a customer's invitations by status, page by page, and one invitation.

use crate::domain::{CustomerNumber, InvalidValue, InvitationId, RoleId, RoleName, UserId};
use crate::invitations::{Invitation, InvitationError, InvitationItem, LISTED_AFTER_EXPIRY, find_item};
use crate::memberships::{RoleRef, is_admin};
use crate::roles;
use crate::store::{Store, decode, keys};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// Which invitations to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Pending and expired.
    All,
    /// Links still valid.
    Pending,
    /// Links expired in the last 30 days.
    Expired,
}

impl StatusFilter {
    /// Parses `pending`, `expired` or `all`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "all" => Ok(Self::All),
            "pending" => Ok(Self::Pending),
            "expired" => Ok(Self::Expired),
            other => Err(InvalidValue {
                code: "invalid-status-filter",
                reason: format!("`{other}` is not a status to filter by (pending, expired, all)."),
            }),
        }
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

/// One page of the list, newest send first.
#[derive(Debug, Clone)]
pub struct Page {
    /// The invitations.
    pub invitations: Vec<ListedInvitation>,
    /// Opaque; present when there may be more.
    pub next_cursor: Option<String>,
}

/// Largest page.
pub const MAX_PAGE_SIZE: u16 = 100;

#[derive(Serialize, Deserialize)]
struct Cursor {
    sk: String,
    lsi: String,
}

fn invalid_cursor() -> InvalidValue {
    InvalidValue {
        code: "invalid-cursor",
        reason: "The cursor is not one this list issued.".into(),
    }
}

fn encode_cursor(key: &HashMap<String, AttributeValue>) -> Option<String> {
    let text = |name: &str| key.get(name).and_then(|v| v.as_s().ok()).cloned();
    let cursor = Cursor {
        sk: text(keys::SK)?,
        lsi: text(keys::LSI1SK)?,
    };
    Some(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).ok()?))
}

fn decode_cursor(raw: &str) -> Result<Cursor, InvalidValue> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid_cursor())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    let prefix = keys::INVITATION_SK_PREFIX;
    if !cursor.sk.starts_with(prefix)
        || !cursor.lsi.starts_with(prefix)
        || cursor.lsi.len() > 100
        || cursor.sk.len() > 100
    {
        return Err(invalid_cursor());
    }
    Ok(cursor)
}

/// A page of a customer's invitations, newest send first (latest expiry first), filtered by
/// status through the key range of LSI1: one Query per page, no filter expression, so a page
/// costs the same at 100 and at 100,000 invitations. The admin check and the role names are
/// read at the same time.
pub async fn list(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    filter: StatusFilter,
    cursor: Option<&str>,
    page_size: u16,
    now: OffsetDateTime,
) -> Result<Page, ListError> {
    let cursor = cursor.map(decode_cursor).transpose()?;
    // Pending: expiry after now. Expired: expiry within the last 30 days, up to now. The upper
    // bound "…#~" sorts after every id at that millisecond.
    let now_prefix = keys::invitation_lsi1_prefix(now);
    let (low, high) = match filter {
        StatusFilter::All => (
            keys::invitation_lsi1_prefix(now - LISTED_AFTER_EXPIRY),
            "INVITATION#~".to_owned(),
        ),
        StatusFilter::Pending => (format!("{now_prefix}~"), "INVITATION#~".to_owned()),
        StatusFilter::Expired => (
            keys::invitation_lsi1_prefix(now - LISTED_AFTER_EXPIRY),
            format!("{now_prefix}~"),
        ),
    };
    if let Some(cursor) = &cursor {
        if cursor.lsi > high {
            return Err(invalid_cursor().into());
        }
        if cursor.lsi < low {
            // Time moved past the rest of this list since the last page.
            return Ok(Page {
                invitations: Vec::new(),
                next_cursor: None,
            });
        }
    }
    let pk = keys::customer(customer);
    let mut query = store
        .query()
        .index_name(keys::LSI1)
        .key_condition_expression("PK = :pk AND LSI1SK BETWEEN :low AND :high")
        .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
        .expression_attribute_values(":low", AttributeValue::S(low))
        .expression_attribute_values(":high", AttributeValue::S(high))
        .scan_index_forward(false)
        .limit(i32::from(page_size.clamp(1, MAX_PAGE_SIZE)));
    if let Some(cursor) = cursor {
        query = query
            .exclusive_start_key(keys::PK, AttributeValue::S(pk))
            .exclusive_start_key(keys::SK, AttributeValue::S(cursor.sk))
            .exclusive_start_key(keys::LSI1SK, AttributeValue::S(cursor.lsi));
    }
    let (admin, page, roles) = tokio::try_join!(
        is_admin(store, customer, admin),
        async {
            query
                .send()
                .await
                .map_err(crate::aws::sdk_error("Failed to query invitations."))
        },
        roles::list(store, customer),
    )?;
    if !admin {
        return Err(ListError::NotAdmin);
    }
    let names = role_names(roles);
    let invitations = page
        .items()
        .iter()
        .map(|item| {
            let item: InvitationItem = decode(item.clone(), "an invitation")?;
            Ok(ListedInvitation::new(Invitation::from(item), &names))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let next_cursor = page.last_evaluated_key().and_then(encode_cursor);
    Ok(Page {
        invitations,
        next_cursor,
    })
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
    // Listed for 30 days after expiry: the same window as the list, whether or not TTL removed it.
    if now > invitation.expires_at + LISTED_AFTER_EXPIRY {
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
