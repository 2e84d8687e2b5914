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

use super::{Invitation, LinkState, open_link};
use crate::accounts::{CredentialItem, User, UserItem};
use crate::customers::CustomerItem;
use crate::domain::{
    CompanyName, CustomerNumber, Email, InvalidValue, Language, Password, PasswordHash, Permission, RoleId,
    SecretToken, SourceAddress, TokenHash, UserId,
};
use crate::http::ApiError;
use crate::links::LinkToken;
use crate::memberships::RoleRef;
use crate::roles::{CHANGING_UNTIL, RoleItem, change_admin_count};
use crate::seats::{SeatItem, SeatStatus};
use crate::sessions::{self, Attempt, Refusal, Session};
use crate::store::transactions::{Reason, TransactionError, built, transact, transact_get};
use crate::store::{Item, Store, epoch_seconds, item_key, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
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
    pub invited_by: super::InviterView,
    /// Until when the link works.
    #[serde(serialize_with = "crate::http::timestamp::serialize")]
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
    Busy,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<AcceptError> for ApiError {
    fn from(error: AcceptError) -> Self {
        let detail = error.to_string();
        let conflict = |code| ApiError::Conflict {
            code,
            detail: detail.clone(),
            extensions: Default::default(),
        };
        match error {
            AcceptError::NotFound => ApiError::NotFound {
                code: "invitation-not-found",
                detail,
            },
            AcceptError::Expired => ApiError::Gone {
                code: "invitation-expired",
                detail,
            },
            AcceptError::AlreadyMember => conflict("already-member"),
            AcceptError::AccountExists => conflict("account-exists"),
            AcceptError::RolesChanged => conflict("role-busy"),
            AcceptError::WrongAccount => ApiError::Forbidden {
                code: "wrong-account",
                detail,
            },
            AcceptError::CredentialsRequired => ApiError::Unprocessable {
                code: "credentials-required",
                detail,
                extensions: Default::default(),
            },
            AcceptError::InvalidCredentials => ApiError::InvalidCredentials,
            AcceptError::TooManyAttempts(refusal) => refusal.into(),
            AcceptError::InvalidPassword(invalid) => ApiError::InvalidValue(invalid),
            AcceptError::Busy => ApiError::Unavailable { retry_after_secs: 1 },
            AcceptError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

/// What an invitation needs from around it: its customer, the invited email's credential, and
/// its roles as they are now.
struct Context {
    customer: CustomerItem,
    credential: Option<CredentialItem>,
    roles: Vec<RoleItem>,
}

impl Context {
    fn role_refs(&self) -> Vec<RoleRef> {
        self.roles
            .iter()
            .map(|role| RoleRef {
                id: role.id,
                name: role.name.clone(),
            })
            .collect()
    }
}

/// Opens a link that must be live: the invitation, or why not.
async fn live_invitation(store: &Store, token: &LinkToken, now: OffsetDateTime) -> Result<Invitation, AcceptError> {
    match open_link(store, token, now).await? {
        LinkState::Live(invitation) => Ok(invitation),
        LinkState::Expired(_) => Err(AcceptError::Expired),
        LinkState::Dead => Err(AcceptError::NotFound),
    }
}

/// The keys of an invitation's customer, the invited email's credential and its roles.
fn context_keys(invitation: &Invitation) -> Vec<Item> {
    let customer_pk = keys::customer(&invitation.customer_number);
    let mut wanted = vec![
        item_key(customer_pk.clone(), keys::CUSTOMER_SK.into()),
        item_key(keys::credential(&invitation.email), keys::CREDENTIAL_SK.into()),
    ];
    wanted.extend(
        invitation
            .role_ids
            .iter()
            .map(|role| item_key(customer_pk.clone(), keys::role_sk(role))),
    );
    wanted
}

fn context_from(items: impl IntoIterator<Item = Item>) -> anyhow::Result<Context> {
    let (mut customer, mut credential, mut roles) = (None, None, Vec::new());
    for item in items {
        match item.get(keys::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) {
            Some(keys::CUSTOMER_SK) => {
                customer = Some(serde_dynamo::from_item(item).context("A stored customer is malformed.")?);
            }
            Some(keys::CREDENTIAL_SK) => {
                credential = Some(serde_dynamo::from_item(item).context("A stored credential is malformed.")?);
            }
            _ => roles.push(serde_dynamo::from_item::<_, RoleItem>(item).context("A stored role is malformed.")?),
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
async fn read_context(store: &Store, invitation: &Invitation) -> anyhow::Result<Context> {
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
    let mut wanted = vec![item_key(
        keys::customer(&invitation.customer_number),
        keys::invitation_sk(&invitation.id),
    )];
    wanted.extend(context_keys(invitation));
    let mut items = match transact_get(
        store,
        wanted,
        "read an invitation with its customer, credential and roles",
    )
    .await
    {
        Ok(items) => items.into_iter(),
        Err(TransactionError::Contention) => return Err(AcceptError::Busy),
        Err(TransactionError::Other(error)) => return Err(error.into()),
        Err(TransactionError::Cancelled(reasons)) => {
            return Err(anyhow::anyhow!("A snapshot read was cancelled: {reasons:?}").into());
        }
    };
    let still_current = items
        .next()
        .flatten()
        .and_then(|item| item.get("linkHash").cloned())
        .is_some_and(|hash| hash.as_s().is_ok_and(|hash| hash == link.as_str()));
    if !still_current {
        return Err(AcceptError::NotFound);
    }
    Ok(context_from(items.flatten())?)
}

/// Previews the invitation a link opens (three reads: link, invitation, the rest at once).
#[tracing::instrument(name = "Previewing an invitation", skip_all)]
pub async fn preview(store: &Store, token: &LinkToken, now: OffsetDateTime) -> Result<Preview, AcceptError> {
    let invitation = live_invitation(store, token, now).await?;
    let context = read_context(store, &invitation).await?;
    Ok(Preview {
        customer_number: invitation.customer_number,
        company_name: context.customer.company_name.clone(),
        email: invitation.email,
        account_exists: context.credential.is_some(),
        roles: context.role_refs(),
        invited_by: super::InviterView {
            user_id: invitation.invited_by,
            email: invitation.invited_by_email,
        },
        expires_at: invitation.expires_at,
    })
}

/// Who accepts.
enum Acceptor {
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
#[tracing::instrument(name = "Accepting an invitation", skip_all)]
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
    let acceptor = identify(store, &invitation, &context, proof, now).await?;
    tracing::info!(
        invitation = %invitation.id,
        customer = %invitation.customer_number,
        new_account = matches!(acceptor, Acceptor::New { .. }),
        "accepting"
    );
    let password_was_right = matches!(acceptor, Acceptor::Existing { by_password: true, .. });
    // The right password is no failure whether or not the transaction then succeeds; forgetting
    // it alongside the transaction costs no round trip.
    let (accepted, ()) = tokio::join!(commit(store, &link, &invitation, &context, acceptor, now), async {
        if password_was_right {
            sessions::login_succeeded(store, &invitation.email, &source, now).await;
        }
    });
    accepted
}

async fn identify(
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

async fn commit(
    store: &Store,
    link: &TokenHash,
    invitation: &Invitation,
    context: &Context,
    acceptor: Acceptor,
    now: OffsetDateTime,
) -> Result<Accepted, AcceptError> {
    let table = &store.tables.data;
    let customer = &invitation.customer_number;
    let user_id = match &acceptor {
        Acceptor::New { user, .. } => user.id,
        Acceptor::Existing { user_id, .. } => *user_id,
    };
    let roles = context.role_refs();
    let permissions: BTreeSet<Permission> = context
        .roles
        .iter()
        .flat_map(|role| role.permissions.iter().copied())
        .collect();
    let role_ids: BTreeSet<RoleId> = context.roles.iter().map(|role| role.id).collect();

    let consume = built(
        Delete::builder()
            .table_name(table)
            .key(keys::PK, AttributeValue::S(keys::customer(customer)))
            .key(keys::SK, AttributeValue::S(keys::invitation_sk(&invitation.id)))
            // This link is still the invitation's current one, and its 24 hours are not over
            // (LSI1SK starts with the expiry in milliseconds).
            .condition_expression("linkHash = :hash AND LSI1SK > :now")
            .expression_attribute_values(":hash", AttributeValue::S(link.as_str().to_owned()))
            .expression_attribute_values(
                ":now",
                AttributeValue::S(format!("{}~", keys::invitation_lsi1_prefix(now))),
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build(),
    )?;
    let forget_link = built(
        Delete::builder()
            .table_name(table)
            .key(keys::PK, AttributeValue::S(keys::link(link)))
            .key(keys::SK, AttributeValue::S(keys::LINK_SK.into()))
            .build(),
    )?;
    let seat = built(
        Put::builder()
            .table_name(table)
            .set_item(Some(
                serde_dynamo::to_item(SeatItem::member(customer, &invitation.email, user_id, role_ids, now))
                    .map_err(anyhow::Error::from)?,
            ))
            .condition_expression("#status = :invited AND invitationId = :invitation")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":invited", AttributeValue::S("invited".into()))
            .expression_attribute_values(":invitation", AttributeValue::S(invitation.id.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build(),
    )?;
    let mut items = vec![
        TransactWriteItem::builder().delete(consume).build(),
        TransactWriteItem::builder().delete(forget_link).build(),
        TransactWriteItem::builder().put(seat).build(),
        join(
            store,
            user_id,
            invitation,
            &context.customer.company_name,
            &roles,
            &permissions,
            now,
        )?,
    ];
    let roles_from = items.len();
    for role in &context.roles {
        items.push(role_unchanged(store, customer, role, now)?);
    }
    let account_from = items.len();
    if let Acceptor::New { user, password_hash } = &acceptor {
        items.push(put_new(table, UserItem::new(user))?);
        items.push(put_new(
            table,
            CredentialItem::new(&user.email, user.id, password_hash),
        )?);
    }
    let account_to = items.len();
    if permissions.contains(&Permission::UserManagement) {
        items.push(change_admin_count(store, customer, 1)?);
    }
    let (session_token, session, put_session) = sessions::start_within(store, user_id, &invitation.email, now)?;
    items.push(put_session);

    let reasons = match transact(store, items, "accept an invitation").await {
        Ok(()) => {
            return Ok(Accepted {
                user_id,
                email: invitation.email.clone(),
                account_created: matches!(acceptor, Acceptor::New { .. }),
                customer_number: customer.clone(),
                company_name: context.customer.company_name.clone(),
                roles,
                permissions,
                session_token,
                session,
            });
        }
        Err(TransactionError::Cancelled(reasons)) => reasons,
        Err(TransactionError::Contention) => return Err(AcceptError::Busy),
        Err(TransactionError::Other(error)) => return Err(error.into()),
    };
    Err(refusal(
        &reasons,
        link,
        roles_from..account_from,
        account_from..account_to,
    ))
}

/// Why the accept transaction was cancelled, judged in order: the invitation first, so that of
/// concurrent accepts every loser hears that the link is used.
fn refusal(
    reasons: &[Reason],
    link: &TokenHash,
    roles: std::ops::Range<usize>,
    account: std::ops::Range<usize>,
) -> AcceptError {
    if reasons[0].condition_failed() {
        let current = reasons[0]
            .item
            .as_ref()
            .and_then(|item| item.get("linkHash"))
            .and_then(|hash| hash.as_s().ok());
        return match current {
            Some(hash) if hash == link.as_str() => AcceptError::Expired,
            _ => AcceptError::NotFound,
        };
    }
    if reasons[2].condition_failed() {
        let seat = reasons[2]
            .item
            .clone()
            .and_then(|item| serde_dynamo::from_item::<_, SeatItem>(item).ok());
        return match seat {
            Some(seat) if seat.status == SeatStatus::Member => AcceptError::AlreadyMember,
            _ => AcceptError::NotFound,
        };
    }
    if reasons[3].condition_failed() {
        return AcceptError::AlreadyMember;
    }
    if reasons[roles].iter().any(Reason::condition_failed) {
        return AcceptError::RolesChanged;
    }
    if reasons[account].iter().any(Reason::condition_failed) {
        return AcceptError::AccountExists;
    }
    AcceptError::Unexpected(anyhow::anyhow!("An accept's transaction was cancelled: {reasons:?}"))
}

/// Writes the membership, or revives one the user cancelled earlier. Its revision goes up, so a
/// role change computed from the old membership cannot land on the new one.
fn join(
    store: &Store,
    user_id: UserId,
    invitation: &Invitation,
    company_name: &CompanyName,
    roles: &[RoleRef],
    permissions: &BTreeSet<Permission>,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let customer = &invitation.customer_number;
    let values: BTreeMap<&str, AttributeValue> = BTreeMap::from([
        (":gsi1pk", AttributeValue::S(keys::customer(customer))),
        (":gsi1sk", AttributeValue::S(keys::member_gsi1sk(&invitation.email))),
        (":user", AttributeValue::S(user_id.to_string())),
        (":email", AttributeValue::S(invitation.email.to_string())),
        (":customer", AttributeValue::S(customer.to_string())),
        (":company", AttributeValue::S(company_name.to_string())),
        (":roles", serde_dynamo::to_attribute_value(roles)?),
        (":permissions", serde_dynamo::to_attribute_value(permissions)?),
        (":active", AttributeValue::S("active".into())),
        (":left", AttributeValue::S("left".into())),
        (":joined", AttributeValue::S(super::invite::time_text(now)?)),
        (":one", AttributeValue::N("1".into())),
    ]);
    let update = built(
        Update::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(keys::user(&user_id)))
            .key(keys::SK, AttributeValue::S(keys::membership_sk(customer)))
            .update_expression(
                "SET GSI1PK = :gsi1pk, GSI1SK = :gsi1sk, userId = :user, email = :email, \
                 customerNumber = :customer, companyName = :company, #roles = :roles, \
                 #permissions = :permissions, #status = :active, joinedAt = :joined \
                 REMOVE leftAt ADD #revision :one",
            )
            .condition_expression("attribute_not_exists(PK) OR #status = :left")
            .expression_attribute_names("#roles", "roles")
            .expression_attribute_names("#permissions", "permissions")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#revision", "revision")
            .set_expression_attribute_values(Some(values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The role as read: still there, same name and permissions, and not being changed.
fn role_unchanged(
    store: &Store,
    customer: &CustomerNumber,
    role: &RoleItem,
    now: OffsetDateTime,
) -> anyhow::Result<TransactWriteItem> {
    let check = built(
        ConditionCheck::builder()
            .table_name(&store.tables.data)
            .key(keys::PK, AttributeValue::S(keys::customer(customer)))
            .key(keys::SK, AttributeValue::S(keys::role_sk(&role.id)))
            .condition_expression(
                "attribute_exists(PK) AND (#revision = :revision OR (attribute_not_exists(#revision) AND :revision = :zero)) \
                 AND (attribute_not_exists(#changing) OR #changing < :now)",
            )
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_names("#changing", CHANGING_UNTIL)
            .expression_attribute_values(":revision", AttributeValue::N(role.revision.to_string()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":now", AttributeValue::N(epoch_seconds(now).to_string()))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

fn put_new(table: &str, item: impl Serialize) -> anyhow::Result<TransactWriteItem> {
    let put = built(
        Put::builder()
            .table_name(table)
            .set_item(Some(serde_dynamo::to_item(item)?))
            .condition_expression("attribute_not_exists(PK)")
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_bound_at_the_same_millisecond_refuses() {
        let now = time::macros::datetime!(2026-11-24 09:30:00.123 UTC);
        let id = crate::domain::InvitationId::generate();
        let bound = format!("{}~", keys::invitation_lsi1_prefix(now));
        assert!(keys::invitation_lsi1sk(now, &id) < bound, "expiring now is expired");
        assert!(keys::invitation_lsi1sk(now + time::Duration::milliseconds(1), &id) > bound);
    }
}
