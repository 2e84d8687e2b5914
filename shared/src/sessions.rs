//! Sessions (random bearer tokens stored only as hashes, with a fixed lifetime) and the
//! throttling of log-in attempts per email address.

use crate::domain::{Email, SecretToken, UserId};
use crate::store::{Store, epoch_seconds, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// How long a session lasts after log-in, whatever the activity.
pub const LIFETIME: Duration = Duration::hours(12);
/// Log-in attempts one email address may make in one window.
pub const LOGIN_ATTEMPTS_PER_WINDOW: u32 = 10;
/// The fixed window log-in attempts are counted in.
pub const LOGIN_WINDOW: Duration = Duration::minutes(15);

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Whose session it is.
    pub user_id: UserId,
    /// That user's email address.
    pub email: Email,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// What a bearer token turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A live session.
    Valid(Session),
    /// A session whose lifetime is over (DynamoDB's TTL may not have removed it yet).
    Expired,
    /// No such session: never issued, or logged out.
    Unknown,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionItem {
    #[serde(rename = "PK")]
    pk: String,
    user_id: UserId,
    email: Email,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    ttl: i64,
}

/// Opens a session after a successful log-in and forgets the email's failed attempts,
/// in one transaction.
#[tracing::instrument(name = "Starting a session", skip_all, fields(user_id = %user_id))]
pub async fn start(
    store: &Store,
    user_id: UserId,
    email: &Email,
    now: OffsetDateTime,
) -> anyhow::Result<(SecretToken, Session)> {
    let token = SecretToken::generate();
    let session = store_session(store, &token, user_id, email, now).await?;
    Ok((token, session))
}

/// Opens a session under a token the caller chose. Only the local demo seed needs this, to
/// give the sample events a session that exists; deployed functions use [`start`].
#[cfg(feature = "bootstrap")]
pub async fn start_with_token(
    store: &Store,
    token: &SecretToken,
    user_id: UserId,
    email: &Email,
    now: OffsetDateTime,
) -> anyhow::Result<Session> {
    store_session(store, token, user_id, email, now).await
}

/// A new session as one item of a transaction that also does something else (accepting an
/// invitation), so the session exists exactly when that did.
pub(crate) fn start_within(
    store: &Store,
    user_id: UserId,
    email: &Email,
    now: OffsetDateTime,
) -> anyhow::Result<(SecretToken, Session, TransactWriteItem)> {
    let token = SecretToken::generate();
    let (session, put) = session_put(store, &token, user_id, email, now)?;
    Ok((token, session, TransactWriteItem::builder().put(put).build()))
}

fn session_put(
    store: &Store,
    token: &SecretToken,
    user_id: UserId,
    email: &Email,
    now: OffsetDateTime,
) -> anyhow::Result<(Session, Put)> {
    let session = Session {
        user_id,
        email: email.clone(),
        expires_at: now + LIFETIME,
    };
    let item = SessionItem {
        pk: keys::session(&token.hash()),
        user_id,
        email: email.clone(),
        created_at: now,
        expires_at: session.expires_at,
        ttl: epoch_seconds(session.expires_at),
    };
    let put = Put::builder()
        .table_name(&store.tables.sessions)
        .set_item(Some(serde_dynamo::to_item(item)?))
        .build()?;
    Ok((session, put))
}

async fn store_session(
    store: &Store,
    token: &SecretToken,
    user_id: UserId,
    email: &Email,
    now: OffsetDateTime,
) -> anyhow::Result<Session> {
    let (session, put) = session_put(store, token, user_id, email, now)?;
    let forget_attempts = Delete::builder()
        .table_name(&store.tables.sessions)
        .key(
            keys::PK,
            AttributeValue::S(keys::login_attempts(email, window_start(now))),
        )
        .build()?;
    store
        .client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .transact_items(TransactWriteItem::builder().delete(forget_attempts).build())
        .send()
        .await
        .map_err(crate::aws::sdk_error("Failed to store a new session."))?;
    Ok(session)
}

/// Looks a bearer token up by its hash. Expiry is checked here, not left to the TTL, which
/// may lag by days.
#[tracing::instrument(name = "Looking up a session", skip_all)]
pub async fn find(store: &Store, token: &SecretToken, now: OffsetDateTime) -> anyhow::Result<Lookup> {
    let output = store
        .client
        .get_item()
        .table_name(&store.tables.sessions)
        .key(keys::PK, AttributeValue::S(keys::session(&token.hash())))
        .consistent_read(true)
        .send()
        .await
        .map_err(crate::aws::sdk_error("Failed to read a session."))?;
    let Some(item) = output.item else {
        return Ok(Lookup::Unknown);
    };
    let item: SessionItem = serde_dynamo::from_item(item).context("A stored session is malformed.")?;
    if item.expires_at <= now {
        return Ok(Lookup::Expired);
    }
    Ok(Lookup::Valid(Session {
        user_id: item.user_id,
        email: item.email,
        expires_at: item.expires_at,
    }))
}

/// Ends a session at once. Returns whether there was one to end.
#[tracing::instrument(name = "Ending a session", skip_all)]
pub async fn end(store: &Store, token: &SecretToken) -> anyhow::Result<bool> {
    let output = store
        .client
        .delete_item()
        .table_name(&store.tables.sessions)
        .key(keys::PK, AttributeValue::S(keys::session(&token.hash())))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .map_err(crate::aws::sdk_error("Failed to delete a session."))?;
    Ok(output.attributes.is_some())
}

/// Whether a log-in attempt may go ahead.
#[derive(Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Counted; check the password.
    Allowed,
    /// The email has used up this window's attempts.
    Refused {
        /// Seconds until the next window.
        retry_after_secs: u64,
    },
}

fn window_start(now: OffsetDateTime) -> i64 {
    let seconds = now.unix_timestamp();
    seconds - seconds.rem_euclid(LOGIN_WINDOW.whole_seconds())
}

/// Counts a log-in attempt for `email` before its password is checked, atomically, so that
/// parallel guesses cannot get past the limit. Counted for unknown emails too: the answer must
/// not reveal whether an account exists.
#[tracing::instrument(name = "Counting a log-in attempt", skip_all)]
pub async fn count_login_attempt(store: &Store, email: &Email, now: OffsetDateTime) -> anyhow::Result<Attempt> {
    let window_start = window_start(now);
    let window_end = window_start + LOGIN_WINDOW.whole_seconds();
    let result = store
        .client
        .update_item()
        .table_name(&store.tables.sessions)
        .key(keys::PK, AttributeValue::S(keys::login_attempts(email, window_start)))
        .update_expression("ADD attempts :one SET #ttl = :ttl")
        .condition_expression("attribute_not_exists(attempts) OR attempts < :limit")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":limit", AttributeValue::N(LOGIN_ATTEMPTS_PER_WINDOW.to_string()))
        .expression_attribute_values(":ttl", AttributeValue::N(window_end.to_string()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(Attempt::Allowed),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            let retry_after_secs = u64::try_from(window_end - now.unix_timestamp()).unwrap_or(1).max(1);
            Ok(Attempt::Refused { retry_after_secs })
        }
        Err(error) => Err(crate::aws::sdk_error("Failed to count a log-in attempt.")(error)),
    }
}
