//! What a link holder sees before accepting: two round trips (the invitation and its customer,
//! then the credential and the roles), three for a token of the old form (its link item first).

use super::{AcceptError, Preview, open, read_context};
use crate::invitations::InviterView;
use crate::links::LinkToken;
use crate::store::Store;
use time::OffsetDateTime;

/// Previews the invitation a link opens.
pub async fn preview(store: &Store, token: &LinkToken, now: OffsetDateTime) -> Result<Preview, AcceptError> {
    let (invitation, customer) = open(store, token, now).await?.live()?;
    let context = read_context(store, &invitation, customer).await?;
    Ok(Preview {
        customer_number: invitation.customer_number,
        company_name: context.customer.company_name.clone(),
        email: invitation.email,
        account_exists: context.credential.is_some(),
        roles: context.roles.iter().map(|role| role.as_ref()).collect(),
        invited_by: InviterView {
            user_id: invitation.invited_by,
            email: invitation.invited_by_email,
        },
        expires_at: invitation.expires_at,
    })
}
