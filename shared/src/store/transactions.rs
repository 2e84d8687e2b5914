//! Running a TransactWriteItems: retried while DynamoDB cancels it for a conflict with another
//! transaction on the same items (the quota counter of one admin makes that common), and
//! otherwise answered with why each item failed. Reading a consistent snapshot of several items
//! with TransactGetItems, retried the same way.

use super::Store;
use anyhow::Context as _;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Get, TransactGetItem, TransactWriteItem};
use std::collections::HashMap;
use std::time::Duration;

/// Attempts before giving up on contention; with the backoff below, about 3 s in all.
const ATTEMPTS: u32 = 9;
const FIRST_BACKOFF: Duration = Duration::from_millis(15);
const MAX_BACKOFF: Duration = Duration::from_millis(700);

/// Why one item of a cancelled transaction failed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reason {
    /// `ConditionalCheckFailed`, `TransactionConflict`, ...; `None` where the item was fine.
    pub code: Option<String>,
    /// The item as it was, where the request asked for it on a failed condition.
    pub item: Option<HashMap<String, AttributeValue>>,
}

impl Reason {
    pub(crate) fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }
}

/// Why a transaction did not commit. Nothing of it was written.
#[derive(Debug)]
pub(crate) enum TransactionError {
    /// Conditions failed; one reason per item, in request order.
    Cancelled(Vec<Reason>),
    /// Other transactions kept conflicting; retrying later may succeed.
    Contention,
    /// Anything else.
    Other(anyhow::Error),
}

/// Runs `items` as one transaction, retrying conflicts with jittered exponential backoff.
pub(crate) async fn transact(store: &Store, items: Vec<TransactWriteItem>, what: &str) -> Result<(), TransactionError> {
    let mut backoff = FIRST_BACKOFF;
    for _ in 0..ATTEMPTS {
        let result = store
            .client
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        match classify(error) {
            Outcome::Conflict => {
                tokio::time::sleep(jitter(backoff)).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Outcome::Cancelled(reasons) => return Err(TransactionError::Cancelled(reasons)),
            Outcome::Other(error) => {
                let transient = crate::aws::is_transient(error.as_ref());
                let error = anyhow::Error::new(*error).context(format!("Failed to {what}."));
                return Err(TransactionError::Other(if transient {
                    error.context(crate::aws::Unavailable)
                } else {
                    error
                }));
            }
        }
    }
    tracing::warn!(what, "gave up on a transaction after repeated conflicts");
    Err(TransactionError::Contention)
}

/// Reads `keys` of the data table as one snapshot (TransactGetItems, at most 100 keys): no
/// transaction's writes are seen in part. One entry per key, in order, `None` where there is
/// no item. Retried while a concurrent transaction on the same items makes DynamoDB cancel it.
pub(crate) async fn transact_get(
    store: &Store,
    keys: Vec<super::Item>,
    what: &str,
) -> Result<Vec<Option<super::Item>>, TransactionError> {
    let items = keys
        .into_iter()
        .map(|key| {
            let get = built(Get::builder().table_name(&store.tables.data).set_key(Some(key)).build())?;
            Ok(TransactGetItem::builder().get(get).build())
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(TransactionError::Other)?;
    let mut backoff = FIRST_BACKOFF;
    for _ in 0..ATTEMPTS {
        let result = store
            .client
            .transact_get_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await;
        let error = match result {
            Ok(output) => {
                return Ok(output
                    .responses
                    .unwrap_or_default()
                    .into_iter()
                    .map(|response| response.item)
                    .collect());
            }
            Err(error) => error,
        };
        let conflict = match error.as_service_error() {
            Some(TransactGetItemsError::TransactionCanceledException(cancelled)) => cancelled
                .cancellation_reasons()
                .iter()
                .any(|reason| reason.code() == Some("TransactionConflict")),
            _ => false,
        };
        if !conflict {
            let transient = crate::aws::is_transient(&error);
            let error = anyhow::Error::new(error).context(format!("Failed to {what}."));
            return Err(TransactionError::Other(if transient {
                error.context(crate::aws::Unavailable)
            } else {
                error
            }));
        }
        tokio::time::sleep(jitter(backoff)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    tracing::warn!(what, "gave up on a snapshot read after repeated conflicts");
    Err(TransactionError::Contention)
}

enum Outcome {
    Conflict,
    Cancelled(Vec<Reason>),
    Other(Box<SdkError<TransactWriteItemsError>>),
}

fn classify(error: SdkError<TransactWriteItemsError>) -> Outcome {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            let reasons: Vec<Reason> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| Reason {
                    code: reason.code().filter(|code| *code != "None").map(str::to_owned),
                    item: reason.item().cloned(),
                })
                .collect();
            // A failed condition is an answer; a conflict alone is a reason to try again.
            if reasons.iter().any(Reason::condition_failed) {
                Outcome::Cancelled(reasons)
            } else if reasons.iter().any(|r| r.code.as_deref() == Some("TransactionConflict")) {
                Outcome::Conflict
            } else {
                Outcome::Other(Box::new(error))
            }
        }
        Some(TransactWriteItemsError::TransactionInProgressException(_)) => Outcome::Conflict,
        _ => Outcome::Other(Box::new(error)),
    }
}

/// "Full jitter": a uniformly random wait up to `ceiling`, so retries of parallel requests spread out.
fn jitter(ceiling: Duration) -> Duration {
    let mut bytes = [0u8; 4];
    if getrandom::getrandom(&mut bytes).is_err() {
        return ceiling;
    }
    let fraction = f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX);
    ceiling.mul_f64(fraction.max(0.1))
}

/// Builds a transaction item, or says which one could not be built.
pub(crate) fn built<T, E: std::error::Error + Send + Sync + 'static>(result: Result<T, E>) -> anyhow::Result<T> {
    result.context("Failed to build a transaction item.")
}
