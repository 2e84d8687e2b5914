//! Test support: fresh tables on the official DynamoDB Local for every test, and a clock the
//! test controls. Tests find DynamoDB Local at `CLOUDHUB_DYNAMODB_ENDPOINT`, which the README's
//! test command (`infra/test`) sets after starting it.

use crate::App;
use crate::clock::ManualClock;
use crate::schema::{Ttl, create_tables, local_client, tables_named};
use crate::store::Store;
use std::sync::Arc;
use time::OffsetDateTime;

/// The environment variable naming DynamoDB Local's endpoint.
pub const ENDPOINT_VAR: &str = "CLOUDHUB_DYNAMODB_ENDPOINT";

/// DynamoDB Local's endpoint. Panics with instructions when it is not set: these tests never
/// fall back to an imitation of DynamoDB.
pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!("{ENDPOINT_VAR} is not set. Run the tests with `infra/test`, which starts DynamoDB Local and sets it.")
    })
}

/// A store over new, empty tables with a random prefix, created from `template.yaml`
/// (with DynamoDB's TTL deletion off; see [`Ttl::Disabled`]).
pub async fn fresh_store() -> Store {
    let client = local_client(&endpoint());
    let tables = tables_named(&format!("t{}", ulid::Ulid::new().to_string().to_lowercase()));
    create_tables(&client, &tables, Ttl::Disabled)
        .await
        .expect("DynamoDB Local accepts the template's tables");
    Store::new(client, tables)
}

/// An instant on a fixed, ordinary day, so tests never depend on today's date.
pub fn a_tuesday_morning() -> OffsetDateTime {
    time::macros::datetime!(2026-11-24 09:30:00 UTC)
}

/// A fresh store and a manual clock, bundled as the functions get them.
pub async fn fresh_app() -> (App, Arc<ManualClock>) {
    let clock = ManualClock::at(a_tuesday_morning());
    let app = App {
        store: fresh_store().await,
        clock: clock.clone(),
    };
    (app, clock)
}
