//! Leaving a customer: the explicit confirmation, the next screen, access blocked at once, the
//! last admin kept, and coming back through a new invitation.

use crate::helpers::{Caller, TestApp};
use infra::seed;
use serde_json::json;

const PASSWORD: &str = "a long new password";

/// Creates a customer with its own admin; returns that admin, logged in.
async fn customer_with_admin(app: &TestApp, number: &str, admin_email: &str) -> Caller {
    app.create_customer(number, &format!("Company {number}"), "en", admin_email, PASSWORD)
        .await;
    app.user(admin_email, PASSWORD).await
}

#[tokio::test]
async fn leaving_with_three_two_and_one_customers_leads_to_choose_customer_home_and_no_access() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let demo_admin = app.demo_admin().await;
    let admin_b = customer_with_admin(&app, "300001", "admin@b.example").await;
    let admin_c = customer_with_admin(&app, "300002", "admin@c.example").await;

    // Anna is an admin of the demo customer (with its own admin beside her) and a member of B and C.
    let (_, link) = demo_admin
        .invite_with_link("anna@example.com", &["Administrator"])
        .await;
    let anna = anon.accept_as_new(&link, PASSWORD).await;
    for (admin, customer) in [(&admin_b, "300001"), (&admin_c, "300002")] {
        let (_, link) = admin
            .invite_to_customer_with_link(customer, "anna@example.com", &[])
            .await;
        assert_eq!(anna.accept(&link, &json!({})).await.status, 200);
    }
    assert_eq!(anna.me().await.body["customers"].as_array().unwrap().len(), 3);
    assert_eq!(anna.users().await.status, 200, "anna is an admin of the demo customer");

    let left = anna.leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await;
    assert_eq!(left.status, 200, "{left:?}");
    assert_eq!(left.body["left"], seed::CUSTOMER_NUMBER);
    assert_eq!(left.body["next"], json!({ "screen": "choose-customer" }));
    // The same session is refused the customer at once.
    anna.users().await.assert_problem(403, "not-an-admin");
    anna.list_invitations(seed::CUSTOMER_NUMBER, "")
        .await
        .assert_problem(403, "not-an-admin");
    assert!(anna.my_access(seed::CUSTOMER_NUMBER).await.is_none());
    // And the admins no longer list her.
    let users = demo_admin.users().await;
    assert!(
        !users.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "anna@example.com"),
        "{users:?}"
    );

    let left = anna.leave("300001", "300001").await;
    assert_eq!(left.status, 200, "{left:?}");
    assert_eq!(
        left.body["next"],
        json!({ "screen": "home", "customerNumber": "300002", "companyName": "Company 300002" })
    );
    assert_eq!(anna.me().await.body["screen"], "home");

    let left = anna.leave("300002", "300002").await;
    assert_eq!(left.status, 200, "{left:?}");
    assert_eq!(left.body["next"]["screen"], "no-access");
    // Anna's account took the demo customer's language, German: she is told in German, with a
    // code a frontend can translate itself.
    assert_eq!(left.body["next"]["code"], "left-last-customer");
    let detail = left.body["next"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("keinen Zugang mehr") && detail.contains("selbst löschen"),
        "{detail}"
    );

    // With no customer left: /me, the language setting and log-out still work.
    let me = anna.me().await;
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
        anna.put_json("/me/settings", &json!({ "language": "en" })).await.status,
        200
    );
    let me = anna.me().await;
    assert_eq!(me.body["noAccessCode"], "no-customer-access");
    assert!(
        me.body["noAccessDetail"].as_str().unwrap().contains("contact an admin"),
        "{me:?}"
    );
    anna.leave("300002", "300002")
        .await
        .assert_problem(404, "membership-not-found");
    assert_eq!(anna.log_out().await.status, 204);
}

#[tokio::test]
async fn the_last_admin_cannot_leave() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let before = app.all_items().await;
    admin
        .leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER)
        .await
        .assert_problem(409, "last-admin");
    assert_eq!(app.all_items().await, before);
    assert_eq!(admin.users().await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_admins_leaving_at_once_one_stays() {
    let app = TestApp::with_demo_customer().await;
    let first = app.demo_admin().await;
    let second = app
        .member_of_demo("second.admin@acme.example", &["Administrator"])
        .await;
    let tasks: Vec<_> = [first.clone(), second.clone()]
        .into_iter()
        .map(|admin| tokio::spawn(async move { admin.leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await }))
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
    let staying = if first.users().await.status == 200 {
        &first
    } else {
        &second
    };
    let users = staying.users().await;
    assert_eq!(users.status, 200);
    assert_eq!(users.body["users"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn leaving_needs_the_customer_number_typed_again() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let member = app.member_of_demo("anna@example.com", &["Buyer"]).await;
    let before = app.all_items().await;
    for typed in ["100235", "", "100 234"] {
        member
            .leave(seed::CUSTOMER_NUMBER, typed)
            .await
            .assert_problem(422, "confirmation-mismatch");
    }
    member
        .post_json(&format!("/me/customers/{}/leave", seed::CUSTOMER_NUMBER), &json!({}))
        .await
        .assert_problem(422, "invalid-body");
    member
        .leave("999999", "999999")
        .await
        .assert_problem(404, "membership-not-found");
    member
        .leave("not_a_number", "not_a_number")
        .await
        .assert_problem(404, "customer-not-found");
    app.anonymous()
        .post_json(
            &format!("/me/customers/{}/leave", seed::CUSTOMER_NUMBER),
            &json!({ "confirmCustomerNumber": seed::CUSTOMER_NUMBER }),
        )
        .await
        .assert_problem(401, "missing-session");
    assert_eq!(app.all_items().await, before);
    assert_eq!(admin.users().await.body["users"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_member_who_left_and_is_invited_again_gets_access_back() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    let anna = anon.accept_as_new(&link, PASSWORD).await;
    assert_eq!(
        anna.leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await.status,
        200
    );
    assert!(anna.my_access(seed::CUSTOMER_NUMBER).await.is_none());

    // Her seat is free: she can be invited again, now with other roles.
    let (_, link) = admin.invite_with_link("anna@example.com", &["Accounting"]).await;
    assert_eq!(anon.preview(&link).await.body["accountExists"], true);
    let back = anon.accept(&link, &json!({ "password": PASSWORD })).await;
    assert_eq!(back.status, 200, "{back:?}");
    let access = anna.my_access(seed::CUSTOMER_NUMBER).await.unwrap();
    assert_eq!(access["roles"][0]["name"], "Accounting");
    assert_eq!(access["permissions"], json!(["invoices", "documents"]));
    let users = admin.users().await;
    assert!(
        users.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "anna@example.com"),
        "{users:?}"
    );
}
