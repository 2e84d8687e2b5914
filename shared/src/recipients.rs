//! What the mailer reads to address and word an email: the customer an invitation is for (with
//! whether the invitation still has the link the event names), and the admins of a customer with
//! their languages. Reads only; the mailer's writes are in [`crate::deliveries`].

use crate::customers::CustomerItem;
use crate::domain::{CompanyName, CustomerNumber, Email, InvitationId, Language, Permission, UserId};
use crate::store::{Store, item_key, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;
use std::collections::HashMap;

/// The customer an invitation email speaks of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationContext {
    /// Its company name.
    pub company_name: CompanyName,
    /// Its default language (the invitation's, when the admin chose none).
    pub default_language: Language,
    /// The nonce of the invitation's current link; `None` once it was deleted or accepted.
    pub current_nonce: Option<String>,
}

/// A recipient and the language to write to them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address.
    pub email: Email,
    /// Their language.
    pub language: Language,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NonceOnly {
    link_nonce: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdminMembership {
    user_id: UserId,
    email: Email,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserLanguage {
    id: UserId,
    language: Language,
}

/// The customer of an invitation and the invitation's current link nonce (one BatchGetItem).
#[tracing::instrument(name = "Reading an invitation's customer", skip_all, fields(customer = %customer))]
pub async fn invitation_context(
    store: &Store,
    customer: &CustomerNumber,
    invitation: &InvitationId,
) -> anyhow::Result<Option<InvitationContext>> {
    let items = store
        .batch_get(vec![
            item_key(keys::customer(customer), keys::CUSTOMER_SK.into()),
            item_key(keys::customer(customer), keys::invitation_sk(invitation)),
        ])
        .await?;
    let (mut found, mut current_nonce) = (None, None);
    for item in items {
        if item.get(keys::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) == Some(keys::CUSTOMER_SK) {
            found = Some(serde_dynamo::from_item::<_, CustomerItem>(item).context("A stored customer is malformed.")?);
        } else {
            let invitation: NonceOnly = serde_dynamo::from_item(item).context("A stored invitation is malformed.")?;
            current_nonce = Some(invitation.link_nonce);
        }
    }
    Ok(found.map(|customer| InvitationContext {
        company_name: customer.company_name,
        default_language: customer.default_language,
        current_nonce,
    }))
}

/// The active admins of a customer (those holding `user-management`), each with the language
/// of their account: one Query of the customer's memberships (GSI1) and one BatchGetItem.
#[tracing::instrument(name = "Reading a customer's admins", skip_all, fields(customer = %customer))]
pub async fn admins(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Vec<Recipient>> {
    let memberships = store
        .client
        .query()
        .table_name(&store.tables.data)
        .index_name("GSI1")
        .key_condition_expression("GSI1PK = :customer AND begins_with(GSI1SK, :member)")
        .filter_expression("#status = :active AND contains(#permissions, :admin)")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#permissions", "permissions")
        .expression_attribute_values(":customer", AttributeValue::S(keys::customer(customer)))
        .expression_attribute_values(":member", AttributeValue::S("MEMBER#".into()))
        .expression_attribute_values(":active", AttributeValue::S("active".into()))
        .expression_attribute_values(":admin", AttributeValue::S(Permission::UserManagement.code().into()))
        .projection_expression("userId, email")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .context("Failed to query a customer's admins.")?;
    let admins: Vec<AdminMembership> = memberships
        .into_iter()
        .map(|item| serde_dynamo::from_item(item).context("A stored membership is malformed."))
        .collect::<anyhow::Result<_>>()?;
    if admins.is_empty() {
        return Ok(Vec::new());
    }
    let users = store
        .batch_get(
            admins
                .iter()
                .map(|admin| item_key(keys::user(&admin.user_id), keys::USER_SK.into()))
                .collect(),
        )
        .await?;
    let languages: HashMap<UserId, Language> = users
        .into_iter()
        .map(|item| {
            serde_dynamo::from_item::<_, UserLanguage>(item)
                .map(|user| (user.id, user.language))
                .context("A stored user is malformed.")
        })
        .collect::<anyhow::Result<_>>()?;
    let mut recipients: Vec<Recipient> = admins
        .into_iter()
        .map(|admin| Recipient {
            language: languages.get(&admin.user_id).copied().unwrap_or_default(),
            email: admin.email,
        })
        .collect();
    recipients.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
    Ok(recipients)
}
