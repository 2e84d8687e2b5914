//! Email deliveries: at most one email per event key and recipient, although EventBridge
//! delivers at least once and the stream may republish. Before sending, the mailer claims the
//! delivery with a conditional put; after sending it marks it sent; if sending fails it releases
//! the claim, so a retry sends. A claim whose holder crashed lapses after [`CLAIM_FOR`].

use crate::store::{Store, epoch_seconds, keys};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use time::{Duration, OffsetDateTime};

/// How long a claim holds before another delivery attempt may take it over.
pub const CLAIM_FOR: Duration = Duration::minutes(5);
/// How long a delivery is remembered: longer than any redelivery or stream replay.
pub const REMEMBERED_FOR: Duration = Duration::days(14);

/// The outcome of claiming a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This attempt sends.
    Claimed,
    /// Sent before: do nothing.
    AlreadySent,
    /// Another attempt is sending right now: retry later.
    InProgress,
}

/// The attributes expressions name, and the states a delivery is in.
mod attr {
    pub(super) const STATUS: &str = "status";
    pub(super) const CLAIMED_UNTIL: &str = "claimedUntil";
    pub(super) const TTL: &str = "ttl";
    pub(super) const SENDING: &str = "sending";
    pub(super) const SENT: &str = "sent";
}

fn key(event_key: &str, recipient: &crate::domain::Email) -> String {
    keys::delivery(event_key, recipient)
}

/// Claims the delivery of `event_key` to `recipient`.
#[tracing::instrument(name = "Claiming a delivery", skip_all, fields(event = %event_key))]
pub async fn claim(
    store: &Store,
    event_key: &str,
    recipient: &crate::domain::Email,
    now: OffsetDateTime,
) -> anyhow::Result<Claim> {
    let result = store
        .client
        .put_item()
        .table_name(&store.tables.data)
        .item(keys::PK, AttributeValue::S(key(event_key, recipient)))
        .item(keys::SK, AttributeValue::S(keys::DELIVERY_SK.into()))
        .item(attr::STATUS, AttributeValue::S(attr::SENDING.into()))
        .item(
            attr::CLAIMED_UNTIL,
            AttributeValue::N(epoch_seconds(now + CLAIM_FOR).to_string()),
        )
        .item(
            attr::TTL,
            AttributeValue::N(epoch_seconds(now + REMEMBERED_FOR).to_string()),
        )
        .condition_expression("attribute_not_exists(PK) OR (#status = :sending AND #claimed < :now)")
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#claimed", attr::CLAIMED_UNTIL)
        .expression_attribute_values(":sending", AttributeValue::S(attr::SENDING.into()))
        .expression_attribute_values(":now", AttributeValue::N(epoch_seconds(now).to_string()))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(_) => Ok(Claim::Claimed),
        Err(error) => {
            let Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(failed)) =
                error.as_service_error()
            else {
                return Err(crate::aws::sdk_error("Failed to claim an email delivery.")(error));
            };
            let sent = failed
                .item()
                .and_then(|item| item.get(attr::STATUS))
                .and_then(|status| status.as_s().ok())
                .is_some_and(|status| status == attr::SENT);
            Ok(if sent { Claim::AlreadySent } else { Claim::InProgress })
        }
    }
}

/// Records that the email went out.
pub async fn mark_sent(store: &Store, event_key: &str, recipient: &crate::domain::Email) -> anyhow::Result<()> {
    store
        .client
        .update_item()
        .table_name(&store.tables.data)
        .key(keys::PK, AttributeValue::S(key(event_key, recipient)))
        .key(keys::SK, AttributeValue::S(keys::DELIVERY_SK.into()))
        .update_expression("SET #status = :sent REMOVE #claimed")
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_names("#claimed", attr::CLAIMED_UNTIL)
        .expression_attribute_values(":sent", AttributeValue::S(attr::SENT.into()))
        .send()
        .await
        .map_err(crate::aws::sdk_error("Failed to record a sent email."))?;
    Ok(())
}

/// Gives a claim up after a failed send, so that the retry sends.
pub async fn release(store: &Store, event_key: &str, recipient: &crate::domain::Email) -> anyhow::Result<()> {
    store
        .client
        .delete_item()
        .table_name(&store.tables.data)
        .key(keys::PK, AttributeValue::S(key(event_key, recipient)))
        .key(keys::SK, AttributeValue::S(keys::DELIVERY_SK.into()))
        .condition_expression("#status = :sending")
        .expression_attribute_names("#status", attr::STATUS)
        .expression_attribute_values(":sending", AttributeValue::S(attr::SENDING.into()))
        .send()
        .await
        .map(drop)
        .or_else(|error| {
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception())
            {
                Ok(())
            } else {
                Err(crate::aws::sdk_error("Failed to release an email delivery.")(error))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Email;
    use crate::testing::{a_tuesday_morning, fresh_store};

    #[tokio::test]
    async fn a_delivery_is_claimed_once_and_sent_once() {
        let store = fresh_store().await;
        let now = a_tuesday_morning();
        let anna = Email::parse("anna@example.com").unwrap();
        assert_eq!(claim(&store, "user#1", &anna, now).await.unwrap(), Claim::Claimed);
        assert_eq!(claim(&store, "user#1", &anna, now).await.unwrap(), Claim::InProgress);
        mark_sent(&store, "user#1", &anna).await.unwrap();
        assert_eq!(claim(&store, "user#1", &anna, now).await.unwrap(), Claim::AlreadySent);
        // Long after, still sent: a stale claim may lapse, a sent email never does.
        let later = now + CLAIM_FOR * 10;
        assert_eq!(claim(&store, "user#1", &anna, later).await.unwrap(), Claim::AlreadySent);
        // Another recipient of the same event is another delivery.
        let ben = Email::parse("ben@example.com").unwrap();
        assert_eq!(claim(&store, "user#1", &ben, now).await.unwrap(), Claim::Claimed);
    }

    #[tokio::test]
    async fn a_failed_send_releases_its_claim_and_a_crashed_one_lapses() {
        let store = fresh_store().await;
        let now = a_tuesday_morning();
        let anna = Email::parse("anna@example.com").unwrap();
        assert_eq!(claim(&store, "left#1", &anna, now).await.unwrap(), Claim::Claimed);
        release(&store, "left#1", &anna).await.unwrap();
        assert_eq!(claim(&store, "left#1", &anna, now).await.unwrap(), Claim::Claimed);
        // The holder crashed without releasing: another attempt may take over once it lapsed.
        assert_eq!(
            claim(&store, "left#1", &anna, now + CLAIM_FOR - Duration::seconds(1))
                .await
                .unwrap(),
            Claim::InProgress
        );
        assert_eq!(
            claim(&store, "left#1", &anna, now + CLAIM_FOR + Duration::seconds(1))
                .await
                .unwrap(),
            Claim::Claimed
        );
        // Releasing a sent delivery changes nothing.
        mark_sent(&store, "left#1", &anna).await.unwrap();
        release(&store, "left#1", &anna).await.unwrap();
        assert_eq!(claim(&store, "left#1", &anna, now).await.unwrap(), Claim::AlreadySent);
    }
}
