//! The use cases: each one request's rule, composed of the aggregates' conditions and writes
//! (customers, seats, memberships, accounts, roles, invitations, quota, sessions), usually in
//! one transaction whose refusal is read back by part. Nothing here speaks HTTP: the functions
//! call these and [`crate::http`] maps their errors to problems, in one place.

pub mod accept;
pub mod delete_account;
pub mod invite;
pub mod invite_batch;
pub mod leave;
pub mod list;
pub mod members;
pub mod onboarding;
pub mod resend;
pub mod roles;
pub mod tour;
pub mod upgrade;
