use super::invite::time_text;
use super::{InvitationError, LINK_LIFETIME, LISTED_AFTER_EXPIRY, LinkItem, quota_exhausted};
use crate::domain::{CustomerNumber, InvitationId};
use crate::http::Caller;
use crate::links::{LinkKey, StoredLink};
use crate::memberships::admin_check;
use crate::quota;
use crate::store::transactions::{TransactionError, built, transact};
use crate::store::{Store, epoch_seconds, keys};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use time::OffsetDateTime;

/// What a resend changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resent {
    /// The invitation.
    pub id: InvitationId,
    /// Now.
    pub last_sent_at: OffsetDateTime,
    /// 24 hours from now.
    pub expires_at: OffsetDateTime,
}

/// Sends an invitation again with a new link valid for 24 hours; every earlier link dies at
/// once. Counts toward the admin's quota. One transaction: the counter, the admin check, the
/// invitation's new link and sender, and the link item. The resending admin becomes the
/// invitation's sender (its email names them); who first invited is kept.
#[tracing::instrument(name = "Resending an invitation", skip_all, fields(customer = %customer, invitation = %id))]
pub async fn resend(
    store: &Store,
    key: &LinkKey,
    admin: &Caller,
    customer: &CustomerNumber,
    id: &InvitationId,
    now: OffsetDateTime,
) -> Result<Resent, InvitationError> {
    let link = StoredLink::new(key, id);
    let expires_at = now + LINK_LIFETIME;
    let update = built(
        Update::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(keys::customer(customer)))
            .key(keys::SK, AttributeValue::S(keys::invitation_sk(id)))
            // An invitation stored before the first inviter was kept has it only in invitedBy;
            // right-hand sides read the item as it was before this update.
            .update_expression(
                "SET lastSentAt = :sent, expiresAt = :expires, LSI1SK = :lsi, linkKeyId = :key, \
                 linkNonce = :nonce, linkHash = :hash, #ttl = :ttl, \
                 firstInvitedBy = if_not_exists(firstInvitedBy, invitedBy), \
                 firstInvitedByEmail = if_not_exists(firstInvitedByEmail, invitedByEmail), \
                 invitedBy = :by, invitedByEmail = :byEmail ADD sendCount :one",
            )
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":sent", AttributeValue::S(time_text(now)?))
            .expression_attribute_values(":expires", AttributeValue::S(time_text(expires_at)?))
            .expression_attribute_values(":lsi", AttributeValue::S(keys::invitation_lsi1sk(expires_at, id)))
            .expression_attribute_values(":key", AttributeValue::S(link.key_id.to_string()))
            .expression_attribute_values(":nonce", AttributeValue::S(link.nonce.as_str().to_owned()))
            .expression_attribute_values(":hash", AttributeValue::S(link.hash.as_str().to_owned()))
            .expression_attribute_values(
                ":ttl",
                AttributeValue::N(epoch_seconds(expires_at + LISTED_AFTER_EXPIRY).to_string()),
            )
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":by", AttributeValue::S(admin.user_id.to_string()))
            .expression_attribute_values(":byEmail", AttributeValue::S(admin.email.to_string()))
            .build(),
    )?;
    let link = LinkItem::new(&link.hash, customer, *id, expires_at);
    let put_link = built(
        Put::builder()
            .table_name(&store.tables.data)
            .set_item(Some(serde_dynamo::to_item(link).map_err(anyhow::Error::from)?))
            .condition_expression("attribute_not_exists(PK)")
            .build(),
    )?;
    let items = vec![
        quota::spend_one(store, &admin.user_id, now)?,
        admin_check(store, customer, &admin.user_id)?,
        TransactWriteItem::builder().update(update).build(),
        TransactWriteItem::builder().put(put_link).build(),
    ];
    match transact(store, items, "resend an invitation").await {
        Ok(()) => Ok(Resent {
            id: *id,
            last_sent_at: now,
            expires_at,
        }),
        Err(TransactionError::Cancelled(reasons)) => {
            if reasons[1].condition_failed() {
                Err(InvitationError::NotAdmin)
            } else if reasons[2].condition_failed() {
                Err(InvitationError::NotFound)
            } else if reasons[0].condition_failed() {
                Err(quota_exhausted(now))
            } else {
                Err(anyhow::anyhow!("A resend's transaction was cancelled: {reasons:?}").into())
            }
        }
        Err(TransactionError::Contention) => Err(InvitationError::Busy),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}
