//! Test support: fresh tables on the official DynamoDB Local for every test, and a clock the
//! test controls. Tests find DynamoDB Local at `CLOUDHUB_DYNAMODB_ENDPOINT`, which the README's
//! test command (`infra/test`) sets after starting it.

use crate::App;
use crate::clock::ManualClock;
use crate::schema::{Ttl, create_tables, local_client, tables_named};
use crate::store::Store;
use std::sync::Arc;
use time::OffsetDateTime;

/// The environment variable naming DynamoDB Local's endpoint.
pub const ENDPOINT_VAR: &str = "CLOUDHUB_DYNAMODB_ENDPOINT";

/// DynamoDB Local's endpoint. Panics with instructions when it is not set: these tests never
/// fall back to an imitation of DynamoDB.
pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!("{ENDPOINT_VAR} is not set. Run the tests with `infra/test`, which starts DynamoDB Local and sets it.")
    })
}

/// A store over new, empty tables with a random prefix, created from `template.yaml`
/// (with DynamoDB's TTL deletion off; see [`Ttl::Disabled`]).
pub async fn fresh_store() -> Store {
    let client = local_client(&endpoint());
    let tables = tables_named(&format!("t{}", ulid::Ulid::new().to_string().to_lowercase()));
    create_tables(&client, &tables, Ttl::Disabled)
        .await
        .expect("DynamoDB Local accepts the template's tables");
    Store::new(client, tables)
}

/// An instant on a fixed, ordinary day, so tests never depend on today's date.
pub fn a_tuesday_morning() -> OffsetDateTime {
    time::macros::datetime!(2026-11-24 09:30:00 UTC)
}

/// A fresh store and a manual clock, bundled as the functions get them.
pub async fn fresh_app() -> (App, Arc<ManualClock>) {
    let clock = ManualClock::at(a_tuesday_morning());
    let app = App {
        store: fresh_store().await,
        clock: clock.clone(),
        link_keys: Some(crate::links::LinkKeys::fixed(test_keyring())),
    };
    (app, clock)
}

/// A fixed keyring for tests: one key, `test`.
pub fn test_keyring() -> crate::links::Keyring {
    let id = crate::links::KeyId::parse("test").expect("a valid key id");
    crate::links::Keyring::single(
        crate::links::LinkKey::parse(id, "dGVzdC1vbmx5LWxpbmstc2lnbmluZy1rZXktMzItYnl0ZXMhIQ").expect("a 32-byte key"),
    )
}

/// Adds an account with a membership in `customer` holding `roles`, as accepting an invitation
/// will; for tests that need a member who is not an admin. Returns the new user's id.
pub async fn add_member(
    store: &Store,
    customer: &crate::domain::CustomerNumber,
    company: &crate::domain::CompanyName,
    email: &crate::domain::Email,
    password: &str,
    roles: &[crate::roles::Role],
    now: OffsetDateTime,
) -> crate::domain::UserId {
    use crate::accounts::{CredentialItem, User, UserItem};
    use crate::memberships::{Membership, MembershipItem, MembershipStatus, RoleRef};
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

    let user = User {
        id: crate::domain::UserId::generate(),
        email: email.clone(),
        language: crate::domain::Language::En,
        created_at: now,
    };
    let hash = crate::domain::Password::parse(password.into(), crate::domain::PasswordPolicy::New)
        .expect("a valid test password")
        .hash()
        .await
        .expect("hashing works");
    let membership = Membership {
        user_id: user.id,
        email: email.clone(),
        customer_number: customer.clone(),
        company_name: company.clone(),
        roles: roles
            .iter()
            .map(|r| RoleRef {
                id: r.id,
                name: r.name.clone(),
            })
            .collect(),
        permissions: roles.iter().flat_map(|r| r.permissions.iter().copied()).collect(),
        status: MembershipStatus::Active,
        joined_at: now,
        tour_seen: std::collections::BTreeSet::new(),
    };
    let seat = crate::seats::SeatItem::member(customer, email, user.id, roles.iter().map(|r| r.id).collect(), now);
    let put = |item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&store.tables.data)
                    .set_item(Some(item))
                    .build()
                    .expect("a valid put"),
            )
            .build()
    };
    let admin = membership
        .permissions
        .contains(&crate::domain::Permission::UserManagement);
    let count_admin = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&store.tables.data)
        .key(
            crate::store::keys::PK,
            aws_sdk_dynamodb::types::AttributeValue::S(crate::store::keys::customer(customer)),
        )
        .key(
            crate::store::keys::SK,
            aws_sdk_dynamodb::types::AttributeValue::S(crate::store::keys::CUSTOMER_SK.into()),
        )
        .update_expression("ADD adminCount :n")
        .expression_attribute_values(
            ":n",
            aws_sdk_dynamodb::types::AttributeValue::N(u8::from(admin).to_string()),
        )
        .build()
        .expect("a valid update");
    store
        .client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(count_admin).build())
        .transact_items(put(serde_dynamo::to_item(UserItem::new(&user)).unwrap()))
        .transact_items(put(
            serde_dynamo::to_item(CredentialItem::new(email, user.id, &hash)).unwrap()
        ))
        .transact_items(put(serde_dynamo::to_item(MembershipItem::from(&membership)).unwrap()))
        .transact_items(put(serde_dynamo::to_item(seat).unwrap()))
        .send()
        .await
        .expect("the member is stored");
    user.id
}
