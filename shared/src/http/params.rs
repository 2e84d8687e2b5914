use super::ApiError;
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
