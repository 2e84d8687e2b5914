//! What the mailer reads to address and word an email: every recipient and every word comes from
//! the table's current items, never from the event, which only names the item that changed.
//! Reads only; the mailer's writes are in [`crate::deliveries`].

use crate::customers::CustomerItem;
use crate::domain::{CompanyName, CustomerNumber, Email, InvitationId, Language, RoleName, UserId};
use crate::invitations::{Invitation, InvitationItem};
use crate::store::{Store, item_key, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;

/// An invitation as it is now, and the customer its email speaks of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationEmail {
    /// The invitation (addressee, sender, language, current link, send count).
    pub invitation: Invitation,
    /// The customer's company name.
    pub company_name: CompanyName,
    /// The customer's default language.
    pub default_language: Language,
    /// The language of the invited address's account, if it has one (read only when the admin
    /// chose no language).
    pub account_language: Option<Language>,
    /// The names of the roles it grants that still exist, sorted: what the email says it grants.
    pub role_names: Vec<RoleName>,
}

impl InvitationEmail {
    /// The email's language: the admin's choice, else the account's, else the customer's default.
    pub fn language(&self) -> Language {
        self.invitation
            .language
            .or(self.account_language)
            .unwrap_or(self.default_language)
    }
}

/// A recipient and the language to write to them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address.
    pub email: Email,
    /// Their language.
    pub language: Language,
}

/// A membership as the member-left email needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    /// The member's address.
    pub email: Email,
    /// The customer's company name, as the membership has it.
    pub company_name: CompanyName,
    /// Whether the membership is cancelled now.
    pub left: bool,
    /// Its revision (every change counts one up).
    pub revision: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdminUser {
    email: Email,
    language: Language,
    /// Whether the admin wants to hear when an invitation of theirs is accepted (default yes).
    #[serde(default)]
    notify_on_accept: Option<bool>,
}

/// A membership as the member-joined email needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// The member's address.
    pub email: Email,
    /// The customer's company name, as the membership has it.
    pub company_name: CompanyName,
    /// Whether the membership is active now.
    pub active: bool,
    /// Its revision (every change counts one up).
    pub revision: u64,
    /// The admin who sent the invitation it was made by.
    pub invited_by: Option<UserId>,
    /// The names of the roles it holds now, sorted.
    pub role_names: Vec<RoleName>,
}

/// The membership of `user` in `customer` as the member-joined email needs it, if it exists:
/// one consistent GetItem, beside it the customer's roles for their names (one Query).
#[tracing::instrument(name = "Reading a new membership", skip_all, fields(user = %user, customer = %customer))]
pub async fn arrival(store: &Store, user: &UserId, customer: &CustomerNumber) -> anyhow::Result<Option<Arrival>> {
    let (membership, roles) = tokio::try_join!(
        crate::memberships::find_item(store, user, customer),
        crate::roles::list(store, customer),
    )?;
    Ok(membership.map(|membership| {
        let held = membership.role_ids();
        let mut role_names: Vec<RoleName> = roles
            .into_iter()
            .filter(|role| held.contains(&role.id))
            .map(|role| role.name)
            .collect();
        role_names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Arrival {
            active: membership.status == crate::memberships::MembershipStatus::Active,
            revision: u64::from(membership.revision),
            invited_by: membership.invited_by,
            email: membership.email,
            company_name: membership.company_name,
            role_names,
        }
    }))
}

/// The admin who sent an accepted invitation, as its recipient, if that account still exists,
/// is still an admin of `customer` and has not turned these emails off: one GetItem of the user
/// beside one GetItem of its admin-set item.
#[tracing::instrument(name = "Reading an inviter", skip_all, fields(user = %inviter, customer = %customer))]
pub async fn inviter_to_tell(
    store: &Store,
    customer: &CustomerNumber,
    inviter: &UserId,
) -> anyhow::Result<Option<Recipient>> {
    let (user, admin) = tokio::try_join!(
        store.get::<AdminUser>(item_key(keys::user(inviter), keys::USER_SK.into()), "an account"),
        crate::customers::is_admin(store, customer, inviter),
    )?;
    Ok(user
        .filter(|user| admin && user.notify_on_accept != Some(false))
        .map(|user| Recipient {
            email: user.email,
            language: user.language,
        }))
}

/// An invitation whose expired link's holder asked for a new one, as that email needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalAsked {
    /// The invitation as it is now (open or not, sent again or not).
    pub invitation: Invitation,
    /// The customer's company name.
    pub company_name: CompanyName,
    /// When a new link was last asked for (epoch milliseconds), if ever.
    pub requested_at: Option<i64>,
}

/// The invitation and its customer, if both exist: one consistent BatchGetItem.
#[tracing::instrument(name = "Reading an invitation asked to be renewed", skip_all, fields(customer = %customer))]
pub async fn renewal_asked(
    store: &Store,
    customer: &CustomerNumber,
    invitation: &InvitationId,
) -> anyhow::Result<Option<RenewalAsked>> {
    let items = store
        .batch_get(vec![
            item_key(keys::customer(customer), keys::CUSTOMER_SK.into()),
            item_key(keys::customer(customer), keys::invitation_sk(invitation)),
        ])
        .await?;
    let (mut found_customer, mut found_invitation) = (None, None);
    for item in items {
        if item.get(keys::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) == Some(keys::CUSTOMER_SK) {
            found_customer =
                Some(serde_dynamo::from_item::<_, CustomerItem>(item).context("A stored customer is malformed.")?);
        } else {
            found_invitation =
                Some(serde_dynamo::from_item::<_, InvitationItem>(item).context("A stored invitation is malformed.")?);
        }
    }
    Ok(found_customer
        .zip(found_invitation)
        .map(|(customer, stored)| RenewalAsked {
            requested_at: stored.renewal_requested_at,
            invitation: Invitation::from(stored),
            company_name: customer.company_name,
        }))
}

/// Who is asked for a new link: the admin who sent the invitation last, while that account
/// exists and is an admin of `customer` (one GetItem of the user beside one of its admin-set
/// item); else every admin of the customer ([`admins`]: two round trips more).
#[tracing::instrument(name = "Reading the admins to ask for a new link", skip_all, fields(customer = %customer))]
pub async fn admins_to_ask(
    store: &Store,
    customer: &CustomerNumber,
    sender: &UserId,
) -> anyhow::Result<Vec<Recipient>> {
    let (user, admin) = tokio::try_join!(
        store.get::<AdminUser>(item_key(keys::user(sender), keys::USER_SK.into()), "an account"),
        crate::customers::is_admin(store, customer, sender),
    )?;
    match user.filter(|_| admin) {
        Some(user) => Ok(vec![Recipient {
            email: user.email,
            language: user.language,
        }]),
        None => admins(store, customer).await,
    }
}

/// The invitation and its customer, if both exist (one consistent BatchGetItem), beside it the
/// customer's roles for their names (one consistent Query, in the same round trip: the
/// invitation names its roles only by id), and, when the admin chose no language, the language
/// of the invited address's account (two GetItems).
#[tracing::instrument(name = "Reading an invitation and its customer", skip_all, fields(customer = %customer))]
pub async fn invitation(
    store: &Store,
    customer: &CustomerNumber,
    invitation: &InvitationId,
) -> anyhow::Result<Option<InvitationEmail>> {
    let (items, roles) = tokio::try_join!(
        store.batch_get(vec![
            item_key(keys::customer(customer), keys::CUSTOMER_SK.into()),
            item_key(keys::customer(customer), keys::invitation_sk(invitation)),
        ]),
        crate::roles::list(store, customer),
    )?;
    let (mut found_customer, mut found_invitation) = (None, None);
    for item in items {
        if item.get(keys::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) == Some(keys::CUSTOMER_SK) {
            found_customer =
                Some(serde_dynamo::from_item::<_, CustomerItem>(item).context("A stored customer is malformed.")?);
        } else {
            let stored: InvitationItem = serde_dynamo::from_item(item).context("A stored invitation is malformed.")?;
            found_invitation = Some(Invitation::from(stored));
        }
    }
    // An accepted or deleted invitation is kept, but owes no email: it has no link.
    let Some((customer, invitation)) = found_customer.zip(found_invitation.filter(Invitation::is_open)) else {
        return Ok(None);
    };
    let account_language = match invitation.language {
        Some(_) => None,
        None => account_language(store, &invitation.email).await?,
    };
    let mut role_names: Vec<RoleName> = roles
        .into_iter()
        .filter(|role| invitation.role_ids.contains(&role.id))
        .map(|role| role.name)
        .collect();
    role_names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    Ok(Some(InvitationEmail {
        invitation,
        company_name: customer.company_name,
        default_language: customer.default_language,
        account_language,
        role_names,
    }))
}

/// The language of the account of `email`, if there is one: its credential names the user (one
/// GetItem), the user has the language (one more).
async fn account_language(store: &Store, email: &Email) -> anyhow::Result<Option<Language>> {
    let Some(credential) = crate::accounts::find_credential(store, email).await? else {
        return Ok(None);
    };
    Ok(account(store, &credential.user_id).await?.map(|user| user.language))
}

/// The account `user`, as a recipient, if it exists (one consistent GetItem).
#[tracing::instrument(name = "Reading an account", skip_all, fields(user = %user))]
pub async fn account(store: &Store, user: &UserId) -> anyhow::Result<Option<Recipient>> {
    let output = store
        .client
        .get_item()
        .table_name(&store.tables.data)
        .key(keys::PK, AttributeValue::S(keys::user(user)))
        .key(keys::SK, AttributeValue::S(keys::USER_SK.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(crate::aws::sdk_error("Failed to read an account."))?;
    output
        .item
        .map(|item| {
            serde_dynamo::from_item::<_, AdminUser>(item)
                .map(|user| Recipient {
                    email: user.email,
                    language: user.language,
                })
                .context("A stored user is malformed.")
        })
        .transpose()
}

/// The membership of `user` in `customer`, if it exists (one consistent GetItem); when it is
/// gone with its account, as the account deletion's record (kept at `now`) remembers it (one
/// more GetItem).
#[tracing::instrument(name = "Reading a membership", skip_all, fields(user = %user, customer = %customer))]
pub async fn membership(
    store: &Store,
    user: &UserId,
    customer: &CustomerNumber,
    now: time::OffsetDateTime,
) -> anyhow::Result<Option<Departure>> {
    if let Some(membership) = crate::memberships::find_item(store, user, customer).await? {
        return Ok(Some(Departure {
            email: membership.email,
            company_name: membership.company_name,
            left: membership.status == crate::memberships::MembershipStatus::Left,
            revision: u64::from(membership.revision),
        }));
    }
    let Some(mut record) = crate::deleted_accounts::find(store, user, now).await? else {
        return Ok(None);
    };
    Ok(record.former_customers.remove(customer).map(|former| Departure {
        email: record.email,
        company_name: former.company_name,
        left: true,
        revision: former.revision,
    }))
}

/// The record of `user`'s account deletion, if it is kept at `now` (one consistent GetItem).
pub async fn deleted_account(
    store: &Store,
    user: &UserId,
    now: time::OffsetDateTime,
) -> anyhow::Result<Option<crate::deleted_accounts::DeletedAccount>> {
    crate::deleted_accounts::find(store, user, now).await
}

/// The admins of a customer, each with the language of their account: one consistent Query of
/// the customer's admin set, then one BatchGetItem of their users (address and language).
#[tracing::instrument(name = "Reading a customer's admins", skip_all, fields(customer = %customer))]
pub async fn admins(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Vec<Recipient>> {
    let admins = crate::customers::admins_of(&crate::customers::admin_shards(store, customer).await?);
    if admins.is_empty() {
        return Ok(Vec::new());
    }
    let users = store
        .batch_get(
            admins
                .iter()
                .map(|admin| item_key(keys::user(admin), keys::USER_SK.into()))
                .collect(),
        )
        .await?;
    let mut recipients: Vec<Recipient> = users
        .into_iter()
        .map(|item| {
            serde_dynamo::from_item::<_, AdminUser>(item)
                .map(|user| Recipient {
                    email: user.email,
                    language: user.language,
                })
                .context("A stored user is malformed.")
        })
        .collect::<anyhow::Result<_>>()?;
    recipients.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
    Ok(recipients)
}
