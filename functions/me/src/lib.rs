//! The caller's own account: `GET /me` (account, customers, and per customer what the portal may
//! show: restricted or not, the info banner, the pages, the welcome-tour steps due),
//! `PUT /me/settings` (language) and `POST /me/tour/complete` (tour steps seen).
//!
//! All three work without any customer: a user who left every customer keeps its settings.

use cloudhub::App;
use cloudhub::access::{self, Access};
use cloudhub::accounts::{self, Account, User};
use cloudhub::domain::{CustomerNumber, InvalidValue, Language, Permission};
use cloudhub::http::{ApiError, caller, json, json_body, routes};
use cloudhub::memberships::{Membership, MembershipStatus, RoleRef};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MeAnswer {
    user: UserView,
    customers: Vec<CustomerAccess>,
    /// Where the portal starts: `choose-customer`, `home` or `no-access`.
    screen: &'static str,
    /// With `no-access`: the notice's stable code, for a frontend that words it itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    no_access_code: Option<&'static str>,
    /// With `no-access`: the notice in the user's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    no_access_detail: Option<&'static str>,
    /// How many pending invitations are addressed to the account's email (`GET /me/invitations`),
    /// so that the no-access and choose-customer screens can offer them.
    invitations_waiting: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserView {
    id: String,
    email: String,
    language: Language,
    #[serde(serialize_with = "cloudhub::http::timestamp::serialize")]
    created_at: OffsetDateTime,
    /// Whether, as an admin, it is told by email when an invitation it sent was accepted.
    notify_on_accept: bool,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.to_string(),
            language: user.language,
            created_at: user.created_at,
            notify_on_accept: user.notify_on_accept,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CustomerAccess {
    customer_number: String,
    company_name: String,
    roles: Vec<RoleRef>,
    permissions: BTreeSet<Permission>,
    admin: bool,
    #[serde(serialize_with = "cloudhub::http::timestamp::serialize")]
    joined_at: OffsetDateTime,
    #[serde(flatten)]
    access: Access,
}

impl From<Account> for MeAnswer {
    fn from(account: Account) -> Self {
        let active: Vec<Membership> = account
            .memberships
            .into_iter()
            .filter(|m| m.status == MembershipStatus::Active)
            .collect();
        let count = active.len();
        let customers = active
            .into_iter()
            .map(|m| CustomerAccess {
                admin: m.is_admin(),
                access: access::access(&m, count),
                customer_number: m.customer_number.to_string(),
                company_name: m.company_name.to_string(),
                roles: m.roles,
                permissions: m.permissions,
                joined_at: m.joined_at,
            })
            .collect();
        let (screen, no_access) = match count {
            0 => (
                "no-access",
                Some(cloudhub::notices::no_customer_access(account.user.language)),
            ),
            1 => ("home", None),
            _ => ("choose-customer", None),
        };
        Self {
            user: account.user.into(),
            customers,
            screen,
            no_access_code: no_access.map(|notice| notice.code),
            no_access_detail: no_access.map(|notice| notice.text),
            invitations_waiting: 0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct SettingsBody {
    language: Option<String>,
    notify_on_accept: Option<bool>,
}

#[derive(Serialize)]
struct SettingsAnswer {
    user: UserView,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TourBody {
    customer_number: String,
    steps: Vec<String>,
}

struct TourSteps {
    customer: CustomerNumber,
    steps: BTreeSet<Permission>,
}

impl TryFrom<TourBody> for TourSteps {
    type Error = InvalidValue;
    fn try_from(body: TourBody) -> Result<Self, Self::Error> {
        let invalid_step = |reason: String| InvalidValue {
            code: "invalid-tour-step",
            reason,
        };
        if body.steps.is_empty() {
            return Err(invalid_step("`steps` names at least one tour step.".into()));
        }
        if body.steps.len() > Permission::ALL.len() {
            return Err(invalid_step(format!(
                "There are {} tour steps; `steps` names each at most once.",
                Permission::ALL.len()
            )));
        }
        let steps = body
            .steps
            .iter()
            .map(|raw| Permission::parse(raw).map_err(|_| invalid_step(format!("`{raw}` is not a tour step."))))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            customer: CustomerNumber::parse(&body.customer_number)?,
            steps,
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TourAnswer {
    customer_number: String,
    tour: Vec<Permission>,
}

/// Handles `GET /me`, `PUT /me/settings` and `POST /me/tour/complete`.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    match routes::route_of(&request)? {
        routes::ME => me(app, &request).await,
        routes::ME_SETTINGS => settings(app, &request).await,
        routes::ME_TOUR_COMPLETE => complete_tour(app, &request).await,
        other => Err(routes::not_served(other)),
    }
}

#[tracing::instrument(name = "Reading the caller's account", skip_all)]
async fn me(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    // A session can outlive nothing but its account; without one it is no longer valid.
    // The invitations waiting are counted beside the account's first read: still 2 round trips.
    let (account, waiting) = tokio::join!(
        accounts::load(&app.store, &caller.user_id),
        cloudhub::usecases::accept::count_waiting(&app.store, &caller.email, app.clock.now()),
    );
    let account = account?.ok_or(ApiError::InvalidSession)?;
    Ok(json(
        StatusCode::OK,
        &MeAnswer {
            invitations_waiting: waiting?,
            ..MeAnswer::from(account)
        },
    ))
}

#[tracing::instrument(name = "Changing settings", skip_all)]
async fn settings(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let body: SettingsBody = json_body(request)?;
    let settings = accounts::Settings {
        language: body.language.as_deref().map(Language::parse).transpose()?,
        notify_on_accept: body.notify_on_accept,
    };
    if settings == accounts::Settings::default() {
        return Err(ApiError::InvalidBody(
            "Give `language`, `notifyOnAccept` or both.".into(),
        ));
    }
    let user = accounts::change_settings(&app.store, &caller.user_id, settings)
        .await?
        .ok_or(ApiError::InvalidSession)?;
    Ok(json(StatusCode::OK, &SettingsAnswer { user: user.into() }))
}

#[tracing::instrument(name = "Completing tour steps", skip_all)]
async fn complete_tour(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let seen = TourSteps::try_from(json_body::<TourBody>(request)?)?;
    let membership =
        cloudhub::usecases::tour::complete(&app.store, &caller.user_id, &seen.customer, &seen.steps).await?;
    Ok(json(
        StatusCode::OK,
        &TourAnswer {
            customer_number: membership.customer_number.to_string(),
            tour: access::access(&membership, 1).tour,
        },
    ))
}
