//! Who accepts: a new account, or the invited email's existing one (its session or password).

use super::{AcceptError, Acceptor, Context, Proof};
use crate::accounts::{CredentialItem, User};
use crate::customers::CustomerItem;
use crate::domain::{InvalidValue, Language, Password, PasswordHash, SourceAddress, UserId};
use crate::invitations::Invitation;
use crate::sessions::{self, Attempt, Session};
use crate::store::Store;
use time::OffsetDateTime;

/// A session proves the invited email's account if it is a session of that email; the
/// accept's transaction requires that the email's credential is still the session's account.
pub(super) fn by_session(invitation: &Invitation, session: &Session) -> Result<Acceptor, AcceptError> {
    if session.email == invitation.email {
        Ok(Acceptor::BySession {
            user_id: session.user_id,
        })
    } else {
        Err(AcceptError::WrongAccount)
    }
}

/// A new account of the invited email, with `password` (which must meet the policy for new
/// ones) hashed, in `language`, else the invitation's, else the customer's default.
pub(super) async fn new_account(
    invitation: &Invitation,
    customer: &CustomerItem,
    password: &Password,
    language: Option<Language>,
    now: OffsetDateTime,
) -> Result<Acceptor, AcceptError> {
    password.check_new().map_err(AcceptError::InvalidPassword)?;
    let language = language.or(invitation.language).unwrap_or(customer.default_language);
    Ok(Acceptor::New {
        user: User {
            id: UserId::generate(),
            email: invitation.email.clone(),
            language,
            created_at: now,
            notify_on_accept: true,
        },
        password_hash: password.clone().hash().await?,
    })
}

/// The invited email's account, proved by its password: the attempt counts like a log-in's
/// (counted here unless `counted` says it was counted beside the read), then the hash is
/// verified.
pub(super) async fn by_password(
    store: &Store,
    invitation: &Invitation,
    credential: &CredentialItem,
    password: &Password,
    source: &SourceAddress,
    counted: Option<Attempt>,
    now: OffsetDateTime,
) -> Result<Acceptor, AcceptError> {
    // The same guard as log-in: an accept must not be a way around its attempt limit.
    let attempt = match counted {
        Some(attempt) => attempt,
        None => sessions::count_login_attempt(store, &invitation.email, source, now).await?,
    };
    if let Attempt::Refused(refusal) = attempt {
        return Err(AcceptError::TooManyAttempts(refusal));
    }
    let hash = PasswordHash::from_stored(credential.password_hash.clone());
    if hash.verify(password.clone()).await? {
        Ok(Acceptor::ByPassword {
            user_id: credential.user_id,
        })
    } else {
        Err(AcceptError::InvalidCredentials)
    }
}

/// Who the link holder is, from what was read: the session's account, the invited email's
/// account proved by its password, or a new account with a new password. An attempt counted
/// beside the read (`counted`) is taken back when there turned out to be no account.
pub(super) async fn identify(
    store: &Store,
    invitation: &Invitation,
    context: &Context,
    proof: &Proof,
    session: Option<Session>,
    counted: Option<Attempt>,
    now: OffsetDateTime,
) -> Result<Acceptor, AcceptError> {
    if let Some(session) = session {
        return by_session(invitation, &session);
    }
    match (&context.credential, &proof.password) {
        (Some(credential), Some(password)) => {
            by_password(store, invitation, credential, password, &proof.source, counted, now).await
        }
        (Some(_), None) => Err(AcceptError::CredentialsRequired),
        (None, password) => {
            if let Some(Attempt::Allowed) = counted {
                sessions::take_back_attempt(store, &invitation.email, &proof.source, now).await;
            }
            let password = password.as_ref().ok_or_else(|| {
                AcceptError::InvalidPassword(InvalidValue::new(
                    "invalid-password",
                    "A new account needs a password of 10 to 128 characters.",
                ))
            })?;
            new_account(invitation, &context.customer, password, proof.language, now).await
        }
    }
}
