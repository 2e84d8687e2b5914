//! The DynamoDB tables, their keys, and the plumbing every domain module shares.
//!
//! # Tables
//! Both are defined once, in `template.yaml`; the local stack and the tests create theirs from
//! those definitions (see `schema`).
//!
//! **Data table** (`DataTable`, env `DATA_TABLE_NAME`): keys `PK`, `SK` (strings); TTL attribute
//! `ttl` (epoch seconds); stream with new and old images (the write is the source of truth for
//! events). Indexes:
//! - `GSI1` (`GSI1PK`, `GSI1SK`): a customer's members, for the User Management table.
//! - `LSI1` (`PK`, `LSI1SK`): a customer's invitations ordered by when their link expires, so
//!   "pending" and "expired" are key ranges, and strongly consistent.
//!
//! | item | PK | SK | other keys |
//! |---|---|---|---|
//! | customer | `CUSTOMER#{number}` | `CUSTOMER` | |
//! | role | `CUSTOMER#{number}` | `ROLE#{roleId}` | |
//! | email claimed in a customer (member or invited) | `CUSTOMER#{number}` | `EMAIL#{email}` | |
//! | user profile | `USER#{userId}` | `USER` | |
//! | membership | `USER#{userId}` | `MEMBERSHIP#{number}` | `GSI1PK`=`CUSTOMER#{number}`, `GSI1SK`=`MEMBER#{email}` |
//! | credential | `EMAIL#{email}` | `CREDENTIAL` | |
//!
//! **Sessions table** (`SessionsTable`, env `SESSIONS_TABLE_NAME`): key `PK` (string); TTL `ttl`.
//!
//! | item | PK |
//! |---|---|
//! | session | `SESSION#{sha256(token)}` |
//! | log-in attempts of one email in one 15-minute window | `LOGIN#{email}#{windowStart}` |
//!
//! # Access patterns (round trips per request)
//! - log-in: UpdateItem (count the attempt) and GetItem (credential), concurrently; then
//!   TransactWriteItems (put session, clear the attempts) on success.
//! - authorizer: GetItem session.
//! - log-out: DeleteItem session.
//! - `GET /me`: one Query of `USER#{userId}` (profile and every membership).
//! - operator's create-customer: one TransactWriteItems (customer, roles, user, credential,
//!   membership, claimed email), all conditional on not existing yet.

pub(crate) mod keys;
pub(crate) mod transactions;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

/// The names of the tables, as deployed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    /// Customers, roles, users, memberships, credentials, invitations.
    pub data: String,
    /// Sessions and log-in attempt counters.
    pub sessions: String,
}

impl Tables {
    /// Reads `DATA_TABLE_NAME` and `SESSIONS_TABLE_NAME`.
    pub fn from_env() -> anyhow::Result<Self> {
        let var =
            |name: &str| std::env::var(name).with_context(|| format!("The environment variable {name} is not set."));
        Ok(Self {
            data: var("DATA_TABLE_NAME")?,
            sessions: var("SESSIONS_TABLE_NAME")?,
        })
    }
}

/// The DynamoDB client and the tables it works on. Built once per cold start; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) client: Client,
    pub(crate) tables: Tables,
}

impl Store {
    /// A store over an existing client.
    pub fn new(client: Client, tables: Tables) -> Self {
        Self { client, tables }
    }

    /// A store configured from the environment (`AWS_REGION`, credentials, and
    /// `AWS_ENDPOINT_URL` for DynamoDB Local), with the table names from the environment.
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = aws_config::load_from_env().await;
        Ok(Self::new(Client::new(&config), Tables::from_env()?))
    }

    /// The underlying client, for operators' tools and tests.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table names.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }
}

/// Why each item of a cancelled transaction failed, in request order (`None` where it did not).
pub(crate) fn cancellation_reasons(error: &SdkError<TransactWriteItemsError>) -> Option<Vec<Option<String>>> {
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = error.as_service_error()? else {
        return None;
    };
    Some(
        cancelled
            .cancellation_reasons()
            .iter()
            .map(|reason| reason.code().filter(|code| *code != "None").map(str::to_owned))
            .collect(),
    )
}

/// Seconds since the epoch, the unit of DynamoDB's TTL attribute.
pub(crate) fn epoch_seconds(at: time::OffsetDateTime) -> i64 {
    at.unix_timestamp()
}
