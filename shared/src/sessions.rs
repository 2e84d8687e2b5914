//! Sessions (random bearer tokens stored only as hashes, with a fixed lifetime) and the
//! throttling of failed log-ins per email address and source, and per source.
//!
//! The throttle follows Auth0's brute-force protection: failures count per (email, source),
//! so ten wrong passwords from one source block that source for that email while the owner
//! logs in from anywhere else; and per source across all emails, so one source cannot try a
//! few passwords on very many accounts. Each attempt is counted before its password is
//! checked (so parallel guesses cannot pass a limit) and taken back when the password was
//! right: only failures remain counted.

use crate::domain::{Email, SecretToken, SourceAddress, UserId};
use crate::store::{Store, epoch_seconds, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// How long a session lasts after log-in, whatever the activity.
pub const LIFETIME: Duration = Duration::hours(12);
/// Failed log-ins one source may make for one email address in one window.
pub const LOGIN_ATTEMPTS_PER_WINDOW: u32 = 10;
/// The fixed window failed log-ins per email and source are counted in.
pub const LOGIN_WINDOW: Duration = Duration::minutes(15);
/// Failed log-ins one source may make across all email addresses in one window: a hundred an
/// hour leaves room for a whole office behind one NAT address mistyping passwords, and slows
/// a password-spraying source to a hundred guesses an hour.
pub const SOURCE_LOGIN_ATTEMPTS_PER_WINDOW: u32 = 100;
/// The fixed window failed log-ins per source are counted in.
pub const SOURCE_LOGIN_WINDOW: Duration = Duration::hours(1);

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

/// Opens a session after a successful log-in (one PutItem; [`login_succeeded`] forgets the
/// failures, concurrently).
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
    store
        .client
        .put_item()
        .table_name(put.table_name)
        .set_item(Some(put.item))
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
    /// Counted against both limits; check the password, and call [`login_succeeded`] if it
    /// was right.
    Allowed,
    /// A limit is used up; nothing was counted.
    Refused(Refusal),
}

/// Why a log-in attempt was refused, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The limit that is used up.
    pub limit: LoginLimit,
    /// Seconds until its window ends.
    pub retry_after_secs: u64,
}

/// The two limits on failed log-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginLimit {
    /// [`LOGIN_ATTEMPTS_PER_WINDOW`] for one email address from one source.
    EmailFromSource,
    /// [`SOURCE_LOGIN_ATTEMPTS_PER_WINDOW`] from one source across all email addresses.
    Source,
}

/// One counter of failed log-ins in the sessions table: its key, its limit, its fixed window.
struct Counter {
    key: String,
    limit: u32,
    window_end: i64,
}

impl Counter {
    fn new(key: impl FnOnce(i64) -> String, limit: u32, window: Duration, now: OffsetDateTime) -> Self {
        let seconds = now.unix_timestamp();
        let window_start = seconds - seconds.rem_euclid(window.whole_seconds());
        Self {
            key: key(window_start),
            limit,
            window_end: window_start + window.whole_seconds(),
        }
    }

    fn email_from_source(email: &Email, source: &SourceAddress, now: OffsetDateTime) -> Self {
        Self::new(
            |start| keys::login_failures(email, source, start),
            LOGIN_ATTEMPTS_PER_WINDOW,
            LOGIN_WINDOW,
            now,
        )
    }

    fn source(source: &SourceAddress, now: OffsetDateTime) -> Self {
        Self::new(
            |start| keys::source_login_failures(source, start),
            SOURCE_LOGIN_ATTEMPTS_PER_WINDOW,
            SOURCE_LOGIN_WINDOW,
            now,
        )
    }

    fn retry_after_secs(&self, now: OffsetDateTime) -> u64 {
        u64::try_from(self.window_end - now.unix_timestamp())
            .unwrap_or(1)
            .max(1)
    }

    /// Adds one unless the limit is reached, atomically. The key names the window, so a new
    /// window starts from nothing whether or not the TTL has removed the old one yet.
    async fn count(&self, store: &Store) -> anyhow::Result<bool> {
        let result = store
            .client
            .update_item()
            .table_name(&store.tables.sessions)
            .key(keys::PK, AttributeValue::S(self.key.clone()))
            .update_expression("ADD attempts :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(attempts) OR attempts < :limit")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":limit", AttributeValue::N(self.limit.to_string()))
            .expression_attribute_values(":ttl", AttributeValue::N(self.window_end.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(crate::aws::sdk_error("Failed to count a log-in attempt.")(error)),
        }
    }

    /// Takes one back. Never below zero: a success may have cleared the counter meanwhile.
    async fn take_back(&self, store: &Store) -> anyhow::Result<()> {
        let result = store
            .client
            .update_item()
            .table_name(&store.tables.sessions)
            .key(keys::PK, AttributeValue::S(self.key.clone()))
            .update_expression("ADD attempts :minus_one")
            .condition_expression("attempts > :zero")
            .expression_attribute_values(":minus_one", AttributeValue::N("-1".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(crate::aws::sdk_error("Failed to take back a log-in attempt.")(error)),
        }
    }

    async fn clear(&self, store: &Store) -> anyhow::Result<()> {
        store
            .client
            .delete_item()
            .table_name(&store.tables.sessions)
            .key(keys::PK, AttributeValue::S(self.key.clone()))
            .send()
            .await
            .map_err(crate::aws::sdk_error("Failed to clear failed log-ins."))?;
        Ok(())
    }
}

/// Counts a log-in attempt for `email` from `source` before its password is checked, against
/// both limits at once (two concurrent conditional UpdateItems), so that parallel guesses
/// cannot get past either. Counted for unknown emails too: the answer must not reveal whether
/// an account exists.
///
/// A refused attempt counts toward neither limit: when only one counter refused, the other's
/// count is taken back. Until then the two may briefly hold one too many, which can only
/// refuse a concurrent attempt early, never let one through.
#[tracing::instrument(name = "Counting a log-in attempt", skip_all)]
pub async fn count_login_attempt(
    store: &Store,
    email: &Email,
    source: &SourceAddress,
    now: OffsetDateTime,
) -> anyhow::Result<Attempt> {
    let for_email = Counter::email_from_source(email, source, now);
    let for_source = Counter::source(source, now);
    let (email_counted, source_counted) = tokio::join!(for_email.count(store), for_source.count(store));
    // On an error the other count stays: one attempt too many only errs on the safe side.
    let (email_counted, source_counted) = (email_counted?, source_counted?);
    let refused = |limit, counter: &Counter| {
        Ok(Attempt::Refused(Refusal {
            limit,
            retry_after_secs: counter.retry_after_secs(now),
        }))
    };
    match (email_counted, source_counted) {
        (true, true) => Ok(Attempt::Allowed),
        (true, false) => {
            for_email.take_back(store).await?;
            refused(LoginLimit::Source, &for_source)
        }
        (false, true) => {
            for_source.take_back(store).await?;
            refused(LoginLimit::EmailFromSource, &for_email)
        }
        // Both used up: the source's window ends no earlier (an hour is four whole quarters).
        (false, false) => refused(LoginLimit::Source, &for_source),
    }
}

/// An [`Attempt::Allowed`] turned out to be no log-in attempt (an accept that counted beside its
/// read, and found the invited email has no account yet): takes it back from both counts,
/// concurrently. A failure is logged, not answered: a count left one too high only errs on the
/// safe side.
#[tracing::instrument(name = "Taking back a counted attempt", skip_all)]
pub async fn take_back_attempt(store: &Store, email: &Email, source: &SourceAddress, now: OffsetDateTime) {
    let (for_email, for_source) = (
        Counter::email_from_source(email, source, now),
        Counter::source(source, now),
    );
    let (email, source) = tokio::join!(for_email.take_back(store), for_source.take_back(store));
    if let Err(error) = email.and(source) {
        tracing::warn!(error = ?error, "failed to take back a counted attempt");
    }
}

/// The password of an [`Attempt::Allowed`] was right, so it was no failure: forgets the
/// email's failures from this source (success clears them) and takes the attempt back from the
/// source's count, concurrently. A failure here is logged, not answered: a counter left one
/// too high only errs on the safe side, and the caller's session (or membership) is being
/// written meanwhile.
#[tracing::instrument(name = "Forgetting failed log-ins", skip_all)]
pub async fn login_succeeded(store: &Store, email: &Email, source: &SourceAddress, now: OffsetDateTime) {
    let (for_email, for_source) = (
        Counter::email_from_source(email, source, now),
        Counter::source(source, now),
    );
    let (cleared, taken_back) = tokio::join!(for_email.clear(store), for_source.take_back(store));
    if let Err(error) = cleared.and(taken_back) {
        tracing::warn!(error = ?error, "failed to forget failed log-ins");
    }
}
