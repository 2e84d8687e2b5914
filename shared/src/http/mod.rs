//! The HTTP edge every function shares: request bodies, the caller the authorizer vouched for,
//! and answers, with every failure mapped once to an RFC 9457 problem.

mod caller;
mod observe;
mod params;
mod problem;

pub use caller::{AuthorizerContext, Caller, bearer_token, caller, source_address};
pub use observe::{ProblemCode, RequestFacts, metric_of_answer, observed, run};
pub use params::{customer_in_path, invitation_in_path, query_parameter, role_in_path, user_in_path};
pub use problem::ApiError;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest request body accepted; every body of the API is far smaller.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Parses a JSON request body into `T`, refusing (in this order) a non-JSON content type,
/// an oversized body, malformed JSON, and JSON of the wrong shape (types, missing or unknown
/// fields, when `T` denies them).
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
        let essence = content_type
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::BodyTooLarge);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson("The request needs a JSON body.".into()));
    }
    // Syntax first, so that broken JSON is `malformed-json` whatever field it breaks off in.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|error| ApiError::MalformedJson(error.to_string()))?;
    serde_json::from_slice(bytes).map_err(|error| ApiError::InvalidBody(error.to_string()))
}

/// A JSON answer. API answers are personal, so nothing may cache them.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_vec(body) {
        Ok(bytes) => respond(status, "application/json", bytes),
        Err(error) => {
            ApiError::Unexpected(anyhow::Error::new(error).context("Failed to serialise an answer.")).into_response()
        }
    }
}

/// An empty 204 answer.
pub fn no_content() -> Response<Body> {
    respond(StatusCode::NO_CONTENT, "", Vec::new())
}

fn respond(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(if body.is_empty() { Body::Empty } else { Body::from(body) });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if !content_type.is_empty() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
