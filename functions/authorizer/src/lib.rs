//! The Lambda authorizer of the HTTP API: turns the bearer session into the caller's identity.
//!
//! It authorizes every request and states the outcome in its context (see
//! [`cloudhub::http::AuthorizerContext`] for why); functions refuse anonymous callers with a
//! problem+json 401. One GetItem per request.

use cloudhub::App;
use cloudhub::http::{ApiError, AuthorizerContext, bearer_token};
use cloudhub::sessions::{self, Lookup};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use serde::{Deserialize, Serialize};

/// The "simple response" an HTTP API authorizer returns (payload format 2.0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    /// Always true: the functions decide, so that refusals are problem+json.
    pub is_authorized: bool,
    /// Who the caller is, or why it is nobody.
    pub context: AuthorizerContext,
}

/// Checks the request's session.
#[tracing::instrument(name = "Authorizing a request", skip_all, fields(route = request.route_key.as_deref().unwrap_or("")))]
pub async fn authorize(app: &App, request: ApiGatewayV2CustomAuthorizerV2Request) -> AuthorizerResponse {
    let started = std::time::Instant::now();
    let context = match identify(app, &request).await {
        Ok(context) => context,
        Err(refusal) => AuthorizerContext {
            failure: Some(refusal.code().to_owned()),
            ..AuthorizerContext::default()
        },
    };
    // The request's one line: who the caller is (a user id, never the token or the email) or why
    // there is none.
    tracing::info!(
        request_id = request.request_context.request_id.as_deref(),
        route = request.route_key.as_deref(),
        user = context.user_id.as_deref(),
        failure = context.failure.as_deref(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "authorized"
    );
    AuthorizerResponse {
        is_authorized: true,
        context,
    }
}

async fn identify(app: &App, request: &ApiGatewayV2CustomAuthorizerV2Request) -> Result<AuthorizerContext, ApiError> {
    let token = bearer_token(&request.headers)?;
    match sessions::find(&app.store, &token, app.clock.now()).await {
        Ok(Lookup::Valid(session)) => Ok(AuthorizerContext {
            user_id: Some(session.user_id.to_string()),
            email: Some(session.email.to_string()),
            failure: None,
        }),
        Ok(Lookup::Expired) => Err(ApiError::SessionExpired),
        Ok(Lookup::Unknown) => Err(ApiError::InvalidSession),
        Err(error) => {
            tracing::error!(error = ?error, "the session store is unavailable");
            Err(ApiError::Unavailable { retry_after_secs: 1 })
        }
    }
}
