//! Preview and accept at the physical limit: their DynamoDB round trips, counted at a proxy in
//! front of DynamoDB Local (calls that overlap in time share one round trip), and the rules on
//! the paths that get there: tokens that name their invitation, links sent before they did,
//! roles granted unread (and read again when one makes an admin), the account hint.

use crate::helpers::{LinkToken, TestApp};
use aws_sdk_dynamodb::types::AttributeValue;
use cloudhub::store::Store;
use infra::seed;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const NEW_PASSWORD: &str = "a long new password";

/// One DynamoDB call seen at the proxy: its operation and when it was under way.
#[derive(Debug, Clone)]
struct Call {
    operation: String,
    started: Instant,
    ended: Instant,
}

/// The calls a proxy saw.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<Call>>>);

impl Calls {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Round trips: a call that starts after every earlier one has ended starts a new one; calls
/// under way at once share one.
fn round_trips(calls: &[Call]) -> usize {
    let mut calls = calls.to_vec();
    calls.sort_by_key(|call| call.started);
    let mut trips = 0;
    let mut open_until: Option<Instant> = None;
    for call in calls {
        if open_until.is_none_or(|until| call.started >= until) {
            trips += 1;
            open_until = Some(call.ended);
        } else {
            open_until = open_until.max(Some(call.ended));
        }
    }
    trips
}

fn operations(calls: &[Call]) -> Vec<String> {
    let mut names: Vec<String> = calls.iter().map(|call| call.operation.clone()).collect();
    names.sort();
    names
}

/// A proxy to DynamoDB Local that records every call; returns its endpoint.
async fn counting_proxy(upstream: &str, calls: Calls) -> String {
    crate::helpers::dynamodb_proxy(upstream, move |operation, started| {
        calls.0.lock().unwrap().push(Call {
            operation: operation.to_owned(),
            started,
            ended: Instant::now(),
        });
        std::time::Duration::ZERO
    })
    .await
}

/// The same functions and tables as `app`, their DynamoDB calls through a counting proxy.
async fn counted(app: &TestApp) -> (TestApp, Calls) {
    let calls = Calls::default();
    let proxy = counting_proxy(&cloudhub::testing::endpoint(), calls.clone()).await;
    let config = app.app.store.client().config().to_builder().endpoint_url(proxy).build();
    let mut functions = app.app.clone();
    functions.store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        app.app.store.tables().clone(),
    );
    (TestApp::over(functions, app.clock.clone()), calls)
}

/// Makes the stored link of invitation `id` one of the form sent before tokens named their
/// invitation (`{keyId}.{mac}`, found through a link item), as such an invitation is stored;
/// returns its token.
async fn make_legacy_link(app: &TestApp, id: &str) -> String {
    let invitation = app.invitation_item(seed::CUSTOMER_NUMBER, id).await;
    let keyring = app.app.link_keys().unwrap().keyring().await.unwrap();
    let token = keyring.current().legacy_token(&invitation.id, &invitation.link.nonce);
    let (client, table) = (app.app.store.client(), &app.app.store.tables().data);
    client
        .update_item()
        .table_name(table)
        .key("PK", AttributeValue::S(format!("CUSTOMER#{}", seed::CUSTOMER_NUMBER)))
        .key("SK", AttributeValue::S(format!("INVITATION#{id}")))
        .update_expression("SET linkHash = :hash")
        .expression_attribute_values(":hash", AttributeValue::S(token.hash().as_str().to_owned()))
        .send()
        .await
        .unwrap();
    let ttl = (invitation.expires_at + crate::helpers::LISTED_AFTER_EXPIRY).unix_timestamp();
    client
        .put_item()
        .table_name(table)
        .item("PK", AttributeValue::S(format!("LINK#{}", token.hash().as_str())))
        .item("SK", AttributeValue::S("LINK".into()))
        .item("customerNumber", AttributeValue::S(seed::CUSTOMER_NUMBER.into()))
        .item("invitationId", AttributeValue::S(id.into()))
        .item("ttl", AttributeValue::N(ttl.to_string()))
        .send()
        .await
        .unwrap();
    token.reveal().to_owned()
}

#[tokio::test]
async fn a_link_names_its_invitation_and_its_mac_covers_that() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (id, link) = admin.invite_with_link("anna@example.com", &[]).await;
    let parts: Vec<&str> = link.split('.').collect();
    assert_eq!(parts.len(), 4, "{link}");
    assert_eq!((parts[1], parts[2]), (seed::CUSTOMER_NUMBER, id.as_str()));
    // The same MAC under another invitation's key (or another customer's) opens nothing, and
    // tells nothing: the same 404 as a token never issued.
    let (other, _) = admin.invite_with_link("ben@example.com", &[]).await;
    let anon = app.anonymous();
    for forged in [
        format!("{}.{}.{other}.{}", parts[0], parts[1], parts[3]),
        format!("{}.ACME-2.{id}.{}", parts[0], parts[3]),
        format!("{}.{}", parts[0], parts[3]),
    ] {
        anon.preview(&forged).await.assert_problem(404, "invitation-not-found");
    }
    assert_eq!(anon.preview(&link).await.status, 200);
}

#[tokio::test]
async fn a_link_sent_before_tokens_named_their_invitation_still_previews_and_accepts() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (id, new_form) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    let legacy = make_legacy_link(&app, &id).await;
    assert_eq!(legacy.split('.').count(), 2);
    assert_eq!(
        app.link_of(seed::CUSTOMER_NUMBER, &id).await.reveal(),
        legacy,
        "the mailer and the operator rebuild the form that was sent"
    );
    let anon = app.anonymous();
    anon.preview(&new_form)
        .await
        .assert_problem(404, "invitation-not-found");
    let preview = anon.preview(&legacy).await;
    assert_eq!(preview.status, 200, "{preview:?}");
    assert_eq!(preview.body["roles"][0]["name"], "Buyer");
    let accepted = anon.accept(&legacy, &json!({ "password": NEW_PASSWORD })).await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    assert_eq!(accepted.body["customer"]["roles"][0]["name"], "Buyer");
    assert_eq!(
        app.all_items().await.with_key_prefix("LINK#").len(),
        1,
        "the link item stays (until its TTL), so that the link says what became of it"
    );
    anon.preview(&legacy).await.assert_problem(410, "invitation-accepted");

    // Expired, it answers 410 as long as the invitation is listed, like a new one.
    let (id, _) = admin.invite_with_link("ben@example.com", &[]).await;
    let legacy = make_legacy_link(&app, &id).await;
    app.clock.advance(time::Duration::days(20));
    anon.preview(&legacy).await.assert_problem(410, "invitation-expired");
}

#[tokio::test]
async fn preview_takes_two_round_trips_and_a_link_of_the_old_form_three() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (counted, calls) = counted(&app).await;
    let (_, link) = admin
        .invite_with_link("anna@example.com", &["Buyer", "Accounting"])
        .await;
    calls.take();
    assert_eq!(counted.anonymous().preview(&link).await.status, 200);
    let seen = calls.take();
    assert_eq!(round_trips(&seen), 2, "{seen:?}");
    assert_eq!(operations(&seen), ["BatchGetItem", "BatchGetItem"]);

    let (id, _) = admin.invite_with_link("ben@example.com", &["Buyer"]).await;
    let legacy = make_legacy_link(&app, &id).await;
    calls.take();
    assert_eq!(counted.anonymous().preview(&legacy).await.status, 200);
    let seen = calls.take();
    assert_eq!(round_trips(&seen), 3, "{seen:?}");
}

#[tokio::test]
async fn accepting_as_a_new_account_takes_two_round_trips() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (counted, calls) = counted(&app).await;
    for (email, roles) in [
        ("anna@example.com", vec![]),
        ("ben@example.com", vec!["Buyer", "Accounting"]),
    ] {
        let (_, link) = admin.invite_with_link(email, &roles).await;
        calls.take();
        let accepted = counted
            .anonymous()
            .accept(&link, &json!({ "password": NEW_PASSWORD, "account": "new" }))
            .await;
        assert_eq!(accepted.status, 201, "{accepted:?}");
        let seen = calls.take();
        assert_eq!(round_trips(&seen), 2, "{email}: {seen:?}");
        assert_eq!(
            accepted.body["customer"]["roles"].as_array().unwrap().len(),
            roles.len(),
            "{accepted:?}"
        );
        assert_eq!(accepted.body["customer"]["restricted"], roles.is_empty());
    }
    // Without the hint, the same.
    let (_, link) = admin.invite_with_link("carla@example.com", &["Buyer"]).await;
    calls.take();
    let accepted = counted
        .anonymous()
        .accept(&link, &json!({ "password": NEW_PASSWORD }))
        .await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    assert_eq!(round_trips(&calls.take()), 2);
}

#[tokio::test]
async fn accepting_with_a_session_takes_two_round_trips_and_its_account_must_still_hold_the_email() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let other = app.other_customer().await;
    let member = app.user(&other.admin_email, &other.admin_password).await;
    let (counted, calls) = counted(&app).await;
    let (_, link) = admin.invite_with_link(&other.admin_email, &["Buyer"]).await;
    calls.take();
    let accepted = member.on(&counted).accept(&link, &json!({})).await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    let seen = calls.take();
    assert_eq!(round_trips(&seen), 2, "{seen:?}");
    assert_eq!(accepted.body["userId"], member_id(&member).await);

    // A session of another account: refused, nothing changed.
    let (_, link) = admin.invite_with_link("dora@example.com", &[]).await;
    let before = app.all_items().await;
    member
        .accept(&link, &json!({}))
        .await
        .assert_problem(403, "wrong-account");
    assert_eq!(app.all_items().await, before);
}

async fn member_id(caller: &crate::helpers::Caller) -> String {
    caller.me().await.body["user"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn accepting_with_the_password_takes_three_round_trips_with_the_hint_and_four_without() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let other = app.other_customer().await;
    let (counted, calls) = counted(&app).await;
    let (_, link) = admin.invite_with_link(&other.admin_email, &["Buyer"]).await;
    calls.take();
    let body = json!({ "password": other.admin_password, "account": "existing" });
    let accepted = counted.anonymous().accept(&link, &body).await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    let seen = calls.take();
    assert_eq!(round_trips(&seen), 3, "{seen:?}");

    // Without the hint the accept tries a new account first: refused, then as the account.
    app.create_customer(
        "300600",
        "Gamma GmbH",
        "en",
        "admin@gamma.example",
        "gamma admin password",
    )
    .await;
    let (_, link) = admin.invite_with_link("admin@gamma.example", &[]).await;
    calls.take();
    let accepted = counted
        .anonymous()
        .accept(&link, &json!({ "password": "gamma admin password" }))
        .await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    assert_eq!(accepted.body["accountCreated"], false);
    let seen = calls.take();
    assert_eq!(round_trips(&seen), 4, "{seen:?}");
    assert_eq!(
        app.failures_counted("LOGIN#").await + app.failures_counted("LOGINSRC#").await,
        0,
        "the right password counts as no failure"
    );
}

#[tokio::test]
async fn without_the_hint_a_wrong_password_of_an_existing_account_counts_as_a_failed_log_in() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let other = app.other_customer().await;
    let (_, link) = admin.invite_with_link(&other.admin_email, &[]).await;
    let before = app.all_items().await.without_pk_prefix("LOGIN");
    // Long enough to pass as a new password: the accept first tries a new account.
    app.anonymous()
        .accept(&link, &json!({ "password": "not the password at all" }))
        .await
        .assert_problem(401, "invalid-credentials");
    assert_eq!(
        app.all_items().await.without_pk_prefix("LOGIN"),
        before,
        "nothing else changed"
    );
    assert_eq!(app.failures_counted("LOGIN#").await, 1);
    assert_eq!(app.failures_counted("LOGINSRC#").await, 1);
}

#[tokio::test]
async fn a_wrong_hint_changes_nothing_but_the_order_of_the_reads() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    // "existing", but there is no account: a new one, and the attempt counted beside the read
    // is taken back.
    let (_, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    let accepted = app
        .anonymous()
        .accept(&link, &json!({ "password": NEW_PASSWORD, "account": "existing" }))
        .await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    assert_eq!(accepted.body["customer"]["roles"][0]["name"], "Buyer");
    assert_eq!(
        app.failures_counted("LOGIN#").await + app.failures_counted("LOGINSRC#").await,
        0
    );
    // "new", but the account exists: accepted as that account with its password.
    let other = app.other_customer().await;
    let (_, link) = admin.invite_with_link(&other.admin_email, &[]).await;
    let body = json!({ "password": other.admin_password, "account": "new" });
    let accepted = app.anonymous().accept(&link, &body).await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    assert_eq!(accepted.body["accountCreated"], false);
    // Anything else: 422, nothing changed.
    let (_, link) = admin.invite_with_link("ben@example.com", &[]).await;
    let before = app.all_items().await;
    app.anonymous()
        .accept(&link, &json!({ "password": NEW_PASSWORD, "account": "maybe" }))
        .await
        .assert_problem(422, "invalid-account");
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn an_invitation_with_an_admin_role_makes_an_admin_though_its_roles_were_not_read_first() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (counted, calls) = counted(&app).await;
    let (_, link) = admin
        .invite_with_link("anna@example.com", &["Administrator", "Buyer"])
        .await;
    calls.take();
    let accepted = counted
        .anonymous()
        .accept(&link, &json!({ "password": NEW_PASSWORD }))
        .await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let seen = calls.take();
    // The first transaction is refused (a role makes an admin); the second requires the roles
    // as read beside the first.
    assert_eq!(round_trips(&seen), 3, "{seen:?}");
    let anna = app.signed_in(&accepted);
    let access = anna.my_access(seed::CUSTOMER_NUMBER).await.unwrap();
    assert!(
        access["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("user-management")),
        "{access}"
    );
    // An admin indeed: the admin check (the admin set) lets her list the invitations.
    assert_eq!(anna.list_invitations(seed::CUSTOMER_NUMBER, "").await.status, 200);
    let customer = app
        .all_items()
        .await
        .with_pk(&format!("CUSTOMER#{}", seed::CUSTOMER_NUMBER))
        .with_sk("CUSTOMER");
    assert_eq!(customer[0].attr("adminCount"), 2);
}

#[tokio::test]
async fn a_link_token_is_parsed_in_both_forms_only() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &[]).await;
    let token = LinkToken::parse(&link).unwrap();
    assert!(token.invitation_key().is_some());
    let anon = app.anonymous();
    for malformed in [link.to_lowercase(), link.replacen('.', "..", 1), format!("{link}.x")] {
        anon.preview(&malformed)
            .await
            .assert_problem(404, "invitation-not-found");
    }
}

#[tokio::test]
async fn an_existing_account_invited_as_admin_accepts_with_its_password_without_the_hint() {
    // The first transaction is refused twice over (an admin role, an existing credential): the
    // credential decides, and the accept goes on as that account.
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let other = app.other_customer().await;
    let (_, link) = admin.invite_with_link(&other.admin_email, &["Administrator"]).await;
    let accepted = app
        .anonymous()
        .accept(&link, &json!({ "password": other.admin_password }))
        .await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    assert_eq!(accepted.body["accountCreated"], false);
    let member = app.signed_in(&accepted);
    assert_eq!(
        member.list_invitations(seed::CUSTOMER_NUMBER, "").await.status,
        200,
        "an admin now"
    );
}

#[tokio::test]
async fn a_renewal_request_takes_one_round_trip_and_a_link_of_the_old_form_two() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (counted, calls) = counted(&app).await;
    let (_, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    let (id, _) = admin.invite_with_link("ben@example.com", &[]).await;
    let legacy = make_legacy_link(&app, &id).await;
    app.clock.advance(time::Duration::hours(24));
    let path = |link: &str| format!("/invitations/{link}/renewal-request");
    for (link, trips, asked) in [(link.as_str(), 1, "UpdateItem"), (legacy.as_str(), 2, "GetItem")] {
        calls.take();
        let answer = counted
            .anonymous()
            .request(lambda_http::http::Method::POST, &path(link), &[], Vec::new())
            .await;
        assert_eq!(answer.status, 202, "{answer:?}");
        let seen = calls.take();
        assert_eq!(round_trips(&seen), trips, "{seen:?}");
        assert_eq!(operations(&seen)[0], asked, "{seen:?}");
        // Refused (asked already): still one conditional write, whose refusal says why.
        let again = counted
            .anonymous()
            .request(lambda_http::http::Method::POST, &path(link), &[], Vec::new())
            .await;
        again.assert_problem(429, "renewal-already-requested");
        assert_eq!(round_trips(&calls.take()), trips);
    }
}
