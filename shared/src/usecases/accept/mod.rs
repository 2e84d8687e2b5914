//! Accepting an invitation. The link holder first previews it (whose invitation, for which
//! customer, whether the invited email has an account), then accepts it as a new account (a
//! password) or as the existing account of the invited email (its password, or a session of
//! that account).
//!
//! Accepting is one transaction: the invitation consumed on condition that this link is still
//! its current, unexpired one (so of two concurrent accepts exactly one wins), its seat turned
//! into a member seat, the membership written (or a cancelled one revived) with the roles that
//! still exist, the account if new, the admin count, and the session the answer carries.
//! A new account's user item is what owes the welcome email (the table's stream publishes it).

mod commit;
mod identify;
mod preview;

pub use preview::preview;

use crate::accounts::{CredentialItem, User};
use crate::customers::CustomerItem;
use crate::domain::{
    CompanyName, CustomerNumber, Email, InvalidValue, Language, Password, PasswordHash, Permission, SecretToken,
    SourceAddress, TokenHash, UserId,
};
use crate::invitations::{Invitation, InviterView, LinkState, open_link};
use crate::links::LinkToken;
use crate::memberships::RoleRef;
use crate::roles::RoleItem;
use crate::sessions::{self, Refusal, Session};
use crate::store::transactions::{TransactionError, transact_get};
use crate::store::{Item, Store, decode, keys};
use anyhow::Context as _;
use serde::Serialize;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// What a link holder sees before accepting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The customer the invitation grants access to.
    pub customer_number: CustomerNumber,
    /// Its company name.
    pub company_name: CompanyName,
    /// The invited address; accepting binds the account of this address.
    pub email: Email,
    /// Whether that address has an account: then accepting asks for its password (or a
    /// session of it), else for a new password.
    pub account_exists: bool,
    /// The roles it grants, those that still exist.
    pub roles: Vec<RoleRef>,
    /// The admin who sent it.
    pub invited_by: InviterView,
    /// Until when the link works.
    #[serde(serialize_with = "crate::domain::timestamp::serialize")]
    pub expires_at: OffsetDateTime,
}

/// How the link holder proves who it is.
#[derive(Debug)]
pub struct Proof {
    /// A new password (new account) or the account's password (existing account).
    pub password: Option<Password>,
    /// The new account's language; without it, the invitation's, else the customer's default.
    /// An existing account keeps its own.
    pub language: Option<Language>,
    /// A live session of the caller, if the request carried one.
    pub session: Option<Session>,
    /// Where the request came from: an existing account's password attempts are throttled
    /// per email and source like log-in's.
    pub source: SourceAddress,
}

/// An accepted invitation.
#[derive(Debug)]
pub struct Accepted {
    /// The member's account.
    pub user_id: UserId,
    /// Its email address.
    pub email: Email,
    /// Whether the account was created now.
    pub account_created: bool,
    /// The customer joined.
    pub customer_number: CustomerNumber,
    /// Its company name.
    pub company_name: CompanyName,
    /// The roles granted (none: restricted access until an admin assigns some).
    pub roles: Vec<RoleRef>,
    /// The permissions they grant.
    pub permissions: BTreeSet<Permission>,
    /// A new session for the member.
    pub session_token: SecretToken,
    /// That session.
    pub session: Session,
}

/// Why a link could not be previewed or accepted. A refused accept changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// Never issued, deleted, resent since (an older link), or used.
    #[error("This invitation link is not valid: it was used, replaced by a newer one, or withdrawn.")]
    NotFound,
    /// The link's 24 hours are over.
    #[error("This invitation link has expired. Ask an admin of the customer to send it again.")]
    Expired,
    /// The account of the invited email is already an active member.
    #[error("This account has access to this customer already.")]
    AlreadyMember,
    /// A new account was asked for, but the email got an account meanwhile.
    #[error("An account with this email address exists now. Accept with its password instead.")]
    AccountExists,
    /// The request's session is of another account than the invited email's.
    #[error(
        "You are logged in with another account than the invited email address. Log out, or accept with the invited account's password."
    )]
    WrongAccount,
    /// The invited email has an account, and no password or session of it was given.
    #[error("The invited email address has an account: accept with its password or while logged in to it.")]
    CredentialsRequired,
    /// The account's password is wrong.
    #[error("The password is not correct.")]
    InvalidCredentials,
    /// Too many failed passwords for the email from this source, or from this source at all.
    #[error("Too many failed password attempts.")]
    TooManyAttempts(Refusal),
    /// A new account's password breaks the policy (or is missing).
    #[error(transparent)]
    InvalidPassword(InvalidValue),
    /// A role of the invitation was edited or deleted meanwhile.
    #[error("The invitation's roles changed meanwhile; try again.")]
    RolesChanged,
    /// Concurrent requests kept conflicting.
    #[error("The service is busy.")]
    Contention,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What an invitation needs from around it: its customer, the invited email's credential, and
/// its roles as they are now.
pub(super) struct Context {
    pub customer: CustomerItem,
    pub credential: Option<CredentialItem>,
    pub roles: Vec<RoleItem>,
}

impl Context {
    pub(super) fn role_refs(&self) -> Vec<RoleRef> {
        self.roles.iter().map(RoleItem::as_ref).collect()
    }
}

/// Opens a link that must be live: the invitation, or why not.
pub(super) async fn live_invitation(
    store: &Store,
    token: &LinkToken,
    now: OffsetDateTime,
) -> Result<Invitation, AcceptError> {
    match open_link(store, token, now).await? {
        LinkState::Live(invitation) => Ok(invitation),
        LinkState::Expired(_) => Err(AcceptError::Expired),
        LinkState::Dead => Err(AcceptError::NotFound),
    }
}

/// The keys of an invitation's customer, the invited email's credential and its roles.
fn context_keys(invitation: &Invitation) -> Vec<Item> {
    let customer = &invitation.customer_number;
    let mut wanted = vec![
        crate::customers::key(customer),
        crate::accounts::credential_key(&invitation.email),
    ];
    wanted.extend(invitation.role_ids.iter().map(|role| crate::roles::key(customer, role)));
    wanted
}

fn context_from(items: impl IntoIterator<Item = Item>) -> anyhow::Result<Context> {
    let (mut customer, mut credential, mut roles) = (None, None, Vec::new());
    for item in items {
        match item.get(keys::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) {
            Some(keys::CUSTOMER_SK) => customer = Some(decode(item, "a customer")?),
            Some(keys::CREDENTIAL_SK) => credential = Some(decode(item, "a credential")?),
            _ => roles.push(decode::<RoleItem>(item, "a role")?),
        }
    }
    roles.sort_by_key(|role| role.id);
    Ok(Context {
        customer: customer.context("An invitation names a customer that does not exist.")?,
        credential,
        roles,
    })
}

/// The customer, the credential and the roles, in one consistent BatchGetItem.
pub(super) async fn read_context(store: &Store, invitation: &Invitation) -> anyhow::Result<Context> {
    let items = store
        .batch_get(context_keys(invitation))
        .await
        .context("Failed to read an invitation's customer, credential and roles.")?;
    context_from(items)
}

/// The same, in one snapshot with the invitation (TransactGetItems), for accepting: the
/// credential is read as it was while `link` was still the invitation's current link. Read
/// apart, a concurrent accept of this link could commit in between, and its brand-new account
/// would turn this new-account accept into a password check against that account (a 401 that
/// counts as a failed log-in of its owner). Without the invitation in the snapshot the link
/// was used, replaced or withdrawn meanwhile.
async fn read_context_to_accept(
    store: &Store,
    invitation: &Invitation,
    link: &TokenHash,
) -> Result<Context, AcceptError> {
    let mut wanted = vec![crate::invitations::key(&invitation.customer_number, &invitation.id)];
    wanted.extend(context_keys(invitation));
    let mut items = match transact_get(
        store,
        wanted,
        "read an invitation with its customer, credential and roles",
    )
    .await
    {
        Ok(items) => items.into_iter(),
        Err(TransactionError::Contention) => return Err(AcceptError::Contention),
        Err(TransactionError::Other(error)) => return Err(error.into()),
        Err(TransactionError::Refused(refused)) => {
            return Err(refused.unexplained("read an invitation's snapshot").into());
        }
    };
    if !crate::invitations::still_links_to(items.next().flatten().as_ref(), link) {
        return Err(AcceptError::NotFound);
    }
    Ok(context_from(items.flatten())?)
}

/// Who accepts.
pub(super) enum Acceptor {
    New {
        user: User,
        password_hash: PasswordHash,
    },
    Existing {
        user_id: UserId,
        /// Whether its password proved it (then the attempt is no failure, once it is right).
        by_password: bool,
    },
}

/// Accepts the invitation a link opens, as the account `proof` identifies.
pub async fn accept(
    store: &Store,
    token: &LinkToken,
    proof: Proof,
    now: OffsetDateTime,
) -> Result<Accepted, AcceptError> {
    let invitation = live_invitation(store, token, now).await?;
    let link = token.hash();
    let context = read_context_to_accept(store, &invitation, &link).await?;
    let source = proof.source.clone();
    let acceptor = identify::identify(store, &invitation, &context, proof, now).await?;
    tracing::info!(
        invitation = %invitation.id,
        customer = %invitation.customer_number,
        new_account = matches!(acceptor, Acceptor::New { .. }),
        "accepting"
    );
    let password_was_right = matches!(acceptor, Acceptor::Existing { by_password: true, .. });
    // The right password is no failure whether or not the transaction then succeeds; forgetting
    // it alongside the transaction costs no round trip.
    let (accepted, ()) = tokio::join!(
        commit::commit(store, &link, &invitation, &context, acceptor, now),
        async {
            if password_was_right {
                sessions::login_succeeded(store, &invitation.email, &source, now).await;
            }
        }
    );
    accepted
}
