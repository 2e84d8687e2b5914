//! Deleting one's own account (`DELETE /me`): confirmed by the email typed again and the
//! password; what goes, and that the address can be invited and can register again; leaving every
//! customer in the same request; the last admin kept, exactly, under concurrency; bad input
//! changes nothing, and wrong passwords count like failed log-ins.

use crate::helpers::{Caller, NowForTests, StoredItems, TestApp, TestResponse};
use infra::seed;
use lambda_http::http::Method;
use serde_json::{Value, json};

const PASSWORD: &str = "a long new password";

trait DeletesAccount {
    async fn delete_me(&self, body: &Value) -> TestResponse;
}

impl DeletesAccount for Caller {
    /// `DELETE /me` with a JSON body.
    async fn delete_me(&self, body: &Value) -> TestResponse {
        self.request(
            Method::DELETE,
            "/me",
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }
}

fn confirmed(email: &str, leave: bool) -> Value {
    json!({ "confirmEmail": email, "password": PASSWORD, "leaveCustomers": leave })
}

/// Anna, a new account (German) invited to the demo customer with `roles`, logged in.
async fn anna(app: &TestApp, email: &str, roles: &[&str]) -> Caller {
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link(email, roles).await;
    app.anonymous().accept_as_new(&link, PASSWORD).await
}

/// What a refused request must leave as it was: every item but the source's failed log-in count,
/// which a right password takes back to zero (the item stays, at zero).
fn without_source_count(items: StoredItems) -> StoredItems {
    items.without_pk_prefix("LOGINSRC#")
}

/// Everything stored of the account `user` (`email`): its partition, its credential, its seats,
/// its sessions and its failed log-ins.
fn traces(items: &StoredItems, user: &str, email: &str) -> StoredItems {
    items.matching(|item| {
        item.pk == format!("USER#{user}")
            || item.pk == format!("EMAIL#{email}")
            || item.sk == format!("EMAIL#{email}")
            || item.pk.starts_with(&format!("LOGIN#{email}#"))
            || *item.attr("userId") == *user
    })
}

#[tokio::test]
async fn an_account_without_customers_is_deleted_with_every_session_and_its_address_can_come_back() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let anna = anna(&app, "anna@example.com", &["Buyer"]).await;
    let user = anna.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    let second_session = app.user("anna@example.com", PASSWORD).await;
    // A failed log-in from elsewhere: pending counters of the address go with the account.
    app.anonymous_from("198.51.100.7")
        .log_in("anna@example.com", "not the password")
        .await
        .assert_problem(401, "invalid-credentials");
    assert_eq!(anna.me().await.body["canDeleteAccount"], false);
    assert_eq!(
        anna.leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await.status,
        200
    );

    // The no-access screen says the account can be deleted, not to ask support.
    let me = anna.me().await;
    assert_eq!(me.body["screen"], "no-access");
    assert_eq!(me.body["canDeleteAccount"], true, "{me:?}");
    let notice = me.body["noAccessDetail"].as_str().unwrap();
    assert!(
        notice.contains("selbst löschen") && !notice.contains("Support"),
        "{notice}"
    );

    let deleted = anna.delete_me(&confirmed("Anna@Example.com", false)).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(deleted.body, json!({ "deleted": true, "leftCustomers": [] }));

    // Nothing of the account stays but the deletion's record (its address, for the email):
    // no session, no pending failed log-in of the address from any source.
    let items = app.all_items().await;
    let left: Vec<String> = traces(&items, &user, "anna@example.com")
        .iter()
        .map(|item| format!("{} {}", item.pk, item.sk))
        .collect();
    assert_eq!(left, [format!("USER#{user} DELETED")], "{items:#?}");
    assert!(items.with_pk_prefix("LOGIN#anna@example.com").is_empty());
    // Every session ends at once; the password logs in no more.
    for session in [&anna, &second_session] {
        session.me().await.assert_problem(401, "invalid-session");
    }
    app.anonymous()
        .log_in("anna@example.com", PASSWORD)
        .await
        .assert_problem(401, "invalid-credentials");

    // The address can be invited again, and registers anew: another account.
    let (_, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    let again = app.anonymous().accept_as_new(&link, "another long password").await;
    let me = again.me().await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_ne!(me.body["user"]["id"], user.as_str());
    assert_eq!(me.body["customers"][0]["customerNumber"], seed::CUSTOMER_NUMBER);
    // An old session stays dead, and cannot touch the new account.
    anna.delete_me(&confirmed("anna@example.com", false))
        .await
        .assert_problem(401, "invalid-session");
    assert_eq!(again.me().await.status, 200);
}

#[tokio::test]
async fn with_customers_left_the_deletion_is_refused_unless_it_leaves_them_all() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    // Anna is an admin of the demo customer (beside the demo admin) and a member of customer B.
    let anna = anna(&app, "anna@example.com", &["Administrator"]).await;
    app.create_customer("300001", "Company B", "en", "admin@b.example", PASSWORD)
        .await;
    let admin_b = app.user("admin@b.example", PASSWORD).await;
    let (_, link) = admin_b
        .invite_to_customer_with_link("300001", "anna@example.com", &[])
        .await;
    assert_eq!(anna.accept(&link, &json!({})).await.status, 200);

    let before = without_source_count(app.all_items().await);
    let refused = anna.delete_me(&confirmed("anna@example.com", false)).await;
    refused.assert_problem(409, "customers-remain");
    assert_eq!(
        refused.body["customerNumbers"],
        json!([seed::CUSTOMER_NUMBER, "300001"])
    );
    assert_eq!(
        without_source_count(app.all_items().await),
        before,
        "a refusal changes nothing"
    );

    let deleted = anna.delete_me(&confirmed("anna@example.com", true)).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(deleted.body["leftCustomers"], json!([seed::CUSTOMER_NUMBER, "300001"]));
    for (admin, customer) in [(&admin, seed::CUSTOMER_NUMBER), (&admin_b, "300001")] {
        let users = admin.get(&format!("/customers/{customer}/users")).await;
        assert_eq!(users.status, 200, "{users:?}");
        assert_eq!(users.body["total"], 1, "{users:?}");
        assert!(!users.body.to_string().contains("anna@example.com"), "{users:?}");
    }
    let items = app.all_items().await;
    assert!(items.with_sk("EMAIL#anna@example.com").is_empty(), "seats freed");
    // The demo customer's admin count is exact: one admin left.
    let customer = items
        .with_pk(&format!("CUSTOMER#{}", seed::CUSTOMER_NUMBER))
        .with_sk("CUSTOMER");
    assert_eq!(customer[0].attr("adminCount"), 1);
    // The demo admin can still manage, and can invite Anna back.
    assert_eq!(
        admin
            .invite(seed::CUSTOMER_NUMBER, json!({ "email": "anna@example.com" }))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn the_last_admin_of_a_customer_cannot_delete_the_account() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let before = without_source_count(app.all_items().await);
    let refused = admin
        .delete_me(
            &json!({ "confirmEmail": seed::ADMIN_EMAIL, "password": seed::ADMIN_PASSWORD, "leaveCustomers": true }),
        )
        .await;
    refused.assert_problem(409, "last-admin");
    assert_eq!(refused.body["customerNumbers"], json!([seed::CUSTOMER_NUMBER]));
    assert_eq!(without_source_count(app.all_items().await), before);
    assert_eq!(admin.users().await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_admins_one_deleting_the_account_and_one_leaving_at_once_one_admin_stays() {
    // The deletion checks a password (argon2id) before it writes: the leave starts later and
    // later, so that in some rounds the two transactions meet and in others either goes first.
    for delay_ms in [0, 10, 20, 30, 40, 50, 60, 80] {
        let app = TestApp::with_demo_customer().await;
        let first = app.demo_admin().await;
        let second = app
            .member_of_demo("second.admin@acme.example", &["Administrator"])
            .await;
        let deleting = {
            let second = second.clone();
            tokio::spawn(async move {
                second
                    .delete_me(&json!({
                        "confirmEmail": "second.admin@acme.example",
                        "password": crate::helpers::MEMBER_PASSWORD,
                        "leaveCustomers": true
                    }))
                    .await
            })
        };
        let leaving = {
            let first = first.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
                first.leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await
            })
        };
        let (deleted, left) = (deleting.await.unwrap(), leaving.await.unwrap());
        let succeeded = [deleted.status, left.status].iter().filter(|s| **s == 200).count();
        assert_eq!(succeeded, 1, "exactly one, after {delay_ms} ms: {deleted:?} {left:?}");
        for refused in [&deleted, &left].into_iter().filter(|r| r.status != 200) {
            assert!(
                ["last-admin", "concurrent-change"].contains(&refused.body["code"].as_str().unwrap()),
                "{refused:?}"
            );
        }
        let items = app.all_items().await;
        let customer = items
            .with_pk(&format!("CUSTOMER#{}", seed::CUSTOMER_NUMBER))
            .with_sk("CUSTOMER");
        assert_eq!(customer[0].attr("adminCount"), 1, "one admin stays");
        let staying = if deleted.status == 200 { &first } else { &second };
        assert_eq!(staying.users().await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_admins_deleting_their_accounts_at_once_one_stays() {
    let app = TestApp::with_demo_customer().await;
    let second = app
        .member_of_demo("second.admin@acme.example", &["Administrator"])
        .await;
    let first = app.demo_admin().await;
    let tasks: Vec<_> = [
        (first.clone(), seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD),
        (
            second.clone(),
            "second.admin@acme.example",
            crate::helpers::MEMBER_PASSWORD,
        ),
    ]
    .into_iter()
    .map(|(caller, email, password)| {
        tokio::spawn(async move {
            caller
                .delete_me(&json!({ "confirmEmail": email, "password": password, "leaveCustomers": true }))
                .await
        })
    })
    .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    let items = app.all_items().await;
    let customer = items
        .with_pk(&format!("CUSTOMER#{}", seed::CUSTOMER_NUMBER))
        .with_sk("CUSTOMER");
    assert_eq!(customer[0].attr("adminCount"), 1);
}

#[tokio::test]
async fn bad_confirmations_change_nothing_and_wrong_passwords_count_as_failed_log_ins() {
    let app = TestApp::with_demo_customer().await;
    let anna = anna(&app, "anna@example.com", &[]).await;
    let user = anna.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        anna.leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await.status,
        200
    );
    let before = app.all_items().await;
    for (body, status, code) in [
        (json!({ "password": PASSWORD }), 422, "invalid-body"),
        (json!({ "confirmEmail": "anna@example.com" }), 422, "invalid-body"),
        (
            json!({ "confirmEmail": "anna@example.com", "password": PASSWORD, "extra": 1 }),
            422,
            "invalid-body",
        ),
        (json!({ "confirmEmail": 7, "password": PASSWORD }), 422, "invalid-body"),
        (
            json!({ "confirmEmail": "ben@example.com", "password": PASSWORD }),
            422,
            "confirmation-mismatch",
        ),
        (
            json!({ "confirmEmail": "not an address", "password": PASSWORD }),
            422,
            "confirmation-mismatch",
        ),
        (
            json!({ "confirmEmail": "anna@example.com", "password": "" }),
            422,
            "invalid-password",
        ),
        (json!([]), 422, "invalid-body"),
    ] {
        anna.delete_me(&body).await.assert_problem(status, code);
    }
    anna.request(
        Method::DELETE,
        "/me",
        &[("content-type", "application/json")],
        "{not json",
    )
    .await
    .assert_problem(400, "malformed-json");
    anna.request(Method::DELETE, "/me", &[], Vec::new())
        .await
        .assert_problem(415, "unsupported-media-type");
    app.anonymous()
        .delete_me(&confirmed("anna@example.com", false))
        .await
        .assert_problem(401, "missing-session");
    assert_eq!(app.all_items().await, before, "no attempt counted, nothing changed");

    // A wrong password is refused, changes nothing of the account, and counts like a log-in's.
    let wrong = json!({ "confirmEmail": "anna@example.com", "password": "not the password" });
    anna.delete_me(&wrong).await.assert_problem(403, "wrong-password");
    assert_eq!(app.failures_counted("LOGIN#anna@example.com#").await, 1);
    assert_eq!(
        app.all_items().await.without_pk_prefix("LOGIN"),
        before.without_pk_prefix("LOGIN")
    );
    for _ in 1..10 {
        anna.delete_me(&wrong).await.assert_problem(403, "wrong-password");
    }
    // The eleventh is throttled like log-in, even with the right password, and so is log-in.
    anna.delete_me(&confirmed("anna@example.com", false))
        .await
        .assert_problem(429, "too-many-login-attempts");
    app.anonymous()
        .log_in("anna@example.com", PASSWORD)
        .await
        .assert_problem(429, "too-many-login-attempts");
    assert_eq!(anna.me().await.status, 200, "the account is whole");

    // An expired session deletes nothing.
    app.clock.advance(cloudhub::sessions::LIFETIME);
    anna.delete_me(&confirmed("anna@example.com", false))
        .await
        .assert_problem(401, "session-expired");
    assert!(
        !app.all_items()
            .await
            .with_pk(&format!("USER#{user}"))
            .with_sk("USER")
            .is_empty()
    );
}

#[tokio::test]
async fn an_account_with_more_memberships_than_one_transaction_holds_is_deleted_whole() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let anna = anna(&app, "anna@example.com", &["Buyer"]).await;
    // 30 customers: 3 + 4 × 30 items would not fit in one transaction.
    for n in 1..30 {
        let number = format!("4000{n:02}");
        cloudhub::usecases::onboarding::create(
            &app.app.store,
            cloudhub::usecases::onboarding::NewCustomer {
                number: cloudhub::domain::CustomerNumber::parse(&number).unwrap(),
                company_name: cloudhub::domain::CompanyName::parse(&format!("Company {n}")).unwrap(),
                default_language: cloudhub::domain::Language::En,
                roles: vec![],
            },
            cloudhub::usecases::onboarding::FirstAdmin::ExistingAccount {
                email: cloudhub::domain::Email::parse(seed::ADMIN_EMAIL).unwrap(),
                user_id: cloudhub::domain::UserId::parse(seed::ADMIN_USER_ID).unwrap(),
            },
            app.clock.now_for_tests(),
        )
        .await
        .unwrap();
        let (_, link) = admin
            .invite_to_customer_with_link(&number, "anna@example.com", &[])
            .await;
        assert_eq!(anna.accept(&link, &json!({})).await.status, 200);
    }
    let user = anna.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(anna.me().await.body["customers"].as_array().unwrap().len(), 30);

    let deleted = anna.delete_me(&confirmed("anna@example.com", true)).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(deleted.body["leftCustomers"].as_array().unwrap().len(), 30);
    let items = app.all_items().await;
    let left: Vec<String> = traces(&items, &user, "anna@example.com")
        .iter()
        .map(|item| format!("{} {}", item.pk, item.sk))
        .collect();
    assert_eq!(left, [format!("USER#{user} DELETED")]);
    // Every new customer's count is exact: only its admin remains.
    let customers = items.with_pk_prefix("CUSTOMER#4000").with_sk("CUSTOMER");
    assert_eq!(customers.len(), 29);
    for customer in customers.iter() {
        assert_eq!(customer.attr("memberCount"), 1, "{customer:?}");
    }
    anna.me().await.assert_problem(401, "invalid-session");
}

#[tokio::test]
async fn a_deletion_sends_one_account_deleted_email_and_the_admins_of_the_customers_left_theirs() {
    use crate::deliveries::{deliver, mailer, poller};
    let moto = crate::moto::Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let address = format!("anna.{}@example.com", ulid::Ulid::new().to_string().to_lowercase());
    // Anna, German, is a member of the demo customer: its admin is told when she goes.
    let anna = anna(&app, &address, &["Buyer"]).await;
    let user = anna.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    let deleted = anna.delete_me(&confirmed(&address, true)).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");

    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let of_kind = |kind: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["detail-type"] == kind && e["detail"]["userId"] == user.as_str())
            .collect()
    };
    let (gone, left) = (of_kind("AccountDeleted"), of_kind("MemberLeft"));
    assert_eq!((gone.len(), left.len()), (1, 1), "{events:#?}");
    // Only which item changed: no address on the bus.
    for event in gone.iter().chain(&left) {
        assert!(!event.to_string().contains(&address), "{event}");
    }

    let mailer = mailer(&app, moto.outbox());
    for event in gone.iter().chain(&left) {
        assert_eq!(deliver(&mailer, event).await.unwrap().sent, 1, "{event}");
        // Delivered again: no second email.
        let again = deliver(&mailer, event).await.unwrap();
        assert_eq!((again.sent, again.already_sent), (0, 1));
    }
    let sent = moto.sent_emails().await;
    let to_anna: Vec<_> = sent.iter().filter(|e| e.to == [address.as_str()]).collect();
    assert_eq!(to_anna.len(), 1, "{sent:#?}");
    assert_eq!(to_anna[0].subject, "Ihr CloudHub-Konto wurde gelöscht");
    let to_admin: Vec<_> = sent
        .iter()
        .filter(|e| e.to == [seed::ADMIN_EMAIL] && e.html.contains(&address))
        .collect();
    assert_eq!(
        to_admin.len(),
        1,
        "the member-left email, as leaving sends it: {sent:#?}"
    );
    assert!(
        to_admin[0]
            .subject
            .starts_with(&format!("{address} left customer {}", seed::CUSTOMER_NUMBER)),
        "{:?}",
        to_admin[0].subject
    );

    // The table backs every email: an event of an account nobody deleted sends nothing, nor does
    // one after the record's time.
    let forged = |user: &str, kind: &str, detail: Value| {
        json!({
            "version": "0", "id": ulid::Ulid::new().to_string(), "detail-type": kind,
            "source": cloudhub::events::SOURCE, "account": "000000000000", "time": "2026-11-24T09:30:00Z",
            "region": "eu-central-1", "resources": [], "detail": detail, "userId": user
        })
    };
    let other = cloudhub::domain::UserId::generate().to_string();
    let nobody = forged(
        &other,
        "AccountDeleted",
        json!({ "eventKey": format!("deleted#{other}"), "userId": other }),
    );
    assert_eq!(
        deliver(&mailer, &nobody).await.unwrap().skipped,
        Some("no-deletion-record")
    );
    let another_customer = forged(
        &user,
        "MemberLeft",
        json!({ "eventKey": format!("left#{user}#300001#1"), "userId": user, "customerNumber": "300001", "revision": 1 }),
    );
    assert_eq!(
        deliver(&mailer, &another_customer).await.unwrap().skipped,
        Some("membership-not-left")
    );
    app.clock.advance(cloudhub::deleted_accounts::KEPT_FOR);
    let replay = (*gone[0]).clone();
    let late = mailer.clone();
    // A replay after the record's time finds it expired, even before TTL removes it.
    let outcome = deliver(&late, &replay).await.unwrap();
    assert_eq!(outcome.skipped, Some("no-deletion-record"), "{outcome:?}");
    assert_eq!(moto.sent_emails().await.len(), sent.len());
}

/// DynamoDB failing every BatchWriteItem: ending an account's sessions.
#[derive(Debug)]
struct FailBatchWrite;

impl aws_sdk_dynamodb::config::Intercept for FailBatchWrite {
    fn name(&self) -> &'static str {
        "FailBatchWrite"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or_default();
        if target.ends_with(".BatchWriteItem") {
            Err("DynamoDB fails BatchWriteItem (injected)".into())
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_deletion_whose_last_step_failed_cannot_log_in_and_its_retry_finishes_it() {
    let app = TestApp::with_demo_customer().await;
    let anna = anna(&app, "anna@example.com", &["Buyer"]).await;
    let user = anna.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    let other_session = app.user("anna@example.com", PASSWORD).await;
    let mut faulty = app.app.clone();
    faulty.store = cloudhub::store::Store::new(
        aws_sdk_dynamodb::Client::from_conf(
            app.app
                .store
                .client()
                .config()
                .to_builder()
                .interceptor(FailBatchWrite)
                .build(),
        ),
        app.app.store.tables().clone(),
    );
    let faulty = TestApp::over(faulty, app.clock.clone());

    // The account went in its transaction; ending the sessions failed.
    let failed = anna.on(&faulty).delete_me(&confirmed("anna@example.com", true)).await;
    assert!(failed.status >= 500, "{failed:?}");
    let items = app.all_items().await;
    assert!(items.with_pk(&format!("USER#{user}")).with_sk("USER").is_empty());
    assert!(items.with_pk("EMAIL#anna@example.com").is_empty(), "no credential");
    assert!(
        !items
            .with_pk_prefix("SESSION#")
            .with_attr("userId", user.as_str())
            .is_empty()
    );
    // Nothing works with the account any more: no log-in, no customer.
    app.anonymous()
        .log_in("anna@example.com", PASSWORD)
        .await
        .assert_problem(401, "invalid-credentials");
    anna.me().await.assert_problem(401, "invalid-session");
    assert!(
        !app.demo_admin()
            .await
            .users()
            .await
            .body
            .to_string()
            .contains("anna@example.com")
    );

    // The retry, with any session of the account, finishes: every session ends.
    let retried = other_session.delete_me(&confirmed("anna@example.com", true)).await;
    assert_eq!(retried.status, 200, "{retried:?}");
    assert_eq!(retried.body["leftCustomers"], json!([]));
    let items = app.all_items().await;
    assert!(
        items
            .with_pk_prefix("SESSION#")
            .with_attr("userId", user.as_str())
            .is_empty()
    );
    anna.delete_me(&confirmed("anna@example.com", true))
        .await
        .assert_problem(401, "invalid-session");
}
