//! `POST /customers/{customerId}/invitations`: an admin invites an email address with roles.
//! One DynamoDB transaction (quota, admin, roles, seat, invitation, link), and beside it, when
//! the invitation has roles, a Query of the customer's roles for the answer's names; the email is
//! owed from the moment the invitation exists.
//!
//! `POST /customers/{customerId}/invitations/batch`: up to 50 at once, one result per row
//! ([`batch`]).

mod batch;

use cloudhub::App;
use cloudhub::domain::{Email, InvalidValue, Language, RoleId};
use cloudhub::http::{ApiError, caller, customer_in_path, json, json_body, routes};
use cloudhub::invitations::{InvitationView, MAX_ROLES};
use cloudhub::usecases::invite::{self as invitations, NewInvitation};
use cloudhub::usecases::list::ListedInvitation;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InviteBody {
    email: String,
    #[serde(default)]
    role_ids: Vec<String>,
    #[serde(default)]
    language: Option<String>,
}

struct Invite {
    email: Email,
    role_ids: BTreeSet<RoleId>,
    language: Option<Language>,
}

impl TryFrom<InviteBody> for Invite {
    type Error = InvalidValue;
    fn try_from(body: InviteBody) -> Result<Self, Self::Error> {
        if body.role_ids.len() > MAX_ROLES {
            return Err(InvalidValue {
                code: "too-many-roles",
                reason: format!("An invitation carries at most {MAX_ROLES} roles."),
            });
        }
        Ok(Self {
            email: Email::parse(&body.email)?,
            role_ids: body
                .role_ids
                .iter()
                .map(|id| RoleId::parse(id))
                .collect::<Result<_, _>>()?,
            language: body.language.as_deref().map(Language::parse).transpose()?,
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invited {
    invitation: InvitationView,
    /// The email is owed from the moment the invitation exists; it is sent asynchronously.
    email_status: &'static str,
}

/// Handles the invite routes: one address, or a batch of them.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    match routes::route_of(&request)? {
        routes::INVITATIONS_CREATE => invite(app, request).await,
        routes::INVITATIONS_BATCH => batch::invite_batch(app, request).await,
        other => Err(routes::not_served(other)),
    }
}

#[tracing::instrument(name = "Inviting a user", skip_all)]
async fn invite(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    let caller = caller(&request)?;
    let customer = customer_in_path(&request)?;
    let invite: Invite = json_body::<InviteBody>(&request)?.try_into()?;
    let now = app.clock.now();
    let keyring = app.link_keys()?.keyring().await?;
    let with_roles = !invite.role_ids.is_empty();
    // The answer names the roles as the list does. A successful transaction returns nothing, so
    // the names are read beside it: one round trip still, a second call only with roles.
    let names = async {
        if with_roles {
            cloudhub::roles::list(&app.store, &customer).await
        } else {
            Ok(Vec::new())
        }
    };
    let admin = caller.as_admin();
    let (invitation, names) = tokio::join!(
        invitations::invite(
            &app.store,
            keyring.current(),
            &admin,
            NewInvitation {
                customer: customer.clone(),
                email: invite.email,
                role_ids: invite.role_ids,
                language: invite.language,
            },
            now,
        ),
        names
    );
    let invitation = invitation?;
    let roles = match names {
        Ok(roles) => roles,
        // The invitation exists now: read the names once more rather than answer a failure.
        Err(_) => cloudhub::roles::list(&app.store, &customer).await?,
    };
    let location = format!("/customers/{customer}/invitations/{}", invitation.id);
    let listed = ListedInvitation::with_roles(invitation, roles);
    let mut response = json(
        StatusCode::CREATED,
        &Invited {
            invitation: listed.view(now),
            email_status: "queued",
        },
    );
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}
