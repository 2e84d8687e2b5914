//! Seats: what one email address is to one customer, as one item keyed by both, so that
//! "already a member" and "already invited" are a condition on a key the invite knows.
//! Every membership and every invitation has its seat, written in the same transaction; this
//! module owns every condition and write on seats.

use crate::domain::{CustomerNumber, Email, InvitationId, RoleId, UserId};
use crate::store::{IntoTransactionItem as _, Item, Store, item_key, keys, text, value};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The attributes expressions name.
pub(crate) mod attr {
    pub(crate) const STATUS: &str = "status";
    pub(crate) const USER_ID: &str = "userId";
    pub(crate) const ROLE_IDS: &str = "roleIds";
    pub(crate) const INVITATION_ID: &str = "invitationId";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SeatStatus {
    /// The email's account is a member, with these roles.
    Member,
    /// The email has an invitation (pending or expired).
    Invited,
}

impl SeatStatus {
    /// As stored.
    pub(crate) const fn code(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Invited => "invited",
        }
    }
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
            sk: keys::seat_sk(email),
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
            sk: keys::seat_sk(email),
            status: SeatStatus::Invited,
            user_id: None,
            role_ids: BTreeSet::new(),
            invitation_id: Some(invitation),
            joined_at: None,
        }
    }

    /// The email the seat is of.
    pub(crate) fn email(&self) -> anyhow::Result<Email> {
        keys::email_of_seat_sk(&self.sk).context("A seat's key is not an email.")
    }
}

fn key(customer: &CustomerNumber, email: &Email) -> Item {
    item_key(keys::customer(customer), keys::seat_sk(email))
}

/// Who holds a seat an invite found taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    /// A member.
    Member,
    /// An invitation (pending, expired, or deleted since).
    Invitation(InvitationId),
}

/// How an invite expects to find the invited email's seat.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expected {
    /// Free: no seat yet.
    Free,
    /// Held by an invitation that has since been deleted.
    Stale(InvitationId),
}

/// Takes the email's seat for `invitation`: only if it is as `expected` (a concurrent invite
/// wins). On failure the refusal carries the seat as it is ([`holder`]).
pub(crate) fn take_for_invitation(
    store: &Store,
    customer: &CustomerNumber,
    email: &Email,
    invitation: InvitationId,
    expected: Expected,
) -> anyhow::Result<TransactWriteItem> {
    let put = store
        .put(SeatItem::invited(customer, email, invitation))?
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    match expected {
        Expected::Free => put.condition_expression("attribute_not_exists(PK)"),
        // Taken over only if it still names the deleted invitation.
        Expected::Stale(id) => put
            .condition_expression("#status = :invited AND #invitation = :stale")
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#invitation", attr::INVITATION_ID)
            .expression_attribute_values(":invited", text(SeatStatus::Invited.code()))
            .expression_attribute_values(":stale", text(id)),
    }
    .into_item()
}

/// Who holds the seat a failed [`take_for_invitation`] found.
pub(crate) fn holder(seat: Option<&Item>) -> anyhow::Result<Holder> {
    let item = seat.cloned().context("A failed seat condition returned no item.")?;
    let seat: SeatItem = crate::store::decode(item, "a seat")?;
    match (seat.status, seat.invitation_id) {
        (SeatStatus::Member, _) => Ok(Holder::Member),
        (SeatStatus::Invited, Some(id)) => Ok(Holder::Invitation(id)),
        (SeatStatus::Invited, None) => anyhow::bail!("A seat is invited without an invitation id."),
    }
}

/// Whether a failed seat condition found a member there.
pub(crate) fn held_by_member(seat: Option<&Item>) -> bool {
    seat.cloned()
        .and_then(|item| serde_dynamo::from_item::<_, SeatItem>(item).ok())
        .is_some_and(|seat| seat.status == SeatStatus::Member)
}

/// Turns the seat `invitation` holds into `user`'s member seat with `roles`; fails unless the
/// seat is still that invitation's (carrying the seat as it is).
pub(crate) fn hand_to_member(
    store: &Store,
    customer: &CustomerNumber,
    email: &Email,
    invitation: InvitationId,
    user: UserId,
    roles: BTreeSet<RoleId>,
    now: time::OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    store
        .put(SeatItem::member(customer, email, user, roles, now))?
        .condition_expression("#status = :invited AND #invitation = :invitation")
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#invitation", attr::INVITATION_ID)
        .expression_attribute_values(":invited", text(SeatStatus::Invited.code()))
        .expression_attribute_values(":invitation", text(invitation))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .into_item()
}

/// A new member seat, where the email has none (a customer's first admin).
pub(crate) fn put_new_member(
    store: &Store,
    customer: &CustomerNumber,
    email: &Email,
    user: UserId,
    roles: BTreeSet<RoleId>,
    now: time::OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    store.put_new(SeatItem::member(customer, email, user, roles, now))
}

/// Frees `user`'s member seat (the email can be invited again).
pub(crate) fn free(
    store: &Store,
    customer: &CustomerNumber,
    email: &Email,
    user: &UserId,
) -> anyhow::Result<TransactWriteItem> {
    store
        .delete(key(customer, email))
        .condition_expression(MEMBER_IS_USER)
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#user", attr::USER_ID)
        .expression_attribute_values(":member", text(SeatStatus::Member.code()))
        .expression_attribute_values(":user", text(user))
        .into_item()
}

/// Sets the role ids of `user`'s member seat.
pub(crate) fn set_roles(
    store: &Store,
    customer: &CustomerNumber,
    email: &Email,
    user: &UserId,
    roles: &BTreeSet<RoleId>,
) -> anyhow::Result<TransactWriteItem> {
    store
        .update(key(customer, email))
        .update_expression("SET #roles = :roles")
        .condition_expression(MEMBER_IS_USER)
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#user", attr::USER_ID)
        .expression_attribute_names("#roles", attr::ROLE_IDS)
        .expression_attribute_values(":roles", value(roles)?)
        .expression_attribute_values(":member", text(SeatStatus::Member.code()))
        .expression_attribute_values(":user", text(user))
        .into_item()
}

const MEMBER_IS_USER: &str = "#status = :member AND #user = :user";

/// The customer's member seats, by email (one consistent Query of the seat prefix, all pages).
pub(crate) async fn members(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Vec<SeatItem>> {
    let query = store
        .query_prefix(keys::customer(customer), keys::SEAT_SK_PREFIX)
        .filter_expression("#status = :member")
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_values(":member", text(SeatStatus::Member.code()));
    store.query_all(query, "a customer's member seats").await
}

/// One page of a customer's member seats, by email.
pub(crate) struct SeatPage {
    /// The seats, at most the page's size.
    pub seats: Vec<SeatItem>,
    /// The sort key to go on after, when there may be more.
    pub last_sk: Option<String>,
}

/// Member seats of `customer` whose email starts with `prefix` (and that hold `role`), after
/// `start`, that `keep` keeps: Queries of the key range of `limit` seats each, until `limit`
/// are kept, the range ends, or `queries` were made.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn member_page(
    store: &Store,
    customer: &CustomerNumber,
    prefix: &str,
    role: Option<&RoleId>,
    mut start: Option<String>,
    limit: u16,
    queries: usize,
    keep: &(dyn Fn(&SeatItem) -> bool + Sync),
) -> anyhow::Result<SeatPage> {
    let pk = keys::customer(customer);
    let mut seats = Vec::new();
    for _ in 0..queries {
        let mut query = store
            .query_prefix(pk.clone(), &format!("{}{prefix}", keys::SEAT_SK_PREFIX))
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_values(":member", text(SeatStatus::Member.code()))
            .limit(i32::from(limit));
        query = match role {
            Some(role) => query
                .filter_expression("#status = :member AND contains(#roles, :role)")
                .expression_attribute_names("#roles", attr::ROLE_IDS)
                .expression_attribute_values(":role", text(role)),
            None => query.filter_expression("#status = :member"),
        };
        if let Some(sk) = &start {
            query = query
                .exclusive_start_key(keys::PK, text(&pk))
                .exclusive_start_key(keys::SK, text(sk));
        }
        let output = query
            .send()
            .await
            .map_err(crate::aws::sdk_error("Failed to query a customer's member seats."))?;
        for item in output.items.unwrap_or_default() {
            let seat: SeatItem = crate::store::decode(item, "a seat")?;
            if keep(&seat) {
                seats.push(seat);
                if seats.len() == usize::from(limit) {
                    let last = seats.last().map(|seat| seat.sk.clone());
                    return Ok(SeatPage { seats, last_sk: last });
                }
            }
        }
        start = output
            .last_evaluated_key
            .and_then(|key| key.get(keys::SK).and_then(|sk| sk.as_s().ok()).cloned());
        if start.is_none() {
            return Ok(SeatPage { seats, last_sk: None });
        }
    }
    Ok(SeatPage { seats, last_sk: start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attributes_expressions_name_are_on_the_items() {
        let customer = CustomerNumber::parse("100234").unwrap();
        let email = Email::parse("anna@example.com").unwrap();
        let member: Item = serde_dynamo::to_item(SeatItem::member(
            &customer,
            &email,
            UserId::generate(),
            [RoleId::generate()].into_iter().collect(),
            time::OffsetDateTime::UNIX_EPOCH,
        ))
        .unwrap();
        for name in [attr::STATUS, attr::USER_ID, attr::ROLE_IDS] {
            assert!(member.contains_key(name), "{name}");
        }
        let invited: Item =
            serde_dynamo::to_item(SeatItem::invited(&customer, &email, InvitationId::generate())).unwrap();
        assert!(invited.contains_key(attr::INVITATION_ID));
        for status in [SeatStatus::Member, SeatStatus::Invited] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.code());
        }
    }

    #[test]
    fn a_seat_knows_its_email() {
        let email = Email::parse("anna@example.com").unwrap();
        let seat = SeatItem::invited(
            &CustomerNumber::parse("100234").unwrap(),
            &email,
            InvitationId::generate(),
        );
        assert_eq!(seat.email().unwrap(), email);
    }
}
