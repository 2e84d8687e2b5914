//! `POST /auth/logout`: ends the caller's session at once.

use cloudhub::App;
use cloudhub::http::{ApiError, bearer_token, caller, no_content};
use cloudhub::sessions;
use lambda_http::{Body, Request, Response};

/// Handles `POST /auth/logout`.
#[tracing::instrument(name = "Logging out", skip_all)]
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(&request)?;
    let token = bearer_token(request.headers())?;
    // A session that ended between the authorizer's check and now is ended all the same.
    sessions::end(&app.store, &token).await?;
    tracing::info!(user_id = %caller.user_id, "logged out");
    Ok(no_content())
}
