//! The invited person's side. `GET /invitations/{token}`, `POST /invitations/{token}/accept` and
//! `POST /invitations/{token}/renewal-request` are public (the link is the credential); accepting as an existing account may carry that
//! account's session, which this function checks itself. `GET /me/invitations` and
//! `POST /me/invitations/{customerId}/{invitationId}/accept` are the signed-in account's: the
//! invitations addressed to its email, accepted without the link.

use cloudhub::App;
use cloudhub::domain::{CustomerNumber, InvalidValue, InvitationId, Language, Password, PasswordPolicy};
use cloudhub::http::{
    ApiError, bearer_token, caller, customer_in_path, invitation_in_path, json, json_body, no_content, routes,
    source_address,
};
use cloudhub::links::LinkToken;
use cloudhub::memberships::RoleRef;
use cloudhub::usecases::accept::{self as invitations, AccountHint, Proof};
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    password: Option<String>,
    language: Option<String>,
    account: Option<String>,
}

struct Offered {
    password: Option<Password>,
    language: Option<Language>,
    account: Option<AccountHint>,
}

impl TryFrom<AcceptBody> for Offered {
    type Error = InvalidValue;
    fn try_from(body: AcceptBody) -> Result<Self, Self::Error> {
        Ok(Self {
            // The policy for new passwords is applied once it is known that the account is new.
            password: body
                .password
                .map(|raw| Password::parse(raw, PasswordPolicy::Existing))
                .transpose()?,
            language: body.language.as_deref().map(Language::parse).transpose()?,
            account: body.account.as_deref().map(AccountHint::parse).transpose()?,
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AcceptAnswer {
    session_token: String,
    #[serde(serialize_with = "cloudhub::http::timestamp::serialize")]
    expires_at: OffsetDateTime,
    user_id: String,
    email: String,
    account_created: bool,
    customer: JoinedCustomer,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JoinedCustomer {
    customer_number: String,
    company_name: String,
    roles: Vec<RoleRef>,
    restricted: bool,
}

/// Handles the invitation link routes: previewing and accepting.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, ApiError> {
    match routes::route_of(&request)? {
        routes::LINK_PREVIEW => preview(app, &request).await,
        routes::LINK_ACCEPT => accept(app, &request).await,
        routes::LINK_RENEWAL_REQUEST => request_renewal(app, &request).await,
        routes::ME_INVITATIONS => my_invitations(app, &request).await,
        routes::ME_INVITATION_ACCEPT => accept_mine(app, &request).await,
        routes::ME_INVITATION_DECLINE => decline_mine(app, &request).await,
        other => Err(routes::not_served(other)),
    }
}

/// The `{token}` of the path, if it is a link made with a key in force. A token of the wrong
/// shape, or of a retired key, opens nothing: 404, before any read of the table.
async fn token_in_path(app: &App, request: &Request) -> Result<LinkToken, ApiError> {
    let not_found = || ApiError::from(invitations::AcceptError::NotFound);
    let token = request
        .path_parameters_ref()
        .and_then(|p| p.first("token"))
        .and_then(|raw| LinkToken::parse(raw).ok())
        .ok_or_else(not_found)?;
    match app.link_keys()?.key(&token.key_id()).await? {
        Some(_) => Ok(token),
        None => Err(not_found()),
    }
}

#[tracing::instrument(name = "Previewing an invitation link", skip_all)]
async fn preview(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let token = token_in_path(app, request).await?;
    let preview = invitations::preview(&app.store, &token, app.clock.now()).await?;
    Ok(json(StatusCode::OK, &preview))
}

#[tracing::instrument(name = "Accepting an invitation link", skip_all)]
async fn accept(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    // An existing account accepting while logged in may send no body at all.
    let body: AcceptBody = if request.body().is_empty() {
        AcceptBody::default()
    } else {
        json_body(request)?
    };
    let offered = Offered::try_from(body)?;
    let token = token_in_path(app, request).await?;
    let now = app.clock.now();
    // Looked up by the accept, beside its first read.
    let session = if request.headers().contains_key(header::AUTHORIZATION) {
        Some(bearer_token(request.headers())?)
    } else {
        None
    };
    let proof = Proof {
        password: offered.password,
        language: offered.language,
        session,
        account: offered.account,
        source: source_address(request),
    };
    let accepted = invitations::accept(&app.store, &token, proof, now).await?;
    let session = accepted.started_session()?;
    let status = if accepted.account_created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(
        status,
        &AcceptAnswer {
            session_token: session.token.reveal().to_owned(),
            expires_at: session.session.expires_at,
            user_id: accepted.user_id.to_string(),
            email: accepted.email.to_string(),
            account_created: accepted.account_created,
            customer: JoinedCustomer {
                customer_number: accepted.customer_number.to_string(),
                company_name: accepted.company_name.to_string(),
                restricted: cloudhub::domain::is_restricted(&accepted.permissions),
                roles: accepted.roles,
            },
        },
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RenewalRequested {
    renewal_requested: bool,
}

/// An expired link's holder asks the admins for a new one. It takes no body (one is ignored).
#[tracing::instrument(name = "Asking for a new invitation link", skip_all)]
async fn request_renewal(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let token = token_in_path(app, request).await?;
    invitations::request_renewal(&app.store, &token, app.clock.now()).await?;
    Ok(json(
        StatusCode::ACCEPTED,
        &RenewalRequested {
            renewal_requested: true,
        },
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MyInvitations {
    invitations: Vec<invitations::Waiting>,
}

#[tracing::instrument(name = "Listing one's invitations", skip_all)]
async fn my_invitations(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let me = caller(request)?;
    let invitations = invitations::waiting(&app.store, &me.email, app.clock.now()).await?;
    Ok(json(StatusCode::OK, &MyInvitations { invitations }))
}

/// The signed-in account and the invitation the path names (`/me/invitations/{c}/{id}/...`).
fn mine_in_path(request: &Request) -> Result<(invitations::Me, CustomerNumber, InvitationId), ApiError> {
    let me = caller(request)?;
    Ok((
        invitations::Me {
            user_id: me.user_id,
            email: me.email,
            source: source_address(request),
        },
        customer_in_path(request)?,
        invitation_in_path(request)?,
    ))
}

#[tracing::instrument(name = "Declining one's invitation", skip_all)]
async fn decline_mine(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let (me, customer, id) = mine_in_path(request)?;
    invitations::decline_mine(&app.store, &me, &customer, &id, app.clock.now()).await?;
    Ok(no_content())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JoinedAnswer {
    user_id: String,
    customer: JoinedCustomer,
}

#[tracing::instrument(name = "Accepting one's invitation", skip_all)]
async fn accept_mine(app: &App, request: &Request) -> Result<Response<Body>, ApiError> {
    let (me, customer, id) = mine_in_path(request)?;
    let accepted = invitations::accept_mine(&app.store, &me, &customer, &id, app.clock.now()).await?;
    Ok(json(
        StatusCode::OK,
        &JoinedAnswer {
            user_id: accepted.user_id.to_string(),
            customer: JoinedCustomer {
                customer_number: accepted.customer_number.to_string(),
                company_name: accepted.company_name.to_string(),
                restricted: cloudhub::domain::is_restricted(&accepted.permissions),
                roles: accepted.roles,
            },
        },
    ))
}
