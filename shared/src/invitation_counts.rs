//! How many of a customer's invitations are pending and expired, read without counting them.
//!
//! An open invitation's count lives in its expiry minute: one counter item per customer and
//! expiry hour (`CUSTOMER#{number}` / `OPENCOUNT#{hour}`) holds `n` and one attribute per minute
//! (`m00` to `m59`). The [recorder](crate::recorder) keeps them from the data table's stream: a
//! record whose old image is an open invitation takes one off its expiry minute, one whose new
//! image is open adds one to its minute (a resend moves it, an outcome or a removal takes it
//! off). No request path writes them, so invite, resend, delete, accept and decline keep their
//! round trips; the counters follow the writes within the stream's delay (the README's
//! "Invitation counts").
//!
//! The clock makes an invitation expired, and 30 days later unlisted, with no write: that is why
//! the counters are by expiry time. [`read`] sums the minutes wholly after now as pending, those
//! wholly between now and 30 days ago as expired, and reads the invitations of the two minutes
//! the bounds fall in (the current one and the one 30 days ago) from LSI1 itself: one Query of
//! the counter items and two Queries of one minute's key range each, at once. Their cost grows
//! with the hours in which invitations expire (at most 31 days' worth of counter items, ~0.4 KB
//! each), not with the invitations.

use crate::domain::CustomerNumber;
use crate::invitations::LISTED_AFTER_EXPIRY;
use crate::store::{Item, Store, keys};
use crate::stream::Change;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::Deserialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Counter items' sort keys: `OPENCOUNT#{the hour's start, epoch milliseconds, 15 digits}`.
pub(crate) const SK_PREFIX: &str = "OPENCOUNT#";
/// The open invitations of the hour.
const TOTAL: &str = "n";
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;
/// A counter item outlives the last day its hour can be listed (30 days after expiry).
const KEPT: time::Duration = time::Duration::days(32);

/// How many of the customer's invitations are pending and expired (listed) now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Links still valid.
    pub pending: u32,
    /// Links expired in the last 30 days.
    pub expired: u32,
}

/// One hour's counter item of one customer: its partition key and the hour's start (ms).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hour {
    pk: String,
    start_ms: i64,
}

/// What a change does to the counters: per hour, per minute (0 to 59), a number to add.
pub(crate) type Deltas = BTreeMap<Hour, BTreeMap<u8, i64>>;

/// The fields of a changed item that counting needs; every kind of item passes through.
#[derive(Deserialize)]
struct Image {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "LSI1SK", default)]
    lsi1sk: Option<String>,
}

/// The expiry (ms) of an image that is an open invitation, with its partition.
fn open_invitation(item: Option<&serde_dynamo::Item>) -> anyhow::Result<Option<(String, i64)>> {
    use anyhow::Context as _;
    let Some(item) = item.filter(|item| !item.is_empty()) else {
        return Ok(None);
    };
    let image: Image = serde_dynamo::from_item(item.clone()).context("A changed item is malformed.")?;
    if !image.sk.starts_with(keys::INVITATION_SK_PREFIX) {
        return Ok(None);
    }
    // Open invitations sort by expiry in LSI1 (`INVITATION#{ms}#{id}`); kept outcomes do not.
    let Some(expiry) = image.lsi1sk.as_deref().and_then(open_expiry) else {
        return Ok(None);
    };
    Ok(Some((image.pk, expiry)))
}

/// The expiry (ms) an open invitation's LSI1SK names; `None` for any other LSI1SK.
fn open_expiry(lsi1sk: &str) -> Option<i64> {
    let rest = lsi1sk.strip_prefix(keys::INVITATION_SK_PREFIX)?;
    let (millis, _) = rest.split_once('#')?;
    (millis.len() == 15).then_some(())?;
    millis.parse().ok()
}

/// Adds what `change` does to the counters to `deltas`: the old image's open invitation leaves
/// its minute, the new image's enters its own (nothing when both are the same minute).
pub(crate) fn add_deltas(change: &Change, deltas: &mut Deltas) -> anyhow::Result<()> {
    let old = open_invitation(change.old.as_ref())?;
    let new = open_invitation(change.new.as_ref())?;
    if old == new {
        return Ok(());
    }
    for ((pk, expiry), by) in old.into_iter().map(|o| (o, -1)).chain(new.into_iter().map(|n| (n, 1))) {
        let start_ms = expiry.div_euclid(HOUR_MS) * HOUR_MS;
        let minute = u8::try_from((expiry - start_ms) / MINUTE_MS).unwrap_or_default();
        let minutes = deltas.entry(Hour { pk, start_ms }).or_default();
        *minutes.entry(minute).or_default() += by;
        if minutes.get(&minute) == Some(&0) {
            minutes.remove(&minute);
        }
    }
    deltas.retain(|_, minutes| !minutes.is_empty());
    Ok(())
}

fn minute_attribute(minute: u8) -> String {
    format!("m{minute:02}")
}

fn hour_sk(start_ms: i64) -> String {
    format!("{SK_PREFIX}{start_ms:015}")
}

/// The transaction's update of one hour's counter item by `minutes` (created when missing).
pub(crate) fn update(store: &Store, hour: &Hour, minutes: &BTreeMap<u8, i64>) -> anyhow::Result<TransactWriteItem> {
    use crate::store::IntoTransactionItem as _;
    let mut update = store
        .update(
            [
                (keys::PK.to_owned(), AttributeValue::S(hour.pk.clone())),
                (keys::SK.to_owned(), AttributeValue::S(hour_sk(hour.start_ms))),
            ]
            .into(),
        )
        .expression_attribute_names("#n", TOTAL)
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(
            ":ttl",
            AttributeValue::N((hour.start_ms / 1000 + KEPT.whole_seconds()).to_string()),
        )
        .expression_attribute_values(":n", AttributeValue::N(minutes.values().sum::<i64>().to_string()));
    let mut adds = vec!["#n :n".to_owned()];
    for (minute, by) in minutes {
        let name = minute_attribute(*minute);
        update = update
            .expression_attribute_names(format!("#{name}"), &name)
            .expression_attribute_values(format!(":{name}"), AttributeValue::N(by.to_string()));
        adds.push(format!("#{name} :{name}"));
    }
    update
        .update_expression(format!("SET #ttl = :ttl ADD {}", adds.join(", ")))
        .into_item()
}

/// The pending and expired counts of `customer` at `now`: the counter items from the hour of
/// 30 days ago on, and the invitations of the two bounds' minutes, at once (consistent reads).
pub async fn read(store: &Store, customer: &CustomerNumber, now: OffsetDateTime) -> anyhow::Result<Counts> {
    let now_ms = millis(now);
    let listed_from_ms = millis(now - LISTED_AFTER_EXPIRY);
    let now_minute = now_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    let from_minute = listed_from_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    let from_hour = listed_from_ms.div_euclid(HOUR_MS) * HOUR_MS;
    let pk = keys::customer(customer);
    let counters = store
        .query()
        .key_condition_expression("PK = :pk AND SK BETWEEN :low AND :high")
        .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
        .expression_attribute_values(":low", AttributeValue::S(hour_sk(from_hour)))
        .expression_attribute_values(":high", AttributeValue::S(format!("{SK_PREFIX}~")));
    let (counters, current, oldest) = tokio::try_join!(
        store.query_all_items(counters, "the invitation counts"),
        expiries_in_minute(store, &pk, now_minute),
        expiries_in_minute(store, &pk, from_minute),
    )?;
    let mut counts = Counts::default();
    let mut add = |to_pending: bool, by: i64| {
        let count = if to_pending {
            &mut counts.pending
        } else {
            &mut counts.expired
        };
        *count = u32::try_from((i64::from(*count) + by).max(0)).unwrap_or(u32::MAX);
    };
    for item in &counters {
        let Some(start_ms) = item
            .get(keys::SK)
            .and_then(|sk| sk.as_s().ok())
            .and_then(|sk| sk.strip_prefix(SK_PREFIX))
            .and_then(|start| start.parse::<i64>().ok())
        else {
            continue;
        };
        for minute in 0..60u8 {
            let Some(by) = item
                .get(&minute_attribute(minute))
                .and_then(|value| value.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            let at = start_ms + i64::from(minute) * MINUTE_MS;
            // The bounds' minutes are read from the invitations themselves, below.
            if at > now_minute {
                add(true, by);
            } else if at < now_minute && at > from_minute {
                add(false, by);
            }
        }
    }
    for expiry in current {
        add(expiry > now_ms, 1);
    }
    for expiry in oldest.into_iter().filter(|expiry| *expiry >= listed_from_ms) {
        add(expiry > now_ms, 1);
    }
    Ok(counts)
}

/// The expiries of the open invitations whose expiry is in the minute starting at `minute_ms`
/// (one consistent Query of that LSI1 key range, keys only).
async fn expiries_in_minute(store: &Store, pk: &str, minute_ms: i64) -> anyhow::Result<Vec<i64>> {
    let query = store
        .query()
        .index_name(keys::LSI1)
        .key_condition_expression("PK = :pk AND LSI1SK BETWEEN :low AND :high")
        .projection_expression(keys::LSI1SK)
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
        .expression_attribute_values(":low", AttributeValue::S(format!("INVITATION#{minute_ms:015}#")))
        .expression_attribute_values(
            ":high",
            AttributeValue::S(format!("INVITATION#{:015}#~", minute_ms + MINUTE_MS - 1)),
        );
    let items: Vec<Item> = store.query_all_items(query, "the invitations of one minute").await?;
    Ok(items
        .iter()
        .filter_map(|item| item.get(keys::LSI1SK)?.as_s().ok().and_then(|sk| open_expiry(sk)))
        .collect())
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invitation(lsi1sk: &str) -> Option<serde_dynamo::Item> {
        Some(
            serde_dynamo::to_item(json!({
                "PK": "CUSTOMER#100234", "SK": "INVITATION#01KAWDEM0ADM1N000000000001", "LSI1SK": lsi1sk,
            }))
            .unwrap(),
        )
    }

    fn change(old: Option<serde_dynamo::Item>, new: Option<serde_dynamo::Item>) -> Deltas {
        let mut deltas = Deltas::new();
        add_deltas(
            &Change {
                sequence_number: "1".into(),
                old,
                new,
            },
            &mut deltas,
        )
        .unwrap();
        deltas
    }

    fn flat(deltas: &Deltas) -> Vec<(i64, u8, i64)> {
        deltas
            .iter()
            .flat_map(|(hour, minutes)| minutes.iter().map(|(m, by)| (hour.start_ms, *m, *by)))
            .collect()
    }

    const AT: &str = "INVITATION#001764612780000#01KAWDEM0ADM1N000000000001"; // 2025-12-01T18:13:00Z
    const HOUR: i64 = 1_764_612_000_000; // 18:00

    #[test]
    fn an_invite_adds_one_to_its_expiry_minute_and_an_outcome_or_removal_takes_it_off() {
        assert_eq!(flat(&change(None, invitation(AT))), [(HOUR, 13, 1)]);
        let outcome = invitation("OUTCOME#accepted#001764612000000#01KAWDEM0ADM1N000000000001");
        assert_eq!(flat(&change(invitation(AT), outcome.clone())), [(HOUR, 13, -1)]);
        assert_eq!(flat(&change(invitation(AT), None)), [(HOUR, 13, -1)]);
        // A kept outcome removed by TTL, or any other item, counts nothing.
        assert!(change(outcome, None).is_empty());
        let quota = serde_dynamo::to_item(json!({ "PK": "QUOTA#x#2026-11-24", "SK": "QUOTA" })).unwrap();
        assert!(change(None, Some(quota)).is_empty());
        // A lambda event's insert has an empty old image.
        assert_eq!(
            flat(&change(Some(serde_dynamo::to_item(json!({})).unwrap()), invitation(AT))),
            [(HOUR, 13, 1)]
        );
    }

    #[test]
    fn a_resend_moves_the_invitation_and_a_change_within_its_minute_moves_nothing() {
        let later = "INVITATION#001764702000000#01KAWDEM0ADM1N000000000001"; // the next day 19:00
        assert_eq!(
            flat(&change(invitation(AT), invitation(later))),
            [(HOUR, 13, -1), (1_764_702_000_000, 0, 1)]
        );
        let same_minute = "INVITATION#001764612789999#01KAWDEM0ADM1N000000000001";
        assert!(change(invitation(AT), invitation(same_minute)).is_empty());
        assert!(change(invitation(AT), invitation(AT)).is_empty());
    }
}
