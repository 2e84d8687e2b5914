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
    use crate::memberships::MembershipItem;
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

    let user = User {
        id: crate::domain::UserId::generate(),
        email: email.clone(),
        language: crate::domain::Language::En,
        created_at: now,
        notify_on_accept: true,
    };
    let hash = crate::domain::Password::parse(password.into(), crate::domain::PasswordPolicy::New)
        .expect("a valid test password")
        .hash()
        .await
        .expect("hashing works");
    let membership = MembershipItem::new(
        user.id,
        email,
        customer,
        company,
        roles.iter().map(|r| r.id).collect(),
        now,
    );
    let seat = crate::seats::SeatItem::member(customer, email, user.id, roles.iter().map(|r| r.id).collect(), now);
    let admin = roles
        .iter()
        .any(|r| r.permissions.contains(&crate::domain::Permission::UserManagement));
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
        .update_expression("ADD adminCount :n, memberCount :one")
        .expression_attribute_values(
            ":n",
            aws_sdk_dynamodb::types::AttributeValue::N(u8::from(admin).to_string()),
        )
        .expression_attribute_values(":one", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .build()
        .expect("a valid update");
    let mut transaction = store
        .client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(count_admin).build());
    if admin {
        transaction = transaction
            .transact_items(crate::customers::add_admin(store, customer, &user.id, None).expect("a valid update"));
    }
    transaction
        .transact_items(put(serde_dynamo::to_item(UserItem::new(&user)).unwrap()))
        .transact_items(put(
            serde_dynamo::to_item(CredentialItem::new(email, user.id, &hash)).unwrap()
        ))
        .transact_items(put(serde_dynamo::to_item(membership).unwrap()))
        .transact_items(put(serde_dynamo::to_item(seat).unwrap()))
        .send()
        .await
        .expect("the member is stored");
    user.id
}

/// Adds `count` members (accounts without a password) holding `roles` to `customer`, as many
/// accepts would, in BatchWriteItem calls: for tests and benchmarks of big customers. Returns
/// their ids; their addresses are `{prefix}{n}@example.com`.
pub async fn add_members_at_scale(
    store: &Store,
    customer: &crate::domain::CustomerNumber,
    company: &crate::domain::CompanyName,
    prefix: &str,
    count: usize,
    roles: &[crate::roles::Role],
    now: OffsetDateTime,
) -> Vec<crate::domain::UserId> {
    use crate::accounts::{User, UserItem};
    use crate::memberships::MembershipItem;
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

    let role_ids: std::collections::BTreeSet<_> = roles.iter().map(|r| r.id).collect();
    let admin = roles
        .iter()
        .any(|r| r.permissions.contains(&crate::domain::Permission::UserManagement));
    let mut ids = Vec::with_capacity(count);
    let mut requests = Vec::with_capacity(count * 3);
    for n in 0..count {
        let email = crate::domain::Email::parse(&format!("{prefix}{n}@example.com")).expect("a valid address");
        let user = User {
            id: crate::domain::UserId::generate(),
            email: email.clone(),
            language: crate::domain::Language::En,
            created_at: now,
            notify_on_accept: true,
        };
        ids.push(user.id);
        let membership = MembershipItem::new(user.id, &email, customer, company, role_ids.clone(), now);
        let seat = crate::seats::SeatItem::member(customer, &email, user.id, role_ids.clone(), now);
        for item in [
            serde_dynamo::to_item(UserItem::new(&user)).unwrap(),
            serde_dynamo::to_item(membership).unwrap(),
            serde_dynamo::to_item(seat).unwrap(),
        ] {
            requests.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build(),
            );
        }
    }
    for chunk in requests.chunks(25) {
        let mut pending = std::collections::HashMap::from([(store.tables.data.clone(), chunk.to_vec())]);
        while !pending.is_empty() {
            let output = store
                .client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .expect("the members are stored");
            pending = output.unprocessed_items.unwrap_or_default();
        }
    }
    for id in &ids {
        let mut counted = store
            .client
            .transact_write_items()
            .transact_items(crate::customers::member_count_change(store, customer, 1, i64::from(admin)).unwrap());
        if admin {
            counted = counted.transact_items(crate::customers::add_admin(store, customer, id, None).unwrap());
        }
        counted.send().await.expect("the members are counted");
    }
    ids
}

/// Adds `count` open invitations of `customer` sent by `admin` at `sent_at` (their links expire
/// 24 hours later), as many invites would, in BatchWriteItem calls (invitations only, no seats or
/// links): for tests of big invitations tables. Their addresses are `{prefix}{n}@example.com`.
pub async fn add_invitations_at_scale(
    store: &Store,
    customer: &crate::domain::CustomerNumber,
    admin: &crate::domain::Admin,
    prefix: &str,
    count: usize,
    sent_at: OffsetDateTime,
) {
    use crate::invitations::{Invitation, InvitationItem, LINK_LIFETIME};
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

    let key = test_keyring();
    let mut requests = Vec::with_capacity(count);
    for n in 0..count {
        let id = crate::domain::InvitationId::generate();
        let invitation = Invitation {
            id,
            customer_number: customer.clone(),
            email: crate::domain::Email::parse(&format!("{prefix}{n}@example.com")).expect("a valid address"),
            role_ids: Default::default(),
            invited_by: admin.user_id,
            invited_by_email: admin.email.clone(),
            first_invited_by: admin.user_id,
            first_invited_by_email: admin.email.clone(),
            language: None,
            created_at: sent_at,
            last_sent_at: sent_at,
            send_count: 1,
            expires_at: sent_at + LINK_LIFETIME,
            link: crate::links::StoredLink::new(key.current(), customer, &id),
            outcome: None,
        };
        let item = serde_dynamo::to_item(InvitationItem::new(&invitation)).unwrap();
        requests.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build(),
        );
    }
    for chunk in requests.chunks(25) {
        let mut pending = std::collections::HashMap::from([(store.tables.data.clone(), chunk.to_vec())]);
        while !pending.is_empty() {
            let output = store
                .client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .expect("the invitations are stored");
            pending = output.unprocessed_items.unwrap_or_default();
        }
    }
}
