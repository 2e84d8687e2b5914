//! The HTTP API's routes as `template.yaml` declares them (a test of `infra` keeps the two
//! equal), for the answer to requests no route takes: API Gateway hands those to the `$default`
//! route, and the local gateway to the same handler.

use super::ApiError;

/// The route key of requests no other route matches.
pub const DEFAULT_ROUTE: &str = "$default";

/// Every route of the HTTP API but `$default`: method and path template, sorted by path.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/auth/login"),
    ("POST", "/auth/logout"),
    ("GET", "/customers/{customerId}/invitation-quota"),
    ("GET", "/customers/{customerId}/invitations"),
    ("POST", "/customers/{customerId}/invitations"),
    ("DELETE", "/customers/{customerId}/invitations/{invitationId}"),
    ("GET", "/customers/{customerId}/invitations/{invitationId}"),
    ("POST", "/customers/{customerId}/invitations/{invitationId}/resend"),
    ("GET", "/customers/{customerId}/roles"),
    ("POST", "/customers/{customerId}/roles"),
    ("DELETE", "/customers/{customerId}/roles/{roleId}"),
    ("PUT", "/customers/{customerId}/roles/{roleId}"),
    ("GET", "/customers/{customerId}/users"),
    ("PUT", "/customers/{customerId}/users/{userId}/roles"),
    ("GET", "/invitations/{token}"),
    ("POST", "/invitations/{token}/accept"),
    ("GET", "/me"),
    ("POST", "/me/customers/{customerId}/leave"),
    ("PUT", "/me/settings"),
    ("POST", "/me/tour/complete"),
];

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
        .filter(|(_, template)| path_matches(template, path))
        .map(|(method, _)| *method)
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
}
