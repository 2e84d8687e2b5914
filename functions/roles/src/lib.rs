//! `GET, POST /customers/{customerId}/roles` and `PUT, DELETE .../roles/{roleId}`: a
//! customer's roles with how many members and open invitations hold each (the frontend's note
//! on editing and deleting), creating, editing and deleting them.

use cloudhub::App;
use cloudhub::domain::{InvalidValue, Permission, RoleName};
use cloudhub::http::{ApiError, caller, customer_in_path, json, json_body, role_in_path, routes};
use cloudhub::invitations::InvitationError;
use cloudhub::memberships;
use cloudhub::roles::{self, Role, RoleChangeError, RoleError, RoleUsage};
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

fn change_error(error: RoleChangeError) -> ApiError {
    let detail = error.to_string();
    let conflict = |code| ApiError::Conflict {
        code,
        detail: detail.clone(),
        extensions: Default::default(),
    };
    match error {
        RoleChangeError::NotAdmin => InvitationError::NotAdmin.into(),
        RoleChangeError::NotFound => ApiError::NotFound {
            code: "role-not-found",
            detail,
        },
        RoleChangeError::Busy => conflict("role-busy"),
        RoleChangeError::InUse { members } => ApiError::Conflict {
            code: "role-in-use",
            detail,
            extensions: [("members".to_owned(), serde_json::json!(members))]
                .into_iter()
                .collect(),
        },
        RoleChangeError::NameTaken(_) => conflict("role-name-taken"),
        RoleChangeError::LastAdmin => conflict("last-admin"),
        RoleChangeError::TooWidelyHeld => conflict("role-too-widely-held"),
        RoleChangeError::Unexpected(error) => ApiError::Unexpected(error),
    }
}

#[tracing::instrument(name = "Editing a role", skip_all)]
async fn edit(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let role_id = role_in_path(request)?;
    let changed: NewRole = json_body::<RoleBody>(request)?.try_into()?;
    let edited = roles::edit(
        &app.store,
        &caller.user_id,
        &customer,
        &role_id,
        changed.name,
        changed.permissions,
        app.clock.now(),
    )
    .await
    .map_err(change_error)?;
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
    let affected = roles::delete(&app.store, &caller.user_id, &customer, &role_id, app.clock.now())
        .await
        .map_err(change_error)?;
    Ok(json(StatusCode::OK, &ChangeAnswer { role: None, affected }))
}

fn role_error(error: RoleError) -> ApiError {
    match error {
        RoleError::NotAdmin => InvitationError::NotAdmin.into(),
        RoleError::NameTaken(_) => ApiError::Conflict {
            code: "role-name-taken",
            detail: error.to_string(),
            extensions: Default::default(),
        },
        RoleError::Busy => ApiError::Unavailable { retry_after_secs: 1 },
        RoleError::Unexpected(error) => ApiError::Unexpected(error),
    }
}

#[tracing::instrument(name = "Listing roles", skip_all)]
async fn list(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let (admin, roles, usage) = tokio::try_join!(
        memberships::is_admin(&app.store, &customer, &caller.user_id),
        roles::list(&app.store, &customer),
        roles::usage(&app.store, &customer, app.clock.now()),
    )?;
    if !admin {
        return Err(InvitationError::NotAdmin.into());
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
    let role = roles::create(&app.store, &caller.user_id, &customer, new.name, new.permissions)
        .await
        .map_err(role_error)?;
    Ok(json(StatusCode::CREATED, &role))
}
