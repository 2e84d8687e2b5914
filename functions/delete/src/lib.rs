//! `DELETE /customers/{customerId}/invitations/{invitationId}`: the link is dead at once, the
//! invitation kept as deleted (by whom, when) for 365 days; a second delete is 404.

use cloudhub::App;
use cloudhub::http::{ApiError, caller, customer_in_path, invitation_in_path, no_content};
use cloudhub::usecases::resend;
use lambda_http::{Body, Request, Response};

/// Handles `DELETE /customers/{customerId}/invitations/{invitationId}`.
#[tracing::instrument(name = "Deleting an invitation", skip_all)]
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(&request)?;
    let customer = customer_in_path(&request)?;
    let id = invitation_in_path(&request)?;
    resend::withdraw(&app.store, &caller.as_admin(), &customer, &id, app.clock.now()).await?;
    Ok(no_content())
}
