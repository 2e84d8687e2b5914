//! CloudHub invitations: the data crate every function shares.
//!
//! Domain values that cannot be invalid ([`domain`]), one module per domain area with its
//! DynamoDB access ([`accounts`], [`customers`], [`memberships`], [`sessions`]), the tables and
//! their keys ([`store`]), and the HTTP edge with its problem+json errors ([`http`]).

pub mod access;
pub mod accounts;
pub mod aws;
pub mod clock;
pub mod customers;
pub mod deliveries;
pub mod domain;
#[cfg(feature = "mail")]
pub mod emails;
pub mod events;
pub mod http;
pub mod invitations;
pub mod links;
pub mod members;
pub mod memberships;
pub mod metrics;
pub mod notices;
pub mod quota;
pub mod recipients;
pub mod roles;
#[cfg(feature = "bootstrap")]
pub mod schema;
mod seats;
pub mod sessions;
pub mod store;
pub mod telemetry;
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
    /// The keys invitation links are made with; only the functions that make, send or open
    /// links have them (`LINK_KEYS_SECRET_ID`).
    pub link_keys: Option<links::LinkKeys>,
}

impl App {
    /// The store from the environment and the system clock.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            store: store::Store::from_env()?,
            clock: Arc::new(clock::SystemClock),
            link_keys: links::LinkKeys::from_env()?,
        })
    }

    /// The link keys, or an error that names the missing configuration.
    pub fn link_keys(&self) -> anyhow::Result<&links::LinkKeys> {
        self.link_keys
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("{} is not configured for this function.", links::KEYS_SECRET_VAR))
    }
}
