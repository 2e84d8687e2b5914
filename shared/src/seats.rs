//! Seats: what one email address is to one customer, as one item keyed by both, so that
//! "already a member" and "already invited" are a condition on a key the invite knows.
//! Every membership and every invitation has its seat, written in the same transaction.

use crate::domain::{CustomerNumber, Email, InvitationId, RoleId, UserId};
use crate::store::keys;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SeatStatus {
    /// The email's account is a member, with these roles.
    Member,
    /// The email has an invitation (pending or expired).
    Invited,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SeatItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub status: SeatStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub role_ids: BTreeSet<RoleId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<InvitationId>,
    /// When a member joined.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub joined_at: Option<time::OffsetDateTime>,
}

impl SeatItem {
    pub(crate) fn member(
        customer: &CustomerNumber,
        email: &Email,
        user: UserId,
        roles: BTreeSet<RoleId>,
        joined_at: time::OffsetDateTime,
    ) -> Self {
        Self {
            pk: keys::customer(customer),
            sk: keys::claimed_email_sk(email),
            status: SeatStatus::Member,
            user_id: Some(user),
            role_ids: roles,
            invitation_id: None,
            joined_at: Some(joined_at),
        }
    }

    pub(crate) fn invited(customer: &CustomerNumber, email: &Email, invitation: InvitationId) -> Self {
        Self {
            pk: keys::customer(customer),
            sk: keys::claimed_email_sk(email),
            status: SeatStatus::Invited,
            user_id: None,
            role_ids: BTreeSet::new(),
            invitation_id: Some(invitation),
            joined_at: None,
        }
    }
}
