//! The HTTP API, end to end through the local gateway (routes of template.yaml, the authorizer,
//! the functions' handlers) against fresh tables on DynamoDB Local. One file per feature.

// The AWS SDK's futures nest deeply; computing their layout needs more than the default 128.
#![recursion_limit = "256"]

mod accept;
mod accept_steps;
mod access;
mod activity;
mod bad_input;
mod batch;
mod big_roles;
mod cors;
mod delete_me;
mod deliveries;
mod emails;
mod events;
mod helpers;
mod invitation_counts;
mod invitation_outcomes;
mod invitations;
mod invitations_pages;
mod joined;
mod leave;
mod link_keys;
mod links_why;
mod login;
mod logout;
mod mailer_failures;
mod me;
mod moto;
mod my_invitations;
mod observability;
mod openapi;
mod operator;
mod outages;
mod quota;
mod renewal;
mod roles;
mod schema;
mod secrets;
mod server;
mod template;
mod tenancy;
mod timestamps;
mod users;
mod users_pages;
