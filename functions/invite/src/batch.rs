//! `POST /customers/{customerId}/invitations/batch`: up to 50 addresses in one request, each row
//! with its own `roleIds` and `language` or the batch's `defaults`. The answer has one result per
//! row, in order: the invitation as the single invite shows it, or the row's problem; a later row
//! of an address already in the batch repeats the first one's result with `duplicateOf`.
//!
//! The batch's shape is checked first, all or nothing: 1 to 50 rows, every role id and language
//! well-formed, at most 20 roles a row (a bad one is a 4xx for the whole request, which changes
//! nothing). An address that is not valid is only that row's problem (`invalid-email`).

use cloudhub::App;
use cloudhub::domain::{Email, InvalidValue, Language, RoleId};
use cloudhub::http::{ApiError, RequestFacts, caller, customer_in_path, json, json_body};
use cloudhub::invitations::{Invitation, InvitationError, InvitationView, MAX_ROLES};
use cloudhub::metrics::{self, Metric};
use cloudhub::usecases::invite_batch::{self as batch, BatchRow, MAX_ROWS, RowResult};
use cloudhub::usecases::list::ListedInvitation;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BatchBody {
    invitations: Vec<RowBody>,
    #[serde(default)]
    defaults: DefaultsBody,
}

/// What every row without its own `roleIds` or `language` gets.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DefaultsBody {
    #[serde(default)]
    role_ids: Vec<String>,
    #[serde(default)]
    language: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RowBody {
    email: String,
    #[serde(default)]
    role_ids: Option<Vec<String>>,
    #[serde(default)]
    language: Option<String>,
}

/// The rows, parsed: the shape refused as a whole, an address only as its row.
fn rows_of(body: BatchBody) -> Result<Vec<BatchRow>, InvalidValue> {
    if body.invitations.is_empty() || body.invitations.len() > MAX_ROWS {
        return Err(InvalidValue {
            code: "invalid-batch-size",
            reason: format!(
                "A batch has 1 to {MAX_ROWS} invitations, not {}.",
                body.invitations.len()
            ),
        });
    }
    let default_roles = role_ids(&body.defaults.role_ids, "defaults.roleIds")?;
    let default_language = language(body.defaults.language.as_deref(), "defaults.language")?;
    body.invitations
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            let role_ids = match &row.role_ids {
                Some(ids) => role_ids(ids, &format!("invitations[{index}].roleIds"))?,
                None => default_roles.clone(),
            };
            let language = match row.language.as_deref() {
                Some(_) => language(row.language.as_deref(), &format!("invitations[{index}].language"))?,
                None => default_language,
            };
            Ok(match Email::parse(&row.email) {
                Ok(email) => BatchRow::Invite {
                    email,
                    role_ids,
                    language,
                },
                Err(invalid) => BatchRow::Invalid(invalid),
            })
        })
        .collect()
}

/// The role ids of `field` (named in a refusal).
fn role_ids(raw: &[String], field: &str) -> Result<BTreeSet<RoleId>, InvalidValue> {
    if raw.len() > MAX_ROLES {
        return Err(InvalidValue {
            code: "too-many-roles",
            reason: format!("{field}: an invitation carries at most {MAX_ROLES} roles."),
        });
    }
    raw.iter()
        .map(|id| RoleId::parse(id).map_err(|invalid| at(field, invalid)))
        .collect()
}

fn language(raw: Option<&str>, field: &str) -> Result<Option<Language>, InvalidValue> {
    raw.map(|raw| Language::parse(raw).map_err(|invalid| at(field, invalid)))
        .transpose()
}

fn at(field: &str, invalid: InvalidValue) -> InvalidValue {
    InvalidValue {
        code: invalid.code,
        reason: format!("{field}: {}", invalid.reason),
    }
}

#[derive(Serialize)]
struct Answer {
    results: Vec<Value>,
    /// Invitations created (or expired ones sent again): each owes one email.
    created: usize,
    /// Rows refused (duplicates not counted).
    refused: usize,
    /// Rows that repeat an earlier row's address.
    duplicates: usize,
}

/// Handles `POST /customers/{customerId}/invitations/batch`.
#[tracing::instrument(name = "Inviting a batch of users", skip_all, fields(rows))]
pub(crate) async fn invite_batch(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(&request)?;
    let customer = customer_in_path(&request)?;
    let rows = rows_of(json_body::<BatchBody>(&request)?)?;
    tracing::Span::current().record("rows", rows.len());
    // Each valid row's address, canonical, for its result (a duplicate's is its first row's).
    let emails: Vec<Option<Email>> = rows
        .iter()
        .map(|row| match row {
            BatchRow::Invite { email, .. } => Some(email.clone()),
            BatchRow::Invalid(_) => None,
        })
        .collect();
    let now = app.clock.now();
    let keyring = app.link_keys()?.keyring().await?;
    let with_roles = rows
        .iter()
        .any(|row| matches!(row, BatchRow::Invite { role_ids, .. } if !role_ids.is_empty()));
    // The created rows name their roles as the list does, read beside the first chunk's
    // transaction (as the single invite does).
    let names = async {
        if with_roles {
            cloudhub::roles::list(&app.store, &customer).await
        } else {
            Ok(Vec::new())
        }
    };
    let admin = caller.as_admin();
    let (results, names) = tokio::join!(
        batch::invite_batch(&app.store, keyring.current(), &admin, &customer, rows, now),
        names
    );
    let results = results?;
    let created = results
        .iter()
        .filter(|result| matches!(result, RowResult::Created(_)))
        .count();
    let roles = match names {
        Ok(roles) => roles,
        // Invitations exist now: read the names once more rather than answer a failure.
        Err(_) if created > 0 => cloudhub::roles::list(&app.store, &customer).await?,
        Err(_) => Vec::new(),
    };
    emit_metrics(&request, &results);
    let answer = answer_of(results, emails, |invitation| {
        ListedInvitation::with_roles(invitation, roles.clone()).view(now)
    });
    Ok(json(StatusCode::OK, &answer))
}

/// Invitations sent and rows refused by the quota, as the single invite's answers count them.
fn emit_metrics(request: &Request, results: &[RowResult]) {
    let count = |kind: fn(&RowResult) -> bool| {
        u64::try_from(results.iter().filter(|result| kind(result)).count()).unwrap_or(u64::MAX)
    };
    let facts = RequestFacts::of(request);
    metrics::emit(
        &[
            (Metric::InvitationsSent, count(|r| matches!(r, RowResult::Created(_)))),
            (
                Metric::QuotaRefusals,
                count(|r| matches!(r, RowResult::Refused(InvitationError::QuotaExhausted { .. }))),
            ),
        ],
        &[
            ("requestId", facts.request_id.as_str()),
            ("route", facts.route.as_str()),
        ],
    );
}

/// The answer: each row's result in order, `email` the row's address when it is valid, a
/// created invitation as `view` shows it.
fn answer_of(
    results: Vec<RowResult>,
    emails: Vec<Option<Email>>,
    view: impl Fn(Invitation) -> InvitationView,
) -> Answer {
    let mut answer = Answer {
        results: Vec::with_capacity(results.len()),
        created: 0,
        refused: 0,
        duplicates: 0,
    };
    for (result, email) in results.into_iter().zip(emails) {
        let shown = match result {
            RowResult::Created(invitation) => {
                answer.created += 1;
                json!({
                    "status": "created",
                    "email": email,
                    "invitation": view(*invitation),
                    "emailStatus": "queued",
                })
            }
            RowResult::Refused(error) => {
                answer.refused += 1;
                json!({ "status": "refused", "email": email, "problem": ApiError::from(error).into_problem() })
            }
            RowResult::Invalid(invalid) => {
                answer.refused += 1;
                json!({ "status": "refused", "problem": ApiError::from(invalid).into_problem() })
            }
            RowResult::DuplicateOf(first) => {
                answer.duplicates += 1;
                let mut shown = answer.results.get(first).cloned().unwrap_or(Value::Null);
                if let Some(object) = shown.as_object_mut() {
                    object.insert("duplicateOf".into(), json!(first));
                }
                shown
            }
        };
        answer.results.push(shown);
    }
    answer
}
