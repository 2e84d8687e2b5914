//! `GET /customers/{customerId}/invitation-quota`: the caller's invitation quota today (it is
//! per admin across all customers): limit, used, remaining, resets at.

use cloudhub::App;
use cloudhub::http::AdminArea;
use cloudhub::http::{ApiError, caller, customer_in_path, json};
use cloudhub::{memberships, quota};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

/// Handles `GET /customers/{customerId}/invitation-quota`.
#[tracing::instrument(name = "Reading the invitation quota", skip_all)]
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(&request)?;
    let customer = customer_in_path(&request)?;
    let now = app.clock.now();
    let (admin, quota) = tokio::try_join!(
        memberships::is_admin(&app.store, &customer, &caller.user_id),
        quota::read(&app.store, &caller.user_id, now),
    )?;
    if !admin {
        return Err(AdminArea::Quota.into());
    }
    Ok(json(StatusCode::OK, &quota))
}
