//! What a link holder sees before accepting (three reads: link, invitation, the rest at once).

use super::{AcceptError, Preview, live_invitation, read_context};
use crate::invitations::InviterView;
use crate::links::LinkToken;
use crate::store::Store;
use time::OffsetDateTime;

/// Previews the invitation a link opens (three reads: link, invitation, the rest at once).
pub async fn preview(store: &Store, token: &LinkToken, now: OffsetDateTime) -> Result<Preview, AcceptError> {
    let invitation = live_invitation(store, token, now).await?;
    let context = read_context(store, &invitation).await?;
    Ok(Preview {
        customer_number: invitation.customer_number,
        company_name: context.customer.company_name.clone(),
        email: invitation.email,
        account_exists: context.credential.is_some(),
        roles: context.role_refs(),
        invited_by: InviterView {
            user_id: invitation.invited_by,
            email: invitation.invited_by_email,
        },
        expires_at: invitation.expires_at,
    })
}
