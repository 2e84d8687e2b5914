//! How an operator creates a customer with its roles and its first admin.

use crate::accounts::{CredentialItem, User, UserItem};
use crate::customers::{CustomerItem, add_admin};
use crate::domain::{CompanyName, CustomerNumber, Email, Language, PasswordHash, Permission, RoleId, RoleName, UserId};
use crate::memberships::{Membership, MembershipItem, MembershipStatus, RoleRef};
use crate::roles::{Role, RoleItem, name_claim};
use crate::seats;
use crate::store::transactions::{Part, Transaction, TransactionError};
use crate::store::{IntoTransactionItem as _, Store, text};
use anyhow::Context as _;
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

impl FirstAdmin {
    fn identity(&self) -> (UserId, &Email) {
        match self {
            Self::NewAccount { user_id, email, .. } | Self::ExistingAccount { email, user_id } => (*user_id, email),
        }
    }
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

/// The customer's roles: "Administrator" with every permission first, then those asked for;
/// refused if two share a name.
fn roles_of(customer: &NewCustomer) -> Result<Vec<Role>, CreateCustomerError> {
    let administrator = Role {
        id: RoleId::generate(),
        name: RoleName::parse(ADMINISTRATOR_ROLE).context("The administrator role's name is valid.")?,
        permissions: Permission::ALL.into_iter().collect(),
    };
    let roles: Vec<Role> = std::iter::once(administrator)
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
    Ok(roles)
}

/// The first admin's account: a new user and credential, or a check that the existing
/// account still holds the email.
fn add_account(
    store: &Store,
    transaction: &mut Transaction<'_>,
    admin: &FirstAdmin,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let (user_id, email) = admin.identity();
    match admin {
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
                notify_on_accept: true,
            };
            transaction.add(Part::User, store.put_new(UserItem::new(&user))?).add(
                Part::Credential,
                store.put_new(CredentialItem::new(email, user_id, password_hash))?,
            );
        }
        FirstAdmin::ExistingAccount { .. } => {
            let check = store
                .check(crate::accounts::credential_key(email))
                .condition_expression("userId = :user")
                .expression_attribute_values(":user", text(user_id))
                .into_item()?;
            transaction.add(Part::Credential, check);
        }
    }
    Ok(())
}

/// Creates a customer, its roles, and its first admin (and that admin's account if new),
/// all or nothing, in one transaction, every item conditional on not existing yet.
pub async fn create(
    store: &Store,
    customer: NewCustomer,
    admin: FirstAdmin,
    now: OffsetDateTime,
) -> Result<CreatedCustomer, CreateCustomerError> {
    let roles = roles_of(&customer)?;
    let administrator = &roles[0];
    let (user_id, email) = admin.identity();
    let email = email.clone();
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

    let mut transaction = Transaction::new(store);
    transaction.add(
        Part::Customer,
        store.put_new(CustomerItem::new(
            &customer.number,
            &customer.company_name,
            customer.default_language,
            now,
        ))?,
    );
    for role in &roles {
        transaction
            .add(
                Part::Role(role.id),
                store.put_new(RoleItem::new(&customer.number, role))?,
            )
            .add(
                Part::NameClaim,
                name_claim(store, &customer.number, &role.id, &role.name)?,
            );
    }
    add_account(store, &mut transaction, &admin, now)?;
    let membership_item = MembershipItem::new(
        user_id,
        &email,
        &customer.number,
        &customer.company_name,
        [administrator.id].into(),
        now,
    );
    transaction
        .add(Part::Membership(user_id), store.put_new(membership_item)?)
        .add(Part::AdminSet, add_admin(store, &customer.number, &user_id, None)?)
        .add(
            Part::Seat,
            seats::put_new_member(store, &customer.number, &email, user_id, [administrator.id].into(), now)?,
        );
    match transaction.commit("create a customer").await {
        Ok(()) => Ok(CreatedCustomer {
            roles,
            admin: membership,
        }),
        Err(TransactionError::Refused(refused)) if refused.failed(&Part::Customer) => {
            Err(CreateCustomerError::CustomerExists(customer.number))
        }
        Err(TransactionError::Refused(refused)) if refused.failed(&Part::User) || refused.failed(&Part::Credential) => {
            Err(CreateCustomerError::AccountChanged(email))
        }
        Err(TransactionError::Refused(refused)) => Err(refused.unexplained("create a customer").into()),
        Err(TransactionError::Contention) => Err(anyhow::anyhow!("Creating a customer kept conflicting.").into()),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}
