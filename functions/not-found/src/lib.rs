//! The HTTP API's `$default` route: every request no other route takes. An unknown path is 404
//! `route-not-found`; a known path with another method is 405 `method-not-allowed` with `Allow`.
//! Both are problem+json, as every other answer, where API Gateway alone would answer a bare
//! `{"message":"Not Found"}`. No session and no AWS service is needed to say so.
//!
//! `OPTIONS` on a known path is 204 with `Allow`: a `$default` route with method `ANY` also
//! catches browsers' CORS preflights (API Gateway's documentation on CORS and `$default`), and
//! a preflight needs a successful status; API Gateway adds the CORS headers to the answer.

use cloudhub::http::{ApiError, routes};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

/// Handles a request no route of the API takes.
#[tracing::instrument(name = "Answering a request no route takes", skip_all)]
pub async fn handle(request: Request) -> Result<Response<Body>, ApiError> {
    let path = request.uri().path();
    let methods = routes::methods_of(path);
    if request.method() == Method::OPTIONS && !methods.is_empty() {
        let allow = methods
            .iter()
            .copied()
            .chain(["OPTIONS"])
            .collect::<Vec<_>>()
            .join(", ");
        return Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header("allow", allow)
            .header("cache-control", "no-store")
            .body(Body::Empty)
            .map_err(|error| ApiError::Unexpected(error.into()));
    }
    Err(routes::unmatched(request.method().as_str(), path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, path: &str) -> Request {
        lambda_http::http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::Empty)
            .unwrap()
    }

    #[tokio::test]
    async fn options_on_a_known_path_succeeds_so_that_a_preflight_can_and_elsewhere_is_not_found() {
        let answer = handle(request(Method::OPTIONS, "/customers/100234/invitations"))
            .await
            .unwrap();
        assert_eq!(answer.status(), 204);
        assert_eq!(answer.headers()["allow"], "GET, POST, OPTIONS");
        let unknown = handle(request(Method::OPTIONS, "/nowhere")).await.unwrap_err();
        assert_eq!(unknown.code(), "route-not-found");
        let patch = handle(request(Method::PATCH, "/me")).await.unwrap_err();
        assert_eq!(patch.code(), "method-not-allowed");
    }
}
