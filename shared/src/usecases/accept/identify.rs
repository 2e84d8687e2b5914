//! Who accepts: a new account, or the invited email's existing one.

use super::{AcceptError, Acceptor, Context, Proof};
use crate::accounts::User;
use crate::domain::{InvalidValue, PasswordHash, UserId};
use crate::invitations::Invitation;
use crate::sessions::{self, Attempt};
use crate::store::Store;
use time::OffsetDateTime;

/// Who the link holder is: the session's account, the invited email's account proved by its
/// password (counted like a log-in), or a new account with a new password.
pub(super) async fn identify(
    store: &Store,
    invitation: &Invitation,
    context: &Context,
    proof: Proof,
    now: OffsetDateTime,
) -> Result<Acceptor, AcceptError> {
    if let Some(session) = proof.session {
        // A session proves the account only if it is the invited email's.
        return match &context.credential {
            Some(credential) if session.email == invitation.email && credential.user_id == session.user_id => {
                Ok(Acceptor::Existing {
                    user_id: session.user_id,
                    by_password: false,
                })
            }
            _ => Err(AcceptError::WrongAccount),
        };
    }
    match &context.credential {
        Some(credential) => {
            let password = proof.password.ok_or(AcceptError::CredentialsRequired)?;
            // The same guard as log-in: an accept must not be a way around its attempt limit.
            if let Attempt::Refused(refusal) =
                sessions::count_login_attempt(store, &invitation.email, &proof.source, now).await?
            {
                return Err(AcceptError::TooManyAttempts(refusal));
            }
            let hash = PasswordHash::from_stored(credential.password_hash.clone());
            if hash.verify(password).await? {
                Ok(Acceptor::Existing {
                    user_id: credential.user_id,
                    by_password: true,
                })
            } else {
                Err(AcceptError::InvalidCredentials)
            }
        }
        None => {
            let password = proof.password.ok_or_else(|| {
                AcceptError::InvalidPassword(InvalidValue::new(
                    "invalid-password",
                    "A new account needs a password of 10 to 128 characters.",
                ))
            })?;
            password.check_new().map_err(AcceptError::InvalidPassword)?;
            let language = proof
                .language
                .or(invitation.language)
                .unwrap_or(context.customer.default_language);
            Ok(Acceptor::New {
                user: User {
                    id: UserId::generate(),
                    email: invitation.email.clone(),
                    language,
                    created_at: now,
                },
                password_hash: password.hash().await?,
            })
        }
    }
}
