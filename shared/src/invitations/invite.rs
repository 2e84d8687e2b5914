use super::{
    Invitation, InvitationError, InvitationItem, LINK_LIFETIME, failed_roles, find, put_link, quota_exhausted,
    role_check,
};
use crate::domain::{CustomerNumber, Email, InvitationId, Language, RoleId};
use crate::http::Caller;
use crate::links::{LinkKey, StoredLink};
use crate::memberships::admin_check;
use crate::quota;
use crate::seats::{SeatItem, SeatStatus};
use crate::store::transactions::{Reason, TransactionError, built, transact};
use crate::store::{Store, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// What an admin asks for.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The customer to grant access to.
    pub customer: CustomerNumber,
    /// Whom to invite.
    pub email: Email,
    /// The roles to grant (may be none: restricted access until an admin assigns some).
    pub role_ids: BTreeSet<RoleId>,
    /// The email's language, if the admin chooses one.
    pub language: Option<Language>,
}

/// How the seat of the invited email may be taken.
enum SeatExpectation {
    /// Free: no seat yet.
    Free,
    /// Held by an invitation that has since been deleted.
    Stale(InvitationId),
}

/// Invites an email to a customer in one transaction: the admin's daily counter, the admin
/// check, a check per role, the seat (not a member, not invited), the invitation and its link.
///
/// An email whose earlier invitation was deleted is invited afresh; one whose invitation has
/// expired gets that invitation sent again with the new roles (one invitation per email and
/// customer, so the list never shows two).
#[tracing::instrument(name = "Inviting a user", skip_all, fields(customer = %new.customer, admin = %admin.user_id))]
pub async fn invite(
    store: &Store,
    key: &LinkKey,
    admin: &Caller,
    new: NewInvitation,
    now: OffsetDateTime,
) -> Result<Invitation, InvitationError> {
    let mut seat = SeatExpectation::Free;
    // At most: a stale seat found, then a conflict with a concurrent invite; more is contention.
    for _ in 0..3 {
        let id = InvitationId::generate();
        let invitation = Invitation {
            id,
            customer_number: new.customer.clone(),
            email: new.email.clone(),
            role_ids: new.role_ids.clone(),
            invited_by: admin.user_id,
            invited_by_email: admin.email.clone(),
            first_invited_by: admin.user_id,
            first_invited_by_email: admin.email.clone(),
            language: new.language,
            created_at: now,
            last_sent_at: now,
            send_count: 1,
            expires_at: now + LINK_LIFETIME,
            link: StoredLink::new(key, &id),
        };
        let roles: Vec<RoleId> = new.role_ids.iter().copied().collect();
        let mut items = vec![
            quota::spend_one(store, &admin.user_id, now)?,
            admin_check(store, &new.customer, &admin.user_id)?,
        ];
        for role in &roles {
            items.push(role_check(store, &new.customer, role, now)?);
        }
        let seat_index = items.len();
        items.push(take_seat(store, &invitation, &seat)?);
        items.push(put_invitation(store, &invitation)?);
        items.push(put_link(store, &invitation)?);

        let reasons = match transact(store, items, "create an invitation").await {
            Ok(()) => {
                tracing::info!(invitation = %invitation.id, "invitation created");
                return Ok(invitation);
            }
            Err(TransactionError::Cancelled(reasons)) => reasons,
            Err(TransactionError::Contention) => return Err(InvitationError::Busy),
            Err(TransactionError::Other(error)) => return Err(error.into()),
        };
        // Refusals in order of precedence: a non-admin learns nothing about roles or emails.
        if reasons[1].condition_failed() {
            return Err(InvitationError::NotAdmin);
        }
        if let Some(error) = failed_roles(&roles, &reasons[2..seat_index]) {
            return Err(error);
        }
        if reasons[seat_index].condition_failed() {
            match seat_holder(&reasons[seat_index])? {
                (SeatStatus::Member, _) => return Err(InvitationError::AlreadyMember),
                (SeatStatus::Invited, Some(held_by)) => match find(store, &new.customer, &held_by).await? {
                    None => seat = SeatExpectation::Stale(held_by),
                    Some(existing) if existing.status(now) == super::InvitationStatus::Pending => {
                        return Err(InvitationError::AlreadyInvited(existing.id));
                    }
                    Some(expired) => return reinvite(store, key, admin, expired, &new, now).await,
                },
                (SeatStatus::Invited, None) => {
                    return Err(anyhow::anyhow!("A seat is invited without an invitation id.").into());
                }
            }
            continue;
        }
        if reasons[0].condition_failed() {
            return Err(quota_exhausted(now));
        }
        return Err(anyhow::anyhow!("An invitation's transaction was cancelled: {reasons:?}").into());
    }
    Err(InvitationError::Busy)
}

fn seat_holder(reason: &Reason) -> anyhow::Result<(SeatStatus, Option<InvitationId>)> {
    let item = reason
        .item
        .clone()
        .context("A failed seat condition returned no item.")?;
    let seat: SeatItem = serde_dynamo::from_item(item).context("A stored seat is malformed.")?;
    Ok((seat.status, seat.invitation_id))
}

fn take_seat(store: &Store, invitation: &Invitation, expected: &SeatExpectation) -> anyhow::Result<TransactWriteItem> {
    let seat = SeatItem::invited(&invitation.customer_number, &invitation.email, invitation.id);
    let mut put = Put::builder()
        .table_name(&store.tables.data)
        .set_item(Some(serde_dynamo::to_item(seat)?))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    put = match expected {
        SeatExpectation::Free => put.condition_expression("attribute_not_exists(PK)"),
        // Taken over only if it still names the deleted invitation: a concurrent invite wins.
        SeatExpectation::Stale(id) => put
            .condition_expression("#status = :invited AND invitationId = :stale")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":invited", AttributeValue::S("invited".into()))
            .expression_attribute_values(":stale", AttributeValue::S(id.to_string())),
    };
    Ok(TransactWriteItem::builder().put(built(put.build())?).build())
}

fn put_invitation(store: &Store, invitation: &Invitation) -> anyhow::Result<TransactWriteItem> {
    let put = built(
        Put::builder()
            .table_name(&store.tables.data)
            .set_item(Some(serde_dynamo::to_item(InvitationItem::new(invitation))?))
            .condition_expression("attribute_not_exists(PK)")
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Sends an expired invitation again, with the roles and sender of the new request; who first
/// invited stays.
async fn reinvite(
    store: &Store,
    key: &LinkKey,
    admin: &Caller,
    expired: Invitation,
    new: &NewInvitation,
    now: OffsetDateTime,
) -> Result<Invitation, InvitationError> {
    let previous_hash = expired.link.hash.clone();
    let invitation = Invitation {
        role_ids: new.role_ids.clone(),
        invited_by: admin.user_id,
        invited_by_email: admin.email.clone(),
        language: new.language,
        last_sent_at: now,
        send_count: expired.send_count + 1,
        expires_at: now + LINK_LIFETIME,
        link: StoredLink::new(key, &expired.id),
        ..expired
    };
    let item = InvitationItem::new(&invitation);
    let roles: Vec<RoleId> = new.role_ids.iter().copied().collect();
    let mut items = vec![
        quota::spend_one(store, &admin.user_id, now)?,
        admin_check(store, &new.customer, &admin.user_id)?,
    ];
    for role in &roles {
        items.push(role_check(store, &new.customer, role, now)?);
    }
    let mut assignments = vec![
        "roleIds = :roles",
        "invitedBy = :by",
        "invitedByEmail = :byEmail",
        "firstInvitedBy = :firstBy",
        "firstInvitedByEmail = :firstByEmail",
        "lastSentAt = :sent",
        "expiresAt = :expires",
        "LSI1SK = :lsi",
        "linkKeyId = :key",
        "linkNonce = :nonce",
        "linkHash = :hash",
        "#ttl = :ttl",
        "sendCount = :count",
    ];
    let mut values = vec![
        (
            ":roles",
            serde_dynamo::to_attribute_value(&item.role_ids).map_err(anyhow::Error::from)?,
        ),
        (":by", AttributeValue::S(item.invited_by.to_string())),
        (":byEmail", AttributeValue::S(item.invited_by_email.to_string())),
        (":firstBy", AttributeValue::S(invitation.first_invited_by.to_string())),
        (
            ":firstByEmail",
            AttributeValue::S(invitation.first_invited_by_email.to_string()),
        ),
        (":sent", AttributeValue::S(time_text(now)?)),
        (":expires", AttributeValue::S(time_text(invitation.expires_at)?)),
        (":lsi", AttributeValue::S(item.lsi1sk.clone())),
        (":key", AttributeValue::S(item.link_key_id.to_string())),
        (":nonce", AttributeValue::S(item.link_nonce.clone())),
        (":hash", AttributeValue::S(item.link_hash.clone())),
        (":ttl", AttributeValue::N(item.ttl.to_string())),
        (":count", AttributeValue::N(invitation.send_count.to_string())),
        (":previous", AttributeValue::S(previous_hash.as_str().to_owned())),
    ];
    // The new request's language replaces the old one, including "none".
    let remove_language = match new.language {
        Some(language) => {
            assignments.push("#language = :language");
            values.push((":language", AttributeValue::S(language.code().into())));
            ""
        }
        None => " REMOVE #language",
    };
    let update = built(
        Update::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(item.pk.clone()))
            .key(keys::SK, AttributeValue::S(item.sk.clone()))
            .update_expression(format!("SET {}{remove_language}", assignments.join(", ")))
            // Still the invitation that was read: a concurrent resend or re-invite wins.
            .condition_expression("attribute_exists(PK) AND linkHash = :previous")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_names("#language", "language")
            .set_expression_attribute_values(Some(values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
            .build(),
    )?;
    let invitation_index = items.len();
    items.push(TransactWriteItem::builder().update(update).build());
    items.push(put_link(store, &invitation)?);
    match transact(store, items, "send an expired invitation again").await {
        Ok(()) => Ok(invitation),
        Err(TransactionError::Cancelled(reasons)) => {
            if reasons[1].condition_failed() {
                Err(InvitationError::NotAdmin)
            } else if let Some(error) = failed_roles(&roles, &reasons[2..invitation_index]) {
                Err(error)
            } else if reasons[invitation_index].condition_failed() {
                // Resent, deleted or re-invited meanwhile: the caller may simply try again.
                Err(InvitationError::Busy)
            } else if reasons[0].condition_failed() {
                Err(quota_exhausted(now))
            } else {
                Err(anyhow::anyhow!("A re-invitation's transaction was cancelled: {reasons:?}").into())
            }
        }
        Err(TransactionError::Contention) => Err(InvitationError::Busy),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}

pub(super) fn time_text(at: OffsetDateTime) -> anyhow::Result<String> {
    at.format(&time::format_description::well_known::Rfc3339)
        .context("Failed to format a time.")
}
