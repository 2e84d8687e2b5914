//! Rule 2: at most 50 invitation emails per admin per UTC day, across customers, atomically.

use crate::helpers::TestApp;
use cloudhub::quota::DAILY_LIMIT;
use infra::seed::CUSTOMER_NUMBER;
use serde_json::json;
use time::Duration;

#[tokio::test]
async fn the_51st_invitation_of_a_day_is_refused_until_utc_midnight() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    for i in 0..DAILY_LIMIT {
        admin.invite_to_demo(&format!("user{i}@example.com")).await;
    }
    let quota = admin.quota(CUSTOMER_NUMBER).await;
    assert_eq!(quota.status, 200);
    assert_eq!(
        quota.body,
        json!({ "limit": 50, "used": 50, "remaining": 0, "resetsAt": "2026-11-25T00:00:00.000Z" })
    );
    let before = app.all_items().await;
    let refused = admin
        .invite(CUSTOMER_NUMBER, json!({ "email": "one.more@example.com" }))
        .await;
    refused.assert_problem(429, "invitation-quota-exhausted");
    // 09:30 to midnight UTC.
    assert_eq!(refused.headers["retry-after"], "52200");
    assert_eq!(refused.body["resetsAt"], "2026-11-25T00:00:00.000Z");
    let first = admin.list_invitations(CUSTOMER_NUMBER, "?limit=1").await.body["invitations"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .resend(CUSTOMER_NUMBER, &first)
        .await
        .assert_problem(429, "invitation-quota-exhausted");
    assert_eq!(app.all_items().await, before, "refusals wrote nothing");

    app.clock.advance(Duration::hours(14) + Duration::minutes(30));
    let admin = app.demo_admin().await;
    assert_eq!(admin.quota(CUSTOMER_NUMBER).await.body["used"], 0);
    admin.invite_to_demo("next.day@example.com").await;
}

#[tokio::test]
async fn the_quota_is_per_admin_across_customers() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    // The demo admin becomes the admin of a second customer too.
    let second = cloudhub::domain::CustomerNumber::parse("300700").unwrap();
    cloudhub::usecases::onboarding::create(
        &app.app.store,
        cloudhub::usecases::onboarding::NewCustomer {
            number: second.clone(),
            company_name: cloudhub::domain::CompanyName::parse("Gamma KG").unwrap(),
            default_language: cloudhub::domain::Language::En,
            roles: vec![],
        },
        cloudhub::usecases::onboarding::FirstAdmin::ExistingAccount {
            email: cloudhub::domain::Email::parse(infra::seed::ADMIN_EMAIL).unwrap(),
            user_id: cloudhub::domain::UserId::parse(infra::seed::ADMIN_USER_ID).unwrap(),
        },
        time::macros::datetime!(2026-11-24 09:30 UTC),
    )
    .await
    .unwrap();
    for i in 0..30 {
        admin.invite_to_demo(&format!("a{i}@example.com")).await;
    }
    for i in 0..20 {
        let response = admin
            .invite("300700", json!({ "email": format!("b{i}@example.com") }))
            .await;
        assert_eq!(response.status, 201, "{response:?}");
    }
    admin
        .invite("300700", json!({ "email": "b20@example.com" }))
        .await
        .assert_problem(429, "invitation-quota-exhausted");
    admin
        .invite(CUSTOMER_NUMBER, json!({ "email": "a30@example.com" }))
        .await
        .assert_problem(429, "invitation-quota-exhausted");
    // Another admin of the same customer has a quota of its own.
    let other_admin = app
        .member_of_demo("second.admin@acme.example", &["Administrator"])
        .await;
    other_admin.invite_to_demo("c0@example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn two_hundred_concurrent_invites_create_exactly_fifty() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let admin = admin.clone();
            tokio::spawn(async move {
                admin
                    .invite(CUSTOMER_NUMBER, json!({ "email": format!("p{i}@example.com") }))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    let mut refused = 0;
    let mut busy = 0;
    for task in tasks {
        let response = task.await.unwrap();
        match response.status {
            201 => created += 1,
            429 => {
                response.assert_problem(429, "invitation-quota-exhausted");
                refused += 1;
            }
            503 => {
                response.assert_problem(503, "service-unavailable");
                assert!(response.headers.contains_key("retry-after"));
                busy += 1;
            }
            _ => panic!("unexpected answer {response:?}"),
        }
    }
    assert_eq!(created, 50, "created {created}, refused {refused}, busy {busy}");
    assert_eq!(refused + busy, 150);
    assert_eq!(
        admin.quota(CUSTOMER_NUMBER).await.body["used"],
        50,
        "the counter matches what was created"
    );

    // Every invitation has its link and seat, and nothing else was left behind.
    let items = app.all_items().await;
    let count = |prefix: &str| items.with_key_prefix(prefix).len();
    assert_eq!(count("INVITATION#"), 50);
    assert_eq!(count("LINK#"), 0, "tokens name their invitation: no link items");
    assert_eq!(count("EMAIL#p"), 50, "one seat per invited email");
    let mut listed = 0;
    let mut query = "?limit=100".to_owned();
    loop {
        let page = admin.list_invitations(CUSTOMER_NUMBER, &query).await;
        for invitation in page.body["invitations"].as_array().unwrap() {
            let id = invitation["id"].as_str().unwrap();
            let link = app.link_of(CUSTOMER_NUMBER, id).await;
            assert!(matches!(app.open_link(&link).await, crate::helpers::LinkState::Live(_)));
            listed += 1;
        }
        match page.body["nextCursor"].as_str() {
            Some(cursor) => query = format!("?limit=100&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(listed, 50);
}
