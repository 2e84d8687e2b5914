//! The HTTP API's `$default` route: every request no other route takes. An unknown path is 404
//! `route-not-found`; a known path with another method is 405 `method-not-allowed` with `Allow`.
//! Both are problem+json, as every other answer, where API Gateway alone would answer a bare
//! `{"message":"Not Found"}`. No session and no AWS service is needed to say so.

use cloudhub::http::{ApiError, routes};
use lambda_http::{Body, Request, Response};

/// Handles a request no route of the API takes.
#[tracing::instrument(name = "Answering a request no route takes", skip_all)]
pub async fn handle(request: Request) -> Result<Response<Body>, ApiError> {
    Err(routes::unmatched(request.method().as_str(), request.uri().path()))
}
