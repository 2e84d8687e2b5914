//! Customers (tenants) and their roles, and how an operator creates a customer with its first admin.

use crate::accounts::{CredentialItem, User, UserItem};
use crate::domain::{CompanyName, CustomerNumber, Email, Language, PasswordHash, Permission, RoleId, RoleName, UserId};
use crate::memberships::{Membership, MembershipItem, MembershipStatus, RoleRef};
use crate::roles::{Role, RoleItem, name_claim};
use crate::seats::SeatItem;
use crate::store::{Store, cancellation_reasons, keys};
use anyhow::Context as _;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// What an operator supplies to create a customer.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    /// The customer number.
    pub number: CustomerNumber,
    /// The company name.
    pub company_name: CompanyName,
    /// The language of emails when no other choice applies.
    pub default_language: Language,
    /// Roles besides "Administrator", which is always created and given to the first admin.
    pub roles: Vec<(RoleName, BTreeSet<Permission>)>,
}

/// Who becomes the customer's first admin.
#[derive(Debug)]
pub enum FirstAdmin {
    /// A new account with this password.
    NewAccount {
        /// The id the account gets.
        user_id: UserId,
        /// Its email address.
        email: Email,
        /// Its password, hashed.
        password_hash: PasswordHash,
        /// Its language.
        language: Language,
    },
    /// The account that already has this email address.
    ExistingAccount {
        /// Its email address.
        email: Email,
        /// Its id, read beforehand; the transaction checks it still holds.
        user_id: UserId,
    },
}

/// What was created.
#[derive(Debug, Clone)]
pub struct CreatedCustomer {
    /// The roles, "Administrator" first.
    pub roles: Vec<Role>,
    /// The first admin's membership.
    pub admin: Membership,
}

/// Why a customer could not be created. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CreateCustomerError {
    /// The number is taken.
    #[error("A customer with the number {0} exists already.")]
    CustomerExists(CustomerNumber),
    /// Two of the roles asked for have one name (compared regardless of case).
    #[error("The role name `{0}` is given twice; role names are unique in a customer regardless of case.")]
    DuplicateRoleName(RoleName),
    /// The admin's account appeared or changed while the customer was being created.
    #[error("The account of {0} changed meanwhile; run the command again.")]
    AccountChanged(Email),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The name of the role every new customer starts with.
pub const ADMINISTRATOR_ROLE: &str = "Administrator";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    pub number: CustomerNumber,
    pub company_name: CompanyName,
    pub default_language: Language,
    /// Members holding `user-management`; kept exact by every transaction that changes it, so
    /// that "the last admin cannot leave" is a condition, not a count.
    pub admin_count: u32,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

fn put(table: &str, item: impl Serialize, condition: &str) -> anyhow::Result<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(serde_dynamo::to_item(item)?))
        .condition_expression(condition)
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Creates a customer, its roles, and its first admin (and that admin's account if new),
/// all or nothing, in one transaction.
#[tracing::instrument(name = "Creating a customer", skip_all, fields(customer = %customer.number))]
pub async fn create(
    store: &Store,
    customer: NewCustomer,
    admin: FirstAdmin,
    now: OffsetDateTime,
) -> Result<CreatedCustomer, CreateCustomerError> {
    let table = store.tables.data.as_str();
    let pk = keys::customer(&customer.number);
    let administrator = Role {
        id: RoleId::generate(),
        name: RoleName::parse(ADMINISTRATOR_ROLE).context("The administrator role's name is valid.")?,
        permissions: Permission::ALL.into_iter().collect(),
    };
    let roles: Vec<Role> = std::iter::once(administrator.clone())
        .chain(customer.roles.iter().map(|(name, permissions)| Role {
            id: RoleId::generate(),
            name: name.clone(),
            permissions: permissions.clone(),
        }))
        .collect();
    let mut names = BTreeSet::new();
    if let Some(twice) = roles.iter().find(|role| !names.insert(role.name.unique_key())) {
        return Err(CreateCustomerError::DuplicateRoleName(twice.name.clone()));
    }

    let (user_id, email) = match &admin {
        FirstAdmin::NewAccount { user_id, email, .. } => (*user_id, email.clone()),
        FirstAdmin::ExistingAccount { email, user_id } => (*user_id, email.clone()),
    };
    let membership = Membership {
        user_id,
        email: email.clone(),
        customer_number: customer.number.clone(),
        company_name: customer.company_name.clone(),
        roles: vec![RoleRef {
            id: administrator.id,
            name: administrator.name.clone(),
        }],
        permissions: administrator.permissions.clone(),
        status: MembershipStatus::Active,
        joined_at: now,
        tour_seen: BTreeSet::new(),
    };

    let mut items = vec![put(
        table,
        CustomerItem {
            pk: pk.clone(),
            sk: keys::CUSTOMER_SK.into(),
            number: customer.number.clone(),
            company_name: customer.company_name.clone(),
            default_language: customer.default_language,
            admin_count: 1,
            created_at: now,
        },
        "attribute_not_exists(PK)",
    )?];
    for role in &roles {
        items.push(put(
            table,
            RoleItem::new(&customer.number, role),
            "attribute_not_exists(PK)",
        )?);
        items.push(name_claim(store, &customer.number, &role.id, &role.name)?);
    }
    // Index of the first item about the admin's account, to tell a race on it from a taken number.
    let account_items = items.len()..items.len() + 2;
    match &admin {
        FirstAdmin::NewAccount {
            password_hash,
            language,
            ..
        } => {
            let user = User {
                id: user_id,
                email: email.clone(),
                language: *language,
                created_at: now,
            };
            items.push(put(table, UserItem::new(&user), "attribute_not_exists(PK)")?);
            items.push(put(
                table,
                CredentialItem::new(&email, user_id, password_hash),
                "attribute_not_exists(PK)",
            )?);
        }
        FirstAdmin::ExistingAccount { .. } => {
            let check = ConditionCheck::builder()
                .table_name(table)
                .key(keys::PK, AttributeValue::S(keys::credential(&email)))
                .key(keys::SK, AttributeValue::S(keys::CREDENTIAL_SK.into()))
                .condition_expression("userId = :user")
                .expression_attribute_values(":user", AttributeValue::S(user_id.to_string()))
                .build()
                .context("Failed to build a condition check.")?;
            items.push(TransactWriteItem::builder().condition_check(check).build());
        }
    }
    items.push(put(
        table,
        MembershipItem::from(&membership),
        "attribute_not_exists(PK)",
    )?);
    items.push(put(
        table,
        SeatItem::member(
            &customer.number,
            &email,
            user_id,
            [administrator.id].into_iter().collect(),
            now,
        ),
        "attribute_not_exists(PK)",
    )?);

    let result = store
        .client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await;
    match result {
        Ok(_) => Ok(CreatedCustomer {
            roles,
            admin: membership,
        }),
        Err(error) => match cancellation_reasons(&error) {
            Some(reasons)
                if reasons
                    .first()
                    .is_some_and(|r| r.as_deref() == Some("ConditionalCheckFailed")) =>
            {
                Err(CreateCustomerError::CustomerExists(customer.number))
            }
            Some(reasons)
                if reasons
                    .iter()
                    .enumerate()
                    .any(|(i, r)| account_items.contains(&i) && r.as_deref() == Some("ConditionalCheckFailed")) =>
            {
                Err(CreateCustomerError::AccountChanged(email))
            }
            _ => Err(crate::aws::sdk_error("Failed to create a customer.")(error).into()),
        },
    }
}
