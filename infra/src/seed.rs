//! Demo data for the local stack: one customer with roles and an admin who can log in at once.
//! Ids and the demo session are fixed so that the sample events in `events/` name real data.

use cloudhub::domain::{
    CompanyName, CustomerNumber, Email, Language, Password, PasswordPolicy, Permission, RoleName, SecretToken, UserId,
};
use cloudhub::sessions;
use cloudhub::store::Store;
use cloudhub::usecases::onboarding::{self as customers, CreateCustomerError, FirstAdmin, NewCustomer};
use time::OffsetDateTime;

/// The demo customer's number.
pub const CUSTOMER_NUMBER: &str = "100234";
/// The demo customer's company name.
pub const COMPANY_NAME: &str = "ACME Maschinenbau GmbH";
/// The demo admin's email address.
pub const ADMIN_EMAIL: &str = "admin@acme.example";
/// The demo admin's password. Local demo data only.
pub const ADMIN_PASSWORD: &str = "cloudhub-demo-admin";
/// The demo admin's user id, as named by the sample events.
pub const ADMIN_USER_ID: &str = "01KAWDEM0ADM1N000000000000";
/// A session of the demo admin, as named by `events/authorizer-valid-session.json`. Local demo
/// data only: it is created by the seed, never by a deployed function.
pub const ADMIN_SESSION_TOKEN: &str = "DEMO-SESSION-TOKEN-for-local-use-only-00000";

/// The key the local stack makes invitation links with (key id `dev`). Development only: a
/// deployed stack generates its own in Secrets Manager.
pub const DEV_LINK_SIGNING_KEY: &str = "bG9jYWwtZGV2ZWxvcG1lbnQtb25seS1saW5rLWtleS0wMDAwMDAwMA";

/// The local stack's keyring: [`DEV_LINK_SIGNING_KEY`] alone, as key `dev`.
pub fn dev_keyring() -> cloudhub::links::Keyring {
    let id = cloudhub::links::KeyId::parse("dev").expect("a valid key id");
    cloudhub::links::Keyring::single(
        cloudhub::links::LinkKey::parse(id, DEV_LINK_SIGNING_KEY).expect("the development key is valid"),
    )
}

/// What the seed did.
#[derive(Debug, PartialEq, Eq)]
pub enum Seeded {
    /// The demo data was created.
    Created,
    /// It was there already.
    AlreadyThere,
}

/// Creates the demo customer, its roles ("Administrator", "Buyer", "Accounting") and its admin,
/// and the admin's demo session, unless they exist.
pub async fn demo(store: &Store, now: OffsetDateTime) -> anyhow::Result<Seeded> {
    let customer = NewCustomer {
        number: CustomerNumber::parse(CUSTOMER_NUMBER)?,
        company_name: CompanyName::parse(COMPANY_NAME)?,
        default_language: Language::De,
        roles: vec![
            (RoleName::parse("Buyer")?, [Permission::Orders].into_iter().collect()),
            (
                RoleName::parse("Accounting")?,
                [Permission::Invoices, Permission::Documents].into_iter().collect(),
            ),
        ],
    };
    let email = Email::parse(ADMIN_EMAIL)?;
    let admin = FirstAdmin::NewAccount {
        user_id: UserId::parse(ADMIN_USER_ID)?,
        email: email.clone(),
        password_hash: Password::parse(ADMIN_PASSWORD.into(), PasswordPolicy::New)?
            .hash()
            .await?,
        language: Language::En,
    };
    let seeded = match customers::create(store, customer, admin, now).await {
        Ok(_) => Seeded::Created,
        Err(CreateCustomerError::CustomerExists(_)) => Seeded::AlreadyThere,
        Err(error) => return Err(error.into()),
    };
    let token = SecretToken::parse(ADMIN_SESSION_TOKEN)?;
    sessions::start_with_token(store, &token, UserId::parse(ADMIN_USER_ID)?, &email, now).await?;
    Ok(seeded)
}
