//! Transactions with named items. Every item of a TransactWriteItems gets a [`Part`] when it is
//! added, and a refused transaction is read back by part ([`Refused::failed`]), never by
//! position: adding an item can not shift how another one's refusal is understood.
//!
//! A transaction is retried while DynamoDB cancels it for a conflict with another transaction
//! on the same items (one admin's quota counter makes that common), and otherwise answered with
//! why each part failed. Reading a consistent snapshot of several items with TransactGetItems is
//! retried the same way.

use super::{Item, Store};
use crate::domain::{RoleId, UserId};
use anyhow::Context as _;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Get, TransactGetItem, TransactWriteItem};
use std::time::Duration;

/// Most items DynamoDB takes in one transaction.
pub(crate) const MAX_ITEMS: usize = 100;

/// Attempts before giving up on contention; with the backoff below, about 3 s in all.
const ATTEMPTS: u32 = 9;
const FIRST_BACKOFF: Duration = Duration::from_millis(15);
const MAX_BACKOFF: Duration = Duration::from_millis(700);

/// What one item of a transaction stands for: how its refusal is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// An admin's daily invitation counter.
    Quota,
    /// The acting user is an active admin of the customer.
    AdminCheck,
    /// A role: that it exists, is unchanged or is not being changed; or its own write.
    Role(RoleId),
    /// The record of a role's deletion, for the activity log.
    RoleDeletion,
    /// A role name's claim, taken.
    NameClaim,
    /// A role name's claim, given up.
    NameRelease,
    /// An email's seat in a customer.
    Seat,
    /// An invitation.
    Invitation,
    /// A user's membership in a customer.
    Membership(UserId),
    /// A user's profile.
    User,
    /// An email's credential.
    Credential,
    /// The customer item (its number, its admin count).
    Customer,
    /// An item of the customer's admin set.
    AdminSet,
    /// A session.
    Session,
    /// The record an account deletion leaves.
    DeletedAccount,
    /// A stream record's marker: that the recorder applied it.
    Recorded,
    /// An item the recorder derives from a change (an invitation counter).
    Derived,
    /// One part of one row of a batch (say, the seat of the batch's row 3): a batch's rows
    /// have the same parts, told apart by the row's index.
    Row(usize, Box<Part>),
}

impl Part {
    /// `part` of row `row` of a batch.
    pub(crate) fn of_row(row: usize, part: Part) -> Self {
        Self::Row(row, Box::new(part))
    }
}

/// Why one item of a cancelled transaction failed.
#[derive(Debug, Clone, Default)]
struct Reason {
    /// `ConditionalCheckFailed`, `TransactionConflict`, ...; `None` where the item was fine.
    code: Option<String>,
    /// The item as it was, where the request asked for it on a failed condition.
    item: Option<Item>,
}

impl Reason {
    fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }
}

/// The parts of a refused transaction whose conditions failed. Nothing of it was written.
#[derive(Debug)]
pub(crate) struct Refused {
    parts: Vec<(Part, Reason)>,
}

impl Refused {
    /// Whether `part`'s condition failed.
    pub(crate) fn failed(&self, part: &Part) -> bool {
        self.parts
            .iter()
            .any(|(p, reason)| p == part && reason.condition_failed())
    }

    /// Whether the condition of a part `matches` picks failed.
    pub(crate) fn failed_any(&self, matches: impl Fn(&Part) -> bool) -> bool {
        self.parts
            .iter()
            .any(|(p, reason)| matches(p) && reason.condition_failed())
    }

    /// The failed parts, each with the item as it was when the request asked for it
    /// (`ReturnValuesOnConditionCheckFailure::AllOld`).
    pub(crate) fn failures(&self) -> impl Iterator<Item = (&Part, Option<&Item>)> {
        self.parts
            .iter()
            .filter(|(_, reason)| reason.condition_failed())
            .map(|(part, reason)| (part, reason.item.as_ref()))
    }

    /// The item as it was, if `part` failed and the request asked for it.
    pub(crate) fn item(&self, part: &Part) -> Option<&Item> {
        self.failures().find(|(p, _)| *p == part).and_then(|(_, item)| item)
    }

    /// The refusal as an unexpected error, for refusals a caller has no answer for.
    pub(crate) fn unexplained(&self, what: &str) -> anyhow::Error {
        let failed: Vec<&Part> = self.failures().map(|(part, _)| part).collect();
        anyhow::anyhow!("A transaction to {what} was refused by {failed:?}.")
    }
}

/// Why a transaction did not commit. Nothing of it was written.
#[derive(Debug)]
pub(crate) enum TransactionError {
    /// Conditions failed.
    Refused(Refused),
    /// Other transactions kept conflicting; retrying later may succeed.
    Contention,
    /// Anything else.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for TransactionError {
    fn from(error: anyhow::Error) -> Self {
        Self::Other(error)
    }
}

/// A TransactWriteItems being put together: items with their parts.
pub(crate) struct Transaction<'a> {
    store: &'a Store,
    parts: Vec<Part>,
    items: Vec<TransactWriteItem>,
}

impl<'a> Transaction<'a> {
    /// An empty transaction on `store`'s tables.
    pub(crate) fn new(store: &'a Store) -> Self {
        Self {
            store,
            parts: Vec::new(),
            items: Vec::new(),
        }
    }

    /// Adds `item` as `part`.
    pub(crate) fn add(&mut self, part: Part, item: TransactWriteItem) -> &mut Self {
        self.parts.push(part);
        self.items.push(item);
        self
    }

    /// Runs it, retrying conflicts with jittered exponential backoff.
    pub(crate) async fn commit(self, what: &str) -> Result<(), TransactionError> {
        let mut backoff = FIRST_BACKOFF;
        for _ in 0..ATTEMPTS {
            let result = self
                .store
                .client
                .transact_write_items()
                .set_transact_items(Some(self.items.clone()))
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
                Outcome::Cancelled(reasons) => {
                    return Err(TransactionError::Refused(Refused {
                        parts: self.parts.into_iter().zip(reasons).collect(),
                    }));
                }
                Outcome::Other(error) => return Err(TransactionError::Other(failed(*error, what))),
            }
        }
        tracing::warn!(what, "gave up on a transaction after repeated conflicts");
        Err(TransactionError::Contention)
    }
}

/// An SDK failure as an error of `what`, marked [`crate::aws::Unavailable`] when transient.
fn failed<E>(error: SdkError<E>, what: &str) -> anyhow::Error
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    let transient = crate::aws::is_transient(&error);
    let error = anyhow::Error::new(error).context(format!("Failed to {what}."));
    if transient {
        error.context(crate::aws::Unavailable)
    } else {
        error
    }
}

/// Reads `keys` of the data table as one snapshot (TransactGetItems, at most 100 keys): no
/// transaction's writes are seen in part. One entry per key, in order, `None` where there is
/// no item. Retried while a concurrent transaction on the same items makes DynamoDB cancel it.
pub(crate) async fn transact_get(
    store: &Store,
    keys: Vec<Item>,
    what: &str,
) -> Result<Vec<Option<Item>>, TransactionError> {
    let items = keys
        .into_iter()
        .map(|key| {
            let get = built(Get::builder().table_name(&store.tables.data).set_key(Some(key)).build())?;
            Ok(TransactGetItem::builder().get(get).build())
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
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
            return Err(TransactionError::Other(failed(error, what)));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(parts: Vec<(Part, Option<&str>)>) -> Refused {
        Refused {
            parts: parts
                .into_iter()
                .map(|(part, code)| {
                    (
                        part,
                        Reason {
                            code: code.map(str::to_owned),
                            item: None,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_refusal_is_read_by_part_wherever_the_part_stands() {
        let role = RoleId::generate();
        for parts in [
            vec![
                (Part::Quota, None),
                (Part::AdminCheck, None),
                (Part::Role(role), None),
                (Part::Seat, Some("ConditionalCheckFailed")),
            ],
            vec![
                (Part::Seat, Some("ConditionalCheckFailed")),
                (Part::Quota, None),
                (Part::Role(role), None),
                (Part::AdminCheck, None),
            ],
        ] {
            let refused = refused(parts);
            assert!(refused.failed(&Part::Seat));
            assert!(!refused.failed(&Part::AdminCheck));
            assert!(!refused.failed_any(|part| matches!(part, Part::Role(_))));
        }
    }

    #[test]
    fn only_failed_conditions_count_as_failures() {
        let refused = refused(vec![
            (Part::Quota, Some("TransactionConflict")),
            (Part::Invitation, Some("ConditionalCheckFailed")),
        ]);
        assert!(!refused.failed(&Part::Quota));
        assert_eq!(
            refused.failures().map(|(part, _)| part.clone()).collect::<Vec<_>>(),
            vec![Part::Invitation]
        );
        assert!(refused.unexplained("test").to_string().contains("Invitation"));
    }
}
