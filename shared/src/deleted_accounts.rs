//! The short-lived record an account deletion leaves: the only item the deleted account keeps,
//! so that the emails the deletion owes are backed by the table, never by the event alone.
//!
//! Written in the deletion's final transaction (with the credential, the user and the
//! memberships removed), it holds the address and language the "account deleted" email goes to,
//! and the customers whose memberships the deletion removed, each with the membership's revision
//! at its end, so that the mailer can still word the admins' "member left" email once the
//! membership itself is gone. It lives [`KEPT_FOR`]; the mailer checks that itself, as DynamoDB's
//! TTL may remove it days late.

use crate::domain::{CompanyName, CustomerNumber, Email, Language, UserId};
use crate::store::{Item, Store, epoch_seconds, item_key, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// How long the record stays: as long as the mail dead-letter queue keeps an event (14 days), so
/// that an operator's replay still sends what is owed, and no longer than a delivery is
/// remembered (`deliveries::REMEMBERED_FOR`, counted from the later claim), so that any replay
/// either finds the delivery already made or finds no record and sends nothing.
pub const KEPT_FOR: Duration = Duration::days(14);

/// A customer the deleted account was a member of until the deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormerCustomer {
    /// The customer's company name, as the membership had it.
    pub company_name: CompanyName,
    /// The membership's revision at its end (an active one's next revision, as leaving makes it).
    pub revision: u64,
}

/// What the table still knows of a deleted account, while it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedAccount {
    /// The account that was deleted.
    pub user_id: UserId,
    /// Its address: where the "account deleted" email goes.
    pub email: Email,
    /// Its language.
    pub language: Language,
    /// When it was deleted.
    #[serde(with = "time::serde::rfc3339")]
    pub deleted_at: OffsetDateTime,
    /// When the record stops counting (TTL cleans up later).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The memberships the deletion removed, by customer.
    #[serde(default)]
    pub former_customers: BTreeMap<CustomerNumber, FormerCustomer>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    /// The record, as one map attribute.
    account: DeletedAccount,
    /// Copied out of the record for the stream's reader, which reads top-level attributes.
    user_id: UserId,
    ttl: i64,
}

/// The record's sort key, in the deleted user's partition.
pub(crate) const SK: &str = "DELETED";

fn key(user: &UserId) -> Item {
    item_key(keys::user(user), SK.into())
}

impl DeletedAccount {
    /// A record of `user` (`email`, `language`) deleted at `now`, kept [`KEPT_FOR`].
    pub(crate) fn new(
        user: UserId,
        email: &Email,
        language: Language,
        now: OffsetDateTime,
        former_customers: BTreeMap<CustomerNumber, FormerCustomer>,
    ) -> Self {
        Self {
            user_id: user,
            email: email.clone(),
            language,
            deleted_at: now,
            expires_at: now + KEPT_FOR,
            former_customers,
        }
    }
}

/// The record as one item of the deletion's final transaction; a record already there (a
/// deletion of this very account that finished) refuses it.
pub(crate) fn put(store: &Store, account: &DeletedAccount) -> anyhow::Result<TransactWriteItem> {
    store.put_new(RecordItem {
        pk: keys::user(&account.user_id),
        sk: SK.into(),
        account: account.clone(),
        user_id: account.user_id,
        ttl: epoch_seconds(account.expires_at),
    })
}

/// The record of `user`'s deletion, if there is one still kept at `now` (one consistent GetItem).
#[tracing::instrument(name = "Reading a deleted account's record", skip_all, fields(user = %user))]
pub async fn find(store: &Store, user: &UserId, now: OffsetDateTime) -> anyhow::Result<Option<DeletedAccount>> {
    let item: Option<RecordItem> = store.get(key(user), "a deleted account's record").await?;
    Ok(item.map(|item| item.account).filter(|account| account.expires_at > now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_is_kept_no_longer_than_deliveries_are_remembered() {
        assert!(KEPT_FOR <= crate::deliveries::REMEMBERED_FOR);
    }

    #[test]
    fn the_record_reads_back_as_written() {
        let account = DeletedAccount::new(
            UserId::generate(),
            &Email::parse("anna@example.com").unwrap(),
            Language::De,
            OffsetDateTime::UNIX_EPOCH,
            [(
                CustomerNumber::parse("100234").unwrap(),
                FormerCustomer {
                    company_name: CompanyName::parse("ACME").unwrap(),
                    revision: 3,
                },
            )]
            .into(),
        );
        let item = RecordItem {
            pk: keys::user(&account.user_id),
            sk: SK.into(),
            account: account.clone(),
            user_id: account.user_id,
            ttl: epoch_seconds(account.expires_at),
        };
        let stored: Item = serde_dynamo::to_item(item).unwrap();
        assert!(stored.contains_key("ttl") && stored.contains_key("userId"));
        let read: RecordItem = serde_dynamo::from_item(stored).unwrap();
        assert_eq!(read.account, account);
    }
}
