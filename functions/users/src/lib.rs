//! `GET /customers/{customerId}/users` and `PUT .../users/{userId}/roles`: the User Management
//! table (members, roles, joined at, status) and assigning rights.

use cloudhub::App;
use cloudhub::domain::{InvalidValue, RoleId};
use cloudhub::http::{
    ApiError, caller, customer_in_path, email_search, json, json_body, query_parameter, routes, user_in_path,
};
use cloudhub::invitations::MAX_ROLES;
use cloudhub::memberships::RoleRef;
use cloudhub::usecases::members::{self, MAX_PAGE_SIZE, Member, MemberQuery};
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
#[serde(rename_all = "camelCase")]
struct UsersAnswer {
    users: Vec<Member>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
    total: u32,
}

/// Rows of a page when the request names no `limit`.
const DEFAULT_PAGE_SIZE: u16 = 50;

fn invalid(code: &'static str, reason: String) -> ApiError {
    ApiError::InvalidQuery(InvalidValue { code, reason })
}

fn flag(request: &Request, name: &str) -> Result<Option<bool>, ApiError> {
    match query_parameter(request, name)?.as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(invalid(
            "invalid-filter",
            format!("`{name}` is true or false, not `{other}`."),
        )),
    }
}

/// The users table's page, search and filters, from the query string.
fn member_query(request: &Request) -> Result<MemberQuery, ApiError> {
    let limit = match query_parameter(request, "limit")? {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => raw
            .parse::<u16>()
            .ok()
            .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
            .ok_or_else(|| {
                invalid(
                    "invalid-limit",
                    format!("`limit` is a whole number from 1 to {MAX_PAGE_SIZE}."),
                )
            })?,
    };
    let email_prefix = email_search(request)?;
    let role = query_parameter(request, "role")?
        .map(|raw| RoleId::parse(&raw).map_err(|_| invalid("invalid-filter", format!("`{raw}` is no role id."))))
        .transpose()?;
    Ok(MemberQuery {
        email_prefix,
        role,
        restricted: flag(request, "restricted")?,
        admin: flag(request, "admin")?,
        limit,
        cursor: query_parameter(request, "cursor")?,
    })
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
    let query = member_query(request)?;
    let page = members::list(&app.store, &caller.user_id, &customer, &query).await?;
    Ok(json(
        StatusCode::OK,
        &UsersAnswer {
            users: page.members,
            next_cursor: page.next_cursor,
            total: page.total,
        },
    ))
}

#[tracing::instrument(name = "Assigning roles", skip_all)]
async fn assign(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let user = user_in_path(request)?;
    let role_ids = parse_roles(json_body::<AssignBody>(request)?)?;
    let (roles, permissions) = members::assign_roles(
        &app.store,
        &caller.as_admin(),
        &customer,
        &user,
        role_ids,
        app.clock.now(),
    )
    .await?;
    Ok(json(
        StatusCode::OK,
        &Assigned {
            user_id: user.to_string(),
            restricted: cloudhub::domain::is_restricted(&permissions),
            roles,
        },
    ))
}
