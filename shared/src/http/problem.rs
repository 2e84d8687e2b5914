use crate::domain::InvalidValue;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Map, Value, json};

/// The `Retry-After` of a 503 caused by a dependency.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// Every way a request can fail, each with one status and one stable `code`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON at all.
    #[error("The request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// The body is JSON of the wrong shape: wrong types, missing or unknown fields.
    #[error("The request body does not have the expected fields: {0}")]
    InvalidBody(String),
    /// The body exceeds `MAX_BODY_BYTES`.
    #[error("The request body is larger than 16 KiB.")]
    BodyTooLarge,
    /// The body is not `application/json`.
    #[error("The request body must be application/json.")]
    UnsupportedMediaType,
    /// A field holds a value the domain refuses (an invalid email, a too-short password, ...).
    #[error(transparent)]
    InvalidValue(#[from] InvalidValue),
    /// A query or path parameter the API cannot use (400).
    #[error(transparent)]
    InvalidQuery(InvalidValue),
    /// The request is well-formed but names what cannot be (e.g. roles that do not exist).
    #[error("{detail}")]
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// Human sentence.
        detail: String,
        /// Extra members of the problem object.
        extensions: Map<String, Value>,
    },
    /// The admin's daily invitation quota is used up.
    #[error("{detail}")]
    QuotaExhausted {
        /// Human sentence.
        detail: String,
        /// The next UTC midnight.
        resets_at: time::OffsetDateTime,
        /// Seconds until then.
        retry_after_secs: u64,
    },
    /// No `Authorization: Bearer` header.
    #[error("This request needs a session: send `Authorization: Bearer <session token>`.")]
    MissingSession,
    /// The bearer token is not a live session (forged, unknown, or logged out).
    #[error("The session is not valid. Log in again.")]
    InvalidSession,
    /// The session has expired.
    #[error("The session has expired. Log in again.")]
    SessionExpired,
    /// Unknown email or wrong password: deliberately one answer for both.
    #[error("The email address or the password is not correct.")]
    InvalidCredentials,
    /// Too many failed log-ins for one email address from the caller's source address.
    #[error("Too many failed log-ins for this email address from your network. Try again later.")]
    TooManyLoginAttempts {
        /// Seconds until attempts are counted afresh.
        retry_after_secs: u64,
    },
    /// Too many failed log-ins from the caller's source address, across all email addresses.
    #[error("Too many failed log-ins from your network. Try again later.")]
    TooManyLoginAttemptsFromSource {
        /// Seconds until attempts are counted afresh.
        retry_after_secs: u64,
    },
    /// The same request was answered a moment ago; once is enough until `Retry-After`.
    #[error("{detail}")]
    AskedAlready {
        /// Stable code.
        code: &'static str,
        /// Human sentence.
        detail: String,
        /// Seconds until it may be asked again.
        retry_after_secs: u64,
    },
    /// The caller may not do this.
    #[error("{detail}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Human sentence.
        detail: String,
    },
    /// What the request names does not exist (or is not the caller's to see).
    #[error("{detail}")]
    NotFound {
        /// Stable code.
        code: &'static str,
        /// Human sentence.
        detail: String,
    },
    /// The request contradicts the current state.
    #[error("{detail}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Human sentence.
        detail: String,
        /// Extra members of the problem object (e.g. the conflicting invitation's id).
        extensions: Map<String, Value>,
    },
    /// What the request names existed but is over for good (an expired invitation link).
    #[error("{detail}")]
    Gone {
        /// Stable code.
        code: &'static str,
        /// Human sentence.
        detail: String,
    },
    /// No route matches the method and path.
    #[error("No route matches {0}.")]
    RouteNotFound(String),
    /// The path exists, but not with this method.
    #[error("This path takes only {}.", .allowed.join(", "))]
    MethodNotAllowed {
        /// The methods it takes (the `Allow` header).
        allowed: Vec<&'static str>,
    },
    /// A dependency is briefly unavailable; the request changed nothing and may be retried.
    #[error("The service is busy. Retry shortly; nothing was changed.")]
    Unavailable {
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// A bug or an outage. Logged in full; the caller sees no detail.
    #[error("Something went wrong on our side. Nothing was changed; please try again.")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            Self::InvalidBody(_) | Self::InvalidValue(_) | Self::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::QuotaExhausted { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MissingSession | Self::InvalidSession | Self::SessionExpired | Self::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            Self::TooManyLoginAttempts { .. }
            | Self::TooManyLoginAttemptsFromSource { .. }
            | Self::AskedAlready { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } | Self::RouteNotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Gone { .. } => StatusCode::GONE,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code the frontend switches on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed-json",
            Self::InvalidBody(_) => "invalid-body",
            Self::BodyTooLarge => "body-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::InvalidValue(invalid) | Self::InvalidQuery(invalid) => invalid.code,
            Self::Unprocessable { code, .. } => code,
            Self::QuotaExhausted { .. } => "invitation-quota-exhausted",
            Self::MissingSession => "missing-session",
            Self::InvalidSession => "invalid-session",
            Self::SessionExpired => "session-expired",
            Self::InvalidCredentials => "invalid-credentials",
            Self::TooManyLoginAttempts { .. } => "too-many-login-attempts",
            Self::TooManyLoginAttemptsFromSource { .. } => "too-many-login-attempts-from-source",
            Self::Forbidden { code, .. }
            | Self::AskedAlready { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Gone { code, .. } => code,
            Self::RouteNotFound(_) => "route-not-found",
            Self::MethodNotAllowed { .. } => "method-not-allowed",
            Self::Unavailable { .. } => "service-unavailable",
            Self::Unexpected(_) => "internal-error",
        }
    }

    fn title(&self) -> &'static str {
        match self.status() {
            StatusCode::BAD_REQUEST => "Malformed request",
            StatusCode::UNPROCESSABLE_ENTITY => "Invalid request",
            StatusCode::PAYLOAD_TOO_LARGE => "Request body too large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type",
            StatusCode::UNAUTHORIZED => "Not authenticated",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::GONE => "Gone",
            StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
            _ => "Internal error",
        }
    }

    /// The `application/problem+json` answer. Unexpected errors are logged here, once, with
    /// their whole chain of causes; the caller sees only the code. An unexpected error caused by
    /// an AWS service that is down, slow or throttling ([`crate::aws::Unavailable`]) is answered
    /// 503 with `Retry-After`: nothing was changed, and a retry may succeed.
    pub fn into_response(self) -> Response<Body> {
        self.resolved().answer()
    }

    /// The problem object alone, as [`ApiError::into_response`] would answer it: for an answer
    /// that carries problems of its parts (a batch's rows).
    pub fn into_problem(self) -> Value {
        let this = self.resolved();
        this.log_unexpected();
        this.problem()
    }

    /// An unexpected error of an unavailable dependency as the 503 it answers.
    fn resolved(self) -> Self {
        match self {
            Self::Unexpected(error) if crate::aws::is_unavailable(&error) => {
                tracing::warn!(error = format!("{error:#}"), "a dependency is unavailable");
                Self::Unavailable {
                    retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS,
                }
            }
            other => other,
        }
    }

    fn log_unexpected(&self) {
        if let Self::Unexpected(error) = self {
            tracing::error!(error = ?error, "request failed unexpectedly");
        }
    }

    /// The RFC 9457 object, with the extensions of its code.
    fn problem(&self) -> Value {
        let code = self.code();
        let mut problem = json!({
            "type": format!("urn:cloudhub:problem:{code}"),
            "title": self.title(),
            "status": self.status().as_u16(),
            "detail": self.to_string(),
            "code": code,
        });
        if let Some(object) = problem.as_object_mut() {
            match self {
                Self::Conflict { extensions, .. } | Self::Unprocessable { extensions, .. } => {
                    object.extend(extensions.clone());
                }
                Self::QuotaExhausted { resets_at, .. } => {
                    object.insert("resetsAt".into(), Value::String(super::timestamp::format(*resets_at)));
                }
                _ => {}
            }
        }
        problem
    }

    fn answer(self) -> Response<Body> {
        let status = self.status();
        self.log_unexpected();
        let code = self.code();
        let problem = self.problem();
        let retry_after = match &self {
            Self::TooManyLoginAttempts { retry_after_secs }
            | Self::TooManyLoginAttemptsFromSource { retry_after_secs }
            | Self::Unavailable { retry_after_secs }
            | Self::AskedAlready { retry_after_secs, .. }
            | Self::QuotaExhausted { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        let mut response = Response::new(Body::from(problem.to_string()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Self::MethodNotAllowed { allowed } = &self
            && let Ok(allow) = HeaderValue::from_str(&allowed.join(", "))
        {
            headers.insert(header::ALLOW, allow);
        }
        response.extensions_mut().insert(super::ProblemCode(code));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &Response<Body>) -> Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn problems_follow_rfc_9457_with_a_code() {
        let response = ApiError::InvalidValue(InvalidValue::new("invalid-email", "`x` is not valid.")).into_response();
        assert_eq!(response.status(), 422);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        let body = body_of(&response);
        assert_eq!(body["code"], "invalid-email");
        assert_eq!(body["status"], 422);
        assert_eq!(body["type"], "urn:cloudhub:problem:invalid-email");
        assert_eq!(body["detail"], "`x` is not valid.");
        assert!(body["title"].is_string());
    }

    #[test]
    fn unexpected_errors_hide_their_cause() {
        let response = ApiError::Unexpected(anyhow::anyhow!("table cloudhub-data is gone")).into_response();
        assert_eq!(response.status(), 500);
        assert!(!body_of(&response).to_string().contains("cloudhub-data"));
    }

    #[test]
    fn an_unavailable_dependency_is_a_503_with_retry_after_and_hides_its_cause() {
        let cause = anyhow::anyhow!("table cloudhub-data timed out").context(crate::aws::Unavailable);
        let response = ApiError::Unexpected(cause.context("Failed to read a seat.")).into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let body = body_of(&response);
        assert_eq!(body["code"], "service-unavailable");
        assert!(!body.to_string().contains("cloudhub-data"));
        // Without the mark, it stays a 500.
        let response = ApiError::Unexpected(anyhow::anyhow!("a bug")).into_response();
        assert_eq!(response.status(), 500);
    }

    #[test]
    fn throttling_says_when_to_retry() {
        let response = ApiError::TooManyLoginAttempts { retry_after_secs: 120 }.into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "120");
        let response = ApiError::TooManyLoginAttemptsFromSource { retry_after_secs: 1800 }.into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1800");
        assert_eq!(body_of(&response)["code"], "too-many-login-attempts-from-source");
    }

    #[test]
    fn conflicts_carry_their_extensions() {
        let mut extensions = Map::new();
        extensions.insert("invitationId".into(), json!("01J"));
        let response = ApiError::Conflict {
            code: "invitation-pending",
            detail: "d".into(),
            extensions,
        }
        .into_response();
        assert_eq!(body_of(&response)["invitationId"], "01J");
    }
}
