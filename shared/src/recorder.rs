//! The recorder: what the data table's stream owes the table itself. For each record it writes
//! the derived items the change owes ([`invitation_counts`](crate::invitation_counts): the open
//! invitations per expiry minute; [`activity`](crate::activity): the log's entry of a covered
//! change) together with a marker of the record, in one transaction: a
//! record delivered again finds its marker and changes nothing, so each change is applied
//! exactly once, however often Lambda hands it over.
//!
//! Consecutive records go in one transaction while it has room (100 items: one marker per
//! record, one counter update per hour touched): a batch of 100 invitations is a few writes, not
//! a hundred. When a transaction is refused because a marker is there (a batch handed over
//! again), its records are applied one by one, each skipped if it already was. The first record
//! that cannot be applied is reported, and the stream hands it (and what follows) over again.

use crate::invitation_counts::{self, Deltas};
use crate::store::transactions::{MAX_ITEMS, Part, Transaction, TransactionError};
use crate::store::{Store, keys};
use crate::stream::Change;
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::Deserialize;
use std::collections::HashSet;
use time::OffsetDateTime;

/// How long a record's marker is kept: past the stream's own 24 hours.
const MARKER_KEPT: time::Duration = time::Duration::days(2);

/// What one record owes, as gathered before it is written.
#[derive(Clone)]
struct Owed {
    marker: TransactWriteItem,
    deltas: Deltas,
    writes: Vec<TransactWriteItem>,
}

/// The derived writes of `change`, with its marker; `None` when it owes nothing.
fn owed(store: &Store, change: &Change, now: OffsetDateTime) -> anyhow::Result<Option<Owed>> {
    let mut deltas = Deltas::new();
    invitation_counts::add_deltas(change, &mut deltas)?;
    let writes: Vec<TransactWriteItem> = crate::activity::writes(store, change)?;
    if deltas.is_empty() && writes.is_empty() {
        return Ok(None);
    }
    Ok(Some(Owed {
        marker: marker(store, change, now)?,
        deltas,
        writes,
    }))
}

#[derive(Deserialize)]
struct Key {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
}

/// The record's marker, `RECORDED#{sequence number}` / `{PK}|{SK}` of the changed item (a
/// sequence number is unique within its shard, and one item's records are in one shard).
fn marker(store: &Store, change: &Change, now: OffsetDateTime) -> anyhow::Result<TransactWriteItem> {
    use anyhow::Context as _;
    let image = [change.new.as_ref(), change.old.as_ref()]
        .into_iter()
        .flatten()
        .find(|item| !item.is_empty())
        .context("A stream record has no image.")?;
    let key: Key = serde_dynamo::from_item(image.clone()).context("A changed item has no key.")?;
    store.put_new(serde_json::json!({
        keys::PK: format!("{}{}", keys::RECORDED_PREFIX, change.sequence_number),
        keys::SK: format!("{}|{}", key.pk, key.sk),
        "ttl": (now + MARKER_KEPT).unix_timestamp(),
    }))
}

/// Applies what `changes` owe, in order. Returns the sequence number of the first record that
/// could not be applied (or whose item cannot be read), if any: that record and every later one
/// must be handed over again. Records already applied are skipped.
pub async fn record(store: &Store, changes: &[Change]) -> Option<String> {
    if changes.is_empty() {
        return None;
    }
    let now = OffsetDateTime::now_utc();
    let mut owing = Vec::new();
    for change in changes {
        match owed(store, change, now) {
            Ok(Some(owed)) => owing.push((change.sequence_number.clone(), owed)),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(
                    sequence_number = change.sequence_number,
                    error = format!("{error:#}"),
                    "A changed item cannot be read; reporting its record as failed"
                );
                // What came before it is applied first; it and what follows are handed over again.
                let failed = change.sequence_number.clone();
                return apply_all(store, owing).await.or(Some(failed));
            }
        }
    }
    apply_all(store, owing).await
}

/// Applies `owing` in transactions as full as they can be; the first record not applied, if any.
async fn apply_all(store: &Store, owing: Vec<(String, Owed)>) -> Option<String> {
    let total = owing.len();
    let mut rest = owing.into_iter().peekable();
    let mut applied = 0;
    while rest.peek().is_some() {
        let mut chunk: Vec<(String, Owed)> = Vec::new();
        let mut deltas = Deltas::new();
        let mut writes = 0;
        // A transaction writes an item once: a record whose derived items the chunk already
        // writes (two items written with one stamp owe one entry) starts the next chunk.
        let mut written: HashSet<(String, String)> = HashSet::new();
        while let Some((_, next)) = rest.peek() {
            let hours = deltas
                .keys()
                .chain(next.deltas.keys().filter(|hour| !deltas.contains_key(*hour)))
                .count();
            let items = chunk.len() + 1 + hours + writes + next.writes.len();
            let keys: Vec<(String, String)> = next.writes.iter().filter_map(item_key).collect();
            let repeats = keys.iter().any(|key| written.contains(key));
            if (items > MAX_ITEMS || repeats) && !chunk.is_empty() {
                break;
            }
            written.extend(keys);
            let (sequence_number, next) = rest.next().expect("peeked");
            for (hour, minutes) in &next.deltas {
                let merged = deltas.entry(hour.clone()).or_default();
                for (minute, by) in minutes {
                    *merged.entry(*minute).or_default() += by;
                }
            }
            writes += next.writes.len();
            chunk.push((sequence_number, next));
        }
        match commit(store, &chunk, &deltas).await {
            Ok(()) => applied += chunk.len(),
            Err(TransactionError::Refused(refused)) if refused.failed_any(|part| *part == Part::Recorded) => {
                // Some of these were applied before: one at a time, each skipped if it was.
                for (sequence_number, owed) in &chunk {
                    match commit(
                        store,
                        std::slice::from_ref(&(sequence_number.clone(), owed.clone())),
                        &owed.deltas,
                    )
                    .await
                    {
                        Ok(()) => applied += 1,
                        Err(TransactionError::Refused(refused)) if refused.failed(&Part::Recorded) => {}
                        Err(error) => return failed(sequence_number, &error, applied, total),
                    }
                }
            }
            Err(error) => return failed(&chunk[0].0, &error, applied, total),
        }
    }
    tracing::info!(records = total, applied, "recorded what the changes owe");
    None
}

/// The key of the item a transaction's write puts, updates or deletes.
fn item_key(write: &TransactWriteItem) -> Option<(String, String)> {
    let item = write
        .put()
        .map(|put| put.item())
        .or_else(|| write.update().map(|update| update.key()))
        .or_else(|| write.delete().map(|delete| delete.key()))?;
    let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).cloned();
    Some((text(keys::PK)?, text(keys::SK)?))
}

fn failed(sequence_number: &str, error: &TransactionError, applied: usize, total: usize) -> Option<String> {
    tracing::warn!(
        sequence_number,
        error = format!("{error:?}"),
        applied,
        records = total,
        "A record's derived writes failed; reporting it"
    );
    Some(sequence_number.to_owned())
}

/// One transaction: the records' markers, the counters' updates, their other writes.
async fn commit(store: &Store, chunk: &[(String, Owed)], deltas: &Deltas) -> Result<(), TransactionError> {
    let mut transaction = Transaction::new(store);
    for (_, owed) in chunk {
        transaction.add(Part::Recorded, owed.marker.clone());
        for write in &owed.writes {
            transaction.add(Part::Derived, write.clone());
        }
    }
    for (hour, minutes) in deltas {
        if minutes.values().all(|by| *by == 0) {
            continue;
        }
        transaction.add(Part::Derived, invitation_counts::update(store, hour, minutes)?);
    }
    transaction.commit("record what the changes owe").await
}
