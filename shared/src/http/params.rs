use super::ApiError;
use super::routes::{self, Route};
use crate::domain::{CustomerNumber, InvalidValue, InvitationId, RoleId, UserId};
use lambda_http::{Request, RequestExt};

fn path_parameter(request: &Request, name: &str) -> Option<String> {
    request
        .path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_owned)
}

/// The `{customerId}` of the path. A malformed number names no customer: 404.
pub fn customer_in_path(request: &Request) -> Result<CustomerNumber, ApiError> {
    path_parameter(request, "customerId")
        .and_then(|raw| CustomerNumber::parse(&raw).ok())
        .ok_or_else(|| ApiError::NotFound {
            code: "customer-not-found",
            detail: "There is no such customer.".into(),
        })
}

/// The `{invitationId}` of the path. A malformed id names no invitation: 404.
pub fn invitation_in_path(request: &Request) -> Result<InvitationId, ApiError> {
    path_parameter(request, "invitationId")
        .and_then(|raw| InvitationId::parse(&raw).ok())
        .ok_or_else(|| ApiError::NotFound {
            code: "invitation-not-found",
            detail: "There is no such invitation in this customer.".into(),
        })
}

/// The `{roleId}` of the path. A malformed id names no role: 404.
pub fn role_in_path(request: &Request) -> Result<RoleId, ApiError> {
    path_parameter(request, "roleId")
        .and_then(|raw| RoleId::parse(&raw).ok())
        .ok_or_else(|| ApiError::NotFound {
            code: "role-not-found",
            detail: "There is no such role in this customer.".into(),
        })
}

/// The `{userId}` of the path. A malformed id names no user: 404.
pub fn user_in_path(request: &Request) -> Result<UserId, ApiError> {
    path_parameter(request, "userId")
        .and_then(|raw| UserId::parse(&raw).ok())
        .ok_or_else(|| ApiError::NotFound {
            code: "user-not-found",
            detail: "There is no such user in this customer.".into(),
        })
}

/// A query-string parameter, if given once; given twice is a 400.
pub fn query_parameter(request: &Request, name: &str) -> Result<Option<String>, ApiError> {
    let parameters = request.query_string_parameters_ref();
    let values: Vec<&str> = parameters.and_then(|p| p.all(name)).unwrap_or_default();
    match values.as_slice() {
        [] => Ok(None),
        [value] => Ok(Some((*value).to_owned())),
        _ => Err(ApiError::InvalidQuery(InvalidValue {
            code: "invalid-query",
            reason: format!("The query parameter `{name}` is given more than once."),
        })),
    }
}

/// The `email` search of a table (users, invitations): the start of an email address, in any
/// case (emails are stored lower-cased), else 400 `invalid-search`.
pub fn email_search(request: &Request) -> Result<Option<String>, ApiError> {
    query_parameter(request, "email")?
        .map(|raw| {
            let prefix = raw.trim().to_lowercase();
            let allowed = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-@".contains(c);
            if prefix.is_empty() || prefix.len() > 254 || !prefix.chars().all(allowed) {
                Err(ApiError::InvalidQuery(InvalidValue {
                    code: "invalid-search",
                    reason: "`email` is the start of an email address (its characters only, at most 254).".into(),
                }))
            } else {
                Ok(prefix)
            }
        })
        .transpose()
}

/// The query parameters a route takes, by its route key (`GET /customers/{customerId}/invitations`);
/// every other route takes none. `infra/openapi.yaml` documents the same (a test compares them).
pub fn query_parameters_of(route: &str) -> &'static [&'static str] {
    match Route::of_key(route) {
        Some(routes::INVITATIONS_LIST) => &["status", "email", "limit", "cursor"],
        Some(routes::ACTIVITY_LIST) => &["kind", "email", "from", "to", "limit", "cursor", "format"],
        Some(routes::ROLES_DELETE) => &["confirm"],
        Some(routes::USERS_LIST) => &["limit", "cursor", "email", "role", "restricted", "admin"],
        _ => &[],
    }
}

/// Refuses a query parameter the route does not take (400 `invalid-query`): a misspelt
/// `staus=pending` would otherwise silently list everything.
pub(crate) fn refuse_unknown_query_parameters(request: &Request, route: &str) -> Result<(), ApiError> {
    // No route took the request: its answer is 404 or 405, whatever its query.
    if route == routes::DEFAULT_ROUTE {
        return Ok(());
    }
    let allowed = query_parameters_of(route);
    let parameters = request.query_string_parameters_ref();
    let unknown = parameters
        .into_iter()
        .flat_map(|parameters| parameters.iter())
        .map(|(name, _)| name)
        .filter(|name| !allowed.contains(name))
        .min();
    match unknown {
        None => Ok(()),
        Some(name) => Err(ApiError::InvalidQuery(InvalidValue {
            code: "invalid-query",
            reason: format!(
                "`{}` is not a query parameter of this route.",
                name.chars().take(64).collect::<String>()
            ),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with_query(pairs: &[(&str, &str)]) -> Request {
        let query: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        lambda_http::http::Request::builder()
            .body(lambda_http::Body::Empty)
            .unwrap()
            .with_query_string_parameters(query)
    }

    const LIST: &str = "GET /customers/{customerId}/invitations";

    #[test]
    fn a_route_accepts_the_parameters_it_takes() {
        let request = with_query(&[("status", "pending"), ("limit", "5"), ("cursor", "x")]);
        assert!(refuse_unknown_query_parameters(&request, LIST).is_ok());
        assert!(refuse_unknown_query_parameters(&with_query(&[]), "GET /me").is_ok());
    }

    #[test]
    fn an_unknown_parameter_is_an_invalid_query() {
        let refused = |request: &Request, route| refuse_unknown_query_parameters(request, route).unwrap_err();
        let misspelt = refused(&with_query(&[("staus", "pending")]), LIST);
        assert_eq!((misspelt.status().as_u16(), misspelt.code()), (400, "invalid-query"));
        assert_eq!(
            refused(&with_query(&[("status", "all")]), "GET /me").code(),
            "invalid-query"
        );
        // A route the table does not know takes nothing.
        assert_eq!(refused(&with_query(&[("limit", "1")]), "-").code(), "invalid-query");
    }
}
