//! The daily invitation quota: at most 50 invitation emails per admin per UTC day, across all
//! customers, a resend counting as one. An atomic counter per admin and day, spent inside the
//! transaction that sends, so a refused or failed request spends nothing.

use crate::domain::UserId;
use crate::store::{IntoTransactionItem as _, Item, Store, epoch_seconds, item_key, keys, number};
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem};
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
    #[serde(serialize_with = "crate::domain::timestamp::serialize")]
    pub resets_at: OffsetDateTime,
}

/// The next UTC midnight after `now`.
pub fn resets_at(now: OffsetDateTime) -> OffsetDateTime {
    let today = now.to_offset(time::UtcOffset::UTC).date();
    (today + Duration::days(1)).with_time(Time::MIDNIGHT).assume_utc()
}

/// The attributes expressions name.
mod attr {
    pub(super) const SENT: &str = "sent";
    pub(super) const TTL: &str = "ttl";
}

/// The counter of `admin`'s sends on `now`'s UTC day.
fn key(admin: &UserId, now: OffsetDateTime) -> Item {
    item_key(
        keys::quota(admin, now.to_offset(time::UtcOffset::UTC).date()),
        keys::QUOTA_SK.into(),
    )
}

#[derive(serde::Deserialize)]
struct Counter {
    #[serde(default)]
    sent: u32,
}

/// The transaction item that spends one send, failing its condition when the day's quota is used up.
pub(crate) fn spend_one(store: &Store, admin: &UserId, now: OffsetDateTime) -> anyhow::Result<TransactWriteItem> {
    store
        .update(key(admin, now))
        .update_expression("ADD #sent :one SET #ttl = :ttl")
        .condition_expression("attribute_not_exists(#sent) OR #sent < :limit")
        .expression_attribute_names("#sent", attr::SENT)
        .expression_attribute_names("#ttl", attr::TTL)
        .expression_attribute_values(":one", number(1))
        .expression_attribute_values(":limit", number(DAILY_LIMIT))
        // A day after the reset, so the counter outlives its day even if TTL runs early.
        .expression_attribute_values(":ttl", number(epoch_seconds(resets_at(now) + Duration::days(1))))
        .into_item()
}

/// The transaction item that spends `sends` at once (a batch of invitations), failing its
/// condition unless all of them fit into what is left today. On failure the refusal carries the
/// counter as it was, so [`left_in`] tells how many do fit.
pub(crate) fn spend(
    store: &Store,
    admin: &UserId,
    sends: u32,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    anyhow::ensure!(
        (1..=DAILY_LIMIT).contains(&sends),
        "A batch spends 1 to {DAILY_LIMIT} sends, not {sends}."
    );
    store
        .update(key(admin, now))
        .update_expression("ADD #sent :sends SET #ttl = :ttl")
        .condition_expression("attribute_not_exists(#sent) OR #sent <= :most")
        .expression_attribute_names("#sent", attr::SENT)
        .expression_attribute_names("#ttl", attr::TTL)
        .expression_attribute_values(":sends", number(sends))
        .expression_attribute_values(":most", number(DAILY_LIMIT - sends))
        .expression_attribute_values(":ttl", number(epoch_seconds(resets_at(now) + Duration::days(1))))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .into_item()
}

/// The sends left today by the counter a refused [`spend`] carried (none without it: a counter
/// that does not exist cannot refuse).
pub(crate) fn left_in(counter: Option<&Item>) -> u32 {
    let sent = counter
        .cloned()
        .and_then(|item| serde_dynamo::from_item::<_, Counter>(item).ok())
        .map_or(DAILY_LIMIT, |counter| counter.sent);
    DAILY_LIMIT.saturating_sub(sent)
}

/// The admin's quota today (one consistent GetItem).
pub async fn read(store: &Store, admin: &UserId, now: OffsetDateTime) -> anyhow::Result<Quota> {
    let used = store
        .get::<Counter>(key(admin, now), "an admin's quota")
        .await?
        .map_or(0, |counter| counter.sent);
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
