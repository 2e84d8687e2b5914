//! `POST /customers/{customerId}/invitations/{invitationId}/resend`: a new link, valid 24 hours
//! from now; every earlier link dies. Counts toward the admin's daily quota.

use cloudhub::App;
use cloudhub::http::{ApiError, caller, customer_in_path, invitation_in_path, json};
use cloudhub::invitations::InvitationStatus;
use cloudhub::usecases::resend as invitations;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResendAnswer {
    id: String,
    status: InvitationStatus,
    #[serde(serialize_with = "cloudhub::http::timestamp::serialize")]
    last_sent_at: OffsetDateTime,
    #[serde(serialize_with = "cloudhub::http::timestamp::serialize")]
    expires_at: OffsetDateTime,
    email_status: &'static str,
}

/// Handles `POST /customers/{customerId}/invitations/{invitationId}/resend`.
#[tracing::instrument(name = "Resending an invitation", skip_all)]
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(&request)?;
    let customer = customer_in_path(&request)?;
    let id = invitation_in_path(&request)?;
    let resent = invitations::resend(
        &app.store,
        app.link_keys()?.keyring().await?.current(),
        &caller.as_admin(),
        &customer,
        &id,
        app.clock.now(),
    )
    .await?;
    Ok(json(
        StatusCode::OK,
        &ResendAnswer {
            id: resent.id.to_string(),
            status: InvitationStatus::Pending,
            last_sent_at: resent.last_sent_at,
            expires_at: resent.expires_at,
            email_status: "queued",
        },
    ))
}
