//! CloudHub invitations: the data crate every function shares.
//!
//! # Layers
//! Imports run one way, downwards (a test, `tests/layers.rs`, keeps it so):
//! 1. [`domain`]: values that cannot be invalid; [`clock`], [`aws`], [`metrics`], [`telemetry`].
//! 2. [`store`]: the tables, their keys, transactions with named parts, typed reads.
//! 3. The aggregates, each owning its items' conditions and writes: [`customers`] (the admin
//!    count), [`seats`], [`memberships`], [`accounts`], [`sessions`], [`quota`], [`roles`] (with
//!    its lock), [`links`] (tokens and keys), [`invitations`] (with its link item),
//!    [`deliveries`], [`deleted_accounts`]; read models over them: [`access`], [`recipients`], [`events`], [`notices`],
//!    [`activity`] (the log, from the stream).
//! 4. [`usecases`]: one module per request's rule, composed of the aggregates.
//! 5. [`http`]: requests, callers, answers, and the one map from refusals to problems.
//!
//! # Where each rule of PRODUCT.md lives
//! | rule | module |
//! |---|---|
//! | 1 only admins manage invitations | [`customers`] (`admin_check`: the admin set, a part of every admin's transaction), [`http::AdminArea`] |
//! | 2 quota | [`quota`] (`spend_one`; `spend`, a batch's sends at once), [`usecases::invite`], [`usecases::invite_batch`], [`usecases::resend`] |
//! | 3 link lifetime, listed 30 days | [`invitations`] (`LINK_LIFETIME`, `LISTED_AFTER_EXPIRY`, `status`), [`invitations::link`] |
//! | 4 tokens, one accept wins, resend and delete kill links | [`links`], [`invitations`] (`consume`, `send_again`, `delete`), [`usecases::accept`] |
//! | 5 pending invitation or member: 409 | [`seats`] (`take_for_invitation`, `holder`), [`usecases::invite`] |
//! | 6 roles exist, deleting and editing reach invitations | [`roles::lock`] (`usable`, `unchanged`), [`usecases::roles`] |
//! | 7 accepting | [`usecases::accept`] (`preview`, `identify`, `commit`) |
//! | 8 restricted access, welcome tour | [`memberships`] (`is_restricted`, `complete_tour`), [`access`] |
//! | 9, 11, 18 emails from the table's truth | [`events`], [`recipients`], [`deliveries`], `emails` |
//! | 10 leaving, last admin | [`usecases::leave`], [`customers`] (`admin_count_change`) |
//! | 12, 22 problems with codes | [`http`] (`ApiError`, `problems`), [`domain`] |
//! | 13 link keys | [`links`] |
//! | 14 nothing secret leaves | [`links`], [`telemetry`], [`events`] |
//! | 15 failures end in seconds | [`aws`] |
//! | 16 one account per mailbox | [`domain`] (`Email`) |
//! | 17 log-in throttle | [`sessions`] |
//! | 19 roles with no ceiling on holders; the last admin kept | [`memberships`] (role ids, `resolve`), [`customers`] (the admin set), [`usecases::roles`] |
//! | 19 bulk invite, one result per row, exact quota | [`usecases::invite_batch`] |
//! | 19 the invitations table: key ranges per status and email search, exact counts, bound cursors | [`usecases::list`], [`invitation_counts`] (counters per expiry minute), [`recorder`] (kept from the stream, once per record) |
//! | 20 accepted and deleted invitations kept with their outcome for 365 days, open nowhere | [`invitations`] (`Outcome`, `KEPT_AFTER_OUTCOME`, `is_open`; `consume` and `delete` write it), [`usecases::list`] |
//! | 20 the admin who sent an invitation is told when it is accepted (unless turned off) | [`events`] (`MemberJoined`), [`recipients`] (`arrival`, `inviter_to_tell`), `emails` (`member_joined`), [`accounts`] (`Settings`) |
//! | 20 the activity log, from the stream, exactly once per change | [`store::stamp`] (who, when, which request: on the item the change writes), [`activity`] (`writes`, `page`, `to_csv`), `roles` (a deletion's record) |
//! | 21 the invitations addressed to the signed-in account, accepted without the link | [`usecases::accept`] (`waiting`, `count_waiting`, `accept_mine`), [`invitations`] (`addressed_to`) |
//! | 19 preview in 2 round trips, accept in 2 (3 with a password): tokens name their invitation | [`links`], [`invitations`] (`open_link`), [`usecases::accept`] |
//! | 21 deleting one's own account (confirmed; refused while a customer's last admin) | [`usecases::delete_account`], [`deleted_accounts`] (the record its emails are read from), [`sessions`] (`end_all_of`) |

pub mod access;
pub mod accounts;
pub mod activity;
pub mod aws;
pub mod clock;
pub mod customers;
pub mod deleted_accounts;
pub mod deliveries;
pub mod domain;
#[cfg(feature = "mail")]
pub mod emails;
pub mod events;
pub mod http;
pub mod invitation_counts;
pub mod invitations;
pub mod links;
pub mod memberships;
pub mod metrics;
pub mod notices;
pub mod quota;
pub mod recipients;
pub mod recorder;
pub mod roles;
#[cfg(feature = "bootstrap")]
pub mod schema;
mod seats;
pub mod sessions;
pub mod store;
pub mod stream;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod usecases;

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
