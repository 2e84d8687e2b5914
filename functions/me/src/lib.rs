//! `GET /me`: the caller's account and the customers it can access, with their roles.

use cloudhub::App;
use cloudhub::accounts::{self, Account};
use cloudhub::domain::{Language, Permission};
use cloudhub::http::{ApiError, caller, json};
use cloudhub::memberships::{MembershipStatus, RoleRef};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::collections::BTreeSet;
use time::OffsetDateTime;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MeAnswer {
    user: UserView,
    customers: Vec<CustomerAccess>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserView {
    id: String,
    email: String,
    language: Language,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CustomerAccess {
    customer_number: String,
    company_name: String,
    roles: Vec<RoleRef>,
    permissions: BTreeSet<Permission>,
    admin: bool,
    #[serde(with = "time::serde::rfc3339")]
    joined_at: OffsetDateTime,
}

impl From<Account> for MeAnswer {
    fn from(account: Account) -> Self {
        let customers = account
            .memberships
            .into_iter()
            .filter(|m| m.status == MembershipStatus::Active)
            .map(|m| CustomerAccess {
                admin: m.is_admin(),
                customer_number: m.customer_number.to_string(),
                company_name: m.company_name.to_string(),
                roles: m.roles,
                permissions: m.permissions,
                joined_at: m.joined_at,
            })
            .collect();
        Self {
            user: UserView {
                id: account.user.id.to_string(),
                email: account.user.email.to_string(),
                language: account.user.language,
                created_at: account.user.created_at,
            },
            customers,
        }
    }
}

/// Handles `GET /me`.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    me(app, &request).await.unwrap_or_else(ApiError::into_response)
}

#[tracing::instrument(name = "Reading the caller's account", skip_all)]
async fn me(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    // A session can outlive nothing but its account; without one it is no longer valid.
    let account = accounts::load(&app.store, &caller.user_id)
        .await?
        .ok_or(ApiError::InvalidSession)?;
    Ok(json(StatusCode::OK, &MeAnswer::from(account)))
}
