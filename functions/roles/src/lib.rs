//! `GET, POST /customers/{customerId}/roles` and `PUT, DELETE .../roles/{roleId}`: a
//! customer's roles with how many members and open invitations hold each (the frontend's note
//! on editing and deleting), creating, editing and deleting them.

use cloudhub::App;
use cloudhub::domain::{InvalidValue, Permission, RoleName};
use cloudhub::http::{
    AdminArea, ApiError, caller, customer_in_path, json, json_body, query_parameter, role_in_path, routes,
};
use cloudhub::memberships;
use cloudhub::roles::{self, Role};
use cloudhub::usecases::roles::{self as change, Holding, RoleUsage};
use lambda_http::http::StatusCode;
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
    roles: Vec<RoleWithUsage>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleWithUsage {
    #[serde(flatten)]
    role: Role,
    usage: RoleUsage,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangeAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    /// What the change reached: members whose access changed, open invitations that will grant
    /// the new role (edit) or no longer grant it (delete).
    affected: RoleUsage,
}

/// Handles the role routes: listing, creating, editing and deleting roles.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    match routes::route_of(&request)? {
        routes::ROLES_LIST => list(app, &request).await,
        routes::ROLES_CREATE => create(app, &request).await,
        routes::ROLES_EDIT => edit(app, &request).await,
        routes::ROLES_DELETE => delete(app, &request).await,
        other => Err(routes::not_served(other)),
    }
}

#[tracing::instrument(name = "Editing a role", skip_all)]
async fn edit(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let role_id = role_in_path(request)?;
    let changed: NewRole = json_body::<RoleBody>(request)?.try_into()?;
    let edited = change::edit(
        &app.store,
        &caller.as_admin(),
        &customer,
        &role_id,
        changed.name,
        changed.permissions,
        app.clock.now(),
    )
    .await?;
    Ok(json(
        StatusCode::OK,
        &ChangeAnswer {
            role: Some(edited.role),
            affected: edited.usage,
        },
    ))
}

#[tracing::instrument(name = "Deleting a role", skip_all)]
async fn delete(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let role_id = role_in_path(request)?;
    let holding = match query_parameter(request, "confirm")?.as_deref() {
        None => Holding::Refuse,
        Some("remove-from-members") => Holding::RemoveFromMembers,
        Some(other) => {
            return Err(ApiError::InvalidQuery(InvalidValue {
                code: "invalid-confirmation",
                reason: format!(
                    "`{other}` is no confirmation: `confirm=remove-from-members` deletes a role that members hold."
                ),
            }));
        }
    };
    let affected = change::delete(
        &app.store,
        &caller.as_admin(),
        &customer,
        &role_id,
        holding,
        app.clock.now(),
    )
    .await?;
    Ok(json(StatusCode::OK, &ChangeAnswer { role: None, affected }))
}

#[tracing::instrument(name = "Listing roles", skip_all)]
async fn list(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let (admin, roles, usage) = tokio::try_join!(
        memberships::is_admin(&app.store, &customer, &caller.user_id),
        roles::list(&app.store, &customer),
        change::usage(&app.store, &customer, app.clock.now()),
    )?;
    if !admin {
        return Err(AdminArea::Roles.into());
    }
    let roles = roles
        .into_iter()
        .map(|role| RoleWithUsage {
            usage: usage.get(&role.id).copied().unwrap_or_default(),
            role,
        })
        .collect();
    Ok(json(StatusCode::OK, &RolesAnswer { roles }))
}

#[tracing::instrument(name = "Creating a role", skip_all)]
async fn create(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let new: NewRole = json_body::<RoleBody>(request)?.try_into()?;
    let role = roles::create(
        &app.store,
        &caller.as_admin(),
        &customer,
        new.name,
        new.permissions,
        app.clock.now(),
    )
    .await?;
    Ok(json(StatusCode::CREATED, &role))
}
