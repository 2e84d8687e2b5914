use super::ApiError;
use crate::domain::{Email, SecretToken, SourceAddress, UserId};
use lambda_http::http::{HeaderMap, header};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::{Deserialize, Serialize};

/// What the Lambda authorizer hands to the functions (`requestContext.authorizer.lambda`).
///
/// The authorizer lets every request through and says here who the caller is, or why it is
/// nobody: API Gateway HTTP APIs answer an authorizer's denial with a bare `{"message"}` body,
/// and the contract promises `application/problem+json` with a code for missing, forged and
/// expired sessions. So each function refuses anonymous callers itself, through [`caller`].
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerContext {
    /// The session's user, when the session is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The session's email address, when the session is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Why there is no caller: a problem code (`missing-session`, `invalid-session`, `session-expired`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The authenticated user making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account.
    pub user_id: UserId,
    /// Its email address.
    pub email: Email,
}

impl Caller {
    /// The caller acting as an admin (which the use case's own write checks).
    pub fn as_admin(&self) -> crate::domain::Admin {
        crate::domain::Admin {
            user_id: self.user_id,
            email: self.email.clone(),
        }
    }
}

/// The caller the authorizer vouched for, or the 401 problem that says why there is none.
/// A request that reached the function without the authorizer has no caller.
pub fn caller(request: &Request) -> Result<Caller, ApiError> {
    let context = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .map(|authorizer| serde_json::Value::Object(authorizer.fields.clone().into_iter().collect()))
            .and_then(|fields| serde_json::from_value::<AuthorizerContext>(fields).ok())
            .unwrap_or_default(),
        _ => AuthorizerContext::default(),
    };
    match (context.user_id, context.email, context.failure.as_deref()) {
        (Some(user_id), Some(email), None) => Ok(Caller {
            user_id: UserId::parse(&user_id).map_err(|_| ApiError::InvalidSession)?,
            email: Email::parse(&email).map_err(|_| ApiError::InvalidSession)?,
        }),
        (_, _, Some("session-expired")) => Err(ApiError::SessionExpired),
        (_, _, Some("service-unavailable")) => Err(ApiError::Unavailable { retry_after_secs: 1 }),
        (_, _, Some("invalid-session")) => Err(ApiError::InvalidSession),
        _ => Err(ApiError::MissingSession),
    }
}

/// The address API Gateway saw the request come from (`requestContext.http.sourceIp`, the TCP
/// peer, which a client cannot forge the way it can forge `X-Forwarded-For`), as the log-in
/// throttle counts it.
pub fn source_address(request: &Request) -> SourceAddress {
    let source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.as_deref(),
        _ => None,
    };
    SourceAddress::parse_or_unknown(source_ip)
}

/// The session token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Result<SecretToken, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or(ApiError::MissingSession)?;
    let value = value.to_str().map_err(|_| ApiError::InvalidSession)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::InvalidSession)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::InvalidSession);
    }
    SecretToken::parse(token.trim()).map_err(|_| ApiError::InvalidSession)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
        headers
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let token = SecretToken::generate();
        let read = bearer_token(&headers(&format!("bearer {}", token.reveal()))).unwrap();
        assert_eq!(read.hash(), token.hash());
    }

    #[test]
    fn missing_and_malformed_headers_are_told_apart() {
        assert!(matches!(bearer_token(&HeaderMap::new()), Err(ApiError::MissingSession)));
        let token = SecretToken::generate();
        for value in [
            format!("Basic {}", token.reveal()),
            "Bearer".into(),
            "Bearer abc".into(),
            token.reveal().into(),
        ] {
            assert!(
                matches!(bearer_token(&headers(&value)), Err(ApiError::InvalidSession)),
                "{value}"
            );
        }
    }
}
