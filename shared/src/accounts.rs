//! Accounts: one per email address, with an argon2id password hash and a language.

use crate::domain::{Email, Language, PasswordHash, UserId};
use crate::memberships::{Membership, MembershipItem};
use crate::store::{IntoTransactionItem as _, Item, Store, Updated, decode, item_key, keys, text};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A CloudHub account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Its email address, the one it logs in with.
    pub email: Email,
    /// The language of its screens and emails.
    pub language: Language,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Whether, as an admin, it is told when an invitation it sent was accepted (default yes).
    pub notify_on_accept: bool,
}

/// What log-in checks a password against.
#[derive(Debug)]
pub struct Credential {
    /// The account the email belongs to.
    pub user_id: UserId,
    /// Its password hash.
    pub password_hash: PasswordHash,
}

/// An account with every membership it has, active or left.
#[derive(Debug, Clone)]
pub struct Account {
    /// The account.
    pub user: User,
    /// Its memberships, ordered by customer number.
    pub memberships: Vec<Membership>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub id: UserId,
    pub email: Email,
    pub language: Language,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Absent while the default (yes) holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_on_accept: Option<bool>,
}

impl UserItem {
    pub(crate) fn new(user: &User) -> Self {
        Self {
            pk: keys::user(&user.id),
            sk: keys::USER_SK.into(),
            id: user.id,
            email: user.email.clone(),
            language: user.language,
            created_at: user.created_at,
            notify_on_accept: (!user.notify_on_accept).then_some(false),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CredentialItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub user_id: UserId,
    pub password_hash: String,
}

impl CredentialItem {
    pub(crate) fn new(email: &Email, user_id: UserId, hash: &PasswordHash) -> Self {
        Self {
            pk: keys::credential(email),
            sk: keys::CREDENTIAL_SK.into(),
            user_id,
            password_hash: hash.as_stored().to_owned(),
        }
    }
}

/// The attributes expressions name.
pub(crate) mod attr {
    pub(crate) const LANGUAGE: &str = "language";
    pub(crate) const NOTIFY_ON_ACCEPT: &str = "notifyOnAccept";
    /// On a credential: the account it belongs to.
    pub(crate) const USER_ID: &str = "userId";
}

fn user_key(user: &UserId) -> Item {
    item_key(keys::user(user), keys::USER_SK.into())
}

/// The key of an email's credential.
pub(crate) fn credential_key(email: &Email) -> Item {
    item_key(keys::credential(email), keys::CREDENTIAL_SK.into())
}

/// The transaction item that checks `email`'s credential is `user`'s: a session of `user`
/// proves the invited email's account only while that account has the email (an accept with a
/// session, which does not read the credential first).
pub(crate) fn credential_held_by(store: &Store, email: &Email, user: &UserId) -> anyhow::Result<TransactWriteItem> {
    store
        .check(credential_key(email))
        .condition_expression("#user = :user")
        .expression_attribute_names("#user", attr::USER_ID)
        .expression_attribute_values(":user", text(user.to_string()))
        .into_item()
}

/// The credential of an email address, if an account has it.
#[tracing::instrument(name = "Reading a credential", skip_all)]
pub async fn find_credential(store: &Store, email: &Email) -> anyhow::Result<Option<Credential>> {
    let item: Option<CredentialItem> = store.get(credential_key(email), "a credential").await?;
    Ok(item.map(|item| Credential {
        user_id: item.user_id,
        password_hash: PasswordHash::from_stored(item.password_hash),
    }))
}

/// The account and all its memberships with what their roles grant now: one strongly
/// consistent Query of its partition, then one BatchGetItem of the roles its active
/// memberships hold (none when they hold none).
#[tracing::instrument(name = "Loading an account", skip_all, fields(user_id = %user_id))]
pub async fn load(store: &Store, user_id: &UserId) -> anyhow::Result<Option<Account>> {
    let (user, memberships) = load_items(store, user_id).await?;
    let Some(user) = user else {
        return Ok(None);
    };
    let active: Vec<&MembershipItem> = memberships
        .iter()
        .filter(|m| m.status == crate::memberships::MembershipStatus::Active)
        .collect();
    let mut roles = crate::memberships::roles_of(store, &active).await?;
    Ok(Some(Account {
        user: user.into(),
        memberships: memberships
            .into_iter()
            .map(|m| {
                let held = roles.remove(&m.customer_number).unwrap_or_default();
                crate::memberships::resolve(m, &held)
            })
            .collect(),
    }))
}

/// The user item and the membership items of an account, as stored (one consistent Query).
pub(crate) async fn load_items(
    store: &Store,
    user_id: &UserId,
) -> anyhow::Result<(Option<UserItem>, Vec<MembershipItem>)> {
    let query = store
        .query()
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", text(keys::user(user_id)));
    let mut user = None;
    let mut memberships = Vec::new();
    for item in store.query_all_items(query, "an account's partition").await? {
        let sk = item
            .get(keys::SK)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if sk == keys::USER_SK {
            user = Some(decode(item, "a user")?);
        } else if sk.starts_with(keys::MEMBERSHIP_SK_PREFIX) {
            memberships.push(decode(item, "a membership")?);
        }
    }
    Ok((user, memberships))
}

impl From<UserItem> for User {
    fn from(item: UserItem) -> Self {
        Self {
            id: item.id,
            email: item.email,
            language: item.language,
            created_at: item.created_at,
            notify_on_accept: item.notify_on_accept != Some(false),
        }
    }
}

/// What a user may change of its account: its language (of its screens and its emails), and
/// whether it is told when an invitation it sent was accepted. `None` keeps what is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// The language.
    pub language: Option<Language>,
    /// Whether to be told of accepted invitations.
    pub notify_on_accept: Option<bool>,
}

/// Changes an account's settings (one UpdateItem); `None` if there is no such account.
#[tracing::instrument(name = "Changing settings", skip_all, fields(user_id = %user_id))]
pub async fn change_settings(store: &Store, user_id: &UserId, settings: Settings) -> anyhow::Result<Option<User>> {
    let mut sets = Vec::new();
    let mut update = store
        .update_item(user_key(user_id))
        .condition_expression("attribute_exists(PK)");
    if let Some(language) = settings.language {
        sets.push("#language = :language");
        update = update
            .expression_attribute_names("#language", attr::LANGUAGE)
            .expression_attribute_values(":language", AttributeValue::S(language.code().into()));
    }
    if let Some(notify) = settings.notify_on_accept {
        sets.push("#notify = :notify");
        update = update
            .expression_attribute_names("#notify", attr::NOTIFY_ON_ACCEPT)
            .expression_attribute_values(":notify", AttributeValue::Bool(notify));
    }
    anyhow::ensure!(!sets.is_empty(), "A change of settings changes nothing.");
    let update = update.update_expression(format!("SET {}", sets.join(", ")));
    Ok(
        match store.update_returning::<UserItem>(update, "a user's settings").await? {
            Updated::Done(item) => Some(item.into()),
            Updated::Refused(_) => None,
        },
    )
}
