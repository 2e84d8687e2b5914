//! The daily invitation quota: at most 50 invitation emails per admin per UTC day, across all
//! customers, a resend counting as one. An atomic counter per admin and day, spent inside the
//! transaction that sends, so a refused or failed request spends nothing.

use crate::domain::UserId;
use crate::store::transactions::built;
use crate::store::{Store, epoch_seconds, keys};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use serde::Serialize;
use time::{Duration, OffsetDateTime, Time};

/// Invitation emails one admin may send per UTC day.
pub const DAILY_LIMIT: u32 = 50;

/// An admin's quota today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    /// Sends allowed per day.
    pub limit: u32,
    /// Sends so far today.
    pub used: u32,
    /// Sends left today.
    pub remaining: u32,
    /// The next UTC midnight.
    #[serde(serialize_with = "crate::http::timestamp::serialize")]
    pub resets_at: OffsetDateTime,
}

/// The next UTC midnight after `now`.
pub fn resets_at(now: OffsetDateTime) -> OffsetDateTime {
    let today = now.to_offset(time::UtcOffset::UTC).date();
    (today + Duration::days(1)).with_time(Time::MIDNIGHT).assume_utc()
}

fn key(admin: &UserId, now: OffsetDateTime) -> String {
    keys::quota(admin, now.to_offset(time::UtcOffset::UTC).date())
}

/// The transaction item that spends one send, failing its condition when the day's quota is used up.
pub(crate) fn spend_one(store: &Store, admin: &UserId, now: OffsetDateTime) -> anyhow::Result<TransactWriteItem> {
    let update = built(
        Update::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(key(admin, now)))
            .key(keys::SK, AttributeValue::S(keys::QUOTA_SK.into()))
            .update_expression("ADD #sent :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#sent) OR #sent < :limit")
            .expression_attribute_names("#sent", "sent")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":limit", AttributeValue::N(DAILY_LIMIT.to_string()))
            // A day after the reset, so the counter outlives its day even if TTL runs early.
            .expression_attribute_values(
                ":ttl",
                AttributeValue::N(epoch_seconds(resets_at(now) + Duration::days(1)).to_string()),
            )
            .build(),
    )?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The admin's quota today (one consistent GetItem).
pub async fn read(store: &Store, admin: &UserId, now: OffsetDateTime) -> anyhow::Result<Quota> {
    let output = store
        .client
        .get_item()
        .table_name(&store.tables.data)
        .key(keys::PK, AttributeValue::S(key(admin, now)))
        .key(keys::SK, AttributeValue::S(keys::QUOTA_SK.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(crate::aws::sdk_error("Failed to read an admin's quota."))?;
    let used = output
        .item
        .and_then(|item| {
            item.get("sent")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u32>().ok())
        })
        .unwrap_or(0);
    Ok(Quota {
        limit: DAILY_LIMIT,
        used,
        remaining: DAILY_LIMIT.saturating_sub(used),
        resets_at: resets_at(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_quota_resets_at_the_next_utc_midnight() {
        assert_eq!(
            resets_at(datetime!(2026-11-24 09:30 UTC)),
            datetime!(2026-11-25 00:00 UTC)
        );
        assert_eq!(
            resets_at(datetime!(2026-11-24 23:59:59 UTC)),
            datetime!(2026-11-25 00:00 UTC)
        );
        assert_eq!(
            resets_at(datetime!(2026-11-25 00:00 UTC)),
            datetime!(2026-11-26 00:00 UTC)
        );
        // A local time is judged by its UTC day.
        assert_eq!(
            resets_at(datetime!(2026-11-25 00:30 +01:00)),
            datetime!(2026-11-25 00:00 UTC)
        );
    }
}
