//! `GET /customers/{customerId}/invitations?status=&email=&limit=&cursor=`: the Invitations
//! table, newest send first (by email when searched), one DynamoDB Query per page, with the
//! counts per status on the first page; and
//! `GET /customers/{customerId}/invitations/{invitationId}`: one invitation as the list shows it;
//! and `GET /customers/{customerId}/activity?kind=&email=&from=&to=&limit=&cursor=&format=`: the
//! customer's activity log, newest first, one Query per page, as JSON or as CSV
//! (`format=csv` or `Accept: text/csv`).

mod activity;

use cloudhub::App;
use cloudhub::domain::InvalidValue;
use cloudhub::http::{
    ApiError, caller, customer_in_path, email_search, invitation_in_path, json, query_parameter, routes,
};
use cloudhub::invitations::InvitationView;
use cloudhub::usecases::list::{self as invitations, Counts, ListQuery, MAX_PAGE_SIZE, StatusFilter};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

const DEFAULT_PAGE_SIZE: u16 = 25;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListAnswer {
    invitations: Vec<InvitationView>,
    next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Counts>,
}

/// Handles `GET /customers/{customerId}/invitations`,
/// `GET /customers/{customerId}/invitations/{invitationId}` and `GET /customers/{customerId}/activity`.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    match routes::route_of(&request)? {
        routes::INVITATIONS_LIST => list(app, &request).await,
        routes::INVITATIONS_SHOW => show(app, &request).await,
        routes::ACTIVITY_LIST => activity::page(app, &request).await,
        other => Err(routes::not_served(other)),
    }
}

#[tracing::instrument(name = "Reading an invitation", skip_all)]
async fn show(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let id = invitation_in_path(request)?;
    let now = app.clock.now();
    let listed = invitations::get(&app.store, &caller.user_id, &customer, &id, now).await?;
    Ok(json(StatusCode::OK, &listed.view(now)))
}

fn page_size(raw: Option<String>) -> Result<u16, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_PAGE_SIZE);
    };
    raw.parse::<u16>()
        .ok()
        .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
        .ok_or_else(|| {
            ApiError::InvalidQuery(InvalidValue {
                code: "invalid-limit",
                reason: format!("`limit` is a whole number from 1 to {MAX_PAGE_SIZE}."),
            })
        })
}

#[tracing::instrument(name = "Listing invitations", skip_all)]
async fn list(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let status = match query_parameter(request, "status")? {
        Some(raw) => StatusFilter::parse(&raw).map_err(ApiError::InvalidQuery)?,
        None => StatusFilter::All,
    };
    let query = ListQuery {
        status,
        email_prefix: email_search(request)?,
        limit: page_size(query_parameter(request, "limit")?)?,
        cursor: query_parameter(request, "cursor")?,
    };
    let now = app.clock.now();
    let page = invitations::list(&app.store, &caller.user_id, &customer, &query, now).await?;
    Ok(json(
        StatusCode::OK,
        &ListAnswer {
            invitations: page.invitations.iter().map(|listed| listed.view(now)).collect(),
            next_cursor: page.next_cursor,
            counts: page.counts,
        },
    ))
}
