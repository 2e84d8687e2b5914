//! `GET /customers/{customerId}/activity`: the activity log's page, as JSON or CSV.

use cloudhub::App;
use cloudhub::activity::{self, ActivityQuery, Entry, Kind, MAX_EXPORT_ROWS, MAX_PAGE_SIZE};
use cloudhub::domain::{Email, InvalidValue};
use cloudhub::http::{ApiError, caller, csv, customer_in_path, json, query_parameter};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const DEFAULT_PAGE_SIZE: u16 = 25;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActivityAnswer {
    entries: Vec<Entry>,
    next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

/// `format=json|csv`; without it, CSV when the request accepts `text/csv` and not JSON first.
fn format(request: &Request) -> Result<Format, ApiError> {
    match query_parameter(request, "format")?.as_deref() {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(_) => Err(invalid("invalid-format", "`format` is `json` or `csv`.")),
        None => {
            let accept = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let csv_at = accept.find("text/csv");
            let json_at = accept.find("application/json");
            Ok(match (csv_at, json_at) {
                (Some(csv), Some(json)) if json < csv => Format::Json,
                (Some(_), _) => Format::Csv,
                (None, _) => Format::Json,
            })
        }
    }
}

fn invalid(code: &'static str, reason: &str) -> ApiError {
    ApiError::InvalidQuery(InvalidValue {
        code,
        reason: reason.into(),
    })
}

fn time_parameter(request: &Request, name: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    query_parameter(request, name)?
        .map(|raw| {
            OffsetDateTime::parse(&raw, &Rfc3339).map_err(|_| {
                invalid(
                    "invalid-range",
                    "`from` and `to` are RFC 3339 times, e.g. 2026-11-24T09:30:00Z.",
                )
            })
        })
        .transpose()
}

fn limit(request: &Request, format: Format) -> Result<u16, ApiError> {
    let (default, most) = match format {
        Format::Json => (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        Format::Csv => (MAX_EXPORT_ROWS, MAX_EXPORT_ROWS),
    };
    let Some(raw) = query_parameter(request, "limit")? else {
        return Ok(default);
    };
    raw.parse::<u16>()
        .ok()
        .filter(|size| (1..=most).contains(size))
        .ok_or_else(|| {
            ApiError::InvalidQuery(InvalidValue {
                code: "invalid-limit",
                reason: format!("`limit` is a whole number from 1 to {most}."),
            })
        })
}

#[tracing::instrument(name = "Reading the activity log", skip_all)]
pub(crate) async fn page(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let customer = customer_in_path(request)?;
    let format = format(request)?;
    let kind = query_parameter(request, "kind")?
        .map(|raw| {
            Kind::of_code(&raw).ok_or_else(|| {
                let kinds: Vec<&str> = Kind::ALL.iter().map(|kind| kind.code()).collect();
                ApiError::InvalidQuery(InvalidValue {
                    code: "invalid-kind",
                    reason: format!("`kind` is one of {}.", kinds.join(", ")),
                })
            })
        })
        .transpose()?;
    let email = query_parameter(request, "email")?
        .map(|raw| Email::parse(&raw).map_err(ApiError::InvalidQuery))
        .transpose()?;
    let query = ActivityQuery {
        kind,
        email,
        from: time_parameter(request, "from")?,
        to: time_parameter(request, "to")?,
        limit: limit(request, format)?,
        cursor: query_parameter(request, "cursor")?,
    };
    let page = activity::page(&app.store, &caller.user_id, &customer, &query, app.clock.now()).await?;
    Ok(match format {
        Format::Json => json(
            StatusCode::OK,
            &ActivityAnswer {
                entries: page.entries,
                next_cursor: page.next_cursor,
            },
        ),
        Format::Csv => {
            let mut response = csv(
                StatusCode::OK,
                activity::to_csv(&page.entries),
                &format!("activity-{customer}.csv"),
            );
            // The export's next page, if any (a CSV body has no room for it).
            if let Some(cursor) = page.next_cursor.and_then(|cursor| HeaderValue::from_str(&cursor).ok()) {
                response.headers_mut().insert("next-cursor", cursor);
            }
            response
        }
    })
}
