//! `GET, POST /customers/{customerId}/roles`: a customer's roles, and creating one.

use cloudhub::App;
use cloudhub::domain::{InvalidValue, Permission, RoleName};
use cloudhub::http::{ApiError, caller, customer_in_path, json, json_body};
use cloudhub::invitations::InvitationError;
use cloudhub::memberships;
use cloudhub::roles::{self, Role, RoleError};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    name: String,
    permissions: Vec<String>,
}

struct NewRole {
    name: RoleName,
    permissions: BTreeSet<Permission>,
}

impl TryFrom<RoleBody> for NewRole {
    type Error = InvalidValue;
    fn try_from(body: RoleBody) -> Result<Self, Self::Error> {
        Ok(Self {
            name: RoleName::parse(&body.name)?,
            permissions: body
                .permissions
                .iter()
                .map(|p| Permission::parse(p))
                .collect::<Result<_, _>>()?,
        })
    }
}

#[derive(Serialize)]
struct RolesAnswer {
    roles: Vec<Role>,
}

/// Handles `GET` and `POST /customers/{customerId}/roles`.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let result = match *request.method() {
        Method::POST => create(app, &request).await,
        _ => list(app, &request).await,
    };
    result.unwrap_or_else(ApiError::into_response)
}

fn role_error(error: RoleError) -> ApiError {
    match error {
        RoleError::NotAdmin => InvitationError::NotAdmin.into(),
        RoleError::Busy => ApiError::Unavailable { retry_after_secs: 1 },
        RoleError::Unexpected(error) => ApiError::Unexpected(error),
    }
}

#[tracing::instrument(name = "Listing roles", skip_all)]
async fn list(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let (admin, roles) = tokio::try_join!(
        memberships::is_admin(&app.store, &customer, &caller.user_id),
        roles::list(&app.store, &customer),
    )?;
    if !admin {
        return Err(InvitationError::NotAdmin.into());
    }
    Ok(json(StatusCode::OK, &RolesAnswer { roles }))
}

#[tracing::instrument(name = "Creating a role", skip_all)]
async fn create(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let new: NewRole = json_body::<RoleBody>(request)?.try_into()?;
    let role = roles::create(&app.store, &caller.user_id, &customer, new.name, new.permissions)
        .await
        .map_err(role_error)?;
    Ok(json(StatusCode::CREATED, &role))
}
