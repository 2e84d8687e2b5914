//! Leaving a customer: the explicit confirmation, the next screen, access blocked at once, the
//! last admin kept, and coming back through a new invitation.

use crate::helpers::{NowForTests, TestApp};
use infra::seed;
use serde_json::json;
use std::sync::Arc;

const PASSWORD: &str = "a long new password";

/// Creates a customer with its own admin; returns that admin's session.
async fn customer_with_admin(app: &TestApp, number: &str, admin_email: &str) -> String {
    cloudhub::usecases::onboarding::create(
        &app.app.store,
        cloudhub::usecases::onboarding::NewCustomer {
            number: cloudhub::domain::CustomerNumber::parse(number).unwrap(),
            company_name: cloudhub::domain::CompanyName::parse(&format!("Company {number}")).unwrap(),
            default_language: cloudhub::domain::Language::En,
            roles: vec![],
        },
        cloudhub::usecases::onboarding::FirstAdmin::NewAccount {
            user_id: cloudhub::domain::UserId::generate(),
            email: cloudhub::domain::Email::parse(admin_email).unwrap(),
            password_hash: cloudhub::domain::Password::parse(PASSWORD.into(), cloudhub::domain::PasswordPolicy::New)
                .unwrap()
                .hash()
                .await
                .unwrap(),
            language: cloudhub::domain::Language::En,
        },
        app.clock.now_for_tests(),
    )
    .await
    .unwrap();
    app.log_in(admin_email, PASSWORD).await
}

#[tokio::test]
async fn leaving_with_three_two_and_one_customers_leads_to_choose_customer_home_and_no_access() {
    let app = TestApp::with_demo_customer().await;
    let demo_admin = app.log_in_as_demo_admin().await;
    let admin_b = customer_with_admin(&app, "300001", "admin@b.example").await;
    let admin_c = customer_with_admin(&app, "300002", "admin@c.example").await;

    // Anna is an admin of the demo customer (with its own admin beside her) and a member of B and C.
    let (_, link) = app
        .invite_with_link(&demo_admin, "anna@example.com", &["Administrator"])
        .await;
    let anna = app.accept_as_new(&link, PASSWORD).await;
    for (admin, customer) in [(&admin_b, "300001"), (&admin_c, "300002")] {
        let (_, link) = app
            .invite_to_customer_with_link(admin, customer, "anna@example.com", &[])
            .await;
        assert_eq!(app.accept(&link, Some(&anna), &json!({})).await.status, 200);
    }
    assert_eq!(
        app.get_me(Some(&anna)).await.body["customers"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        app.users(&anna).await.status,
        200,
        "anna is an admin of the demo customer"
    );

    let left = app.leave(&anna, seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await;
    assert_eq!(left.status, 200, "{left:?}");
    assert_eq!(left.body["left"], seed::CUSTOMER_NUMBER);
    assert_eq!(left.body["next"], json!({ "screen": "choose-customer" }));
    // The same session is refused the customer at once.
    app.users(&anna).await.assert_problem(403, "not-an-admin");
    app.list_invitations(&anna, seed::CUSTOMER_NUMBER, "")
        .await
        .assert_problem(403, "not-an-admin");
    assert!(app.my_access(&anna, seed::CUSTOMER_NUMBER).await.is_none());
    // And the admins no longer list her.
    let users = app.users(&demo_admin).await;
    assert!(
        !users.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "anna@example.com"),
        "{users:?}"
    );

    let left = app.leave(&anna, "300001", "300001").await;
    assert_eq!(left.status, 200, "{left:?}");
    assert_eq!(
        left.body["next"],
        json!({ "screen": "home", "customerNumber": "300002", "companyName": "Company 300002" })
    );
    assert_eq!(app.get_me(Some(&anna)).await.body["screen"], "home");

    let left = app.leave(&anna, "300002", "300002").await;
    assert_eq!(left.status, 200, "{left:?}");
    assert_eq!(left.body["next"]["screen"], "no-access");
    // Anna's account took the demo customer's language, German: she is told in German, with a
    // code a frontend can translate itself.
    assert_eq!(left.body["next"]["code"], "left-last-customer");
    let detail = left.body["next"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("keinen Zugang mehr") && detail.contains("CloudHub-Support"),
        "{detail}"
    );

    // With no customer left: /me, the language setting and log-out still work.
    let me = app.get_me(Some(&anna)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["customers"], json!([]));
    assert_eq!(me.body["screen"], "no-access");
    assert_eq!(me.body["noAccessCode"], "no-customer-access");
    assert!(
        me.body["noAccessDetail"]
            .as_str()
            .unwrap()
            .contains("Admin eines Kunden"),
        "{me:?}"
    );
    assert_eq!(
        app.put_json("/me/settings", &anna, &json!({ "language": "en" }))
            .await
            .status,
        200
    );
    let me = app.get_me(Some(&anna)).await;
    assert_eq!(me.body["noAccessCode"], "no-customer-access");
    assert!(
        me.body["noAccessDetail"].as_str().unwrap().contains("contact an admin"),
        "{me:?}"
    );
    app.leave(&anna, "300002", "300002")
        .await
        .assert_problem(404, "membership-not-found");
    assert_eq!(app.post_logout(Some(&anna)).await.status, 204);
}

#[tokio::test]
async fn the_last_admin_cannot_leave() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.log_in_as_demo_admin().await;
    let before = app.all_items().await;
    app.leave(&admin, seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER)
        .await
        .assert_problem(409, "last-admin");
    assert_eq!(app.all_items().await, before);
    assert_eq!(app.users(&admin).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_admins_leaving_at_once_one_stays() {
    let app = Arc::new(TestApp::with_demo_customer().await);
    let first = app.log_in_as_demo_admin().await;
    let second = app.demo_member("second.admin@acme.example", &["Administrator"]).await;
    let tasks: Vec<_> = [first.clone(), second.clone()]
        .into_iter()
        .map(|session| {
            let app = app.clone();
            tokio::spawn(async move { app.leave(&session, seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let response = task.await.unwrap();
        if response.status != 200 {
            // The loser hears either that it is the last admin or that the count moved meanwhile.
            assert!(
                ["last-admin", "concurrent-change"].contains(&response.body["code"].as_str().unwrap()),
                "{response:?}"
            );
        }
        statuses.push(response.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    let staying = if app.users(&first).await.status == 200 {
        &first
    } else {
        &second
    };
    let users = app.users(staying).await;
    assert_eq!(users.status, 200);
    assert_eq!(users.body["users"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn leaving_needs_the_customer_number_typed_again() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.log_in_as_demo_admin().await;
    let member = app.demo_member("anna@example.com", &["Buyer"]).await;
    let before = app.all_items().await;
    for typed in ["100235", "", "100 234"] {
        app.leave(&member, seed::CUSTOMER_NUMBER, typed)
            .await
            .assert_problem(422, "confirmation-mismatch");
    }
    app.post_json(
        &format!("/me/customers/{}/leave", seed::CUSTOMER_NUMBER),
        Some(&member),
        &json!({}),
    )
    .await
    .assert_problem(422, "invalid-body");
    app.leave(&member, "999999", "999999")
        .await
        .assert_problem(404, "membership-not-found");
    app.leave(&member, "not_a_number", "not_a_number")
        .await
        .assert_problem(404, "customer-not-found");
    app.post_json(
        &format!("/me/customers/{}/leave", seed::CUSTOMER_NUMBER),
        None,
        &json!({ "confirmCustomerNumber": seed::CUSTOMER_NUMBER }),
    )
    .await
    .assert_problem(401, "missing-session");
    assert_eq!(app.all_items().await, before);
    assert_eq!(app.users(&admin).await.body["users"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_member_who_left_and_is_invited_again_gets_access_back() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.log_in_as_demo_admin().await;
    let (_, link) = app.invite_with_link(&admin, "anna@example.com", &["Buyer"]).await;
    let anna = app.accept_as_new(&link, PASSWORD).await;
    assert_eq!(
        app.leave(&anna, seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER)
            .await
            .status,
        200
    );
    assert!(app.my_access(&anna, seed::CUSTOMER_NUMBER).await.is_none());

    // Her seat is free: she can be invited again, now with other roles.
    let (_, link) = app.invite_with_link(&admin, "anna@example.com", &["Accounting"]).await;
    assert_eq!(app.preview(&link).await.body["accountExists"], true);
    let back = app.accept(&link, None, &json!({ "password": PASSWORD })).await;
    assert_eq!(back.status, 200, "{back:?}");
    let access = app.my_access(&anna, seed::CUSTOMER_NUMBER).await.unwrap();
    assert_eq!(access["roles"][0]["name"], "Accounting");
    assert_eq!(access["permissions"], json!(["invoices", "documents"]));
    let users = app.users(&admin).await;
    assert!(
        users.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "anna@example.com"),
        "{users:?}"
    );
}
