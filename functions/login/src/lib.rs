//! `POST /auth/login`: email and password to a session.
//!
//! An unknown email and a wrong password get the same answer in about the same time (the
//! password is checked against a dummy hash). Failures are throttled per email and source
//! address, and per source (see `cloudhub::sessions`): each attempt is counted before the
//! password is checked, so parallel guessing cannot pass a limit, and taken back when the
//! password was right, so only failures count.

use cloudhub::App;
use cloudhub::accounts;
use cloudhub::domain::{Email, InvalidValue, Password, PasswordHash, PasswordPolicy};
use cloudhub::http::{ApiError, json, json_body, source_address};
use cloudhub::sessions::{self, Attempt};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

struct LoginAttempt {
    email: Email,
    password: Password,
}

impl TryFrom<LoginBody> for LoginAttempt {
    type Error = InvalidValue;
    fn try_from(body: LoginBody) -> Result<Self, Self::Error> {
        Ok(Self {
            email: Email::parse(&body.email)?,
            password: Password::parse(body.password, PasswordPolicy::Existing)?,
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginAnswer {
    session_token: String,
    #[serde(serialize_with = "cloudhub::http::timestamp::serialize")]
    expires_at: OffsetDateTime,
    user_id: String,
}

/// Handles `POST /auth/login`.
#[tracing::instrument(name = "Logging in", skip_all)]
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    let attempt: LoginAttempt = json_body::<LoginBody>(&request)?.try_into()?;
    let source = source_address(&request);
    let now = app.clock.now();
    let (counted, credential) = tokio::join!(
        sessions::count_login_attempt(&app.store, &attempt.email, &source, now),
        accounts::find_credential(&app.store, &attempt.email),
    );
    if let Attempt::Refused(refusal) = counted? {
        return Err(refusal.into());
    }
    let (user_id, hash) = match credential? {
        Some(credential) => (Some(credential.user_id), credential.password_hash),
        None => (None, PasswordHash::dummy()),
    };
    let password_matches = hash.verify(attempt.password).await?;
    let Some(user_id) = user_id.filter(|_| password_matches) else {
        return Err(ApiError::InvalidCredentials);
    };
    let (started, ()) = tokio::join!(
        sessions::start(&app.store, user_id, &attempt.email, now),
        sessions::login_succeeded(&app.store, &attempt.email, &source, now),
    );
    let (token, session) = started?;
    tracing::info!(user_id = %user_id, "logged in");
    Ok(json(
        StatusCode::OK,
        &LoginAnswer {
            session_token: token.reveal().to_owned(),
            expires_at: session.expires_at,
            user_id: user_id.to_string(),
        },
    ))
}
