//! The HTTP edge every function shares: request bodies, the caller the authorizer vouched for,
//! and answers, with every failure mapped once to an RFC 9457 problem.

mod caller;
mod observe;
mod params;
mod problem;
mod problems;
pub mod routes;

/// Timestamps of answers ([`crate::domain::timestamp`]).
pub use crate::domain::timestamp;

pub use caller::{AuthorizerContext, Caller, bearer_token, caller, source_address};
pub use observe::{ProblemCode, RequestFacts, metric_of_answer, observed, run};
pub use params::{
    customer_in_path, email_search, invitation_in_path, query_parameter, query_parameters_of, role_in_path,
    user_in_path,
};
pub use problem::ApiError;
pub use problems::{AdminArea, every_refusal};

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest request body accepted; every body of the API is far smaller.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Parses a JSON request body into `T`, refusing (in this order) a missing or non-JSON content
/// type, an oversized body, malformed JSON, and JSON of the wrong shape (not an object; types,
/// missing or unknown fields, when `T` denies them).
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    // A body without a content type is refused rather than guessed at: a form post or a
    // `text/plain` "simple request" from another site must not pass for JSON.
    let Some(content_type) = request.headers().get(header::CONTENT_TYPE) else {
        return Err(ApiError::UnsupportedMediaType);
    };
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
    // serde reads a JSON array into a struct's fields in order (`["email", "password"]` would
    // log in), so only an object may reach `T`. Valid JSON starting with `{` is an object.
    if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::InvalidBody("the body must be a JSON object".into()));
    }
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

/// A CSV answer (`text/csv`, UTF-8), offered for download as `filename`.
pub fn csv(status: StatusCode, body: String, filename: &str) -> Response<Body> {
    let mut response = respond(status, "text/csv; charset=utf-8", body.into_bytes());
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct LoginBody {
        email: String,
        password: String,
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder().method("POST");
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        builder.body(Body::from(body.to_owned())).unwrap()
    }

    fn code_of(content_type: Option<&str>, body: &str) -> &'static str {
        json_body::<LoginBody>(&request(content_type, body)).unwrap_err().code()
    }

    #[test]
    fn an_object_of_the_right_shape_is_read() {
        let body: LoginBody = json_body(&request(
            Some("application/json; charset=utf-8"),
            r#" {"email":"a","password":"b"}"#,
        ))
        .unwrap();
        assert_eq!((body.email.as_str(), body.password.as_str()), ("a", "b"));
    }

    #[test]
    fn json_that_is_not_an_object_is_an_invalid_body_even_when_serde_could_read_it() {
        // serde would take the array as the struct's fields in order.
        for body in [
            r#"["a@example.com", "password"]"#,
            " [] ",
            "42",
            r#""text""#,
            "null",
            "true",
        ] {
            assert_eq!(code_of(Some("application/json"), body), "invalid-body", "{body}");
        }
    }

    #[test]
    fn a_body_without_a_content_type_is_unsupported() {
        assert_eq!(
            code_of(None, r#"{"email":"a","password":"b"}"#),
            "unsupported-media-type"
        );
        assert_eq!(
            code_of(Some("text/plain"), r#"{"email":"a","password":"b"}"#),
            "unsupported-media-type"
        );
    }
}
