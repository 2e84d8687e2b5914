//! The HTTP API's routes as `template.yaml` declares them (a test of `infra` keeps the two
//! equal), each defined once: the functions dispatch on them, the request log's metrics name
//! them, and the answer to requests no route takes (API Gateway hands those to the `$default`
//! route, and the local gateway to the same handler) lists their methods.

use super::ApiError;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// The route key of requests no other route matches.
pub const DEFAULT_ROUTE: &str = "$default";

/// One route of the HTTP API. Its route key, which API Gateway hands the function as
/// `requestContext.routeKey`, is the method and the path template with a space between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST`, ...
    pub method: &'static str,
    /// The path template, e.g. `/customers/{customerId}/roles/{roleId}`.
    pub path: &'static str,
}

impl Route {
    /// The route whose key is `key` (`PUT /customers/{customerId}/roles/{roleId}`), if the API
    /// has one.
    pub fn of_key(key: &str) -> Option<Self> {
        let (method, path) = key.split_once(' ')?;
        ROUTES
            .iter()
            .copied()
            .find(|route| route.method == method && route.path == path)
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

const fn route(method: &'static str, path: &'static str) -> Route {
    Route { method, path }
}

/// Logging in with email and password.
pub const AUTH_LOGIN: Route = route("POST", "/auth/login");
/// Logging out: the session ends.
pub const AUTH_LOGOUT: Route = route("POST", "/auth/logout");
/// A customer's activity log.
pub const ACTIVITY_LIST: Route = route("GET", "/customers/{customerId}/activity");
/// A customer's invitation quota.
pub const INVITATION_QUOTA: Route = route("GET", "/customers/{customerId}/invitation-quota");
/// Listing a customer's invitations.
pub const INVITATIONS_LIST: Route = route("GET", "/customers/{customerId}/invitations");
/// Inviting an email address.
pub const INVITATIONS_CREATE: Route = route("POST", "/customers/{customerId}/invitations");
/// Inviting up to 50 email addresses at once, one result per row.
pub const INVITATIONS_BATCH: Route = route("POST", "/customers/{customerId}/invitations/batch");
/// Deleting an invitation and its link.
pub const INVITATIONS_DELETE: Route = route("DELETE", "/customers/{customerId}/invitations/{invitationId}");
/// Reading one invitation.
pub const INVITATIONS_SHOW: Route = route("GET", "/customers/{customerId}/invitations/{invitationId}");
/// Sending an invitation again, with a new link.
pub const INVITATIONS_RESEND: Route = route("POST", "/customers/{customerId}/invitations/{invitationId}/resend");
/// Listing a customer's roles.
pub const ROLES_LIST: Route = route("GET", "/customers/{customerId}/roles");
/// Creating a role.
pub const ROLES_CREATE: Route = route("POST", "/customers/{customerId}/roles");
/// Deleting a role.
pub const ROLES_DELETE: Route = route("DELETE", "/customers/{customerId}/roles/{roleId}");
/// Editing a role.
pub const ROLES_EDIT: Route = route("PUT", "/customers/{customerId}/roles/{roleId}");
/// Listing a customer's users.
pub const USERS_LIST: Route = route("GET", "/customers/{customerId}/users");
/// Assigning a user's roles.
pub const USERS_ASSIGN_ROLES: Route = route("PUT", "/customers/{customerId}/users/{userId}/roles");
/// Previewing an invitation link.
pub const LINK_PREVIEW: Route = route("GET", "/invitations/{token}");
/// Accepting an invitation link.
pub const LINK_ACCEPT: Route = route("POST", "/invitations/{token}/accept");
/// Asking for a new link in place of an expired one.
pub const LINK_RENEWAL_REQUEST: Route = route("POST", "/invitations/{token}/renewal-request");
/// The caller's own account.
pub const ME: Route = route("GET", "/me");
/// The invitations addressed to the caller's email, across customers.
pub const ME_INVITATIONS: Route = route("GET", "/me/invitations");
/// The caller accepting one of its invitations without the link.
pub const ME_INVITATION_ACCEPT: Route = route("POST", "/me/invitations/{customerId}/{invitationId}/accept");
/// The caller deleting its own account.
pub const ME_DELETE: Route = route("DELETE", "/me");
/// The caller declining one of its invitations.
pub const ME_INVITATION_DECLINE: Route = route("POST", "/me/invitations/{customerId}/{invitationId}/decline");
/// The caller leaving a customer.
pub const ME_LEAVE_CUSTOMER: Route = route("POST", "/me/customers/{customerId}/leave");
/// The caller's settings (language).
pub const ME_SETTINGS: Route = route("PUT", "/me/settings");
/// The caller having seen welcome-tour steps.
pub const ME_TOUR_COMPLETE: Route = route("POST", "/me/tour/complete");

/// Every route of the HTTP API but `$default`, sorted by path.
pub const ROUTES: &[Route] = &[
    AUTH_LOGIN,
    AUTH_LOGOUT,
    ACTIVITY_LIST,
    INVITATION_QUOTA,
    INVITATIONS_LIST,
    INVITATIONS_CREATE,
    INVITATIONS_BATCH,
    INVITATIONS_DELETE,
    INVITATIONS_SHOW,
    INVITATIONS_RESEND,
    ROLES_LIST,
    ROLES_CREATE,
    ROLES_DELETE,
    ROLES_EDIT,
    USERS_LIST,
    USERS_ASSIGN_ROLES,
    LINK_PREVIEW,
    LINK_ACCEPT,
    LINK_RENEWAL_REQUEST,
    ME_DELETE,
    ME,
    ME_LEAVE_CUSTOMER,
    ME_INVITATIONS,
    ME_INVITATION_ACCEPT,
    ME_INVITATION_DECLINE,
    ME_SETTINGS,
    ME_TOUR_COMPLETE,
];

/// The route API Gateway matched `request` to (its `requestContext.routeKey`). A request without
/// a route key of the API cannot have come through API Gateway's routes: an internal error.
pub fn route_of(request: &Request) -> Result<Route, ApiError> {
    let key = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.route_key.as_deref(),
        _ => None,
    };
    key.and_then(Route::of_key).ok_or_else(|| {
        ApiError::Unexpected(anyhow::anyhow!(
            "The request came with the route key {key:?}, which is no route of the API."
        ))
    })
}

/// The error of a function handed a route it does not serve: `template.yaml` routes that route
/// to another function, so only a broken deployment gets here.
pub fn not_served(route: Route) -> ApiError {
    ApiError::Unexpected(anyhow::anyhow!("This function does not serve the route {route}."))
}

/// Whether `path` fits the path template `template`: the same segments, each `{parameter}`
/// standing for one non-empty segment.
pub fn path_matches(template: &str, path: &str) -> bool {
    let pattern: Vec<&str> = template.trim_matches('/').split('/').collect();
    let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
    pattern.len() == actual.len()
        && pattern.iter().zip(&actual).all(|(expected, segment)| {
            if expected.starts_with('{') && expected.ends_with('}') {
                !segment.is_empty()
            } else {
                expected == segment
            }
        })
}

/// The methods the routes of `path` take, in a fixed order; none for an unknown path.
pub fn methods_of(path: &str) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = ROUTES
        .iter()
        .filter(|route| path_matches(route.path, path))
        .map(|route| route.method)
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// The answer to `method` on `path` when no route took it: 405 `method-not-allowed` (with
/// `Allow`) when other methods of that path exist, else 404 `route-not-found`.
pub fn unmatched(method: &str, path: &str) -> ApiError {
    let allowed = methods_of(path);
    if allowed.is_empty() || allowed.contains(&method) {
        ApiError::RouteNotFound(format!("{method} {path}"))
    } else {
        ApiError::MethodNotAllowed { allowed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_path_is_not_found_and_a_known_one_names_its_methods() {
        assert_eq!(unmatched("GET", "/nowhere").code(), "route-not-found");
        assert_eq!(
            unmatched("GET", "/customers/1/invitations/2/3").code(),
            "route-not-found"
        );
        let refused = unmatched("PATCH", "/customers/100234/invitations");
        assert_eq!((refused.status().as_u16(), refused.code()), (405, "method-not-allowed"));
        let response = refused.into_response();
        assert_eq!(response.headers()["allow"], "GET, POST");
        assert_eq!(
            unmatched("POST", "/customers/100234/invitations/01KAWDEM0000000000000000NV").code(),
            "method-not-allowed"
        );
        assert!(methods_of("/customers//invitations").is_empty());
    }

    #[test]
    fn a_route_is_found_by_its_key_and_only_by_it() {
        assert_eq!(
            Route::of_key("PUT /customers/{customerId}/roles/{roleId}"),
            Some(ROLES_EDIT)
        );
        assert_eq!(ROLES_EDIT.to_string(), "PUT /customers/{customerId}/roles/{roleId}");
        for key in [
            DEFAULT_ROUTE,
            "PATCH /customers/{customerId}/roles/{roleId}",
            "PUT /customers/100234/roles/1",
            "PUT/customers/{customerId}/roles/{roleId}",
            "",
        ] {
            assert_eq!(Route::of_key(key), None, "{key}");
        }
    }

    #[test]
    fn a_request_is_routed_by_its_route_key_and_one_without_a_key_of_the_api_is_an_internal_error() {
        let with_key = |key: Option<&str>| {
            let mut context = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
            context.route_key = key.map(str::to_owned);
            lambda_http::http::Request::builder()
                .body(lambda_http::Body::Empty)
                .unwrap()
                .with_request_context(RequestContext::ApiGatewayV2(context))
        };
        let routed = route_of(&with_key(Some("PUT /customers/{customerId}/roles/{roleId}")));
        assert_eq!(routed.unwrap(), ROLES_EDIT);
        for key in [None, Some(DEFAULT_ROUTE), Some("PATCH /me")] {
            let refused = route_of(&with_key(key)).unwrap_err();
            assert_eq!(
                (refused.status().as_u16(), refused.code()),
                (500, "internal-error"),
                "{key:?}"
            );
        }
        assert_eq!(not_served(ME).code(), "internal-error");
    }

    #[test]
    fn every_route_is_listed_once_sorted_by_path() {
        for pair in ROUTES.windows(2) {
            assert!(pair[0].path <= pair[1].path, "{} before {}", pair[0], pair[1]);
            assert_ne!(pair[0], pair[1]);
        }
    }
}
