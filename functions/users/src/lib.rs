//! `GET /customers/{customerId}/users` and `PUT .../users/{userId}/roles`: the User Management
//! table (members, roles, joined at, status) and assigning rights.

use cloudhub::App;
use cloudhub::domain::{InvalidValue, RoleId};
use cloudhub::http::{ApiError, caller, customer_in_path, json, json_body, routes, user_in_path};
use cloudhub::invitations::MAX_ROLES;
use cloudhub::memberships::RoleRef;
use cloudhub::usecases::members::{self, Member};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AssignBody {
    role_ids: Vec<String>,
}

fn parse_roles(body: AssignBody) -> Result<BTreeSet<RoleId>, InvalidValue> {
    if body.role_ids.len() > MAX_ROLES {
        return Err(InvalidValue {
            code: "too-many-roles",
            reason: format!("A member holds at most {MAX_ROLES} roles."),
        });
    }
    body.role_ids.iter().map(|id| RoleId::parse(id)).collect()
}

#[derive(Serialize)]
struct UsersAnswer {
    users: Vec<Member>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Assigned {
    user_id: String,
    roles: Vec<RoleRef>,
    restricted: bool,
}

/// Handles the user routes: listing users and assigning a user's roles.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    match routes::route_of(&request)? {
        routes::USERS_LIST => list(app, &request).await,
        routes::USERS_ASSIGN_ROLES => assign(app, &request).await,
        other => Err(routes::not_served(other)),
    }
}

#[tracing::instrument(name = "Listing users", skip_all)]
async fn list(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let users = members::list(&app.store, &caller.user_id, &customer).await?;
    Ok(json(StatusCode::OK, &UsersAnswer { users }))
}

#[tracing::instrument(name = "Assigning roles", skip_all)]
async fn assign(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let user = user_in_path(request)?;
    let role_ids = parse_roles(json_body::<AssignBody>(request)?)?;
    let (roles, permissions) =
        members::assign_roles(&app.store, &caller.user_id, &customer, &user, role_ids, app.clock.now()).await?;
    Ok(json(
        StatusCode::OK,
        &Assigned {
            user_id: user.to_string(),
            restricted: cloudhub::domain::is_restricted(&permissions),
            roles,
        },
    ))
}
