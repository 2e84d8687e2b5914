//! CloudHub invitations: the data crate every function shares.
//!
//! Domain values that cannot be invalid ([`domain`]), one module per domain area with its
//! DynamoDB access ([`accounts`], [`customers`], [`memberships`], [`sessions`]), the tables and
//! their keys ([`store`]), and the HTTP edge with its problem+json errors ([`http`]).

pub mod accounts;
pub mod clock;
pub mod customers;
pub mod domain;
pub mod http;
pub mod memberships;
#[cfg(feature = "bootstrap")]
pub mod schema;
pub mod sessions;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

/// What a function builds once per cold start and hands to every request.
#[derive(Clone)]
pub struct App {
    /// The tables.
    pub store: store::Store,
    /// Where "now" comes from.
    pub clock: clock::SharedClock,
}

impl App {
    /// The store from the environment and the system clock.
    pub async fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            store: store::Store::from_env().await?,
            clock: Arc::new(clock::SystemClock),
        })
    }
}
