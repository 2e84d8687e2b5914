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
mod inbox;
mod preview;
mod renewal;

pub use renewal::request_renewal;

pub use inbox::{Me, Waiting, accept_mine, count_waiting, decline_mine, waiting};

use commit::{Committed, Grant, Link};

pub use preview::preview;

use crate::accounts::{CredentialItem, User};
use crate::customers::CustomerItem;
use crate::domain::{
    CompanyName, CustomerNumber, Email, InvalidValue, InvitationId, Language, Password, PasswordHash, Permission,
    SecretToken, SourceAddress, TokenHash, UserId,
};
use crate::invitations::{Ended, Invitation, InvitationItem, InviterView, LinkState, open_link};
use crate::links::LinkToken;
use crate::memberships::RoleRef;
use crate::roles::RoleItem;
use crate::sessions::{self, Attempt, Lookup, Refusal, Session};
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
    /// The bearer token the request carried, if any: a session of the invited email's account.
    pub session: Option<SecretToken>,
    /// What the link holder expects (the preview's `accountExists`): it only orders the reads,
    /// never changes the outcome.
    pub account: Option<AccountHint>,
    /// Where the request came from: an existing account's password attempts are throttled
    /// per email and source like log-in's.
    pub source: SourceAddress,
}

/// Whether the link holder expects the invited email to have an account (as the preview said).
/// With a password, an existing account's accept reads the credential and counts the attempt
/// first (3 round trips); otherwise the accept first tries to create the account (2 round trips
/// for a new one, 4 if the account exists after all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountHint {
    /// A new account (`accountExists: false`).
    New,
    /// The existing account (`accountExists: true`).
    Existing,
}

impl AccountHint {
    /// `new` or `existing`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "new" => Ok(Self::New),
            "existing" => Ok(Self::Existing),
            _ => Err(InvalidValue::new(
                "invalid-account",
                "`account` is `new` or `existing` (as the preview's `accountExists` says).",
            )),
        }
    }
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
    /// A new session for the member (accepting by link); none when the caller's session goes
    /// on (accepting from its invitations).
    pub session: Option<NewSession>,
}

impl Accepted {
    /// The session an accept by link started (every one does).
    pub fn started_session(&self) -> Result<&NewSession, AcceptError> {
        self.session
            .as_ref()
            .ok_or_else(|| AcceptError::Unexpected(anyhow::anyhow!("An accept by link started no session.")))
    }
}

/// A session an accept started.
#[derive(Debug)]
pub struct NewSession {
    /// Its bearer token, for the answer only.
    pub token: SecretToken,
    /// The session.
    pub session: Session,
}

/// Why a link could not be previewed or accepted. A refused accept changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// Never issued (as far as the table knows), or no longer listed.
    #[error("This invitation link is not valid.")]
    NotFound,
    /// The link's 24 hours are over.
    #[error(
        "This invitation link has expired. Ask for a new one (POST /invitations/{{token}}/renewal-request), or ask an admin of the customer to send it again."
    )]
    Expired,
    /// A link that was issued and no longer works: replaced, accepted, declined or withdrawn.
    #[error("{0}")]
    Ended(Ended),
    /// A renewal was asked for a link that still works.
    #[error("This invitation link still works: accept it, no new one is needed.")]
    NotExpired,
    /// A renewal of this invitation was asked for within the last 24 hours.
    #[error("A new link was asked for already; the admins were told. You can ask again in {} hours.", .retry_after_secs.div_ceil(3600))]
    RenewalAlreadyRequested {
        /// Seconds until it may be asked again.
        retry_after_secs: u64,
    },
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
    /// The request's bearer token is a session that has expired.
    #[error("The session has expired; log in again, or accept with the password.")]
    SessionExpired,
    /// The request's bearer token is no session.
    #[error("The bearer token is not a valid session.")]
    InvalidSession,
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

/// What a link opens in the first round trip: the invitation's state and, when the token names
/// the invitation, its customer (read beside it).
struct Opened {
    state: LinkState,
    customer: Option<CustomerItem>,
}

impl Opened {
    /// The invitation if the link is live, with its customer if it was read.
    fn live(self) -> Result<(Invitation, Option<CustomerItem>), AcceptError> {
        match self.state {
            LinkState::Live(invitation) => Ok((invitation, self.customer)),
            other => Err(AcceptError::from_state(other)),
        }
    }
}

impl AcceptError {
    /// Why a link that is not live does not work (a live one here was changed meanwhile: it is
    /// refused like one that is not found, and a retry reads it again).
    pub(crate) fn from_state(state: LinkState) -> Self {
        match state {
            LinkState::Expired(_) => Self::Expired,
            LinkState::Ended(ended) => Self::Ended(ended),
            LinkState::Live(_) | LinkState::Dead => Self::NotFound,
        }
    }
}

/// Opens a link: one consistent BatchGetItem of the invitation the token names and of its
/// customer; a token of the old form (no invitation key) takes its link item and the invitation
/// (two GetItems) and leaves the customer for later.
async fn open(store: &Store, token: &LinkToken, now: OffsetDateTime) -> anyhow::Result<Opened> {
    let Some((customer_number, id)) = token.invitation_key() else {
        return Ok(Opened {
            state: open_link(store, token, now).await?,
            customer: None,
        });
    };
    let (invitation, customer) = invitation_and_customer(store, &customer_number, &id).await?;
    Ok(Opened {
        state: LinkState::of(invitation, &token.hash(), now),
        customer,
    })
}

/// Invitation `id` of `customer` and the customer, as stored: one consistent BatchGetItem.
async fn invitation_and_customer(
    store: &Store,
    customer: &CustomerNumber,
    id: &InvitationId,
) -> anyhow::Result<(Option<InvitationItem>, Option<CustomerItem>)> {
    let items = store
        .batch_get(vec![
            crate::invitations::key(customer, id),
            crate::customers::key(customer),
        ])
        .await
        .context("Failed to read an invitation and its customer.")?;
    let (mut invitation, mut customer_item) = (None, None);
    for item in items {
        if item.get(keys::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) == Some(keys::CUSTOMER_SK) {
            customer_item = Some(decode::<CustomerItem>(item, "a customer")?);
        } else {
            invitation = Some(decode::<InvitationItem>(item, "an invitation")?);
        }
    }
    Ok((invitation, customer_item))
}

/// The keys of the invited email's credential and the invitation's roles (and of its customer,
/// unless it was read already).
fn context_keys(invitation: &Invitation, with_customer: bool) -> Vec<Item> {
    let customer = &invitation.customer_number;
    let mut wanted = Vec::new();
    if with_customer {
        wanted.push(crate::customers::key(customer));
    }
    wanted.push(crate::accounts::credential_key(&invitation.email));
    wanted.extend(invitation.role_ids.iter().map(|role| crate::roles::key(customer, role)));
    wanted
}

/// The credential and the roles among `items` (and the customer, if one is).
fn parts_of(items: impl IntoIterator<Item = Item>) -> anyhow::Result<(Option<CustomerItem>, Found)> {
    let (mut customer, mut credential, mut roles) = (None, None, Vec::new());
    for item in items {
        match item.get(keys::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) {
            Some(keys::CUSTOMER_SK) => customer = Some(decode(item, "a customer")?),
            Some(keys::CREDENTIAL_SK) => credential = Some(decode(item, "a credential")?),
            _ => roles.push(decode::<RoleItem>(item, "a role")?),
        }
    }
    roles.sort_by_key(|role| role.id);
    Ok((customer, Found { credential, roles }))
}

/// The credential and the roles, read without the customer.
struct Found {
    credential: Option<CredentialItem>,
    roles: Vec<RoleItem>,
}

impl Found {
    fn with(self, customer: CustomerItem) -> Context {
        Context {
            customer,
            credential: self.credential,
            roles: self.roles,
        }
    }
}

fn no_customer() -> anyhow::Error {
    anyhow::anyhow!("An invitation names a customer that does not exist.")
}

/// The credential and the roles (and the customer unless given), in one consistent BatchGetItem.
pub(super) async fn read_context(
    store: &Store,
    invitation: &Invitation,
    customer: Option<CustomerItem>,
) -> anyhow::Result<Context> {
    let items = store
        .batch_get(context_keys(invitation, customer.is_none()))
        .await
        .context("Failed to read an invitation's customer, credential and roles.")?;
    let (read, parts) = parts_of(items)?;
    Ok(parts.with(customer.or(read).ok_or_else(no_customer)?))
}

/// The same, in one snapshot with the invitation (TransactGetItems), for accepting with a
/// password: the credential is read as it was while `link` was still the invitation's current
/// link. Read apart, a concurrent accept of this link could commit in between, and its
/// brand-new account would turn this accept into a password check against that account (a 401
/// that counts as a failed log-in of its owner). Without the invitation in the snapshot the
/// link was used, replaced or withdrawn meanwhile.
async fn read_context_to_accept(
    store: &Store,
    invitation: &Invitation,
    customer: Option<CustomerItem>,
    link: &TokenHash,
    now: OffsetDateTime,
) -> Result<Context, AcceptError> {
    let mut wanted = vec![crate::invitations::key(&invitation.customer_number, &invitation.id)];
    wanted.extend(context_keys(invitation, customer.is_none()));
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
    match crate::invitations::link_state_of(items.next().flatten().as_ref(), link, now)? {
        LinkState::Live(_) => {}
        other => return Err(AcceptError::from_state(other)),
    }
    let (read, parts) = parts_of(items.flatten())?;
    Ok(parts.with(customer.or(read).ok_or_else(no_customer)?))
}

/// Who accepts.
pub(super) enum Acceptor {
    New {
        user: User,
        password_hash: PasswordHash,
    },
    /// The invited email's account, proved by its password.
    ByPassword {
        user_id: UserId,
    },
    /// The account of a session whose email is the invited one; the accept's transaction
    /// requires that the email's credential is still that account's.
    BySession {
        user_id: UserId,
    },
}

impl Acceptor {
    fn user_id(&self) -> UserId {
        match self {
            Self::New { user, .. } => user.id,
            Self::ByPassword { user_id } | Self::BySession { user_id } => *user_id,
        }
    }
}

/// The session a bearer token opens, if the request carried one.
async fn find_session(
    store: &Store,
    token: Option<&SecretToken>,
    now: OffsetDateTime,
) -> Result<Option<Session>, AcceptError> {
    let Some(token) = token else { return Ok(None) };
    match sessions::find(store, token, now).await? {
        Lookup::Valid(session) => Ok(Some(session)),
        Lookup::Expired => Err(AcceptError::SessionExpired),
        Lookup::Unknown => Err(AcceptError::InvalidSession),
    }
}

/// Accepts the invitation a link opens, as the account `proof` identifies, in the fewest round
/// trips each case allows:
///
/// | case | round trips |
/// |---|---|
/// | with a session | 2: the invitation and its customer (BatchGetItem) beside the session (GetItem); the transaction |
/// | new account | 2: the invitation and its customer; the transaction creating the account, beside a read of the credential and the roles |
/// | password, `account: existing` | 3: the invitation and its customer; the snapshot (TransactGetItems) beside the attempt's count; the transaction |
/// | password without the hint, the account exists | 4: as a new account, refused; the count; the transaction |
///
/// The first transaction grants the invitation's roles unread, on condition that each still
/// exists, is not being changed and makes no admin; if one does (or changed), the roles read
/// beside it are required unchanged in a second. A token of the old form costs one round trip
/// more (its link item), and every case it meets takes the snapshot first.
pub async fn accept(
    store: &Store,
    token: &LinkToken,
    proof: Proof,
    now: OffsetDateTime,
) -> Result<Accepted, AcceptError> {
    let (opened, session) = tokio::join!(
        open(store, token, now),
        find_session(store, proof.session.as_ref(), now)
    );
    let session = session?;
    let (invitation, customer) = opened?.live()?;
    tracing::info!(
        invitation = %invitation.id,
        customer = %invitation.customer_number,
        "accepting"
    );
    let link = Link {
        hash: token.hash(),
        new_session: true,
    };
    let accept = Accept {
        store,
        link: &link,
        invitation: &invitation,
        proof: &proof,
        now,
    };
    match (customer, session, &proof.password) {
        (Some(customer), Some(session), _) => {
            let acceptor = identify::by_session(&invitation, &session)?;
            accept.unread(customer, acceptor).await
        }
        (Some(customer), None, Some(password))
            if proof.account != Some(AccountHint::Existing) && password.check_new().is_ok() =>
        {
            let acceptor = identify::new_account(&invitation, &customer, password, proof.language, now).await?;
            accept.unread(customer, acceptor).await
        }
        (customer, session, _) => accept.read_first(customer, session).await,
    }
}

/// One accept underway.
struct Accept<'a> {
    store: &'a Store,
    link: &'a Link,
    invitation: &'a Invitation,
    proof: &'a Proof,
    now: OffsetDateTime,
}

impl Accept<'_> {
    /// The transaction straight away, granting the roles unread, beside a read of the
    /// credential and the roles: if a role makes an admin (or changed), again with the roles
    /// read; if the new account's email has an account after all, as that account with the
    /// password.
    async fn unread(&self, customer: CustomerItem, acceptor: Acceptor) -> Result<Accepted, AcceptError> {
        let (committed, context) = tokio::join!(
            commit::commit(
                self.store,
                self.link,
                self.invitation,
                &customer,
                Grant::Unread(&self.invitation.role_ids),
                &acceptor,
                self.now,
            ),
            read_context(self.store, self.invitation, Some(customer.clone())),
        );
        let context = context?;
        let new_account = matches!(acceptor, Acceptor::New { .. });
        match committed {
            Ok(committed) => Ok(accepted(self.invitation, &context, committed)),
            // A refusal names a changed role before an existing credential: with a credential
            // read, the email has an account, whatever the roles, so the password is its.
            Err(AcceptError::RolesChanged) if !(new_account && context.credential.is_some()) => {
                self.commit(&context, acceptor).await
            }
            Err(AcceptError::RolesChanged | AcceptError::AccountExists) if new_account => {
                match (&context.credential, &self.proof.password) {
                    (Some(credential), Some(password)) => {
                        let acceptor = identify::by_password(
                            self.store,
                            self.invitation,
                            credential,
                            password,
                            &self.proof.source,
                            None,
                            self.now,
                        )
                        .await?;
                        self.commit(&context, acceptor).await
                    }
                    // Created between the read and the transaction: read again, in a snapshot.
                    _ => self.read_first(Some(customer), None).await,
                }
            }
            Err(error) => Err(error),
        }
    }

    /// The snapshot of the invitation with its credential and roles first (beside the
    /// password attempt's count when the holder said the account exists), then the transaction.
    async fn read_first(
        &self,
        customer: Option<CustomerItem>,
        session: Option<Session>,
    ) -> Result<Accepted, AcceptError> {
        let email = &self.invitation.email;
        let count_now =
            session.is_none() && self.proof.password.is_some() && self.proof.account == Some(AccountHint::Existing);
        let (context, counted) = tokio::join!(
            read_context_to_accept(self.store, self.invitation, customer, &self.link.hash, self.now),
            async {
                if count_now {
                    Some(sessions::count_login_attempt(self.store, email, &self.proof.source, self.now).await)
                } else {
                    None
                }
            }
        );
        let counted = counted.transpose()?;
        let context = match context {
            Ok(context) => context,
            Err(error) => {
                if let Some(Attempt::Allowed) = counted {
                    sessions::take_back_attempt(self.store, email, &self.proof.source, self.now).await;
                }
                return Err(error);
            }
        };
        let acceptor = identify::identify(
            self.store,
            self.invitation,
            &context,
            self.proof,
            session,
            counted,
            self.now,
        )
        .await?;
        self.commit(&context, acceptor).await
    }

    /// The transaction with the roles as read, and (a password that was right) the attempt
    /// forgotten beside it.
    async fn commit(&self, context: &Context, acceptor: Acceptor) -> Result<Accepted, AcceptError> {
        let password_was_right = matches!(acceptor, Acceptor::ByPassword { .. });
        // The right password is no failure whether or not the transaction then succeeds;
        // forgetting it alongside the transaction costs no round trip.
        let (committed, ()) = tokio::join!(
            commit::commit(
                self.store,
                self.link,
                self.invitation,
                &context.customer,
                Grant::Read(&context.roles),
                &acceptor,
                self.now,
            ),
            async {
                if password_was_right {
                    sessions::login_succeeded(self.store, &self.invitation.email, &self.proof.source, self.now).await;
                }
            }
        );
        Ok(accepted(self.invitation, context, committed?))
    }
}

/// The answer: the roles granted as read beside (or before) the transaction.
fn accepted(invitation: &Invitation, context: &Context, committed: Committed) -> Accepted {
    let roles: Vec<&RoleItem> = context
        .roles
        .iter()
        .filter(|role| committed.role_ids.contains(&role.id))
        .collect();
    Accepted {
        user_id: committed.user_id,
        email: invitation.email.clone(),
        account_created: committed.account_created,
        customer_number: invitation.customer_number.clone(),
        company_name: context.customer.company_name.clone(),
        roles: roles.iter().map(|role| role.as_ref()).collect(),
        permissions: roles.iter().flat_map(|role| role.permissions.iter().copied()).collect(),
        session: committed.session,
    }
}
